//! The watch streams open now on one cluster, counted by resource: what tests wait on before
//! they write, when the client they synchronise with does not say when its watch is open.
//!
//! The watch module registers a stream here when it answers the request and
//! removes it when the stream ends; this module knows nothing else about watches.

use std::collections::BTreeMap;

use tokio::sync::watch;

use super::resources::ResourceType;

/// The watch streams open now on one cluster, counted by resource.
///
/// Resources are named as kubectl names them: the plural for the core group
/// (`configmaps`), `plural.group` otherwise (`quayregistries.quay.redhat.com`). A watch
/// counts from the moment it is established (every later write reaches it) until its stream
/// ends. Tests use it to synchronise with a client that does not say when its watch is open:
/// `kubectl get x -w` prints the object it got, *then* opens its watch from resourceVersion 0
/// and drops that watch's first event (the synthetic `ADDED`), so a write made before the
/// watch is established is folded into the dropped event and never printed, on a real API
/// server as here. Reachable in-process ([`crate::sim::apiserver::SimCluster::watches`]) and as
/// `GET /sim/watches`.
#[derive(Debug)]
pub struct OpenWatches {
    counts: watch::Sender<BTreeMap<String, usize>>,
}

impl Default for OpenWatches {
    fn default() -> Self {
        Self {
            counts: watch::channel(BTreeMap::new()).0,
        }
    }
}

impl OpenWatches {
    /// How many watches of `resource` are open now.
    pub fn count(&self, resource: &str) -> usize {
        self.counts.borrow().get(resource).copied().unwrap_or(0)
    }

    /// The open watches of every resource that has some.
    pub fn snapshot(&self) -> BTreeMap<String, usize> {
        self.counts.borrow().clone()
    }

    /// Wait until at least `at_least` watches of `resource` are open.
    ///
    /// Adds no timeout: wrap it in [`tokio::time::timeout`].
    ///
    /// # Cancel safety
    /// Cancel safe: dropping the future before it completes loses nothing.
    pub async fn wait_for(&self, resource: &str, at_least: usize) {
        let mut counts = self.counts.subscribe();
        // Err means the sender is gone, which cannot happen while `self` is borrowed.
        let _ = counts
            .wait_for(|c| c.get(resource).copied().unwrap_or(0) >= at_least)
            .await;
    }

    pub(super) fn add(&self, resource: &str) {
        self.counts
            .send_modify(|c| *c.entry(resource.to_owned()).or_default() += 1);
    }

    pub(super) fn remove(&self, resource: &str) {
        self.counts.send_modify(|c| {
            if let Some(n) = c.get_mut(resource) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    c.remove(resource);
                }
            }
        });
    }
}

/// The name of `t` in [`OpenWatches`]: `configmaps`, `quayregistries.quay.redhat.com`.
pub fn resource_name(t: &ResourceType) -> String {
    if t.group.is_empty() {
        t.plural.clone()
    } else {
        format!("{}.{}", t.plural, t.group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::apiserver::resources::Catalog;

    #[test]
    fn resources_are_named_as_kubectl_names_them() {
        let catalog = Catalog::builtin();
        let deployments = catalog.get("apps", "v1", "deployments").unwrap();
        assert_eq!(resource_name(&deployments), "deployments.apps");
        let configmaps = catalog.get("", "v1", "configmaps").unwrap();
        assert_eq!(resource_name(&configmaps), "configmaps");
    }
}
