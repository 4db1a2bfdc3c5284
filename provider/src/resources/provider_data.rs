//! [`ProviderData`]: what `Configure` hands every resource and data source.
//!
//! In its own file, apart from the provider block that builds it (`provider.rs`), because that
//! file lists every resource and every resource reads this: one file holding both would make
//! the provider and its resources depend on each other.

use std::sync::Arc;

use super::convert::cluster_error;
use super::migration_gate::MigrationGate;
use crate::cluster::{Cluster, Clusters};
use crate::tfvalue::Diagnostic;

/// What `Configure` produces: the named clusters, connected on first use.
#[derive(Clone, Debug, Default)]
pub struct ProviderData {
    /// Cluster blocks by label; shared by every resource of this provider process.
    pub clusters: Arc<Clusters>,
    /// Sites of this process that may be migrating a shared database, one per database.
    pub migrations: Arc<MigrationGate>,
}

impl ProviderData {
    /// The cluster labelled `key`, connected.
    ///
    /// # Errors
    ///
    /// "Cluster Unavailable" with the cause chain and what to do, when it cannot be reached.
    pub(crate) async fn cluster(&self, key: &str) -> Result<Cluster, Diagnostic> {
        self.clusters
            .get(key)
            .await
            .map_err(|err| cluster_error("Cluster Unavailable", &err))
    }
}
