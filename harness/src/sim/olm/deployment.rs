//! The Quay Operator's Deployment as an install creates it: image and `QUAY_VERSION`.
//!
//! Used by the CSV controller (OLM installs) and, on Kubernetes-flavoured clusters without
//! OLM, by [`install_operator_deployment`]. Only the fields the provider and the operator model
//! read are set; nothing runs the Deployment.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

use super::catalogue;
use super::shared::{Error, FIELD_MANAGER, api_error};

/// The operator Deployment's name when OLM installs it (from the CSV's install strategy).
pub const OPERATOR_DEPLOYMENT: &str = "quay-operator";

/// The operator Deployment manifest: one container `quay-operator` with `image` and env
/// `QUAY_VERSION=version`.
pub fn operator_deployment(namespace: &str, name: &str, image: &str, version: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": {"name": "quay-operator-alm-owned"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"name": "quay-operator-alm-owned"}},
            "template": {
                "metadata": {"labels": {"name": "quay-operator-alm-owned"}},
                "spec": {"containers": [{
                    "name": "quay-operator",
                    "image": image,
                    "env": [{"name": "QUAY_VERSION", "value": version}],
                }]},
            },
        },
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
