//! [`ProviderData`]: what `Configure` hands every resource and data source.
//!
//! In its own file, apart from the provider block that builds it (`provider.rs`), because that
//! file lists every resource and every resource reads this: one file holding both would make
//! the provider and its resources depend on each other.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::convert::cluster_error;
use super::migration_gate::MigrationGate;
use super::planned_sites::PlannedSites;
use crate::cluster::{Cluster, Clusters};
use crate::tfvalue::{AttributePath, Diagnostic};

/// What `Configure` produces: the named clusters, connected on first use.
#[derive(Clone, Debug, Default)]
pub struct ProviderData {
    /// Cluster blocks by label; shared by every resource of this provider process.
    pub clusters: Arc<Clusters>,
    /// Sites of this process that may be migrating a shared database, one per database.
    pub migrations: Arc<MigrationGate>,
    /// The sites this process has planned, for the checks between sites.
    pub planned_sites: Arc<PlannedSites>,
    /// The Quay Operator version of each cluster, read once per process.
    pub operators: Arc<OperatorVersionCache>,
}

/// The Quay Operator version found on each cluster (`None`: no operator Deployment there),
/// read at most once per provider process, so that comparing the operators at every site's
/// plan costs one read per cluster per plan, not one per site. A read that failed is not kept.
#[derive(Debug, Default)]
pub struct OperatorVersionCache(tokio::sync::Mutex<BTreeMap<String, Option<String>>>);

impl OperatorVersionCache {
    /// The version of cluster `key`: kept, else `read` (kept when it succeeds). Concurrent
    /// callers wait for one another, so a cluster is read once.
    ///
    /// # Errors
    /// What `read` returned.
    pub async fn get_or_read<E>(
        &self,
        key: &str,
        read: impl AsyncFnOnce() -> Result<Option<String>, E>,
    ) -> Result<Option<String>, E> {
        let mut kept = self.0.lock().await;
        if let Some(version) = kept.get(key) {
            return Ok(version.clone());
        }
        let version = read().await?;
        kept.insert(key.to_owned(), version.clone());
        Ok(version)
    }
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

    /// A warning for `site` on cluster `key` when that cluster's kubeconfig turns off the
    /// check of the API server's certificate (`insecure-skip-tls-verify: true`): the
    /// credentials go to whoever answers. `None` otherwise. Reads the settings only.
    pub(crate) async fn insecure_warning(&self, key: &str, site: &str) -> Option<Diagnostic> {
        if !self.clusters.skips_tls_verification(key).await {
            return None;
        }
        Some(
            Diagnostic::warning(
                "TLS Verification Disabled",
                format!(
                    "{site}: the kubeconfig of cluster \"{key}\" sets insecure-skip-tls-verify, \
                     so the provider does not check the API server's certificate: anyone on \
                     the network path can pose as the cluster, read the credentials sent to it \
                     and see the site's secrets. Set the cluster's certificate-authority-data \
                     (or cluster_ca_certificate) and remove insecure-skip-tls-verify"
                ),
            )
            .with_attribute(AttributePath::root().attr("cluster")),
        )
    }

    /// A warning for `site` on cluster `key` when that cluster's block is not known yet (a
    /// cluster created in the same apply): it names the site and the arguments it waits for,
    /// and says that `doing` happens only once they are known. `None` for a known cluster.
    pub(crate) fn pending_warning(&self, key: &str, site: &str, doing: &str) -> Option<Diagnostic> {
        let waits_for = self.clusters.pending(key)?;
        Some(
            Diagnostic::warning(
                "Cluster Not Known Yet",
                format!(
                    "{site}: cluster \"{key}\" waits for its {} (known only after apply, as \
                     for a cluster created in the same apply), so {doing}",
                    waits_for.join(", ")
                ),
            )
            .with_attribute(AttributePath::root().attr("cluster")),
        )
    }
}
