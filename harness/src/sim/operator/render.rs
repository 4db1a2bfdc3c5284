//! The objects the operator model creates for one `QuayRegistry`, as JSON manifests for
//! server-side apply (names and labels from reference/quay-operator.md §1.6).
//!
//! The config Secret carries what the operator deploys, not the user's bundle as given: the
//! managed components' values merged over `config.yaml` and the certificates moved out
//! ([`effective_config`]).
//!
//! Every Deployment, Job and Route gets its component's overrides ([`overrides`]).
//!
//! Pure: inputs in, manifests out. The managed database, Redis, Clair database and object
//! storage objects are [`super::managed::objects`]'. Not rendered: monitoring and builder
//! objects, the `quay-builder` Route, TLS and CA Secrets; pod templates carry what the
//! simulated pods read (image, env, the config Secret volume) and what the overrides change
//! (the base's pod anti-affinity, Clair's ephemeral volume), no probes and no resources of
//! their own.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::components::{
    ComponentKind, Components, HPA_MAX_REPLICAS, HPA_MIN_REPLICAS, Replicas, replicas_for,
};
use super::effective_config;
use super::overrides;
use crate::quay::{
    Bundle, COMPONENT_LABEL, CONFIG_HASH_ANNOTATION, CONFIG_VOLUME, HOSTNAME_ANNOTATION,
    QuayVersion, REGISTRY_LABEL, VERSION_ANNOTATION,
};
use crate::sim::Flavour;

/// Everything rendering needs.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    /// Registry name.
    pub name: &'a str,
    /// Namespace.
    pub namespace: &'a str,
    /// Registry uid (for ownerReferences).
    pub uid: &'a str,
    /// The operator's Quay version.
    pub version: QuayVersion,
    /// The components after defaults.
    pub components: &'a Components,
    /// The config bundle.
    pub bundle: &'a Bundle,
    /// The cluster flavour.
    pub flavour: Flavour,
    /// The cluster's site name (for the generated route host).
    pub site: &'a str,
    /// Whether migrations are pending: quay-app held at 0 replicas.
    pub upgrading: bool,
    /// The values the operator keeps in `<n>-quay-registry-managed-secret-keys`, decoded.
    pub kept: &'a BTreeMap<String, String>,
}

impl Inputs<'_> {
    fn owner(&self) -> Value {
        json!([{
            "apiVersion": "quay.redhat.com/v1",
            "kind": "QuayRegistry",
            "name": self.name,
            "uid": self.uid,
            "controller": true,
            "blockOwnerDeletion": true,
        }])
    }

    fn metadata(&self, name: &str, component: &str) -> Value {
        json!({
            "name": name,
            "namespace": self.namespace,
            "labels": { REGISTRY_LABEL: self.name, COMPONENT_LABEL: component },
            "ownerReferences": self.owner(),
        })
    }

    /// The rendered config Secret's data: the bundle with the operator's values merged over
    /// `config.yaml` ([`effective_config`]).
    #[must_use]
    pub fn config_secret_data(&self) -> BTreeMap<String, Vec<u8>> {
        let hostname = self.hostname();
        let registry = effective_config::Registry {
            name: self.name,
            namespace: self.namespace,
            hostname: &hostname,
            has_certificate: !self.components.is_managed(ComponentKind::Tls)
                && self.bundle.has_certs(),
            kept: self.kept,
        };
        let config = effective_config::config(&self.bundle.config, self.components, &registry);
        effective_config::secret_data(&self.bundle.data, &config)
    }

    /// `<n>-quay-config-secret-<hash>`: the hash covers every key of the rendered Secret.
    #[must_use]
    pub fn config_secret_name(&self) -> String {
        let mut hasher = Sha256::new();
        for (k, v) in &self.config_secret_data() {
            hasher.update(k.as_bytes());
            hasher.update([0]);
            hasher.update(v);
            hasher.update([0]);
        }
        let hash = hex::encode(hasher.finalize());
        format!("{}-quay-config-secret-{}", self.name, &hash[..10])
    }

    /// The Route host: see [`route_host`].
    #[must_use]
    pub fn hostname(&self) -> String {
        route_host(self.bundle, self.name, self.namespace, self.site)
    }

    /// The Job's name.
    #[must_use]
    pub fn job_name(&self) -> String {
        format!("{}-quay-app-upgrade", self.name)
    }

    fn quay_image(&self) -> String {
        format!("quay.io/projectquay/quay:{}", self.version.image_tag())
    }

    /// The operator's own variables; the component's `env` overrides are upserted over them
    /// by [`overrides::apply`].
    fn env(&self) -> Value {
        json!([{"name": "QUAY_VERSION", "value": self.version.to_string()}])
    }

    fn pod_spec(&self, container: &str, image: &str, args: Value) -> Value {
        let mut mounts = vec![json!({"name": CONFIG_VOLUME, "mountPath": "/conf/stack"})];
        let mut volumes = vec![
            json!({"name": CONFIG_VOLUME, "secret": {"secretName": self.config_secret_name()}}),
        ];
        if !self.extra_ca_data().is_empty() {
            mounts
                .push(json!({"name": EXTRA_CA_VOLUME, "mountPath": "/conf/stack/extra_ca_certs"}));
            volumes.push(json!({"name": EXTRA_CA_VOLUME, "secret": {"secretName": self.extra_ca_secret_name()}}));
        }
        json!({
            "containers": [{
                "name": container,
                "image": image,
                "args": args,
                "env": self.env(),
                "volumeMounts": mounts,
            }],
            "volumes": volumes,
        })
    }

    /// The `extra-ca-certs` Secret's data: every bundle key `extra_ca_cert_<name>` as
    /// `<name>` (upstream `pkg/kustomize/kustomize.go` strips the prefix); empty without any.
    #[must_use]
    pub fn extra_ca_data(&self) -> BTreeMap<String, Vec<u8>> {
        self.bundle
            .data
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("extra_ca_cert_")?.to_owned(), v.clone())))
            .collect()
    }

    /// `<n>-extra-ca-certs`: the Secret the pods mount at `/conf/stack/extra_ca_certs`.
    #[must_use]
    pub fn extra_ca_secret_name(&self) -> String {
        format!("{}-extra-ca-certs", self.name)
    }

    fn deployment(&self, component: &str, kind: ComponentKind, image: &str, args: Value) -> Value {
        let name = format!("{}-{component}", self.name);
        let mut pod = self.pod_spec(component, image, args);
        // The base's spreading of a component's pods over nodes, which an `affinity`
        // override replaces (upstream `kustomize/base/quay.deployment.yaml`,
        // `kustomize/components/{mirror,clair}/*.deployment.yaml`).
        pod["affinity"] = json!({"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
            "weight": 100,
            "podAffinityTerm": {
                "labelSelector": {"matchExpressions": [
                    {"key": COMPONENT_LABEL, "operator": "In", "values": [component]}]},
                "topologyKey": "kubernetes.io/hostname",
            },
        }]}});
        if kind == ComponentKind::Clair {
            // Clair's layer scratch space: an ephemeral claim of 20Gi at /var/tmp, resized by
            // the `volumeSize` override (`kustomize/components/clair/clair.deployment.yaml`).
            pod["containers"][0]["volumeMounts"]
                .as_array_mut()
                .expect("pod_spec renders a volumeMounts list")
                .push(json!({"name": overrides::CLAIR_VOLUME, "mountPath": "/var/tmp"}));
            pod["volumes"]
                .as_array_mut()
                .expect("pod_spec renders a volumes list")
                .push(json!({"name": overrides::CLAIR_VOLUME, "ephemeral": {"volumeClaimTemplate": {"spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "20Gi"}},
                }}}}));
        }
        let mut spec = json!({
            "selector": {"matchLabels": { REGISTRY_LABEL: self.name, COMPONENT_LABEL: component }},
            "template": {
                "metadata": {
                    "labels": { REGISTRY_LABEL: self.name, COMPONENT_LABEL: component },
                    "annotations": {
                        VERSION_ANNOTATION: self.version.to_string(),
                        CONFIG_HASH_ANNOTATION: self.bundle.config_hash(),
                        HOSTNAME_ANNOTATION: self.hostname(),
                        overrides::COMPONENT_ANNOTATION: kind.as_str(),
                    },
                },
                "spec": pod,
            },
        });
        // Held at 0 during a migration; with a managed HPA the model stands in for the HPA
        // controller and starts at its `minReplicas`; otherwise the `replicas` rule is the
        // overrides' ([`overrides::apply`]).
        if kind == ComponentKind::Quay && self.upgrading {
            spec["replicas"] = json!(0);
        } else if let (true, Replicas::Set(n)) = (
            self.components.is_managed(ComponentKind::Hpa),
            replicas_for(self.components, kind),
        ) {
            spec["replicas"] = json!(n);
        }
        let mut metadata = self.metadata(&name, component);
        metadata["annotations"] = json!({ overrides::COMPONENT_ANNOTATION: kind.as_str() });
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": metadata,
            "spec": spec,
        })
    }

    fn hpa(&self, component: &str) -> Value {
        let name = format!("{}-{component}", self.name);
        json!({
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": self.metadata(&name, component),
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                "minReplicas": HPA_MIN_REPLICAS,
                "maxReplicas": HPA_MAX_REPLICAS,
                // `kustomize/components/horizontalpodautoscaler/quay.horizontalpodautoscalar.yaml`
                "metrics": [
                    {"type": "Resource", "resource": {"name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 90}}},
                    {"type": "Resource", "resource": {"name": "memory",
                        "target": {"type": "Utilization", "averageUtilization": 90}}},
                ],
            },
        })
    }
}

/// The Route host of registry `name` in `namespace`: `SERVER_HOSTNAME`, else
/// `<n>-quay-<ns>.apps.<site>.example`.
#[must_use]
pub fn route_host(bundle: &Bundle, name: &str, namespace: &str, site: &str) -> String {
    bundle.server_hostname().map_or_else(
        || {
            format!(
                "{name}-quay-{namespace}.apps.{}.example",
                site.replace('_', "-")
            )
        },
        str::to_owned,
    )
}

/// The volume of the extra CA certificates in the pod template.
pub const EXTRA_CA_VOLUME: &str = "extra-ca-certs";

/// The objects to apply, in apply order (Secrets first, the Job last if any).
#[must_use]
pub fn objects(inputs: &Inputs<'_>, managed_keys: &Value, with_job: bool) -> Vec<Value> {
    let c = inputs.components;
    let mut out = Vec::new();
    let config_data: serde_json::Map<String, Value> = inputs
        .config_secret_data()
        .iter()
        .map(|(k, v)| (k.clone(), json!(base64_encode(v))))
        .collect();
    out.push(json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": inputs.metadata(&inputs.config_secret_name(), "quay-config"),
        "data": config_data,
    }));
    let extra_ca = inputs.extra_ca_data();
    if !extra_ca.is_empty() {
        let data: serde_json::Map<String, Value> = extra_ca
            .iter()
            .map(|(k, v)| (k.clone(), json!(base64_encode(v))))
            .collect();
        out.push(json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": inputs.metadata(&inputs.extra_ca_secret_name(), "quay-config"),
            "data": data,
        }));
    }
    let keys = inputs.metadata(
        &format!("{}-quay-registry-managed-secret-keys", inputs.name),
        "quay-config",
    );
    out.push(json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": keys,
        "data": managed_keys,
    }));
    out.push(json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": inputs.metadata(&format!("{}-quay-app", inputs.name), "quay-app"),
        "spec": {
            "type": "ClusterIP",
            "selector": { REGISTRY_LABEL: inputs.name, COMPONENT_LABEL: "quay-app" },
            "ports": [
                {"name": "https", "port": 443, "targetPort": 8443},
                {"name": "http", "port": 80, "targetPort": 8080},
                {"name": "jwtproxy", "port": 8081, "targetPort": 8081},
                {"name": "grpc", "port": 55443, "targetPort": 55443},
            ],
        },
    }));
    let quay_image = inputs.quay_image();
    out.push(inputs.deployment(
        "quay-app",
        ComponentKind::Quay,
        &quay_image,
        json!(["registry-nomigrate"]),
    ));
    if c.is_managed(ComponentKind::Mirror) {
        out.push(inputs.deployment(
            "quay-mirror",
            ComponentKind::Mirror,
            &quay_image,
            json!(["repomirror-nomigrate"]),
        ));
    }
    if c.is_managed(ComponentKind::Clair) {
        let clair_image = format!("quay.io/projectquay/clair:{}", inputs.version.image_tag());
        out.push(inputs.deployment("clair-app", ComponentKind::Clair, &clair_image, json!([])));
    }
    if c.is_managed(ComponentKind::Hpa) {
        out.push(inputs.hpa("quay-app"));
        if c.is_managed(ComponentKind::Mirror) {
            out.push(inputs.hpa("quay-mirror"));
        }
        if c.is_managed(ComponentKind::Clair) {
            out.push(inputs.hpa("clair-app"));
        }
    }
    if inputs.flavour == Flavour::Openshift && c.is_managed(ComponentKind::Route) {
        let passthrough = !c.is_managed(ComponentKind::Tls) && inputs.bundle.has_certs();
        let tls = if passthrough {
            json!({"termination": "passthrough"})
        } else {
            json!({"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"})
        };
        let port = if passthrough { "https" } else { "http" };
        // Label and annotations of `kustomize/components/route/quay.route.yaml`.
        let mut metadata = inputs.metadata(&format!("{}-quay", inputs.name), "quay-app-route");
        metadata["annotations"] = json!({
            overrides::COMPONENT_ANNOTATION: "route",
            "haproxy.router.openshift.io/timeout": "30m",
        });
        out.push(json!({
            "apiVersion": "route.openshift.io/v1",
            "kind": "Route",
            "metadata": metadata,
            "spec": {
                "host": inputs.hostname(),
                "to": {"kind": "Service", "name": format!("{}-quay-app", inputs.name)},
                "port": {"targetPort": port},
                "tls": tls,
            },
        }));
    }
    for object in &mut out {
        if let Some(kind) = overrides::component_of(object) {
            overrides::apply(c, kind, object);
        }
    }
    if with_job {
        out.push(job(inputs));
    }
    out
}

/// The migration Job `<n>-quay-app-upgrade`.
#[must_use]
pub fn job(inputs: &Inputs<'_>) -> Value {
    let mut meta = inputs.metadata(&inputs.job_name(), "quay-app-upgrade");
    meta["annotations"] = json!({
        VERSION_ANNOTATION: inputs.version.to_string(),
        CONFIG_HASH_ANNOTATION: inputs.bundle.config_hash(),
    });
    let mut pod = inputs.pod_spec(
        "quay-app-upgrade",
        &inputs.quay_image(),
        json!(["migrate", "head"]),
    );
    pod["restartPolicy"] = json!("OnFailure");
    let mut job = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": {
            "template": {
                "metadata": {"labels": { REGISTRY_LABEL: inputs.name, COMPONENT_LABEL: "quay-app-upgrade" }},
                "spec": pod,
            },
        },
    });
    overrides::apply(inputs.components, ComponentKind::Quay, &mut job);
    job
}

/// Standard base64 of `bytes`.
#[must_use]
pub fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs_with(components: &Components, bundle: &Bundle, upgrading: bool) -> Vec<Value> {
        let kept = BTreeMap::new();
        let inputs = Inputs {
            name: "registry",
            namespace: "quay",
            uid: "u1",
            version: QuayVersion::new(3, 13, 11),
            components,
            bundle,
            flavour: Flavour::Openshift,
            site: "us_east",
            upgrading,
            kept: &kept,
        };
        objects(&inputs, &json!({}), upgrading)
    }

    fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
        objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
    }

    #[test]
    fn renders_owned_objects_with_the_versioned_image_and_env_overrides() {
        let data = BTreeMap::from([
            (
                "config.yaml".to_owned(),
                b"SERVER_HOSTNAME: quay.global.example\n".to_vec(),
            ),
            ("ssl.cert".to_owned(), b"c".to_vec()),
            ("ssl.key".to_owned(), b"k".to_vec()),
        ]);
        let bundle = Bundle::parse("b", data).unwrap();
        let components = Components::from_spec(&json!({"components": [
            {"kind": "quay", "managed": true, "overrides": {"replicas": 3, "env": [
                {"name": "QUAY_DISTRIBUTED_STORAGE_PREFERENCE", "value": "us_east"}]}},
            {"kind": "route", "managed": true},
            {"kind": "tls", "managed": false},
            {"kind": "horizontalpodautoscaler", "managed": false},
        ]}));
        let objects = inputs_with(&components, &bundle, false);
        let quay = find(&objects, "Deployment", "registry-quay-app").unwrap();
        assert_eq!(quay["spec"]["replicas"], 3);
        let container = &quay["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(container["image"], "quay.io/projectquay/quay:v3.13.11");
        assert!(
            container["env"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["name"] == "QUAY_DISTRIBUTED_STORAGE_PREFERENCE"
                    && e["value"] == "us_east")
        );
        assert_eq!(quay["metadata"]["ownerReferences"][0]["uid"], "u1");
        let route = find(&objects, "Route", "registry-quay").unwrap();
        assert_eq!(route["spec"]["host"], "quay.global.example");
        assert_eq!(route["spec"]["tls"]["termination"], "passthrough");
        assert!(find(&objects, "Job", "registry-quay-app-upgrade").is_none());
        assert!(find(&objects, "Deployment", "registry-quay-mirror").is_none());
    }

    #[test]
    fn upgrading_holds_quay_at_zero_and_adds_the_job() {
        let data = BTreeMap::from([("config.yaml".to_owned(), b"{}".to_vec())]);
        let bundle = Bundle::parse("b", data).unwrap();
        let components = Components::default();
        let objects = inputs_with(&components, &bundle, true);
        let quay = find(&objects, "Deployment", "registry-quay-app").unwrap();
        assert_eq!(quay["spec"]["replicas"], 0);
        let job = find(&objects, "Job", "registry-quay-app-upgrade").unwrap();
        assert_eq!(
            job["spec"]["template"]["spec"]["containers"][0]["args"],
            json!(["migrate", "head"])
        );
    }

    #[test]
    fn the_config_secret_carries_the_operators_values_not_the_users() {
        let data = BTreeMap::from([
            (
                "config.yaml".to_owned(),
                b"SERVER_HOSTNAME: quay.global.example\nREPO_MIRROR_INTERVAL: 600\nPREFERRED_URL_SCHEME: http\n"
                    .to_vec(),
            ),
            ("ssl.cert".to_owned(), b"c".to_vec()),
            ("ssl.key".to_owned(), b"k".to_vec()),
        ]);
        let bundle = Bundle::parse("b", data).unwrap();
        let components = Components::from_spec(&json!({"components": [
            {"kind": "mirror", "managed": true},
            {"kind": "route", "managed": true},
            {"kind": "tls", "managed": false},
        ]}));
        let objects = inputs_with(&components, &bundle, false);
        let secret = objects
            .iter()
            .find(|o| {
                o["kind"] == "Secret"
                    && o["metadata"]["name"]
                        .as_str()
                        .unwrap()
                        .starts_with("registry-quay-config-secret-")
            })
            .unwrap();
        assert!(secret["data"].get("ssl.cert").is_none(), "{secret:#}");
        let rendered = Bundle::parse(
            "rendered",
            BTreeMap::from([(
                "config.yaml".to_owned(),
                base64::Engine::decode(
                    &base64::engine::general_purpose::STANDARD,
                    secret["data"]["config.yaml"].as_str().unwrap(),
                )
                .unwrap(),
            )]),
        )
        .unwrap();
        assert_eq!(rendered.config["REPO_MIRROR_INTERVAL"], 30);
        assert_eq!(rendered.config["PREFERRED_URL_SCHEME"], "https");
        assert_eq!(rendered.config["EXTERNAL_TLS_TERMINATION"], false);
        let quay = find(&objects, "Deployment", "registry-quay-app").unwrap();
        assert_eq!(
            quay["spec"]["template"]["spec"]["volumes"][0]["secret"]["secretName"],
            secret["metadata"]["name"]
        );
    }
}
