//! The blob replication worker: Quay's `storagereplication` worker, modelled on the real
//! buckets.
//!
//! Quay runs the worker in every quay pod while `FEATURE_STORAGE_REPLICATION` is on; it takes
//! one queue item per pushed blob and copies the blob to every
//! `DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS` location that lacks it at that moment
//! (quay/quay `workers/storagereplication.py`). The model does the same with one task per
//! run: every [`ReplicationOptions::interval`] it takes the first site that has a ready quay
//! pod (no ready pod anywhere: no worker runs, nothing is copied), reads that site's config
//! ([`SiteStorage::read`]), and, when replication is on, runs [`replicate_once`].
//!
//! Unlike Quay, it learns of a push by listing the buckets instead of reading a queue item,
//! so a blob written by any S3 client under Quay's layout is replicated too: a blob it has not
//! seen before counts as freshly queued. A blob it has handled is copied again only when it is
//! queued in the database's replication queue ([`super::queue`]), which is what Quay's backfill
//! tool does; so, as on Quay, a location added to the config receives the blobs pushed before
//! only after a backfill. A blob whose content does not match its digest (a partial write) is
//! not copied. Each blob handled gets its placements recorded ([`super::placements`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::task::JoinHandle;

use super::placements;
use super::queue::QueueReader;
use super::{Error, Location, SiteStorage, digest_of};
use crate::errors;
use crate::quay::SitePods;

/// How the worker runs; [`Default`] gives the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicationOptions {
    /// Time between two passes. Default 500 ms.
    pub interval: Duration,
}

impl Default for ReplicationOptions {
    fn default() -> Self {
        Self {
            interval: Duration::from_millis(500),
        }
    }
}

/// One blob copied by a pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// `sha256:<hex>`.
    pub digest: String,
    /// The location it was read from.
    pub from: String,
    /// The location it was written to.
    pub to: String,
}

/// One pass: copies each blob that is due (not in `handled`, or queued in the database, read
/// through `queue`) from
/// a default location of `storage`'s config to every default location that lacks it, each
/// read and written with its own location's keys; records the blobs handled.
///
/// # Errors
/// [`Error::Location`] for a default location that is not a usable S3 location,
/// [`Error::Queue`] when the replication queue cannot be read, or the first [`Error::S3`].
pub async fn replicate_once(
    storage: &SiteStorage,
    handled: &mut BTreeSet<String>,
    queue: &mut QueueReader,
) -> Result<Vec<Copied>, Error> {
    let locations = storage.default_locations()?;
    let mut held: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, location) in locations.iter().enumerate() {
        for digest in location.digests().await? {
            held.entry(digest).or_default().push(i);
        }
    }
    let queued = match storage.bundle.db_uri() {
        Some(db_uri) => queue.items(db_uri).await.map_err(Error::Queue)?,
        None => Vec::new(),
    };
    let mut copied = Vec::new();
    let mut done = BTreeSet::new();
    // Placements to record: where each blob handled this pass is now (Quay records one per
    // write and per copy; a blob the model sees first in a bucket gets those it was found in).
    let mut placed: Vec<(String, String)> = Vec::new();
    for (digest, holders) in &held {
        let requeued = queued.iter().any(|item| item.digest == *digest);
        if handled.contains(digest) && !requeued {
            continue;
        }
        // Not readable whole yet (a partial write): seen again next pass, as Quay queues a
        // blob only once its upload is complete.
        if let Some(made) = copy_to_missing(&locations, digest, holders).await? {
            placed.extend(
                holders
                    .iter()
                    .map(|&i| (digest.clone(), locations[i].name.clone()))
                    .chain(made.iter().map(|c| (digest.clone(), c.to.clone()))),
            );
            copied.extend(made);
            handled.insert(digest.clone());
            done.insert(digest.as_str());
        }
    }
    // An item whose blob is in no default location stays queued, as Quay's worker retries a
    // storage it cannot find (`JobException`); the model retries without a limit.
    if let Some(db_uri) = storage.bundle.db_uri() {
        let client = queue.client(db_uri).await.map_err(Error::Queue)?;
        placements::record(client, &placed)
            .await
            .map_err(Error::Queue)?;
        let completed: Vec<i64> = queued
            .iter()
            .filter(|item| done.contains(item.digest.as_str()))
            .map(|item| item.id)
            .collect();
        queue
            .complete(db_uri, &completed)
            .await
            .map_err(Error::Queue)?;
    }
    Ok(copied)
}

/// Copies `digest` from its first holder to every location of `locations` not in `holders`;
/// `None` when it cannot be read whole from there.
async fn copy_to_missing(
    locations: &[Location],
    digest: &str,
    holders: &[usize],
) -> Result<Option<Vec<Copied>>, Error> {
    let Some(&source) = holders.first() else {
        return Ok(None);
    };
    let missing: Vec<&Location> = locations
        .iter()
        .enumerate()
        .filter(|(i, _)| !holders.contains(i))
        .map(|(_, l)| l)
        .collect();
    if missing.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let from = &locations[source];
    let Some(bytes) = from.get(digest).await? else {
        return Ok(None);
    };
    if digest_of(&bytes) != digest {
        return Ok(None);
    }
    let mut copied = Vec::new();
    for to in missing {
        to.put(digest, bytes.clone()).await?;
        copied.push(Copied {
            digest: digest.to_owned(),
            from: from.name.clone(),
            to: to.name.clone(),
        });
    }
    Ok(Some(copied))
}

/// A site the worker may run on.
#[derive(Clone)]
pub struct WorkerSite {
    /// The site (cluster) name.
    pub site: String,
    /// A client of its cluster.
    pub client: kube::Client,
    /// Its ready pods (the worker runs only where quay pods are ready).
    pub pods: Arc<dyn SitePods>,
}

impl std::fmt::Debug for WorkerSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerSite")
            .field("site", &self.site)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct Progress {
    copied: Vec<Copied>,
    last_error: Option<String>,
}

/// The running worker. Dropping it stops it.
#[derive(Debug)]
pub struct ReplicationWorker {
    task: JoinHandle<()>,
    progress: Arc<Mutex<Progress>>,
}

impl ReplicationWorker {
    /// Starts the worker over `sites`. Must be called within a Tokio runtime.
    #[must_use]
    pub fn start(sites: Vec<WorkerSite>, opts: &ReplicationOptions) -> Self {
        let progress = Arc::new(Mutex::new(Progress::default()));
        let task = tokio::spawn(run(sites, opts.interval, Arc::clone(&progress)));
        Self { task, progress }
    }

    /// Every copy made so far, in order.
    #[must_use]
    pub fn copied(&self) -> Vec<Copied> {
        self.lock().copied.clone()
    }

    /// Why the last pass failed, if it did (cleared by a pass that succeeds).
    #[must_use]
    pub fn last_error(&self) -> Option<String> {
        self.lock().last_error.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stops the worker (a copy in flight is abandoned; the next run redoes it).
    pub async fn stop(mut self) {
        self.task.abort();
        // Aborted tasks end with a cancellation error, which is the point.
        let _ = (&mut self.task).await;
    }
}

impl Drop for ReplicationWorker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(sites: Vec<WorkerSite>, interval: Duration, progress: Arc<Mutex<Progress>>) {
    let mut handled = BTreeSet::new();
    let mut queue = QueueReader::default();
    loop {
        if let Some(site) = sites.iter().find(|s| !s.pods.quay().is_empty()) {
            let pass = async {
                let storage = SiteStorage::read(&site.site, &site.client).await?;
                if storage.bundle.replication() {
                    replicate_once(&storage, &mut handled, &mut queue).await
                } else {
                    Ok(Vec::new())
                }
            };
            let result = pass.await;
            let mut progress = progress.lock().unwrap_or_else(PoisonError::into_inner);
            match result {
                Ok(copied) => {
                    progress.copied.extend(copied);
                    progress.last_error = None;
                }
                Err(err) => {
                    let message = errors::chain(&err);
                    tracing::debug!(error = %message, "blob replication pass");
                    progress.last_error = Some(message);
                }
            }
        }
        tokio::time::sleep(interval).await;
    }
}
