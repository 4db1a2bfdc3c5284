//! The InstallPlan controller: carries out an approved plan.
//!
//! A plan waits in phase `RequiresApproval` until `spec.approved` is true. Then the CSV it
//! names (the last of `spec.clusterServiceVersionNames`) is created in phase `Pending`,
//! replacing the CSV its Subscription has installed, and the plan's phase becomes
//! `Complete`; the [`super::csv`] controller does the install. Plans are created by the
//! [`super::subscription`] controller, owned by their Subscription.

use std::sync::Arc;

use kube::api::{DynamicObject, ResourceExt as _};
use kube::runtime::controller::Action;
use serde_json::{Value, json};

use super::catalogue::catalogue;
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
    let csv_name = plan.data["spec"]["clusterServiceVersionNames"]
        .as_array()
        .and_then(|names| names.last())
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let Some(entry) = catalogue().entry(&csv_name) else {
        patch_status(
            &plans,
            INSTALL_PLAN,
            &name,
            json!({"phase": "Failed", "message": format!("{csv_name:?} is not in the catalogue")}),
        )
        .await?;
        return Ok(Action::await_change());
    };
    let replaces = installed_csv(&ctx.client, &plan, &namespace).await?;
    super::csv::create(&ctx.client, &namespace, entry, replaces.as_deref()).await?;
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
