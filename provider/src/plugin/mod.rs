//! The go-plugin server Terraform launches: handshake, AutoMTLS, health, shutdown, signals
//! and logs.
//!
//! # The go-plugin contract
//!
//! Terraform starts the provider binary as a child process with
//! `TF_PLUGIN_MAGIC_COOKIE` (proof that a plugin host started it), `PLUGIN_PROTOCOL_VERSIONS`
//! (`5,6` in any order), `PLUGIN_MIN_PORT`/`PLUGIN_MAX_PORT` and, unless
//! `TF_DISABLE_PLUGIN_TLS` is set, `PLUGIN_CLIENT_CERT` (its AutoMTLS client certificate).
//! The provider listens on 127.0.0.1 and prints exactly one stdout line,
//! `1|5|tcp|127.0.0.1:<port>|grpc|<server cert, unpadded base64 DER>`; Terraform connects
//! with gRPC over mutual TLS, calls the `tfplugin5.Provider` RPCs, and ends each process by
//! calling `plugin.GRPCController/Shutdown`, killing it 2 s later if it has not exited.
//! Stderr lines in go-hclog JSON become Terraform log lines with their level. Ctrl-C reaches
//! the whole process group, so the provider ignores SIGINT and waits for the `Stop` RPC.
//!
//! # Brief overview
//!
//! - [`serve()`]: the entry point, wiring everything below; [`ServeOptions`] selects
//!   debug mode (`TF_REATTACH_PROVIDERS`).
//! - [`handshake`]: cookie, protocol negotiation, port range, the handshake line.
//! - [`tls`]: the server certificate, the pinned client-certificate verifier, the TLS
//!   accept loop.
//! - [`shutdown`]: the shutdown trigger and the SIGINT/SIGTERM handlers.
//! - [`logging`]: the go-hclog JSON log layer.
//! - `controller`: `plugin.GRPCController/Shutdown`.
//! - `proto` (crate-private): the generated tfplugin5 and go-plugin types. Implement
//!   `proto::tfplugin5::provider_server::Provider` and wrap it in `ProviderServer` to get the
//!   service [`serve()`] takes.
//! - [`grpc_provider`]: the `tfplugin5.Provider` service, a thin adapter onto
//!   [`crate::framework::ProviderServer`].
//!
//! This module does not interpret provider values or schemas: that is the adapter's job.

mod controller;
pub mod grpc_provider;
pub mod handshake;
pub mod logging;
pub(crate) mod proto;
pub mod serve;
pub mod shutdown;
pub mod tls;

pub use serve::{GrpcService, ServeError, ServeOptions, serve};
