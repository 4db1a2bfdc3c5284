//! Rendering: the Kubernetes objects of one site, deterministic for the same [`Site`].
//!
//! [`Site::objects`] returns up to three objects as JSON values: the `Namespace` (when
//! `create_namespace`), the config bundle `Secret` (inline mode only) and the `QuayRegistry`.
//! The YAML forms ([`SiteObjects::to_yaml_documents`], [`SiteObjects::to_yaml`]) sort every
//! map's keys, so the text never depends on map insertion order.
//!
//! Choices, and why:
//! - The Secret carries base64 `data`, not `stringData`: `stringData` is write-only (the API
//!   server folds it into `data`), so a server-side apply of `stringData` never reads back
//!   equal and every plan would show a change. Type `Opaque`.
//! - Its name is `<name>-config-bundle-<10 hex of the content hash>` ([`Site::bundle_hash`]):
//!   the operator does not watch the Secret, only `spec`, so changed content must change
//!   `spec.configBundleSecret` (`reference/quay-operator.md` §0 item 12). The content is the
//!   same on every site (no per-site key in it), so the name is too.
//! - The `QuayRegistry` declares all 11 component kinds in a fixed order (the operator appends
//!   missing ones to `spec`, which fights GitOps, §0 item 11). `postgres`, `redis`,
//!   `objectstorage`, `clairpostgres` and `horizontalpodautoscaler` are unmanaged (geo-rep shares
//!   the first four; the HPA would ignore our replicas, §3.1). `quay`, and `mirror`/`clair` when
//!   enabled, always carry an explicit `replicas` (§0 item 6); `quay` and `mirror` carry
//!   `QUAY_DISTRIBUTED_STORAGE_PREFERENCE` = this location first. Unmanaged components never
//!   carry `overrides` (the CRD's CEL rule and `ComponentOverrideInvalid`).
//! - `tls` is unmanaged when a certificate is given (passthrough Route) and otherwise follows
//!   `route` (edge termination needs the Route API; without Routes `tls` cannot be managed).
//! - The user's `env` follows the preference on `quay`, sorted by name.

use serde_json::{Value, json};

use super::model::{ClairSetup, SecretMode, Site, Workers};
use super::pods::PodOverrides;
use crate::georep::yaml::to_yaml;

/// The `QuayRegistry` API version.
pub const QUAY_REGISTRY_API_VERSION: &str = "quay.redhat.com/v1";
/// The label every object we render carries, with [`MANAGED_BY`] as value.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// The value of [`MANAGED_BY_LABEL`].
pub const MANAGED_BY: &str = "terraform-provider-quay";
/// The label naming the `QuayRegistry` an object belongs to.
pub const SITE_LABEL: &str = "quay-georep/site";
/// The label on the `QuayRegistry` naming its storage location.
pub const LOCATION_LABEL: &str = "quay-georep/location";
/// The env var that makes a site prefer its own bucket.
pub const PREFERENCE_ENV: &str = "QUAY_DISTRIBUTED_STORAGE_PREFERENCE";

/// Every component kind of the CRD, in the order the `QuayRegistry` declares them.
pub const COMPONENT_KINDS: [&str; 11] = [
    "quay",
    "mirror",
    "clair",
    "clairpostgres",
    "postgres",
    "redis",
    "objectstorage",
    "horizontalpodautoscaler",
    "route",
    "tls",
    "monitoring",
];

/// The objects of one site, in apply order.
#[derive(Clone, PartialEq)]
pub struct SiteObjects {
    /// The `Namespace`, when the site creates it.
    pub namespace: Option<Value>,
    /// The config bundle `Secret` (sensitive), in inline mode.
    pub bundle_secret: Option<Value>,
    /// The `QuayRegistry`.
    pub quay_registry: Value,
}

impl std::fmt::Debug for SiteObjects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteObjects")
            .field("namespace", &self.namespace)
            .field(
                "bundle_secret",
                &self.bundle_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("quay_registry", &self.quay_registry)
            .finish()
    }
}

impl SiteObjects {
    /// The objects in apply order: namespace, Secret, `QuayRegistry`.
    pub fn iter(&self) -> impl Iterator<Item = &Value> {
        self.namespace
            .iter()
            .chain(self.bundle_secret.iter())
            .chain(std::iter::once(&self.quay_registry))
    }

    /// One YAML document per object, in apply order, keys sorted, each ending in a newline and
    /// without a `---` line.
    pub fn to_yaml_documents(&self) -> Vec<String> {
        self.iter().map(to_yaml).collect()
    }

    /// The documents joined into one multi-document YAML stream (`---` before each).
    pub fn to_yaml(&self) -> String {
        let mut stream = String::new();
        for doc in self.to_yaml_documents() {
            stream.push_str("---\n");
            stream.push_str(&doc);
        }
        stream
    }
}

impl Site {
    /// The objects for the site's own [`SecretMode`].
    pub fn manifests(&self) -> SiteObjects {
        self.objects(&self.secret_mode)
    }

    /// The objects for `mode`: external mode leaves the Secret out and points
    /// `configBundleSecret` at the user's Secret.
    pub fn objects(&self, mode: &SecretMode) -> SiteObjects {
        let bundle_name = match mode {
            SecretMode::Inline => self.inline_bundle_secret_name(),
            SecretMode::External { name } => name.to_string(),
        };
        SiteObjects {
            namespace: self.create_namespace.then(|| self.namespace_object()),
            bundle_secret: matches!(mode, SecretMode::Inline).then(|| self.bundle_secret()),
            quay_registry: self.quay_registry(&bundle_name),
        }
    }

    /// The `Namespace`, labelled with the site that creates it (see
    /// [`Site::created_namespace`]).
    pub fn namespace_object(&self) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": self.namespace.as_str(),
                "labels": self.labels(),
            },
        })
    }

    /// Whether the live `namespace` is one this site created: it carries this site's labels.
    /// A site whose state was lost (its `QuayRegistry` deleted outside Terraform, so it is
    /// created again) still owns the namespace it made, and deletes it on destroy; a
    /// namespace made by someone else, or for another site, is left alone.
    pub fn created_namespace(&self, namespace: &Value) -> bool {
        let label = |key: &str| {
            namespace
                .pointer("/metadata/labels")
                .and_then(|labels| labels.get(key))
                .and_then(Value::as_str)
        };
        label(MANAGED_BY_LABEL) == Some(MANAGED_BY) && label(SITE_LABEL) == Some(self.name.as_str())
    }

    /// The inline bundle `Secret` (sensitive): [`Site::bundle_content`] base64-encoded.
    pub fn bundle_secret(&self) -> Value {
        use base64::Engine as _;
        let data: serde_json::Map<String, Value> = self
            .bundle_content()
            .into_iter()
            .map(|(key, value)| {
                let encoded = base64::engine::general_purpose::STANDARD.encode(value.expose());
                (key, Value::String(encoded))
            })
            .collect();
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {
                "name": self.inline_bundle_secret_name(),
                "namespace": self.namespace.as_str(),
                "labels": self.labels(),
            },
            "data": data,
        })
    }

    /// The `QuayRegistry` referring to the bundle Secret `bundle_name`.
    pub fn quay_registry(&self, bundle_name: &str) -> Value {
        let mut labels = self.labels();
        labels[LOCATION_LABEL] = Value::String(self.location.clone());
        json!({
            "apiVersion": QUAY_REGISTRY_API_VERSION,
            "kind": "QuayRegistry",
            "metadata": {
                "name": self.name.as_str(),
                "namespace": self.namespace.as_str(),
                "labels": labels,
            },
            "spec": {
                "configBundleSecret": bundle_name,
                "components": self.components(),
            },
        })
    }

    /// `spec.components`: all 11 kinds in [`COMPONENT_KINDS`] order.
    pub fn components(&self) -> Vec<Value> {
        let preference =
            json!({ "name": PREFERENCE_ENV, "value": self.storage_preference().join(" ") });
        let mut quay_env = vec![preference.clone()];
        quay_env.extend(
            self.env
                .iter()
                .map(|(name, value)| json!({ "name": name, "value": value })),
        );
        let managed = |kind: &str, overrides: Value| json!({ "kind": kind, "managed": true, "overrides": overrides });
        let unmanaged = |kind: &str| json!({ "kind": kind, "managed": false });
        let plain = |kind: &str, is_managed: bool| json!({ "kind": kind, "managed": is_managed });
        let with_pods = |mut overrides: Value, pods: &PodOverrides| {
            if let Value::Object(map) = &mut overrides {
                pods.render_into(map);
            }
            overrides
        };
        vec![
            managed(
                "quay",
                with_pods(
                    json!({ "replicas": self.quay_replicas.get(), "env": quay_env }),
                    &self.pods.quay,
                ),
            ),
            match self.mirror {
                Workers::Disabled => unmanaged("mirror"),
                Workers::Enabled { replicas } => managed(
                    "mirror",
                    with_pods(
                        json!({ "replicas": replicas.get(), "env": [preference] }),
                        &self.pods.mirror,
                    ),
                ),
            },
            match &self.clair {
                ClairSetup::Disabled => unmanaged("clair"),
                ClairSetup::Managed { replicas, .. } => managed(
                    "clair",
                    with_pods(json!({ "replicas": replicas.get() }), &self.pods.clair),
                ),
            },
            unmanaged("clairpostgres"),
            unmanaged("postgres"),
            unmanaged("redis"),
            unmanaged("objectstorage"),
            unmanaged("horizontalpodautoscaler"),
            if self.route_managed && !self.pods.route.is_empty() {
                managed("route", with_pods(json!({}), &self.pods.route))
            } else {
                plain("route", self.route_managed)
            },
            plain("tls", self.is_tls_managed()),
            plain("monitoring", self.monitoring),
        ]
    }

    fn labels(&self) -> Value {
        json!({ MANAGED_BY_LABEL: MANAGED_BY, SITE_LABEL: self.name.as_str() })
    }
}
