//! Versions of a built-in resource served by conversion: objects are stored in one version
//! and a request or response in another is converted at the edge, as kube-apiserver does
//! through its internal version.
//!
//! One such resource: `autoscaling/v1` `HorizontalPodAutoscaler`, stored as `autoscaling/v2`.
//! Follows Kubernetes' `pkg/apis/autoscaling/v1/conversion.go`: v1's
//! `targetCPUUtilizationPercentage` is v2's CPU `Utilization` metric (and
//! `currentCPUUtilizationPercentage` its current value); what v1 cannot express travels in
//! annotations so a read-modify-write through v1 keeps it: the other metrics in
//! `autoscaling.alpha.kubernetes.io/metrics`, `behavior` in `.../behavior`, the status's
//! `conditions` and `currentMetrics` in `.../conditions` and `.../current-metrics`. A v1
//! object with no metric at all gets the CPU 80% default on the way in, as upstream.
//!
//! Not reproduced: upstream encodes the annotations as its internal Go types (capitalised
//! field names); here they carry the v2 JSON. v2's own defaulting of an HPA created
//! without metrics is not modelled either.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::resources::{Catalog, ResourceType};

const METRICS: &str = "autoscaling.alpha.kubernetes.io/metrics";
const BEHAVIOR: &str = "autoscaling.alpha.kubernetes.io/behavior";
const CONDITIONS: &str = "autoscaling.alpha.kubernetes.io/conditions";
const CURRENT_METRICS: &str = "autoscaling.alpha.kubernetes.io/current-metrics";

/// The CPU utilisation an HPA without metrics targets (`autoscaling.DefaultCPUUtilization`).
const DEFAULT_CPU_UTILIZATION: i64 = 80;

/// The type objects of `t` are stored as, when `t` is served by conversion from it.
pub(super) fn stored(catalog: &Catalog, t: &ResourceType) -> Option<Arc<ResourceType>> {
    is_hpa_v1(t)
        .then(|| catalog.get(&t.group, "v2", &t.plural))
        .flatten()
}

fn is_hpa_v1(t: &ResourceType) -> bool {
    t.group == "autoscaling" && t.plural == "horizontalpodautoscalers" && t.version == "v1"
}

/// A stored object as clients of `t` see it (unchanged unless `t` is converted).
pub(super) fn from_storage(t: &ResourceType, object: Value) -> Value {
    if is_hpa_v1(t) && object["apiVersion"] == "autoscaling/v2" {
        hpa_v2_to_v1(object)
    } else {
        object
    }
}

/// An object sent by a client of `t`, in the stored version (unchanged unless `t` is
/// converted).
pub(super) fn to_storage(t: &ResourceType, object: Value) -> Value {
    if is_hpa_v1(t) && object.is_object() {
        hpa_v1_to_v2(object)
    } else {
        object
    }
}

fn is_cpu_utilization(metric: &Value) -> bool {
    metric["type"] == "Resource"
        && metric["resource"]["name"] == "cpu"
        && metric["resource"]["target"]["type"] == "Utilization"
        && metric["resource"]["target"]["averageUtilization"].is_number()
}

fn annotate(meta: &mut Value, key: &str, value: &Value) {
    if !meta["annotations"].is_object() {
        meta["annotations"] = json!({});
    }
    meta["annotations"][key] = json!(value.to_string());
}

fn hpa_v2_to_v1(v2: Value) -> Value {
    let mut v1 = Map::new();
    let mut meta = v2.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let spec = &v2["spec"];
    let metrics = spec["metrics"].as_array().cloned().unwrap_or_default();
    let cpu = metrics.iter().find(|m| is_cpu_utilization(m));
    let others: Vec<&Value> = metrics.iter().filter(|m| !is_cpu_utilization(m)).collect();
    if !others.is_empty() {
        annotate(&mut meta, METRICS, &json!(others));
    }
    if let Some(behavior) = spec.get("behavior").filter(|b| !b.is_null()) {
        annotate(&mut meta, BEHAVIOR, behavior);
    }
    let mut v1_spec = copied(spec, SPEC_KEYS);
    if let Some(cpu) = cpu {
        v1_spec.insert(
            "targetCPUUtilizationPercentage".into(),
            cpu["resource"]["target"]["averageUtilization"].clone(),
        );
    }
    if let Some(status) = v2.get("status").filter(|s| s.is_object()) {
        let mut v1_status = copied(status, STATUS_KEYS);
        let current = status["currentMetrics"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if let Some(utilization) = current
            .iter()
            .find(|m| m["type"] == "Resource" && m["resource"]["name"] == "cpu")
            .map(|m| &m["resource"]["current"]["averageUtilization"])
            .filter(|u| u.is_number())
        {
            v1_status.insert(
                "currentCPUUtilizationPercentage".into(),
                utilization.clone(),
            );
        }
        if !current.is_empty() {
            annotate(&mut meta, CURRENT_METRICS, &json!(current));
        }
        if let Some(conditions) = status["conditions"].as_array().filter(|c| !c.is_empty()) {
            annotate(&mut meta, CONDITIONS, &json!(conditions));
        }
        v1.insert("status".into(), Value::Object(v1_status));
    }
    v1.insert("apiVersion".into(), json!("autoscaling/v1"));
    v1.insert("kind".into(), json!("HorizontalPodAutoscaler"));
    v1.insert("metadata".into(), meta);
    v1.insert("spec".into(), Value::Object(v1_spec));
    Value::Object(v1)
}

/// Takes annotation `key` out of `meta`, parsed.
fn take(meta: &mut Value, key: &str) -> Option<Value> {
    let annotations = meta.get_mut("annotations")?.as_object_mut()?;
    let text = annotations.remove(key)?;
    serde_json::from_str(text.as_str()?).ok()
}

fn hpa_v1_to_v2(v1: Value) -> Value {
    let mut meta = v1.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let spec = &v1["spec"];
    let mut metrics = Vec::new();
    if let Some(cpu) = spec
        .get("targetCPUUtilizationPercentage")
        .filter(|c| c.is_number())
    {
        metrics.push(json!({"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": cpu}}}));
    }
    if let Some(Value::Array(others)) = take(&mut meta, METRICS) {
        metrics.extend(others);
    }
    if metrics.is_empty() {
        metrics.push(
            json!({"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}}}),
        );
    }
    let mut v2_spec = copied(spec, SPEC_KEYS);
    v2_spec.insert("metrics".into(), Value::Array(metrics));
    if let Some(behavior) = take(&mut meta, BEHAVIOR) {
        v2_spec.insert("behavior".into(), behavior);
    }
    let current = take(&mut meta, CURRENT_METRICS);
    let conditions = take(&mut meta, CONDITIONS);
    let mut v2 = Map::new();
    if let Some(status) = v1.get("status").filter(|s| s.is_object()) {
        let mut v2_status = copied(status, STATUS_KEYS);
        let current = current.or_else(|| {
            status
                .get("currentCPUUtilizationPercentage")
                .filter(|u| u.is_number())
                .map(|u| {
                    json!([{"type": "Resource", "resource": {
                        "name": "cpu", "current": {"averageUtilization": u}}}])
                })
        });
        if let Some(current) = current {
            v2_status.insert("currentMetrics".into(), current);
        }
        if let Some(conditions) = conditions {
            v2_status.insert("conditions".into(), conditions);
        }
        v2.insert("status".into(), Value::Object(v2_status));
    }
    if meta["annotations"].as_object().is_some_and(Map::is_empty)
        && let Some(m) = meta.as_object_mut()
    {
        m.remove("annotations");
    }
    v2.insert("apiVersion".into(), json!("autoscaling/v2"));
    v2.insert("kind".into(), json!("HorizontalPodAutoscaler"));
    v2.insert("metadata".into(), meta);
    v2.insert("spec".into(), Value::Object(v2_spec));
    Value::Object(v2)
}

/// The fields `autoscaling/v1` and `v2` spell alike in `spec` and in `status`.
const SPEC_KEYS: &[&str] = &["scaleTargetRef", "minReplicas", "maxReplicas"];
const STATUS_KEYS: &[&str] = &[
    "observedGeneration",
    "lastScaleTime",
    "currentReplicas",
    "desiredReplicas",
];

/// The `keys` of `from` that are present, copied.
fn copied(from: &Value, keys: &[&str]) -> Map<String, Value> {
    keys.iter()
        .filter_map(|key| from.get(*key).map(|v| ((*key).to_owned(), v.clone())))
        .collect()
}

#[cfg(test)]
mod tests;
