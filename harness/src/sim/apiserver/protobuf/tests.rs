use k8s_pb::api::apps::v1 as apps;
use k8s_pb::api::core::v1 as pb;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};
use prost::Message;
use serde_json::json;

use super::*;

fn envelope(api_version: &str, kind: &str, object: &impl Message) -> Vec<u8> {
    let unknown = Unknown {
        type_meta: Some(TypeMeta {
            api_version: Some(api_version.into()),
            kind: Some(kind.into()),
        }),
        raw: Some(object.encode_to_vec()),
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    };
    let mut body = b"k8s\0".to_vec();
    body.extend(unknown.encode_to_vec());
    body
}

/// What `kubectl create deployment web --image=nginx --port=80` sends, with the zero values
/// Go's marshaller writes for non-pointer fields.
fn kubectl_deployment() -> apps::Deployment {
    let labels = std::collections::BTreeMap::from([("app".to_owned(), "web".to_owned())]);
    let container = pb::Container {
        name: Some("nginx".into()),
        image: Some("nginx".into()),
        working_dir: Some(String::new()),
        ports: vec![pb::ContainerPort {
            name: Some(String::new()),
            host_port: Some(0),
            container_port: Some(80),
            protocol: Some(String::new()),
            host_ip: Some(String::new()),
        }],
        resources: Some(pb::ResourceRequirements::default()),
        termination_message_path: Some(String::new()),
        image_pull_policy: Some(String::new()),
        stdin: Some(false),
        tty: Some(false),
        ..Default::default()
    };
    apps::Deployment {
        metadata: Some(meta::ObjectMeta {
            name: Some("web".into()),
            labels: labels.clone(),
            uid: Some(String::new()),
            creation_timestamp: Some(meta::Time::default()),
            ..Default::default()
        }),
        spec: Some(apps::DeploymentSpec {
            replicas: Some(1),
            selector: Some(meta::LabelSelector {
                match_labels: labels.clone(),
                ..Default::default()
            }),
            template: Some(pb::PodTemplateSpec {
                metadata: Some(meta::ObjectMeta {
                    labels,
                    ..Default::default()
                }),
                spec: Some(pb::PodSpec {
                    containers: vec![container],
                    restart_policy: Some(String::new()),
                    host_network: Some(false),
                    ..Default::default()
                }),
            }),
            strategy: Some(apps::DeploymentStrategy::default()),
            min_ready_seconds: Some(0),
            paused: Some(false),
            ..Default::default()
        }),
        status: Some(apps::DeploymentStatus {
            replicas: Some(0),
            ..Default::default()
        }),
    }
}

#[test]
fn a_deployment_converts_to_the_json_kubectl_would_send() {
    let body = envelope("apps/v1", "Deployment", &kubectl_deployment());
    let object = decode("apps/v1", "Deployment", &body).unwrap();
    assert_eq!(
        object,
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{
                        "name": "nginx",
                        "image": "nginx",
                        "ports": [{"containerPort": 80}],
                        "resources": {},
                    }]},
                },
                "strategy": {},
            },
        })
    );
}

#[test]
fn a_field_without_a_converter_is_refused_not_dropped() {
    let mut deployment = kubectl_deployment();
    let spec = deployment.spec.as_mut().and_then(|s| s.template.as_mut());
    let pod = spec.and_then(|t| t.spec.as_mut()).unwrap();
    pod.volumes.push(pb::Volume {
        name: Some("data".into()),
        ..Default::default()
    });
    let body = envelope("apps/v1", "Deployment", &deployment);
    assert_eq!(
        decode("apps/v1", "Deployment", &body),
        Err(Error::Unconverted {
            message: "PodSpec",
            field: 1
        })
    );
}

#[test]
fn decodes_the_namespace_kubectl_create_sends() {
    // Bytes captured from `kubectl create namespace foo` (1.32).
    let mut body = b"k8s\0".to_vec();
    body.extend_from_slice(&[0x0a, 0x0f, 0x0a, 0x02, b'v', b'1', 0x12, 0x09]);
    body.extend_from_slice(b"Namespace");
    body.extend_from_slice(&[
        0x12, 0x1b, 0x0a, 0x13, 0x0a, 0x03, b'f', b'o', b'o', 0x12, 0x00, 0x1a, 0x00, 0x22, 0x00,
        0x2a, 0x00, 0x32, 0x00, 0x38, 0x00, 0x42, 0x00, 0x12, 0x00, 0x1a, 0x02, 0x0a, 0x00, 0x1a,
        0x00, 0x22, 0x00,
    ]);
    let ns = decode("v1", "Namespace", &body).unwrap();
    assert_eq!(
        ns,
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "foo"}, "spec": {}})
    );
}

#[test]
fn a_kind_without_a_converter_is_unsupported() {
    let body = envelope("v1", "Endpoints", &pb::Endpoints::default());
    assert_eq!(
        decode("v1", "Endpoints", &body),
        Err(Error::UnsupportedKind {
            kind: "Endpoints".into()
        })
    );
}

#[test]
fn rejects_body_without_magic() {
    assert_eq!(decode("v1", "Namespace", b"{}"), Err(Error::Magic));
}
