//! Installing the Quay Operator as OLM would have after an approved first install (the plain
//! Deployment of a cluster without OLM is in the deployment module).

use serde_json::json;

use super::catalogue;
use super::csv;
use super::deployment;
use super::shared::{API_VERSION, Error, SUBSCRIPTION, api, apply, patch_status};

/// Installs Quay Operator `version` in `namespace` as OLM would have after an approved first
/// install: a Subscription `subscription` (package [`catalogue::PACKAGE`], the version's
/// channel, `installPlanApproval: Manual`, `startingCSV`) reporting the CSV as installed, the
/// CSV in phase `Succeeded`, the operator Deployment, and the package's PackageManifest. Creates the namespace if needed.
///
/// # Errors
/// [`Error::NotInCatalogue`] for a version the catalogue does not list; [`Error::Api`] when
/// a write fails.
pub async fn install_operator(
    client: &kube::Client,
    namespace: &str,
    subscription: &str,
    version: &str,
) -> Result<(), Error> {
    let cat = catalogue::catalogue();
    let entry = cat
        .by_version(version)
        .ok_or_else(|| Error::NotInCatalogue {
            what: format!("Quay version {version}"),
        })?;
    let channel = cat
        .channels()
        .iter()
        .find(|c| c.entries.iter().any(|e| e.csv == entry.csv))
        .map(|c| c.name.clone())
        .ok_or_else(|| Error::NotInCatalogue {
            what: entry.csv.clone(),
        })?;
    deployment::ensure_namespace(client, namespace).await?;
    // The CSV and Deployment come first, so a running subscription controller finds the
    // install in place and adopts it instead of planning one.
    csv::create(client, namespace, entry, None).await?;
    csv::install(client, namespace, &entry.csv, cat).await?;
    let subs = api(client, SUBSCRIPTION, namespace);
    let manifest = json!({
        "apiVersion": API_VERSION, "kind": SUBSCRIPTION.0,
        "metadata": {"name": subscription, "namespace": namespace},
        "spec": {
            "name": catalogue::PACKAGE, "source": "redhat-operators",
            "sourceNamespace": "openshift-marketplace", "channel": channel,
            "installPlanApproval": "Manual", "startingCSV": entry.csv,
        },
    });
    apply(&subs, SUBSCRIPTION, subscription, &manifest).await?;
    super::package_manifest::write(
        client,
        namespace,
        "redhat-operators",
        "openshift-marketplace",
        cat,
    )
    .await?;
    patch_status(
        &subs,
        SUBSCRIPTION,
        subscription,
        json!({"installedCSV": entry.csv, "currentCSV": entry.csv, "state": "AtLatestKnown"}),
    )
    .await
}
