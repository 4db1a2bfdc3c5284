//! The ClusterServiceVersion controller: installs a pending CSV.
//!
//! A CSV not yet `Succeeded` gets the Deployments its install strategy names
//! (`spec.install.spec.deployments[]`: [`super::OPERATOR_DEPLOYMENT`] for the Quay CSVs, as the
//! released CSV has it) applied in the CSV's namespace under those names, with the CSV's
//! annotations on their pod templates (`deployment::strategy_deployment`); the CSV it
//! `spec.replaces` is deleted; then its `status.phase` becomes `Succeeded`. A CSV the
//! catalogue does not know, or whose strategy names no Deployment, goes to phase `Failed`.
//! Nothing else of a CSV is modelled.

use std::sync::Arc;

use kube::api::{DeleteParams, DynamicObject, ResourceExt as _};
use kube::runtime::controller::Action;
use serde_json::{Value, json};

use super::catalogue::{Catalogue, Entry};
use super::deployment::{
    OPERATOR_DEPLOYMENT, apply_deployment, csv_deployment_spec, strategy_deployment,
};
use super::shared::{API_VERSION, CSV, Ctx, Error, api, api_error, apply, patch_status, str_at};

/// The annotation carrying the Quay version a CSV installs (as the real bundle has it).
pub const QUAY_VERSION_ANNOTATION: &str = "quay-version";

/// OLM's annotation on a CSV naming the namespaces its operator watches; empty for an
/// operator installed for all namespaces (the global OperatorGroup of `openshift-operators`).
pub const TARGET_NAMESPACES_ANNOTATION: &str = "olm.targetNamespaces";

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
            "spec": csv_deployment_spec(entry),
        }]}},
    });
    if let Some(old) = replaces.filter(|old| *old != entry.csv) {
        spec["replaces"] = json!(old);
    }
    let manifest = json!({
        "apiVersion": API_VERSION, "kind": CSV.0,
        "metadata": {
            "name": entry.csv, "namespace": namespace,
            "annotations": {
                QUAY_VERSION_ANNOTATION: entry.version,
                TARGET_NAMESPACES_ANNOTATION: "",
                "olm.operatorNamespace": namespace,
            },
        },
        "spec": spec,
    });
    let csvs = api(client, CSV, namespace);
    apply(&csvs, CSV, &entry.csv, &manifest).await?;
    Ok(())
}

/// The `(name, spec)` of every Deployment CSV `csv`'s install strategy names.
fn strategy_deployments(csv: &DynamicObject) -> Vec<(String, Value)> {
    csv.data["spec"]["install"]["spec"]["deployments"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| Some((d["name"].as_str()?.to_owned(), d["spec"].clone())))
        .collect()
}

/// Installs CSV `name` in `namespace`: its Deployments, replaced CSV removed, phase
/// `Succeeded`.
pub(crate) async fn install(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    cat: &Catalogue,
) -> Result<(), Error> {
    let csvs = api(client, CSV, namespace);
    let failed = |reason: &str, message: String| json!({"phase": "Failed", "reason": reason, "message": message});
    if cat.entry(name).is_none() {
        let status = failed(
            "NotInCatalogue",
            format!("{name} is not in the simulated catalogue"),
        );
        return patch_status(&csvs, CSV, name, status).await;
    }
    let object = csvs
        .get_opt(name)
        .await
        .map_err(api_error("read", format!("{} {namespace}/{name}", CSV.0)))?;
    let Some(object) = object else {
        return Ok(());
    };
    let deployments = strategy_deployments(&object);
    if deployments.is_empty() {
        let status = failed(
            "InvalidInstallStrategy",
            format!("{name} names no Deployment in spec.install.spec.deployments"),
        );
        return patch_status(&csvs, CSV, name, status).await;
    }
    let annotations: serde_json::Map<String, Value> = object
        .annotations()
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    for (deployment, spec) in &deployments {
        apply_deployment(
            client,
            &strategy_deployment(namespace, name, &annotations, deployment, spec),
        )
        .await?;
    }
    if let Some(old) = str_at(&object, &["spec", "replaces"]) {
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
