//! Names and shapes the Quay Operator gives the objects it writes, and the one question every
//! reader of those objects asks (is a pod ready), from reference/quay-operator.md §1.6.
//!
//! Facts only: no client calls, no controller. The operator model writes objects with these
//! names; the load balancer model, the blob tools, the CLI and the tests read them back.

use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};

/// Label every object carries: the registry name.
pub const REGISTRY_LABEL: &str = "quay-operator/quayregistry";
/// Label naming the component (`quay-app`, `quay-mirror`, `clair-app`, ...).
pub const COMPONENT_LABEL: &str = "quay-component";
/// Annotation on the Job and pod templates: the Quay version.
pub const VERSION_ANNOTATION: &str = "quay-operator/quay-version";
/// Annotation on the Job and pod templates: sha256 of the `config.yaml` they run with.
pub const CONFIG_HASH_ANNOTATION: &str = "quay-operator/config-hash";
/// Annotation on the pod templates: the hostname the pods serve as (`SERVER_HOSTNAME`, else the
/// generated Route host), as the operator's `quay-registry-hostname` annotation carries it.
pub const HOSTNAME_ANNOTATION: &str = "quay-registry-hostname";
/// The volume name pods and the Job use for the config Secret.
pub const CONFIG_VOLUME: &str = "configvolume";
/// The finalizer on the `QuayRegistry`.
pub const FINALIZER: &str = "quay-operator/finalizer";
/// The env var that sets a site's storage preference (on the `quay` and `mirror` components).
pub const PREFERENCE_ENV: &str = "QUAY_DISTRIBUTED_STORAGE_PREFERENCE";

/// The `ApiResource` of `api_version`/`kind`, with the plurals of the kinds Quay's objects use.
#[must_use]
pub fn api_resource(api_version: &str, kind: &str) -> ApiResource {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let plural = match kind {
        "QuayRegistry" => "quayregistries".to_owned(),
        "HorizontalPodAutoscaler" => "horizontalpodautoscalers".to_owned(),
        other => format!("{}s", other.to_lowercase()),
    };
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), &plural)
}

/// The `QuayRegistry` resource (`quay.redhat.com/v1`).
#[must_use]
pub fn quay_registry_resource() -> ApiResource {
    api_resource("quay.redhat.com/v1", "QuayRegistry")
}

/// A namespaced dynamic API for `api_version`/`kind`.
#[must_use]
pub fn dynamic_api(
    client: &Client,
    namespace: &str,
    api_version: &str,
    kind: &str,
) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), namespace, &api_resource(api_version, kind))
}

/// The storage preference in the env override of the `QuayRegistry` component `kind`
/// (`quay` or `mirror`), in order; empty when it has none.
#[must_use]
pub fn storage_preference(registry: &serde_json::Value, kind: &str) -> Vec<String> {
    registry["spec"]["components"]
        .as_array()
        .and_then(|components| components.iter().find(|c| c["kind"] == kind))
        .and_then(|c| c["overrides"]["env"].as_array())
        .and_then(|env| env.iter().find(|e| e["name"] == PREFERENCE_ENV))
        .and_then(|e| e["value"].as_str())
        .map(|v| v.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The [`CONFIG_HASH_ANNOTATION`] on the pod template of the first of `deployments` that
/// carries one.
#[must_use]
pub fn config_hash(deployments: &[k8s_openapi::api::apps::v1::Deployment]) -> Option<String> {
    deployments.iter().find_map(|d| {
        d.spec
            .as_ref()?
            .template
            .metadata
            .as_ref()?
            .annotations
            .as_ref()?
            .get(CONFIG_HASH_ANNOTATION)
            .cloned()
    })
}

/// Whether `pod` has condition `Ready=True`: what a Service's endpoints (and so a load
/// balancer) count as serving.
#[must_use]
pub fn is_pod_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_quay_storage_preference_in_order() {
        let registry = serde_json::json!({"spec": {"components": [
            {"kind": "mirror", "overrides": {"env": [{"name": "QUAY_DISTRIBUTED_STORAGE_PREFERENCE", "value": "x"}]}},
            {"kind": "quay", "overrides": {"env": [{"name": "QUAY_DISTRIBUTED_STORAGE_PREFERENCE", "value": "eu_west us_east"}]}}
        ]}});
        assert_eq!(
            storage_preference(&registry, "quay"),
            ["eu_west", "us_east"]
        );
    }

    #[test]
    fn plurals_of_the_kinds_quay_writes() {
        assert_eq!(quay_registry_resource().plural, "quayregistries");
        assert_eq!(quay_registry_resource().group, "quay.redhat.com");
        assert_eq!(
            api_resource("autoscaling/v2", "HorizontalPodAutoscaler").plural,
            "horizontalpodautoscalers"
        );
        assert_eq!(api_resource("v1", "Secret").plural, "secrets");
        assert_eq!(api_resource("v1", "Secret").group, "");
    }

    #[test]
    fn a_pod_is_ready_only_with_ready_true() {
        let pod = |conditions: serde_json::Value| -> Pod {
            serde_json::from_value(serde_json::json!({"status": {"conditions": conditions}}))
                .unwrap()
        };
        assert!(is_pod_ready(&pod(serde_json::json!([
            {"type": "ContainersReady", "status": "False"},
            {"type": "Ready", "status": "True"}
        ]))));
        assert!(!is_pod_ready(&pod(
            serde_json::json!([{"type": "Ready", "status": "False"}])
        )));
        assert!(!is_pod_ready(&pod(serde_json::json!([]))));
        assert!(!is_pod_ready(&Pod::default()));
    }
}
