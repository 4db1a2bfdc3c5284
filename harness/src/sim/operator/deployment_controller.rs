//! The Deployment controller (kube-runtime `Controller` over Deployments labelled
//! `quay-operator/quayregistry`, owning Pods): simulated pods whose readiness follows Quay's
//! start-up checks.
//!
//! Per Deployment: one Pod per replica, `<deployment>-<template hash>-<index>`, with the
//! template's labels and annotations and an ownerReference to the Deployment; pods of an
//! older template or beyond `spec.replicas` are deleted (scale-down, rollout). A new pod stays
//! `Pending` for `pod_start_delay`, then quay-app and quay-mirror pods run
//! [`super::startup::run`] against the config Secret they mount: success makes them Ready;
//! failure leaves them unready with `Ready=False`, `state.waiting.reason = CrashLoopBackOff`
//! and the message, plus a Warning Event `<pod>.<suffix>`, and they are checked again every
//! `crash_loop_backoff`. Ready quay-app pods are reported to the [`crate::sim::ledger`]; they and
//! the ready clair-app pods are what [`super::ReadyPods`] reads.
//! Deployment status (`replicas`, `readyReplicas`, `availableReplicas`, `updatedReplicas`,
//! `observedGeneration`) follows.
//!
//! Not modelled: ReplicaSets, surge and unavailability budgets (all old pods go at once),
//! probes after start (a ready pod stays ready), Clair's start-up (clair pods are ready at
//! once), scheduling and nodes. Pods of the managed databases and Redis start as
//! [`super::managed::pods`] says on a cluster with backing services (ready at once without).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Resource as _, ResourceExt as _};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tokio::time::Instant;
use tokio_stream::StreamExt as _;

use super::context::{Context, PodState};
use super::images;
use super::managed;
use super::startup;
use crate::quay::ServingPod;
use crate::quay::bundle::{Bundle, database_identity};
use crate::quay::{
    COMPONENT_LABEL, CONFIG_HASH_ANNOTATION, CONFIG_VOLUME, HOSTNAME_ANNOTATION, QuayVersion,
    REGISTRY_LABEL, VERSION_ANNOTATION, dynamic_api, is_pod_ready,
};

/// The reason of the event that lists the storage locations a Quay pod's start-up checks
/// accepted without reaching them (source component `georep-sim`).
pub const UNCHECKED_REASON: &str = "StorageNotChecked";

/// Why a reconcile failed (it is retried).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An API call failed.
    #[error("{action} for deployment {namespace}/{name}")]
    Api {
        /// What was being done.
        action: String,
        /// Namespace.
        namespace: String,
        /// Deployment name.
        name: String,
        /// Why.
        #[source]
        source: kube::Error,
    },
}

/// Runs the controller until the task is aborted.
pub async fn run(ctx: Arc<Context>) {
    let deployments: Api<Deployment> = Api::all(ctx.client.clone());
    let selector = watcher::Config::default().labels(REGISTRY_LABEL);
    let controller = Controller::new(deployments, selector.clone())
        .owns(Api::<Pod>::all(ctx.client.clone()), selector)
        .run(
            reconcile,
            |_, _, _| Action::requeue(Duration::from_millis(500)),
            Arc::clone(&ctx),
        );
    ctx.reconciles.drive("Deployment", controller).await;
}

/// Forgets pods deleted by anyone (garbage collection, a namespace's deletion, kubectl):
/// they stop serving.
///
/// A deletion arrives as a `Delete` event, except while the watch is down: a watch that
/// falls behind the server's history (410 `Expired`, as a lagging watcher gets on a busy
/// cluster) makes the watcher list again, and a pod deleted meanwhile is simply absent from
/// that list. So after each re-list every pod still remembered but not listed is read once
/// more (it may have been created after the list) and forgotten if it is gone; without that,
/// a namespace deleted during the gap leaves its pods answering through the load balancer
/// forever.
pub async fn forget_deleted_pods(ctx: Arc<Context>) {
    let pods: Api<Pod> = Api::all(ctx.client.clone());
    let mut events = Box::pin(watcher(
        pods,
        watcher::Config::default().labels(REGISTRY_LABEL),
    ));
    let mut relisted: Option<BTreeSet<(String, String)>> = None;
    while let Some(event) = events.next().await {
        match event {
            Ok(watcher::Event::Delete(pod)) => {
                forget(&ctx, &pod.namespace().unwrap_or_default(), &pod.name_any());
            }
            Ok(watcher::Event::Init) => relisted = Some(BTreeSet::new()),
            Ok(watcher::Event::InitApply(pod)) => {
                if let Some(listed) = relisted.as_mut() {
                    listed.insert((pod.namespace().unwrap_or_default(), pod.name_any()));
                }
            }
            Ok(watcher::Event::InitDone) => {
                if let Some(listed) = relisted.take() {
                    forget_unlisted(&ctx, &listed).await;
                }
            }
            Ok(watcher::Event::Apply(_)) => {}
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Forgets the remembered pods missing from `listed` that a fresh read also finds gone.
async fn forget_unlisted(ctx: &Context, listed: &BTreeSet<(String, String)>) {
    let mut remembered: BTreeSet<(String, String)> = Context::lock(&ctx.serving)
        .keys()
        .chain(Context::lock(&ctx.ready_clair).iter())
        .cloned()
        .collect();
    remembered.extend(
        Context::lock(&ctx.pods)
            .keys()
            .filter_map(|k| k.split_once('/'))
            .map(|(ns, name)| (ns.to_owned(), name.to_owned())),
    );
    let mut unchecked: Vec<&(String, String)> = remembered.difference(listed).collect();
    // A read that fails is tried again a few times: another re-list may never come.
    for _ in 0..RECHECK_ATTEMPTS {
        let mut failed = Vec::new();
        for pod in unchecked {
            let (ns, name) = pod;
            match Api::<Pod>::namespaced(ctx.client.clone(), ns)
                .get_opt(name)
                .await
            {
                Ok(None) => forget(ctx, ns, name),
                Ok(Some(_)) => {}
                Err(_) => failed.push(pod),
            }
        }
        if failed.is_empty() {
            return;
        }
        unchecked = failed;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// How many times [`forget_unlisted`] reads a pod whose read failed (500 ms apart).
const RECHECK_ATTEMPTS: usize = 10;

fn key(ns: &str, name: &str) -> String {
    format!("{ns}/{name}")
}

fn forget(ctx: &Context, ns: &str, name: &str) {
    Context::lock(&ctx.pods).remove(&key(ns, name));
    Context::lock(&ctx.ready_clair).remove(&(ns.to_owned(), name.to_owned()));
    let gone = Context::lock(&ctx.serving).remove(&(ns.to_owned(), name.to_owned()));
    if gone.is_some() {
        ctx.opts.ledger.pod_gone(&ctx.site, name);
    }
    if let Some(backing) = &ctx.opts.backing {
        backing.dns.forget_pod(ns, name);
    }
}

#[allow(
    clippy::too_many_lines,
    reason = "one pass over the pods reads best in one place"
)]
async fn reconcile(deploy: Arc<Deployment>, ctx: Arc<Context>) -> Result<Action, Error> {
    let ns = deploy.namespace().unwrap_or_default();
    let name = deploy.name_any();
    let err = |action: &str| {
        let (action, namespace, name) = (action.to_owned(), ns.clone(), name.clone());
        move |source| Error::Api {
            action,
            namespace,
            name,
            source,
        }
    };
    let Some(spec) = deploy.spec.as_ref() else {
        return Ok(Action::await_change());
    };
    let desired = spec.replicas.unwrap_or(1).max(0);
    let template =
        serde_json::to_value(&spec.template).expect("a PodTemplateSpec always serialises to JSON");
    let hash = hex::encode(Sha256::digest(template.to_string().as_bytes()))[..10].to_owned();
    let prefix = format!("{name}-{hash}-");
    let uid = deploy.uid().unwrap_or_default();
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let selector = spec
        .selector
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let listed = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(err("list pods"))?;
    let mut current: Vec<Pod> = Vec::new();
    for pod in listed {
        let owned = pod.owner_references().iter().any(|o| o.uid == uid);
        if !owned {
            continue;
        }
        let pod_name = pod.name_any();
        let index = pod_name
            .strip_prefix(&prefix)
            .and_then(|i| i.parse::<i32>().ok());
        if index.is_some_and(|i| i < desired) && pod.meta().deletion_timestamp.is_none() {
            current.push(pod);
        } else {
            forget(&ctx, &ns, &pod_name);
            match pods.delete(&pod_name, &DeleteParams::default()).await {
                Ok(_) | Err(kube::Error::Api(_)) => {}
                Err(e) => return Err(err("delete pod")(e)),
            }
        }
    }
    let now = Instant::now();
    for i in 0..desired {
        let pod_name = format!("{prefix}{i}");
        if current.iter().any(|p| p.name_any() == pod_name) {
            continue;
        }
        let pod = new_pod(&deploy, &template, &pod_name, &hash);
        let created = match pods.create(&PostParams::default(), &pod).await {
            Ok(p) => p,
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(e) => return Err(err("create pod")(e)),
        };
        let pending = pod_status(&spec_container(&template), Outcome::Pending, 0);
        let created = pods
            .patch_status(
                &pod_name,
                &PatchParams::default(),
                &Patch::Merge(json!({"status": pending})),
            )
            .await
            .unwrap_or(created);
        Context::lock(&ctx.pods).insert(
            key(&ns, &pod_name),
            PodState {
                next_check: now + ctx.opts.pod_start_delay,
                restarts: 0,
                last_event: None,
            },
        );
        current.push(created);
    }

    let mut next_due: Option<Instant> = None;
    let mut ready = 0;
    for pod in &current {
        if is_pod_ready(pod) {
            ready += 1;
            continue;
        }
        let pod_name = pod.name_any();
        let state = Context::lock(&ctx.pods)
            .entry(key(&ns, &pod_name))
            .or_insert_with(|| PodState {
                next_check: now,
                restarts: 0,
                last_event: None,
            })
            .clone();
        if state.next_check > Instant::now() {
            next_due = Some(next_due.map_or(state.next_check, |d| d.min(state.next_check)));
            continue;
        }
        let outcome = start_pod(&ctx, &ns, pod, &template).await;
        let restarts = if matches!(outcome, Outcome::Crashing(_)) {
            state.restarts + 1
        } else {
            state.restarts
        };
        let status = pod_status(&spec_container(&template), outcome.clone(), restarts);
        let written = pods
            .patch_status(
                &pod_name,
                &PatchParams::default(),
                &Patch::Merge(json!({"status": status})),
            )
            .await;
        match written {
            Ok(_) => {}
            // Deleted since the list (its namespace went, say): `start_pod` may have counted
            // it ready already, and its Delete event may have come before that, so forget it
            // here or it would serve forever.
            Err(kube::Error::Api(s)) if s.code == 404 => {
                forget(&ctx, &ns, &pod_name);
                continue;
            }
            Err(e) => return Err(err("write pod status")(e)),
        }
        match outcome {
            Outcome::Ready => ready += 1,
            Outcome::Crashing(message) => {
                let due = Instant::now() + ctx.opts.crash_loop_backoff;
                next_due = Some(next_due.map_or(due, |d| d.min(due)));
                if state.last_event.as_deref() != Some(message.as_str()) {
                    back_off_event(&ctx, &ns, pod, &message).await;
                }
                Context::lock(&ctx.pods).insert(
                    key(&ns, &pod_name),
                    PodState {
                        next_check: due,
                        restarts,
                        last_event: Some(message),
                    },
                );
            }
            Outcome::Pending => {
                // Waiting for something outside the pod (a claim to bind): look again soon.
                let due = Instant::now() + ctx.opts.pod_start_delay;
                next_due = Some(next_due.map_or(due, |d| d.min(due)));
            }
        }
    }

    let status = json!({
        "replicas": current.len(),
        "readyReplicas": ready,
        "availableReplicas": ready,
        "updatedReplicas": current.len(),
        "observedGeneration": deploy.meta().generation,
    });
    let old = deploy
        .status
        .as_ref()
        .map(|s| serde_json::to_value(s).unwrap_or_default())
        .unwrap_or_default();
    let changed = status
        .as_object()
        .into_iter()
        .flatten()
        .any(|(k, v)| old.get(k).unwrap_or(&json!(0)) != v);
    if changed {
        Api::<Deployment>::namespaced(ctx.client.clone(), &ns)
            .patch_status(
                &name,
                &PatchParams::default(),
                &Patch::Merge(json!({ "status": status })),
            )
            .await
            .map_err(err("write deployment status"))?;
    }
    Ok(next_due.map_or_else(Action::await_change, |due| {
        Action::requeue(
            due.saturating_duration_since(Instant::now())
                .max(Duration::from_millis(10)),
        )
    }))
}

fn spec_container(template: &Value) -> (String, String) {
    let c = &template["spec"]["containers"][0];
    (
        c["name"].as_str().unwrap_or("quay-app").to_owned(),
        c["image"].as_str().unwrap_or_default().to_owned(),
    )
}

fn new_pod(deploy: &Deployment, template: &Value, name: &str, hash: &str) -> Pod {
    let mut metadata = template
        .get("metadata")
        .cloned()
        .unwrap_or_else(|| json!({}));
    metadata["name"] = json!(name);
    metadata["labels"]["pod-template-hash"] = json!(hash);
    metadata["ownerReferences"] = json!([{
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": deploy.name_any(),
        "uid": deploy.uid().unwrap_or_default(),
        "controller": true,
        "blockOwnerDeletion": true,
    }]);
    serde_json::from_value(json!({
        "metadata": metadata,
        "spec": template.get("spec").cloned().unwrap_or_else(|| json!({"containers": []})),
    }))
    .expect("a Deployment's pod template is a valid Pod")
}

/// How a pod's start went.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// Not started yet.
    Pending,
    /// Serving.
    Ready,
    /// Exited with this message.
    Crashing(String),
}

fn pod_status(container: &(String, String), outcome: Outcome, restarts: i32) -> Value {
    let now = jiff::Timestamp::now().to_string();
    let (name, image) = container;
    match outcome {
        Outcome::Pending => json!({
            "phase": "Pending",
            "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                            "message": format!("containers with unready status: [{name}]")}],
            "containerStatuses": [{"name": name, "image": image, "ready": false, "started": false,
                "restartCount": restarts, "state": {"waiting": {"reason": "ContainerCreating"}}}],
        }),
        Outcome::Ready => json!({
            "phase": "Running",
            "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": now},
                {"type": "ContainersReady", "status": "True", "lastTransitionTime": now},
            ],
            "containerStatuses": [{"name": name, "image": image, "ready": true, "started": true,
                "restartCount": restarts, "state": {"running": {"startedAt": now}}}],
        }),
        Outcome::Crashing(message) => json!({
            "phase": "Running",
            "conditions": [
                {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                 "message": message, "lastTransitionTime": now},
                {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady",
                 "message": message, "lastTransitionTime": now},
            ],
            "containerStatuses": [{"name": name, "image": image, "ready": false, "started": false,
                "restartCount": restarts,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": message}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "message": message,
                                             "finishedAt": now}}}],
        }),
    }
}

/// Starts one pod: Clair pods are ready at once; Quay pods run the start-up checks.
async fn start_pod(ctx: &Context, ns: &str, pod: &Pod, template: &Value) -> Outcome {
    let component = pod
        .labels()
        .get(COMPONENT_LABEL)
        .cloned()
        .unwrap_or_default();
    if let (Some(backing), "postgres" | "clair-postgres" | "redis") =
        (&ctx.opts.backing, component.as_str())
    {
        let deployment = pod
            .owner_references()
            .first()
            .map(|o| o.name.clone())
            .unwrap_or_default();
        let start = managed::pods::start(
            &ctx.client,
            backing,
            &ctx.site,
            ns,
            &pod.name_any(),
            &deployment,
            &component,
            template,
        )
        .await;
        return match start {
            managed::pods::Start::Ready => Outcome::Ready,
            managed::pods::Start::Waiting(_) => Outcome::Pending,
            managed::pods::Start::Failed(message) => Outcome::Crashing(message),
        };
    }
    if !matches!(component.as_str(), "quay-app" | "quay-mirror") {
        if component == "clair-app" {
            Context::lock(&ctx.ready_clair).insert((ns.to_owned(), pod.name_any()));
        }
        return Outcome::Ready;
    }
    let annotations = pod.annotations();
    let c = &template["spec"]["containers"][0];
    let env: BTreeMap<String, String> = c["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            Some((
                e["name"].as_str()?.to_owned(),
                e["value"].as_str().unwrap_or_default().to_owned(),
            ))
        })
        .collect();
    // A pod runs the version of its image (see `images`); the annotation is the fall-back
    // for an image whose tag names none.
    let from_image = c["image"].as_str().and_then(images::version_of_image);
    let Some(version) = from_image.or_else(|| {
        annotations
            .get(VERSION_ANNOTATION)
            .or_else(|| env.get("QUAY_VERSION"))
            .and_then(|v| v.parse::<QuayVersion>().ok())
    }) else {
        return Outcome::Crashing("the pod names no Quay version".to_owned());
    };
    let secret_name = template["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["name"] == CONFIG_VOLUME)
        .and_then(|v| v["secret"]["secretName"].as_str())
        .unwrap_or_default()
        .to_owned();
    let secret = match Api::<Secret>::namespaced(ctx.client.clone(), ns)
        .get_opt(&secret_name)
        .await
    {
        Ok(Some(s)) => s,
        Ok(None) => {
            return Outcome::Crashing(format!(
                "MountVolume.SetUp failed for volume \"{CONFIG_VOLUME}\": secret \"{secret_name}\" not found"
            ));
        }
        Err(e) => return Outcome::Crashing(format!("read config secret {secret_name}: {e}")),
    };
    let data = secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    let bundle = match Bundle::parse(&secret_name, data) {
        Ok(b) => b,
        Err(e) => return Outcome::Crashing(e.to_string()),
    };
    if let Some(failures) = extra_ca_failures(ctx, ns, template).await {
        return Outcome::Crashing(failures);
    }
    // The pod reaches the managed components' Services through the cluster's names.
    let reached = ctx
        .opts
        .backing
        .as_ref()
        .map_or_else(|| bundle.clone(), |b| b.dns.resolve_bundle(&bundle, ns));
    match startup::run(&reached, &version, &env).await {
        Err(message) => Outcome::Crashing(message),
        Ok(started) => {
            if !started.unchecked.is_empty() {
                // Not a Kubernetes event: the simulator saying what it took on trust.
                let message = format!(
                    "the simulator accepted without reaching them: {}",
                    started.unchecked.join("; ")
                );
                tracing::info!(pod = %pod.name_any(), %message, "start-up checks");
                event(
                    ctx,
                    ns,
                    pod,
                    (UNCHECKED_REASON, "Normal", "georep-sim"),
                    &message,
                )
                .await;
            }
            if component == "quay-app" {
                let serving = ServingPod {
                    site: ctx.site.clone(),
                    pod: pod.name_any(),
                    version,
                    database: reached.db_uri().map(database_identity).unwrap_or_default(),
                    revision: started.revision,
                    config_hash: annotations
                        .get(CONFIG_HASH_ANNOTATION)
                        .cloned()
                        .unwrap_or_else(|| bundle.config_hash()),
                    config_shape: bundle.config_shape(),
                    replication: bundle.replication(),
                    location: ctx.opts.storage_location.clone(),
                    preference: started.preference,
                    server_hostname: annotations
                        .get(HOSTNAME_ANNOTATION)
                        .cloned()
                        .or_else(|| bundle.server_hostname().map(str::to_owned)),
                };
                Context::lock(&ctx.serving)
                    .insert((ns.to_owned(), pod.name_any()), serving.clone());
                ctx.opts.ledger.pod_ready(serving);
            }
            Outcome::Ready
        }
    }
}

/// A kubelet's `BackOff` event for a container of `pod` that failed with `message`.
async fn back_off_event(ctx: &Context, ns: &str, pod: &Pod, message: &str) {
    let container = pod
        .spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .map_or("quay-app", |c| c.name.as_str());
    let message = format!(
        "Back-off restarting failed container {container} in pod {}: {message}",
        pod.name_any()
    );
    event(ctx, ns, pod, ("BackOff", "Warning", "kubelet"), &message).await;
}

/// Records an event on `pod`: `(reason, type, source component)` and `message`.
async fn event(ctx: &Context, ns: &str, pod: &Pod, what: (&str, &str, &str), message: &str) {
    let (reason, kind, source) = what;
    let now = jiff::Timestamp::now();
    let name = format!("{}.{:x}", pod.name_any(), now.as_nanosecond());
    let body = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": ns},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": pod.name_any(),
                           "namespace": ns, "uid": pod.uid().unwrap_or_default()},
        "reason": reason,
        "type": kind,
        "message": message,
        "count": 1,
        "firstTimestamp": now.to_string(),
        "lastTimestamp": now.to_string(),
        "source": {"component": source},
    });
    let api = dynamic_api(&ctx.client, ns, "v1", "Event");
    let object: kube::api::DynamicObject =
        serde_json::from_value(body).expect("the event body is a valid object");
    if let Err(err) = api.create(&PostParams::default(), &object).await {
        tracing::debug!(%err, "write pod event");
    }
}

/// The start-up failures of the extra CA certificates the pod template mounts
/// ([`super::startup_files::check_extra_ca_certs`]), joined; `None` when they pass or the pod
/// mounts none.
async fn extra_ca_failures(
    ctx: &Context,
    ns: &str,
    template: &serde_json::Value,
) -> Option<String> {
    let name = template["spec"]["volumes"]
        .as_array()?
        .iter()
        .find(|v| v["name"] == super::render::EXTRA_CA_VOLUME)?["secret"]["secretName"]
        .as_str()?
        .to_owned();
    let secret = match Api::<Secret>::namespaced(ctx.client.clone(), ns)
        .get_opt(&name)
        .await
    {
        Ok(Some(secret)) => secret,
        Ok(None) => {
            return Some(format!(
                "MountVolume.SetUp failed for volume \"{}\": secret \"{name}\" not found",
                super::render::EXTRA_CA_VOLUME
            ));
        }
        Err(e) => return Some(format!("read extra CA secret {name}: {e}")),
    };
    let files: BTreeMap<String, Vec<u8>> = secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    let failures = super::startup_files::check_extra_ca_certs(&files);
    (!failures.is_empty()).then(|| failures.join("; "))
}
