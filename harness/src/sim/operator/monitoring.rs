//! Whether the operator can run the `monitoring` component on this cluster.
//!
//! Follows upstream `controllers/quay/features.go` (`checkMonitoringAvailable`): the operator
//! must watch all namespaces (its `--namespace=$(WATCH_NAMESPACE)` empty, which OLM fills from
//! the OperatorGroup's `olm.targetNamespaces` annotation), the cluster must serve the
//! `monitoring.coreos.com/v1` `ServiceMonitor` and `PrometheusRule` APIs, and the
//! `openshift-config-managed` namespace must exist (the Grafana dashboard goes there). When the
//! check fails, a managed `monitoring` blocks the rollout with `RolloutBlocked` /
//! `MonitoringComponentDependencyError` ("could not check for monitoring support: ...",
//! `controllers/quay/quayregistry_controller.go`), and an omitted one defaults to unmanaged
//! (`EnsureDefaultComponents`, `apis/quay/v1/quayregistry_types.go`).

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;
use serde_json::Value;

use super::components::Blocked;
use super::context::Context;

/// The namespace the Grafana dashboard ConfigMap is written to.
pub const GRAFANA_NAMESPACE: &str = crate::sim::apiserver::OPENSHIFT_CONFIG_MANAGED;
/// The reason of a managed `monitoring` the cluster cannot support.
pub const REASON: &str = "MonitoringComponentDependencyError";

/// The CustomResourceDefinitions of the two APIs [`supported`] looks for (`ServiceMonitor`
/// and `PrometheusRule` in `monitoring.coreos.com/v1`): what an OpenShift cluster's monitoring
/// stack serves, and what the simulated OpenShift flavour serves by default
/// ([`crate::sim::apiserver::prometheus_crds`], defined there so the API server needs no
/// model).
#[must_use]
pub fn prometheus_crds() -> [Value; 2] {
    crate::sim::apiserver::prometheus_crds()
}

/// `Ok` when monitoring is supported; otherwise the operator's reason, as it words it.
///
/// # Errors
/// Why monitoring is not supported (a failed API call counts as not supported, as upstream).
pub async fn supported(ctx: &Context) -> Result<(), String> {
    if let Some(target) = watch_namespace(ctx).await {
        tracing::debug!(%target, "operator watches one namespace");
        return Err("monitoring is only supported in AllNamespaces mode".to_owned());
    }
    let served = ctx
        .client
        .list_api_group_resources("monitoring.coreos.com/v1")
        .await
        .map(|list| {
            list.resources
                .into_iter()
                .map(|r| r.name)
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    for (plural, kind) in [
        ("servicemonitors", "ServiceMonitorList"),
        ("prometheusrules", "PrometheusRuleList"),
    ] {
        if !served.iter().any(|r| r == plural) {
            return Err(format!(
                "no matches for kind \"{kind}\" in version \"monitoring.coreos.com/v1\""
            ));
        }
    }
    match Api::<Namespace>::all(ctx.client.clone())
        .get_opt(GRAFANA_NAMESPACE)
        .await
    {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(format!(
            "unable to get grafana namespace: namespaces \"{GRAFANA_NAMESPACE}\" not found"
        )),
        Err(e) => Err(format!("unable to get grafana namespace: {e}")),
    }
}

/// The blocked rollout of a managed `monitoring` that is not supported.
#[must_use]
pub fn blocked(why: &str) -> Blocked {
    Blocked {
        reason: REASON,
        message: format!("could not check for monitoring support: {why}"),
    }
}

/// The one namespace the operator watches, when it does not watch all: its Deployment's
/// `WATCH_NAMESPACE` env, given as a value or taken from the pod template's
/// `olm.targetNamespaces` annotation as OLM's CSV does.
async fn watch_namespace(ctx: &Context) -> Option<String> {
    let deployment = Api::<Deployment>::namespaced(ctx.client.clone(), &ctx.opts.namespace)
        .get_opt(&ctx.opts.deployment)
        .await
        .ok()??;
    let template = deployment.spec?.template;
    let env = template.spec?.containers.first()?.env.clone()?;
    let var = env.iter().find(|e| e.name == "WATCH_NAMESPACE")?;
    let value = match (&var.value, &var.value_from) {
        (Some(value), _) => value.clone(),
        (None, Some(from)) => {
            let path = from.field_ref.as_ref()?.field_path.clone();
            let key = path
                .strip_prefix("metadata.annotations['")?
                .strip_suffix("']")?
                .to_owned();
            template.metadata?.annotations?.get(&key)?.clone()
        }
        (None, None) => return None,
    };
    (!value.is_empty()).then_some(value)
}
