//! `resource "quay_georep_location"`: adding a storage location to the running sites, as one
//! resumable operation (`georep/location` says why in this order).
//!
//! Create waits until every listed site serves the config that adds the location, then runs
//! Quay's backfill once as a Job and waits for it ([`add_location`]). The plan names the steps
//! as a warning. Read keeps the state: the operation happened. A change of `sites`,
//! `config_hash` or `backfill_site` is recorded without running anything (later config edits
//! change the hash and must not backfill again); a new `location` is a new operation. Delete
//! only forgets the resource: removing a location is a config change guarded by the site's
//! `acknowledge_location_removals`.

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
use crate::georep::location::{LocationInput, LocationRequest, plan_steps, validate};
use crate::orchestrate::location::{AddLocationError, add_location};
use crate::stop::StopToken;
use crate::tfvalue::{
    Attribute, AttributePath, Block, Diagnostic, Diagnostics, Schema, Type, Value,
};

/// The resource.
#[derive(Clone, Copy, Debug, Default)]
pub struct GeoRepLocationResource;

/// `timeouts.create` when not set.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_mins(30);

/// The summary of the plan-time warning listing the steps.
pub const LOCATION_PLANNED: &str = "Storage Location Addition Planned";

/// The schema; its descriptions are the reference documentation.
pub(crate) fn schema() -> Schema {
    Schema {
        version: 0,
        block: Block::new(
            "adds a storage location to running geo-replicated sites the way Quay needs it: waits \
             until every site serves the shared config that names the location, then runs Quay's \
             backfill tool once as a Job so that blobs pushed before reach the new location; the \
             new site depends on this resource. Resumable after a killed apply (the Job is the \
             record). Destroying it only forgets it",
        )
        .attribute(Attribute::required("location", Type::String).description(
            "the storage location added: the storage block name in data.quay_georep_config \
             and the new site's location; a new value is a new operation",
        ))
        .attribute(
            Attribute::required("sites", Type::list(Type::String)).description(
                "ids cluster/namespace/name of the sites already running, which must serve the \
             config with the location before the backfill, such as [quay_georep_site.us.id, \
             quay_georep_site.ap.id]; not the new site, which depends on this resource",
            ),
        )
        .attribute(
            Attribute::required("config_hash", Type::String).description(
                "the hash of the shared config that names the location, \
             data.quay_georep_config.<name>.config_hash; a later value is recorded without \
             running anything again",
            ),
        )
        .attribute(
            Attribute::optional("backfill_site", Type::String).description(
                "the site (one of sites) whose namespace runs the backfill Job, with its quay-app \
             image and config; default the first site",
            ),
        )
        .attribute(Attribute::computed("id", Type::String).description("the location"))
        .attribute(
            Attribute::computed("backfill_job", Type::String).description(
                "the backfill Job, cluster/namespace/name: named after the location and the \
             config hash, so a killed apply run again finds it and waits for it",
            ),
        )
        .attribute(
            Attribute::computed("steps", Type::list(Type::String)).description(
                "after apply what the operation did, each with its RFC 3339 time; unknown in the \
             plan (the plan shows the steps as a warning)",
            ),
        )
        .block(timeouts::block(&[(Operation::Create, DEFAULT_TIMEOUT)])),
    }
}

/// The domain input of a configuration (unknown values read as unset).
fn input(config: &Value) -> LocationInput {
    LocationInput {
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
        backfill_site: text(config, "backfill_site"),
    }
}

/// Every issue of a configuration, those about unknown values left out.
fn issues(config: &Value) -> Vec<Issue> {
    let mut all = validate(&input(config)).err().unwrap_or_default();
    all.extend(timeouts::issues(config));
    all.retain(|issue| !issue_is_about_unknown(config, issue));
    all
}

/// The request of a configuration whose arguments are all known and valid.
fn request_if_known(config: &Value) -> Option<LocationRequest> {
    let known = ["location", "sites", "config_hash", "backfill_site"]
        .iter()
        .all(|name| config.get(name).is_none_or(Value::is_wholly_known));
    if !known || !timeouts::issues(config).is_empty() {
        return None;
    }
    validate(&input(config)).ok()
}

/// `cluster/namespace/name` of the request's Job.
fn job_id(request: &LocationRequest) -> String {
    let site = request.backfill_site();
    format!(
        "{}/{}/{}",
        site.cluster(),
        site.namespace(),
        request.job_name()
    )
}

/// The diagnostic of a run that stopped: what, the cause chain, what to do, the steps done.
fn run_diagnostic(err: &AddLocationError) -> Diagnostic {
    let summary = match err {
        AddLocationError::Stopped { .. } => "Storage Location Not Added",
        AddLocationError::Write { .. } | AddLocationError::Job { .. } => "Backfill Step Failed",
        AddLocationError::Timeout { .. } => "Storage Location Addition Timed Out",
        AddLocationError::Interrupted { .. } => "Storage Location Addition Interrupted",
    };
    stopped_operation(summary, err, err.hint(), err.steps())
}

#[async_trait]
impl Resource<ProviderData> for GeoRepLocationResource {
    fn type_name(&self) -> &'static str {
        "quay_georep_location"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        for issue in issues(config) {
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
        let Some(location) = request_if_known(request.config) else {
            Field::<String>::Unknown.write_into(request.planned, "id");
            Field::<String>::Unknown.write_into(request.planned, "backfill_job");
            Field::<Vec<String>>::Unknown.write_into(request.planned, "steps");
            return;
        };
        Field::Known(location.location().to_owned()).write_into(request.planned, "id");
        Field::Known(job_id(&location)).write_into(request.planned, "backfill_job");
        Field::<Vec<String>>::Unknown.write_into(request.planned, "steps");
        let mut detail = format!(
            "Applying will add storage location {} to the running sites in these steps:",
            location.location()
        );
        for (n, step) in plan_steps(&location).iter().enumerate() {
            let _ = write!(detail, "\n{}. {step}", n + 1);
        }
        diags.warning(LOCATION_PLANNED, detail);
    }

    async fn create(
        &self,
        data: &ProviderData,
        planned: &Value,
        config: &Value,
        stop: &StopToken,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let Some(request) = request_if_known(config) else {
            diags.push(Diagnostic::error(
                "Provider Bug: Validation Disagrees",
                "the configuration passed validation but is not a valid location addition; \
                 please report this",
            ));
            return None;
        };
        let deadline =
            timeouts::deadline(timeouts::get(config, Operation::Create, DEFAULT_TIMEOUT));
        let result = within(
            Some(deadline),
            stop.clone(),
            add_location(&data.clusters, &request, deadline, stop, |status| {
                tracing::info!(%status, "quay_georep_location");
            }),
        )
        .await;
        match result {
            Ok(steps) => {
                let mut state = planned.clone();
                Field::Known(request.location().to_owned()).write_into(&mut state, "id");
                Field::Known(job_id(&request)).write_into(&mut state, "backfill_job");
                Field::Known(steps.iter().map(ToString::to_string).collect::<Vec<_>>())
                    .write_into(&mut state, "steps");
                Some(state)
            }
            Err(err) => {
                diags.push(run_diagnostic(&err));
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
        // Forgetting is all: the location stays in the config, the blobs in its bucket.
    }
}
