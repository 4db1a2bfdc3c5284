//! One round of the operation: an [`Observation`] of the sites and the Job in, the [`Next`]
//! thing to do out. Adding and removing differ only in what each site's config must say
//! ([`config_issue`]); the waits and the Job's handling are the same.

use std::collections::{BTreeMap, BTreeSet};

use super::job::{BACKFILL_MODULE, REMOVAL_MODULE};
use super::request::{Direction, LocationRequest};
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
    /// The location pushes through the site write to: the first of the quay component's
    /// `QUAY_DISTRIBUTED_STORAGE_PREFERENCE`, else of the config's
    /// `DISTRIBUTED_STORAGE_PREFERENCE`; `None` when neither is set.
    pub preference: Option<String>,
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
    /// The first location of `DISTRIBUTED_STORAGE_PREFERENCE`.
    pub preference: Option<String>,
}

impl ConfigStorage {
    /// Reads a `config.yaml`; `None` when it does not parse as a mapping.
    #[must_use]
    pub fn of(config_yaml: &str) -> Option<Self> {
        let config = crate::georep::yaml::top_level(config_yaml)?;
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
        let preference = config
            .get("DISTRIBUTED_STORAGE_PREFERENCE")
            .and_then(serde_json::Value::as_array)
            .and_then(|l| l.first())
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
        Some(Self {
            locations,
            default_locations,
            replication,
            preference,
        })
    }
}

/// One round of reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observation {
    /// Every requested site.
    pub sites: BTreeMap<SiteId, SiteView>,
    /// The Job on the Job site, if it exists.
    pub job: Option<JobState>,
}

/// What to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// A site does not serve the config yet, or has not converged: read again after a
    /// pause. Why, for the progress line.
    WaitForSites(String),
    /// The Job is running.
    WaitForJob(String),
    /// Create the Job.
    StartJob,
    /// Delete the failed Job left by an earlier apply, then start again.
    RestartJob,
    /// Every site serves the config and the Job has run.
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
    /// Replication is off, so the tool would do nothing (backfill) or refuse (removal).
    #[error(
        "site {site} serves a config with FEATURE_STORAGE_REPLICATION off: {why}; turn \
         replication on in the shared config"
    )]
    ReplicationOff {
        /// The site.
        site: SiteId,
        /// What the tool does then.
        why: &'static str,
    },
    /// Removing: a site serves the requested config, and the config still names the location.
    #[error(
        "site {site} serves config {hash}, which still has storage location {location}: remove \
         storage \"{location}\" from data.quay_georep_config and pass that data source's \
         config_hash; Quay's removal tool must run only once no site can write there"
    )]
    ConfigStillNamesLocation {
        /// The site.
        site: SiteId,
        /// Its config hash.
        hash: String,
        /// The location.
        location: String,
    },
    /// Removing: a site's pushes still go to the location.
    #[error(
        "site {site} prefers storage location {location} (its pushes are written there): a \
         site's own location cannot be removed; destroy that site, or give it another \
         location, first"
    )]
    SitePrefersLocation {
        /// The site.
        site: SiteId,
        /// The location.
        location: String,
    },
    /// The operator reports a site failed.
    #[error("site {site} cannot converge: {reason}")]
    SiteFailed {
        /// The site.
        site: SiteId,
        /// What the operator said.
        reason: String,
    },
    /// The Job failed in this apply.
    #[error("the {tool} Job {job} on site {site} failed: {message}")]
    JobFailed {
        /// `backfill` or `removal`.
        tool: &'static str,
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
            | Self::ReplicationOff { .. }
            | Self::ConfigStillNamesLocation { .. } => {
                "Fix the shared configuration and apply again"
            }
            Self::SitePrefersLocation { .. } => {
                "Destroy the site of that location (or move it to another location) in an \
                 earlier apply, then apply the removal again"
            }
            Self::SiteFailed { .. } => {
                "Fix the site (see its QuayRegistry's conditions) and apply again: the operation \
                 resumes where it stopped"
            }
            Self::JobFailed { .. } => {
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
        if let Some(error) = config_issue(request, site, facts) {
            return Next::Fail(error);
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
        None => Next::StartJob,
        Some(JobState::Active) => Next::WaitForJob(format!(
            "the {} Job {} on site {} is running",
            request.direction().tool(),
            request.job_name(),
            request.job_site()
        )),
        Some(JobState::Succeeded) => Next::Done,
        Some(JobState::Failed { .. }) if !started_here => Next::RestartJob,
        Some(JobState::Failed { message }) => Next::Fail(LocationError::JobFailed {
            tool: request.direction().tool(),
            job: request.job_name(),
            site: request.job_site().clone(),
            message: message.clone(),
        }),
    }
}

/// What is wrong with the config `site` serves (the requested one) for this request.
fn config_issue(
    request: &LocationRequest,
    site: &SiteId,
    facts: &SiteFacts,
) -> Option<LocationError> {
    let location = request.location();
    let hash = || request.config_hash().to_owned();
    let storage = &facts.storage;
    match request.direction() {
        Direction::Add if !storage.locations.contains(location) => {
            Some(LocationError::ConfigLacksLocation {
                site: site.clone(),
                hash: hash(),
                location: location.to_owned(),
                locations: storage.locations.clone(),
            })
        }
        Direction::Add if !storage.default_locations.contains(location) => {
            Some(LocationError::NotADefaultLocation {
                site: site.clone(),
                hash: hash(),
                location: location.to_owned(),
            })
        }
        Direction::Add if !storage.replication => Some(LocationError::ReplicationOff {
            site: site.clone(),
            why: "Quay's backfill tool does nothing then, and no blob would reach the new \
                  location",
        }),
        Direction::Remove if storage.locations.contains(location) => {
            Some(LocationError::ConfigStillNamesLocation {
                site: site.clone(),
                hash: hash(),
                location: location.to_owned(),
            })
        }
        Direction::Remove if !storage.replication => Some(LocationError::ReplicationOff {
            site: site.clone(),
            why: "Quay's removal tool exits without removing anything then (quay/quay \
                  util/removelocation.py)",
        }),
        Direction::Remove if facts.preference.as_deref() == Some(location) => {
            Some(LocationError::SitePrefersLocation {
                site: site.clone(),
                location: location.to_owned(),
            })
        }
        Direction::Add | Direction::Remove => None,
    }
}

/// The steps an apply takes, for the plan.
#[must_use]
pub fn plan_steps(request: &LocationRequest) -> Vec<String> {
    let sites: Vec<String> = request.sites().iter().map(ToString::to_string).collect();
    let site = request.job_site();
    let location = request.location();
    match request.direction() {
        Direction::Add => vec![
            format!(
                "wait until every site ({}) serves config {} with storage location {location}, \
                 converged and rolled out",
                sites.join(", "),
                short(request.config_hash()),
            ),
            format!(
                "run Quay's backfill tool (python -m {BACKFILL_MODULE}) once as Job {} in \
                 namespace {} of cluster {}, with the quay-app pod's image and config, and wait \
                 for it: it queues every blob missing from {location}, and the sites' \
                 replication workers copy them",
                request.job_name(),
                site.namespace(),
                site.cluster(),
            ),
            "then Terraform applies what depends on this resource, such as the site whose \
             location this is"
                .to_owned(),
        ],
        Direction::Remove => vec![
            format!(
                "wait until every site ({}) serves config {} without storage location \
                 {location}, converged and rolled out, and none prefers it",
                sites.join(", "),
                short(request.config_hash()),
            ),
            format!(
                "run once as Job {} in namespace {} of cluster {}, with the quay-app pod's image \
                 and config and pushes off for that process only: a check that every blob \
                 placed in {location} has a placement elsewhere (if not, the Job fails with the \
                 count and nothing is deleted), then Quay's removal tool (python -m \
                 {REMOVAL_MODULE} {location}), which deletes the location's placements and its \
                 row from the shared database",
                request.job_name(),
                site.namespace(),
                site.cluster(),
            ),
            format!(
                "the bucket of {location} is left as it is: empty or delete it yourself once \
                 the removal has run"
            ),
        ],
    }
}
