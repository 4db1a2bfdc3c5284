//! TEMPORARY placeholder provider, so the binary can be launched by Terraform before the real
//! adapter (`plugin/grpc_provider.rs`) exists. The integrator replaces it and deletes this file.
//!
//! It answers `GetSchema` with an empty provider block (schema version 0) and no resources,
//! echoes the provider config in `PrepareProviderConfig`, accepts `Configure` and `Stop`.
//! Every other RPC is a generated default stub answering `UNIMPLEMENTED`.

use tonic::{Request, Response, Status};

use super::proto::tfplugin5::provider_server::{Provider, ProviderServer};
use super::proto::tfplugin5::{
    Schema, configure, get_provider_schema, prepare_provider_config, schema, stop,
};
use super::serve::GrpcService;

/// A provider with an empty schema (temporary, see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct PlaceholderProvider;

/// The placeholder provider as a gRPC service for [`crate::plugin::serve()`].
#[must_use]
pub fn service() -> impl GrpcService {
    ProviderServer::new(PlaceholderProvider)
}

#[tonic::async_trait]
impl Provider for PlaceholderProvider {
    async fn get_schema(
        &self,
        _request: Request<get_provider_schema::Request>,
    ) -> Result<Response<get_provider_schema::Response>, Status> {
        Ok(Response::new(get_provider_schema::Response {
            provider: Some(Schema {
                version: 0,
                block: Some(schema::Block::default()),
            }),
            ..Default::default()
        }))
    }

    async fn prepare_provider_config(
        &self,
        request: Request<prepare_provider_config::Request>,
    ) -> Result<Response<prepare_provider_config::Response>, Status> {
        Ok(Response::new(prepare_provider_config::Response {
            prepared_config: request.into_inner().config,
            diagnostics: Vec::new(),
        }))
    }

    async fn configure(
        &self,
        _request: Request<configure::Request>,
    ) -> Result<Response<configure::Response>, Status> {
        Ok(Response::new(configure::Response::default()))
    }

    async fn stop(
        &self,
        _request: Request<stop::Request>,
    ) -> Result<Response<stop::Response>, Status> {
        Ok(Response::new(stop::Response::default()))
    }
}
