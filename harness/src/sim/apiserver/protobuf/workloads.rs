//! Converters for the workload and networking kinds (Pod, Deployment, Job, Ingress,
//! HorizontalPodAutoscaler) from `k8s-pb` messages to JSON.

use k8s_pb::api::apps::v1 as apps;
use k8s_pb::api::autoscaling::v2 as autoscaling;
use k8s_pb::api::batch::v1 as batch;
use k8s_pb::api::core::v1 as pb;
use k8s_pb::api::networking::v1 as networking;
use serde_json::Value;

use super::core_kinds::{label_selector, metadata, pod_spec, pod_template};
use super::error::Error;
use super::fields::Obj;

pub(super) fn pod(mut p: pb::Pod) -> Result<Value, Error> {
    let mut o = Obj::new();
    metadata(&mut o, p.metadata.take())?;
    o.msg("spec", p.spec.take(), pod_spec)?;
    p.status = None;
    o.finish("Pod", &p)
}

pub(super) fn deployment(mut d: apps::Deployment) -> Result<Value, Error> {
    let mut o = Obj::new();
    metadata(&mut o, d.metadata.take())?;
    o.msg("spec", d.spec.take(), |mut s: apps::DeploymentSpec| {
        let mut o = Obj::new();
        o.int("replicas", s.replicas.take())
            .msg("selector", s.selector.take(), label_selector)?
            .msg("template", s.template.take(), pod_template)?
            .msg("strategy", s.strategy.take(), strategy)?;
        o.int_nz("minReadySeconds", s.min_ready_seconds.take())
            .int("revisionHistoryLimit", s.revision_history_limit.take())
            .bool_true("paused", s.paused.take())
            .int(
                "progressDeadlineSeconds",
                s.progress_deadline_seconds.take(),
            );
        o.finish("DeploymentSpec", &s)
    })?;
    d.status = None;
    o.finish("Deployment", &d)
}

fn strategy(mut s: apps::DeploymentStrategy) -> Result<Value, Error> {
    let mut o = Obj::new();
    o.str("type", s.r#type.take()).msg(
        "rollingUpdate",
        s.rolling_update.take(),
        |mut r: apps::RollingUpdateDeployment| {
            let mut o = Obj::new();
            o.int_or_string("maxUnavailable", r.max_unavailable.take())
                .int_or_string("maxSurge", r.max_surge.take());
            o.finish("RollingUpdateDeployment", &r)
        },
    )?;
    o.finish("DeploymentStrategy", &s)
}

pub(super) fn job(mut j: batch::Job) -> Result<Value, Error> {
    let mut o = Obj::new();
    metadata(&mut o, j.metadata.take())?;
    o.msg("spec", j.spec.take(), |mut s: batch::JobSpec| {
        let mut o = Obj::new();
        o.int("parallelism", s.parallelism.take())
            .int("completions", s.completions.take())
            .int("activeDeadlineSeconds", s.active_deadline_seconds.take())
            .int("backoffLimit", s.backoff_limit.take())
            .int("backoffLimitPerIndex", s.backoff_limit_per_index.take())
            .int("maxFailedIndexes", s.max_failed_indexes.take())
            .msg("selector", s.selector.take(), label_selector)?
            .bool("manualSelector", s.manual_selector.take())
            .msg("template", s.template.take(), pod_template)?
            .int(
                "ttlSecondsAfterFinished",
                s.ttl_seconds_after_finished.take(),
            )
            .str("completionMode", s.completion_mode.take())
            .bool("suspend", s.suspend.take())
            .str("podReplacementPolicy", s.pod_replacement_policy.take())
            .str("managedBy", s.managed_by.take());
        o.finish("JobSpec", &s)
    })?;
    j.status = None;
    o.finish("Job", &j)
}

pub(super) fn ingress(mut i: networking::Ingress) -> Result<Value, Error> {
    let mut o = Obj::new();
    metadata(&mut o, i.metadata.take())?;
    o.msg("spec", i.spec.take(), |mut s: networking::IngressSpec| {
        let mut o = Obj::new();
        o.str("ingressClassName", s.ingress_class_name.take())
            .msg("defaultBackend", s.default_backend.take(), ingress_backend)?
            .list(
                "tls",
                std::mem::take(&mut s.tls),
                |mut t: networking::IngressTls| {
                    let mut o = Obj::new();
                    o.strs("hosts", std::mem::take(&mut t.hosts))
                        .str("secretName", t.secret_name.take());
                    o.finish("IngressTLS", &t)
                },
            )?
            .list("rules", std::mem::take(&mut s.rules), ingress_rule)?;
        o.finish("IngressSpec", &s)
    })?;
    i.status = None;
    o.finish("Ingress", &i)
}

fn ingress_rule(mut r: networking::IngressRule) -> Result<Value, Error> {
    let mut o = Obj::new();
    o.str("host", r.host.take());
    // `IngressRuleValue` is inlined in JSON: its `http` sits on the rule itself.
    if let Some(mut value) = r.ingress_rule_value.take() {
        o.msg(
            "http",
            value.http.take(),
            |mut h: networking::HttpIngressRuleValue| {
                let mut o = Obj::new();
                o.list(
                    "paths",
                    std::mem::take(&mut h.paths),
                    |mut p: networking::HttpIngressPath| {
                        let mut o = Obj::new();
                        o.str("path", p.path.take())
                            .str("pathType", p.path_type.take())
                            .msg("backend", p.backend.take(), ingress_backend)?;
                        o.finish("HTTPIngressPath", &p)
                    },
                )?;
                o.finish("HTTPIngressRuleValue", &h)
            },
        )?;
        Obj::new().finish("IngressRuleValue", &value)?;
    }
    o.finish("IngressRule", &r)
}

fn ingress_backend(mut b: networking::IngressBackend) -> Result<Value, Error> {
    let mut o = Obj::new();
    o.msg(
        "service",
        b.service.take(),
        |mut s: networking::IngressServiceBackend| {
            let mut o = Obj::new();
            o.str("name", s.name.take()).msg(
                "port",
                s.port.take(),
                |mut p: networking::ServiceBackendPort| {
                    let mut o = Obj::new();
                    o.str("name", p.name.take())
                        .int_nz("number", p.number.take());
                    o.finish("ServiceBackendPort", &p)
                },
            )?;
            o.finish("IngressServiceBackend", &s)
        },
    )?;
    o.finish("IngressBackend", &b)
}

pub(super) fn hpa(mut h: autoscaling::HorizontalPodAutoscaler) -> Result<Value, Error> {
    let mut o = Obj::new();
    metadata(&mut o, h.metadata.take())?;
    o.msg(
        "spec",
        h.spec.take(),
        |mut s: autoscaling::HorizontalPodAutoscalerSpec| {
            let mut o = Obj::new();
            o.msg(
                "scaleTargetRef",
                s.scale_target_ref.take(),
                |mut r: autoscaling::CrossVersionObjectReference| {
                    let mut o = Obj::new();
                    o.str("apiVersion", r.api_version.take())
                        .str("kind", r.kind.take())
                        .str("name", r.name.take());
                    o.finish("CrossVersionObjectReference", &r)
                },
            )?
            .int("minReplicas", s.min_replicas.take())
            .int("maxReplicas", s.max_replicas.take())
            .list("metrics", std::mem::take(&mut s.metrics), metric)?;
            o.finish("HorizontalPodAutoscalerSpec", &s)
        },
    )?;
    h.status = None;
    o.finish("HorizontalPodAutoscaler", &h)
}

/// A `Resource` metric (what `kubectl autoscale --cpu-percent` makes); other metric
/// sources are refused.
fn metric(mut m: autoscaling::MetricSpec) -> Result<Value, Error> {
    let mut o = Obj::new();
    o.str("type", m.r#type.take()).msg(
        "resource",
        m.resource.take(),
        |mut r: autoscaling::ResourceMetricSource| {
            let mut o = Obj::new();
            o.str("name", r.name.take()).msg(
                "target",
                r.target.take(),
                |mut t: autoscaling::MetricTarget| {
                    let mut o = Obj::new();
                    o.str("type", t.r#type.take())
                        .int("averageUtilization", t.average_utilization.take());
                    if let Some(q) = t.value.take() {
                        o.set("value", serde_json::json!(q.string.unwrap_or_default()));
                    }
                    if let Some(q) = t.average_value.take() {
                        o.set(
                            "averageValue",
                            serde_json::json!(q.string.unwrap_or_default()),
                        );
                    }
                    o.finish("MetricTarget", &t)
                },
            )?;
            o.finish("ResourceMetricSource", &r)
        },
    )?;
    o.finish("MetricSpec", &m)
}
