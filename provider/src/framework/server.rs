//! [`ProviderServer`]: Terraform's protocol 5 operations (the 12 of 5.2, and the ephemeral
//! resource operations of 5.7 in `server/ephemeral.rs`), answered on top of a [`Provider`] and
//! its resources, data sources and ephemeral resources.
//!
//! Every operation decodes its `DynamicValue`s against the schema of the type it names,
//! reports decoding problems as diagnostics (never a panic, never a gRPC error), calls the
//! resource, checks what the resource returned against Terraform's rules and encodes it as
//! msgpack. The gRPC adapter (`crate::plugin::grpc_provider`) only copies fields.
//!
//! Write-only attributes (protocol 5.8) are handled here for every resource: their values
//! reach the resource through `config` only, every plan and state sent back holds null for
//! them, and a Terraform without the capability gets an error at validation.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use tokio::sync::watch;
use tracing::{debug, info, warn};

use super::consistency::{check_apply_result, check_planned_state};
use super::data_source::DataSource;
use super::ephemeral::EphemeralResource;
use super::messages::{
    ApplyResponse, ClientCapabilities, DynamicValue, ImportedResource, PlanResponse, ReadResponse,
    SchemaResponse,
};
use super::plan::default_plan;
use super::provider::Provider;
use super::resource::{PlanRequest, Resource};
use super::values::{
    bug_diag, config_as_plan, decode, decode_all, encode, refuse_write_only, unknown_type,
    usable_or, value_at,
};
use crate::stop::StopToken;
use crate::tfvalue::{Diagnostic, Diagnostics, Schema, Value};

struct ResourceEntry<D> {
    resource: Arc<dyn Resource<D>>,
    schema: Schema,
}

struct DataSourceEntry<D> {
    data_source: Arc<dyn DataSource<D>>,
    schema: Schema,
}

struct EphemeralEntry<D> {
    ephemeral: Arc<dyn EphemeralResource<D>>,
    schema: Schema,
}

/// Answers Terraform's operations for one provider process.
///
/// Holds no state between operations except the latest provider data from `Configure`:
/// Terraform may call `Configure` several times on one process (reattach mode), and some
/// operations on a process that was never configured.
pub struct ProviderServer<P: Provider> {
    provider: P,
    provider_schema: Schema,
    resources: BTreeMap<String, ResourceEntry<P::Data>>,
    data_sources: BTreeMap<String, DataSourceEntry<P::Data>>,
    ephemerals: BTreeMap<String, EphemeralEntry<P::Data>>,
    data: RwLock<Option<Arc<P::Data>>>,
    stop_tx: watch::Sender<bool>,
    stop: StopToken,
}

impl<P: Provider> ProviderServer<P> {
    /// Builds the server, asking the provider once for its schemas.
    pub fn new(provider: P) -> Self {
        let provider_schema = provider.schema();
        let resources = provider
            .resources()
            .into_iter()
            .map(|resource| {
                let schema = resource.schema();
                (
                    resource.type_name().to_owned(),
                    ResourceEntry { resource, schema },
                )
            })
            .collect();
        let data_sources = provider
            .data_sources()
            .into_iter()
            .map(|data_source| {
                let schema = data_source.schema();
                (
                    data_source.type_name().to_owned(),
                    DataSourceEntry {
                        data_source,
                        schema,
                    },
                )
            })
            .collect();
        let ephemerals = provider
            .ephemeral_resources()
            .into_iter()
            .map(|ephemeral| {
                let schema = ephemeral.schema();
                let name = ephemeral.type_name().to_owned();
                (name, EphemeralEntry { ephemeral, schema })
            })
            .collect();
        let (stop_tx, stop) = StopToken::new();
        Self {
            provider,
            provider_schema,
            resources,
            data_sources,
            ephemerals,
            data: RwLock::new(None),
            stop_tx,
            stop,
        }
    }

    /// `GetSchema`: every schema, checked for definition errors.
    pub fn get_schema(&self) -> SchemaResponse {
        let mut diagnostics = Diagnostics::default();
        let mut check = |kind: &str, name: &str, schema: &Schema| {
            let err = match schema.check_definition() {
                Err(err) => err.to_string(),
                // Terraform supports write-only attributes on managed resources only.
                Ok(()) if kind != "resource" && schema.block.has_write_only() => {
                    "only resources may have write-only attributes".to_owned()
                }
                Ok(()) => return,
            };
            diagnostics.push(Diagnostic::error(
                "Provider Bug: Invalid Schema",
                format!("the schema of {kind} {name} is invalid: {err}; please report this"),
            ));
        };
        check("the provider", "block", &self.provider_schema);
        for (name, entry) in &self.resources {
            check("resource", name, &entry.schema);
        }
        for (name, entry) in &self.data_sources {
            check("data source", name, &entry.schema);
        }
        for (name, entry) in &self.ephemerals {
            check("ephemeral resource", name, &entry.schema);
        }
        SchemaResponse {
            provider: self.provider_schema.clone(),
            resources: self
                .resources
                .iter()
                .map(|(k, e)| (k.clone(), e.schema.clone()))
                .collect(),
            data_sources: self
                .data_sources
                .iter()
                .map(|(k, e)| (k.clone(), e.schema.clone()))
                .collect(),
            ephemeral_resources: self
                .ephemerals
                .iter()
                .map(|(k, e)| (k.clone(), e.schema.clone()))
                .collect(),
            diagnostics,
        }
    }

    /// `PrepareProviderConfig`: validates the provider block and returns it unchanged.
    pub fn prepare_provider_config(
        &self,
        config: &DynamicValue,
    ) -> (Option<DynamicValue>, Diagnostics) {
        let mut diags = Diagnostics::default();
        let ty = self.provider_schema.value_type();
        let Some(config) = decode(&ty, config, "provider configuration", &mut diags) else {
            return (None, diags);
        };
        self.provider.validate(&config, &mut diags);
        let prepared = encode(&ty, &config, &mut diags);
        (prepared, diags)
    }

    /// `Configure`: validates the provider block and keeps the resulting provider data.
    pub async fn configure(&self, terraform_version: &str, config: &DynamicValue) -> Diagnostics {
        info!(terraform_version, "configuring provider");
        let mut diags = Diagnostics::default();
        let ty = self.provider_schema.value_type();
        let Some(config) = decode(&ty, config, "provider configuration", &mut diags) else {
            return diags;
        };
        self.provider.validate(&config, &mut diags);
        if diags.has_errors() {
            return diags;
        }
        if let Some(data) = self.provider.configure(&config, &mut diags).await {
            // A poisoned lock only means another operation panicked mid-write of an `Arc`;
            // the slot itself is always a valid value.
            *self.data.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(data));
        }
        diags
    }

    /// `ValidateResourceTypeConfig`. A value for a write-only attribute is refused, with its
    /// path, unless `capabilities` say Terraform keeps such values out of plan and state.
    pub fn validate_resource_config(
        &self,
        type_name: &str,
        config: &DynamicValue,
        capabilities: ClientCapabilities,
    ) -> Diagnostics {
        let mut diags = Diagnostics::default();
        let Some(entry) = self.resource(type_name, &mut diags) else {
            return diags;
        };
        if let Some(config) = decode(
            &entry.schema.value_type(),
            config,
            "configuration",
            &mut diags,
        ) {
            if !capabilities.write_only_attributes_allowed {
                refuse_write_only(&entry.schema, &config, &mut diags);
            }
            entry.resource.validate(&config, &mut diags);
        }
        diags
    }

    /// `ValidateDataSourceConfig`.
    pub fn validate_data_source_config(
        &self,
        type_name: &str,
        config: &DynamicValue,
    ) -> Diagnostics {
        let mut diags = Diagnostics::default();
        let Some(entry) = self.data_source(type_name, &mut diags) else {
            return diags;
        };
        if let Some(config) = decode(
            &entry.schema.value_type(),
            config,
            "configuration",
            &mut diags,
        ) {
            entry.data_source.validate(&config, &mut diags);
        }
        diags
    }

    /// `ReadResource`: refreshes a state from the live object.
    pub async fn read_resource(
        &self,
        type_name: &str,
        current_state: &DynamicValue,
        private: Vec<u8>,
    ) -> ReadResponse {
        let mut diags = Diagnostics::default();
        let mut response = ReadResponse {
            private,
            ..ReadResponse::default()
        };
        let Some(entry) = self.resource(type_name, &mut diags) else {
            response.diagnostics = diags;
            return response;
        };
        let ty = entry.schema.value_type();
        let Some(state) = decode(&ty, current_state, "state", &mut diags) else {
            response.diagnostics = diags;
            return response;
        };
        if state.is_null() {
            response.new_state = encode(&ty, &Value::Null, &mut diags);
            response.diagnostics = diags;
            return response;
        }
        let Some(data) = self.configured(type_name, &mut diags) else {
            response.diagnostics = diags;
            return response;
        };
        debug!(type_name, "reading resource");
        let read = entry
            .resource
            .read(&data, &state, &self.stop, &mut diags)
            .await;
        let new_state = match read {
            Some(value) if value.is_null() => Value::Null,
            Some(value) => {
                if let Err(err) = value.conforms_to(&ty) {
                    diags.push(bug_diag(
                        type_name,
                        &format!("read an invalid value: {err}"),
                    ));
                    state
                } else if !value.is_wholly_known() {
                    diags.push(bug_diag(type_name, "read a state with unknown values"));
                    state
                } else {
                    entry.schema.block.without_write_only(&value)
                }
            }
            // The read failed: keep what Terraform had, the error says why.
            None => state,
        };
        response.new_state = encode(&ty, &new_state, &mut diags);
        response.diagnostics = diags;
        response
    }

    /// `PlanResourceChange`: the default plan, refined by the resource, checked against
    /// Terraform's rules.
    pub async fn plan_resource_change(
        &self,
        type_name: &str,
        prior_state: &DynamicValue,
        proposed_new_state: &DynamicValue,
        config: &DynamicValue,
        prior_private: Vec<u8>,
    ) -> PlanResponse {
        let mut diags = Diagnostics::default();
        let mut response = PlanResponse {
            planned_private: prior_private,
            ..PlanResponse::default()
        };
        let Some(entry) = self.resource(type_name, &mut diags) else {
            response.diagnostics = diags;
            return response;
        };
        let ty = entry.schema.value_type();
        let Some([prior, proposed, config]) = decode_all(
            &ty,
            [
                (prior_state, "prior state"),
                (proposed_new_state, "proposed new state"),
                (config, "configuration"),
            ],
            &mut diags,
        ) else {
            response.diagnostics = diags;
            return response;
        };
        if proposed.is_null() {
            if !prior.is_null() {
                entry.resource.plan_destroy(&prior, &mut diags);
            }
            response.planned_state = encode(&ty, &Value::Null, &mut diags);
            response.diagnostics = diags;
            return response;
        }
        // The plan holds null for write-only attributes; only the resource sees their values,
        // in `config`.
        let block = &entry.schema.block;
        let stored_config = block.without_write_only(&config);
        let proposed = block.without_write_only(&proposed);
        let mut planned = default_plan(&entry.schema, &prior, &stored_config, &proposed);
        let data = self.data();
        entry
            .resource
            .modify_plan(
                data.as_deref(),
                PlanRequest {
                    prior: &prior,
                    config: &config,
                    planned: &mut planned,
                    stop: &self.stop,
                },
                &mut diags,
            )
            .await;
        if diags.has_errors() {
            response.diagnostics = diags;
            return response;
        }
        let planned = block.without_write_only(&planned);
        let violations =
            check_planned_state(type_name, &entry.schema, &prior, &stored_config, &planned);
        if !violations.is_empty() {
            warn!(
                type_name,
                count = violations.len(),
                "resource planned an invalid change"
            );
            diags.extend(violations);
            response.diagnostics = diags;
            return response;
        }
        if !prior.is_null() {
            response.requires_replace = entry
                .resource
                .requires_replace()
                .into_iter()
                .filter(|path| value_at(&prior, path) != value_at(&planned, path))
                .collect();
        }
        response.planned_state = encode(&ty, &planned, &mut diags);
        response.diagnostics = diags;
        response
    }

    /// `ApplyResourceChange`: create, update or delete, with the result checked against the
    /// plan.
    pub async fn apply_resource_change(
        &self,
        type_name: &str,
        prior_state: &DynamicValue,
        planned_state: &DynamicValue,
        config: &DynamicValue,
        planned_private: Vec<u8>,
    ) -> ApplyResponse {
        let mut diags = Diagnostics::default();
        let mut response = ApplyResponse {
            private: planned_private,
            ..ApplyResponse::default()
        };
        let Some(entry) = self.resource(type_name, &mut diags) else {
            response.diagnostics = diags;
            return response;
        };
        let ty = entry.schema.value_type();
        let Some([prior, planned, config]) = decode_all(
            &ty,
            [
                (prior_state, "prior state"),
                (planned_state, "planned state"),
                (config, "configuration"),
            ],
            &mut diags,
        ) else {
            response.diagnostics = diags;
            return response;
        };
        let Some(data) = self.configured(type_name, &mut diags) else {
            response.new_state = encode(&ty, &prior, &mut diags);
            response.diagnostics = diags;
            return response;
        };
        let resource = &entry.resource;
        let new_state = if planned.is_null() {
            info!(type_name, "deleting");
            resource.delete(&data, &prior, &self.stop, &mut diags).await;
            // A failed delete keeps the object in state, so it is not forgotten.
            if diags.has_errors() {
                prior.clone()
            } else {
                Value::Null
            }
        } else {
            let result = if prior.is_null() {
                info!(type_name, "creating");
                resource
                    .create(&data, &planned, &config, &self.stop, &mut diags)
                    .await
            } else {
                info!(type_name, "updating");
                resource
                    .update(&data, &prior, &planned, &config, &self.stop, &mut diags)
                    .await
            };
            let failed_result = if prior.is_null() {
                Value::Null
            } else {
                prior.clone()
            };
            let result = result.map(|value| entry.schema.block.without_write_only(&value));
            match result {
                Some(value) if !diags.has_errors() => {
                    let violations = check_apply_result(type_name, &entry.schema, &planned, &value);
                    if violations.is_empty() {
                        value
                    } else {
                        warn!(
                            type_name,
                            count = violations.len(),
                            "apply result breaks the plan"
                        );
                        diags.extend(violations);
                        usable_or(value, &ty, failed_result)
                    }
                }
                // A partial result next to an error is kept when it is a valid state, so
                // Terraform records (and taints) what exists.
                Some(value) => usable_or(value, &ty, failed_result),
                None => {
                    // Without an error Terraform would record the object as unchanged (or
                    // absent) and say nothing: the resource broke its contract.
                    if !diags.has_errors() {
                        let operation = if prior.is_null() { "create" } else { "update" };
                        diags.push(bug_diag(
                            type_name,
                            &format!("{operation} returned no state and no error"),
                        ));
                    }
                    failed_result
                }
            }
        };
        response.new_state = encode(&ty, &new_state, &mut diags);
        response.diagnostics = diags;
        response
    }

    /// `ImportResourceState`: builds a state from an id; Terraform reads it afterwards.
    pub async fn import_resource_state(
        &self,
        type_name: &str,
        id: &str,
    ) -> (Vec<ImportedResource>, Diagnostics) {
        let mut diags = Diagnostics::default();
        let Some(entry) = self.resource(type_name, &mut diags) else {
            return (Vec::new(), diags);
        };
        let Some(data) = self.configured(type_name, &mut diags) else {
            return (Vec::new(), diags);
        };
        let ty = entry.schema.value_type();
        let Some(state) = entry
            .resource
            .import(&data, id, &self.stop, &mut diags)
            .await
        else {
            return (Vec::new(), diags);
        };
        if let Err(err) = state.conforms_to(&ty) {
            diags.push(bug_diag(
                type_name,
                &format!("imported an invalid value: {err}"),
            ));
            return (Vec::new(), diags);
        }
        let state = entry.schema.block.without_write_only(&state);
        let Some(encoded) = encode(&ty, &state, &mut diags) else {
            return (Vec::new(), diags);
        };
        let imported = ImportedResource {
            type_name: type_name.to_owned(),
            state: encoded,
            private: Vec::new(),
        };
        (vec![imported], diags)
    }

    /// `ReadDataSource`: computes a data source's state, checked to be wholly known and to
    /// keep its arguments.
    pub async fn read_data_source(
        &self,
        type_name: &str,
        config: &DynamicValue,
    ) -> (Option<DynamicValue>, Diagnostics) {
        let mut diags = Diagnostics::default();
        let Some(entry) = self.data_source(type_name, &mut diags) else {
            return (None, diags);
        };
        let ty = entry.schema.value_type();
        let Some(config) = decode(&ty, config, "configuration", &mut diags) else {
            return (None, diags);
        };
        entry.data_source.validate(&config, &mut diags);
        if diags.has_errors() {
            return (None, diags);
        }
        let data = self.data();
        let Some(state) = entry
            .data_source
            .read(data.as_deref(), &config, &self.stop, &mut diags)
            .await
        else {
            return (None, diags);
        };
        if diags.has_errors() {
            return (None, diags);
        }
        let violations = check_apply_result(
            type_name,
            &entry.schema,
            &config_as_plan(&entry.schema, &config),
            &state,
        );
        if !violations.is_empty() {
            diags.extend(violations);
            return (None, diags);
        }
        let encoded = encode(&ty, &state, &mut diags);
        (encoded, diags)
    }

    /// `Stop`: asks in-flight operations to stop as soon as they safely can.
    pub fn stop(&self) {
        info!("stop requested by Terraform");
        let _ = self.stop_tx.send(true);
    }

    /// The token operations watch for `Stop`.
    #[must_use]
    pub fn stop_token(&self) -> StopToken {
        self.stop.clone()
    }

    fn data(&self) -> Option<Arc<P::Data>> {
        self.data
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn configured(&self, type_name: &str, diags: &mut Diagnostics) -> Option<Arc<P::Data>> {
        let data = self.data();
        if data.is_none() {
            diags.push(Diagnostic::error(
                "Provider Not Configured",
                format!(
                    "{type_name} needs the provider configuration, which is missing or invalid; \
                     fix the errors reported for the provider block"
                ),
            ));
        }
        data
    }

    fn resource(
        &self,
        type_name: &str,
        diags: &mut Diagnostics,
    ) -> Option<&ResourceEntry<P::Data>> {
        let entry = self.resources.get(type_name);
        if entry.is_none() {
            diags.push(unknown_type("resource", type_name, self.resources.keys()));
        }
        entry
    }

    fn data_source(
        &self,
        type_name: &str,
        diags: &mut Diagnostics,
    ) -> Option<&DataSourceEntry<P::Data>> {
        let entry = self.data_sources.get(type_name);
        if entry.is_none() {
            diags.push(unknown_type(
                "data source",
                type_name,
                self.data_sources.keys(),
            ));
        }
        entry
    }
}

mod ephemeral;
#[cfg(test)]
mod tests;
mod upgrade;
#[cfg(test)]
mod write_only_tests;
