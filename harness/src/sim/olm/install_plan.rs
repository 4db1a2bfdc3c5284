//! The InstallPlan controller: carries out an approved plan.
//!
//! A plan waits in phase `RequiresApproval` until `spec.approved` is true. Then the Quay CSV
//! it names (the one of `spec.clusterServiceVersionNames` the catalogue has) is created in
//! phase `Pending`, replacing the CSV its Subscription has installed, and the plan's phase
//! becomes `Complete`; the [`super::csv`] controller does the install. The plan's other CSVs
//! (other operators of the namespace, see [`super::subscription`]) are installed too, as
//! approving a real shared plan does: the Subscription offering each reports it installed.
//! Plans are created by the [`super::subscription`] controller, owned by their Subscription.

use std::sync::Arc;

use kube::api::{DynamicObject, ResourceExt as _};
use kube::runtime::controller::Action;
use serde_json::{Value, json};

use kube::api::ListParams;

use super::catalogue::PACKAGE;
use super::shared::{Ctx, Error, INSTALL_PLAN, SUBSCRIPTION, api, api_error, patch_status, str_at};

/// The plan's phase while it waits for approval.
pub const REQUIRES_APPROVAL: &str = "RequiresApproval";
/// The plan's phase once its CSV is created.
pub const COMPLETE: &str = "Complete";

/// Reconciles one InstallPlan.
///
/// # Errors
/// [`Error::Api`] when a read or write fails (the controller retries).
pub(crate) async fn reconcile(plan: Arc<DynamicObject>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let namespace = plan.namespace().unwrap_or_default();
    let name = plan.name_any();
    let plans = api(&ctx.client, INSTALL_PLAN, &namespace);
    let phase = str_at(&plan, &["status", "phase"]);
    let approved = plan.data["spec"]["approved"].as_bool().unwrap_or(false);
    if phase == Some(COMPLETE) || phase == Some("Failed") {
        return Ok(Action::await_change());
    }
    if !approved {
        if phase != Some(REQUIRES_APPROVAL) {
            patch_status(
                &plans,
                INSTALL_PLAN,
                &name,
                json!({"phase": REQUIRES_APPROVAL}),
            )
            .await?;
        }
        return Ok(Action::await_change());
    }
    let names: Vec<String> = plan.data["spec"]["clusterServiceVersionNames"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    let cat = ctx.catalogue();
    let Some(entry) = names.iter().find_map(|n| cat.entry(n)) else {
        patch_status(
            &plans,
            INSTALL_PLAN,
            &name,
            json!({"phase": "Failed", "message": format!("none of {names:?} is in the catalogue")}),
        )
        .await?;
        return Ok(Action::await_change());
    };
    let replaces = installed_csv(&ctx.client, &plan, &namespace).await?;
    super::csv::create(&ctx.client, &namespace, entry, replaces.as_deref()).await?;
    install_others(&ctx.client, &namespace, &names).await?;
    patch_status(&plans, INSTALL_PLAN, &name, json!({"phase": COMPLETE})).await?;
    Ok(Action::await_change())
}

/// The installed CSV of the Subscription that owns `plan`.
async fn installed_csv(
    client: &kube::Client,
    plan: &DynamicObject,
    namespace: &str,
) -> Result<Option<String>, Error> {
    let Some(owner) = plan
        .owner_references()
        .iter()
        .find(|o| o.kind == SUBSCRIPTION.0)
    else {
        return Ok(None);
    };
    let sub = api(client, SUBSCRIPTION, namespace)
        .get_opt(&owner.name)
        .await
        .map_err(api_error(
            "read",
            format!("{} {namespace}/{}", SUBSCRIPTION.0, owner.name),
        ))?;
    Ok(sub.and_then(|s| str_at(&s, &["status", "installedCSV"]).map(str::to_owned)))
}

/// Reports every other package's Subscription in `namespace` whose `status.currentCSV` is
/// one of `names` as having installed it.
async fn install_others(
    client: &kube::Client,
    namespace: &str,
    names: &[String],
) -> Result<(), Error> {
    let subs = api(client, SUBSCRIPTION, namespace);
    let list = subs.list(&ListParams::default()).await.map_err(api_error(
        "list",
        format!("{} in {namespace}", SUBSCRIPTION.0),
    ))?;
    for sub in &list.items {
        if str_at(sub, &["spec", "name"]) == Some(PACKAGE) {
            continue;
        }
        if let Some(current) = str_at(sub, &["status", "currentCSV"])
            && names.iter().any(|n| n == current)
            && str_at(sub, &["status", "installedCSV"]) != Some(current)
        {
            patch_status(
                &subs,
                SUBSCRIPTION,
                &sub.name_any(),
                json!({"installedCSV": current, "state": "AtLatestKnown"}),
            )
            .await?;
        }
    }
    Ok(())
}
