//! The Job controller of Quay's Jobs (kube-runtime `Controller` over Jobs): plays the part of the
//! Job's pod and of Kubernetes' Job controller. The operator's migration Job (labelled
//! `quay-operator/quayregistry`) runs the migration; a Job whose container runs Quay's backfill
//! tool (`python -m util.backfillreplication`, as the provider's location addition creates it) runs
//! [`super::backfill`] instead, and one whose container runs Quay's removal tool (`python -m
//! util.removelocation`, the provider's location removal) runs [`super::remove_location`], each
//! with the same config checks, retries and final status. Other Jobs are left alone (no model knows
//! what their pods do).
//!
//! A Job without a final status and without a running task in this model gets one: it marks
//! the Job active, reads `DB_URI` from the rendered config Secret it mounts, checks the storage
//! preference (the `migrate` entrypoint imports `app`, so 3.8–3.17 fail without the env var),
//! runs [`Migration`] with the version of the Job's image (see [`super::images`]), and writes
//! `succeeded`. A failed attempt is retried the way Kubernetes retries the operator's upgrade
//! Job (`kustomize/components/job/quay.upgrade.job.yaml`: `restartPolicy: OnFailure`, no
//! `backoffLimit`, so Kubernetes' default of 6): the Job stays active while its pod
//! `<job>-<uid prefix>` (labels `job-name`, `controller-uid` and their `batch.kubernetes.io/`
//! twins) crash-loops,
//! its container's `lastState.terminated.message` carrying the attempt's error, and the
//! attempts wait 1, 2, 4, … 32 × [`OperatorOptions::job_backoff`] (Kubernetes: 10 s doubling,
//! capped at 6 minutes, about 10 minutes in all). Past the limit the pod goes `Failed` and the
//! Job gets Kubernetes' generic `Failed` condition (`BackoffLimitExceeded`, "Job has reached
//! the specified backoff limit"), which is all the operator's `MigrationsFailed` quotes. A
//! Job still active when the model starts (a killed operator) is run again and resumes from
//! the database's revision.
//!
//! Not modelled: pod logs (the terminated message stands in for the log's last lines),
//! `activeDeadlineSeconds`, the pod being re-created (one pod restarts in place).
//!
//! [`OperatorOptions::job_backoff`]: super::OperatorOptions::job_backoff

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Container, Secret};
use kube::ResourceExt as _;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use serde_json::json;

use super::backfill;
use super::context::Context;
use super::images;
use super::migration::Migration;
use super::remove_location;
use super::startup::effective_preference;
use crate::quay::{Bundle, CONFIG_VOLUME, QuayVersion, REGISTRY_LABEL, VERSION_ANNOTATION};

/// Why a reconcile failed (it is retried).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Writing the Job's status failed.
    #[error("mark job {namespace}/{name} active")]
    Status {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// Why.
        #[source]
        source: kube::Error,
    },
}

/// Runs the controller until the task is aborted.
pub async fn run(ctx: Arc<Context>) {
    let jobs: Api<Job> = Api::all(ctx.client.clone());
    let controller = Controller::new(jobs, watcher::Config::default()).run(
        reconcile,
        |_, _, _| Action::requeue(std::time::Duration::from_millis(500)),
        Arc::clone(&ctx),
    );
    ctx.reconciles.drive("Job", controller).await;
}

/// Quay's tools that the provider runs as Jobs, told apart by the Python module the Job's
/// container runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    /// `util.backfillreplication` (the location addition).
    Backfill,
    /// `util.removelocation` (the location removal).
    Removal,
}

impl Tool {
    /// The tool `container` runs: a word of its command or arguments (or of a shell line
    /// among them) is the tool's module.
    fn run_by(container: &Container) -> Option<Self> {
        let mut words = container
            .command
            .iter()
            .flatten()
            .chain(container.args.iter().flatten())
            .flat_map(|arg| arg.split_whitespace());
        words.find_map(|word| match word {
            backfill::BACKFILL_MODULE => Some(Self::Backfill),
            remove_location::REMOVAL_MODULE => Some(Self::Removal),
            _ => None,
        })
    }
}

/// Whether the model knows what `job`'s pod does: the operator's migration, the backfill or
/// the removal.
fn is_modelled(job: &Job) -> bool {
    job.labels().contains_key(REGISTRY_LABEL)
        || job
            .spec
            .as_ref()
            .and_then(|s| s.template.spec.as_ref())
            .and_then(|p| p.containers.first())
            .and_then(Tool::run_by)
            .is_some()
}

async fn reconcile(job: Arc<Job>, ctx: Arc<Context>) -> Result<Action, Error> {
    if !is_modelled(&job) {
        return Ok(Action::await_change());
    }
    let status = job.status.clone().unwrap_or_default();
    if status.succeeded.unwrap_or(0) > 0 || status.failed.unwrap_or(0) > 0 {
        return Ok(Action::await_change());
    }
    let uid = job.uid().unwrap_or_default();
    {
        let mut running = Context::lock(&ctx.migrations);
        running.retain(|_, task| !task.is_finished());
        if running.contains_key(&uid) {
            return Ok(Action::await_change());
        }
    }
    let ns = job.namespace().unwrap_or_default();
    let name = job.name_any();
    // Active before the task starts, so a quick failure's final status is written last.
    if status.active.unwrap_or(0) == 0 {
        let patch =
            json!({"status": {"active": 1, "startTime": jiff::Timestamp::now().to_string()}});
        Api::<Job>::namespaced(ctx.client.clone(), &ns)
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .map_err(|source| Error::Status {
                namespace: ns,
                name,
                source,
            })?;
    }
    // The controller runs one reconcile per Job at a time, so nobody spawned in between.
    let task = tokio::spawn(execute(Arc::clone(&job), Arc::clone(&ctx)));
    Context::lock(&ctx.migrations).insert(uid, task);
    Ok(Action::await_change())
}

/// Kubernetes' default `backoffLimit`, which the operator's upgrade Job leaves unset
/// (kubernetes `pkg/apis/batch/v1/defaults.go`).
pub const DEFAULT_BACKOFF_LIMIT: i32 = 6;
/// The generic message Kubernetes' Job controller fails a Job with past its backoff limit.
pub const BACKOFF_LIMIT_MESSAGE: &str = "Job has reached the specified backoff limit";

/// The wait before retry `failures` (1 for the first retry): `base` doubled per earlier
/// failure, at most 36 × `base` (Kubernetes: 10 s, capped at 6 minutes: `DefaultJobPodFailureBackOff`
/// and `MaxJobPodFailureBackOff` in kubernetes `pkg/controller/job/job_controller.go`).
#[must_use]
pub fn retry_delay(base: std::time::Duration, failures: u32) -> std::time::Duration {
    let factor = 1_u32
        .checked_shl(failures.saturating_sub(1))
        .unwrap_or(u32::MAX)
        .min(36);
    base.saturating_mul(factor)
}

/// The Job's pods: runs attempts until one succeeds or the backoff limit is passed, then
/// writes the Job's final status (returns early if the model stops).
async fn execute(job: Arc<Job>, ctx: Arc<Context>) {
    let ns = job.namespace().unwrap_or_default();
    let name = job.name_any();
    let limit = job
        .spec
        .as_ref()
        .and_then(|s| s.backoff_limit)
        .unwrap_or(DEFAULT_BACKOFF_LIMIT);
    let limit = u32::try_from(limit).unwrap_or(0);
    let mut failures = 0_u32;
    let outcome = loop {
        match attempt(&job, &ctx, &ns).await {
            Ok(()) => break Ok(()),
            Err(message) => {
                failures += 1;
                let last = failures > limit;
                pod::attempt_failed(&ctx, &job, failures, &message, last).await;
                if last {
                    break Err(message);
                }
                tokio::time::sleep(retry_delay(ctx.opts.job_backoff, failures)).await;
            }
        }
    };
    let now = jiff::Timestamp::now().to_string();
    let status = match &outcome {
        Ok(()) => json!({
            "active": null, "succeeded": 1, "completionTime": now,
            "conditions": [{"type": "Complete", "status": "True", "lastTransitionTime": now}],
        }),
        Err(_) => json!({
            "active": null, "failed": 1,
            "conditions": [{
                "type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                "message": BACKOFF_LIMIT_MESSAGE, "lastTransitionTime": now,
            }],
        }),
    };
    let api: Api<Job> = Api::namespaced(ctx.client.clone(), &ns);
    // The Job may be gone (registry deleted); retry a few times for transient errors only.
    for _ in 0..20 {
        match api
            .patch_status(
                &name,
                &PatchParams::default(),
                &Patch::Merge(json!({ "status": &status })),
            )
            .await
        {
            Ok(_) => return,
            Err(kube::Error::Api(s)) if s.code == 404 => return,
            Err(err) => {
                tracing::debug!(%err, job = %name, "write job status; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
    }
}

/// The Job's one pod, as the kubelet shows a crash-looping or failed container.
mod pod {
    use k8s_openapi::api::batch::v1::Job;
    use k8s_openapi::api::core::v1::Pod;
    use kube::ResourceExt as _;
    use kube::api::{Api, Patch, PatchParams, PostParams};
    use serde_json::json;

    use super::super::context::Context;

    /// The pod's name: `<job>-<first 5 characters of the Job's uid>`.
    pub(super) fn name(job: &Job) -> String {
        let uid = job.uid().unwrap_or_default();
        format!("{}-{}", job.name_any(), uid.get(..5).unwrap_or("00000"))
    }

    /// Records failed attempt `failures` with `message`; `last`: the pod is given up.
    pub(super) async fn attempt_failed(
        ctx: &Context,
        job: &Job,
        failures: u32,
        message: &str,
        last: bool,
    ) {
        let ns = job.namespace().unwrap_or_default();
        let pod_name = name(job);
        let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
        let template = job.spec.as_ref().map(|s| &s.template);
        let container = template
            .and_then(|t| t.spec.as_ref())
            .and_then(|s| s.containers.first());
        let container_name = container.map_or("quay-app-upgrade", |c| c.name.as_str());
        let image = container.and_then(|c| c.image.clone()).unwrap_or_default();
        let mut labels = template
            .and_then(|t| t.metadata.as_ref())
            .and_then(|m| m.labels.clone())
            .unwrap_or_default();
        labels.insert("job-name".to_owned(), job.name_any());
        labels.insert("batch.kubernetes.io/job-name".to_owned(), job.name_any());
        // The Job's uid, which the API server adds to a Job's pod template under the legacy
        // and the new key (kubernetes `pkg/registry/batch/job/strategy.go`, `generateSelector`).
        let uid = job.uid().unwrap_or_default();
        labels.insert("controller-uid".to_owned(), uid.clone());
        labels.insert("batch.kubernetes.io/controller-uid".to_owned(), uid);
        let manifest = json!({
            "metadata": {
                "name": pod_name, "namespace": ns, "labels": labels,
                "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job",
                    "name": job.name_any(), "uid": job.uid().unwrap_or_default(),
                    "controller": true, "blockOwnerDeletion": true}],
            },
            "spec": {"restartPolicy": "OnFailure",
                     "containers": [{"name": container_name, "image": image}]},
        });
        if let Ok(pod) = serde_json::from_value::<Pod>(manifest) {
            match pods.create(&PostParams::default(), &pod).await {
                Ok(_) | Err(kube::Error::Api(_)) => {}
                Err(err) => tracing::debug!(%err, pod = %pod_name, "create job pod"),
            }
        }
        let now = jiff::Timestamp::now().to_string();
        let terminated = json!({"exitCode": 1, "reason": "Error", "message": message,
                                "finishedAt": now});
        let status = if last {
            json!({"phase": "Failed", "containerStatuses": [{
                "name": container_name, "image": image, "ready": false,
                "restartCount": failures - 1, "state": {"terminated": terminated}}]})
        } else {
            json!({"phase": "Running", "containerStatuses": [{
                "name": container_name, "image": image, "ready": false,
                "restartCount": failures,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": format!(
                    "back-off restarting failed container {container_name} in pod {pod_name}")}},
                "lastState": {"terminated": terminated}}]})
        };
        if let Err(err) = pods
            .patch_status(
                &pod_name,
                &PatchParams::default(),
                &Patch::Merge(json!({ "status": status })),
            )
            .await
        {
            tracing::debug!(%err, pod = %pod_name, "write job pod status");
        }
    }
}

/// One run of the Job's container: the backfill tool, the removal tool or the migration.
async fn attempt(job: &Job, ctx: &Context, ns: &str) -> Result<(), String> {
    let pod = job
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .ok_or("job has no pod template")?;
    let container = pod.containers.first().ok_or("job has no container")?;
    let env: BTreeMap<String, String> = container
        .env
        .iter()
        .flatten()
        .map(|e| (e.name.clone(), e.value.clone().unwrap_or_default()))
        .collect();
    // The Job migrates to the head of its image's version (see `images`), whatever version
    // the operator gave it: an operator whose images were not upgraded migrates nothing.
    let from_image = container
        .image
        .as_deref()
        .and_then(images::version_of_image);
    let version: QuayVersion = match from_image {
        Some(version) => version,
        None => job
            .annotations()
            .get(VERSION_ANNOTATION)
            .or_else(|| env.get("QUAY_VERSION"))
            .ok_or("job names no quay version")?
            .parse()
            .map_err(|e: crate::quay::catalogue::Error| e.to_string())?,
    };
    let secret_name = pod
        .volumes
        .iter()
        .flatten()
        .find(|v| v.name == CONFIG_VOLUME)
        .and_then(|v| v.secret.as_ref())
        .and_then(|s| s.secret_name.clone())
        .ok_or("job mounts no config secret")?;
    let secret = Api::<Secret>::namespaced(ctx.client.clone(), ns)
        .get(&secret_name)
        .await
        .map_err(|e| format!("read config secret {secret_name}: {e}"))?;
    let data = secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    let bundle = Bundle::parse(&secret_name, data).map_err(|e| e.to_string())?;
    // The Job's pod reaches a managed database through its Service's name.
    let bundle = ctx
        .opts
        .backing
        .as_ref()
        .map_or(bundle.clone(), |b| b.dns.resolve_bundle(&bundle, ns));
    effective_preference(&bundle, &version, &env)?;
    match Tool::run_by(container) {
        Some(Tool::Backfill) => return backfill::run(&ctx.site, bundle, &ctx.opts.ledger).await,
        Some(Tool::Removal) => {
            return remove_location::run(&ctx.site, bundle, &env, &ctx.opts.ledger).await;
        }
        None => {}
    }
    let db_uri = bundle.db_uri().ok_or("DB_URI is not set in config.yaml")?;
    Migration {
        site: ctx.site.clone(),
        db_uri: db_uri.to_owned(),
        version,
        time_per_revision: ctx
            .opts
            .migration_pace
            .get_or(ctx.opts.migration_time_per_revision),
    }
    .run(&ctx.opts.ledger)
    .await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn retries_wait_twice_as_long_each_time_up_to_36_times_the_base() {
        let base = Duration::from_secs(10);
        let delays: Vec<u64> = (1..=8).map(|n| retry_delay(base, n).as_secs()).collect();
        assert_eq!(delays, [10, 20, 40, 80, 160, 320, 360, 360]);
        // Six retries before the Job fails: about ten minutes of crash loops, as on a cluster.
        let total: u64 = delays[..6].iter().sum();
        assert_eq!(total, 630);
    }

    fn container(command: &[&str], args: &[&str]) -> Container {
        Container {
            name: "tool".to_owned(),
            command: Some(command.iter().map(|s| (*s).to_owned()).collect()),
            args: Some(args.iter().map(|s| (*s).to_owned()).collect()),
            ..Container::default()
        }
    }

    #[test]
    fn a_tool_is_recognised_by_its_module_in_the_command_the_arguments_or_a_shell_line() {
        let backfill = backfill::BACKFILL_MODULE;
        assert_eq!(
            Tool::run_by(&container(&["python", "-m", backfill], &[])),
            Some(Tool::Backfill)
        );
        assert_eq!(
            Tool::run_by(&container(&["python"], &["-m", backfill])),
            Some(Tool::Backfill)
        );
        let line = "echo y | python -m util.removelocation \"$QUAY_GEOREP_LOCATION\" | tee log";
        assert_eq!(
            Tool::run_by(&container(&["/bin/bash", "-c", line], &[])),
            Some(Tool::Removal)
        );
        // The operator's migration Job runs the entrypoint, which no tool model claims.
        assert_eq!(
            Tool::run_by(&container(
                &["/quay-registry/quay-entrypoint.sh"],
                &["upgrade"]
            )),
            None
        );
        // A module whose name merely contains a tool's is not that tool.
        assert_eq!(
            Tool::run_by(&container(&["python", "-m", "util.removelocation_v2"], &[])),
            None
        );
    }
}
