//! The request and response values of [`ProviderServer`](super::ProviderServer)'s operations:
//! protocol-free mirrors of the tfplugin5 messages the gRPC adapter copies field by field.

use std::collections::BTreeMap;

use crate::tfvalue::{AttributePath, Diagnostics, Schema};

/// A value on the wire, as Terraform sends it: msgpack (always, in practice) or JSON.
/// Both empty means null.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DynamicValue {
    /// The msgpack encoding, or empty.
    pub msgpack: Vec<u8>,
    /// The JSON encoding, or empty.
    pub json: Vec<u8>,
}

impl DynamicValue {
    /// Wraps msgpack bytes.
    #[must_use]
    pub fn msgpack(bytes: Vec<u8>) -> Self {
        Self {
            msgpack: bytes,
            json: Vec::new(),
        }
    }
}

/// The answer to `GetSchema`.
#[derive(Debug)]
pub struct SchemaResponse {
    /// The provider block's schema.
    pub provider: Schema,
    /// Resource schemas by type name.
    pub resources: BTreeMap<String, Schema>,
    /// Data source schemas by type name.
    pub data_sources: BTreeMap<String, Schema>,
    /// Ephemeral resource schemas by type name (protocol 5.7; older Terraform ignores them).
    pub ephemeral_resources: BTreeMap<String, Schema>,
    /// Problems with the schemas themselves (provider bugs).
    pub diagnostics: Diagnostics,
}

/// The answer to `PlanResourceChange`.
#[derive(Debug, Default)]
pub struct PlanResponse {
    /// The planned state (msgpack), absent on error.
    pub planned_state: Option<DynamicValue>,
    /// Attributes whose change forces replacement.
    pub requires_replace: Vec<AttributePath>,
    /// Opaque bytes handed back to apply.
    pub planned_private: Vec<u8>,
    /// Problems found.
    pub diagnostics: Diagnostics,
}

/// The answer to `ApplyResourceChange`.
#[derive(Debug, Default)]
pub struct ApplyResponse {
    /// The new state (msgpack); null after a delete.
    pub new_state: Option<DynamicValue>,
    /// Opaque bytes stored with the state.
    pub private: Vec<u8>,
    /// Problems found.
    pub diagnostics: Diagnostics,
}

/// The answer to `ReadResource`.
#[derive(Debug, Default)]
pub struct ReadResponse {
    /// The refreshed state (msgpack); null when the object is gone.
    pub new_state: Option<DynamicValue>,
    /// Opaque bytes stored with the state.
    pub private: Vec<u8>,
    /// Problems found.
    pub diagnostics: Diagnostics,
}

/// One object returned by `ImportResourceState`.
#[derive(Debug)]
pub struct ImportedResource {
    /// The resource type.
    pub type_name: String,
    /// Its state (msgpack).
    pub state: DynamicValue,
    /// Opaque bytes stored with the state.
    pub private: Vec<u8>,
}

/// What the Terraform that sent a request can handle, as far as the provider needs to know.
/// The default is what Terraform before 1.11 announces: nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientCapabilities {
    /// Terraform keeps write-only attributes out of plan and state (protocol 5.8, Terraform
    /// 1.11 and later). Without it, a write-only value would be stored like any other.
    pub write_only_attributes_allowed: bool,
}

/// The answer to `OpenEphemeralResource`.
#[derive(Debug, Default)]
pub struct OpenResponse {
    /// The ephemeral value (msgpack), absent on error.
    pub result: Option<DynamicValue>,
    /// Problems found.
    pub diagnostics: Diagnostics,
}
