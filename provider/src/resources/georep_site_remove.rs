//! Destroying a site: its `QuayRegistry` first (the operator removes what it made for it),
//! then its bundle Secrets, then the namespace only when the site created it and no other
//! `QuayRegistry` lives there. Never the shared database, Redis or buckets.

use std::time::Duration;

use serde_json::Value as Json;

use super::convert::cluster_error;
use super::georep_site_write_only::{Target, labels};
use super::provider_data::ProviderData;
use super::timeouts;
use crate::cluster::{Check, Kind, WaitOptions};
use crate::stop::StopToken;
use crate::tfvalue::{Diagnostic, Diagnostics};

/// Removes the site: its `QuayRegistry` (waiting until the cluster has removed it and the
/// Deployments it owns), its bundle Secrets, and the namespace when this resource created it
/// and no other `QuayRegistry` is left in it (a warning then says it was kept).
pub(super) async fn remove(
    data: &ProviderData,
    target: &Target,
    namespace_created: bool,
    timeout: Duration,
    stop: &StopToken,
    diags: &mut Diagnostics,
) -> Result<(), Diagnostic> {
    let cluster = data.cluster(&target.cluster).await?;
    let deadline = timeouts::deadline(timeout);
    let namespace = target.namespace.clone();
    let name = target.name.clone();
    let delete_failed = |err: crate::cluster::Error| cluster_error("Delete Failed", &err);
    let unfinished = |err: crate::cluster::Error| cluster_error("Delete Did Not Finish", &err);
    cluster
        .delete(&Kind::QUAY_REGISTRY, Some(&namespace), &name)
        .await
        .map_err(delete_failed)?;
    let options = WaitOptions {
        what: format!("QuayRegistry {namespace}/{name} and the objects it owns to be removed"),
        deadline,
        stop: stop.clone(),
    };
    let gone = |registry: Option<&Json>| match registry {
        None => Check::Done,
        Some(_) => {
            Check::Pending("the QuayRegistry still exists (the operator's finalizer runs)".into())
        }
    };
    cluster
        .wait_for(
            &Kind::QUAY_REGISTRY,
            Some(&namespace),
            &name,
            &options,
            gone,
        )
        .await
        .map_err(unfinished)?;
    let deployments = format!("app.kubernetes.io/instance={name}");
    let owned = WaitOptions {
        what: format!("the Deployments of {namespace}/{name} to be removed"),
        ..options.clone()
    };
    let none_left = |items: &[Json]| {
        if items.is_empty() {
            Check::Done
        } else {
            Check::Pending(format!("{} Deployments left", items.len()))
        }
    };
    cluster
        .wait_for_list(
            &Kind::DEPLOYMENT,
            Some(&namespace),
            "",
            &deployments,
            &owned,
            none_left,
        )
        .await
        .map_err(unfinished)?;
    let secrets = cluster
        .list(&Kind::SECRET, Some(&namespace), &labels(&name))
        .await
        .map_err(delete_failed)?;
    for secret in secrets
        .iter()
        .filter_map(|s| s.pointer("/metadata/name").and_then(Json::as_str))
    {
        cluster
            .delete(&Kind::SECRET, Some(&namespace), secret)
            .await
            .map_err(delete_failed)?;
    }
    if namespace_created {
        // Another site may have been put into the namespace this one created: deleting the
        // namespace would delete that site too.
        let others: Vec<String> = cluster
            .list(&Kind::QUAY_REGISTRY, Some(&namespace), "")
            .await
            .map_err(delete_failed)?
            .iter()
            .filter_map(|r| r.pointer("/metadata/name").and_then(Json::as_str))
            .map(str::to_owned)
            .collect();
        if others.is_empty() {
            cluster
                .delete(&Kind::NAMESPACE, None, &namespace)
                .await
                .map_err(delete_failed)?;
        } else {
            diags.push(Diagnostic::warning(
                "Namespace Left Behind",
                format!(
                    "{}/{namespace}/{name} created namespace {namespace}, but it still holds the \
                     QuayRegistry {}, so it was not deleted; delete it once that site is gone",
                    target.cluster,
                    others.join(", ")
                ),
            ));
        }
    }
    Ok(())
}
