//! One round of the operation: an [`Observation`] of the sites and the backfill Job in, the
//! [`Next`] thing to do out.

use std::collections::{BTreeMap, BTreeSet};

use super::job::BACKFILL_MODULE;
use super::request::LocationRequest;
use crate::georep::site::Convergence;
use crate::georep::upgrade::{JobState, SiteId};

/// What one site showed this round.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SiteView {
    /// The cluster or the `QuayRegistry` could not be read: why.
    Unreachable(String),
    /// Read.
    Observed(SiteFacts),
}

/// The facts of a site that was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteFacts {
    /// `sha256:<hex>` of the bundle Secret's `config.yaml`; `None` without one.
    pub config_hash: Option<String>,
    /// What that config says about storage.
    pub storage: ConfigStorage,
    /// The operator's report on the `QuayRegistry`.
    pub convergence: Convergence,
    /// The first Deployment of the site still rolling out, described.
    pub unfinished_rollout: Option<String>,
}

/// What a `config.yaml` says about storage.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigStorage {
    /// The `DISTRIBUTED_STORAGE_CONFIG` locations.
    pub locations: BTreeSet<String>,
    /// `DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS`: where the backfill and the replication
    /// workers copy every blob (quay/quay `util/backfillreplication.py`).
    pub default_locations: BTreeSet<String>,
    /// Whether `FEATURE_STORAGE_REPLICATION` is on.
    pub replication: bool,
}

impl ConfigStorage {
    /// Reads a `config.yaml`; `None` when it does not parse as a mapping.
    #[must_use]
    pub fn of(config_yaml: &str) -> Option<Self> {
        let config: serde_json::Value = serde_saphyr::from_str(config_yaml).ok()?;
        let config = config.as_object()?;
        let locations = config
            .get("DISTRIBUTED_STORAGE_CONFIG")
            .and_then(serde_json::Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        let default_locations = config
            .get("DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|l| l.as_str().map(str::to_owned))
            .collect();
        let replication = config.get("FEATURE_STORAGE_REPLICATION") == Some(&true.into());
        Some(Self {
            locations,
            default_locations,
            replication,
        })
    }
}

/// One round of reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observation {
    /// Every requested site.
    pub sites: BTreeMap<SiteId, SiteView>,
    /// The backfill Job on the backfill site, if it exists.
    pub job: Option<JobState>,
}

/// What to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// A site does not serve the config yet, or has not converged: read again after a
    /// pause. Why, for the progress line.
    WaitForSites(String),
    /// The backfill Job is running.
    WaitForBackfill(String),
    /// Create the backfill Job.
    StartBackfill,
    /// Delete the failed Job left by an earlier apply, then start again.
    RestartBackfill,
    /// The location is in every site's config and the backfill has run.
    Done,
    /// Stop: waiting cannot help.
    Fail(LocationError),
}

/// Why the operation stopped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LocationError {
    /// A site serves the requested config, and the config does not name the location.
    #[error(
        "site {site} serves config {hash}, which has no storage location {location} (it has {}): \
         add storage \"{location}\" to data.quay_georep_config and pass that data source's \
         config_hash",
        list(.locations)
    )]
    ConfigLacksLocation {
        /// The site.
        site: SiteId,
        /// Its config hash.
        hash: String,
        /// The location.
        location: String,
        /// The locations it has.
        locations: BTreeSet<String>,
    },
    /// The location is not a default location, so nothing is copied there.
    #[error(
        "site {site} serves config {hash}, whose default_locations do not include {location}: \
         Quay's backfill and replication workers copy blobs only to the default locations, so \
         none would reach it; add \"{location}\" to default_locations in \
         data.quay_georep_config"
    )]
    NotADefaultLocation {
        /// The site.
        site: SiteId,
        /// Its config hash.
        hash: String,
        /// The location.
        location: String,
    },
    /// Replication is off, so the backfill would do nothing.
    #[error(
        "site {site} serves a config with FEATURE_STORAGE_REPLICATION off: Quay's backfill \
         tool does nothing then, and no blob would reach the new location; turn replication \
         on in the shared config"
    )]
    ReplicationOff {
        /// The site.
        site: SiteId,
    },
    /// The operator reports a site failed.
    #[error("site {site} cannot converge: {reason}")]
    SiteFailed {
        /// The site.
        site: SiteId,
        /// What the operator said.
        reason: String,
    },
    /// The backfill Job failed in this apply.
    #[error("the backfill Job {job} on site {site} failed: {message}")]
    BackfillFailed {
        /// The Job.
        job: String,
        /// The site.
        site: SiteId,
        /// What the Job and its pod said.
        message: String,
    },
}

impl LocationError {
    /// What the user can do about it.
    #[must_use]
    pub fn hint(&self) -> &'static str {
        match self {
            Self::ConfigLacksLocation { .. }
            | Self::NotADefaultLocation { .. }
            | Self::ReplicationOff { .. } => "Fix the shared configuration and apply again",
            Self::SiteFailed { .. } => {
                "Fix the site (see its QuayRegistry's conditions) and apply again: the operation \
                 resumes where it stopped"
            }
            Self::BackfillFailed { .. } => {
                "Read the Job's pod log, fix the cause and apply again: the failed Job is \
                 replaced by a new one"
            }
        }
    }
}

fn list(items: &BTreeSet<String>) -> String {
    if items.is_empty() {
        return "none".to_owned();
    }
    items.iter().cloned().collect::<Vec<_>>().join(", ")
}

fn short(hash: &str) -> &str {
    hash.get(..19).unwrap_or(hash)
}

/// The next thing to do, given `observation`; `started_here`: whether this apply created the
/// Job or saw it running (a failure then is this apply's and stops it; a Job found failed
/// before is retried).
#[must_use]
pub fn step(request: &LocationRequest, observation: &Observation, started_here: bool) -> Next {
    for site in request.sites() {
        let facts = match observation.sites.get(site) {
            Some(SiteView::Observed(facts)) => facts,
            Some(SiteView::Unreachable(why)) => {
                return Next::WaitForSites(format!("site {site} cannot be read: {why}"));
            }
            None => return Next::WaitForSites(format!("site {site} not read yet")),
        };
        if facts.config_hash.as_deref() != Some(request.config_hash()) {
            return Next::WaitForSites(format!(
                "site {site} serves config {}, waiting for {}",
                facts.config_hash.as_deref().map_or("none", short),
                short(request.config_hash())
            ));
        }
        if !facts.storage.locations.contains(request.location()) {
            return Next::Fail(LocationError::ConfigLacksLocation {
                site: site.clone(),
                hash: request.config_hash().to_owned(),
                location: request.location().to_owned(),
                locations: facts.storage.locations.clone(),
            });
        }
        if !facts.storage.default_locations.contains(request.location()) {
            return Next::Fail(LocationError::NotADefaultLocation {
                site: site.clone(),
                hash: request.config_hash().to_owned(),
                location: request.location().to_owned(),
            });
        }
        if !facts.storage.replication {
            return Next::Fail(LocationError::ReplicationOff { site: site.clone() });
        }
        match &facts.convergence {
            Convergence::Converged => {}
            Convergence::Pending(why) => {
                return Next::WaitForSites(format!("site {site} is not converged: {why}"));
            }
            Convergence::Failed(reason) => {
                return Next::Fail(LocationError::SiteFailed {
                    site: site.clone(),
                    reason: reason.clone(),
                });
            }
        }
        if let Some(rollout) = &facts.unfinished_rollout {
            return Next::WaitForSites(format!("site {site}: {rollout}"));
        }
    }
    match &observation.job {
        None => Next::StartBackfill,
        Some(JobState::Active) => Next::WaitForBackfill(format!(
            "the backfill Job {} on site {} is running",
            request.job_name(),
            request.backfill_site()
        )),
        Some(JobState::Succeeded) => Next::Done,
        Some(JobState::Failed { .. }) if !started_here => Next::RestartBackfill,
        Some(JobState::Failed { message }) => Next::Fail(LocationError::BackfillFailed {
            job: request.job_name(),
            site: request.backfill_site().clone(),
            message: message.clone(),
        }),
    }
}

/// The steps an apply takes, for the plan.
#[must_use]
pub fn plan_steps(request: &LocationRequest) -> Vec<String> {
    let sites: Vec<String> = request.sites().iter().map(ToString::to_string).collect();
    vec![
        format!(
            "wait until every site ({}) serves config {} with storage location {}, converged \
             and rolled out",
            sites.join(", "),
            short(request.config_hash()),
            request.location()
        ),
        format!(
            "run Quay's backfill tool (python -m {BACKFILL_MODULE}) once as Job {} in namespace \
             {} of cluster {}, with the quay-app pod's image and config, and wait for it: it \
             queues every blob missing from {}, and the sites' replication workers copy them",
            request.job_name(),
            request.backfill_site().namespace(),
            request.backfill_site().cluster(),
            request.location()
        ),
        "then Terraform applies what depends on this resource, such as the site whose \
         location this is"
            .to_owned(),
    ]
}
