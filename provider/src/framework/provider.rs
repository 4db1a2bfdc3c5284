//! The [`Provider`] trait: the provider block's schema and configuration, and the catalogue of
//! resources, data sources and ephemeral resources.

use std::sync::Arc;

use async_trait::async_trait;

use super::data_source::DataSource;
use super::ephemeral::EphemeralResource;
use super::resource::Resource;
use crate::tfvalue::{Diagnostics, Schema, Value};

/// A Terraform provider, as seen by [`super::ProviderServer`].
///
/// `Data` is what [`Provider::configure`] produces from the provider block (for this project:
/// the named clusters) and what every resource operation receives. It must be cheap to share:
/// the server keeps the latest one in an [`Arc`].
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// The configured provider data handed to resources and data sources.
    type Data: Send + Sync + 'static;

    /// The schema of the `provider` block.
    fn schema(&self) -> Schema;

    /// Checks the provider configuration (which may contain unknown values) and reports every
    /// problem with its attribute path. Must not contact anything.
    fn validate(&self, config: &Value, diags: &mut Diagnostics);

    /// Turns a validated configuration into provider data. Must not contact any cluster:
    /// connections are made lazily, on first use.
    ///
    /// Returns `None` (with error diagnostics) when the configuration cannot be used.
    async fn configure(&self, config: &Value, diags: &mut Diagnostics) -> Option<Self::Data>;

    /// Every resource type this provider offers.
    fn resources(&self) -> Vec<Arc<dyn Resource<Self::Data>>>;

    /// Every data source type this provider offers.
    fn data_sources(&self) -> Vec<Arc<dyn DataSource<Self::Data>>>;

    /// Every ephemeral resource type this provider offers (Terraform 1.10 and later; older
    /// Terraform never asks for them). The default offers none.
    fn ephemeral_resources(&self) -> Vec<Arc<dyn EphemeralResource<Self::Data>>> {
        Vec::new()
    }
}
