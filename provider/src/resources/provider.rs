//! The `provider "quay"` block: named clusters, one per site.
//!
//! ```hcl
//! provider "quay" {
//!   cluster "us_east" {
//!     kubeconfig_path = "~/.kube/us-east.yaml"
//!     context         = "us-east-admin"
//!   }
//!   cluster "eu_west" {
//!     host                   = module.eks.cluster_endpoint
//!     cluster_ca_certificate = base64decode(module.eks.cluster_certificate_authority_data)
//!     exec {
//!       api_version = "client.authentication.k8s.io/v1beta1"
//!       command     = "aws"
//!       args        = ["eks", "get-token", "--cluster-name", module.eks.cluster_name]
//!     }
//!   }
//! }
//! ```
//!
//! Each block gives exactly one way to reach its cluster (see `cluster_block`). A block whose
//! arguments Terraform does not know yet (a cluster created in the same apply) is recorded as
//! pending: resources on it plan with unknown results and a warning, and fail only if they
//! must contact it before its arguments are known.
//!
//! Configure only records the clusters: nothing is contacted until a resource needs a cluster,
//! so `terraform validate` and plans of data sources work without any cluster reachable.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::georep_config_data_source::GeoRepConfigDataSource;
use super::georep_config_ephemeral::GeoRepConfigEphemeral;
use super::georep_location_resource::GeoRepLocationResource;
use super::georep_site_data_source::GeoRepSiteDataSource;
use super::georep_site_manifests_data_source::GeoRepSiteManifestsDataSource;
use super::georep_site_resource::GeoRepSiteResource;
use super::georep_upgrade_resource::GeoRepUpgradeResource;
use super::georep_versions_data_source::GeoRepVersionsDataSource;
use super::model::Model;
use super::provider_data::ProviderData;
use crate::cluster::{ClusterSpec, Clusters};
use crate::framework::{DataSource, EphemeralResource, Provider, Resource};
use crate::tfvalue::{
    AttributePath, Block, Diagnostic, Diagnostics, NestedBlock, Nesting, Schema, Value,
};

mod cluster_block;
#[cfg(test)]
mod tests;

use cluster_block::{ClusterModel, Env, check_block, cluster_block};

/// The provider: its schema, its clusters and its catalogue of types.
#[derive(Clone, Copy, Debug, Default)]
pub struct QuayProvider;

/// The provider block's schema.
fn provider_schema() -> Schema {
    let cluster = cluster_block();
    Schema {
        version: 0,
        block: Block::new(
            "Red Hat Quay geo-replication: one provider instance reaches every site's cluster",
        )
        .block(NestedBlock {
            type_name: "cluster".into(),
            block: cluster,
            nesting: Nesting::Map,
            min_items: 0,
            max_items: 0,
        }),
    }
}

/// Whether a cluster label is a valid identifier: a letter or underscore, then letters,
/// digits, underscores or dashes (the characters Terraform allows in identifiers).
fn is_identifier(label: &str) -> bool {
    let mut chars = label.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The provider block as written: its clusters by label. Each argument is a [`Field`]
/// because an argument Terraform does not know yet (from another module's output, say) must
/// not be judged, and that differs from one that is unset.
#[derive(Clone, Debug, Default, PartialEq)]
struct ProviderModel {
    /// `cluster "<label>"` blocks.
    clusters: BTreeMap<String, ClusterModel>,
}

impl Model for ProviderModel {
    fn read(value: &Value, _diags: &mut Diagnostics) -> Self {
        let Some(Value::Map(blocks)) = value.get("cluster") else {
            return Self::default();
        };
        let clusters = blocks
            .iter()
            .map(|(label, block)| (label.clone(), ClusterModel::read(block)))
            .collect();
        Self { clusters }
    }

    fn write(&self) -> Json {
        let clusters: serde_json::Map<String, Json> = self
            .clusters
            .iter()
            .map(|(label, cluster)| (label.clone(), cluster.write()))
            .collect();
        json!({ "cluster": clusters })
    }
}

/// The provider block's clusters: those that can be reached, and those whose arguments are
/// not known yet (a cluster created in the same apply) with the arguments they wait for.
#[derive(Debug, Default)]
struct CheckedClusters {
    ready: BTreeMap<String, ClusterSpec>,
    pending: BTreeMap<String, Vec<String>>,
}

fn check_clusters(config: &Value, env: Env<'_>, diags: &mut Diagnostics) -> CheckedClusters {
    let mut clusters = CheckedClusters::default();
    for (label, block) in ProviderModel::read(config, diags).clusters {
        let path = AttributePath::root().attr("cluster").key(&label);
        if !is_identifier(&label) {
            diags.push(
                Diagnostic::error(
                    "Invalid Cluster Name",
                    format!(
                        "cluster \"{label}\" is not a valid name: use a letter or underscore \
                         followed by letters, digits, underscores or dashes, such as \"us_east\""
                    ),
                )
                .with_attribute(path.clone()),
            );
            continue;
        }
        let unknown = block.unknown();
        if !unknown.is_empty() {
            clusters
                .pending
                .insert(label, unknown.into_iter().map(str::to_owned).collect());
            continue;
        }
        if let Some(spec) = check_block(&label, &block, &path, env, diags) {
            clusters.ready.insert(label, spec);
        }
    }
    clusters
}

/// The process environment, for the `KUBE_CONFIG_PATH`/`KUBECONFIG` fallback.
fn process_env(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name)
}

#[async_trait]
impl Provider for QuayProvider {
    type Data = ProviderData;

    fn schema(&self) -> Schema {
        provider_schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let _ = check_clusters(config, &process_env, diags);
    }

    async fn configure(&self, config: &Value, diags: &mut Diagnostics) -> Option<ProviderData> {
        let clusters = check_clusters(config, &process_env, diags);
        (!diags.has_errors()).then(|| ProviderData {
            clusters: Arc::new(Clusters::with_pending(clusters.ready, clusters.pending)),
            ..ProviderData::default()
        })
    }

    fn resources(&self) -> Vec<Arc<dyn Resource<ProviderData>>> {
        vec![
            Arc::new(GeoRepSiteResource),
            Arc::new(GeoRepUpgradeResource),
            Arc::new(GeoRepLocationResource::ADD),
            Arc::new(GeoRepLocationResource::REMOVE),
        ]
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource<ProviderData>>> {
        vec![
            Arc::new(GeoRepConfigDataSource),
            Arc::new(GeoRepSiteManifestsDataSource),
            Arc::new(GeoRepSiteDataSource),
            Arc::new(GeoRepVersionsDataSource),
        ]
    }

    fn ephemeral_resources(&self) -> Vec<Arc<dyn EphemeralResource<ProviderData>>> {
        vec![Arc::new(GeoRepConfigEphemeral)]
    }
}
