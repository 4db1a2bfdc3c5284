//! The Kubernetes protobuf encoding of request bodies, decoded with `k8s-pb` (kube-rs's
//! generated prost types) and converted to the JSON the store keeps.
//!
//! kubectl's typed `create` generators (`create deployment`, `create service clusterip`,
//! `create job`, `create serviceaccount`, `create secret`, `create configmap`, `create
//! ingress`, `create namespace`; `run` for a Pod) send `application/vnd.kubernetes.protobuf`
//! bodies: the `k8s\0` magic, then a `runtime.Unknown` envelope whose `raw` bytes are the
//! object. Every built-in kind the simulator serves is accepted here; custom resources and
//! the kinds without a converter answer 415, so kubectl falls back to JSON.
//!
//! Each converter takes the fields it knows out of the message and refuses (400, naming
//! the message and field number) any other field holding a value: a protobuf body never
//! loses data silently. Replies are always JSON. The conversions follow the JSON names of
//! the Kubernetes API (`k8s.io/api/*/generated.proto`).

mod core_kinds;
mod error;
mod fields;
mod workloads;

pub use error::Error;

use k8s_pb::apimachinery::pkg::runtime::Unknown;
use prost::Message;
use serde_json::{Value, json};

fn parse<M: Message + Default>(raw: &[u8]) -> Result<M, Error> {
    M::decode(raw).map_err(|e| Error::Malformed(e.to_string()))
}

/// Decode a protobuf-encoded object of `kind`, served at `api_version`, into its JSON form.
///
/// # Errors
/// [`Error::Magic`] or [`Error::Malformed`] for a body that is not a protobuf object,
/// [`Error::UnsupportedKind`] for kinds without a converter, [`Error::Unconverted`] for a
/// field the converter does not know.
pub fn decode(api_version: &str, kind: &str, body: &[u8]) -> Result<Value, Error> {
    use k8s_pb::api::{apps, autoscaling, batch, core as pb, networking};
    let payload = body.strip_prefix(b"k8s\0").ok_or(Error::Magic)?;
    let envelope: Unknown = parse(payload)?;
    let raw = envelope.raw.unwrap_or_default();
    let raw = raw.as_slice();
    let mut object = match (api_version, kind) {
        ("v1", "Namespace") => core_kinds::namespace(parse::<pb::v1::Namespace>(raw)?)?,
        ("v1", "Secret") => core_kinds::secret(parse::<pb::v1::Secret>(raw)?)?,
        ("v1", "ConfigMap") => core_kinds::config_map(parse::<pb::v1::ConfigMap>(raw)?)?,
        ("v1", "ServiceAccount") => {
            core_kinds::service_account(parse::<pb::v1::ServiceAccount>(raw)?)?
        }
        ("v1", "Service") => core_kinds::service(parse::<pb::v1::Service>(raw)?)?,
        ("v1", "Pod") => workloads::pod(parse::<pb::v1::Pod>(raw)?)?,
        ("apps/v1", "Deployment") => workloads::deployment(parse::<apps::v1::Deployment>(raw)?)?,
        ("batch/v1", "Job") => workloads::job(parse::<batch::v1::Job>(raw)?)?,
        ("networking.k8s.io/v1", "Ingress") => {
            workloads::ingress(parse::<networking::v1::Ingress>(raw)?)?
        }
        ("autoscaling/v2", "HorizontalPodAutoscaler") => {
            workloads::hpa(parse::<autoscaling::v2::HorizontalPodAutoscaler>(raw)?)?
        }
        _ => {
            return Err(Error::UnsupportedKind {
                kind: kind.to_owned(),
            });
        }
    };
    object["apiVersion"] = json!(api_version);
    object["kind"] = json!(kind);
    Ok(object)
}

#[cfg(test)]
mod tests;
