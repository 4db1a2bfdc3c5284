//! `terraform-provider-quay`: a Terraform provider for Red Hat Quay geo-replication.
//!
//! # Brief overview
//!
//! - [`plugin`]: the go-plugin server Terraform launches: handshake, AutoMTLS, health,
//!   `GRPCController.Shutdown`, signals and hclog-shaped logs. Generated protobuf types live
//!   here and stay crate-private.
//! - [`tfvalue`]: cty types and values, the msgpack/JSON `DynamicValue` codec, schemas,
//!   attribute paths and diagnostics, shared by every layer above it.
//! - [`framework`]: the protocol-free provider framework: the [`framework::Resource`] and
//!   [`framework::DataSource`] traits and the enforcement of Terraform's plan and apply rules.
//! - [`georep`]: the domain, pure and I/O-free: the shared `config.yaml` model, its validation
//!   and rendering.
//! - [`cluster`]: kube-rs clients per named cluster, server-side apply, reads and waits with
//!   bounded retries.
//! - [`orchestrate`]: the I/O around the upgrade state machine: observe the sites, perform
//!   its actions, and the loop that runs an upgrade.
//! - [`resources`]: one file per Terraform resource or data source, mapping Terraform calls
//!   onto [`georep`].
//! - [`stop`]: [`stop::StopToken`], Terraform's `Stop` as a token the framework trips and the
//!   waits in [`cluster`] and [`orchestrate`] watch.

pub mod cluster;
pub mod framework;
pub mod georep;
pub mod orchestrate;
pub mod plugin;
pub mod resources;
pub mod stop;
pub mod tfvalue;
