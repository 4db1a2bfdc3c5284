use serde_json::json;

use super::*;
use crate::sim::apiserver::resources::Catalog;

fn v1_type() -> Arc<ResourceType> {
    Catalog::builtin()
        .get("autoscaling", "v1", "horizontalpodautoscalers")
        .unwrap()
}

/// The quay-app HPA the operator renders (`quay.horizontalpodautoscalar.yaml`).
fn quay_hpa() -> Value {
    json!({
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "hpa-quay-app", "namespace": "ns", "resourceVersion": "7"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "hpa-quay-app"},
            "minReplicas": 2,
            "maxReplicas": 20,
            "metrics": [
                {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 90}}},
                {"type": "Resource", "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 90}}},
            ],
        },
        "status": {"currentReplicas": 2, "desiredReplicas": 2,
                   "conditions": [{"type": "AbleToScale", "status": "True"}]},
    })
}

#[test]
fn only_hpa_v1_is_served_by_conversion_from_v2() {
    let catalog = Catalog::builtin();
    let stored = stored(&catalog, &v1_type()).unwrap();
    assert_eq!(stored.api_version(), "autoscaling/v2");
    let v2 = catalog
        .get("autoscaling", "v2", "horizontalpodautoscalers")
        .unwrap();
    assert!(super::stored(&catalog, &v2).is_none());
    let deployments = catalog.get("apps", "v1", "deployments").unwrap();
    assert!(super::stored(&catalog, &deployments).is_none());
    assert_eq!(from_storage(&v2, quay_hpa()), quay_hpa());
}

#[test]
fn a_v2_hpa_reads_as_v1_with_its_cpu_target_and_the_rest_in_annotations() {
    let v1 = from_storage(&v1_type(), quay_hpa());
    assert_eq!(v1["apiVersion"], "autoscaling/v1");
    assert_eq!(v1["spec"]["minReplicas"], 2);
    assert_eq!(v1["spec"]["maxReplicas"], 20);
    assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 90);
    assert!(v1["spec"].get("metrics").is_none());
    assert_eq!(v1["status"]["currentReplicas"], 2);
    let annotations = &v1["metadata"]["annotations"];
    let others: Value = serde_json::from_str(annotations[METRICS].as_str().unwrap()).unwrap();
    assert_eq!(others[0]["resource"]["name"], "memory");
    assert!(
        annotations[CONDITIONS]
            .as_str()
            .unwrap()
            .contains("AbleToScale")
    );
    assert_eq!(v1["metadata"]["resourceVersion"], "7");
}

#[test]
fn a_v1_round_trip_changes_only_what_the_v1_client_changed() {
    let t = v1_type();
    let mut v1 = from_storage(&t, quay_hpa());
    v1["spec"]["minReplicas"] = json!(3);
    let v2 = to_storage(&t, v1);
    let mut expected = quay_hpa();
    expected["spec"]["minReplicas"] = json!(3);
    assert_eq!(v2, expected);
}

#[test]
fn a_v1_hpa_without_a_cpu_target_gets_the_default_metric() {
    let v2 = to_storage(
        &v1_type(),
        json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
               "metadata": {"name": "h"},
               "spec": {"maxReplicas": 3, "scaleTargetRef": {"kind": "Deployment", "name": "d"}}}),
    );
    assert_eq!(v2["apiVersion"], "autoscaling/v2");
    assert_eq!(
        v2["spec"]["metrics"],
        json!([{"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 80}}}])
    );
    assert!(v2["metadata"].get("annotations").is_none());
    let with_cpu = to_storage(
        &v1_type(),
        json!({"metadata": {"name": "h"}, "spec": {"maxReplicas": 3, "targetCPUUtilizationPercentage": 50},
               "status": {"currentCPUUtilizationPercentage": 40}}),
    );
    assert_eq!(
        with_cpu["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
        50
    );
    assert_eq!(
        with_cpu["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"],
        40
    );
}
