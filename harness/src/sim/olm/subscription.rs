//! The Subscription controller: offers the channel's head as an InstallPlan.
//!
//! Each round (on a change, and every [`super::RESYNC`]) it finds the installed CSV (the
//! newest `Succeeded` CSV of the catalogue in the Subscription's namespace), resolves
//! `spec.channel` in the catalogue, and decides what to offer: nothing installed yet → the
//! `startingCSV` or the head; the head newer than the installed CSV → the head; otherwise
//! nothing. An offer becomes one InstallPlan per CSV (named `install-<csv>`, owned by the
//! Subscription, `approval: Manual`, `approved: false`); the status says `installedCSV`,
//! `currentCSV`, `state` and `installPlanRef`. An unknown channel offers nothing
//! (`state: AtLatestKnown`). It also writes the package's PackageManifest into the
//! Subscription's namespace ([`super::package_manifest`]).
//!
//! Subscriptions of other packages are not resolved (the catalogue has only the Quay
//! package): their status is whatever a test writes. But like OLM, which resolves every
//! Subscription of a namespace together and puts every pending CSV into one InstallPlan
//! (operator-lifecycle-manager, `pkg/controller/operators/catalog/operator.go`,
//! `syncResolvingNamespace`), a new plan for the Quay CSV also lists the `status.currentCSV`
//! of every other Subscription in the namespace that is not installed yet.

use std::sync::Arc;

use kube::api::{DynamicObject, ListParams, ResourceExt as _};
use kube::runtime::controller::Action;
use serde_json::{Value, json};

use super::catalogue::{Catalogue, Entry, PACKAGE, version_key};
use super::install_plan::REQUIRES_APPROVAL;
use super::shared::{
    API_VERSION, CSV, Ctx, Error, INSTALL_PLAN, RESYNC, SUBSCRIPTION, api, api_error, apply,
    patch_status, str_at,
};

/// The InstallPlan name for `csv`: `install-` and the CSV name with dots as dashes.
pub fn install_plan_name(csv: &str) -> String {
    format!("install-{}", csv.replace('.', "-"))
}

/// Reconciles one Subscription.
///
/// # Errors
/// [`Error::Api`] when a read or write fails (the controller retries).
pub(crate) async fn reconcile(sub: Arc<DynamicObject>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    if sub.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    if str_at(&sub, &["spec", "name"]) != Some(PACKAGE) {
        return Ok(Action::await_change());
    }
    let namespace = sub.namespace().unwrap_or_default();
    let name = sub.name_any();
    let cat = ctx.catalogue();
    super::package_manifest::ensure(&ctx.client, &sub, &cat).await?;
    let installed = installed(&ctx.client, &namespace, &cat).await?;
    let head = str_at(&sub, &["spec", "channel"]).and_then(|c| cat.head(c));
    let offer: Option<&Entry> = match (&installed, head) {
        (None, head) => str_at(&sub, &["spec", "startingCSV"])
            .and_then(|c| cat.entry(c))
            .or(head),
        (Some(current), Some(head)) if head.version_key() > version_key(&current.version) => {
            Some(head)
        }
        _ => None,
    };
    let mut status = json!({
        "installedCSV": installed.as_ref().map(|e| e.csv.clone()),
        "currentCSV": offer.or(installed.as_ref()).map(|e| e.csv.clone()),
        "state": if offer.is_some() { "UpgradePending" } else { "AtLatestKnown" },
    });
    if let Some(entry) = offer {
        let plan = ensure_plan(&ctx.client, &sub, &namespace, entry).await?;
        status["installPlanRef"] = json!({
            "apiVersion": API_VERSION, "kind": INSTALL_PLAN.0, "name": plan, "namespace": namespace,
        });
    }
    let current = sub.data.get("status").cloned().unwrap_or(Value::Null);
    let changed = ["installedCSV", "currentCSV", "state", "installPlanRef"]
        .iter()
        .any(|k| current.get(*k).unwrap_or(&Value::Null) != status.get(*k).unwrap_or(&Value::Null));
    if changed {
        let subs = api(&ctx.client, SUBSCRIPTION, &namespace);
        patch_status(&subs, SUBSCRIPTION, &name, status).await?;
    }
    Ok(Action::requeue(RESYNC))
}

/// The newest Succeeded CSV of the catalogue in `namespace`.
async fn installed(
    client: &kube::Client,
    namespace: &str,
    cat: &Catalogue,
) -> Result<Option<Entry>, Error> {
    let csvs = api(client, CSV, namespace)
        .list(&ListParams::default())
        .await
        .map_err(api_error("list", format!("{} in {namespace}", CSV.0)))?;
    Ok(csvs
        .items
        .iter()
        .filter(|c| str_at(c, &["status", "phase"]) == Some("Succeeded"))
        .filter_map(|c| cat.entry(&c.name_any()))
        .max_by_key(|e| e.version_key())
        .cloned())
}

/// Creates the InstallPlan for `entry` unless one exists; returns its name.
async fn ensure_plan(
    client: &kube::Client,
    sub: &DynamicObject,
    namespace: &str,
    entry: &Entry,
) -> Result<String, Error> {
    let name = install_plan_name(&entry.csv);
    let plans = api(client, INSTALL_PLAN, namespace);
    let existing = plans.get_opt(&name).await.map_err(api_error(
        "read",
        format!("{} {namespace}/{name}", INSTALL_PLAN.0),
    ))?;
    if existing.is_some() {
        return Ok(name);
    }
    let mut csvs = vec![entry.csv.clone()];
    csvs.extend(pending_of_other_packages(client, namespace).await?);
    let manifest = json!({
        "apiVersion": API_VERSION, "kind": INSTALL_PLAN.0,
        "metadata": {
            "name": name, "namespace": namespace,
            "ownerReferences": [{
                "apiVersion": API_VERSION, "kind": SUBSCRIPTION.0,
                "name": sub.name_any(), "uid": sub.uid().unwrap_or_default(),
            }],
        },
        "spec": {
            "approval": "Manual", "approved": false,
            "clusterServiceVersionNames": csvs,
        },
    });
    apply(&plans, INSTALL_PLAN, &name, &manifest).await?;
    patch_status(
        &plans,
        INSTALL_PLAN,
        &name,
        json!({"phase": REQUIRES_APPROVAL}),
    )
    .await?;
    Ok(name)
}

/// The `status.currentCSV` of every Subscription of another package in `namespace` whose
/// `status.installedCSV` differs: what OLM's namespace-wide resolution adds to the plan.
async fn pending_of_other_packages(
    client: &kube::Client,
    namespace: &str,
) -> Result<Vec<String>, Error> {
    let subs = api(client, SUBSCRIPTION, namespace)
        .list(&ListParams::default())
        .await
        .map_err(api_error(
            "list",
            format!("{} in {namespace}", SUBSCRIPTION.0),
        ))?;
    Ok(subs
        .items
        .iter()
        .filter(|s| str_at(s, &["spec", "name"]) != Some(PACKAGE))
        .filter_map(|s| {
            let current = str_at(s, &["status", "currentCSV"])?;
            (str_at(s, &["status", "installedCSV"]) != Some(current)).then(|| current.to_owned())
        })
        .collect())
}
