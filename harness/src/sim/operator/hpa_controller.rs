//! The HorizontalPodAutoscaler controller of kube-controller-manager, as far as it acts
//! without metrics: it keeps the target Deployment's `spec.replicas` within
//! `[minReplicas, maxReplicas]` (upstream kubernetes `pkg/controller/podautoscaler/horizontal.go`,
//! `reconcileAutoscaler`: above the maximum scales down to it, below the minimum scales up to
//! it, and a target scaled to 0 counts as autoscaling disabled). Started with the operator
//! model, it sees every HPA of the cluster, so also those the operator made while the
//! `horizontalpodautoscaler` component was managed: setting the component unmanaged does not
//! delete them (the operator deletes only what it renders, upstream
//! `controllers/quay/quayregistry_controller.go`), and they keep overriding explicit replicas.
//!
//! Not modelled: metrics (no scaling between the bounds), behaviour policies and
//! stabilization windows, the HPA's status.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::ResourceExt as _;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use serde_json::json;

use super::context::Context;

/// The field manager of the scale writes.
pub const FIELD_MANAGER: &str = "horizontal-pod-autoscaler";
/// How often each HPA looks at its target again: every second, where kube-controller-manager
/// defaults to 15 s, so that a test sees a fight without waiting.
const SYNC_PERIOD: Duration = Duration::from_secs(1);

/// Runs the controller until the task is aborted.
pub async fn run(ctx: Arc<Context>) {
    let hpas: Api<HorizontalPodAutoscaler> = Api::all(ctx.client.clone());
    let controller = Controller::new(hpas, watcher::Config::default()).run(
        reconcile,
        error_policy,
        Arc::clone(&ctx),
    );
    ctx.reconciles
        .drive("HorizontalPodAutoscaler", controller)
        .await;
}

fn error_policy(
    _obj: Arc<HorizontalPodAutoscaler>,
    _err: &kube::Error,
    _ctx: Arc<Context>,
) -> Action {
    Action::requeue(Duration::from_millis(500))
}

/// The replicas an HPA with `min`/`max` sets on a target at `current`, if it changes them.
#[must_use]
pub fn desired(current: i32, min: i32, max: i32) -> Option<i32> {
    if current == 0 && min != 0 {
        None
    } else if current > max {
        Some(max)
    } else if current < min {
        Some(min)
    } else {
        None
    }
}

async fn reconcile(
    hpa: Arc<HorizontalPodAutoscaler>,
    ctx: Arc<Context>,
) -> Result<Action, kube::Error> {
    let Some(spec) = hpa.spec.as_ref() else {
        return Ok(Action::await_change());
    };
    if spec.scale_target_ref.kind != "Deployment" {
        return Ok(Action::await_change());
    }
    let ns = hpa.namespace().unwrap_or_default();
    let deployments: Api<Deployment> = Api::namespaced(ctx.client.clone(), &ns);
    let Some(target) = deployments.get_opt(&spec.scale_target_ref.name).await? else {
        return Ok(Action::requeue(SYNC_PERIOD));
    };
    let current = target.spec.and_then(|s| s.replicas).unwrap_or(1);
    if let Some(replicas) = desired(current, spec.min_replicas.unwrap_or(1), spec.max_replicas) {
        tracing::debug!(hpa = %hpa.name_any(), current, replicas, "HPA rescales its target");
        deployments
            .patch(
                &spec.scale_target_ref.name,
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"replicas": replicas}})),
            )
            .await?;
    }
    Ok(Action::requeue(SYNC_PERIOD))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_are_kept_within_the_bounds_unless_scaled_to_zero() {
        assert_eq!(desired(1, 2, 20), Some(2));
        assert_eq!(desired(25, 2, 20), Some(20));
        assert_eq!(desired(3, 2, 20), None);
        assert_eq!(desired(0, 2, 20), None);
    }
}
