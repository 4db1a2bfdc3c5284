//! The [`DataSource`] trait: one per `data "<type>"` block, each in its own file under
//! `crate::resources`.

use async_trait::async_trait;

use crate::stop::StopToken;
use crate::tfvalue::{Diagnostics, Schema, Value};

/// A Terraform data source.
///
/// The framework decodes the configuration against [`DataSource::schema`], calls
/// [`DataSource::validate`] at validate time (config may contain unknown values) and
/// [`DataSource::read`] when every input is known. It then checks that the result conforms to
/// the schema, is wholly known and keeps every configured argument unchanged, and turns a
/// violation into a provider-bug diagnostic.
#[async_trait]
pub trait DataSource<D: Send + Sync>: Send + Sync {
    /// The type name, e.g. `quay_georep_config`.
    fn type_name(&self) -> &'static str;

    /// The schema: arguments and computed results.
    fn schema(&self) -> Schema;

    /// Checks the configuration and reports every problem with its attribute path.
    /// Unknown values must be skipped, not reported. The default accepts everything.
    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let _ = (config, diags);
    }

    /// Produces the data source's state from its (wholly known) configuration.
    ///
    /// `data` is `None` when the provider was not configured (or its configuration failed);
    /// a data source that needs it must report an error.
    ///
    /// Returns `None` with error diagnostics on failure.
    async fn read(
        &self,
        data: Option<&D>,
        config: &Value,
        stop: &StopToken,
        diags: &mut Diagnostics,
    ) -> Option<Value>;
}
