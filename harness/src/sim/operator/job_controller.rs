//! The migration Job controller (kube-runtime `Controller` over Jobs labelled
//! `quay-operator/quayregistry`): plays the part of the Job's pod.
//!
//! A Job without a final status and without a running task in this model gets one: it marks
//! the Job active, reads `DB_URI` from the rendered config Secret it mounts, checks the storage
//! preference (the `migrate` entrypoint imports `app`, so 3.8–3.17 fail without the env var),
//! runs [`Migration`], and writes `succeeded` or `failed` with a `Failed` condition carrying
//! the message. A Job still active when the model starts (a killed operator) is run again and
//! resumes from the database's revision.
//!
//! Not modelled: pods of the Job, `backoffLimit` retries (one attempt; the registry
//! controller decides about re-creating), `activeDeadlineSeconds`.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt as _;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use serde_json::json;

use super::context::Context;
use super::migration::Migration;
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
    let controller = Controller::new(jobs, watcher::Config::default().labels(REGISTRY_LABEL)).run(
        reconcile,
        |_, _, _| Action::requeue(std::time::Duration::from_millis(500)),
        Arc::clone(&ctx),
    );
    ctx.reconciles.drive("Job", controller).await;
}

async fn reconcile(job: Arc<Job>, ctx: Arc<Context>) -> Result<Action, Error> {
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

/// The Job's container: returns when the Job has a final status (or the model stops).
async fn execute(job: Arc<Job>, ctx: Arc<Context>) {
    let ns = job.namespace().unwrap_or_default();
    let name = job.name_any();
    let outcome = migrate(&job, &ctx, &ns).await;
    let now = jiff::Timestamp::now().to_string();
    let status = match &outcome {
        Ok(()) => json!({
            "active": null, "succeeded": 1, "completionTime": now,
            "conditions": [{"type": "Complete", "status": "True", "lastTransitionTime": now}],
        }),
        Err(message) => json!({
            "active": null, "failed": 1,
            "conditions": [{
                "type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                "message": message, "lastTransitionTime": now,
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

async fn migrate(job: &Job, ctx: &Context, ns: &str) -> Result<(), String> {
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
    let version: QuayVersion = job
        .annotations()
        .get(VERSION_ANNOTATION)
        .or_else(|| env.get("QUAY_VERSION"))
        .ok_or("job names no quay version")?
        .parse()
        .map_err(|e: crate::quay::catalogue::Error| e.to_string())?;
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
    effective_preference(&bundle, &version, &env)?;
    let db_uri = bundle.db_uri().ok_or("DB_URI is not set in config.yaml")?;
    Migration {
        site: ctx.site.clone(),
        db_uri: db_uri.to_owned(),
        version,
        time_per_revision: ctx.opts.migration_time_per_revision,
    }
    .run(&ctx.opts.ledger)
    .await
}
