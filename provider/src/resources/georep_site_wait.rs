//! The wait of `resource "quay_georep_site"`: reads the site's `QuayRegistry`, its
//! Deployments, its migration Job and that Job's pods about once a second, and lets
//! [`Settle`] judge them (the rules and their upstream sources are in `georep/site/settle.rs`).
//!
//! A poll, not a watch: the verdict depends on four kinds of object and on how long a
//! blocking condition has lasted, and a second between reads is nothing against a rollout.
//! Every read goes through the cluster layer's retries; the wait ends at the deadline or on
//! Terraform's stop signal, reporting the last state it saw, and logs its progress every
//! [`PROGRESS_EVERY`].

use std::time::Duration;

use serde_json::Value as Json;
use tokio::time::Instant;
use tracing::{info, warn};

use crate::cluster::{Cluster, Error as ClusterError, Kind, PROGRESS_EVERY};
use crate::georep::errors;
use crate::georep::site::{
    BLOCKED_GRACE, Convergence, JOB_NAME_LABEL, JobPhase, LiveSite, MigrationJob, RegistryStatus,
    Rollout, STATUS_REQUEST_EVERY, Settle, StatusRequest, failing_pod_message,
};
use crate::orchestrate::{
    REGISTRY_LABEL, ask_for_status, available_evaluated, clock, status_request,
};
use crate::stop::StopToken;

/// The pause between two reads of the site.
pub(super) const READ_EVERY: Duration = Duration::from_secs(1);

/// Where and how long to wait.
pub(super) struct SiteWait<'a> {
    /// The site's cluster.
    pub cluster: &'a Cluster,
    /// The `QuayRegistry`'s namespace.
    pub namespace: &'a str,
    /// The `QuayRegistry`'s name.
    pub name: &'a str,
    /// The `QuayRegistry` as it was before the apply, if it existed.
    pub before: Option<&'a RegistryStatus>,
    /// When to give up.
    pub deadline: Instant,
    /// Terraform's stop signal.
    pub stop: &'a StopToken,
}

impl SiteWait<'_> {
    /// Waits until the site has settled and returns its `QuayRegistry`.
    ///
    /// # Errors
    ///
    /// [`ClusterError::WaitFailed`] when the site will not settle without a change (with the
    /// operator's and the migration pod's words), [`ClusterError::Timeout`] at the deadline,
    /// [`ClusterError::Stopped`] on Terraform's stop signal, [`ClusterError::Api`] when the
    /// cluster cannot be read.
    pub(super) async fn settled(&self) -> Result<Option<Json>, ClusterError> {
        let what = format!(
            "QuayRegistry {}/{} to converge (Available, components created, current version \
             known, Deployments rolled out, no migration running)",
            self.namespace, self.name
        );
        let cluster = self.cluster.key().to_owned();
        let started = Instant::now();
        let mut last_report = started;
        let mut settle = Settle::new(BLOCKED_GRACE).after_change(self.before);
        // When a request for a fresh status last failed: the next waits STATUS_REQUEST_EVERY.
        let mut refused: Option<Instant> = None;
        loop {
            let (registry, live) = self.read().await?;
            let state = match settle.judge(&live, started.elapsed()) {
                Convergence::Converged => return Ok(registry),
                Convergence::Failed(message) => {
                    return Err(ClusterError::WaitFailed {
                        cluster,
                        what,
                        message,
                    });
                }
                Convergence::Pending(state) => state,
            };
            let now = Instant::now();
            if now >= self.deadline {
                return Err(ClusterError::Timeout {
                    cluster,
                    what,
                    waited: now - started,
                    last: state,
                });
            }
            let request = registry
                .as_ref()
                .filter(|_| live.only_available_missing())
                .filter(|_| refused.is_none_or(|at| now - at >= STATUS_REQUEST_EVERY))
                .and_then(|r| {
                    StatusRequest::due(status_request(r), available_evaluated(r), clock::now())
                });
            if let Some(request) = request {
                // A failed request only leaves the wait to the operator's own minute.
                if let Err(e) =
                    ask_for_status(self.cluster, self.namespace, self.name, request).await
                {
                    refused = Some(now);
                    warn!(%cluster, error = %errors::chain(&e), "could not ask the operator for a fresh status");
                }
            }
            if now - last_report >= PROGRESS_EVERY {
                info!(%cluster, %what, %state, waited_s = (now - started).as_secs(), "still waiting");
                last_report = now;
            }
            tokio::select! {
                () = self.stop.stopped() => return Err(ClusterError::Stopped { cluster, what }),
                () = tokio::time::sleep(READ_EVERY.min(self.deadline - now)) => {}
            }
        }
    }

    /// One read of the site.
    async fn read(&self) -> Result<(Option<Json>, LiveSite), ClusterError> {
        let ns = Some(self.namespace);
        let registry = self
            .cluster
            .get(&Kind::QUAY_REGISTRY, ns, self.name)
            .await?;
        let rollouts = self
            .cluster
            .list(
                &Kind::DEPLOYMENT,
                ns,
                &format!("{REGISTRY_LABEL}={}", self.name),
            )
            .await?
            .iter()
            .map(Rollout::read)
            .collect();
        let job_name = format!("{}-quay-app-upgrade", self.name);
        let job = self
            .cluster
            .get(&Kind::JOB, ns, &job_name)
            .await?
            .map(|j| MigrationJob::read(&j));
        let pod_message = match &job {
            Some(job) if job.phase != JobPhase::Succeeded => {
                let pods = self
                    .cluster
                    .list(&Kind::POD, ns, &format!("{JOB_NAME_LABEL}={job_name}"))
                    .await?;
                failing_pod_message(&pods)
            }
            _ => None,
        };
        let live = LiveSite {
            registry: registry.as_ref().map(RegistryStatus::read),
            rollouts,
            job,
            pod_message,
        };
        Ok((registry, live))
    }
}
