//! The `provider "quay"` block: named clusters, one per site.
//!
//! ```hcl
//! provider "quay" {
//!   cluster "us_east" {
//!     kubeconfig_path = "~/.kube/us-east.yaml"
//!     context         = "us-east-admin"
//!   }
//!   cluster "eu_west" {
//!     kubeconfig_content = var.eu_west_kubeconfig
//!   }
//! }
//! ```
//!
//! Configure only records the clusters: nothing is contacted until a resource needs a cluster,
//! so `terraform validate` and plans of data sources work without any cluster reachable.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::georep_config_data_source::GeoRepConfigDataSource;
use super::georep_site_manifests_data_source::GeoRepSiteManifestsDataSource;
use super::georep_site_resource::GeoRepSiteResource;
use super::georep_upgrade_resource::GeoRepUpgradeResource;
use super::model::{Field, Model};
use super::provider_data::ProviderData;
use crate::cluster::{ClusterSpec, Clusters, KubeconfigSource};
use crate::framework::{DataSource, Provider, Resource};
use crate::georep::secret::Secret;
use crate::tfvalue::{
    Attribute, AttributePath, Block, Diagnostic, Diagnostics, NestedBlock, Nesting, Schema, Type,
    Value,
};

/// The provider: its schema, its clusters and its catalogue of types.
#[derive(Clone, Copy, Debug, Default)]
pub struct QuayProvider;

/// The provider block's schema.
fn provider_schema() -> Schema {
    let cluster = Block::new(
        "a Kubernetes or OpenShift cluster that hosts one site, named by the block label, which \
         resources refer to in their `cluster` argument",
    )
    .attribute(
        Attribute::optional("kubeconfig_path", Type::String)
            .description("path of a kubeconfig file; exactly one of this or kubeconfig_content"),
    )
    .attribute(
        Attribute::optional("kubeconfig_content", Type::String)
            .sensitive()
            .description("kubeconfig YAML; exactly one of this or kubeconfig_path"),
    )
    .attribute(
        Attribute::optional("context", Type::String)
            .description("kubeconfig context to use; default: the kubeconfig's current context"),
    );
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

/// One `cluster` block. `Debug` redacts `kubeconfig_content`: it holds credentials.
#[derive(Clone, Default, PartialEq)]
struct ClusterModel {
    /// `kubeconfig_path`.
    kubeconfig_path: Field<String>,
    /// `kubeconfig_content`.
    kubeconfig_content: Field<String>,
    /// `context`.
    context: Field<String>,
}

impl fmt::Debug for ClusterModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterModel")
            .field("kubeconfig_path", &self.kubeconfig_path)
            .field("kubeconfig_content", &self.kubeconfig_content.redacted())
            .field("context", &self.context)
            .finish()
    }
}

impl ClusterModel {
    /// Whether an argument is not known yet, so the block cannot be judged.
    fn has_unknown(&self) -> bool {
        [
            &self.kubeconfig_path,
            &self.kubeconfig_content,
            &self.context,
        ]
        .into_iter()
        .any(|field| matches!(field, Field::Unknown))
    }
}

impl Model for ProviderModel {
    fn read(value: &Value, _diags: &mut Diagnostics) -> Self {
        let Some(Value::Map(blocks)) = value.get("cluster") else {
            return Self::default();
        };
        let clusters = blocks
            .iter()
            .map(|(label, block)| {
                (
                    label.clone(),
                    ClusterModel {
                        kubeconfig_path: Field::read(block.get("kubeconfig_path")),
                        kubeconfig_content: Field::read(block.get("kubeconfig_content")),
                        context: Field::read(block.get("context")),
                    },
                )
            })
            .collect();
        Self { clusters }
    }

    fn write(&self) -> Json {
        let clusters: serde_json::Map<String, Json> = self
            .clusters
            .iter()
            .map(|(label, cluster)| {
                (
                    label.clone(),
                    json!({
                        "kubeconfig_path": cluster.kubeconfig_path.to_json(),
                        "kubeconfig_content": cluster.kubeconfig_content.to_json(),
                        "context": cluster.context.to_json(),
                    }),
                )
            })
            .collect();
        json!({ "cluster": clusters })
    }
}

fn check_clusters(config: &Value, diags: &mut Diagnostics) -> BTreeMap<String, ClusterSpec> {
    let mut clusters = BTreeMap::new();
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
        if block.has_unknown() {
            continue;
        }
        let context = block.context.known().cloned();
        if context.as_deref() == Some("") {
            diags.push(
                Diagnostic::error(
                    "Empty Kubeconfig Context",
                    format!("context of cluster \"{label}\" is empty: name a context or remove the argument"),
                )
                .with_attribute(path.attr("context")),
            );
        }
        let kubeconfig = match (
            block.kubeconfig_path.known(),
            block.kubeconfig_content.known(),
        ) {
            (Some(p), None) if !p.is_empty() => KubeconfigSource::Path(expand_home(p)),
            (None, Some(c)) if !c.trim().is_empty() => KubeconfigSource::Content(Secret::new(c)),
            (Some(_), Some(_)) => {
                diags.push(
                    Diagnostic::error(
                        "Conflicting Kubeconfig Arguments",
                        format!(
                            "cluster \"{label}\" sets both kubeconfig_path and \
                             kubeconfig_content: keep exactly one of them"
                        ),
                    )
                    .with_attribute(path.attr("kubeconfig_content")),
                );
                continue;
            }
            (Some(_), None) => {
                diags.push(
                    Diagnostic::error(
                        "Empty Kubeconfig Path",
                        format!("kubeconfig_path of cluster \"{label}\" is empty: give the path of a kubeconfig file"),
                    )
                    .with_attribute(path.attr("kubeconfig_path")),
                );
                continue;
            }
            (None, Some(_)) => {
                diags.push(
                    Diagnostic::error(
                        "Empty Kubeconfig Content",
                        format!("kubeconfig_content of cluster \"{label}\" is empty: give the kubeconfig YAML"),
                    )
                    .with_attribute(path.attr("kubeconfig_content")),
                );
                continue;
            }
            (None, None) => {
                diags.push(
                    Diagnostic::error(
                        "Missing Kubeconfig",
                        format!(
                            "cluster \"{label}\" needs a kubeconfig: set kubeconfig_path to a \
                             file or kubeconfig_content to its YAML"
                        ),
                    )
                    .with_attribute(path),
                );
                continue;
            }
        };
        clusters.insert(
            label.clone(),
            ClusterSpec {
                kubeconfig,
                context,
            },
        );
    }
    clusters
}

/// Expands a leading `~/` to the home directory, as kubectl does for `--kubeconfig`.
fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

#[async_trait]
impl Provider for QuayProvider {
    type Data = ProviderData;

    fn schema(&self) -> Schema {
        provider_schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let _ = check_clusters(config, diags);
    }

    async fn configure(&self, config: &Value, diags: &mut Diagnostics) -> Option<ProviderData> {
        let clusters = check_clusters(config, diags);
        (!diags.has_errors()).then(|| ProviderData {
            clusters: Arc::new(Clusters::new(clusters)),
            ..ProviderData::default()
        })
    }

    fn resources(&self) -> Vec<Arc<dyn Resource<ProviderData>>> {
        vec![
            Arc::new(GeoRepSiteResource),
            Arc::new(GeoRepUpgradeResource),
        ]
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource<ProviderData>>> {
        vec![
            Arc::new(GeoRepConfigDataSource),
            Arc::new(GeoRepSiteManifestsDataSource),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(path: Value, content: Value, context: Value) -> Value {
        Value::object([
            ("kubeconfig_path", path),
            ("kubeconfig_content", content),
            ("context", context),
        ])
    }

    fn config(clusters: Vec<(&str, Value)>) -> Value {
        Value::object([(
            "cluster",
            Value::Map(
                clusters
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
            ),
        )])
    }

    fn problems(config: &Value) -> Vec<String> {
        let mut diags = Diagnostics::default();
        check_clusters(config, &mut diags);
        diags
            .iter()
            .map(|d| d.attribute.clone().unwrap_or_default().to_string())
            .collect()
    }

    #[test]
    fn every_attribute_reads_into_the_model_and_back() {
        crate::resources::model::assert_every_attribute_round_trips::<ProviderModel>(
            &provider_schema(),
        );
    }

    #[test]
    fn provider_schema_is_a_valid_definition() {
        crate::resources::model::assert_valid_definition(&provider_schema());
    }

    #[test]
    fn cluster_with_a_path_or_content_is_accepted() {
        let c = config(vec![
            (
                "us_east",
                cluster(Value::string("/k/a"), Value::Null, Value::string("ctx")),
            ),
            (
                "eu-west",
                cluster(Value::Null, Value::string("apiVersion: v1"), Value::Null),
            ),
        ]);
        let mut diags = Diagnostics::default();
        let clusters = check_clusters(&c, &mut diags);
        assert!(diags.is_empty());
        assert_eq!(clusters["us_east"].context.as_deref(), Some("ctx"));
        assert!(matches!(
            clusters["eu-west"].kubeconfig,
            KubeconfigSource::Content(_)
        ));
    }

    #[test]
    fn cluster_with_both_kubeconfig_arguments_is_rejected_at_content() {
        let c = config(vec![(
            "a",
            cluster(Value::string("/k"), Value::string("x"), Value::Null),
        )]);
        assert_eq!(problems(&c), [r#"cluster["a"].kubeconfig_content"#]);
    }

    #[test]
    fn cluster_without_kubeconfig_is_rejected() {
        let c = config(vec![("a", cluster(Value::Null, Value::Null, Value::Null))]);
        assert_eq!(problems(&c), [r#"cluster["a"]"#]);
    }

    #[test]
    fn cluster_label_must_be_an_identifier() {
        let c = config(vec![(
            "1st site",
            cluster(Value::string("/k"), Value::Null, Value::Null),
        )]);
        assert_eq!(problems(&c), [r#"cluster["1st site"]"#]);
    }

    #[test]
    fn unknown_kubeconfig_values_are_not_judged_yet() {
        let c = config(vec![(
            "a",
            cluster(Value::Unknown, Value::Null, Value::Null),
        )]);
        assert!(problems(&c).is_empty());
    }

    #[test]
    fn inline_kubeconfig_is_redacted_in_debug_output() {
        let source = KubeconfigSource::Content(Secret::new("token: s3cr3t"));
        assert!(!format!("{source:?}").contains("s3cr3t"));
    }
}
