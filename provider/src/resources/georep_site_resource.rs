//! `resource "quay_georep_site"`: one geo-replicated Quay site on one named cluster.
//!
//! Apply renders the site with [`crate::georep::site`] (the same code as
//! `data "quay_georep_site_manifests"`) and writes it with server-side apply: the namespace
//! (when asked and when it does not exist yet), the content-hashed config bundle Secret, then
//! the `QuayRegistry`. It then waits, when `wait_for_ready` is true, until the operator reports
//! the site converged (`Available`, `ComponentsCreated`, not `RolloutBlocked`, a
//! `currentVersion`, the current generation observed, its Deployments rolled out and no
//! migration Job running: `georep_site_wait.rs`), and removes bundle Secrets of earlier
//! applies. A blocking condition fails the wait once it has persisted, or at once when the
//! migration Job gave up, with the operator's and the migration pod's words.
//! Sites of one apply that share a database install one at a time ([`super::migration_gate`]),
//! because every new site's operator runs a migration Job against that database.
//!
//! Read compares the live objects with the rendering: a deleted `QuayRegistry` makes the site
//! disappear from state (Terraform plans to create it), and any other difference in the fields
//! the provider sets is listed in `drift`, which the next plan clears, so the difference shows
//! in `terraform plan` and `terraform apply` restores it.
//!
//! Around the apply, `site_cluster.rs` refuses what the cluster cannot run (the operator's
//! API, Routes, the Prometheus API and install mode for monitoring) and deletes the
//! HorizontalPodAutoscalers the operator left from a managed `horizontalpodautoscaler`.
//!
//! Delete removes the `QuayRegistry` and waits until the cluster has removed it and its owned
//! objects, then the bundle Secrets, then the namespace when this resource created it. It never
//! touches the shared database, Redis or buckets. `deletion_protection` refuses it, and a
//! change of a shared secret key needs `acknowledge_key_changes` (`georep_site_guards.rs`).

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value as Json;
use tokio::time::Instant;
use tracing::info;

use super::convert::{cluster_detail, cluster_error, reported, to_json};
use super::georep_site_guards::{check_key_changes, deletion_refusal, validate_acknowledgements};
use super::georep_site_import::{import_arguments, imported_state};
use super::georep_site_model::{
    COMPUTED, DEFAULT_CREATE, DEFAULT_DELETE, DEFAULT_UPDATE, SiteModel, SiteResults, Warnings,
    schema, site, state_of,
};
use super::georep_site_wait::SiteWait;
use super::migration_gate::Entered;
use super::model::{Field, Model};
use super::provider_data::ProviderData;
use super::site_cluster;
use super::timeouts::{self, Operation};
use crate::cluster::{Check, Cluster, Kind, WaitOptions};
use crate::framework::{PlanRequest, Resource};
use crate::georep::config::db_uri::DatabaseId;
use crate::georep::site::{
    MANAGED_BY, MANAGED_BY_LABEL, RegistryStatus, SITE_LABEL, Site, may_migrate,
};
use crate::stop::StopToken;
use crate::tfvalue::{AttributePath, Diagnostic, Diagnostics, Schema, Value};

/// The resource.
#[derive(Clone, Copy, Debug, Default)]
pub struct GeoRepSiteResource;

/// The arguments whose change replaces the site: its identity.
const REPLACED_BY: [&str; 3] = ["cluster", "namespace", "name"];

fn site_labels(site: &Site) -> String {
    format!(
        "{MANAGED_BY_LABEL}={MANAGED_BY},{SITE_LABEL}={}",
        site.name().as_str()
    )
}

/// Creates or updates the site's objects and waits for convergence; returns the new state.
///
/// # Errors
///
/// The diagnostic of the first step that failed; nothing after it was done.
async fn converge(
    data: &ProviderData,
    site: &Site,
    planned: &Value,
    prior_namespace_created: Option<bool>,
    timeout: Duration,
    stop: &StopToken,
    diags: &mut Diagnostics,
) -> Result<Value, Diagnostic> {
    let cluster = data.cluster(site.cluster()).await?;
    let deadline = Instant::now() + timeout;
    // Preflight: refuse before writing anything.
    site_cluster::preflight(&cluster, site).await?;
    let namespace = site.namespace().as_str().to_owned();
    let live = cluster
        .get(&Kind::QUAY_REGISTRY, Some(&namespace), site.name().as_str())
        .await
        .map_err(|err| cluster_error("Read Failed", &err))?
        .map(|live| RegistryStatus::read(&live));
    if live
        .as_ref()
        .is_some_and(RegistryStatus::is_held_for_upgrade)
    {
        return Err(Diagnostic::error(
            "Upgrade In Progress",
            format!(
                "{} is held at 0 replicas by an unfinished quay_georep_upgrade; changing \
                 it now could serve an old Quay version against the migrated database. \
                 Let the upgrade finish first (terraform apply -target on the \
                 quay_georep_upgrade resource), then apply this change",
                site.id()
            ),
        ));
    }
    let wait = SiteModel::read(planned, diags)
        .wait_for_ready
        .unwrap_or(true);
    // Held until the site converged (its migration, if any, is over); see `migration_gate`.
    let _migrating = match site.config().database() {
        Some(database) if wait && may_migrate(live.as_ref(), &site.bundle_secret_name()) => {
            Some(enter_migration_gate(data, site, database, deadline, stop).await?)
        }
        _ => None,
    };
    let namespace_created = match prior_namespace_created {
        Some(created) => created,
        None if site.create_namespace() => cluster
            .get(&Kind::NAMESPACE, None, &namespace)
            .await
            .map_err(|err| cluster_error("Cluster Unavailable", &err))?
            .is_none_or(|live| site.created_namespace(&live)),
        None => false,
    };
    for object in site.manifests().iter() {
        let is_namespace = object.get("kind").and_then(Json::as_str) == Some("Namespace");
        if is_namespace && !namespace_created {
            continue;
        }
        cluster
            .apply(object)
            .await
            .map_err(|err| cluster_error("Apply Failed", &err))?;
    }
    site_cluster::remove_operator_hpas(&cluster, site, diags).await;
    info!(site = %site.id(), "applied; waiting for the operator");
    let name = site.name().as_str().to_owned();
    let registry = if wait {
        SiteWait {
            cluster: &cluster,
            namespace: &namespace,
            name: &name,
            before: live.as_ref(),
            deadline,
            stop,
        }
        .settled()
        .await
        .map_err(|err| cluster_error("Site Did Not Converge", &err))?
    } else {
        cluster
            .get(&Kind::QUAY_REGISTRY, Some(&namespace), &name)
            .await
            .map_err(|err| cluster_error("Read Failed", &err))?
    };
    // Again once the operator has seen the new spec: a reconcile of the old one may have
    // applied an HPA after the first removal.
    if wait {
        site_cluster::remove_operator_hpas(&cluster, site, diags).await;
    }
    remove_old_bundles(&cluster, site, diags).await;
    Ok(state_of(
        planned,
        site,
        registry.map(|r| RegistryStatus::read(&r)).as_ref(),
        namespace_created,
    ))
}

/// Waits until no other site of this apply may be migrating `database`, then holds the gate
/// (see `migration_gate`).
///
/// # Errors
///
/// At the deadline, or when Terraform stops the apply.
async fn enter_migration_gate(
    data: &ProviderData,
    site: &Site,
    database: &DatabaseId,
    deadline: Instant,
    stop: &StopToken,
) -> Result<Entered, Diagnostic> {
    if let Some(entered) = data.migrations.try_enter(database) {
        return Ok(entered);
    }
    info!(
        site = %site.id(),
        %database,
        "waiting for another site of this run to finish installing on the same database"
    );
    tokio::select! {
        entered = data.migrations.enter(database) => Ok(entered),
        () = tokio::time::sleep_until(deadline) => Err(Diagnostic::error(
            "Site Did Not Converge",
            format!(
                "{} timed out waiting for another site of this apply to finish installing on \
                 the same database ({database}): sites that share a database install one at a \
                 time so their migrations never overlap. Raise timeouts.create or check why \
                 the other site does not converge",
                site.id()
            ),
        )),
        () = stop.stopped() => Err(Diagnostic::error(
            "Interrupted",
            format!(
                "{} was not applied: Terraform stopped while it waited for another site on the \
                 same database",
                site.id()
            ),
        )),
    }
}

/// Deletes the bundle Secrets of earlier applies once the new one is rolled out (or at once
/// when not waiting: the operator reads only the one the `QuayRegistry` names). Failures are
/// warnings: the site works, only an unused Secret is left behind.
async fn remove_old_bundles(cluster: &Cluster, site: &Site, diags: &mut Diagnostics) {
    let namespace = site.namespace().as_str();
    match cluster
        .list(&Kind::SECRET, Some(namespace), &site_labels(site))
        .await
    {
        Ok(secrets) => {
            let current = site.bundle_secret_name();
            for old in secrets
                .iter()
                .filter_map(|s| s.pointer("/metadata/name").and_then(Json::as_str))
            {
                if old != current
                    && let Err(err) = cluster.delete(&Kind::SECRET, Some(namespace), old).await
                {
                    diags.push(Diagnostic::warning(
                        "Old Bundle Secret Left Behind",
                        cluster_detail(&err),
                    ));
                }
            }
        }
        Err(err) => diags.push(Diagnostic::warning(
            "Old Bundle Secrets Not Cleaned Up",
            cluster_detail(&err),
        )),
    }
}

/// Whether a drift path is one the upgrade's scale-down changes: replicas, or the HPA flag.
fn is_upgrade_scale_down(path: &str) -> bool {
    path.ends_with(".overrides.replicas") || path.contains("kind=horizontalpodautoscaler")
}

#[async_trait]
impl Resource<ProviderData> for GeoRepSiteResource {
    fn type_name(&self) -> &'static str {
        "quay_georep_site"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        timeouts::validate(config, diags);
        validate_acknowledgements(config, diags);
        let _ = site(config, None, Warnings::Report, diags);
    }

    fn plan_destroy(&self, prior: &Value, diags: &mut Diagnostics) {
        diags.extend(deletion_refusal(prior));
    }

    fn requires_replace(&self) -> Vec<AttributePath> {
        REPLACED_BY
            .iter()
            .map(|a| AttributePath::root().attr(a))
            .collect()
    }

    async fn modify_plan(
        &self,
        data: Option<&ProviderData>,
        request: PlanRequest<'_>,
        diags: &mut Diagnostics,
    ) {
        let Some(site) = site(request.config, data, Warnings::Skip, diags) else {
            return;
        };
        let creating = request.is_create();
        if !creating {
            check_key_changes(request.prior, request.planned, diags);
            let replaced = REPLACED_BY
                .iter()
                .any(|name| request.prior.get(name) != request.planned.get(name));
            if replaced {
                diags.extend(deletion_refusal(request.prior));
            }
            if diags.has_errors() {
                return;
            }
        }
        let inputs_changed = !creating && {
            let strip = |v: &Value| {
                let mut json = to_json(v);
                if let Some(fields) = json.as_object_mut() {
                    for name in COMPUTED {
                        fields.remove(name);
                    }
                }
                json
            };
            strip(request.prior) != strip(request.planned)
        };
        if !matches!(request.planned, Value::Object(_)) {
            return;
        }
        let mut results = SiteResults::read(request.planned);
        if request.config.is_wholly_known() {
            results.id = Field::Known(site.id());
            results.bundle_secret_name = Field::Known(site.bundle_secret_name());
            results.config_hash = Field::Known(site.config_hash());
        } else {
            results.id = Field::Unknown;
            results.bundle_secret_name = Field::Unknown;
            results.config_hash = Field::Unknown;
        }
        // A refresh that found drift recorded it; the plan removes it, so the apply restores
        // the registry and what it reports afterwards is not known yet.
        let drifted = SiteResults::read(request.prior)
            .drift
            .known()
            .is_some_and(|d| !d.is_empty());
        results.drift = Field::Known(Vec::new());
        let pending = data.and_then(|d| {
            d.pending_warning(
                site.cluster(),
                &site.id(),
                "the site's results are planned as unknown and the cluster is first read at apply",
            )
        });
        if let Some(warning) = pending.clone() {
            diags.push(warning);
        }
        if creating || inputs_changed || drifted || pending.is_some() {
            results.registry_endpoint = Field::Unknown;
            results.current_version = Field::Unknown;
            results.conditions = Field::Unknown;
        }
        if creating {
            results.namespace_created = Field::Unknown;
        }
        results.write_into(request.planned);
    }

    async fn create(
        &self,
        data: &ProviderData,
        planned: &Value,
        config: &Value,
        stop: &StopToken,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let site = site(planned, Some(data), Warnings::Skip, diags)?;
        let timeout = timeouts::get(config, Operation::Create, DEFAULT_CREATE);
        let converged = converge(data, &site, planned, None, timeout, stop, diags).await;
        reported(converged, diags)
    }

    async fn read(
        &self,
        data: &ProviderData,
        state: &Value,
        _stop: &StopToken,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let site = site(state, Some(data), Warnings::Skip, diags)?;
        if let Some(warning) = data.pending_warning(
            site.cluster(),
            &site.id(),
            "the site is refreshed from the cluster at apply; its state is kept until then",
        ) {
            diags.push(warning);
            return Some(state.clone());
        }
        reported(refresh(data, &site, state).await, diags)
    }

    async fn update(
        &self,
        data: &ProviderData,
        prior: &Value,
        planned: &Value,
        config: &Value,
        stop: &StopToken,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let site = site(planned, Some(data), Warnings::Skip, diags)?;
        // Again at apply: the plan may not have known config_yaml.
        check_key_changes(prior, planned, diags);
        if diags.has_errors() {
            return None;
        }
        let timeout = timeouts::get(config, Operation::Update, DEFAULT_UPDATE);
        let created = SiteResults::read(prior).is_namespace_created();
        let converged = converge(data, &site, planned, Some(created), timeout, stop, diags).await;
        reported(converged, diags)
    }

    async fn delete(
        &self,
        data: &ProviderData,
        prior: &Value,
        stop: &StopToken,
        diags: &mut Diagnostics,
    ) {
        if let Some(refusal) = deletion_refusal(prior) {
            diags.push(refusal);
            return;
        }
        let Some(site) = site(prior, Some(data), Warnings::Skip, diags) else {
            return;
        };
        let timeout = timeouts::get(prior, Operation::Delete, DEFAULT_DELETE);
        let namespace_created = SiteResults::read(prior).is_namespace_created();
        let removed = remove(data, &site, namespace_created, timeout, stop, diags).await;
        reported(removed, diags);
    }

    async fn import(
        &self,
        data: &ProviderData,
        id: &str,
        _stop: &StopToken,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let imported = reported(import_arguments(data, id).await, diags)?;
        imported_state(&imported, diags)
    }
}

/// The refreshed state of `site`: null when its `QuayRegistry` is gone (Terraform plans to
/// create it again), else the live results and the drift from `state`'s configuration.
async fn refresh(data: &ProviderData, site: &Site, state: &Value) -> Result<Value, Diagnostic> {
    let cluster = data.cluster(site.cluster()).await?;
    let namespace = site.namespace().as_str();
    let read_failed = |err: crate::cluster::Error| cluster_error("Read Failed", &err);
    let Some(registry) = cluster
        .get(&Kind::QUAY_REGISTRY, Some(namespace), site.name().as_str())
        .await
        .map_err(read_failed)?
    else {
        return Ok(Value::Null);
    };
    let status = RegistryStatus::read(&registry);
    let held_for_upgrade = status.is_held_for_upgrade();
    let mut drift: Vec<String> = site
        .expected_spec_matches(registry.get("spec").unwrap_or(&Json::Null))
        .iter()
        // An upgrade holds this site at 0 replicas with the HPA unmanaged: that is the
        // upgrade's, and restoring it would serve an old version against the migrated
        // database. quay_georep_upgrade restores it when the site's operator is upgraded.
        .filter(|d| !(held_for_upgrade && is_upgrade_scale_down(&d.path)))
        .map(ToString::to_string)
        .collect();
    if cluster
        .get(&Kind::SECRET, Some(namespace), &site.bundle_secret_name())
        .await
        .map_err(read_failed)?
        .is_none()
    {
        drift.push(format!(
            "Secret {namespace}/{} is missing",
            site.bundle_secret_name()
        ));
    }
    let created = SiteResults::read(state).is_namespace_created();
    let mut new_state = state_of(state, site, Some(&status), created);
    let mut results = SiteResults::read(&new_state);
    results.drift = Field::Known(drift);
    results.write_into(&mut new_state);
    Ok(new_state)
}

/// Removes the site: its `QuayRegistry` (waiting until the cluster has removed it and the
/// Deployments it owns), its bundle Secrets, and the namespace when this resource created it
/// and no other `QuayRegistry` is left in it (a warning then says it was kept).
async fn remove(
    data: &ProviderData,
    site: &Site,
    namespace_created: bool,
    timeout: Duration,
    stop: &StopToken,
    diags: &mut Diagnostics,
) -> Result<(), Diagnostic> {
    let cluster = data.cluster(site.cluster()).await?;
    let deadline = Instant::now() + timeout;
    let namespace = site.namespace().as_str().to_owned();
    let name = site.name().as_str().to_owned();
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
        .list(&Kind::SECRET, Some(&namespace), &site_labels(site))
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
                    "{} created namespace {namespace}, but it still holds the QuayRegistry {}, \
                     so it was not deleted; delete it once that site is gone",
                    site.id(),
                    others.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upgrade_scale_down_is_recognised_only_when_marked() {
        assert!(is_upgrade_scale_down(
            "spec.components[kind=quay].overrides.replicas"
        ));
        assert!(is_upgrade_scale_down(
            "spec.components[kind=horizontalpodautoscaler].managed"
        ));
        assert!(!is_upgrade_scale_down("spec.configBundleSecret"));
        assert!(!is_upgrade_scale_down(
            "spec.components[kind=quay].overrides.env[X]"
        ));
    }

    #[test]
    fn only_the_site_identity_forces_replacement() {
        let paths: Vec<String> = GeoRepSiteResource
            .requires_replace()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(paths, ["cluster", "namespace", "name"]);
    }
}
