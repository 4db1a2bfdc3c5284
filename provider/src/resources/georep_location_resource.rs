//! `resource "quay_georep_location"` and `resource "quay_georep_location_removal"`: adding a
//! storage location to the running sites, or removing one, as one resumable operation
//! (`georep/location` says why in this order). One type serves both ([`Direction`]); the
//! schemas differ in their words and in the attribute naming the Job's site.
//!
//! Create waits until every listed site serves the config that adds (or no longer has) the
//! location, then runs Quay's backfill (or removal) tool once as a Job and waits for it
//! ([`run_location`]). The plan names the steps as a warning. Read keeps the state: the
//! operation happened. A change of `sites`, `config_hash` or the Job's site is recorded
//! without running anything (later config edits change the hash and must not run the Job
//! again); a new `location` is a new operation. Delete only forgets the resource: the removal
//! cannot be undone by forgetting it, and the addition is undone by a removal.

use std::fmt::Write as _;
use std::time::Duration;

use async_trait::async_trait;

use super::convert::{diagnostic, issue_is_about_unknown, stopped_operation};
use super::model::{Field, text};
use super::provider_data::ProviderData;
use super::timeouts::{self, Operation};
use crate::cluster::within;
use crate::framework::{PlanRequest, Resource};
use crate::georep::issue::Issue;
use crate::georep::location::{Direction, LocationInput, LocationRequest, plan_steps, validate};
use crate::orchestrate::location::{LocationDone, LocationRunError, run_location};
use crate::stop::StopToken;
use crate::tfvalue::{
    Attribute, AttributePath, Block, Diagnostic, Diagnostics, Schema, Type, Value,
};

/// The resource, in one direction.
#[derive(Clone, Copy, Debug)]
pub struct GeoRepLocationResource {
    direction: Direction,
}

impl GeoRepLocationResource {
    /// `quay_georep_location`.
    pub const ADD: Self = Self {
        direction: Direction::Add,
    };
    /// `quay_georep_location_removal`.
    pub const REMOVE: Self = Self {
        direction: Direction::Remove,
    };
}

/// `timeouts.create` when not set.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_mins(30);

/// The summary of the plan-time warning listing the steps of an addition.
pub const LOCATION_PLANNED: &str = "Storage Location Addition Planned";

/// The summary of the plan-time warning listing the steps of a removal.
pub const REMOVAL_PLANNED: &str = "Storage Location Removal Planned";

/// The words of one direction: its schema's descriptions and its diagnostics' summaries.
struct Words {
    resource: &'static str,
    location: &'static str,
    sites: &'static str,
    config_hash: &'static str,
    job_site: &'static str,
    /// The computed attribute naming the Job, and its description.
    job_attribute: &'static str,
    job: &'static str,
    /// The plan warning's summary, and its words before and after the location.
    planned: &'static str,
    planned_verb: &'static str,
    planned_preposition: &'static str,
    /// The summaries of [`LocationRunError`]'s variants: stopped by the rules, a write or the
    /// Job failed, timed out, interrupted.
    stopped: &'static str,
    step_failed: &'static str,
    timed_out: &'static str,
    interrupted: &'static str,
}

fn words(direction: Direction) -> Words {
    match direction {
        Direction::Add => Words {
            resource: "adds a storage location to running geo-replicated sites the way Quay \
                 needs it: waits until every site serves the shared config that names the \
                 location, then runs Quay's backfill tool once as a Job so that blobs pushed \
                 before reach the new location; the new site depends on this resource. \
                 Resumable after a killed apply (the Job is the record). Destroying it only \
                 forgets it",
            location: "the storage location added: the storage block name in \
                 data.quay_georep_config and the new site's location; a new value is a new \
                 operation",
            sites: "ids cluster/namespace/name of the sites already running, which must serve \
                 the config with the location before the backfill, such as \
                 [quay_georep_site.us.id, quay_georep_site.ap.id]; not the new site, which \
                 depends on this resource",
            config_hash: "the hash of the shared config that names the location, \
                 data.quay_georep_config.<name>.config_hash; a later value is recorded without \
                 running anything again",
            job_site: "the site (one of sites) whose namespace runs the backfill Job, with its \
                 quay-app image and config; default the first site",
            job_attribute: "backfill_job",
            job: "the backfill Job, cluster/namespace/name: named after the location and the \
                 config hash, so a killed apply run again finds it and waits for it",
            planned: LOCATION_PLANNED,
            planned_verb: "add storage location",
            planned_preposition: "to",
            stopped: "Storage Location Not Added",
            step_failed: "Backfill Step Failed",
            timed_out: "Storage Location Addition Timed Out",
            interrupted: "Storage Location Addition Interrupted",
        },
        Direction::Remove => Words {
            resource: "removes a storage location from the shared database of running \
                 geo-replicated sites the way Quay needs it: waits until every site serves \
                 the shared config without the location (and none prefers it), then runs one \
                 Job that checks that every blob placed there has a copy in another location \
                 (else it fails with the count and deletes nothing) and runs Quay's removal \
                 tool (util.removelocation), which deletes the location's placements. The \
                 bucket is not touched. Resumable after a killed apply (the Job is the record). \
                 Destroying it only forgets it",
            location: "the storage location removed: the storage block name the shared \
                 config no longer has; a new value is a new operation",
            sites: "ids cluster/namespace/name of every site still running, which must serve \
                 the config without the location before the tool runs, such as \
                 [quay_georep_site.us.id, quay_georep_site.ap.id]; the site of the removed \
                 location must be destroyed first (in an earlier apply)",
            config_hash: "the hash of the shared config without the location, \
                 data.quay_georep_config.<name>.config_hash; a later value is recorded without \
                 running anything again",
            job_site: "the site (one of sites) whose namespace runs the removal Job, with its \
                 quay-app image and config; default the first site",
            job_attribute: "removal_job",
            job: "the removal Job, cluster/namespace/name: named after the location and the \
                 config hash, so a killed apply run again finds it and waits for it",
            planned: REMOVAL_PLANNED,
            planned_verb: "remove storage location",
            planned_preposition: "from",
            stopped: "Storage Location Not Removed",
            step_failed: "Removal Step Failed",
            timed_out: "Storage Location Removal Timed Out",
            interrupted: "Storage Location Removal Interrupted",
        },
    }
}

/// The schema of `direction`; its descriptions are the reference documentation.
pub(crate) fn schema(direction: Direction) -> Schema {
    let words = words(direction);
    Schema {
        version: 0,
        block: Block::new(words.resource)
            .attribute(Attribute::required("location", Type::String).description(words.location))
            .attribute(
                Attribute::required("sites", Type::list(Type::String)).description(words.sites),
            )
            .attribute(
                Attribute::required("config_hash", Type::String).description(words.config_hash),
            )
            .attribute(
                Attribute::optional(direction.job_site_attribute(), Type::String)
                    .description(words.job_site),
            )
            .attribute(Attribute::computed("id", Type::String).description("the location"))
            .attribute(
                Attribute::computed(words.job_attribute, Type::String).description(words.job),
            )
            .attribute(
                Attribute::computed("steps", Type::list(Type::String)).description(
                    "after apply what the operation did, each with its RFC 3339 time; unknown \
                     in the plan (the plan shows the steps as a warning)",
                ),
            )
            .block(timeouts::block(&[(Operation::Create, DEFAULT_TIMEOUT)])),
    }
}

/// The domain input of a configuration (unknown values read as unset).
fn input(direction: Direction, config: &Value) -> LocationInput {
    LocationInput {
        direction,
        location: text(config, "location"),
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
        config_hash: text(config, "config_hash"),
        job_site: text(config, direction.job_site_attribute()),
    }
}

/// Every issue of a configuration, those about unknown values left out.
fn issues(direction: Direction, config: &Value) -> Vec<Issue> {
    let mut all = validate(&input(direction, config))
        .err()
        .unwrap_or_default();
    all.extend(timeouts::issues(config));
    all.retain(|issue| !issue_is_about_unknown(config, issue));
    all
}

/// The request of a configuration whose arguments are all known and valid.
fn request_if_known(direction: Direction, config: &Value) -> Option<LocationRequest> {
    let known = [
        "location",
        "sites",
        "config_hash",
        direction.job_site_attribute(),
    ]
    .iter()
    .all(|name| config.get(name).is_none_or(Value::is_wholly_known));
    if !known || !timeouts::issues(config).is_empty() {
        return None;
    }
    validate(&input(direction, config)).ok()
}

/// `cluster/namespace/name` of the request's Job.
fn job_id(request: &LocationRequest) -> String {
    let site = request.job_site();
    format!(
        "{}/{}/{}",
        site.cluster(),
        site.namespace(),
        request.job_name()
    )
}

/// The diagnostic of a run that stopped: what, the cause chain, what to do, the steps done.
fn run_diagnostic(direction: Direction, err: &LocationRunError) -> Diagnostic {
    let words = words(direction);
    let summary = match err {
        LocationRunError::Stopped { .. } => words.stopped,
        LocationRunError::Write { .. } | LocationRunError::Job { .. } => words.step_failed,
        LocationRunError::Timeout { .. } => words.timed_out,
        LocationRunError::Interrupted { .. } => words.interrupted,
    };
    stopped_operation(summary, err, err.hint(), err.steps())
}

#[async_trait]
impl Resource<ProviderData> for GeoRepLocationResource {
    fn type_name(&self) -> &'static str {
        match self.direction {
            Direction::Add => "quay_georep_location",
            Direction::Remove => "quay_georep_location_removal",
        }
    }

    fn schema(&self) -> Schema {
        schema(self.direction)
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        for issue in issues(self.direction, config) {
            diags.push(diagnostic(&issue));
        }
    }

    fn requires_replace(&self) -> Vec<AttributePath> {
        vec![AttributePath::root().attr("location")]
    }

    async fn modify_plan(
        &self,
        _data: Option<&ProviderData>,
        request: PlanRequest<'_>,
        diags: &mut Diagnostics,
    ) {
        if request.planned.is_null() || !request.is_create() {
            return;
        }
        let words = words(self.direction);
        let job_attribute = words.job_attribute;
        let Some(location) = request_if_known(self.direction, request.config) else {
            Field::<String>::Unknown.write_into(request.planned, "id");
            Field::<String>::Unknown.write_into(request.planned, job_attribute);
            Field::<Vec<String>>::Unknown.write_into(request.planned, "steps");
            return;
        };
        Field::Known(location.location().to_owned()).write_into(request.planned, "id");
        Field::Known(job_id(&location)).write_into(request.planned, job_attribute);
        Field::<Vec<String>>::Unknown.write_into(request.planned, "steps");
        let mut detail = format!(
            "Applying will {} {} {} the running sites in these steps:",
            words.planned_verb,
            location.location(),
            words.planned_preposition
        );
        for (n, step) in plan_steps(&location).iter().enumerate() {
            let _ = write!(detail, "\n{}. {step}", n + 1);
        }
        diags.warning(words.planned, detail);
    }

    async fn create(
        &self,
        data: &ProviderData,
        planned: &Value,
        config: &Value,
        stop: &StopToken,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let Some(request) = request_if_known(self.direction, config) else {
            diags.push(Diagnostic::error(
                "Provider Bug: Validation Disagrees",
                "the configuration passed validation but is not a valid location operation; \
                 please report this",
            ));
            return None;
        };
        let deadline =
            timeouts::deadline(timeouts::get(config, Operation::Create, DEFAULT_TIMEOUT));
        let result = within(
            Some(deadline),
            stop.clone(),
            run_location(&data.clusters, &request, deadline, stop, |status| {
                tracing::info!(%status, resource = self.type_name());
            }),
        )
        .await;
        match result {
            Ok(LocationDone { steps, jobs_left }) => {
                for left in jobs_left {
                    diags.push(Diagnostic::warning(
                        "Earlier Location Jobs Left",
                        format!(
                            "this operation succeeded, but a Job of the opposite operation on \
                             this location is left, and would stand for that operation's work \
                             if it ran again with the same config: {left}"
                        ),
                    ));
                }
                let mut state = planned.clone();
                Field::Known(request.location().to_owned()).write_into(&mut state, "id");
                Field::Known(job_id(&request))
                    .write_into(&mut state, words(self.direction).job_attribute);
                Field::Known(steps.iter().map(ToString::to_string).collect::<Vec<_>>())
                    .write_into(&mut state, "steps");
                Some(state)
            }
            Err(err) => {
                diags.push(run_diagnostic(self.direction, &err));
                None
            }
        }
    }

    async fn read(
        &self,
        _data: &ProviderData,
        state: &Value,
        _stop: &StopToken,
        _diags: &mut Diagnostics,
    ) -> Option<Value> {
        Some(state.clone())
    }

    async fn update(
        &self,
        _data: &ProviderData,
        _prior: &Value,
        planned: &Value,
        _config: &Value,
        _stop: &StopToken,
        _diags: &mut Diagnostics,
    ) -> Option<Value> {
        // The operation ran at create; later arguments are recorded only (see the module doc).
        Some(planned.clone())
    }

    async fn delete(
        &self,
        _data: &ProviderData,
        _prior: &Value,
        _stop: &StopToken,
        _diags: &mut Diagnostics,
    ) {
        // Forgetting is all: an addition leaves the location in the config and the blobs in its
        // bucket; a removal has deleted rows that forgetting cannot give back.
    }
}
