//! kube-controller-manager's PersistentVolume controller with a dynamic provisioner behind
//! every StorageClass that names one, for the claims of a cluster with backing services.
//!
//! A claim without `storageClassName` gets the default class (the one annotated
//! `storageclass.kubernetes.io/is-default-class: "true"`), as Kubernetes 1.28+ assigns it
//! retroactively. A claim of an existing class whose provisioner is not
//! `kubernetes.io/no-provisioner` is bound (`spec.volumeName: pvc-<uid>`, `status.phase:
//! Bound`, its requested size as capacity), under `WaitForFirstConsumer` only once a pod
//! mounts it. A claim of a missing class stays `Pending` with a Warning Event
//! `ProvisioningFailed`: `storageclass.storage.k8s.io "<class>" not found` (what
//! `pkg/cmpstatus/database_status.go` quotes). Not modelled: PersistentVolume objects,
//! capacity, access modes, resizing, reclaiming.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, ResourceExt as _};
use serde_json::json;

use super::super::context::Context;
use crate::quay::dynamic_api;

/// The annotation marking the default StorageClass.
pub const DEFAULT_CLASS_ANNOTATION: &str = "storageclass.kubernetes.io/is-default-class";

/// Why a reconcile failed (it is retried).
#[derive(Debug, thiserror::Error)]
#[error("bind persistentvolumeclaim {namespace}/{name}")]
pub struct Error {
    /// Namespace.
    namespace: String,
    /// Name.
    name: String,
    /// Why.
    #[source]
    source: kube::Error,
}

/// How often an unbound claim is looked at again.
const RECHECK: Duration = Duration::from_millis(200);

/// Runs the controller until the task is aborted.
pub async fn run(ctx: Arc<Context>) {
    let claims: Api<PersistentVolumeClaim> = Api::all(ctx.client.clone());
    let controller = Controller::new(claims, watcher::Config::default()).run(
        reconcile,
        |_, _, _| Action::requeue(Duration::from_millis(500)),
        Arc::clone(&ctx),
    );
    ctx.reconciles
        .drive("PersistentVolumeClaim", controller)
        .await;
}

async fn reconcile(pvc: Arc<PersistentVolumeClaim>, ctx: Arc<Context>) -> Result<Action, Error> {
    let client = &ctx.client;
    let ns = pvc.namespace().unwrap_or_default();
    let name = pvc.name_any();
    let err = |source| Error {
        namespace: ns.clone(),
        name: name.clone(),
        source,
    };
    let phase = pvc.status.as_ref().and_then(|s| s.phase.as_deref());
    if phase == Some("Bound") {
        return Ok(Action::await_change());
    }
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns);
    if phase.is_none() {
        claims
            .patch_status(
                &name,
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {"phase": "Pending"}})),
            )
            .await
            .map_err(err)?;
    }
    let classes: Api<StorageClass> = Api::all(client.clone());
    let requested = pvc.spec.as_ref().and_then(|s| s.storage_class_name.clone());
    let Some(class_name) = requested else {
        let default = classes
            .list(&ListParams::default())
            .await
            .map_err(err)?
            .items
            .into_iter()
            .find(|c| {
                c.annotations()
                    .get(DEFAULT_CLASS_ANNOTATION)
                    .map(String::as_str)
                    == Some("true")
            });
        if let Some(default) = default {
            let patch = json!({"spec": {"storageClassName": default.name_any()}});
            claims
                .patch(&name, &PatchParams::default(), &Patch::Merge(patch))
                .await
                .map_err(err)?;
        }
        return Ok(Action::requeue(RECHECK));
    };
    let Some(class) = classes.get_opt(&class_name).await.map_err(err)? else {
        let message = format!("storageclass.storage.k8s.io \"{class_name}\" not found");
        provisioning_failed(client, &pvc, &message).await;
        return Ok(Action::requeue(Duration::from_secs(1)));
    };
    if class.provisioner == "kubernetes.io/no-provisioner" {
        return Ok(Action::await_change());
    }
    if class.volume_binding_mode.as_deref() == Some("WaitForFirstConsumer") {
        let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
        let consumed = pods
            .list(&ListParams::default())
            .await
            .map_err(err)?
            .items
            .iter()
            .any(|p| {
                p.spec
                    .as_ref()
                    .and_then(|s| s.volumes.as_ref())
                    .is_some_and(|v| {
                        v.iter().any(|v| {
                            v.persistent_volume_claim
                                .as_ref()
                                .is_some_and(|c| c.claim_name == name)
                        })
                    })
            });
        if !consumed {
            return Ok(Action::requeue(RECHECK));
        }
    }
    let volume = format!("pvc-{}", pvc.uid().unwrap_or_default());
    claims
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"volumeName": volume}})),
        )
        .await
        .map_err(err)?;
    let spec = pvc.spec.clone().unwrap_or_default();
    let capacity = spec.resources.and_then(|r| r.requests).unwrap_or_default();
    claims
        .patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {
                "phase": "Bound",
                "accessModes": spec.access_modes,
                "capacity": capacity,
            }})),
        )
        .await
        .map_err(err)?;
    Ok(Action::await_change())
}

/// Writes the `ProvisioningFailed` Event of `pvc` once (one name per claim).
async fn provisioning_failed(client: &Client, pvc: &PersistentVolumeClaim, message: &str) {
    let ns = pvc.namespace().unwrap_or_default();
    let now = jiff::Timestamp::now().to_string();
    let body = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": format!("{}.provisioning-failed", pvc.name_any()), "namespace": ns},
        "involvedObject": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                           "name": pvc.name_any(), "namespace": ns,
                           "uid": pvc.uid().unwrap_or_default()},
        "reason": "ProvisioningFailed",
        "type": "Warning",
        "message": message,
        "count": 1,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "source": {"component": "persistentvolume-controller"},
    });
    let Ok(object) = serde_json::from_value::<kube::api::DynamicObject>(body) else {
        return;
    };
    match dynamic_api(client, &ns, "v1", "Event")
        .create(&PostParams::default(), &object)
        .await
    {
        Ok(_) | Err(kube::Error::Api(_)) => {}
        Err(err) => tracing::debug!(%err, "write provisioning event"),
    }
}
