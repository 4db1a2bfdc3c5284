//! The I/O of `quay_georep_location` and `quay_georep_location_removal`: [`observe_location`]
//! reads every site and the Job into an [`Observation`], and [`run_location`] loops observe →
//! [`step`] → act → pause until done, a failure, the deadline or Terraform's stop.
//!
//! It decides nothing itself: the rules are in `georep/location`. Reads never fail a round (an
//! unreadable site is data, and the round waits); a write the cluster refuses with a
//! retryable status ends the round, anything else stops the run.

use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;
use tokio::time::Instant;
use tracing::{info, warn};

use super::clock;
use super::observe::{CutShort, REGISTRY_LABEL, config_hash, job_observation, read_registry};
use super::run::StepRecord;
use crate::cluster::{Cluster, Clusters, Error as ClusterError, Kind};
use crate::georep::errors;
use crate::georep::location::job::{JobError, location_job, quay_app_deployment};
use crate::georep::location::{
    ConfigStorage, Direction, JOB_LOCATION_LABEL, LocationError, LocationRequest, Next,
    Observation, SiteFacts, SiteView, step,
};
use crate::georep::site::{
    JobPhase, MANAGED_BY, MANAGED_BY_LABEL, MigrationJob, RegistryStatus, Rollout,
    failing_pod_message,
};
use crate::georep::upgrade::{JobState, SiteId};
use crate::stop::StopToken;

/// The label holding a Job's uid on its pods: the API server adds it to the pod template and
/// the selector of a Job without a manual selector (kubernetes
/// `pkg/registry/batch/job/strategy.go`, `generateSelector`; `batch.kubernetes.io/controller-uid`
/// beside it since 1.27).
pub const CONTROLLER_UID_LABEL: &str = "controller-uid";

/// The pause between two rounds.
pub const PAUSE: Duration = Duration::from_millis(500);

/// Why a run stopped before the location was added or removed. Every variant carries the
/// steps done.
#[derive(Debug, thiserror::Error)]
pub enum LocationRunError {
    /// The rules stopped it.
    #[error("the storage location operation stopped")]
    Stopped {
        /// Why.
        #[source]
        source: Box<LocationError>,
        /// Steps done before.
        steps: Vec<StepRecord>,
    },
    /// A write failed in a way another round cannot fix.
    #[error("could not {action}")]
    Write {
        /// The write, in words.
        action: String,
        /// Why.
        #[source]
        source: Box<ClusterError>,
        /// Steps done before.
        steps: Vec<StepRecord>,
    },
    /// The Job could not be made from the site's quay-app Deployment.
    #[error("could not make the Job")]
    Job {
        /// Why.
        #[source]
        source: JobError,
        /// Steps done before.
        steps: Vec<StepRecord>,
    },
    /// The deadline passed.
    #[error("timed out after {}s; last status: {status}", waited.as_secs())]
    Timeout {
        /// How long it ran.
        waited: Duration,
        /// The last status.
        status: String,
        /// Steps done before.
        steps: Vec<StepRecord>,
    },
    /// Terraform asked the provider to stop.
    #[error("interrupted; last status: {status}")]
    Interrupted {
        /// The last status.
        status: String,
        /// Steps done before.
        steps: Vec<StepRecord>,
    },
}

impl LocationRunError {
    /// The steps done before the run stopped.
    #[must_use]
    pub fn steps(&self) -> &[StepRecord] {
        match self {
            Self::Stopped { steps, .. }
            | Self::Write { steps, .. }
            | Self::Job { steps, .. }
            | Self::Timeout { steps, .. }
            | Self::Interrupted { steps, .. } => steps,
        }
    }

    /// What to do about it, in one sentence.
    #[must_use]
    pub fn hint(&self) -> &'static str {
        match self {
            Self::Stopped { source, .. } => source.hint(),
            Self::Write { .. } | Self::Job { .. } => {
                "Fix the cause named above and apply again: the operation resumes where it stopped"
            }
            Self::Timeout { .. } => {
                "Look at the status above, raise timeouts.create if it was only slow, and apply \
                 again: a Job already started is waited for, not started twice"
            }
            Self::Interrupted { .. } => {
                "Apply again: a Job already started is waited for, not started twice"
            }
        }
    }
}

/// Reads every site of `request` and the Job. Never fails: what cannot be read is
/// reported in the observation.
pub async fn observe_location(clusters: &Clusters, request: &LocationRequest) -> Observation {
    observe_round(clusters, request).await.0
}

/// [`observe_location`], ending at the first read the deadline or the stop cuts short (its
/// site then reported unreachable with that error), and saying which.
async fn observe_round(
    clusters: &Clusters,
    request: &LocationRequest,
) -> (Observation, Option<CutShort>) {
    let mut observation = Observation::default();
    for site in request.sites() {
        let read = match clusters.get(site.cluster()).await {
            Ok(cluster) => read_site(&cluster, site).await,
            Err(e) => Err(e),
        };
        let (view, cut) = match read {
            Ok(facts) => (SiteView::Observed(facts), None),
            Err(e) => (SiteView::Unreachable(errors::chain(&e)), CutShort::of(&e)),
        };
        observation.sites.insert(site.clone(), view);
        if cut.is_some() {
            return (observation, cut);
        }
    }
    let site = request.job_site();
    let job = match clusters.get(site.cluster()).await {
        Ok(cluster) => read_job(&cluster, site, &request.job_name()).await,
        Err(e) => Err(e),
    };
    match job {
        Ok(job) => observation.job = job,
        Err(e) => {
            observation
                .sites
                .insert(site.clone(), SiteView::Unreachable(errors::chain(&e)));
            return (observation, CutShort::of(&e));
        }
    }
    (observation, None)
}

/// The `QuayRegistry`'s status and rollouts, and its bundle's config.
async fn read_site(cluster: &Cluster, site: &SiteId) -> Result<SiteFacts, ClusterError> {
    let ns = Some(site.namespace());
    let registry = read_registry(cluster, site).await?;
    let secret = match registry["spec"]["configBundleSecret"].as_str() {
        Some(name) => cluster.get(&Kind::SECRET, ns, name).await?,
        None => None,
    };
    let yaml = secret.as_ref().and_then(|s| {
        let encoded = s["data"]["config.yaml"].as_str()?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()?;
        String::from_utf8(bytes).ok()
    });
    let storage = yaml
        .as_deref()
        .and_then(ConfigStorage::of)
        .unwrap_or_default();
    let unfinished_rollout = cluster
        .list(
            &Kind::DEPLOYMENT,
            ns,
            &format!("{REGISTRY_LABEL}={}", site.name()),
        )
        .await?
        .iter()
        .map(Rollout::read)
        .find_map(|rollout| rollout.unfinished(None));
    let status = RegistryStatus::read(&registry);
    // The site's own override first, as Quay reads the variable before the config's key.
    let preference = status
        .storage_preference()
        .into_iter()
        .next()
        .or_else(|| storage.preference.clone());
    Ok(SiteFacts {
        config_hash: secret.as_ref().and_then(config_hash),
        storage,
        convergence: status.convergence(),
        unfinished_rollout,
        preference,
    })
}

/// The Job's state, with its failing pod's message when it failed.
async fn read_job(
    cluster: &Cluster,
    site: &SiteId,
    name: &str,
) -> Result<Option<JobState>, ClusterError> {
    let ns = Some(site.namespace());
    let Some(job) = cluster.get(&Kind::JOB, ns, name).await? else {
        return Ok(None);
    };
    // A Job being deleted (the failed one a retry replaces) is as good as gone: the next
    // create conflicts until it is, and its state is not this run's.
    if !job["metadata"]["deletionTimestamp"].is_null() {
        return Ok(None);
    }
    // This Job's pods only, not those of a deleted Job of the same name still being
    // collected: they carry the Job's uid.
    let uid = job["metadata"]["uid"].as_str().unwrap_or_default();
    let pods = cluster
        .list(&Kind::POD, ns, &format!("{CONTROLLER_UID_LABEL}={uid}"))
        .await?;
    Ok(Some(match job_observation(&job, &[], None).state {
        JobState::Failed { message } => JobState::Failed {
            message: match failing_pod_message(&pods) {
                Some(pod) if !message.contains(&pod) => format!("{message}; its pod said: {pod}"),
                _ => message,
            },
        },
        state => state,
    }))
}

/// What a location operation that succeeded did.
#[derive(Debug)]
pub struct LocationDone {
    /// Each step, in order.
    pub steps: Vec<StepRecord>,
    /// The opposite operation's Jobs that are left, each a sentence saying where and what to
    /// do (also among the steps); the resource repeats them as warnings.
    pub jobs_left: Vec<String>,
}

/// Adds or removes the location: waits for the sites, runs the Job once, waits for it;
/// returns what it did. `on_status` hears each round's status.
///
/// # Errors
/// [`LocationRunError`], carrying the steps done so far.
///
/// # Cancel safety
/// The Job on the cluster is the record: a later run finds it and waits for it.
pub async fn run_location(
    clusters: &Clusters,
    request: &LocationRequest,
    deadline: Instant,
    stop: &StopToken,
    mut on_status: impl FnMut(&str) + Send,
) -> Result<LocationDone, LocationRunError> {
    let started = Instant::now();
    let mut steps: Vec<StepRecord> = Vec::new();
    let mut status = "starting".to_owned();
    // Whether this run saw the Job running (or made it): a failure then is this run's.
    let mut watched_job = false;
    // Whether the opposite operation's Jobs were tried (see `forget_opposite_jobs`), and what
    // that left (tried once more when this operation is done).
    let mut forgotten = false;
    let mut jobs_left: Vec<String> = Vec::new();
    let job = request.job_name();
    let site = request.job_site();
    let tool = request.direction().tool();
    let (with, then) = match request.direction() {
        Direction::Add => (
            "with",
            "the blobs missing from it are queued for Quay's replication workers",
        ),
        Direction::Remove => (
            "without",
            "its placements and its row are gone from the shared database",
        ),
    };
    loop {
        if stop.is_stopped() {
            return Err(LocationRunError::Interrupted { status, steps });
        }
        if Instant::now() >= deadline {
            return Err(LocationRunError::Timeout {
                waited: started.elapsed(),
                status,
                steps,
            });
        }
        let (observation, cut) = observe_round(clusters, request).await;
        if let Some(cut) = cut {
            let status = cut.after(&status);
            return Err(if stop.is_stopped() {
                LocationRunError::Interrupted { status, steps }
            } else {
                LocationRunError::Timeout {
                    waited: started.elapsed(),
                    status,
                    steps,
                }
            });
        }
        watched_job |= matches!(
            observation.job,
            Some(JobState::Active | JobState::Succeeded)
        );
        let next = step(request, &observation, watched_job);
        if !matches!(next, Next::WaitForSites(_) | Next::Fail(_)) && steps.is_empty() {
            steps.push(record(format!(
                "every site serves config {} {with} storage location {}",
                request.config_hash(),
                request.location()
            )));
        }
        // From the moment every site serves this config, the opposite operation's work no
        // longer stands; its Jobs go then, even if this operation fails later (the guide's
        // recovery re-runs the opposite one, which must not find its old Job).
        if !matches!(next, Next::WaitForSites(_) | Next::Fail(_)) && !forgotten {
            let (records, left) = forget_opposite_jobs(clusters, request).await;
            steps.extend(records);
            (forgotten, jobs_left) = (true, left);
        }
        match next {
            Next::WaitForSites(why) | Next::WaitForJob(why) => {
                if why != status {
                    on_status(&why);
                    status = why;
                }
            }
            Next::StartJob => {
                let cluster = clusters
                    .get(site.cluster())
                    .await
                    .map_err(|source| write_error("connect", source));
                let created = match cluster {
                    Ok(cluster) => create_job(&cluster, request).await,
                    Err(e) => Err(e),
                };
                match created {
                    Ok(true) => {
                        watched_job = true;
                        let what = format!("started the {tool} Job {job} on site {site}");
                        info!(%what, "storage location operation");
                        steps.push(record(what));
                    }
                    // A Job of that name exists after all: another run's, or the failed one
                    // still being deleted; the next round reads which.
                    Ok(false) => status = format!("the {tool} Job {job} exists already"),
                    Err(e) => retry_or_fail(e, &mut status, &mut steps)?,
                }
            }
            Next::RestartJob => {
                let deleted = match clusters.get(site.cluster()).await {
                    Ok(cluster) => cluster
                        .delete(&Kind::JOB, Some(site.namespace()), &job)
                        .await
                        .map(|_| ()),
                    Err(e) => Err(e),
                };
                match deleted {
                    Ok(()) => steps.push(record(format!(
                        "deleted the {tool} Job {job} an earlier apply left failed"
                    ))),
                    Err(source) => retry_or_fail(
                        write_error(&format!("delete the failed Job {job}"), source),
                        &mut status,
                        &mut steps,
                    )?,
                }
            }
            Next::Done => {
                steps.push(record(format!(
                    "the {tool} Job {job} on site {site} succeeded: for storage location {}, \
                     {then}",
                    request.location()
                )));
                if !jobs_left.is_empty() {
                    let (records, left) = forget_opposite_jobs(clusters, request).await;
                    // What is still left was said once already.
                    steps.extend(records.into_iter().filter(|r| !jobs_left.contains(&r.what)));
                    jobs_left = left;
                }
                return Ok(LocationDone { steps, jobs_left });
            }
            Next::Fail(source) => {
                return Err(LocationRunError::Stopped {
                    source: Box::new(source),
                    steps,
                });
            }
        }
        tokio::select! {
            () = stop.stopped() => return Err(LocationRunError::Interrupted { status, steps }),
            () = tokio::time::sleep(PAUSE.min(deadline.saturating_duration_since(Instant::now()))) => {}
        }
    }
}

/// Deletes the Jobs the opposite operation on this location left in the sites' namespaces,
/// once every site serves this operation's config; says what it did, and what it left (a
/// sentence each, with what to do; then it is tried once more when the operation is done).
/// A Job still running (another apply's, at the same time) or already being deleted is left
/// alone; only Jobs labelled as this provider's are touched.
///
/// Why: a Job's name comes from the location and the config hash, and a succeeded Job of that
/// name is taken as the work done (that is how a killed apply resumes). A location added,
/// removed and added again with the same config would otherwise find the first backfill Job
/// and skip the backfill, leaving the location without the blobs pushed before; likewise a
/// removal repeated after a re-addition. A Job this cannot delete is reported, not fatal: the
/// operation itself succeeded.
async fn forget_opposite_jobs(
    clusters: &Clusters,
    request: &LocationRequest,
) -> (Vec<StepRecord>, Vec<String>) {
    let opposite = request.direction().opposite();
    let prefix = format!("{}-", opposite.job_prefix());
    // Only ours: a Job someone else labelled with the location is not ours to delete.
    let selector = format!(
        "{JOB_LOCATION_LABEL}={},{MANAGED_BY_LABEL}={MANAGED_BY}",
        request.location()
    );
    let mut steps = Vec::new();
    let mut left = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for site in request.sites() {
        if !seen.insert((site.cluster(), site.namespace())) {
            continue;
        }
        // The names deleted, also when a later one fails; the Jobs left running.
        let mut deleted = Vec::new();
        let mut running = Vec::new();
        let result = async {
            let cluster = clusters.get(site.cluster()).await?;
            let ns = Some(site.namespace());
            for job in cluster.list(&Kind::JOB, ns, &selector).await? {
                let Some(name) = job["metadata"]["name"].as_str() else {
                    continue;
                };
                if !name.starts_with(&prefix) || job["metadata"]["deletionTimestamp"].is_string() {
                    continue;
                }
                // Another apply's tool at work (contradictory applies at once), or between two
                // tries: killing it half-way helps nobody; it is reported instead.
                if !job_finished(&job) {
                    running.push(name.to_owned());
                    continue;
                }
                cluster.delete(&Kind::JOB, ns, name).await?;
                deleted.push(name.to_owned());
            }
            Ok::<_, ClusterError>(())
        }
        .await;
        let what = |name: &str| {
            format!(
                "deleted the {} Job {name} on site {site}, so that it cannot stand for a later {} \
                 of storage location {}",
                opposite.tool(),
                opposite.tool(),
                request.location()
            )
        };
        steps.extend(deleted.iter().map(|name| record(what(name))));
        for name in &running {
            left.push(format!(
                "left the {} Job {name} on site {site} (namespace {}): it is still running; \
                 delete it once it ends (kubectl delete job {name} -n {}), before the next {} \
                 of storage location {}",
                opposite.tool(),
                site.namespace(),
                site.namespace(),
                opposite.tool(),
                request.location()
            ));
        }
        match result {
            Ok(()) => {}
            Err(source) => {
                let error = errors::chain(&source);
                warn!(%error, "could not delete the opposite operation's Jobs");
                left.push(format!(
                    "could not list or delete the {} Jobs of storage location {} on site \
                     {site} ({error}); delete them by hand before the next {} of that location: \
                     those named {prefix}* in kubectl get jobs -n {} -l {selector} (the others \
                     are this operation's record)",
                    opposite.tool(),
                    request.location(),
                    opposite.tool(),
                    site.namespace()
                ));
            }
        }
    }
    steps.extend(left.iter().map(|sentence| record(sentence.clone())));
    (steps, left)
}

/// Whether a Job is over: failed for good (its `Failed` condition), or succeeded with no pod
/// still active, as the project's Job reader ([`MigrationJob::read`], for any Job) tells
/// them. A Job between two tries has no pod active and is not over.
fn job_finished(job: &Value) -> bool {
    match MigrationJob::read(job).phase {
        JobPhase::Succeeded => job["status"]["active"].as_u64().unwrap_or(0) == 0,
        JobPhase::Failed(_) => true,
        JobPhase::Running => false,
    }
}

fn record(what: String) -> StepRecord {
    StepRecord {
        at: clock::now(),
        what,
    }
}

/// A failed write, without steps yet: [`retry_or_fail`] adds the run's when it stops the run.
fn write_error(action: &str, source: ClusterError) -> LocationRunError {
    LocationRunError::Write {
        action: action.to_owned(),
        source: Box::new(source),
        steps: Vec::new(),
    }
}

/// Ends the round on a retryable write error (the next round observes again) or one the
/// deadline or the stop cut (the loop then ends); returns any other error with the steps done.
fn retry_or_fail(
    error: LocationRunError,
    status: &mut String,
    steps: &mut Vec<StepRecord>,
) -> Result<(), LocationRunError> {
    // A write the deadline or the stop cut: the loop's next check ends the run, with what the
    // run was waiting for and then the cut write as its status.
    if let LocationRunError::Write { source, .. } = &error
        && let Some(cut) = CutShort::of(source)
    {
        *status = cut.after(status);
        return Ok(());
    }
    let retryable = match &error {
        LocationRunError::Write { source, .. } => source
            .status_code()
            .is_none_or(|code| code == 409 || code == 429 || code >= 500),
        _ => false,
    };
    if retryable {
        warn!(error = %errors::chain(&error), "storage location operation: retrying");
        *status = format!("retrying after: {}", errors::chain(&error));
        return Ok(());
    }
    Err(match error {
        LocationRunError::Write { action, source, .. } => LocationRunError::Write {
            action,
            source,
            steps: std::mem::take(steps),
        },
        LocationRunError::Job { source, .. } => LocationRunError::Job {
            source,
            steps: std::mem::take(steps),
        },
        other => other,
    })
}

/// Creates the Job from the Job site's quay-app Deployment; whether it was
/// created (`false`: a Job of that name exists, made by another run or not yet gone).
async fn create_job(
    cluster: &Cluster,
    request: &LocationRequest,
) -> Result<bool, LocationRunError> {
    let site = request.job_site();
    let name = quay_app_deployment(site.name());
    let deployment: Value = cluster
        .get(&Kind::DEPLOYMENT, Some(site.namespace()), &name)
        .await
        .map_err(|source| write_error(&format!("read Deployment {name}"), source))?
        .ok_or_else(|| LocationRunError::Job {
            source: JobError::NoDeployment {
                deployment: name.clone(),
            },
            steps: Vec::new(),
        })?;
    let manifest = location_job(request, &deployment).map_err(|source| LocationRunError::Job {
        source,
        steps: Vec::new(),
    })?;
    match cluster.create(&manifest).await {
        Ok(_) => Ok(true),
        Err(e) if e.is_conflict() => Ok(false),
        Err(source) => Err(write_error(
            &format!(
                "create the {} Job {}",
                request.direction().tool(),
                request.job_name()
            ),
            source,
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::job_finished;

    #[test]
    fn a_job_is_over_by_its_conditions_or_a_success_with_nothing_active() {
        let job = |status| json!({ "status": status });
        assert!(job_finished(&job(json!({
            "conditions": [{"type": "Complete", "status": "True"}], "succeeded": 1
        }))));
        assert!(job_finished(&job(json!({
            "conditions": [{"type": "Failed", "status": "True"}], "failed": 7
        }))));
        assert!(job_finished(&job(json!({"succeeded": 1}))));
        // Running, between two tries, not started yet.
        assert!(!job_finished(&job(json!({"active": 1}))));
        assert!(!job_finished(&job(json!({"failed": 2}))));
        assert!(!job_finished(&job(json!({}))));
        assert!(!job_finished(&job(json!({
            "conditions": [{"type": "Complete", "status": "False"}], "succeeded": 1, "active": 1
        }))));
    }
}
