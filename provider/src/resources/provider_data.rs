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
use crate::georep::site::OperatorVersions;
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

/// The Quay Operator version found on each cluster, read at most once per provider process,
/// so that comparing the operators at every site's plan costs one read per cluster per plan,
/// not one per site. A read that failed is kept as failed too: a cluster that did not answer
/// is not asked again by every later site's plan. It also remembers which differences were
/// reported, so that sites planned at the same moment, which see the same clusters, report
/// a difference once.
#[derive(Debug, Default)]
pub struct OperatorVersionCache {
    /// One slot per cluster, each behind its own lock: a cluster being read holds back the
    /// other readers of that cluster only, so far-away clusters are read at the same time.
    reads: std::sync::Mutex<BTreeMap<String, Arc<tokio::sync::Mutex<Option<OperatorRead>>>>>,
    reported: std::sync::Mutex<std::collections::BTreeSet<OperatorVersions>>,
}

/// What reading a cluster's operator gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OperatorRead {
    /// The operator's Quay version (`None`: no operator Deployment there).
    Found(Option<String>),
    /// An earlier read failed; the caller that read it reported why.
    FailedBefore,
}

impl OperatorVersionCache {
    /// What cluster `key`'s operator runs: kept, else read by `read` and kept. Concurrent
    /// callers for one cluster wait for one another, so a cluster is read once; callers for
    /// different clusters do not wait.
    ///
    /// # Errors
    /// What `read` returned, the first time only (later: [`OperatorRead::FailedBefore`]).
    pub async fn get_or_read<E>(
        &self,
        key: &str,
        read: impl AsyncFnOnce() -> Result<Option<String>, E>,
    ) -> Result<OperatorRead, E> {
        let slot = Arc::clone(
            self.reads
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .entry(key.to_owned())
                .or_default(),
        );
        let mut kept = slot.lock().await;
        if let Some(found) = kept.as_ref() {
            return Ok(found.clone());
        }
        let result = read().await;
        let found = match &result {
            Ok(version) => OperatorRead::Found(version.clone()),
            Err(_) => OperatorRead::FailedBefore,
        };
        *kept = Some(found.clone());
        result.map(|_| found)
    }

    /// Whether the difference between the operator versions `found` is reported for the first
    /// time in this process (and so should be).
    pub fn first_report(&self, found: &OperatorVersions) -> bool {
        self.reported
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(found.clone())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_cluster_is_read_once_even_when_the_read_failed() {
        let cache = OperatorVersionCache::default();
        let mut reads = 0;
        let found = cache
            .get_or_read("a", async || {
                reads += 1;
                Ok::<_, ()>(Some("3.17.4".to_owned()))
            })
            .await;
        assert_eq!(found, Ok(OperatorRead::Found(Some("3.17.4".to_owned()))));
        let again = cache.get_or_read("a", async || Err(())).await;
        assert_eq!(again, Ok(OperatorRead::Found(Some("3.17.4".to_owned()))));
        assert_eq!(
            cache.get_or_read("b", async || Err("down")).await,
            Err("down")
        );
        let later = cache
            .get_or_read("b", async || {
                reads += 1;
                Ok::<_, &str>(None)
            })
            .await;
        assert_eq!(later, Ok(OperatorRead::FailedBefore), "not asked again");
        assert_eq!(reads, 1);
    }

    /// Each read here waits for the other to start: with one lock for every cluster, the
    /// second would wait for the first to end, and neither would.
    #[tokio::test]
    async fn two_clusters_are_read_at_the_same_time() {
        let cache = OperatorVersionCache::default();
        let both_started = tokio::sync::Barrier::new(2);
        let read = async |version: &str| {
            cache
                .get_or_read(version, async || {
                    both_started.wait().await;
                    Ok::<_, ()>(Some(version.to_owned()))
                })
                .await
        };
        let reads = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            tokio::join!(read("3.16.2"), read("3.17.4"))
        })
        .await
        .expect("one cluster's read waited for the other's");
        assert_eq!(
            reads,
            (
                Ok(OperatorRead::Found(Some("3.16.2".to_owned()))),
                Ok(OperatorRead::Found(Some("3.17.4".to_owned())))
            )
        );
    }

    #[test]
    fn a_difference_between_the_same_operators_is_reported_once() {
        let cache = OperatorVersionCache::default();
        let versions = |pairs: &[(&str, &str)]| -> OperatorVersions {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Some((*v).to_owned())))
                .collect()
        };
        let two = versions(&[("a", "3.16.2"), ("b", "3.17.4")]);
        assert!(cache.first_report(&two));
        assert!(
            !cache.first_report(&two),
            "the second site of the same moment"
        );
        let three = versions(&[("a", "3.16.2"), ("b", "3.17.4"), ("c", "3.17.4")]);
        assert!(
            cache.first_report(&three),
            "a later site that sees one more cluster"
        );
    }
}
