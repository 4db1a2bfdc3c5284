//! The Quay Operator's Deployment as an install creates it.
//!
//! Under OLM, the CSV's install strategy names the Deployment and holds its spec
//! ([`csv_deployment_spec`], built like the released CSV's `quay-operator-tng`), and the CSV
//! controller installs it under that name with the CSV's annotations copied onto the pod
//! template ([`strategy_deployment`]). On Kubernetes-flavoured clusters without OLM,
//! [`install_operator_deployment`] makes a plain Deployment of the user's name with image and
//! `QUAY_VERSION` ([`operator_deployment`]). Only the fields the provider and the operator
//! model read are set; nothing runs the Deployment.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

use super::catalogue::{self, Entry};
use super::shared::{Error, FIELD_MANAGER, api_error};

/// The operator Deployment's name under OLM, as the released CSV's install strategy gives it
/// (quay/quay-operator `bundle/manifests/quay-operator.clusterserviceversion.yaml`,
/// `spec.install.spec.deployments[0].name`).
pub const OPERATOR_DEPLOYMENT: &str = "quay-operator-tng";

/// The pod label of the CSV's Deployment (its selector), as the released CSV has it.
pub const OPERATOR_POD_LABEL: (&str, &str) = ("name", "quay-operator-alm-owned");

/// The label OLM puts on every object it installs for a CSV, naming the CSV
/// (operator-framework/operator-lifecycle-manager `pkg/lib/ownerutil`, `OwnerKey`).
pub const OWNER_LABEL: &str = "olm.owner";

/// The plain operator Deployment manifest (no OLM): one container `quay-operator` with
/// `image` and env `QUAY_VERSION=version`.
pub fn operator_deployment(namespace: &str, name: &str, image: &str, version: &str) -> Value {
    let (key, value) = OPERATOR_POD_LABEL;
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": {key: value}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {key: value}},
            "template": {
                "metadata": {"labels": {key: value}},
                "spec": {"containers": [{
                    "name": "quay-operator",
                    "image": image,
                    "env": [{"name": "QUAY_VERSION", "value": version}],
                }]},
            },
        },
    })
}

/// The Deployment spec of `entry`'s CSV install strategy, built like the released CSV's
/// (`bundle/manifests/quay-operator.clusterserviceversion.yaml`): the operator image,
/// `WATCH_NAMESPACE` and `QUAY_VERSION` read through `valueFrom.fieldRef` from the pod
/// template annotations `olm.targetNamespaces` and `quay-version` (which OLM copies from the
/// CSV), and the release's `RELATED_IMAGE_COMPONENT_*` images (none for a version that does
/// not parse).
pub fn csv_deployment_spec(entry: &Entry) -> Value {
    let (key, value) = OPERATOR_POD_LABEL;
    let from_annotation = |name: &str, annotation: &str| {
        json!({"name": name, "valueFrom": {"fieldRef": {
            "fieldPath": format!("metadata.annotations['{annotation}']"),
        }}})
    };
    let mut env = vec![
        json!({"name": "MY_POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}),
        from_annotation("WATCH_NAMESPACE", "olm.targetNamespaces"),
        from_annotation("QUAY_VERSION", super::csv::QUAY_VERSION_ANNOTATION),
    ];
    if let Ok(version) = entry.version.parse() {
        env.extend(crate::sim::operator::images::release_env(version));
    }
    json!({
        "replicas": 1,
        "selector": {"matchLabels": {key: value}},
        "template": {
            "metadata": {"labels": {key: value}},
            "spec": {"containers": [{
                "name": "quay-operator",
                "image": entry.image,
                "command": ["/workspace/manager", "--namespace=$(WATCH_NAMESPACE)"],
                "env": env,
            }]},
        },
    })
}

/// The Deployment OLM installs for one `(name, spec)` of a CSV's install strategy: labelled
/// with its owner CSV, the CSV's annotations merged under the pod template's own (OLM's
/// deployment installer, `pkg/controller/install/deployment.go`, so `quay-version` and
/// `olm.targetNamespaces` reach the pod's `valueFrom.fieldRef`).
pub fn strategy_deployment(
    namespace: &str,
    csv: &str,
    csv_annotations: &serde_json::Map<String, Value>,
    name: &str,
    spec: &Value,
) -> Value {
    let mut spec = spec.clone();
    let mut annotations = csv_annotations.clone();
    if let Some(own) = spec["template"]["metadata"]["annotations"].as_object() {
        annotations.extend(own.clone());
    }
    if !spec["template"]["metadata"].is_object() {
        spec["template"]["metadata"] = json!({});
    }
    spec["template"]["metadata"]["annotations"] = Value::Object(annotations);
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {
            "name": name, "namespace": namespace,
            "labels": {
                OWNER_LABEL: csv,
                "olm.owner.kind": "ClusterServiceVersion",
                "olm.owner.namespace": namespace,
            },
        },
        "spec": spec,
    })
}

/// Applies the operator Deployment (server-side apply, forcing ownership).
pub(crate) async fn apply_deployment(client: &kube::Client, manifest: &Value) -> Result<(), Error> {
    let field = |key: &str| {
        manifest["metadata"][key]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let (namespace, name) = (field("namespace"), field("name"));
    Api::<Deployment>::namespaced(client.clone(), &namespace)
        .patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(manifest),
        )
        .await
        .map(|_| ())
        .map_err(api_error("apply", format!("Deployment {namespace}/{name}")))
}

/// Creates `namespace` if it does not exist.
pub(crate) async fn ensure_namespace(client: &kube::Client, namespace: &str) -> Result<(), Error> {
    let manifest =
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}});
    Api::<Namespace>::all(client.clone())
        .patch(
            namespace,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&manifest),
        )
        .await
        .map(|_| ())
        .map_err(api_error("apply", format!("Namespace {namespace}")))
}

/// Installs Quay Operator `version` as a plain Deployment `name` in `namespace` (the
/// Kubernetes flavour, where there is no OLM), with the catalogue's image for that version.
/// Creates the namespace if needed.
///
/// # Errors
/// [`Error::NotInCatalogue`] for a version the catalogue does not list; [`Error::Api`] when
/// a write fails.
pub async fn install_operator_deployment(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    version: &str,
) -> Result<(), Error> {
    let entry =
        catalogue::catalogue()
            .by_version(version)
            .ok_or_else(|| Error::NotInCatalogue {
                what: format!("Quay version {version}"),
            })?;
    ensure_namespace(client, namespace).await?;
    apply_deployment(
        client,
        &operator_deployment(namespace, name, &entry.image, &entry.version),
    )
    .await
}
