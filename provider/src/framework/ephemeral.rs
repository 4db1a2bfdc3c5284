//! The [`EphemeralResource`] trait: one per `ephemeral "<type>"` block (protocol 5.7,
//! Terraform 1.10 and later), each in its own file under `crate::resources`.
//!
//! An ephemeral resource produces a value for one Terraform run that Terraform never writes to
//! a plan or state file; it may only flow into other ephemeral places (write-only attributes,
//! provider blocks, locals and outputs marked ephemeral). Terraform opens it in every run that
//! needs it (plan and apply each open it again) and closes it when done.
//!
//! Only [`EphemeralResource::type_name`], [`EphemeralResource::schema`] and
//! [`EphemeralResource::open`] are required: the resources of this provider hold nothing that
//! needs renewing or releasing, so the server answers `Renew` and `Close` itself.

use async_trait::async_trait;

use crate::stop::StopToken;
use crate::tfvalue::{Diagnostics, Schema, Value};

/// A Terraform ephemeral resource.
///
/// The framework decodes the configuration against [`EphemeralResource::schema`], calls
/// [`EphemeralResource::validate`] (config may contain unknown values) and
/// [`EphemeralResource::open`] when every input is known. It checks that the result conforms
/// to the schema, is wholly known and keeps every configured argument, and turns a violation
/// into a provider-bug diagnostic, as for data sources.
#[async_trait]
pub trait EphemeralResource<D: Send + Sync>: Send + Sync {
    /// The type name, e.g. `quay_georep_config`.
    fn type_name(&self) -> &'static str;

    /// The schema: arguments and computed results.
    fn schema(&self) -> Schema;

    /// Checks the configuration and reports every problem with its attribute path.
    /// Unknown values must be skipped, not reported. The default accepts everything.
    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let _ = (config, diags);
    }

    /// Produces the value from the (wholly known) configuration. `data` is `None` when the
    /// provider was not configured.
    ///
    /// Returns `None` with error diagnostics on failure.
    async fn open(
        &self,
        data: Option<&D>,
        config: &Value,
        stop: &StopToken,
        diags: &mut Diagnostics,
    ) -> Option<Value>;
}
