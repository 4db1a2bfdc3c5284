//! `resource "quay_georep_upgrade"`: the documented geo-replication upgrade of every site to
//! one Quay version, as one resumable Terraform operation.
//!
//! It maps its arguments onto [`UpgradeInput`] (validated at plan time, every problem with its
//! attribute path), predicts the steps at plan time with [`plan_steps`] as a warning when
//! the clusters can be read (`steps` is what the apply did, so it stays unknown in the plan),
//! and on create or update runs [`crate::orchestrate::run`] until every site runs the
//! target. Read reports the sites' common version (or `mixed`) as `completed_version`, so a
//! site that changed version shows the upgrade again in the plan. Delete only forgets the
//! resource: there is no downgrade. It does not create sites (that is `quay_georep_site`).

use std::fmt::Write as _;
use std::time::Duration;

use async_trait::async_trait;

use super::ProviderData;
use super::convert::{diagnostic, issue_is_about_unknown};
use super::timeouts::{self, Operation};
use crate::framework::{PlanRequest, Resource, StopToken};
use crate::georep::issue::Issue;
use crate::georep::path::FieldPath;
use crate::georep::upgrade::{
    OperatorInput, QuayVersion, SiteObservation, SiteObservationSummary, UpgradeInput,
    UpgradeRequest, plan_steps, validate,
};
use crate::orchestrate::{RunError, observe, run};
use crate::tfvalue::{Attribute, Block, Diagnostic, Diagnostics, NestedBlock, Schema, Type, Value};

/// The resource.
#[derive(Clone, Copy, Debug, Default)]
pub struct GeoRepUpgradeResource;

/// `timeouts.create` and `timeouts.update` when not set.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_mins(60);

/// The summary of the plan-time warning listing the steps an upgrade will take.
pub const UPGRADE_PLANNED: &str = "Upgrade Planned";

/// `completed_version` when the sites run different versions.
pub const MIXED: &str = "mixed";

/// `completed_version` while an upgrade is recorded in progress on the primary (a killed or
/// failed apply, or another working directory's run), whatever the sites run.
pub const IN_PROGRESS: &str = "in-progress";

/// The arguments of the resource (everything but the computed attributes).
const ARGUMENTS: [&str; 6] = [
    "sites",
    "primary",
    "target_version",
    "lease_duration",
    "operator",
    "timeouts",
];

/// The schema; its descriptions are the reference documentation.
pub(crate) fn schema() -> Schema {
    let operator = Block::new("how the Quay Operator is installed on every site")
        .attribute(Attribute::required("method", Type::String).description(
            "olm (a Subscription with manual InstallPlan approval) or deployment (a plain operator Deployment)",
        ))
        .attribute(Attribute::required("namespace", Type::String).description(
            "namespace of the Subscription or operator Deployment, the same on every site",
        ))
        .attribute(Attribute::required("name", Type::String).description(
            "name of the Subscription (olm) or operator Deployment (deployment)",
        ))
        .attribute(Attribute::optional("channel", Type::String).description(
            "olm only: the channel offering the target CSV; default the target's stable-3.x channel",
        ))
        .attribute(Attribute::optional("image", Type::String).description(
            "deployment only: the target operator image; default the catalogue's image for the target",
        ));
    Schema {
        version: 0,
        block: Block::new(
            "upgrades every geo-replicated site to one Quay version the documented way: scale the \
             secondaries to 0, upgrade and migrate the primary, upgrade the secondaries, restore \
             them; resumable after a killed apply. Destroying it only forgets it: there is no downgrade",
        )
        .attribute(Attribute::required("sites", Type::list(Type::String)).description(
            "site ids cluster/namespace/name, normally [for s in quay_georep_site.all : s.id]",
        ))
        .attribute(Attribute::optional("primary", Type::String).description(
            "the site whose operator migrates the shared database; default the first site",
        ))
        .attribute(Attribute::required("target_version", Type::String).description(
            "the Quay version every site ends at, such as 3.15.7; must be an allowed upgrade from the current version",
        ))
        .attribute(Attribute::optional("lease_duration", Type::String).description(
            "how long the coordination Lease lasts without renewal, such as 90s, 10m or 1h; at least 15s; default 10m; the Lease is held as terraform@<host>:<working directory>: a killed apply run again from the same directory resumes at once, from elsewhere only once the Lease has expired",
        ))
        .attribute(Attribute::computed("id", Type::String).description("the primary site id"))
        .attribute(Attribute::computed("completed_version", Type::String).description(
            "the version every site runs after the last apply; when read, the sites' common version, mixed, or in-progress while an upgrade is recorded on the primary",
        ))
        .attribute(Attribute::computed("steps", Type::list(Type::String)).description(
            "after apply what the upgrade did, each with its RFC 3339 time; unknown in a plan that upgrades (the plan shows the predicted steps as a warning)",
        ))
        .attribute(Attribute::computed("status", Type::String).description("the last status of the upgrade"))
        .block(NestedBlock::single("operator", operator).min_items(1).max_items(1))
        .block(timeouts::block(&[
            (Operation::Create, DEFAULT_TIMEOUT),
            (Operation::Update, DEFAULT_TIMEOUT),
        ])),
    }
}

fn text(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::to_owned)
}

/// The domain input of a configuration (unknown values read as unset).
pub(crate) fn input(config: &Value) -> UpgradeInput {
    let operator = config
        .get("operator")
        .filter(|o| !o.is_null() && o.is_known())
        .map(|o| OperatorInput {
            method: text(o.get("method")),
            namespace: text(o.get("namespace")),
            name: text(o.get("name")),
            channel: text(o.get("channel")),
            image: text(o.get("image")),
        });
    UpgradeInput {
        sites: config
            .get("sites")
            .and_then(Value::as_elements)
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            }),
        primary: text(config.get("primary")),
        target_version: text(config.get("target_version")),
        operator,
        lease_duration: text(config.get("lease_duration")),
    }
}

/// The issues of the `timeouts` block.
fn timeout_issues(config: &Value) -> Vec<Issue> {
    let mut issues = Vec::new();
    for field in ["create", "update"] {
        let Some(value) = config.get("timeouts").and_then(|t| t.get(field)) else {
            continue;
        };
        if let Some(text) = value.as_str()
            && timeouts::parse(text).is_err()
        {
            issues.push(Issue::error(
                FieldPath::attr("timeouts").field(field),
                "Invalid Timeout",
                format!("timeouts.{field} is {text:?}: use hours, minutes and seconds such as 30m, 90s or 1h30m"),
            ));
        }
    }
    issues
}

/// The timeout of `field` (`create` or `update`).
fn timeout(config: &Value, field: &str) -> Duration {
    let operation = if field == "update" {
        Operation::Update
    } else {
        Operation::Create
    };
    timeouts::get(config, operation, DEFAULT_TIMEOUT)
}

/// Every issue of a configuration, those about unknown values left out.
pub(crate) fn issues(config: &Value) -> Vec<Issue> {
    let mut all = match validate(&input(config)) {
        Ok((_, warnings)) => warnings,
        Err(issues) => issues,
    };
    all.extend(timeout_issues(config));
    all.retain(|issue| !issue_is_about_unknown(config, issue));
    all
}

/// The request of a valid, wholly known configuration, with this working directory's
/// Lease holder (see [`holder`]).
fn request(config: &Value) -> Option<UpgradeRequest> {
    if !timeout_issues(config).is_empty() {
        return None;
    }
    validate(&input(config))
        .ok()
        .map(|(request, _)| request.with_holder(holder()))
}

/// The Lease holder identity of this provider process: `terraform@<host>:<working directory>`.
///
/// Terraform starts the provider in its working directory, so an apply that was killed and
/// is run again from the same directory is the same holder and resumes at once, while an
/// apply from another working directory (another state, which Terraform's state lock does
/// not keep apart) is another holder and is refused while the Lease lives. The price: a
/// killed upgrade resumed from another directory or machine waits until its Lease expires.
fn holder() -> String {
    let host = hostname::get().map_or_else(
        |_| "unknown-host".to_owned(),
        |h| h.to_string_lossy().into_owned(),
    );
    let dir = std::env::current_dir().map_or_else(
        |_| "unknown-directory".to_owned(),
        |d| d.display().to_string(),
    );
    format!("terraform@{host}:{dir}")
}

fn set(state: &mut Value, name: &str, value: Value) {
    if let Value::Object(attrs) = state {
        attrs.insert(name.to_owned(), value);
    }
}

fn strings(items: impl IntoIterator<Item = String>) -> Value {
    Value::List(items.into_iter().map(Value::string).collect())
}

/// The site versions' summary for `completed_version`: [`IN_PROGRESS`] while a progress
/// record exists, else the common version or [`MIXED`]; `None` when a site could not be read.
fn common_version(observed: &crate::georep::upgrade::Observation) -> Option<String> {
    if observed.progress.is_some() {
        return Some(IN_PROGRESS.to_owned());
    }
    let mut versions = Vec::new();
    for site in observed.sites.values() {
        match site {
            SiteObservation::Observed(state) => {
                // Written as the apply writes the target (`3.15.7`), so that an operator
                // reporting `v3.15.7` is not an upgrade to do again on every plan.
                let text = state.current_version.clone().unwrap_or_default();
                versions.push(
                    text.parse::<QuayVersion>()
                        .map_or(text, |version| version.to_string()),
                );
            }
            SiteObservation::Unreachable { .. } => return None,
        }
    }
    let first = versions.first()?.clone();
    Some(if versions.iter().all(|v| *v == first) {
        first
    } else {
        MIXED.to_owned()
    })
}

impl GeoRepUpgradeResource {
    async fn apply(
        &self,
        data: &ProviderData,
        planned: &Value,
        config: &Value,
        timeout_field: &str,
        stop: &StopToken,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let Some(request) = request(config) else {
            diags.push(Diagnostic::error(
                "Provider Bug: Validation Disagrees",
                "the configuration passed validation but is not a valid upgrade; please report this",
            ));
            return None;
        };
        let deadline = tokio::time::Instant::now() + timeout(config, timeout_field);
        let target = request.target().to_string();
        let result = run(&data.clusters, &request, deadline, stop, |status| {
            tracing::info!(%status, "quay_georep_upgrade");
        })
        .await;
        match result {
            Ok(steps) => {
                let mut state = planned.clone();
                set(
                    &mut state,
                    "id",
                    Value::string(request.primary().to_string()),
                );
                set(&mut state, "completed_version", Value::string(&target));
                set(
                    &mut state,
                    "steps",
                    strings(steps.iter().map(ToString::to_string)),
                );
                set(
                    &mut state,
                    "status",
                    Value::string(format!("every site runs Quay {target}")),
                );
                Some(state)
            }
            Err(err) => {
                diags.push(run_diagnostic(&err));
                None
            }
        }
    }
}

/// The diagnostic of a failed run: what stopped it, the cause chain, what to do, and the steps
/// done before.
fn run_diagnostic(err: &RunError) -> Diagnostic {
    let summary = match err {
        RunError::Upgrade { .. } => "Upgrade Stopped",
        RunError::Perform { .. } => "Upgrade Step Failed",
        RunError::Timeout { .. } => "Upgrade Timed Out",
        RunError::Stopped { .. } => "Upgrade Interrupted",
    };
    let mut detail = crate::georep::errors::chain(err);
    let _ = write!(detail, "\n\n{}.", err.hint());
    if !err.steps().is_empty() {
        detail.push_str("\n\nDone before it stopped:");
        for step in err.steps() {
            let _ = write!(detail, "\n- {step}");
        }
    }
    Diagnostic::error(summary, detail)
}

#[async_trait]
impl Resource<ProviderData> for GeoRepUpgradeResource {
    fn type_name(&self) -> &'static str {
        "quay_georep_upgrade"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        for issue in issues(config) {
            diags.push(diagnostic(&issue));
        }
    }

    async fn modify_plan(
        &self,
        data: Option<&ProviderData>,
        request: PlanRequest<'_>,
        diags: &mut Diagnostics,
    ) {
        if request.planned.is_null() {
            return;
        }
        // As the apply writes completed_version: `v3.15.7` is `3.15.7`.
        let target = text(request.config.get("target_version"))
            .map(|t| t.parse::<QuayVersion>().map_or(t, |v| v.to_string()));
        let prior_completed = text(request.prior.get("completed_version"));
        // Any changed argument makes Terraform call update, which runs the upgrade loop and
        // reports new steps; so does a version read back that is not the target.
        let arguments_changed = ARGUMENTS
            .iter()
            .any(|name| request.planned.get(name) != request.prior.get(name));
        let upgrade_due = request.is_create()
            || target.is_none()
            || prior_completed != target
            || arguments_changed;
        if !upgrade_due {
            return;
        }
        let Some(upgrade) = request_if_known(request.config) else {
            for name in ["id", "completed_version", "steps", "status"] {
                set(request.planned, name, Value::Unknown);
            }
            return;
        };
        set(
            request.planned,
            "id",
            Value::string(upgrade.primary().to_string()),
        );
        // What the run does is known only after it, and Terraform requires the applied value
        // of a known planned attribute to equal it. A prediction in state would not do either:
        // Terraform plans again at apply time, after the sites this depends on were updated,
        // and the prediction may differ then. So the prediction is a plan-time warning.
        set(request.planned, "completed_version", Value::Unknown);
        set(request.planned, "status", Value::Unknown);
        set(request.planned, "steps", Value::Unknown);
        if let Some(data) = data {
            let observed = observe(&data.clusters, &upgrade).await;
            let summaries: Vec<SiteObservationSummary> = upgrade
                .sites()
                .iter()
                .map(|site| match observed.sites.get(site) {
                    Some(SiteObservation::Observed(state)) => {
                        SiteObservationSummary::from_state(site.clone(), state)
                    }
                    _ => SiteObservationSummary::unknown(site.clone()),
                })
                .collect();
            let mut detail = format!(
                "Applying will upgrade every site to Quay {} in these steps:",
                upgrade.target()
            );
            for (n, step) in plan_steps(&upgrade, &summaries).iter().enumerate() {
                let _ = write!(detail, "\n{}. {step}", n + 1);
            }
            diags.warning(UPGRADE_PLANNED, detail);
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
        self.apply(data, planned, config, "create", stop, diags)
            .await
    }

    async fn read(
        &self,
        data: &ProviderData,
        state: &Value,
        _stop: &StopToken,
        _diags: &mut Diagnostics,
    ) -> Option<Value> {
        let Some(upgrade) = request_if_known(state) else {
            return Some(state.clone());
        };
        let observed = observe(&data.clusters, &upgrade).await;
        let mut new_state = state.clone();
        if let Some(version) = common_version(&observed) {
            set(&mut new_state, "completed_version", Value::string(version));
        }
        Some(new_state)
    }

    async fn update(
        &self,
        data: &ProviderData,
        _prior: &Value,
        planned: &Value,
        config: &Value,
        stop: &StopToken,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        self.apply(data, planned, config, "update", stop, diags)
            .await
    }

    async fn delete(
        &self,
        _data: &ProviderData,
        _prior: &Value,
        _stop: &StopToken,
        _diags: &mut Diagnostics,
    ) {
        // Forgetting is all: an upgrade cannot be undone (the database is migrated).
    }
}

/// The request of a configuration or state whose inputs are all known and valid.
fn request_if_known(config: &Value) -> Option<UpgradeRequest> {
    let inputs = [
        "sites",
        "primary",
        "target_version",
        "lease_duration",
        "operator",
    ];
    if inputs
        .iter()
        .any(|name| config.get(name).is_some_and(|v| !v.is_wholly_known()))
    {
        return None;
    }
    request(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(sites: Value, target: &str, operator: Value) -> Value {
        Value::object([
            ("sites", sites),
            ("primary", Value::Null),
            ("target_version", Value::string(target)),
            ("lease_duration", Value::Null),
            ("operator", operator),
            ("timeouts", Value::Null),
            ("id", Value::Null),
            ("completed_version", Value::Null),
            ("steps", Value::Null),
            ("status", Value::Null),
        ])
    }

    fn operator(method: &str) -> Value {
        Value::object([
            ("method", Value::string(method)),
            ("namespace", Value::string("openshift-operators")),
            ("name", Value::string("quay-operator")),
            ("channel", Value::Null),
            ("image", Value::Null),
        ])
    }

    fn sites(ids: &[&str]) -> Value {
        Value::List(ids.iter().map(|s| Value::string(*s)).collect())
    }

    fn paths(issues: &[Issue]) -> Vec<String> {
        issues
            .iter()
            .map(|i| super::super::convert::attribute_path(&i.path).to_string())
            .collect()
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
    fn a_valid_configuration_maps_onto_a_request_with_the_first_site_as_primary() {
        let c = config(
            sites(&["us_east/quay/registry", "eu_west/quay/registry"]),
            "3.15.7",
            operator("olm"),
        );
        assert!(issues(&c).is_empty(), "{:?}", issues(&c));
        let r = request(&c).unwrap();
        assert_eq!(r.primary().to_string(), "us_east/quay/registry");
        assert_eq!(r.target().to_string(), "3.15.7");
    }

    #[test]
    fn rejects_bad_sites_target_and_operator_with_their_paths() {
        let c = config(
            sites(&["us_east/quay/registry", "not-a-site"]),
            "9.9.9",
            operator("helm"),
        );
        let found = paths(&issues(&c));
        for expected in ["sites[1]", "target_version", "operator.method"] {
            assert!(
                found.iter().any(|p| p == expected),
                "{expected} not in {found:?}"
            );
        }
    }

    #[test]
    fn rejects_a_timeout_that_is_not_a_duration() {
        let mut c = config(
            sites(&["us_east/quay/registry"]),
            "3.15.7",
            operator("deployment"),
        );
        set(
            &mut c,
            "timeouts",
            Value::object([("create", Value::string("soon")), ("update", Value::Null)]),
        );
        assert_eq!(paths(&issues(&c)), ["timeouts.create"]);
        assert!(request(&c).is_none());
    }

    #[test]
    fn timeouts_default_to_an_hour_and_parse_durations() {
        let mut c = config(
            sites(&["us_east/quay/registry"]),
            "3.15.7",
            operator("deployment"),
        );
        assert_eq!(timeout(&c, "create"), DEFAULT_TIMEOUT);
        set(
            &mut c,
            "timeouts",
            Value::object([("create", Value::Null), ("update", Value::string("1h30m"))]),
        );
        assert_eq!(timeout(&c, "update"), Duration::from_secs(5400));
    }

    #[test]
    fn issues_about_unknown_sites_wait_for_apply() {
        let c = config(Value::Unknown, "3.15.7", operator("olm"));
        assert!(
            issues(&c)
                .iter()
                .all(|i| !i.path.to_string().starts_with("sites")),
            "{:?}",
            issues(&c)
        );
        assert!(request_if_known(&c).is_none());
    }

    #[test]
    fn completed_version_is_the_common_version_or_mixed() {
        use crate::georep::upgrade::{Observation, SiteState};
        let site = |v: &str| {
            SiteObservation::Observed(Box::new(SiteState {
                current_version: Some(v.to_owned()),
                ..SiteState::default()
            }))
        };
        let mut observed = Observation::default();
        observed
            .sites
            .insert("a/q/r".parse().unwrap(), site("3.15.7"));
        observed
            .sites
            .insert("b/q/r".parse().unwrap(), site("3.15.7"));
        assert_eq!(common_version(&observed).as_deref(), Some("3.15.7"));
        observed
            .sites
            .insert("c/q/r".parse().unwrap(), site("3.14.8"));
        assert_eq!(common_version(&observed).as_deref(), Some(MIXED));
        observed.sites.insert(
            "d/q/r".parse().unwrap(),
            SiteObservation::Unreachable {
                error: "down".into(),
            },
        );
        assert_eq!(common_version(&observed), None);
    }

    #[test]
    fn completed_version_reads_versions_as_the_target_is_written() {
        use crate::georep::upgrade::{Observation, SiteState};
        let mut observed = Observation::default();
        for (site, version) in [("a/q/r", "v3.15.7"), ("b/q/r", "3.15.7")] {
            observed.sites.insert(
                site.parse().unwrap(),
                SiteObservation::Observed(Box::new(SiteState {
                    current_version: Some(version.to_owned()),
                    ..SiteState::default()
                })),
            );
        }
        assert_eq!(common_version(&observed).as_deref(), Some("3.15.7"));
    }

    #[test]
    fn completed_version_is_in_progress_while_progress_is_recorded() {
        use crate::georep::upgrade::{Observation, SiteState};
        let mut observed = Observation::default();
        observed.sites.insert(
            "a/q/r".parse().unwrap(),
            SiteObservation::Observed(Box::new(SiteState {
                current_version: Some("3.15.7".to_owned()),
                ..SiteState::default()
            })),
        );
        observed.progress = Some(std::collections::BTreeMap::new());
        assert_eq!(common_version(&observed).as_deref(), Some(IN_PROGRESS));
    }
}

#[cfg(test)]
mod plan_tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::cluster::{ClusterSpec, Clusters, KubeconfigSource};

    #[tokio::test]
    async fn a_plan_that_upgrades_warns_with_the_predicted_steps_and_leaves_steps_unknown() {
        let missing = KubeconfigSource::Path("/nonexistent/georep/kubeconfig".into());
        let clusters = ["us_east", "eu_west"]
            .into_iter()
            .map(|key| {
                let spec = ClusterSpec {
                    kubeconfig: missing.clone(),
                    context: None,
                };
                (key.to_owned(), spec)
            })
            .collect::<BTreeMap<_, _>>();
        let data = ProviderData {
            clusters: Arc::new(Clusters::new(clusters)),
            ..ProviderData::default()
        };
        let config = tests_config();
        let mut planned = config.clone();
        let request = PlanRequest {
            prior: &Value::Null,
            config: &config,
            planned: &mut planned,
        };
        let mut diags = Diagnostics::default();
        GeoRepUpgradeResource
            .modify_plan(Some(&data), request, &mut diags)
            .await;
        // Known here, the applied steps (with their times) could never equal it.
        assert_eq!(planned.get("steps"), Some(&Value::Unknown));
        let warning = format!("{diags:?}");
        assert!(
            warning.contains(UPGRADE_PLANNED) && warning.contains("1. "),
            "{diags:?}"
        );
        assert_eq!(diags.errors().count(), 0, "{diags:?}");
    }

    #[tokio::test]
    async fn a_changed_argument_plans_new_steps_even_when_every_site_runs_the_target() {
        let config = tests_config();
        let mut prior = finished_at_3_15_7(&config);
        set(&mut prior, "lease_duration", Value::string("5m"));
        let mut planned = prior.clone();
        set(&mut planned, "lease_duration", Value::Null);
        let planned = plan_without_provider_data(&prior, &config, planned).await;
        // Update runs the loop, whose steps and status differ from the prior ones.
        assert_eq!(planned.get("steps"), Some(&Value::Unknown));
        assert_eq!(planned.get("status"), Some(&Value::Unknown));
    }

    #[tokio::test]
    async fn a_finished_upgrade_to_a_v_prefixed_target_plans_nothing() {
        let mut config = tests_config();
        set(&mut config, "target_version", Value::string("v3.15.7"));
        let prior = finished_at_3_15_7(&config);
        let planned = plan_without_provider_data(&prior, &config, prior.clone()).await;
        assert_eq!(planned, prior);
    }

    /// The state an upgrade to 3.15.7 with `config` leaves behind.
    fn finished_at_3_15_7(config: &Value) -> Value {
        let mut prior = config.clone();
        for (name, value) in [
            ("id", Value::string("us_east/quay/registry")),
            ("completed_version", Value::string("3.15.7")),
            ("steps", Value::List(vec![Value::string("earlier")])),
            ("status", Value::string("every site runs Quay 3.15.7")),
        ] {
            set(&mut prior, name, value);
        }
        prior
    }

    /// `planned` as `modify_plan` leaves it for an update from `prior` to `config`, before
    /// the provider is configured (no clusters to look at).
    async fn plan_without_provider_data(
        prior: &Value,
        config: &Value,
        mut planned: Value,
    ) -> Value {
        let request = PlanRequest {
            prior,
            config,
            planned: &mut planned,
        };
        let mut diags = Diagnostics::default();
        GeoRepUpgradeResource
            .modify_plan(None, request, &mut diags)
            .await;
        planned
    }

    fn tests_config() -> Value {
        let operator = Value::object([
            ("method", Value::string("olm")),
            ("namespace", Value::string("openshift-operators")),
            ("name", Value::string("quay-operator")),
            ("channel", Value::Null),
            ("image", Value::Null),
        ]);
        Value::object([
            (
                "sites",
                Value::List(vec![
                    Value::string("us_east/quay/registry"),
                    Value::string("eu_west/quay/registry"),
                ]),
            ),
            ("primary", Value::Null),
            ("target_version", Value::string("3.15.7")),
            ("lease_duration", Value::Null),
            ("operator", operator),
            ("timeouts", Value::Null),
            ("id", Value::Null),
            ("completed_version", Value::Null),
            ("steps", Value::Null),
            ("status", Value::Null),
        ])
    }
}
