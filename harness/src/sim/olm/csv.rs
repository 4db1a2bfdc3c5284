//! The ClusterServiceVersion controller: installs a pending CSV.
//!
//! A CSV not yet `Succeeded` gets its operator Deployment ([`super::OPERATOR_DEPLOYMENT`] in
//! the CSV's namespace) applied with the catalogue image and `QUAY_VERSION` of the CSV; the CSV
//! it `spec.replaces` is deleted; then its `status.phase` becomes `Succeeded`. A CSV the
//! catalogue does not know goes to phase `Failed`. Nothing else of a CSV is modelled.

use std::sync::Arc;

use kube::api::{DeleteParams, DynamicObject, ResourceExt as _};
use kube::runtime::controller::Action;
use serde_json::json;

use super::catalogue::{Catalogue, Entry};
use super::deployment::{OPERATOR_DEPLOYMENT, apply_deployment, operator_deployment};
use super::shared::{API_VERSION, CSV, Ctx, Error, api, api_error, apply, patch_status, str_at};

/// The annotation carrying the Quay version a CSV installs (as the real bundle has it).
pub const QUAY_VERSION_ANNOTATION: &str = "quay-version";

/// Creates CSV `entry` (phase `Pending`) in `namespace`, replacing `replaces`.
pub(crate) async fn create(
    client: &kube::Client,
    namespace: &str,
    entry: &Entry,
    replaces: Option<&str>,
) -> Result<(), Error> {
    let mut spec = json!({
        "version": entry.version,
        "displayName": "Red Hat Quay",
        "install": {"strategy": "deployment", "spec": {"deployments": [{
            "name": OPERATOR_DEPLOYMENT,
            "spec": {"template": {"spec": {"containers": [{
                "name": "quay-operator", "image": entry.image,
                "env": [{"name": "QUAY_VERSION", "value": entry.version}],
            }]}}},
        }]}},
    });
    if let Some(old) = replaces.filter(|old| *old != entry.csv) {
        spec["replaces"] = json!(old);
    }
    let manifest = json!({
        "apiVersion": API_VERSION, "kind": CSV.0,
        "metadata": {
            "name": entry.csv, "namespace": namespace,
            "annotations": {QUAY_VERSION_ANNOTATION: entry.version},
        },
        "spec": spec,
    });
    let csvs = api(client, CSV, namespace);
    apply(&csvs, CSV, &entry.csv, &manifest).await?;
    Ok(())
}

/// Installs CSV `name` in `namespace`: Deployment, replaced CSV removed, phase `Succeeded`.
pub(crate) async fn install(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    cat: &Catalogue,
) -> Result<(), Error> {
    let csvs = api(client, CSV, namespace);
    let Some(entry) = cat.entry(name) else {
        return patch_status(
            &csvs,
            CSV,
            name,
            json!({"phase": "Failed", "reason": "NotInCatalogue",
                   "message": format!("{name} is not in the simulated catalogue")}),
        )
        .await;
    };
    apply_deployment(
        client,
        &operator_deployment(namespace, OPERATOR_DEPLOYMENT, &entry.image, &entry.version),
    )
    .await?;
    let object = csvs
        .get_opt(name)
        .await
        .map_err(api_error("read", format!("{} {namespace}/{name}", CSV.0)))?;
    if let Some(old) = object
        .as_ref()
        .and_then(|o| str_at(o, &["spec", "replaces"]))
    {
        match csvs.delete(old, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(e) => {
                return Err(api_error("delete", format!("{} {namespace}/{old}", CSV.0))(
                    e,
                ));
            }
        }
    }
    patch_status(
        &csvs,
        CSV,
        name,
        json!({"phase": "Succeeded", "reason": "InstallSucceeded", "message": "install strategy completed with no errors"}),
    )
    .await
}

/// Reconciles one CSV.
///
/// # Errors
/// [`Error::Api`] when a read or write fails (the controller retries).
pub(crate) async fn reconcile(csv: Arc<DynamicObject>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let phase = str_at(&csv, &["status", "phase"]);
    if matches!(phase, Some("Succeeded" | "Failed")) || csv.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let namespace = csv.namespace().unwrap_or_default();
    install(&ctx.client, &namespace, &csv.name_any(), &ctx.catalogue()).await?;
    Ok(Action::await_change())
}
