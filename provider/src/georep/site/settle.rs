//! Whether a site has settled, judged over the reads of one wait from the objects as well as
//! the `QuayRegistry`'s conditions: [`Settle::judge`] on a [`LiveSite`].
//!
//! The conditions alone mislead in three ways (reference: quay-operator, `redhat-3.x` and
//! master):
//! - They can be stale. `Available` and the component conditions are recomputed by a
//!   separate status reconciler (`controllers/quay/quayregistry_status_controller.go`,
//!   `RequeueAfter: time.Minute`), so `Available=True` can describe the pods of before a
//!   rollout for up to a minute. So the site's Deployments must have rolled out (every replica
//!   updated and available, the generation observed) and no migration Job may be running.
//! - Before 3.17 there is no `status.observedGeneration` (`apis/quay/v1/quayregistry_types.go`
//!   gains it on `redhat-3.17`), so nothing says the operator saw a spec change: after one,
//!   [`Settle::after_change`] waits for `status.lastUpdated`, which every full reconcile of
//!   `controllers/quay/quayregistry_controller.go` rewrites, to move.
//! - They can be transient. `MigrationsFailed` is written whenever the upgrade Job is neither
//!   active nor succeeded (`checkMigrationStatus`), including while Kubernetes is about to
//!   retry it, and the Job is retried (`restartPolicy: OnFailure`, the default backoff limit
//!   of 6: about ten minutes of crash loops) before it fails with Kubernetes' generic "Job has
//!   reached the specified backoff limit". `RolloutBlocked` can describe a state already
//!   fixed. So a blocking condition fails the wait only when the Job has failed for good, or
//!   the condition has persisted for the grace period; the failure quotes the migration
//!   pod's own message, which is the only place the cause is.
//!
//! Pure: values in (JSON as the API server returns it, the time since the wait began), a
//! [`Convergence`] out.

use std::time::Duration;

use serde_json::Value as Json;

use super::status::{ConditionStatus, Convergence, Gap, RegistryStatus};

/// How long `RolloutBlocked` or `MigrationsFailed` must persist before a wait fails on it:
/// more than the status reconciler's minute, so the condition has been recomputed since.
pub const BLOCKED_GRACE: Duration = Duration::from_secs(90);

/// One Deployment of the site, as far as its rollout goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollout {
    /// `metadata.name`.
    pub name: String,
    /// `spec.replicas` (1 when unset).
    pub desired: i64,
    /// `status.replicas`: pods of every template.
    pub current: i64,
    /// `status.updatedReplicas`: pods of the current template.
    pub updated: i64,
    /// `status.availableReplicas`.
    pub available: i64,
    /// Whether `status.observedGeneration` has reached `metadata.generation`.
    pub generation_observed: bool,
    /// The images of the pod template's containers.
    pub images: Vec<String>,
}

impl Rollout {
    /// Reads a Deployment.
    pub fn read(deployment: &Json) -> Self {
        let status = &deployment["status"];
        let count = |value: &Json| value.as_i64().unwrap_or(0);
        let generation = deployment["metadata"]["generation"].as_i64();
        let observed = status["observedGeneration"].as_i64();
        Self {
            name: deployment["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            desired: deployment["spec"]["replicas"].as_i64().unwrap_or(1),
            current: count(&status["replicas"]),
            updated: count(&status["updatedReplicas"]),
            available: count(&status["availableReplicas"]),
            generation_observed: match (generation, observed) {
                (Some(generation), Some(observed)) => observed >= generation,
                (Some(_), None) => false,
                (None, _) => true,
            },
            images: deployment["spec"]["template"]["spec"]["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["image"].as_str().map(str::to_owned))
                .collect(),
        }
    }

    /// Whether the rollout is over: the latest template seen, every replica of it updated and
    /// available, no pod of an older one left.
    pub fn is_done(&self) -> bool {
        self.generation_observed
            && self.updated >= self.desired
            && self.available >= self.desired
            && self.current <= self.desired
    }

    /// Whether this is the Deployment of Quay itself or of its mirror workers (`<name>-quay-app`,
    /// `<name>-quay-mirror`), which run the Quay image.
    pub fn runs_quay(&self) -> bool {
        self.name.ends_with("-quay-app") || self.name.ends_with("-quay-mirror")
    }

    /// What is unfinished, if anything: the rollout, or (when `quay_image` is given) a Quay
    /// Deployment on another image.
    pub fn unfinished(&self, quay_image: Option<&str>) -> Option<String> {
        if !self.is_done() {
            return Some(self.describe());
        }
        let image =
            quay_image.filter(|i| self.runs_quay() && !self.images.iter().any(|x| x == i))?;
        Some(format!(
            "Deployment {} runs {} instead of {image}",
            self.name,
            self.images.join(", ")
        ))
    }

    fn describe(&self) -> String {
        if self.generation_observed {
            format!(
                "Deployment {} is rolling out ({}/{} updated, {}/{} available, {} pods)",
                self.name, self.updated, self.desired, self.available, self.desired, self.current
            )
        } else {
            format!("Deployment {} has not seen its latest change", self.name)
        }
    }
}

/// The migration Job `<name>-quay-app-upgrade`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationJob {
    /// `metadata.name`.
    pub name: String,
    /// Where it is.
    pub phase: JobPhase,
}

/// A Job's phase, as Kubernetes' Job controller reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobPhase {
    /// Running or between retries.
    Running,
    /// Succeeded.
    Succeeded,
    /// Failed for good (its `Failed` condition is `True`); the condition's message, often
    /// only Kubernetes' generic one.
    Failed(String),
}

impl MigrationJob {
    /// Reads a Job.
    pub fn read(job: &Json) -> Self {
        let status = &job["status"];
        let failed = status["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == "Failed" && c["status"] == "True");
        let phase = if status["succeeded"].as_i64().unwrap_or(0) > 0 {
            JobPhase::Succeeded
        } else if let Some(failed) = failed {
            JobPhase::Failed(failed["message"].as_str().unwrap_or_default().to_owned())
        } else {
            JobPhase::Running
        };
        Self {
            name: job["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            phase,
        }
    }
}

/// The label Kubernetes puts on a Job's pods.
pub const JOB_NAME_LABEL: &str = "job-name";

/// What the failing container of a Job's `pods` said last: a terminated state's message
/// (the current one, else the previous one of a crash-looping container), else a waiting
/// state's message; `None` when no container failed with a message.
pub fn failing_pod_message(pods: &[Json]) -> Option<String> {
    let statuses = || {
        pods.iter().flat_map(|p| {
            p["status"]["containerStatuses"]
                .as_array()
                .into_iter()
                .flatten()
        })
    };
    let text = |value: &Json| {
        value
            .as_str()
            .filter(|m| !m.trim().is_empty())
            .map(str::to_owned)
    };
    let terminated = |state: &Json| {
        let t = &state["terminated"];
        (t["exitCode"].as_i64().unwrap_or(0) != 0)
            .then(|| text(&t["message"]))
            .flatten()
    };
    statuses()
        .find_map(|s| terminated(&s["state"]).or_else(|| terminated(&s["lastState"])))
        .or_else(|| statuses().find_map(|s| text(&s["state"]["waiting"]["message"])))
}

/// One read of a site: its `QuayRegistry`, Deployments, migration Job and what the Job's
/// failing pod said.
#[derive(Debug, Clone, Default)]
pub struct LiveSite {
    /// The `QuayRegistry`; `None` when it does not exist.
    pub registry: Option<RegistryStatus>,
    /// The Deployments the operator made for it.
    pub rollouts: Vec<Rollout>,
    /// The migration Job, if it exists.
    pub job: Option<MigrationJob>,
    /// [`failing_pod_message`] of the Job's pods.
    pub pod_message: Option<String>,
}

impl LiveSite {
    /// Whether the operator's `Available` is all that keeps the site from settling: the
    /// other conditions and the version converged, no migration running, every Deployment
    /// rolled out. The operator computes `Available` when the `QuayRegistry` changes and
    /// otherwise once a minute, so such a `False` is usually from before the pods were ready,
    /// and the wait asks for a fresh one ([`super::STATUS_REQUESTED_ANNOTATION`]).
    #[must_use]
    pub fn only_available_missing(&self) -> bool {
        let Some(registry) = &self.registry else {
            return false;
        };
        let created = registry
            .condition("ComponentsCreated")
            .is_some_and(|c| c.status == ConditionStatus::True);
        matches!(registry.gap(), Some(Gap::NotTrue("Available")))
            && created
            && registry.current_version.is_some()
            && !self
                .job
                .as_ref()
                .is_some_and(|j| j.phase == JobPhase::Running)
            && !self.rollouts.is_empty()
            && self.rollouts.iter().all(Rollout::is_done)
    }
}

/// The judge of one wait: remembers since when a blocking condition has been seen and the
/// last message of a failing migration pod (its pod may be gone when the Job fails).
#[derive(Debug, Clone)]
pub struct Settle {
    grace: Duration,
    blocked_since: Option<(String, Duration)>,
    pod_message: Option<String>,
    baseline: Option<(Option<i64>, Option<String>)>,
}

impl Settle {
    /// A judge that fails on a blocking condition once it has persisted for `grace`
    /// ([`BLOCKED_GRACE`] outside tests).
    pub fn new(grace: Duration) -> Self {
        Self {
            grace,
            blocked_since: None,
            pod_message: None,
            baseline: None,
        }
    }

    /// The site was changed while it looked like `before`: without `observedGeneration`
    /// (before Quay 3.17), wait until the operator rewrote its status after a spec change.
    #[must_use]
    pub fn after_change(mut self, before: Option<&RegistryStatus>) -> Self {
        self.baseline = before.map(|b| (b.generation, b.last_updated.clone()));
        self
    }

    /// Whether `site`, read `elapsed` after the wait began, has settled.
    pub fn judge(&mut self, site: &LiveSite, elapsed: Duration) -> Convergence {
        if let Some(message) = &site.pod_message {
            self.pod_message = Some(message.clone());
        }
        let Some(registry) = &site.registry else {
            self.blocked_since = None;
            return Convergence::Pending("the QuayRegistry does not exist".into());
        };
        let gap = registry.gap();
        let blocking = match gap {
            Some(Gap::RolloutBlocked(c) | Gap::MigrationFailed(c)) => Some(c),
            _ => None,
        };
        if blocking.is_some()
            && let Some(MigrationJob {
                name,
                phase: JobPhase::Failed(message),
            }) = &site.job
        {
            return Convergence::Failed(format!(
                "the database migration failed: Job {name} gave up ({}): {}",
                if message.is_empty() {
                    "no message"
                } else {
                    message
                },
                self.pod_words()
            ));
        }
        let Some(condition) = blocking else {
            self.blocked_since = None;
            return self.judge_objects(registry, site, gap);
        };
        if let Some(job) = site.job.as_ref().filter(|j| j.phase == JobPhase::Running) {
            // MigrationsFailed beside a running Job: Kubernetes is still retrying it.
            self.blocked_since = None;
            return Convergence::Pending(format!(
                "the migration Job {} is running{}",
                job.name,
                self.pod_message
                    .as_ref()
                    .map(|m| format!(" (its pod failed and is retried: {m})"))
                    .unwrap_or_default()
            ));
        }
        let key = condition.line();
        let since = match &self.blocked_since {
            Some((seen, since)) if *seen == key => *since,
            _ => {
                self.blocked_since = Some((key.clone(), elapsed));
                elapsed
            }
        };
        let lasted = elapsed.saturating_sub(since);
        if lasted < self.grace {
            return Convergence::Pending(format!(
                "{key}; failing if it persists for {} s (the operator may still recompute it)",
                self.grace.as_secs()
            ));
        }
        let persisted = format!("for {} s", lasted.as_secs());
        Convergence::Failed(match gap {
            Some(Gap::MigrationFailed(failed)) => format!(
                "the database migration failed ({persisted}): {}{}",
                failed.message,
                self.pod_message
                    .as_ref()
                    .map(|m| format!("; the migration pod said: {m}"))
                    .unwrap_or_default()
            ),
            _ => format!(
                "the operator blocked the rollout ({persisted}): {}: {}. Conditions: {}",
                condition.reason,
                condition.message,
                registry.condition_lines().join("; ")
            ),
        })
    }

    fn pod_words(&self) -> String {
        self.pod_message.as_ref().map_or_else(
            || "its pod left no message; read the pod's log".to_owned(),
            |m| format!("the migration pod said: {m}"),
        )
    }

    /// The conditions have nothing blocking: the rest of the conditions, then the objects.
    fn judge_objects(
        &self,
        registry: &RegistryStatus,
        site: &LiveSite,
        gap: Option<Gap<'_>>,
    ) -> Convergence {
        if gap.is_some() {
            return registry.convergence();
        }
        if registry.observed_generation.is_none()
            && let Some((generation, last_updated)) = &self.baseline
            && registry.generation != *generation
            && registry.last_updated == *last_updated
        {
            return Convergence::Pending(
                "the operator has not reconciled the change yet (before Quay 3.17 it reports \
                 no observedGeneration; waiting for status.lastUpdated to move)"
                    .into(),
            );
        }
        if let Some(job) = site.job.as_ref().filter(|j| j.phase == JobPhase::Running) {
            return Convergence::Pending(format!("the migration Job {} is running", job.name));
        }
        let rolling: Vec<String> = site
            .rollouts
            .iter()
            .filter(|r| !r.is_done())
            .map(Rollout::describe)
            .collect();
        if rolling.is_empty() {
            Convergence::Converged
        } else {
            Convergence::Pending(format!(
                "{} (the conditions may be up to a minute old)",
                rolling.join("; ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn registry(conditions: &Json) -> RegistryStatus {
        RegistryStatus::read(&json!({
            "metadata": {"generation": 2},
            "status": {"conditions": conditions, "currentVersion": "3.16.5", "lastUpdated": "t1"},
        }))
    }

    fn converged() -> Json {
        json!([
            {"type": "Available", "status": "True", "reason": "HealthChecksPassing"},
            {"type": "ComponentsCreated", "status": "True", "reason": "ComponentsCreationSuccess"},
            {"type": "RolloutBlocked", "status": "False"},
        ])
    }

    fn deployment(desired: i64, updated: i64, available: i64, replicas: i64) -> Rollout {
        Rollout::read(&json!({
            "metadata": {"name": "registry-quay-app", "generation": 3},
            "spec": {"replicas": desired},
            "status": {"observedGeneration": 3, "replicas": replicas,
                       "updatedReplicas": updated, "availableReplicas": available},
        }))
    }

    fn site(conditions: &Json) -> LiveSite {
        LiveSite {
            registry: Some(registry(conditions)),
            rollouts: vec![deployment(2, 2, 2, 2)],
            ..LiveSite::default()
        }
    }

    fn settle() -> Settle {
        Settle::new(Duration::from_secs(90))
    }

    const NOW: Duration = Duration::from_secs(1);

    #[test]
    fn a_site_with_converged_conditions_and_rolled_out_deployments_has_settled() {
        assert_eq!(
            settle().judge(&site(&converged()), NOW),
            Convergence::Converged
        );
    }

    #[test]
    fn available_from_before_a_rollout_does_not_count() {
        let mut rolling = site(&converged());
        rolling.rollouts = vec![deployment(2, 1, 1, 3)];
        let verdict = settle().judge(&rolling, NOW);
        assert!(
            matches!(&verdict, Convergence::Pending(t) if t.contains("registry-quay-app is rolling out (1/2 updated")),
            "{verdict:?}"
        );
        rolling.rollouts = vec![];
        rolling.job = Some(MigrationJob {
            name: "registry-quay-app-upgrade".into(),
            phase: JobPhase::Running,
        });
        assert!(matches!(
            settle().judge(&rolling, NOW),
            Convergence::Pending(_)
        ));
    }

    #[test]
    fn before_3_17_a_change_counts_as_seen_once_the_status_was_rewritten() {
        let before = RegistryStatus::read(&json!({
            "metadata": {"generation": 1}, "status": {"lastUpdated": "t1"},
        }));
        let mut judge = settle().after_change(Some(&before));
        assert!(matches!(
            judge.judge(&site(&converged()), NOW),
            Convergence::Pending(t) if t.contains("lastUpdated")
        ));
        let mut rewritten = site(&converged());
        rewritten.registry.as_mut().unwrap().last_updated = Some("t2".into());
        assert_eq!(judge.judge(&rewritten, NOW), Convergence::Converged);
    }

    #[test]
    fn a_blocked_rollout_fails_only_once_it_has_persisted() {
        let blocked = json!([{"type": "RolloutBlocked", "status": "True", "reason": "ConfigInvalid", "message": "missing DB_URI"}]);
        let mut judge = settle();
        let first = judge.judge(&site(&blocked), Duration::from_secs(10));
        assert!(
            matches!(&first, Convergence::Pending(t) if t.contains("missing DB_URI")),
            "{first:?}"
        );
        assert!(matches!(
            judge.judge(&site(&blocked), Duration::from_mins(1)),
            Convergence::Pending(_)
        ));
        let late = judge.judge(&site(&blocked), Duration::from_secs(100));
        assert!(
            matches!(&late, Convergence::Failed(t) if t.contains("ConfigInvalid: missing DB_URI") && t.contains("for 90 s")),
            "{late:?}"
        );
        // Gone in between: the clock starts again.
        let mut judge = settle();
        judge.judge(&site(&blocked), Duration::from_secs(0));
        judge.judge(&site(&converged()), Duration::from_secs(50));
        assert!(matches!(
            judge.judge(&site(&blocked), Duration::from_secs(100)),
            Convergence::Pending(_)
        ));
    }

    #[test]
    fn migrations_failed_beside_a_retried_job_waits_and_a_job_that_gave_up_fails_with_the_pods_words()
     {
        let failed = json!([{"type": "ComponentsCreated", "status": "False", "reason": "MigrationsFailed", "message": "failed to run migrations"}]);
        let mut retrying = site(&failed);
        retrying.job = Some(MigrationJob {
            name: "registry-quay-app-upgrade".into(),
            phase: JobPhase::Running,
        });
        retrying.pod_message = Some("Can't locate revision identified by 'ffff'".into());
        let mut judge = settle();
        let verdict = judge.judge(&retrying, Duration::from_secs(500));
        assert!(
            matches!(&verdict, Convergence::Pending(t) if t.contains("retried") && t.contains("'ffff'")),
            "{verdict:?}"
        );
        // The pod is gone once the Job gives up; its words are remembered.
        let mut gave_up = site(
            &json!([{"type": "ComponentsCreated", "status": "False", "reason": "MigrationsFailed", "message": "Job has reached the specified backoff limit"}]),
        );
        gave_up.job = Some(MigrationJob {
            name: "registry-quay-app-upgrade".into(),
            phase: JobPhase::Failed("Job has reached the specified backoff limit".into()),
        });
        let verdict = judge.judge(&gave_up, Duration::from_secs(501));
        assert!(
            matches!(&verdict, Convergence::Failed(t) if t.contains("backoff limit") && t.contains("the migration pod said: Can't locate revision identified by 'ffff'")),
            "{verdict:?}"
        );
    }

    #[test]
    fn a_quay_deployment_on_another_image_is_unfinished() {
        let quay = Rollout::read(&json!({
            "metadata": {"name": "registry-quay-app", "generation": 1},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [{"image": "quay:3.14.8"}]}}},
            "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1},
        }));
        assert_eq!(quay.unfinished(Some("quay:3.14.8")), None);
        assert_eq!(
            quay.unfinished(Some("quay:3.15.7")).as_deref(),
            Some("Deployment registry-quay-app runs quay:3.14.8 instead of quay:3.15.7")
        );
        assert_eq!(quay.unfinished(None), None);
    }

    #[test]
    fn the_failing_pods_message_is_its_terminated_state() {
        let crash_looping = json!({"status": {"containerStatuses": [{
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s"}},
            "lastState": {"terminated": {"exitCode": 1, "message": "alembic: boom"}},
        }]}});
        assert_eq!(
            failing_pod_message(&[crash_looping]).as_deref(),
            Some("alembic: boom")
        );
        let failed = json!({"status": {"containerStatuses": [{
            "state": {"terminated": {"exitCode": 1, "message": "final words"}},
        }]}});
        assert_eq!(
            failing_pod_message(&[failed]).as_deref(),
            Some("final words")
        );
        let fine = json!({"status": {"containerStatuses": [{"state": {"running": {}}}]}});
        assert_eq!(failing_pod_message(&[fine]), None);
    }

    #[test]
    fn only_a_false_available_beside_a_finished_rollout_asks_for_a_fresh_status() {
        let stale = json!([
            {"type": "Available", "status": "False", "reason": "ComponentNotReady"},
            {"type": "ComponentsCreated", "status": "True", "reason": "ComponentsCreationSuccess"},
            {"type": "RolloutBlocked", "status": "False"},
        ]);
        assert!(site(&stale).only_available_missing());
        // Converged already: nothing to ask.
        assert!(!site(&converged()).only_available_missing());
        // Pods still rolling out: Available is rightly false.
        let mut rolling = site(&stale);
        rolling.rollouts = vec![deployment(2, 1, 1, 2)];
        assert!(!rolling.only_available_missing());
        // A migration running, or one that failed: not a stale status.
        let mut migrating = site(&stale);
        migrating.job = Some(MigrationJob {
            name: "registry-quay-app-upgrade".into(),
            phase: JobPhase::Running,
        });
        assert!(!migrating.only_available_missing());
        let failed = json!([
            {"type": "Available", "status": "False", "reason": "MigrationsFailed"},
            {"type": "ComponentsCreated", "status": "True"},
        ]);
        assert!(!site(&failed).only_available_missing());
        // Components not created yet: more than Available is missing.
        let uncreated = json!([
            {"type": "Available", "status": "False"},
            {"type": "ComponentsCreated", "status": "False"},
        ]);
        assert!(!site(&uncreated).only_available_missing());
        // No Deployment seen: nothing says the pods are back.
        let mut bare = site(&stale);
        bare.rollouts.clear();
        assert!(!bare.only_available_missing());
    }
}
