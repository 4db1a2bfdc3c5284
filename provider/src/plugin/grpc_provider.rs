//! The `tfplugin5.Provider` gRPC service: a thin adapter from protobuf messages to
//! [`crate::framework::ProviderServer`] and back.
//!
//! It only copies fields: every decision is made in the framework. Errors never become gRPC
//! statuses (Terraform reports those as "Plugin did not respond"); they travel as diagnostics.

use std::collections::HashMap;
use std::sync::Arc;

use tonic::{Request, Response, Status};
use tracing::debug;

use super::proto::tfplugin5 as pb;
use super::proto::tfplugin5::provider_server::{
    Provider as ProviderService, ProviderServer as ProviderServiceServer,
};
use super::serve::GrpcService;
use crate::framework::{ClientCapabilities, DynamicValue, Provider, ProviderServer};
use crate::tfvalue::{
    Attribute, AttributePath, Block, Diagnostic, Diagnostics, NestedBlock, Nesting, PathStep,
    Presence, Schema, Severity,
};

/// The gRPC face of a [`ProviderServer`].
pub struct GrpcProvider<P: Provider> {
    server: Arc<ProviderServer<P>>,
}

impl<P: Provider> GrpcProvider<P> {
    /// Wraps a provider.
    pub fn new(provider: P) -> Self {
        Self {
            server: Arc::new(ProviderServer::new(provider)),
        }
    }
}

/// The `tfplugin5.Provider` gRPC service for `provider`, ready for [`super::serve()`].
pub fn service<P: Provider>(provider: P) -> impl GrpcService {
    ProviderServiceServer::new(GrpcProvider::new(provider))
}

fn dynamic(value: Option<pb::DynamicValue>) -> DynamicValue {
    value
        .map(|v| DynamicValue {
            msgpack: v.msgpack,
            json: v.json,
        })
        .unwrap_or_default()
}

fn to_pb_dynamic(value: Option<DynamicValue>) -> Option<pb::DynamicValue> {
    value.map(|v| pb::DynamicValue {
        msgpack: v.msgpack,
        json: v.json,
    })
}

fn to_pb_path(path: &AttributePath) -> pb::AttributePath {
    use pb::attribute_path::step::Selector;
    pb::AttributePath {
        steps: path
            .steps()
            .iter()
            .map(|step| pb::attribute_path::Step {
                selector: Some(match step {
                    PathStep::Attribute(name) => Selector::AttributeName(name.clone()),
                    PathStep::ElementKeyString(key) => Selector::ElementKeyString(key.clone()),
                    PathStep::ElementKeyInt(index) => Selector::ElementKeyInt(*index),
                }),
            })
            .collect(),
    }
}

fn to_pb_diagnostic(diagnostic: &Diagnostic) -> pb::Diagnostic {
    let severity = match diagnostic.severity {
        Severity::Error => pb::diagnostic::Severity::Error,
        Severity::Warning => pb::diagnostic::Severity::Warning,
    };
    pb::Diagnostic {
        severity: severity.into(),
        summary: diagnostic.summary.clone(),
        detail: diagnostic.detail.clone(),
        attribute: diagnostic
            .attribute
            .as_ref()
            .filter(|p| !p.is_root())
            .map(to_pb_path),
    }
}

fn to_pb_diagnostics(diagnostics: &Diagnostics) -> Vec<pb::Diagnostic> {
    diagnostics.iter().map(to_pb_diagnostic).collect()
}

fn to_pb_attribute(attribute: &Attribute) -> pb::schema::Attribute {
    pb::schema::Attribute {
        name: attribute.name.clone(),
        r#type: attribute.ty.to_json_bytes(),
        description: attribute.description.clone(),
        required: attribute.presence == Presence::Required,
        optional: matches!(
            attribute.presence,
            Presence::Optional | Presence::OptionalComputed
        ),
        computed: matches!(
            attribute.presence,
            Presence::Computed | Presence::OptionalComputed
        ),
        sensitive: attribute.sensitive,
        description_kind: pb::StringKind::Plain.into(),
        deprecated: attribute.deprecated,
        write_only: attribute.write_only,
    }
}

fn to_pb_block(block: &Block, version: i64) -> pb::schema::Block {
    pb::schema::Block {
        version,
        attributes: block.attributes.iter().map(to_pb_attribute).collect(),
        block_types: block.block_types.iter().map(to_pb_nested).collect(),
        description: block.description.clone(),
        description_kind: pb::StringKind::Plain.into(),
        deprecated: block.deprecated,
    }
}

fn to_pb_nested(nested: &NestedBlock) -> pb::schema::NestedBlock {
    use pb::schema::nested_block::NestingMode;
    let nesting = match nested.nesting {
        Nesting::Single => NestingMode::Single,
        Nesting::List => NestingMode::List,
        Nesting::Set => NestingMode::Set,
        Nesting::Map => NestingMode::Map,
        Nesting::Group => NestingMode::Group,
    };
    pb::schema::NestedBlock {
        type_name: nested.type_name.clone(),
        block: Some(to_pb_block(&nested.block, 0)),
        nesting: nesting.into(),
        min_items: i64::try_from(nested.min_items).unwrap_or(i64::MAX),
        max_items: i64::try_from(nested.max_items).unwrap_or(i64::MAX),
    }
}

/// The capabilities Terraform announced; none when it sent no message (before 1.9).
fn capabilities(pb: Option<&pb::ClientCapabilities>) -> ClientCapabilities {
    ClientCapabilities {
        write_only_attributes_allowed: pb.is_some_and(|c| c.write_only_attributes_allowed),
    }
}

/// What this provider opts into: destroy plans stay Terraform's own, we need no say in them.
fn server_capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        plan_destroy: false,
    }
}

fn to_pb_schema(schema: &Schema) -> pb::Schema {
    pb::Schema {
        version: schema.version,
        block: Some(to_pb_block(&schema.block, schema.version)),
    }
}

#[tonic::async_trait]
impl<P: Provider> ProviderService for GrpcProvider<P> {
    async fn get_metadata(
        &self,
        _request: Request<pb::get_metadata::Request>,
    ) -> Result<Response<pb::get_metadata::Response>, Status> {
        use pb::get_metadata::{DataSourceMetadata, EphemeralMetadata, ResourceMetadata};
        debug!("GetMetadata");
        let schema = self.server.get_schema();
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(server_capabilities()),
            diagnostics: to_pb_diagnostics(&schema.diagnostics),
            data_sources: (schema.data_sources.keys())
                .map(|name| DataSourceMetadata {
                    type_name: name.clone(),
                })
                .collect(),
            resources: (schema.resources.keys())
                .map(|name| ResourceMetadata {
                    type_name: name.clone(),
                })
                .collect(),
            functions: Vec::new(),
            ephemeral_resources: (schema.ephemeral_resources.keys())
                .map(|name| EphemeralMetadata {
                    type_name: name.clone(),
                })
                .collect(),
        }))
    }

    async fn get_schema(
        &self,
        _request: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        debug!("GetSchema");
        let schema = self.server.get_schema();
        let map =
            |schemas: &std::collections::BTreeMap<String, Schema>| -> HashMap<String, pb::Schema> {
                schemas
                    .iter()
                    .map(|(name, s)| (name.clone(), to_pb_schema(s)))
                    .collect()
            };
        Ok(Response::new(pb::get_provider_schema::Response {
            provider: Some(to_pb_schema(&schema.provider)),
            resource_schemas: map(&schema.resources),
            data_source_schemas: map(&schema.data_sources),
            ephemeral_resource_schemas: map(&schema.ephemeral_resources),
            diagnostics: to_pb_diagnostics(&schema.diagnostics),
            provider_meta: None,
            server_capabilities: Some(server_capabilities()),
        }))
    }

    async fn prepare_provider_config(
        &self,
        request: Request<pb::prepare_provider_config::Request>,
    ) -> Result<Response<pb::prepare_provider_config::Response>, Status> {
        debug!("PrepareProviderConfig");
        let request = request.into_inner();
        let (prepared, diags) = self
            .server
            .prepare_provider_config(&dynamic(request.config));
        Ok(Response::new(pb::prepare_provider_config::Response {
            prepared_config: to_pb_dynamic(prepared),
            diagnostics: to_pb_diagnostics(&diags),
        }))
    }

    async fn validate_resource_type_config(
        &self,
        request: Request<pb::validate_resource_type_config::Request>,
    ) -> Result<Response<pb::validate_resource_type_config::Response>, Status> {
        let request = request.into_inner();
        debug!(type_name = %request.type_name, "ValidateResourceTypeConfig");
        let diags = self.server.validate_resource_config(
            &request.type_name,
            &dynamic(request.config),
            capabilities(request.client_capabilities.as_ref()),
        );
        Ok(Response::new(pb::validate_resource_type_config::Response {
            diagnostics: to_pb_diagnostics(&diags),
        }))
    }

    async fn validate_data_source_config(
        &self,
        request: Request<pb::validate_data_source_config::Request>,
    ) -> Result<Response<pb::validate_data_source_config::Response>, Status> {
        let request = request.into_inner();
        debug!(type_name = %request.type_name, "ValidateDataSourceConfig");
        let diags = self
            .server
            .validate_data_source_config(&request.type_name, &dynamic(request.config));
        Ok(Response::new(pb::validate_data_source_config::Response {
            diagnostics: to_pb_diagnostics(&diags),
        }))
    }

    async fn upgrade_resource_state(
        &self,
        request: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        let request = request.into_inner();
        debug!(type_name = %request.type_name, version = request.version, "UpgradeResourceState");
        let raw = request.raw_state.unwrap_or_default();
        let (upgraded, diags) = self.server.upgrade_resource_state(
            &request.type_name,
            request.version,
            &raw.json,
            !raw.flatmap.is_empty(),
        );
        Ok(Response::new(pb::upgrade_resource_state::Response {
            upgraded_state: to_pb_dynamic(upgraded),
            diagnostics: to_pb_diagnostics(&diags),
        }))
    }

    async fn configure(
        &self,
        request: Request<pb::configure::Request>,
    ) -> Result<Response<pb::configure::Response>, Status> {
        let request = request.into_inner();
        debug!(terraform_version = %request.terraform_version, "Configure");
        let diags = self
            .server
            .configure(&request.terraform_version, &dynamic(request.config))
            .await;
        Ok(Response::new(pb::configure::Response {
            diagnostics: to_pb_diagnostics(&diags),
        }))
    }

    async fn read_resource(
        &self,
        request: Request<pb::read_resource::Request>,
    ) -> Result<Response<pb::read_resource::Response>, Status> {
        let request = request.into_inner();
        debug!(type_name = %request.type_name, "ReadResource");
        let read = self
            .server
            .read_resource(
                &request.type_name,
                &dynamic(request.current_state),
                request.private,
            )
            .await;
        Ok(Response::new(pb::read_resource::Response {
            new_state: to_pb_dynamic(read.new_state),
            diagnostics: to_pb_diagnostics(&read.diagnostics),
            private: read.private,
        }))
    }

    async fn plan_resource_change(
        &self,
        request: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        let request = request.into_inner();
        debug!(type_name = %request.type_name, "PlanResourceChange");
        let plan = self
            .server
            .plan_resource_change(
                &request.type_name,
                &dynamic(request.prior_state),
                &dynamic(request.proposed_new_state),
                &dynamic(request.config),
                request.prior_private,
            )
            .await;
        Ok(Response::new(pb::plan_resource_change::Response {
            planned_state: to_pb_dynamic(plan.planned_state),
            requires_replace: plan.requires_replace.iter().map(to_pb_path).collect(),
            planned_private: plan.planned_private,
            diagnostics: to_pb_diagnostics(&plan.diagnostics),
            legacy_type_system: false,
        }))
    }

    async fn apply_resource_change(
        &self,
        request: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        let request = request.into_inner();
        debug!(type_name = %request.type_name, "ApplyResourceChange");
        let applied = self
            .server
            .apply_resource_change(
                &request.type_name,
                &dynamic(request.prior_state),
                &dynamic(request.planned_state),
                &dynamic(request.config),
                request.planned_private,
            )
            .await;
        Ok(Response::new(pb::apply_resource_change::Response {
            new_state: to_pb_dynamic(applied.new_state),
            private: applied.private,
            diagnostics: to_pb_diagnostics(&applied.diagnostics),
            legacy_type_system: false,
        }))
    }

    async fn import_resource_state(
        &self,
        request: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        let request = request.into_inner();
        debug!(type_name = %request.type_name, "ImportResourceState");
        let (imported, diags) = self
            .server
            .import_resource_state(&request.type_name, &request.id)
            .await;
        Ok(Response::new(pb::import_resource_state::Response {
            imported_resources: imported
                .into_iter()
                .map(|r| pb::import_resource_state::ImportedResource {
                    type_name: r.type_name,
                    state: to_pb_dynamic(Some(r.state)),
                    private: r.private,
                })
                .collect(),
            diagnostics: to_pb_diagnostics(&diags),
        }))
    }

    async fn read_data_source(
        &self,
        request: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        let request = request.into_inner();
        debug!(type_name = %request.type_name, "ReadDataSource");
        let (state, diags) = self
            .server
            .read_data_source(&request.type_name, &dynamic(request.config))
            .await;
        Ok(Response::new(pb::read_data_source::Response {
            state: to_pb_dynamic(state),
            diagnostics: to_pb_diagnostics(&diags),
        }))
    }

    async fn validate_ephemeral_resource_config(
        &self,
        request: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> Result<Response<pb::validate_ephemeral_resource_config::Response>, Status> {
        let request = request.into_inner();
        debug!(type_name = %request.type_name, "ValidateEphemeralResourceConfig");
        let diags = self
            .server
            .validate_ephemeral_resource_config(&request.type_name, &dynamic(request.config));
        Ok(Response::new(
            pb::validate_ephemeral_resource_config::Response {
                diagnostics: to_pb_diagnostics(&diags),
            },
        ))
    }

    async fn open_ephemeral_resource(
        &self,
        request: Request<pb::open_ephemeral_resource::Request>,
    ) -> Result<Response<pb::open_ephemeral_resource::Response>, Status> {
        let request = request.into_inner();
        debug!(type_name = %request.type_name, "OpenEphemeralResource");
        let opened = self
            .server
            .open_ephemeral_resource(&request.type_name, &dynamic(request.config))
            .await;
        Ok(Response::new(pb::open_ephemeral_resource::Response {
            diagnostics: to_pb_diagnostics(&opened.diagnostics),
            // Nothing to renew: the value stays valid for the whole run.
            renew_at: None,
            result: to_pb_dynamic(opened.result),
            private: None,
            deferred: None,
        }))
    }

    async fn renew_ephemeral_resource(
        &self,
        request: Request<pb::renew_ephemeral_resource::Request>,
    ) -> Result<Response<pb::renew_ephemeral_resource::Response>, Status> {
        let request = request.into_inner();
        debug!(type_name = %request.type_name, "RenewEphemeralResource");
        let diags = self.server.renew_ephemeral_resource(&request.type_name);
        Ok(Response::new(pb::renew_ephemeral_resource::Response {
            diagnostics: to_pb_diagnostics(&diags),
            renew_at: None,
            private: request.private,
        }))
    }

    async fn close_ephemeral_resource(
        &self,
        request: Request<pb::close_ephemeral_resource::Request>,
    ) -> Result<Response<pb::close_ephemeral_resource::Response>, Status> {
        let request = request.into_inner();
        debug!(type_name = %request.type_name, "CloseEphemeralResource");
        let diags = self.server.close_ephemeral_resource(&request.type_name);
        Ok(Response::new(pb::close_ephemeral_resource::Response {
            diagnostics: to_pb_diagnostics(&diags),
        }))
    }

    async fn stop(
        &self,
        _request: Request<pb::stop::Request>,
    ) -> Result<Response<pb::stop::Response>, Status> {
        self.server.stop();
        Ok(Response::new(pb::stop::Response {
            error: String::new(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tfvalue::Type;

    #[test]
    fn attribute_flags_follow_presence() {
        let attr = to_pb_attribute(&Attribute::optional_computed("size", Type::Number));
        assert!(attr.optional && attr.computed && !attr.required);
        assert_eq!(attr.r#type, b"\"number\"");
        let attr = to_pb_attribute(&Attribute::required("name", Type::String).sensitive());
        assert!(attr.required && !attr.optional && !attr.computed && attr.sensitive);
    }

    #[test]
    fn diagnostics_keep_severity_and_path_steps() {
        use pb::attribute_path::step::Selector;
        let diag = Diagnostic::warning("Single Location", "add another").with_attribute(
            AttributePath::root()
                .attr("storage")
                .key("us_east")
                .attr("bucket"),
        );
        let pb = to_pb_diagnostic(&diag);
        assert_eq!(pb.severity, i32::from(pb::diagnostic::Severity::Warning));
        let steps: Vec<_> = pb
            .attribute
            .unwrap()
            .steps
            .into_iter()
            .map(|s| s.selector.unwrap())
            .collect();
        assert_eq!(
            steps,
            [
                Selector::AttributeName("storage".into()),
                Selector::ElementKeyString("us_east".into()),
                Selector::AttributeName("bucket".into()),
            ]
        );
    }

    #[test]
    fn root_paths_are_sent_without_steps() {
        let diag = Diagnostic::error("E", "d").with_attribute(AttributePath::root());
        assert!(to_pb_diagnostic(&diag).attribute.is_none());
    }
}
