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
//! A create that fails after its first write returns the state of what it wrote next to the
//! error, so Terraform records the site (tainted) and a destroy removes it.
//!
//! Read compares the live objects with the rendering: a deleted `QuayRegistry` makes the site
//! disappear from state (Terraform plans to create it) unless its Secret or the namespace it
//! created is left, and any other difference in the fields
//! the provider sets is listed in `drift`, which the next plan clears, so the difference shows
//! in `terraform plan` and `terraform apply` restores it.
//!
//! Apply and read also record what a global load balancer and DNS need (the router's canonical
//! hostname or the Ingress address, the health check URLs, the per-site host: `site_live.rs`).
//! Each plan compares the Quay Operator versions on every cluster that runs a site
//! (`georep/site/operator_versions.rs` says when that is an error and when a warning).
//!
//! Around the apply, `site_cluster.rs` refuses what the cluster cannot run (the operator's
//! API, Routes, the Prometheus API and install mode for monitoring) and deletes the
//! HorizontalPodAutoscalers the operator left from a managed `horizontalpodautoscaler`.
//!
//! Delete removes the `QuayRegistry` and waits until the cluster has removed it and its owned
//! objects, then the bundle Secrets, then the namespace when this resource created it. It never
//! touches the shared database, Redis or buckets. `deletion_protection` refuses it, and a
//! change of a shared secret key needs `acknowledge_key_changes` (`georep_site_guards.rs`).
//!
//! A site written from a write-only twin (`config_yaml_wo`, `clair { database_uri_wo }`,
//! `tls { private_key_wo }`, `georep_site_twins.rs`) lacks that secret in its state. Apply
//! takes it from the configuration and marks the bundle Secret with the twin's annotation;
//! read renders the site with the secret from the live bundle (in memory only); delete needs
//! only the site's `id`; import leaves each marked secret out of the state.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value as Json;
use tokio::time::Instant;
use tracing::info;

use super::convert::{cluster_detail, cluster_error, reported};
use super::georep_site_guards::{check_key_changes, deletion_refusal, validate_acknowledgements};
use super::georep_site_import::{import_arguments, imported_state};
use super::georep_site_model::{
    DEFAULT_CREATE, DEFAULT_DELETE, DEFAULT_UPDATE, SiteModel, SiteResults, Warnings,
    inputs_changed, schema, site, state_of,
};
use super::georep_site_remove::remove;
use super::georep_site_twins::{TWINS, WRITE_ONLY_MARK, with_write_only, written_from_twins};
use super::georep_site_wait::SiteWait;
use super::georep_site_write_only::{LiveSite, Target, labels, live_site};
use super::migration_gate::Entered;
use super::model::{Field, Model};
use super::provider_data::ProviderData;
use super::site_cluster;
use super::site_live::{self, EndpointReads, EndpointResults};
use super::site_schema;
use super::timeouts::{self, Operation};
use crate::cluster::{Cluster, Kind, within};
use crate::framework::{PlanRequest, Resource};
use crate::georep::config::db_uri::DatabaseId;
use crate::georep::site::{RegistryStatus, Site, check_operator_support, may_migrate};
use crate::stop::StopToken;
use crate::tfvalue::{AttributePath, Diagnostic, Diagnostics, Schema, Value};

/// The resource.
#[derive(Clone, Copy, Debug, Default)]
pub struct GeoRepSiteResource;

/// The arguments whose change replaces the site: its identity.
const REPLACED_BY: [&str; 3] = ["cluster", "namespace", "name"];

fn site_labels(site: &Site) -> String {
    labels(site.name().as_str())
}

/// Why [`converge`] stopped: the diagnostic, and the state of what it had written by then.
struct Failed {
    diagnostic: Diagnostic,
    /// The site's state once any of its objects was written: returned next to the error so
    /// that Terraform records (and taints) the site, and `terraform destroy` removes what
    /// exists instead of leaving it orphaned.
    partial: Option<Value>,
}

impl From<Diagnostic> for Failed {
    fn from(diagnostic: Diagnostic) -> Self {
        Self {
            diagnostic,
            partial: None,
        }
    }
}

/// The diagnostic of a failed [`converge`] in `diags`, and the partial state if there is one.
fn reported_converge(result: Result<Value, Failed>, diags: &mut Diagnostics) -> Option<Value> {
    match result {
        Ok(state) => Some(state),
        Err(failed) => {
            diags.push(failed.diagnostic);
            failed.partial
        }
    }
}

/// Creates or updates the site's objects and waits for convergence; returns the new state.
///
/// # Errors
///
/// The diagnostic of the first step that failed (nothing after it was done), with the
/// state of the objects written before it, if any.
async fn converge(
    data: &ProviderData,
    site: &Site,
    planned: &Value,
    prior_namespace_created: Option<bool>,
    timeout: Duration,
    stop: &StopToken,
    diags: &mut Diagnostics,
) -> Result<Value, Failed> {
    let cluster = data.cluster(site.cluster()).await?;
    let deadline = timeouts::deadline(timeout);
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
        )
        .into());
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
    let twins: Vec<_> = TWINS.iter().filter(|t| t.wrote(planned, site)).collect();
    // From a create's first write on, a failure returns what exists as the site's state (a
    // failed update keeps the prior state, so the next plan shows the update again).
    let creating = prior_namespace_created.is_none();
    let partial = |diagnostic: Diagnostic| Failed {
        diagnostic,
        partial: creating.then(|| state_of(planned, site, None, None, namespace_created)),
    };
    let mut written = false;
    for object in site.manifests().iter() {
        let kind = object.get("kind").and_then(Json::as_str);
        if kind == Some("Namespace") && !namespace_created {
            continue;
        }
        let mut object = object.clone();
        if kind == Some("Secret") {
            for twin in &twins {
                object["metadata"]["annotations"][twin.annotation] = Json::from(WRITE_ONLY_MARK);
            }
        }
        match cluster.apply(&object).await {
            Ok(_) => written = true,
            Err(err) => {
                let diagnostic = cluster_error("Apply Failed", &err);
                return Err(if written {
                    partial(diagnostic)
                } else {
                    diagnostic.into()
                });
            }
        }
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
        .map_err(|err| partial(cluster_error("Site Did Not Converge", &err)))?
    } else {
        cluster
            .get(&Kind::QUAY_REGISTRY, Some(&namespace), &name)
            .await
            .map_err(|err| partial(cluster_error("Read Failed", &err)))?
    };
    // Again once the operator has seen the new spec: a reconcile of the old one may have
    // applied an HPA after the first removal.
    if wait {
        site_cluster::remove_operator_hpas(&cluster, site, diags).await;
    }
    remove_old_bundles(&cluster, site, diags).await;
    let endpoints = match &registry {
        Some(registry) => match site_live::read_endpoints(&cluster, registry).await {
            Ok(endpoints) => Some(endpoints),
            // The site is applied: a failed read leaves the endpoints empty until the next
            // refresh rather than failing an apply that changed the cluster.
            Err(err) => {
                diags.push(Diagnostic::warning(
                    "Site Endpoints Not Read",
                    cluster_detail(&err),
                ));
                None
            }
        },
        None => None,
    };
    Ok(state_of(
        planned,
        site,
        registry.map(|r| RegistryStatus::read(&r)).as_ref(),
        endpoints.as_ref(),
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
        if let Some(data) = data
            && request.config.is_wholly_known()
            && !data.planned_sites.check(&site, diags)
        {
            return;
        }
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
        let inputs_changed = !creating && inputs_changed(request.prior, request.planned, &site);
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
        } else if let Some(data) = data
            && let Some(warning) = data.insecure_warning(site.cluster(), &site.id()).await
        {
            diags.push(warning);
        }
        if creating || inputs_changed || drifted || pending.is_some() {
            results.registry_endpoint = Field::Unknown;
            results.current_version = Field::Unknown;
            results.conditions = Field::Unknown;
            results.endpoints = EndpointResults::unknown();
        }
        if creating {
            results.namespace_created = Field::Unknown;
        }
        results.write_into(request.planned);
        if let Some(data) = data
            && pending.is_none()
            && request.config.is_wholly_known()
        {
            let (operation, default) = if creating {
                (Operation::Create, DEFAULT_CREATE)
            } else {
                (Operation::Update, DEFAULT_UPDATE)
            };
            let deadline = timeouts::plan_deadline(request.config, operation, default);
            let budget = (deadline, request.stop);
            let operator =
                site_live::guard_operators(data, site.cluster(), creating, budget, diags).await;
            if let Some(version) = operator {
                let issues = check_operator_support(site.pods(), &version);
                site_schema::report(request.config, &issues, diags);
            }
        }
    }

    async fn create(
        &self,
        data: &ProviderData,
        planned: &Value,
        config: &Value,
        stop: &StopToken,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let site = site(
            &with_write_only(planned, config),
            Some(data),
            Warnings::Skip,
            diags,
        )?;
        let timeout = timeouts::get(config, Operation::Create, DEFAULT_CREATE);
        let deadline = Some(timeouts::deadline(timeout));
        let converged = within(
            deadline,
            stop.clone(),
            converge(data, &site, planned, None, timeout, stop, diags),
        )
        .await;
        reported_converge(converged, diags)
    }

    async fn read(
        &self,
        data: &ProviderData,
        state: &Value,
        stop: &StopToken,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        if written_from_twins(state) {
            let target = reported(Target::of_state(state), diags)?;
            if let Some(warning) = data.pending_warning(
                &target.cluster,
                &target.id(),
                "the site is refreshed from the cluster at apply; its state is kept until then",
            ) {
                diags.push(warning);
                return Some(state.clone());
            }
            return reported(refresh_write_only(data, &target, state).await, diags);
        }
        let site = site(state, Some(data), Warnings::Skip, diags)?;
        if let Some(warning) = data.pending_warning(
            site.cluster(),
            &site.id(),
            "the site is refreshed from the cluster at apply; its state is kept until then",
        ) {
            diags.push(warning);
            return Some(state.clone());
        }
        let refreshed = within(None, stop.clone(), refresh(data, &site, state)).await;
        reported(refreshed, diags)
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
        let site = site(
            &with_write_only(planned, config),
            Some(data),
            Warnings::Skip,
            diags,
        )?;
        // Again at apply: the plan may not have known config_yaml.
        check_key_changes(prior, planned, diags);
        if diags.has_errors() {
            return None;
        }
        let timeout = timeouts::get(config, Operation::Update, DEFAULT_UPDATE);
        let created = SiteResults::read(prior).is_namespace_created();
        let deadline = Some(timeouts::deadline(timeout));
        let converged = within(
            deadline,
            stop.clone(),
            converge(data, &site, planned, Some(created), timeout, stop, diags),
        )
        .await;
        reported_converge(converged, diags)
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
        // A site written from a twin lacks a secret in its state: its id suffices.
        let target = if written_from_twins(prior) {
            reported(Target::of_state(prior), diags)
        } else {
            site(prior, Some(data), Warnings::Skip, diags).map(|site| Target::of(&site))
        };
        let Some(target) = target else {
            return;
        };
        let timeout = timeouts::get(prior, Operation::Delete, DEFAULT_DELETE);
        let namespace_created = SiteResults::read(prior).is_namespace_created();
        let deadline = Some(timeouts::deadline(timeout));
        let removed = within(
            deadline,
            stop.clone(),
            remove(data, &target, namespace_created, timeout, stop, diags),
        )
        .await;
        reported(removed, diags);
    }

    async fn import(
        &self,
        data: &ProviderData,
        id: &str,
        stop: &StopToken,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let imported = within(None, stop.clone(), import_arguments(data, id)).await;
        let imported = reported(imported, diags)?;
        imported_state(&imported, diags)
    }
}

/// The refreshed state of `site`: null when its `QuayRegistry` is gone (Terraform plans to
/// create it again), else the live results and the drift from `state`'s configuration.
async fn refresh(data: &ProviderData, site: &Site, state: &Value) -> Result<Value, Diagnostic> {
    let cluster = data.cluster(site.cluster()).await?;
    let namespace = site.namespace().as_str();
    let read_failed = |err: crate::cluster::Error| cluster_error("Read Failed", &err);
    let created = SiteResults::read(state).is_namespace_created();
    // Every read at once: they are independent, and each is a round trip to a cluster that
    // may be a continent away. Their results are taken in the order they were read before:
    // the registry's first, and without a registry the others do not matter (a refusal to
    // list Ingresses, say, must not fail the refresh of a site that is gone).
    let bundle = site.bundle_secret_name();
    let (registry, bundle_found, endpoint_reads) = tokio::join!(
        cluster.get(&Kind::QUAY_REGISTRY, Some(namespace), site.name().as_str()),
        // Whether it exists, not the secrets in it.
        cluster.exists(&Kind::SECRET, Some(namespace), &bundle),
        EndpointReads::read(&cluster, namespace, site.name().as_str()),
    );
    let Some(registry) = registry.map_err(read_failed)? else {
        // Only a create that failed half-way (it never saw the registry report a version)
        // keeps what it left; a site deleted after it ran is planned anew, as before.
        let half_created = SiteResults::read(state)
            .current_version
            .known()
            .is_none_or(String::is_empty);
        if half_created {
            return leftovers(&cluster, site, state, created).await;
        }
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
    if !bundle_found.map_err(read_failed)? {
        drift.push(format!("Secret {namespace}/{bundle} is missing"));
    }
    let endpoints = endpoint_reads.map_err(read_failed)?.endpoints(&registry);
    let mut new_state = state_of(state, site, Some(&status), Some(&endpoints), created);
    let mut results = SiteResults::read(&new_state);
    results.drift = Field::Known(drift);
    results.write_into(&mut new_state);
    Ok(new_state)
}

/// The refreshed state of a site written from write-only twins: rendered, like [`refresh`],
/// with their secrets from the live bundle, which stay in memory. Without the bundle, the state
/// is kept with the missing Secret as drift, so the next apply writes it again.
async fn refresh_write_only(
    data: &ProviderData,
    target: &Target,
    state: &Value,
) -> Result<Value, Diagnostic> {
    match live_site(data, target, state).await? {
        LiveSite::Gone => Ok(Value::Null),
        LiveSite::BundleMissing(kept) => Ok(kept),
        LiveSite::Rendered(site) => refresh(data, &site, state).await,
    }
}

/// The state of a create that failed half-way, whose `QuayRegistry` is missing: gone
/// (`null`, so Terraform plans to create it) when nothing of it is left, but kept, with the
/// missing object as drift, while its bundle Secret or the namespace it created still
/// exists, so that a destroy removes them.
async fn leftovers(
    cluster: &Cluster,
    site: &Site,
    state: &Value,
    namespace_created: bool,
) -> Result<Value, Diagnostic> {
    let read_failed = |err: crate::cluster::Error| cluster_error("Read Failed", &err);
    let namespace = site.namespace().as_str();
    let secrets_left = cluster
        .any_matching(&Kind::SECRET, Some(namespace), &site_labels(site))
        .await
        .map_err(read_failed)?;
    let namespace_left = namespace_created
        && cluster
            .get(&Kind::NAMESPACE, None, namespace)
            .await
            .map_err(read_failed)?
            .is_some();
    if !secrets_left && !namespace_left {
        return Ok(Value::Null);
    }
    let mut new_state = state_of(state, site, None, None, namespace_created);
    let mut results = SiteResults::read(&new_state);
    results.drift = Field::Known(vec![format!(
        "QuayRegistry {namespace}/{} is missing",
        site.name().as_str()
    )]);
    results.write_into(&mut new_state);
    Ok(new_state)
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
