//! Reconcile counters of the simulated controllers: how many reconciles of each kind have
//! run to the end without an error, so a test can prove a controller ran before it asserts that the
//! controller left something alone.
//!
//! A test that checks "nothing happened" after a sleep also passes when the controller is
//! dead; waiting until the counter of the kind moves past a value read earlier proves the
//! controller looked at the world as it is now (kube-runtime runs one reconcile per object at
//! a time, on the latest state it has seen).

use std::collections::BTreeMap;

use tokio::sync::watch;
use tokio_stream::{Stream, StreamExt as _};

/// Completed reconciles per kind (`QuayRegistry`, `Subscription`, ...) of one model.
#[derive(Debug)]
pub struct Reconciles {
    counts: watch::Sender<BTreeMap<&'static str, u64>>,
}

impl Default for Reconciles {
    fn default() -> Self {
        Self {
            counts: watch::channel(BTreeMap::new()).0,
        }
    }
}

impl Reconciles {
    /// Records one reconcile of `kind` that ran to the end without an error (one that failed
    /// may have stopped before it decided anything, so it proves nothing).
    pub fn record(&self, kind: &'static str) {
        self.counts
            .send_modify(|c| *c.entry(kind).or_default() += 1);
    }

    /// How many reconciles of `kind` have run to the end without an error.
    #[must_use]
    pub fn count(&self, kind: &str) -> u64 {
        self.counts.borrow().get(kind).copied().unwrap_or(0)
    }

    /// Waits until at least `at_least` reconciles of `kind` have run to the end without an
    /// error.
    ///
    /// Adds no timeout: wrap it in [`tokio::time::timeout`].
    ///
    /// # Cancel safety
    /// Cancel safe: dropping the future before it completes loses nothing.
    pub async fn wait_for(&self, kind: &str, at_least: u64) {
        let mut counts = self.counts.subscribe();
        // Err means the sender is gone, which cannot happen while `self` is borrowed.
        let _ = counts
            .wait_for(|c| c.get(kind).copied().unwrap_or(0) >= at_least)
            .await;
    }

    /// Drives a controller's result stream to its end: counts each successful reconcile as
    /// `kind`, and logs each failed one at debug level (the controller retries it).
    pub(crate) async fn drive<S, T, E>(&self, kind: &'static str, results: S)
    where
        S: Stream<Item = Result<T, E>>,
        E: std::error::Error + 'static,
    {
        let mut results = std::pin::pin!(results);
        while let Some(result) = results.next().await {
            match result {
                Ok(_) => self.record(kind),
                Err(err) => {
                    tracing::debug!(kind, error = %crate::errors::chain(&err), "reconcile failed");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_wait_ends_when_the_kind_reaches_the_count() {
        let reconciles = std::sync::Arc::new(Reconciles::default());
        assert_eq!(reconciles.count("Subscription"), 0);
        let waiter = {
            let reconciles = std::sync::Arc::clone(&reconciles);
            tokio::spawn(async move { reconciles.wait_for("Subscription", 2).await })
        };
        reconciles.record("Subscription");
        reconciles.record("InstallPlan");
        assert_eq!(reconciles.count("Subscription"), 1);
        reconciles.record("Subscription");
        tokio::time::timeout(Duration::from_secs(10), waiter)
            .await
            .expect("the wait ended at the second Subscription reconcile")
            .unwrap();
        assert_eq!(reconciles.count("Subscription"), 2);
        assert_eq!(reconciles.count("InstallPlan"), 1);
    }
}
