//! Import of `quay_georep_site`: reads the live site an import id names and rebuilds its
//! arguments with [`import_site`] (the pure half, in the domain), so
//! `terraform import quay_georep_site.x us_east/quay-enterprise/registry` adopts a site that
//! was installed by hand or by another tool. Errors keep their cause chain
//! ([`cluster_error`]). [`imported_state`] is the state Terraform records: the same
//! arguments a configuration in the form the examples write has, so the first plan is empty.
//! A secret written from a write-only twin (`georep_site_twins.rs`; the bundle Secret carries
//! the twin's annotation) is imported as null, so it does not reach the state this way
//! either.

use serde_json::Value as Json;

use super::convert::cluster_error;
use super::georep_site_model::{SiteModel, Warnings, schema, site, state_of};
use super::georep_site_twins::{TWINS, Twin, WRITE_ONLY_MARK};
use super::model::Model;
use super::provider_data::ProviderData;
use super::site_schema::LIST_BLOCKS;
use crate::cluster::Kind;
use crate::georep::site::{RegistryStatus, SiteInput, import_site};
use crate::tfvalue::{Diagnostic, Diagnostics, Value};

/// The arguments of the live site named by the import id `cluster/namespace/name`, and its
/// `QuayRegistry`.
pub(super) struct Imported {
    /// The rebuilt arguments, as a value of the resource's schema.
    pub(super) value: Value,
    /// The live `QuayRegistry`.
    pub(super) registry: Json,
    /// The twins its bundle was written from.
    pub(super) write_only: Vec<&'static Twin>,
}

/// Reads the site an import id names and rebuilds its arguments ([`import_site`]).
pub(super) async fn import_arguments(
    data: &ProviderData,
    id: &str,
) -> Result<Imported, Diagnostic> {
    let parts: Vec<&str> = id.split('/').collect();
    let [cluster_key, namespace, name] = parts.as_slice() else {
        return Err(Diagnostic::error(
            "Invalid Import Id",
            format!(
                "{id:?} is not cluster/namespace/name, such as us_east/quay-enterprise/registry"
            ),
        ));
    };
    let cluster = data.cluster(cluster_key).await?;
    let read_failed = |err: crate::cluster::Error| cluster_error("Read Failed", &err);
    let registry = cluster
        .get(&Kind::QUAY_REGISTRY, Some(namespace), name)
        .await
        .map_err(read_failed)?
        .ok_or_else(|| {
            Diagnostic::error(
                "Site Not Found",
                format!(
                    "no QuayRegistry {namespace}/{name} on cluster {cluster_key:?}: check the \
                     import id"
                ),
            )
        })?;
    let bundle_name = registry
        .pointer("/spec/configBundleSecret")
        .and_then(Json::as_str)
        .unwrap_or_default();
    let bundle = cluster
        .get(&Kind::SECRET, Some(namespace), bundle_name)
        .await
        .map_err(read_failed)?
        .ok_or_else(|| {
            Diagnostic::error(
                "Config Bundle Missing",
                format!(
                    "the QuayRegistry {namespace}/{name} names config bundle Secret \
                     {bundle_name:?}, which does not exist: a site without its bundle cannot \
                     be imported"
                ),
            )
        })?;
    let input = import_site(cluster_key, &registry, &bundle)
        .map_err(|err| Diagnostic::error("Config Bundle Without config.yaml", err.to_string()))?;
    let write_only = marked_twins(&bundle);
    Ok(Imported {
        value: arguments_value(input)?,
        registry,
        write_only,
    })
}

/// The twins a bundle Secret says it was written from.
fn marked_twins(bundle: &Json) -> Vec<&'static Twin> {
    TWINS
        .iter()
        .filter(|t| {
            bundle["metadata"]["annotations"][t.annotation].as_str() == Some(WRITE_ONLY_MARK)
        })
        .collect()
}

/// `input` as a value of the resource's schema, in the form Terraform gives a configuration:
/// each absent list block ([`LIST_BLOCKS`]: `clair`, `tls`) is an empty list, not null.
fn arguments_value(input: SiteInput) -> Result<Value, Diagnostic> {
    let mut arguments = SiteModel {
        input: Some(input),
        ..SiteModel::default()
    }
    .write();
    if let Some(fields) = arguments.as_object_mut() {
        for name in LIST_BLOCKS {
            let entry = fields.entry(name).or_insert(Json::Null);
            if entry.is_null() {
                *entry = Json::Array(Vec::new());
            }
        }
    }
    let bytes = serde_json::to_vec(&arguments).map_err(|err| import_bug(&err))?;
    crate::tfvalue::json::decode(&schema().value_type(), &bytes).map_err(|err| import_bug(&err))
}

/// The state of an imported site: its arguments, the results a read would record, and
/// `namespace_created = false`, since this resource did not create the namespace (destroy
/// leaves it; the plan keeps the prior value of this computed result, so it plans no change).
pub(super) fn imported_state(imported: &Imported, diags: &mut Diagnostics) -> Option<Value> {
    let site = site(&imported.value, None, Warnings::Skip, diags)?;
    let mut state = state_of(
        &imported.value,
        &site,
        Some(&RegistryStatus::read(&imported.registry)),
        None,
        false,
    );
    for twin in &imported.write_only {
        twin.set(&mut state, twin.stored, Value::Null);
    }
    Some(state)
}

/// The diagnostic of an imported site that does not fit the schema: a provider bug.
fn import_bug(err: &dyn std::fmt::Display) -> Diagnostic {
    Diagnostic::error(
        "Provider Bug: Import",
        format!(
            "the imported site could not be expressed in the schema: {err}; please report this"
        ),
    )
}

#[cfg(test)]
mod tests;
