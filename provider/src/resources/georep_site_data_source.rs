//! `data "quay_georep_site"`: one live site, read without managing it.
//!
//! Reads the `QuayRegistry` `name` in `namespace` on cluster `cluster`, its config bundle
//! Secret and its Route, and reports what [`SiteReport`] and `SiteEndpoints` make of them,
//! plus the Quay Operator version on that cluster. Nothing is written. A site that does not
//! exist is an error (a data source that reads nothing cannot be used by what depends on it).

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::convert::{cluster_error, reported};
use super::model::{Field, Model, text, with_fields};
use super::provider_data::ProviderData;
use super::site_live::{EndpointReads, EndpointResults, endpoint_attributes};
use crate::cluster::Kind;
use crate::framework::DataSource;
use crate::georep::site::{DEFAULT_NAME, SiteReport};
use crate::stop::StopToken;
use crate::tfvalue::{
    Attribute, AttributePath, Block, Diagnostic, Diagnostics, Schema, Type, Value,
};

/// The data source.
#[derive(Clone, Copy, Debug, Default)]
pub struct GeoRepSiteDataSource;

/// The schema; its descriptions are the reference documentation.
pub(crate) fn schema() -> Schema {
    let block = Block::new(
        "one live geo-replicated Quay site, read without managing it: versions, conditions, \
         components, Route host, config bundle, storage preference, and what a global load \
         balancer and DNS need",
    )
    .attribute(
        Attribute::required("cluster", Type::String)
            .description("the key of the site's cluster in the provider's cluster blocks"),
    )
    .attribute(
        Attribute::required("namespace", Type::String)
            .description("the namespace of the site's QuayRegistry"),
    )
    .attribute(
        Attribute::optional("name", Type::String).description(&format!(
            "the QuayRegistry's name; default {DEFAULT_NAME:?}"
        )),
    )
    .attribute(Attribute::computed("id", Type::String).description("cluster/namespace/name"))
    .attribute(
        Attribute::computed("current_version", Type::String).description(
            "the Quay version whose database migrations completed on this site \
         (status.currentVersion); empty before the first",
        ),
    )
    .attribute(
        Attribute::computed("operator_version", Type::String).description(
            "QUAY_VERSION of the Quay Operator Deployment on the cluster (a container named \
         quay-operator, in any namespace); empty when none is found",
        ),
    )
    .attribute(
        Attribute::computed("registry_endpoint", Type::String).description(
            "the operator's status.registryEndpoint: https://SERVER_HOSTNAME, the global name",
        ),
    )
    .attribute(
        Attribute::computed("conditions", Type::list(Type::String))
            .description("the QuayRegistry conditions as \"Type=Status (Reason): message\""),
    )
    .attribute(
        Attribute::computed("components", Type::map(Type::String))
            .description("each component kind of spec.components, managed or unmanaged"),
    )
    .attribute(
        Attribute::computed("route_host", Type::String)
            .description("the managed Route's spec.host (SERVER_HOSTNAME); empty without a Route"),
    )
    .attribute(
        Attribute::computed("bundle_secret_name", Type::String).description(
            "the config bundle Secret the QuayRegistry refers to (spec.configBundleSecret)",
        ),
    )
    .attribute(
        Attribute::computed("config_hash", Type::String).description(
            "sha256:<hex> of the bundle's config.yaml, equal to data.quay_georep_config's \
         config_hash for the same file; empty when the Secret or key is missing",
        ),
    )
    .attribute(
        Attribute::computed("storage_preference", Type::list(Type::String)).description(
            "QUAY_DISTRIBUTED_STORAGE_PREFERENCE of the quay component: this site's storage \
         location first; empty when unset",
        ),
    );
    Schema {
        version: 0,
        block: endpoint_attributes(block),
    }
}

/// The data source's attributes.
#[derive(Clone, Debug, Default, PartialEq)]
struct SiteDataModel {
    /// `cluster`.
    cluster: Option<String>,
    /// `namespace`.
    namespace: Option<String>,
    /// `name`.
    name: Option<String>,
    /// What the data source reports.
    results: SiteDataResults,
}

/// The computed attributes.
#[derive(Clone, Debug, Default, PartialEq)]
struct SiteDataResults {
    id: Field<String>,
    current_version: Field<String>,
    operator_version: Field<String>,
    registry_endpoint: Field<String>,
    conditions: Field<Vec<String>>,
    components: Field<BTreeMap<String, String>>,
    route_host: Field<String>,
    bundle_secret_name: Field<String>,
    config_hash: Field<String>,
    storage_preference: Field<Vec<String>>,
    endpoints: EndpointResults,
}

impl SiteDataResults {
    fn read(value: &Value) -> Self {
        Self {
            id: Field::read(value.get("id")),
            current_version: Field::read(value.get("current_version")),
            operator_version: Field::read(value.get("operator_version")),
            registry_endpoint: Field::read(value.get("registry_endpoint")),
            conditions: Field::read(value.get("conditions")),
            components: Field::read(value.get("components")),
            route_host: Field::read(value.get("route_host")),
            bundle_secret_name: Field::read(value.get("bundle_secret_name")),
            config_hash: Field::read(value.get("config_hash")),
            storage_preference: Field::read(value.get("storage_preference")),
            endpoints: EndpointResults::read(value),
        }
    }

    fn write_into(&self, value: &mut Value) {
        self.id.write_into(value, "id");
        self.current_version.write_into(value, "current_version");
        self.operator_version.write_into(value, "operator_version");
        self.registry_endpoint
            .write_into(value, "registry_endpoint");
        self.conditions.write_into(value, "conditions");
        self.components.write_into(value, "components");
        self.route_host.write_into(value, "route_host");
        self.bundle_secret_name
            .write_into(value, "bundle_secret_name");
        self.config_hash.write_into(value, "config_hash");
        self.storage_preference
            .write_into(value, "storage_preference");
        self.endpoints.write_into(value);
    }
}

impl Model for SiteDataModel {
    fn read(value: &Value, _diags: &mut Diagnostics) -> Self {
        Self {
            cluster: text(value, "cluster"),
            namespace: text(value, "namespace"),
            name: text(value, "name"),
            results: SiteDataResults::read(value),
        }
    }

    fn write(&self) -> Json {
        let r = &self.results;
        let mut fields = vec![
            ("cluster", json!(self.cluster)),
            ("namespace", json!(self.namespace)),
            ("name", json!(self.name)),
            ("id", r.id.to_json()),
            ("current_version", r.current_version.to_json()),
            ("operator_version", r.operator_version.to_json()),
            ("registry_endpoint", r.registry_endpoint.to_json()),
            ("conditions", r.conditions.to_json()),
            ("components", r.components.to_json()),
            ("route_host", r.route_host.to_json()),
            ("bundle_secret_name", r.bundle_secret_name.to_json()),
            ("config_hash", r.config_hash.to_json()),
            ("storage_preference", r.storage_preference.to_json()),
        ];
        fields.extend(r.endpoints.to_json());
        with_fields(None, fields)
    }
}

/// The results for the site, read from its cluster.
///
/// # Errors
///
/// "Site Not Found" when the `QuayRegistry` does not exist; "Cluster Unavailable" or "Read
/// Failed" when the cluster cannot be read.
async fn read_site(
    data: &ProviderData,
    key: &str,
    namespace: &str,
    name: &str,
) -> Result<SiteDataResults, Diagnostic> {
    let cluster = data.cluster(key).await?;
    let failed = |err: crate::cluster::Error| cluster_error("Read Failed", &err);
    let id = format!("{key}/{namespace}/{name}");
    let Some(registry) = cluster
        .get(&Kind::QUAY_REGISTRY, Some(namespace), name)
        .await
        .map_err(failed)?
    else {
        return Err(Diagnostic::error(
            "Site Not Found",
            format!(
                "cluster \"{key}\" has no QuayRegistry {namespace}/{name}: check cluster, \
                 namespace and name, or create the site first (resource quay_georep_site)"
            ),
        )
        .with_attribute(AttributePath::root().attr("name")));
    };
    // The rest at once: each read is a round trip to a cluster that may be far away.
    let read_bundle = async {
        match registry["spec"]["configBundleSecret"].as_str() {
            Some(secret) => cluster.get(&Kind::SECRET, Some(namespace), secret).await,
            None => Ok(None),
        }
    };
    let (bundle, reads, operator) = tokio::join!(
        read_bundle,
        EndpointReads::read(&cluster, namespace, name),
        super::site_live::operator_version(&cluster),
    );
    // A failure is reported in the order of the reads, whichever came first.
    let (bundle, reads, operator) = (
        bundle.map_err(failed)?,
        reads.map_err(failed)?,
        operator.map_err(failed)?,
    );
    let report = SiteReport::read(&registry, bundle.as_ref(), reads.route());
    let endpoints = reads.endpoints(&registry);
    let status = &report.status;
    let known = |value: Option<&String>| Field::Known(value.cloned().unwrap_or_default());
    Ok(SiteDataResults {
        id: Field::Known(id),
        current_version: known(status.current_version.as_ref()),
        operator_version: known(operator.as_ref()),
        registry_endpoint: known(status.registry_endpoint.as_ref()),
        conditions: Field::Known(status.condition_lines()),
        components: Field::Known(report.components.clone()),
        route_host: known(report.route_host.as_ref()),
        bundle_secret_name: known(status.config_bundle_secret.as_ref()),
        config_hash: known(report.config_hash.as_ref()),
        storage_preference: Field::Known(report.storage_preference.clone()),
        endpoints: EndpointResults::known(&endpoints),
    })
}

#[async_trait]
impl DataSource<ProviderData> for GeoRepSiteDataSource {
    fn type_name(&self) -> &'static str {
        "quay_georep_site"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn read(
        &self,
        data: Option<&ProviderData>,
        config: &Value,
        _stop: &StopToken,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let model = SiteDataModel::read(config, diags);
        let Some(data) = data else {
            diags.push(Diagnostic::error(
                "Provider Not Configured",
                "data.quay_georep_site reads a cluster: configure the provider with a cluster \
                 block for it",
            ));
            return None;
        };
        let (Some(cluster), Some(namespace)) = (model.cluster, model.namespace) else {
            diags.push(Diagnostic::error(
                "Provider Bug: Missing Argument",
                "cluster and namespace are required and known at read; please report this",
            ));
            return None;
        };
        let name = model.name.unwrap_or_else(|| DEFAULT_NAME.to_owned());
        if let Some(warning) = data.pending_warning(
            &cluster,
            &format!("{cluster}/{namespace}/{name}"),
            "the site cannot be read before apply",
        ) {
            diags.push(
                Diagnostic::error(warning.summary, warning.detail)
                    .with_attribute(AttributePath::root().attr("cluster")),
            );
            return None;
        }
        let results = reported(read_site(data, &cluster, &namespace, &name).await, diags)?;
        let mut state = config.clone();
        results.write_into(&mut state);
        Some(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_attribute_reads_into_the_model_and_back() {
        crate::resources::model::assert_every_attribute_round_trips::<SiteDataModel>(&schema());
    }

    #[test]
    fn schema_is_a_valid_definition() {
        crate::resources::model::assert_valid_definition(&schema());
    }

    #[test]
    fn the_site_data_source_reports_what_the_site_resource_reports_for_the_load_balancer() {
        let resource = crate::resources::georep_site_model::schema();
        let data = schema();
        for name in super::super::site_live::ENDPOINT_ATTRIBUTES {
            let (r, d) = (
                resource.block.find_attribute(name).unwrap(),
                data.block.find_attribute(name).unwrap(),
            );
            assert_eq!(r.description, d.description, "{name}");
        }
    }
}
