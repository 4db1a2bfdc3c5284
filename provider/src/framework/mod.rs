//! The provider framework: protocol-free traits for resources and data sources, and the
//! server core that answers Terraform's 12 protocol 5.2 operations on top of them.
//!
//! This is our equivalent of terraform-plugin-framework's `fwserver`: it only ever deals in
//! [`crate::tfvalue`] types. The gRPC adapter in [`crate::plugin`] converts protobuf messages into
//! the request types here and back, and does nothing else.
//!
//! # Brief overview
//!
//! - [`Provider`]: the provider's own schema, its configuration, and the lists of
//!   [`Resource`]s, [`DataSource`]s and [`EphemeralResource`]s it offers. Each resource is one file under
//!   `crate::resources`.
//! - [`ProviderServer`]: dispatches every operation to the right resource by type name, decodes
//!   and encodes `DynamicValue`s against the schema, fills in the default plan, and **enforces
//!   Terraform's plan and apply rules itself** (see [`check_planned_state`] and [`check_apply_result`]): a resource that plans a
//!   change to a configured, non-computed value, or returns a result that differs from a known
//!   planned value, gets a provider-side error diagnostic that says it is a provider bug, instead
//!   of Terraform's "Provider produced inconsistent result" crash and a tainted object.
//! - Write-only attributes ([`crate::tfvalue::Attribute::write_only`], Terraform 1.11): the
//!   server hands their configured values to the resource in `config` only, answers null for
//!   them in every plan, state and import, and refuses a value from a Terraform that does not
//!   announce the capability (it would store the value in plan and state).
//!
//! What it does not do: talk to clusters (that is `crate::cluster`), or hold state between
//! operations other than the latest provider configuration. Terraform starts a fresh process
//! for each phase and may call [`ProviderServer::upgrade_resource_state`] on a process that
//! was never configured, so nothing here may assume an earlier call happened.

mod consistency;
mod data_source;
mod ephemeral;
mod messages;
mod plan;
mod provider;
mod resource;
mod server;
mod values;

pub use crate::stop::StopToken;
pub use consistency::{check_apply_result, check_planned_state};
pub use data_source::DataSource;
pub use ephemeral::EphemeralResource;
pub use messages::{
    ApplyResponse, ClientCapabilities, DynamicValue, ImportedResource, OpenResponse, PlanResponse,
    ReadResponse, SchemaResponse,
};
pub use plan::{default_plan, mark_computed_unknown};
pub use provider::Provider;
pub use resource::{PlanRequest, Resource};
pub use server::ProviderServer;
