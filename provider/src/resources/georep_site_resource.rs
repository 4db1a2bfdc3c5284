//! `resource "quay_georep_site"`: one geo-replicated Quay site on one named cluster.
//!
//! Apply renders the site with [`crate::georep::site`] (the same code as
//! `data "quay_georep_site_manifests"`) and writes it with server-side apply: the namespace
//! (when asked and when it does not exist yet), the content-hashed config bundle Secret, then
//! the `QuayRegistry`. It then waits, when `wait_for_ready` is true, until the operator reports
//! the site converged (`Available`, `ComponentsCreated`, not `RolloutBlocked`, a
//! `currentVersion`, and the current generation observed), and removes bundle Secrets of
//! earlier applies. A blocking condition fails the wait at once with the operator's message.
//! Sites of one apply that share a database install one at a time ([`super::migration_gate`]),
//! because every new site's operator runs a migration Job against that database.
//!
//! Read compares the live objects with the rendering: a deleted `QuayRegistry` makes the site
//! disappear from state (Terraform plans to create it), and any other difference in the fields
//! the provider sets is listed in `drift`, which the next plan clears, so the difference shows
//! in `terraform plan` and `terraform apply` restores it.
//!
//! Delete removes the `QuayRegistry` and waits until the cluster has removed it and its owned
//! objects, then the bundle Secrets, then the namespace when this resource created it. It never
//! touches the shared database, Redis or buckets.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value as Json;
use tokio::time::Instant;
use tracing::info;

use super::ProviderData;
use super::convert::to_json;
use super::site_schema::{report, site_block, site_input};
use super::timeouts::{self, Operation};
use crate::cluster::{Check, Cluster, Kind, WaitOptions};
use crate::framework::{PlanRequest, Resource, StopToken};
use crate::georep::errors;
use crate::georep::site::{MANAGED_BY, MANAGED_BY_LABEL, SITE_LABEL};
use crate::georep::site::{Site, validate_site};
use crate::georep::upgrade::SCALED_DOWN_ANNOTATION;
use crate::tfvalue::{
    Attribute, AttributePath, Block, Diagnostic, Diagnostics, Schema, Type, Value,
};

/// The resource.
#[derive(Clone, Copy, Debug, Default)]
pub struct GeoRepSiteResource;

/// Results the resource computes.
const COMPUTED: [&str; 8] = [
    "id",
    "bundle_secret_name",
    "config_hash",
    "registry_endpoint",
    "current_version",
    "conditions",
    "drift",
    "namespace_created",
];

/// Attributes that are not part of the site's domain input.
const NON_DOMAIN: [&str; 10] = [
    "id",
    "bundle_secret_name",
    "config_hash",
    "registry_endpoint",
    "current_version",
    "conditions",
    "drift",
    "namespace_created",
    "wait_for_ready",
    "timeouts",
];

const DEFAULT_CREATE: Duration = Duration::from_secs(20 * 60);
const DEFAULT_UPDATE: Duration = Duration::from_secs(20 * 60);
const DEFAULT_DELETE: Duration = Duration::from_secs(10 * 60);

/// The schema.
pub(crate) fn schema() -> Schema {
    let block = Block::new(
        "one geo-replicated Quay site on one cluster: its namespace, config bundle Secret and \
         QuayRegistry, applied with server-side apply and awaited until the operator reports it \
         converged",
    )
    .attribute(Attribute::optional("wait_for_ready", Type::Bool).description(
        "wait until the operator reports the site Available with a current version; default true. \
         While waiting, a new site (or a new config bundle) holds the shared database: other sites \
         of the same apply on that database wait, so their migration Jobs never overlap",
    ))
    .attribute(Attribute::computed("id", Type::String).description("cluster/namespace/name; also the import id"))
    .attribute(Attribute::computed("bundle_secret_name", Type::String).description(
        "the config bundle Secret, <name>-config-bundle-<content hash>; a new name on every content change makes the operator reconcile",
    ))
    .attribute(Attribute::computed("config_hash", Type::String).description("sha256:<hex> of config_yaml"))
    .attribute(Attribute::computed("registry_endpoint", Type::String).description(
        "the operator's status.registryEndpoint: https://SERVER_HOSTNAME, the global name",
    ))
    .attribute(Attribute::computed("current_version", Type::String).description(
        "the Quay version whose database migrations completed on this site (status.currentVersion)",
    ))
    .attribute(Attribute::computed("conditions", Type::list(Type::String)).description(
        "the QuayRegistry conditions as \"Type=Status (Reason): message\"",
    ))
    .attribute(Attribute::computed("drift", Type::list(Type::String)).description(
        "differences between the live QuayRegistry and this configuration found by the last refresh; apply removes them",
    ))
    .attribute(Attribute::computed("namespace_created", Type::Bool).description(
        "whether this resource created the namespace, and so deletes it",
    ))
    .block(timeouts::block(&[
        (Operation::Create, DEFAULT_CREATE),
        (Operation::Update, DEFAULT_UPDATE),
        (Operation::Delete, DEFAULT_DELETE),
    ]));
    Schema {
        version: 0,
        block: site_block(block),
    }
}

/// The validated site for a configuration or state, with diagnostics for what is wrong.
fn site(value: &Value, data: Option<&ProviderData>, diags: &mut Diagnostics) -> Option<Site> {
    let input = site_input(value, &NON_DOMAIN, diags)?;
    let clusters: Option<Vec<String>> =
        data.map(|d| d.clusters.keys().map(str::to_owned).collect());
    match validate_site(&input, clusters.as_deref()) {
        Ok((site, warnings)) => {
            report(value, &warnings, diags);
            Some(site)
        }
        Err(issues) => {
            report(value, &issues, diags);
            None
        }
    }
}

/// The state after a successful apply or read: the configuration's arguments plus results.
fn state_of(base: &Value, site: &Site, registry: Option<&Json>, namespace_created: bool) -> Value {
    let mut state = base.clone();
    if let Value::Object(attrs) = &mut state {
        let status = registry.and_then(|r| r.get("status"));
        let text = |key: &str| {
            status
                .and_then(|s| s.get(key))
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        attrs.insert("id".into(), Value::string(site.id()));
        attrs.insert(
            "bundle_secret_name".into(),
            Value::string(site.bundle_secret_name()),
        );
        attrs.insert("config_hash".into(), Value::string(site.config_hash()));
        attrs.insert(
            "registry_endpoint".into(),
            Value::string(text("registryEndpoint")),
        );
        attrs.insert(
            "current_version".into(),
            Value::string(text("currentVersion")),
        );
        attrs.insert(
            "conditions".into(),
            Value::List(
                conditions(registry)
                    .into_iter()
                    .map(Value::string)
                    .collect(),
            ),
        );
        attrs.insert("drift".into(), Value::List(Vec::new()));
        attrs.insert("namespace_created".into(), Value::Bool(namespace_created));
    }
    state
}

/// `Type=Status (Reason): message` for each condition.
fn conditions(registry: Option<&Json>) -> Vec<String> {
    registry
        .and_then(|r| r.pointer("/status/conditions"))
        .and_then(Json::as_array)
        .map(|items| {
            items
                .iter()
                .map(|c| {
                    let field = |k: &str| c.get(k).and_then(Json::as_str).unwrap_or_default();
                    let message = field("message");
                    let mut line = format!(
                        "{}={} ({})",
                        field("type"),
                        field("status"),
                        field("reason")
                    );
                    if !message.is_empty() {
                        line.push_str(": ");
                        line.push_str(message);
                    }
                    line
                })
                .collect()
        })
        .unwrap_or_default()
}

fn condition<'a>(registry: &'a Json, kind: &str) -> Option<(&'a str, &'a str, &'a str)> {
    registry
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find_map(|c| {
            (c.get("type")?.as_str()? == kind).then(|| {
                let field = |k: &str| c.get(k).and_then(Json::as_str).unwrap_or_default();
                (field("status"), field("reason"), field("message"))
            })
        })
}

/// Whether the operator reports the site converged (reference: quay-operator §1.5).
fn convergence(registry: Option<&Json>) -> Check {
    let Some(registry) = registry else {
        return Check::Pending("the QuayRegistry does not exist".into());
    };
    if let Some(("True", reason, message)) = condition(registry, "RolloutBlocked") {
        return Check::Failed(format!(
            "the operator blocked the rollout: {reason}: {message}. Conditions: {}",
            conditions(Some(registry)).join("; ")
        ));
    }
    for kind in ["Available", "ComponentsCreated"] {
        if let Some((_, "MigrationsFailed", message)) = condition(registry, kind) {
            return Check::Failed(format!("the database migration failed: {message}"));
        }
    }
    let generation = registry
        .pointer("/metadata/generation")
        .and_then(Json::as_i64);
    let observed = registry
        .pointer("/status/observedGeneration")
        .and_then(Json::as_i64);
    if let (Some(generation), Some(observed)) = (generation, observed)
        && observed < generation
    {
        return Check::Pending(format!(
            "the operator has not reconciled generation {generation} yet"
        ));
    }
    let available = condition(registry, "Available").map(|c| c.0) == Some("True");
    let created = condition(registry, "ComponentsCreated").map(|c| c.0) == Some("True");
    let version = registry
        .pointer("/status/currentVersion")
        .and_then(Json::as_str)
        .unwrap_or_default();
    if available && created && !version.is_empty() {
        Check::Done
    } else {
        let seen = conditions(Some(registry));
        Check::Pending(if seen.is_empty() {
            "no status yet".into()
        } else {
            seen.join("; ")
        })
    }
}

fn error(diags: &mut Diagnostics, summary: &str, err: &crate::cluster::Error) {
    diags.push(Diagnostic::error(
        summary,
        format!("{}: {}", errors::chain(err), err.hint()),
    ));
}

fn site_labels(site: &Site) -> String {
    format!(
        "{MANAGED_BY_LABEL}={MANAGED_BY},{SITE_LABEL}={}",
        site.name().as_str()
    )
}

/// The state of an imported site: its rebuilt arguments, checked as a configuration would
/// be, plus the results read from the live `registry`.
pub(crate) fn imported_state(
    arguments: &Value,
    registry: &Json,
    diags: &mut Diagnostics,
) -> Option<Value> {
    let site = site(arguments, None, diags)?;
    Some(state_of(arguments, &site, Some(registry), false))
}

impl GeoRepSiteResource {
    /// Creates or updates the site's objects and waits for convergence; returns the new state.
    async fn converge(
        &self,
        data: &ProviderData,
        planned: &Value,
        prior_namespace_created: Option<bool>,
        timeout: Duration,
        stop: &StopToken,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let site = site(planned, Some(data), diags)?;
        let cluster = match data.clusters.get(site.cluster()).await {
            Ok(cluster) => cluster,
            Err(err) => {
                error(diags, "Cluster Unavailable", &err);
                return None;
            }
        };
        let deadline = Instant::now() + timeout;
        // Preflight: refuse before writing anything.
        if let Err(problem) = preflight(&cluster, &site).await {
            diags.push(problem);
            return None;
        }
        let namespace = site.namespace().as_str().to_owned();
        let live = match cluster
            .get(&Kind::QUAY_REGISTRY, Some(&namespace), site.name().as_str())
            .await
        {
            Ok(Some(live)) if is_held_for_upgrade(&live) => {
                diags.push(Diagnostic::error(
                    "Upgrade In Progress",
                    format!(
                        "{} is held at 0 replicas by an unfinished quay_georep_upgrade; changing \
                         it now could serve an old Quay version against the migrated database. \
                         Let the upgrade finish first (terraform apply -target on the \
                         quay_georep_upgrade resource), then apply this change",
                        site.id()
                    ),
                ));
                return None;
            }
            Ok(live) => live,
            Err(err) => {
                error(diags, "Read Failed", &err);
                return None;
            }
        };
        let wait = planned
            .get("wait_for_ready")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        // Held until the site converged (its migration, if any, is over); see `migration_gate`.
        let _migrating = match site.config().database() {
            Some(database) if wait && may_migrate(live.as_ref(), &site) => {
                let entered = match data.migrations.try_enter(database) {
                    Some(entered) => entered,
                    None => {
                        info!(
                            site = %site.id(),
                            %database,
                            "waiting for another site of this run to finish installing on the same database"
                        );
                        tokio::select! {
                            entered = data.migrations.enter(database) => entered,
                            () = tokio::time::sleep_until(deadline) => {
                                diags.push(Diagnostic::error(
                                    "Site Did Not Converge",
                                    format!(
                                        "{} timed out waiting for another site of this apply to \
                                         finish installing on the same database ({database}): \
                                         sites that share a database install one at a time so \
                                         their migrations never overlap. Raise timeouts.create \
                                         or check why the other site does not converge",
                                        site.id()
                                    ),
                                ));
                                return None;
                            }
                            () = stop.stopped() => {
                                diags.push(Diagnostic::error(
                                    "Interrupted",
                                    format!(
                                        "{} was not applied: Terraform stopped while it waited \
                                         for another site on the same database",
                                        site.id()
                                    ),
                                ));
                                return None;
                            }
                        }
                    }
                };
                Some(entered)
            }
            _ => None,
        };
        let namespace_created = match prior_namespace_created {
            Some(created) => created,
            None if site.create_namespace() => {
                match cluster.get(&Kind::NAMESPACE, None, &namespace).await {
                    Ok(found) => found.is_none_or(|live| site.created_namespace(&live)),
                    Err(err) => {
                        error(diags, "Cluster Unavailable", &err);
                        return None;
                    }
                }
            }
            None => false,
        };
        let objects = site.manifests();
        for object in objects.iter() {
            let is_namespace = object.get("kind").and_then(Json::as_str) == Some("Namespace");
            if is_namespace && !namespace_created {
                continue;
            }
            if let Err(err) = cluster.apply(object).await {
                error(diags, "Apply Failed", &err);
                return None;
            }
        }
        info!(site = %site.id(), "applied; waiting for the operator");
        let name = site.name().as_str().to_owned();
        let registry = if wait {
            let options = WaitOptions {
                what: format!(
                    "QuayRegistry {namespace}/{name} to converge (Available, components created, current version known)"
                ),
                deadline,
                stop: stop.clone(),
            };
            match cluster
                .wait_for(
                    &Kind::QUAY_REGISTRY,
                    Some(&namespace),
                    &name,
                    &options,
                    convergence,
                )
                .await
            {
                Ok(registry) => registry,
                Err(err) => {
                    error(diags, "Site Did Not Converge", &err);
                    return None;
                }
            }
        } else {
            match cluster
                .get(&Kind::QUAY_REGISTRY, Some(&namespace), &name)
                .await
            {
                Ok(registry) => registry,
                Err(err) => {
                    error(diags, "Read Failed", &err);
                    return None;
                }
            }
        };
        // Bundle Secrets of earlier applies go once the new one is rolled out (or at once
        // when not waiting: the operator reads only the one the QuayRegistry names).
        match cluster
            .list(&Kind::SECRET, Some(&namespace), &site_labels(&site))
            .await
        {
            Ok(secrets) => {
                let current = site.bundle_secret_name();
                for old in secrets
                    .iter()
                    .filter_map(|s| s.pointer("/metadata/name").and_then(Json::as_str))
                {
                    if old != current
                        && let Err(err) = cluster.delete(&Kind::SECRET, Some(&namespace), old).await
                    {
                        diags.push(Diagnostic::warning(
                            "Old Bundle Secret Left Behind",
                            format!("{}: {}", errors::chain(&err), err.hint()),
                        ));
                    }
                }
            }
            Err(err) => diags.push(Diagnostic::warning(
                "Old Bundle Secrets Not Cleaned Up",
                format!("{}: {}", errors::chain(&err), err.hint()),
            )),
        }
        Some(state_of(
            planned,
            &site,
            registry.as_ref(),
            namespace_created,
        ))
    }
}

/// Whether applying `site` over `live` can make the operator start a migration Job: a new
/// `QuayRegistry`, one that never finished installing (no `currentVersion`), or a new config
/// bundle (which may change `DB_URI`).
fn may_migrate(live: Option<&Json>, site: &Site) -> bool {
    let Some(live) = live else {
        return true;
    };
    let installed = live
        .pointer("/status/currentVersion")
        .and_then(Json::as_str)
        .is_some_and(|v| !v.is_empty());
    let bundle = live
        .pointer("/spec/configBundleSecret")
        .and_then(Json::as_str);
    !installed || bundle != Some(site.bundle_secret_name().as_str())
}

/// Whether `quay_georep_upgrade` holds this site scaled down (see
/// [`SCALED_DOWN_ANNOTATION`]).
fn is_held_for_upgrade(registry: &Json) -> bool {
    registry
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(SCALED_DOWN_ANNOTATION))
        .is_some_and(Json::is_string)
}

/// Whether a drift path is one the upgrade's scale-down changes: replicas, or the HPA flag.
fn is_upgrade_scale_down(path: &str) -> bool {
    path.ends_with(".overrides.replicas") || path.contains("kind=horizontalpodautoscaler")
}

/// Refuses what cannot work on this cluster before anything is written.
async fn preflight(cluster: &Cluster, site: &Site) -> Result<(), Diagnostic> {
    let unavailable = |err: crate::cluster::Error| {
        Diagnostic::error(
            "Cluster Unavailable",
            format!("{}: {}", errors::chain(&err), err.hint()),
        )
    };
    if !cluster
        .serves(&Kind::QUAY_REGISTRY)
        .await
        .map_err(unavailable)?
    {
        return Err(Diagnostic::error(
            "Quay Operator Not Installed",
            format!(
                "cluster {:?} does not serve quay.redhat.com/v1 QuayRegistry: install the Quay \
                 Operator there first; nothing was created",
                cluster.key()
            ),
        ));
    }
    if site.is_route_managed() && !cluster.serves(&Kind::ROUTE).await.map_err(unavailable)? {
        return Err(Diagnostic::error(
            "Routes Not Available",
            format!(
                "cluster {:?} has no route.openshift.io API, so the operator cannot manage a \
                 Route: set route {{ managed = false }} and a tls block, and serve \
                 SERVER_HOSTNAME with your own ingress or load balancer; nothing was created",
                cluster.key()
            ),
        )
        .with_attribute(AttributePath::root().attr("route")));
    }
    Ok(())
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
        let _ = site(config, None, diags);
    }

    fn requires_replace(&self) -> Vec<AttributePath> {
        ["cluster", "namespace", "name"]
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
        let Some(site) = site(request.config, data, diags) else {
            return;
        };
        let creating = request.is_create();
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
        let Value::Object(attrs) = request.planned else {
            return;
        };
        if request.config.is_wholly_known() {
            attrs.insert("id".into(), Value::string(site.id()));
            attrs.insert(
                "bundle_secret_name".into(),
                Value::string(site.bundle_secret_name()),
            );
            attrs.insert("config_hash".into(), Value::string(site.config_hash()));
        } else {
            for name in ["id", "bundle_secret_name", "config_hash"] {
                attrs.insert(name.into(), Value::Unknown);
            }
        }
        // A refresh that found drift recorded it; the plan removes it, so the apply restores
        // the registry and what it reports afterwards is not known yet.
        let drifted = matches!(request.prior.get("drift"), Some(Value::List(d)) if !d.is_empty());
        attrs.insert("drift".into(), Value::List(Vec::new()));
        if creating || inputs_changed || drifted {
            for name in ["registry_endpoint", "current_version", "conditions"] {
                attrs.insert(name.into(), Value::Unknown);
            }
        }
        if creating {
            attrs.insert("namespace_created".into(), Value::Unknown);
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
        let timeout = timeouts::get(config, Operation::Create, DEFAULT_CREATE);
        self.converge(data, planned, None, timeout, stop, diags)
            .await
    }

    async fn read(
        &self,
        data: &ProviderData,
        state: &Value,
        _stop: &StopToken,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let site = site(state, Some(data), diags)?;
        let cluster = match data.clusters.get(site.cluster()).await {
            Ok(cluster) => cluster,
            Err(err) => {
                error(diags, "Cluster Unavailable", &err);
                return None;
            }
        };
        let namespace = site.namespace().as_str();
        let registry = match cluster
            .get(&Kind::QUAY_REGISTRY, Some(namespace), site.name().as_str())
            .await
        {
            Ok(Some(registry)) => registry,
            // Gone: Terraform plans to create it again.
            Ok(None) => return Some(Value::Null),
            Err(err) => {
                error(diags, "Read Failed", &err);
                return None;
            }
        };
        let held_for_upgrade = is_held_for_upgrade(&registry);
        let mut drift: Vec<String> = site
            .expected_spec_matches(registry.get("spec").unwrap_or(&Json::Null))
            .iter()
            // An upgrade holds this site at 0 replicas with the HPA unmanaged: that is the
            // upgrade's, and restoring it would serve an old version against the migrated
            // database. quay_georep_upgrade restores it when the site's operator is upgraded.
            .filter(|d| !(held_for_upgrade && is_upgrade_scale_down(&d.path)))
            .map(ToString::to_string)
            .collect();
        match cluster
            .get(&Kind::SECRET, Some(namespace), &site.bundle_secret_name())
            .await
        {
            Ok(Some(_)) => {}
            Ok(None) => drift.push(format!(
                "Secret {namespace}/{} is missing",
                site.bundle_secret_name()
            )),
            Err(err) => {
                error(diags, "Read Failed", &err);
                return None;
            }
        }
        let created = state
            .get("namespace_created")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mut new_state = state_of(state, &site, Some(&registry), created);
        if let Value::Object(attrs) = &mut new_state {
            attrs.insert(
                "drift".into(),
                Value::List(drift.into_iter().map(Value::string).collect()),
            );
        }
        Some(new_state)
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
        let timeout = timeouts::get(config, Operation::Update, DEFAULT_UPDATE);
        let created = prior
            .get("namespace_created")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        self.converge(data, planned, Some(created), timeout, stop, diags)
            .await
    }

    async fn delete(
        &self,
        data: &ProviderData,
        prior: &Value,
        stop: &StopToken,
        diags: &mut Diagnostics,
    ) {
        let Some(site) = site(prior, Some(data), diags) else {
            return;
        };
        let cluster = match data.clusters.get(site.cluster()).await {
            Ok(cluster) => cluster,
            Err(err) => return error(diags, "Cluster Unavailable", &err),
        };
        let timeout = timeouts::get(prior, Operation::Delete, DEFAULT_DELETE);
        let deadline = Instant::now() + timeout;
        let namespace = site.namespace().as_str().to_owned();
        let name = site.name().as_str().to_owned();
        if let Err(err) = cluster
            .delete(&Kind::QUAY_REGISTRY, Some(&namespace), &name)
            .await
        {
            return error(diags, "Delete Failed", &err);
        }
        let options = WaitOptions {
            what: format!("QuayRegistry {namespace}/{name} and the objects it owns to be removed"),
            deadline,
            stop: stop.clone(),
        };
        let gone = |registry: Option<&Json>| match registry {
            None => Check::Done,
            Some(_) => Check::Pending(
                "the QuayRegistry still exists (the operator's finalizer runs)".into(),
            ),
        };
        if let Err(err) = cluster
            .wait_for(
                &Kind::QUAY_REGISTRY,
                Some(&namespace),
                &name,
                &options,
                gone,
            )
            .await
        {
            return error(diags, "Delete Did Not Finish", &err);
        }
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
        if let Err(err) = cluster
            .wait_for_list(
                &Kind::DEPLOYMENT,
                Some(&namespace),
                "",
                &deployments,
                &owned,
                none_left,
            )
            .await
        {
            return error(diags, "Delete Did Not Finish", &err);
        }
        match cluster
            .list(&Kind::SECRET, Some(&namespace), &site_labels(&site))
            .await
        {
            Ok(secrets) => {
                for secret in secrets
                    .iter()
                    .filter_map(|s| s.pointer("/metadata/name").and_then(Json::as_str))
                {
                    if let Err(err) = cluster
                        .delete(&Kind::SECRET, Some(&namespace), secret)
                        .await
                    {
                        return error(diags, "Delete Failed", &err);
                    }
                }
            }
            Err(err) => return error(diags, "Delete Failed", &err),
        }
        if prior.get("namespace_created").and_then(Value::as_bool) == Some(true)
            && let Err(err) = cluster.delete(&Kind::NAMESPACE, None, &namespace).await
        {
            error(diags, "Delete Failed", &err);
        }
    }

    async fn import(
        &self,
        data: &ProviderData,
        id: &str,
        _stop: &StopToken,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let parts: Vec<&str> = id.split('/').collect();
        let [cluster_key, namespace, name] = parts.as_slice() else {
            diags.push(Diagnostic::error(
                "Invalid Import Id",
                format!(
                    "{id:?} is not cluster/namespace/name, such as us_east/quay-enterprise/registry"
                ),
            ));
            return None;
        };
        let cluster = match data.clusters.get(cluster_key).await {
            Ok(cluster) => cluster,
            Err(err) => {
                error(diags, "Cluster Unavailable", &err);
                return None;
            }
        };
        let registry = match cluster
            .get(&Kind::QUAY_REGISTRY, Some(namespace), name)
            .await
        {
            Ok(Some(registry)) => registry,
            Ok(None) => {
                diags.push(Diagnostic::error(
                    "Site Not Found",
                    format!("no QuayRegistry {namespace}/{name} on cluster {cluster_key:?}: check the import id"),
                ));
                return None;
            }
            Err(err) => {
                error(diags, "Read Failed", &err);
                return None;
            }
        };
        let imported =
            super::georep_site_import::state_from_live(&cluster, cluster_key, &registry, diags)
                .await?;
        Some(imported)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn registry(conditions: &Json, version: &str, generation: i64, observed: i64) -> Json {
        json!({
            "metadata": {"generation": generation},
            "status": {"conditions": conditions, "currentVersion": version, "observedGeneration": observed},
        })
    }

    fn converged() -> Json {
        json!([
            {"type": "Available", "status": "True", "reason": "HealthChecksPassing"},
            {"type": "ComponentsCreated", "status": "True", "reason": "ComponentsCreationSuccess"},
            {"type": "RolloutBlocked", "status": "False", "reason": "ComponentsCreationSuccess"},
        ])
    }

    #[test]
    fn schema_is_a_valid_definition() {
        assert!(
            schema().check_definition().is_ok(),
            "{:?}",
            schema().check_definition()
        );
    }

    #[test]
    fn every_argument_maps_onto_the_domain_input() {
        let Type::Object(attrs) = schema().value_type() else {
            panic!("object type")
        };
        let config = Value::Object(attrs.keys().map(|k| (k.clone(), Value::Null)).collect());
        let mut diags = Diagnostics::default();
        assert!(
            site_input(&config, &NON_DOMAIN, &mut diags).is_some(),
            "{diags:?}"
        );
        for name in COMPUTED {
            assert!(
                NON_DOMAIN.contains(&name),
                "{name} must be left out of the domain input"
            );
        }
    }

    #[test]
    fn a_converged_site_is_done() {
        assert_eq!(
            convergence(Some(&registry(&converged(), "3.16.5", 2, 2))),
            Check::Done
        );
    }

    #[test]
    fn a_missing_registry_or_version_is_pending() {
        assert!(matches!(convergence(None), Check::Pending(_)));
        assert!(matches!(
            convergence(Some(&registry(&converged(), "", 2, 2))),
            Check::Pending(_)
        ));
    }

    #[test]
    fn an_unobserved_generation_is_pending_even_if_available() {
        let check = convergence(Some(&registry(&converged(), "3.16.5", 3, 2)));
        assert!(
            matches!(&check, Check::Pending(text) if text.contains("generation 3")),
            "{check:?}"
        );
    }

    #[test]
    fn a_blocked_rollout_fails_with_the_operators_message() {
        let blocked = json!([{"type": "RolloutBlocked", "status": "True", "reason": "ConfigInvalid", "message": "required component `postgres` marked as unmanaged, but `configBundleSecret` is missing necessary fields"}]);
        let check = convergence(Some(&registry(&blocked, "", 1, 1)));
        assert!(
            matches!(&check, Check::Failed(text) if text.contains("ConfigInvalid") && text.contains("necessary fields")),
            "{check:?}"
        );
    }

    #[test]
    fn a_failed_migration_fails_the_wait() {
        let failed = json!([{"type": "ComponentsCreated", "status": "False", "reason": "MigrationsFailed", "message": "Can't locate revision identified by 'abc'"}]);
        let check = convergence(Some(&registry(&failed, "", 1, 1)));
        assert!(
            matches!(&check, Check::Failed(text) if text.contains("locate revision")),
            "{check:?}"
        );
    }

    #[test]
    fn conditions_read_as_type_status_reason_and_message() {
        let r = registry(
            &json!([{"type": "Available", "status": "False", "reason": "ComponentNotReady", "message": "quay not ready"}]),
            "",
            1,
            1,
        );
        assert_eq!(
            conditions(Some(&r)),
            ["Available=False (ComponentNotReady): quay not ready"]
        );
    }

    #[test]
    fn an_upgrade_scale_down_is_recognised_only_when_marked() {
        let marked = json!({"metadata": {"annotations": {SCALED_DOWN_ANNOTATION: "true"}}});
        assert!(is_held_for_upgrade(&marked));
        assert!(!is_held_for_upgrade(&json!({"metadata": {}})));
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
