//! `data "quay_georep_site_manifests"`: the exact objects `resource "quay_georep_site"` applies,
//! as YAML, for GitOps users (Argo CD, Flux) who commit manifests instead of applying them.
//!
//! Same inputs as the resource (`resources/site_schema.rs`), same domain code
//! ([`crate::georep::site`]), plus `secret_mode`: `inline` renders the config bundle Secret,
//! `external` leaves it out and points the `QuayRegistry` at `external_secret_name` (for
//! SealedSecrets or External Secrets). It needs no cluster: `cluster` is checked against the
//! provider's cluster keys only when the provider block declares at least one cluster (a
//! GitOps-only configuration declares none), and nothing is contacted. `manifests` and `yaml` are always sensitive: inline, they hold every secret of
//! the shared config.

use std::fmt;

use async_trait::async_trait;

use serde_json::Value as Json;

use super::model::{Field, Model, with_fields};
use super::provider_data::ProviderData;
use super::site_schema::{report, site_arguments, site_block, site_input};
use crate::framework::DataSource;
use crate::georep::site::{SiteInput, validate_site};
use crate::stop::StopToken;
use crate::tfvalue::{Attribute, Block, Diagnostic, Diagnostics, Schema, Type, Value};

/// The data source.
#[derive(Clone, Copy, Debug, Default)]
pub struct GeoRepSiteManifestsDataSource;

/// Attributes the data source computes; they are not part of the domain input.
const OUTPUTS: [&str; 5] = [
    "manifests",
    "yaml",
    "bundle_secret_name",
    "config_hash",
    "id",
];

/// The schema; its descriptions are the reference documentation.
pub(crate) fn schema() -> Schema {
    let block = Block::new(
        "the Kubernetes objects of one geo-replicated Quay site (Namespace, config bundle Secret, \
         QuayRegistry), exactly as quay_georep_site applies them, for GitOps; contacts no cluster",
    )
    .attribute(Attribute::optional("secret_mode", Type::String).description(
        "inline (default): render the config bundle Secret; external: leave it out and reference \
         external_secret_name, a Secret you provide (SealedSecrets, External Secrets) with the \
         same keys",
    ))
    .attribute(Attribute::optional("external_secret_name", Type::String).description(
        "the name of your config bundle Secret in the site's namespace; required with \
         secret_mode = \"external\"",
    ))
    .attribute(
        Attribute::computed("manifests", Type::list(Type::String))
            .sensitive()
            .description("one YAML document per object, in apply order"),
    )
    .attribute(
        Attribute::computed("yaml", Type::String)
            .sensitive()
            .description("every object in one multi-document YAML stream"),
    )
    .attribute(Attribute::computed("bundle_secret_name", Type::String).description(
        "the config bundle Secret the QuayRegistry refers to: <name>-config-bundle-<content \
         hash>, identical on every site for the same content, or external_secret_name",
    ))
    .attribute(
        Attribute::computed("config_hash", Type::String)
            .description("sha256:<hex> of config_yaml"),
    )
    .attribute(Attribute::computed("id", Type::String).description("cluster/namespace/name"));
    Schema {
        version: 0,
        block: site_block(block),
    }
}

/// The data source's attributes: the site arguments (with `secret_mode` and
/// `external_secret_name`) as the domain reads them, and the rendered results.
#[derive(Clone, Debug, Default, PartialEq)]
struct ManifestsModel {
    /// The site arguments; `None` when they do not map onto the domain input.
    input: Option<SiteInput>,
    /// What the data source computes.
    results: ManifestsResults,
}

/// The computed attributes. `Debug` redacts `manifests` and `yaml`: they hold the config
/// bundle Secret, with its credentials.
#[derive(Clone, Default, PartialEq)]
struct ManifestsResults {
    /// `manifests`: one YAML document per object.
    manifests: Field<Vec<String>>,
    /// `yaml`: every object in one stream.
    yaml: Field<String>,
    /// `bundle_secret_name`.
    bundle_secret_name: Field<String>,
    /// `config_hash`.
    config_hash: Field<String>,
    /// `id`.
    id: Field<String>,
}

impl fmt::Debug for ManifestsResults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManifestsResults")
            .field("manifests", &self.manifests.redacted())
            .field("yaml", &self.yaml.redacted())
            .field("bundle_secret_name", &self.bundle_secret_name)
            .field("config_hash", &self.config_hash)
            .field("id", &self.id)
            .finish()
    }
}

impl ManifestsResults {
    /// Sets the results on `value`, leaving its arguments as they are.
    fn write_into(&self, value: &mut Value) {
        self.manifests.write_into(value, "manifests");
        self.yaml.write_into(value, "yaml");
        self.bundle_secret_name
            .write_into(value, "bundle_secret_name");
        self.config_hash.write_into(value, "config_hash");
        self.id.write_into(value, "id");
    }
}

impl Model for ManifestsModel {
    fn read(value: &Value, diags: &mut Diagnostics) -> Self {
        Self {
            input: site_input(value, &OUTPUTS, diags),
            results: ManifestsResults {
                manifests: Field::read(value.get("manifests")),
                yaml: Field::read(value.get("yaml")),
                bundle_secret_name: Field::read(value.get("bundle_secret_name")),
                config_hash: Field::read(value.get("config_hash")),
                id: Field::read(value.get("id")),
            },
        }
    }

    fn write(&self) -> Json {
        let results = &self.results;
        with_fields(
            self.input.as_ref().map(site_arguments),
            [
                ("manifests", results.manifests.to_json()),
                ("yaml", results.yaml.to_json()),
                ("bundle_secret_name", results.bundle_secret_name.to_json()),
                ("config_hash", results.config_hash.to_json()),
                ("id", results.id.to_json()),
            ],
        )
    }
}

#[async_trait]
impl DataSource<ProviderData> for GeoRepSiteManifestsDataSource {
    fn type_name(&self) -> &'static str {
        "quay_georep_site_manifests"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let Some(input) = ManifestsModel::read(config, diags).input else {
            return;
        };
        let issues = match validate_site(&input, None) {
            Ok((_, warnings)) => warnings,
            Err(issues) => issues,
        };
        report(config, &issues, diags);
    }

    async fn read(
        &self,
        data: Option<&ProviderData>,
        config: &Value,
        _stop: &StopToken,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let input = ManifestsModel::read(config, diags).input?;
        // A provider block without clusters is the GitOps case: nothing to check against.
        let clusters: Option<Vec<String>> = data
            .filter(|d| !d.clusters.is_empty())
            .map(|d| d.clusters.keys().map(str::to_owned).collect());
        // Validate has reported what it could see; values unknown then (config_yaml from
        // another data source, usually) and the cluster keys are checked only now.
        let site = match validate_site(&input, clusters.as_deref()) {
            Ok((site, _warnings)) => site,
            Err(issues) => {
                let errors: Vec<_> = issues.into_iter().filter(|i| i.is_error()).collect();
                report(config, &errors, diags);
                if !diags.has_errors() {
                    diags.push(Diagnostic::error(
                        "Provider Bug: Site Not Rendered",
                        "the site failed validation without an error to show; please report this",
                    ));
                }
                return None;
            }
        };
        let objects = site.manifests();
        let mut state = config.clone();
        ManifestsResults {
            manifests: Field::Known(objects.to_yaml_documents()),
            yaml: Field::Known(objects.to_yaml()),
            bundle_secret_name: Field::Known(site.bundle_secret_name()),
            config_hash: Field::Known(site.config_hash()),
            id: Field::Known(site.id()),
        }
        .write_into(&mut state);
        Some(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_attribute_reads_into_the_model_and_back() {
        crate::resources::model::assert_every_attribute_round_trips::<ManifestsModel>(&schema());
    }

    #[test]
    fn debug_output_hides_the_rendered_manifests() {
        let secret = "DB_URI: postgresql://quay:hunter2@db/quay";
        let results = ManifestsResults {
            manifests: Field::Known(vec![secret.into()]),
            yaml: Field::Known(secret.into()),
            bundle_secret_name: Field::Known("registry-config-bundle-0".into()),
            ..ManifestsResults::default()
        };
        let shown = format!("{results:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("registry-config-bundle-0"), "{shown}");
    }

    #[test]
    fn schema_is_a_valid_definition() {
        crate::resources::model::assert_valid_definition(&schema());
    }

    #[test]
    fn every_argument_maps_onto_the_domain_input() {
        crate::resources::model::assert_every_argument_maps(&schema(), |config, diags| {
            site_input(config, &OUTPUTS, diags)
        });
    }

    #[test]
    fn rendered_documents_are_sensitive_outputs() {
        let schema = schema();
        for name in ["manifests", "yaml"] {
            assert!(
                schema.block.find_attribute(name).unwrap().sensitive,
                "{name}"
            );
        }
    }
}
