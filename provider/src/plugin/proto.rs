//! Rust types generated from `proto/*.proto` by `build.rs`.
//!
//! This module only includes the generated code; it adds nothing by hand. The types stay
//! crate-private: the adapter in this module's parent converts them to the crate's own types,
//! so nothing outside [`crate::plugin`] depends on prost structs.
//!
//! - [`tfplugin5`]: the protocol 5 `Provider` service (server side only) and its messages.
//!   Implement [`tfplugin5::provider_server::Provider`] and wrap it in
//!   [`tfplugin5::provider_server::ProviderServer`]; RPCs left out answer `UNIMPLEMENTED`.
//! - [`go_plugin`]: go-plugin's `GRPCController` service (package `plugin`).

/// Generated from `proto/tfplugin5.proto` (package `tfplugin5`).
#[allow(
    missing_docs,
    dead_code,
    clippy::all,
    clippy::pedantic,
    reason = "generated code; its documentation lives in the .proto file"
)]
pub(crate) mod tfplugin5 {
    tonic::include_proto!("tfplugin5");
}

/// Generated from `proto/grpc_controller.proto` (package `plugin`).
#[allow(
    missing_docs,
    dead_code,
    clippy::all,
    clippy::pedantic,
    reason = "generated code; its documentation lives in the .proto file"
)]
pub(crate) mod go_plugin {
    tonic::include_proto!("plugin");
}
