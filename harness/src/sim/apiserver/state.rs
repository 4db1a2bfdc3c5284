//! The state every request of one simulated cluster shares: the store under its lock, the
//! faults and counters, and the open watches.
//!
//! It holds data and answers no request: the HTTP layer reads and writes it, and the
//! cluster's lifecycle (listener, TLS) creates it.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::faults::Faults;
use super::open_watches::OpenWatches;
use super::store::Store;

/// State shared by every request of one cluster.
#[derive(Debug)]
pub struct ClusterState {
    /// Site name.
    pub site: String,
    /// Required bearer token (HTTPS only).
    pub token: Option<String>,
    /// The objects, under one lock.
    pub store: Mutex<Store>,
    /// Faults and counters.
    pub faults: Faults,
    /// `host:port`, for legacy `/api` discovery.
    pub server_address: String,
    /// Interval between watch bookmarks.
    pub bookmark_interval: Duration,
    /// The watch streams open now.
    pub watches: OpenWatches,
}

impl ClusterState {
    /// The store, locked. A panic under the lock leaves the objects as they were, so a
    /// poisoned lock is taken over rather than propagated.
    pub fn lock_store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
