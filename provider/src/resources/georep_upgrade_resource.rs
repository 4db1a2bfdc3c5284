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
use serde_json::{Value as Json, json};

use super::convert::{diagnostic, issue_is_about_unknown, stopped_operation};
use super::model::{Field, Model, text};
use super::provider_data::ProviderData;
use super::timeouts::{self, Operation, Timeouts};
use crate::cluster::within;
use crate::framework::{PlanRequest, Resource};
use crate::georep::issue::Issue;
use crate::georep::upgrade::{
    NONCE_SEPARATOR, OperatorInput, QuayVersion, SiteObservation, SiteObservationSummary,
    TargetVersion, UpgradeInput, UpgradeRequest, plan_steps, validate,
};
use crate::orchestrate::{RunError, observe, run};
use crate::stop::StopToken;
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

/// The operations the `timeouts` block bounds (delete only forgets the resource).
const OPERATIONS: [Operation; 2] = [Operation::Create, Operation::Update];

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
        ))
        .attribute(Attribute::optional("source", Type::String).description(
            "olm only: the CatalogSource to install from, such as the mirrored catalog of a disconnected \
             cluster (cs-redhat-operator-index); preflight reads the channel's head from the \
             PackageManifest of that catalog, and the upgrade sets it as the Subscription's source with \
             the channel; default the Subscription's own source; set with source_namespace",
        ))
        .attribute(Attribute::optional("source_namespace", Type::String).description(
            "olm only: the namespace of source, such as openshift-marketplace; set with source",
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
            "the Quay version every site ends at: a release such as 3.15.7, or (olm only) a minor such as 3.15 for the newest patch its channel offers when the upgrade starts; with olm the channel's head must be this version; must be an allowed upgrade from the current version",
        ))
        .attribute(Attribute::optional("lease_duration", Type::String).description(
            "how long the coordination Lease lasts without renewal, such as 90s, 10m or 1h; at least 15s, at most 24h; default 10m; the Lease is held as terraform@<host>:<working directory>[<workspace>]#<run nonce>: a killed apply run again from the same directory and workspace resumes at once, from elsewhere only once the Lease has gone unrenewed for its duration as the other run sees it",
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
        .block(timeouts::block(&OPERATIONS.map(|o| (o, DEFAULT_TIMEOUT)))),
    }
}

/// The resource's attributes: the domain input, the `timeouts` block and the results.
#[derive(Clone, Debug, Default, PartialEq)]
struct UpgradeModel {
    /// `sites`, `primary`, `target_version`, `lease_duration` and the `operator` block.
    input: UpgradeInput,
    /// The `timeouts` block (create and update).
    timeouts: Option<Timeouts>,
    /// What the resource computes.
    results: UpgradeResults,
}

/// The computed attributes.
#[derive(Clone, Debug, Default, PartialEq)]
struct UpgradeResults {
    /// `id`: the primary site id.
    id: Field<String>,
    /// `completed_version`.
    completed_version: Field<String>,
    /// `steps`.
    steps: Field<Vec<String>>,
    /// `status`.
    status: Field<String>,
}

impl UpgradeResults {
    fn read(value: &Value) -> Self {
        Self {
            id: Field::read(value.get("id")),
            completed_version: Field::read(value.get("completed_version")),
            steps: Field::read(value.get("steps")),
            status: Field::read(value.get("status")),
        }
    }

    /// Sets the results on `value`, a plan or a state, leaving its arguments as they are.
    fn write_into(&self, value: &mut Value) {
        self.id.write_into(value, "id");
        self.completed_version
            .write_into(value, "completed_version");
        self.steps.write_into(value, "steps");
        self.status.write_into(value, "status");
    }
}

impl Model for UpgradeModel {
    /// Unknown arguments read as unset; list elements not known yet are left out.
    fn read(config: &Value, _diags: &mut Diagnostics) -> Self {
        let operator = config
            .get("operator")
            .filter(|o| !o.is_null() && o.is_known())
            .map(|o| OperatorInput {
                method: text(o, "method"),
                namespace: text(o, "namespace"),
                name: text(o, "name"),
                channel: text(o, "channel"),
                image: text(o, "image"),
                source: text(o, "source"),
                source_namespace: text(o, "source_namespace"),
            });
        let input = UpgradeInput {
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
            primary: text(config, "primary"),
            target_version: text(config, "target_version"),
            operator,
            lease_duration: text(config, "lease_duration"),
        };
        Self {
            input,
            timeouts: Timeouts::read(config),
            results: UpgradeResults::read(config),
        }
    }

    fn write(&self) -> Json {
        let input = &self.input;
        let operator = input.operator.as_ref().map(|o| {
            json!({
                "method": o.method,
                "namespace": o.namespace,
                "name": o.name,
                "channel": o.channel,
                "image": o.image,
                "source": o.source,
                "source_namespace": o.source_namespace,
            })
        });
        json!({
            "sites": input.sites,
            "primary": input.primary,
            "target_version": input.target_version,
            "lease_duration": input.lease_duration,
            "operator": operator,
            "timeouts": self.timeouts.as_ref().map(|t| t.write(&OPERATIONS)),
            "id": self.results.id.to_json(),
            "completed_version": self.results.completed_version.to_json(),
            "steps": self.results.steps.to_json(),
            "status": self.results.status.to_json(),
        })
    }
}

/// The domain input of a configuration (unknown values read as unset).
fn input(config: &Value) -> UpgradeInput {
    // Nothing in this model can fail to map: every argument is a string or a list of them.
    UpgradeModel::read(config, &mut Diagnostics::default()).input
}

/// The timeout of `operation` (create or update: a destroy does not run the upgrade).
fn timeout(config: &Value, operation: Operation) -> Duration {
    timeouts::get(config, operation, DEFAULT_TIMEOUT)
}

/// Every issue of a configuration, those about unknown values left out.
pub(crate) fn issues(config: &Value) -> Vec<Issue> {
    let mut all = match validate(&input(config)) {
        Ok((_, warnings)) => warnings,
        Err(issues) => issues,
    };
    all.extend(timeouts::issues(config));
    all.retain(|issue| !issue_is_about_unknown(config, issue));
    all
}

/// The request of a valid, wholly known configuration, with this working directory's
/// Lease holder (see [`holder`]).
fn request(config: &Value) -> Option<UpgradeRequest> {
    if !timeouts::issues(config).is_empty() {
        return None;
    }
    validate(&input(config))
        .ok()
        .map(|(request, _)| request.with_holder(holder()))
}

/// The Lease holder identity of this provider process:
/// `terraform@<host>:<working directory>[<workspace>]#<nonce>`.
///
/// The part before `#` is the run's origin. Terraform starts the provider in its working
/// directory, and its state lock keeps two applies of one workspace apart, so an apply that
/// was killed and is run again from the same directory and workspace is the same origin:
/// it finds its predecessor's identity in the Lease or the progress record and resumes as
/// that holder at once (see [`UpgradeRequest::holder_to_resume`]). Another directory,
/// machine or workspace of the same directory (another state, which Terraform's lock does
/// not keep apart) is another origin and is refused while the Lease lives. The nonce, new
/// for every provider process, tells two runs apart: after a Lease write whose reply was
/// lost, a Lease bearing our identity is ours.
fn holder() -> String {
    static HOLDER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOLDER
        .get_or_init(|| {
            let host = hostname::get().map_or_else(
                |_| "unknown-host".to_owned(),
                |h| h.to_string_lossy().into_owned(),
            );
            let dir = std::env::current_dir().map_or_else(
                |_| "unknown-directory".to_owned(),
                |d| d.display().to_string(),
            );
            holder_identity(&host, &dir, &workspace(), &nonce())
        })
        .clone()
}

/// `terraform@<host>:<dir>[<workspace>]#<nonce>` (see [`holder`]).
fn holder_identity(host: &str, dir: &str, workspace: &str, nonce: &str) -> String {
    format!("terraform@{host}:{dir}[{workspace}]{NONCE_SEPARATOR}{nonce}")
}

/// The Terraform workspace of the working directory the provider runs in, as Terraform
/// itself decides it: `TF_WORKSPACE`, else the name `terraform workspace select` wrote to
/// `<data dir>/environment` (`TF_DATA_DIR`, default `.terraform`), else `default`.
fn workspace() -> String {
    if let Ok(name) = std::env::var("TF_WORKSPACE")
        && !name.trim().is_empty()
    {
        return name.trim().to_owned();
    }
    let data_dir = std::env::var_os("TF_DATA_DIR")
        .map_or_else(|| std::path::PathBuf::from(".terraform"), Into::into);
    std::fs::read_to_string(data_dir.join("environment"))
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "default".to_owned())
}

/// Eight random bytes in hex from the OS random source; the process id and time when it
/// fails (the nonce only has to differ between runs of one origin).
fn nonce() -> String {
    let mut bytes = [0u8; 8];
    match getrandom::fill(&mut bytes) {
        Ok(()) => hex::encode(bytes),
        Err(_) => format!(
            "{}-{}",
            std::process::id(),
            crate::orchestrate::clock::now().unix_seconds()
        ),
    }
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
                let text = state.registry.current_version.clone().unwrap_or_default();
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
        operation: Operation,
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
        let deadline = timeouts::deadline(timeout(config, operation));
        let result = within(
            Some(deadline),
            stop.clone(),
            run(&data.clusters, &request, deadline, stop, |status| {
                tracing::info!(%status, "quay_georep_upgrade");
            }),
        )
        .await;
        match result {
            Ok(steps) => {
                // A minor (`3.18`) resolved to the channel's head: report what the sites run.
                let target = match request.target().exact() {
                    Some(exact) => exact.to_string(),
                    None => common_version(
                        &within(None, stop.clone(), observe(&data.clusters, &request)).await,
                    )
                    .unwrap_or_else(|| request.target().to_string()),
                };
                let mut state = planned.clone();
                UpgradeResults {
                    id: Field::Known(request.primary().to_string()),
                    completed_version: Field::Known(target.clone()),
                    steps: Field::Known(steps.iter().map(ToString::to_string).collect()),
                    status: Field::Known(format!("every site runs Quay {target}")),
                }
                .write_into(&mut state);
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
    stopped_operation(summary, err, err.hint(), err.steps())
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
        // As the apply writes completed_version: `v3.15.7` is `3.15.7`; a minor (`3.18`) is
        // satisfied by any of its patches, the channel head the apply resolved.
        let target = input(request.config)
            .target_version
            .and_then(|t| t.parse::<TargetVersion>().ok());
        let prior_completed = UpgradeResults::read(request.prior)
            .completed_version
            .known()
            .cloned();
        // Any changed argument makes Terraform call update, which runs the upgrade loop and
        // reports new steps; so does a version read back that is not the target.
        let arguments_changed = ARGUMENTS
            .iter()
            .any(|name| request.planned.get(name) != request.prior.get(name));
        let upgrade_due = request.is_create()
            || !target.is_some_and(|t| {
                prior_completed
                    .as_deref()
                    .and_then(|c| c.parse::<QuayVersion>().ok())
                    .is_some_and(|c| t.accepts(c))
            })
            || arguments_changed;
        if !upgrade_due {
            return;
        }
        // What the run does is known only after it, and Terraform requires the applied value
        // of a known planned attribute to equal it. A prediction in state would not do either:
        // Terraform plans again at apply time, after the sites this depends on were updated,
        // and the prediction may differ then. So the prediction is a plan-time warning.
        let mut results = UpgradeResults {
            id: Field::Unknown,
            completed_version: Field::Unknown,
            steps: Field::Unknown,
            status: Field::Unknown,
        };
        let Some(upgrade) = request_if_known(request.config) else {
            results.write_into(request.planned);
            return;
        };
        results.id = Field::Known(upgrade.primary().to_string());
        results.write_into(request.planned);
        if let Some(data) = data {
            let operation = if request.is_create() {
                Operation::Create
            } else {
                Operation::Update
            };
            let deadline = timeouts::plan_deadline(request.config, operation, DEFAULT_TIMEOUT);
            let observed = within(
                Some(deadline),
                request.stop.clone(),
                observe(&data.clusters, &upgrade),
            )
            .await;
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
        self.apply(data, planned, config, Operation::Create, stop, diags)
            .await
    }

    async fn read(
        &self,
        data: &ProviderData,
        state: &Value,
        stop: &StopToken,
        _diags: &mut Diagnostics,
    ) -> Option<Value> {
        let Some(upgrade) = request_if_known(state) else {
            return Some(state.clone());
        };
        let observed = within(None, stop.clone(), observe(&data.clusters, &upgrade)).await;
        let mut new_state = state.clone();
        if let Some(version) = common_version(&observed) {
            let mut results = UpgradeResults::read(state);
            results.completed_version = Field::Known(version);
            results.write_into(&mut new_state);
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
        self.apply(data, planned, config, Operation::Update, stop, diags)
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
mod tests;

#[cfg(test)]
mod plan_tests;
