//! Converters for the core/v1 kinds and the shared pieces (object metadata, label selectors,
//! pod specs and containers) from `k8s-pb` messages to JSON.

use k8s_pb::api::core::v1 as pb;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use serde_json::Value;

use super::error::Error;
use super::fields::Obj;

/// `ObjectMeta`: what a client may set on create. The server-owned fields (`uid`,
/// `resourceVersion`, `creationTimestamp`, `generation`, `managedFields`, ...) are dropped,
/// as the real API server resets them on create.
pub(super) fn object_meta(mut m: meta::ObjectMeta) -> Result<Value, Error> {
    let mut o = Obj::new();
    o.str("name", m.name.take())
        .str("generateName", m.generate_name.take())
        .str("namespace", m.namespace.take())
        .str_map("labels", std::mem::take(&mut m.labels))
        .str_map("annotations", std::mem::take(&mut m.annotations))
        .strs("finalizers", std::mem::take(&mut m.finalizers));
    o.list(
        "ownerReferences",
        std::mem::take(&mut m.owner_references),
        owner_reference,
    )?;
    o.finish("ObjectMeta", &meta::ObjectMeta::default())
}

fn owner_reference(mut r: meta::OwnerReference) -> Result<Value, Error> {
    let mut o = Obj::new();
    o.str("apiVersion", r.api_version.take())
        .str("kind", r.kind.take())
        .str("name", r.name.take())
        .str("uid", r.uid.take())
        .bool("controller", r.controller.take())
        .bool("blockOwnerDeletion", r.block_owner_deletion.take());
    o.finish("OwnerReference", &r)
}

/// `LabelSelector`.
pub(super) fn label_selector(mut s: meta::LabelSelector) -> Result<Value, Error> {
    let mut o = Obj::new();
    o.str_map("matchLabels", std::mem::take(&mut s.match_labels));
    o.list(
        "matchExpressions",
        std::mem::take(&mut s.match_expressions),
        |mut r: meta::LabelSelectorRequirement| {
            let mut o = Obj::new();
            o.str("key", r.key.take())
                .str("operator", r.operator.take())
                .strs("values", std::mem::take(&mut r.values));
            o.finish("LabelSelectorRequirement", &r)
        },
    )?;
    o.finish("LabelSelector", &s)
}

/// The `metadata` of a top-level object (always present in JSON, even if empty).
pub(super) fn metadata(o: &mut Obj, m: Option<meta::ObjectMeta>) -> Result<(), Error> {
    o.set("metadata", object_meta(m.unwrap_or_default())?);
    Ok(())
}

pub(super) fn namespace(mut n: pb::Namespace) -> Result<Value, Error> {
    let mut o = Obj::new();
    metadata(&mut o, n.metadata.take())?;
    o.msg("spec", n.spec.take(), |mut s: pb::NamespaceSpec| {
        let mut o = Obj::new();
        o.strs("finalizers", std::mem::take(&mut s.finalizers));
        o.finish("NamespaceSpec", &s)
    })?;
    // Status is the server's on create.
    n.status = None;
    o.finish("Namespace", &n)
}

pub(super) fn secret(mut s: pb::Secret) -> Result<Value, Error> {
    let mut o = Obj::new();
    metadata(&mut o, s.metadata.take())?;
    o.bytes_map("data", std::mem::take(&mut s.data))
        .str_map("stringData", std::mem::take(&mut s.string_data))
        .str("type", s.r#type.take())
        .bool("immutable", s.immutable.take());
    o.finish("Secret", &s)
}

pub(super) fn config_map(mut c: pb::ConfigMap) -> Result<Value, Error> {
    let mut o = Obj::new();
    metadata(&mut o, c.metadata.take())?;
    o.str_map("data", std::mem::take(&mut c.data))
        .bytes_map("binaryData", std::mem::take(&mut c.binary_data))
        .bool("immutable", c.immutable.take());
    o.finish("ConfigMap", &c)
}

fn local_ref(mut r: pb::LocalObjectReference) -> Result<Value, Error> {
    let mut o = Obj::new();
    o.str("name", r.name.take());
    o.finish("LocalObjectReference", &r)
}

pub(super) fn service_account(mut a: pb::ServiceAccount) -> Result<Value, Error> {
    let mut o = Obj::new();
    metadata(&mut o, a.metadata.take())?;
    o.list(
        "imagePullSecrets",
        std::mem::take(&mut a.image_pull_secrets),
        local_ref,
    )?
    .bool(
        "automountServiceAccountToken",
        a.automount_service_account_token.take(),
    );
    o.finish("ServiceAccount", &a)
}

pub(super) fn service(mut s: pb::Service) -> Result<Value, Error> {
    let mut o = Obj::new();
    metadata(&mut o, s.metadata.take())?;
    o.msg("spec", s.spec.take(), service_spec)?;
    s.status = None;
    o.finish("Service", &s)
}

fn service_spec(mut s: pb::ServiceSpec) -> Result<Value, Error> {
    let mut o = Obj::new();
    o.list(
        "ports",
        std::mem::take(&mut s.ports),
        |mut p: pb::ServicePort| {
            let mut o = Obj::new();
            o.str("name", p.name.take())
                .str("protocol", p.protocol.take())
                .str("appProtocol", p.app_protocol.take())
                .int("port", p.port.take())
                .int_or_string("targetPort", p.target_port.take())
                .int_nz("nodePort", p.node_port.take());
            o.finish("ServicePort", &p)
        },
    )?;
    o.str_map("selector", std::mem::take(&mut s.selector))
        .str("clusterIP", s.cluster_ip.take())
        .strs("clusterIPs", std::mem::take(&mut s.cluster_ips))
        .str("type", s.r#type.take())
        .strs("externalIPs", std::mem::take(&mut s.external_ips))
        .str("sessionAffinity", s.session_affinity.take())
        .str("loadBalancerIP", s.load_balancer_ip.take())
        .strs(
            "loadBalancerSourceRanges",
            std::mem::take(&mut s.load_balancer_source_ranges),
        )
        .str("externalName", s.external_name.take())
        .str("externalTrafficPolicy", s.external_traffic_policy.take())
        .int_nz("healthCheckNodePort", s.health_check_node_port.take())
        .bool_true(
            "publishNotReadyAddresses",
            s.publish_not_ready_addresses.take(),
        )
        .strs("ipFamilies", std::mem::take(&mut s.ip_families))
        .str("ipFamilyPolicy", s.ip_family_policy.take())
        .bool(
            "allocateLoadBalancerNodePorts",
            s.allocate_load_balancer_node_ports.take(),
        )
        .str("loadBalancerClass", s.load_balancer_class.take())
        .str("internalTrafficPolicy", s.internal_traffic_policy.take())
        .str("trafficDistribution", s.traffic_distribution.take());
    o.finish("ServiceSpec", &s)
}

/// `PodTemplateSpec` (Deployments, Jobs).
pub(super) fn pod_template(mut t: pb::PodTemplateSpec) -> Result<Value, Error> {
    let mut o = Obj::new();
    metadata(&mut o, t.metadata.take())?;
    o.msg("spec", t.spec.take(), pod_spec)?;
    o.finish("PodTemplateSpec", &t)
}

/// `PodSpec`: the fields kubectl's generators and `run` set, and the common scheduling
/// ones. Volumes, probes, security contexts and affinity are refused (send JSON).
pub(super) fn pod_spec(mut s: pb::PodSpec) -> Result<Value, Error> {
    let mut o = Obj::new();
    o.list("containers", std::mem::take(&mut s.containers), container)?
        .list(
            "initContainers",
            std::mem::take(&mut s.init_containers),
            container,
        )?
        .list(
            "imagePullSecrets",
            std::mem::take(&mut s.image_pull_secrets),
            local_ref,
        )?;
    o.str("restartPolicy", s.restart_policy.take())
        .int(
            "terminationGracePeriodSeconds",
            s.termination_grace_period_seconds.take(),
        )
        .int("activeDeadlineSeconds", s.active_deadline_seconds.take())
        .str("dnsPolicy", s.dns_policy.take())
        .str_map("nodeSelector", std::mem::take(&mut s.node_selector))
        .str("serviceAccountName", s.service_account_name.take())
        .str("serviceAccount", s.service_account.take())
        .bool(
            "automountServiceAccountToken",
            s.automount_service_account_token.take(),
        )
        .str("nodeName", s.node_name.take())
        .bool_true("hostNetwork", s.host_network.take())
        .bool_true("hostPID", s.host_pid.take())
        .bool_true("hostIPC", s.host_ipc.take())
        .str("hostname", s.hostname.take())
        .str("subdomain", s.subdomain.take())
        .str("schedulerName", s.scheduler_name.take())
        .str("priorityClassName", s.priority_class_name.take())
        .int("priority", s.priority.take())
        .str("runtimeClassName", s.runtime_class_name.take())
        .bool("enableServiceLinks", s.enable_service_links.take())
        .str("preemptionPolicy", s.preemption_policy.take());
    o.finish("PodSpec", &s)
}

fn container(mut c: pb::Container) -> Result<Value, Error> {
    let mut o = Obj::new();
    o.str("name", c.name.take())
        .str("image", c.image.take())
        .strs("command", std::mem::take(&mut c.command))
        .strs("args", std::mem::take(&mut c.args))
        .str("workingDir", c.working_dir.take());
    o.list(
        "ports",
        std::mem::take(&mut c.ports),
        |mut p: pb::ContainerPort| {
            let mut o = Obj::new();
            o.str("name", p.name.take())
                .int_nz("hostPort", p.host_port.take())
                .int("containerPort", p.container_port.take())
                .str("protocol", p.protocol.take())
                .str("hostIP", p.host_ip.take());
            o.finish("ContainerPort", &p)
        },
    )?
    .list("env", std::mem::take(&mut c.env), |mut e: pb::EnvVar| {
        let mut o = Obj::new();
        o.str("name", e.name.take()).str("value", e.value.take());
        o.finish("EnvVar", &e)
    })?
    .msg(
        "resources",
        c.resources.take(),
        |mut r: pb::ResourceRequirements| {
            let mut o = Obj::new();
            o.quantities("limits", std::mem::take(&mut r.limits))
                .quantities("requests", std::mem::take(&mut r.requests));
            o.finish("ResourceRequirements", &r)
        },
    )?;
    o.str("terminationMessagePath", c.termination_message_path.take())
        .str(
            "terminationMessagePolicy",
            c.termination_message_policy.take(),
        )
        .str("imagePullPolicy", c.image_pull_policy.take())
        .bool_true("stdin", c.stdin.take())
        .bool_true("stdinOnce", c.stdin_once.take())
        .bool_true("tty", c.tty.take());
    o.finish("Container", &c)
}
