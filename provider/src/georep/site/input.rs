//! The raw input of one Quay site, one field per Terraform attribute.
//!
//! [`SiteInput`] is what `resource "quay_georep_site"` and `data "quay_georep_site_manifests"`
//! share: every field is an `Option` because Terraform may leave any of them null, and
//! [`super::validate_site`] decides what is required and applies the defaults. Field names are
//! the Terraform attribute names, so [`crate::georep::path::FieldPath`] segments use the same
//! names and the resources layer maps attributes onto these structs 1:1. Sensitive attributes
//! are [`Secret`]s, so deriving `Debug` is safe. Nothing here validates anything; `timeouts` and
//! `wait_for_ready` are not domain input and have no field here.
//!
//! The structs also deserialize from JSON with the same names, which the resources layer and
//! the tests use.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::georep::secret::{Redacted, Secret};

/// The whole input of one site.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SiteInput {
    /// `cluster` (required): a key of the provider's `cluster` blocks.
    pub cluster: Option<String>,
    /// `namespace` (required): the site's namespace, a DNS-1123 label.
    pub namespace: Option<String>,
    /// `name`: the `QuayRegistry` name, a DNS-1123 label. Default `registry`.
    pub name: Option<String>,
    /// `create_namespace`: whether the namespace is created (and rendered). Default true.
    pub create_namespace: Option<bool>,
    /// `config_yaml` (required, sensitive): the shared `config.yaml`, normally
    /// `data.quay_georep_config.<name>.config_yaml`.
    pub config_yaml: Option<Secret>,
    /// `config_files` (sensitive): the bundle files beside `config.yaml`, normally
    /// `data.quay_georep_config.<name>.config_files`.
    pub config_files: Option<BTreeMap<String, Secret>>,
    /// `location` (required): this site's storage location, a key of the config's
    /// `DISTRIBUTED_STORAGE_CONFIG`.
    pub location: Option<String>,
    /// `quay` block.
    pub quay: Option<QuayInput>,
    /// `mirror` block.
    pub mirror: Option<MirrorInput>,
    /// `clair` block.
    pub clair: Option<ClairInput>,
    /// `route` block.
    pub route: Option<RouteInput>,
    /// `tls` block.
    pub tls: Option<TlsInput>,
    /// `monitoring`: whether the operator manages monitoring (OpenShift only). Default false.
    pub monitoring: Option<bool>,
    /// `env`: extra environment variables for the `quay` component, by name.
    pub env: Option<Redacted<BTreeMap<String, String>>>,
    /// `secret_mode` (manifests only): `inline` (default) or `external`.
    pub secret_mode: Option<String>,
    /// `external_secret_name` (manifests only): the bundle Secret the user provides, required
    /// with `secret_mode = "external"`.
    pub external_secret_name: Option<String>,
}

/// The `quay` block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuayInput {
    /// `replicas`: Quay pods on this site. Default 2.
    pub replicas: Option<i64>,
    /// `requests`: resource requests of each pod (`cpu`, `memory`, ...), Kubernetes quantities.
    pub requests: Option<BTreeMap<String, String>>,
    /// `limits`: resource limits of each pod.
    pub limits: Option<BTreeMap<String, String>>,
    /// `affinity`: a Kubernetes Affinity, as JSON.
    pub affinity: Option<String>,
    /// `labels`: extra labels of the component's Deployments and pods.
    pub labels: Option<BTreeMap<String, String>>,
    /// `annotations`: extra annotations of the component's Deployments and pods.
    pub annotations: Option<BTreeMap<String, String>>,
}

/// The `mirror` block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MirrorInput {
    /// `enabled`: whether the operator runs mirror workers. Default true.
    pub enabled: Option<bool>,
    /// `replicas`: mirror pods. Default 1.
    pub replicas: Option<i64>,
    /// `requests`: resource requests of each pod (`cpu`, `memory`, ...), Kubernetes quantities.
    pub requests: Option<BTreeMap<String, String>>,
    /// `limits`: resource limits of each pod.
    pub limits: Option<BTreeMap<String, String>>,
    /// `affinity`: a Kubernetes Affinity, as JSON.
    pub affinity: Option<String>,
    /// `labels`: extra labels of the component's Deployments and pods.
    pub labels: Option<BTreeMap<String, String>>,
    /// `annotations`: extra annotations of the component's Deployments and pods.
    pub annotations: Option<BTreeMap<String, String>>,
}

/// The `clair` block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClairInput {
    /// `enabled`: whether the operator runs Clair on this site. Default true, unless the config
    /// names a global Clair endpoint.
    pub enabled: Option<bool>,
    /// `replicas`: Clair pods. Default 1.
    pub replicas: Option<i64>,
    /// `database_uri` (sensitive): the Clair database every site shares; required when enabled.
    pub database_uri: Option<Secret>,
    /// `requests`: resource requests of each pod (`cpu`, `memory`, ...), Kubernetes quantities.
    pub requests: Option<BTreeMap<String, String>>,
    /// `limits`: resource limits of each pod.
    pub limits: Option<BTreeMap<String, String>>,
    /// `affinity`: a Kubernetes Affinity, as JSON.
    pub affinity: Option<String>,
    /// `labels`: extra labels of the component's Deployments and pods.
    pub labels: Option<BTreeMap<String, String>>,
    /// `annotations`: extra annotations of the component's Deployments and pods.
    pub annotations: Option<BTreeMap<String, String>>,
    /// `volume_size`: the size of Clair's indexer volume, a Kubernetes quantity.
    pub volume_size: Option<String>,
    /// `storage_class_name`: the StorageClass of Clair's indexer volume.
    pub storage_class_name: Option<String>,
}

/// The `route` block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RouteInput {
    /// `managed`: whether the operator creates the OpenShift Route. Default true.
    pub managed: Option<bool>,
    /// `labels`: extra labels of the Route.
    pub labels: Option<BTreeMap<String, String>>,
    /// `annotations`: extra annotations of the Route.
    pub annotations: Option<BTreeMap<String, String>>,
}

/// The `tls` block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsInput {
    /// `certificate`: PEM certificate (chain) covering `SERVER_HOSTNAME`.
    pub certificate: Option<String>,
    /// `private_key` (sensitive): the certificate's PEM private key.
    pub private_key: Option<Secret>,
}

/// The override attributes of a `quay`, `mirror` or `clair` block, borrowed.
macro_rules! pods_of {
    ($block:expr) => {
        super::pods::PodsInput {
            requests: $block.requests.as_ref(),
            limits: $block.limits.as_ref(),
            affinity: $block.affinity.as_deref(),
            labels: $block.labels.as_ref(),
            annotations: $block.annotations.as_ref(),
            ..super::pods::PodsInput::default()
        }
    };
}

impl QuayInput {
    /// Its override attributes.
    pub fn pods(&self) -> super::pods::PodsInput<'_> {
        pods_of!(self)
    }
}

impl MirrorInput {
    /// Its override attributes.
    pub fn pods(&self) -> super::pods::PodsInput<'_> {
        pods_of!(self)
    }
}

impl RouteInput {
    /// Its override attributes: the Route takes labels and annotations only.
    pub fn pods(&self) -> super::pods::PodsInput<'_> {
        super::pods::PodsInput {
            labels: self.labels.as_ref(),
            annotations: self.annotations.as_ref(),
            ..super::pods::PodsInput::default()
        }
    }
}

impl ClairInput {
    /// Its override attributes, with the indexer volume's.
    pub fn pods(&self) -> super::pods::PodsInput<'_> {
        super::pods::PodsInput {
            volume_size: self.volume_size.as_deref(),
            storage_class_name: self.storage_class_name.as_deref(),
            ..pods_of!(self)
        }
    }
}
