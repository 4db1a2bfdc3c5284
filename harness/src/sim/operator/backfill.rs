//! What Quay's backfill tool does in a Job's pod: `python -m util.backfillreplication`
//! (quay/quay `util/backfillreplication.py`).
//!
//! The tool exits at once, successfully, printing "Storage replication is not enabled" when
//! `FEATURE_STORAGE_REPLICATION` is off. Otherwise it goes through every blob of every
//! manifest and queues a replication ([`crate::blobs::queue`]) for each blob missing from a
//! required location (the namespace's region locations and
//! `DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS`), skipping blobs already queued; the replication
//! workers then copy them. The model reads "where a blob is" from the default locations'
//! buckets, as it keeps no `imagestorageplacement` rows, has no region locations, and queues
//! every blob in the buckets, not only those a manifest references. Queue items name the
//! blob by digest on one queue (Quay: the storage's uuid, under `imagestoragereplication/`).
//! It tells the safety ledger it started ([`Ledger::backfill_started`]): a site still serving
//! without the location would take items and copy nowhere.

use std::collections::{BTreeMap, BTreeSet};

use crate::blobs::{SiteStorage, queue};
use crate::errors::chain;
use crate::quay::Bundle;
use crate::sim::ledger::Ledger;

/// The module the tool runs as.
pub const BACKFILL_MODULE: &str = "util.backfillreplication";

/// Runs the tool against `bundle` on behalf of `site`; the error is what the pod would log
/// last.
///
/// # Errors
/// A default location that is not a usable S3 location, a bucket that cannot be listed, or
/// a database that cannot be written.
pub async fn run(site: &str, bundle: Bundle, ledger: &Ledger) -> Result<(), String> {
    if !bundle.replication() {
        tracing::info!(site, "backfill: Storage replication is not enabled");
        return Ok(());
    }
    let db_uri = bundle
        .db_uri()
        .ok_or("DB_URI is not set in config.yaml")?
        .to_owned();
    let storage = SiteStorage {
        site: site.to_owned(),
        bundle,
        preference: None,
        ready_quay_pods: 0,
    };
    ledger.backfill_started(site, &storage.bundle.default_locations());
    let locations = storage.default_locations().map_err(|e| chain(&e))?;
    let mut holders: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for (i, location) in locations.iter().enumerate() {
        for digest in location.digests().await.map_err(|e| chain(&e))? {
            holders.entry(digest).or_default().insert(i);
        }
    }
    let missing: Vec<String> = holders
        .into_iter()
        .filter(|(_, held)| held.len() < locations.len())
        .map(|(digest, _)| digest)
        .collect();
    let queued = queue::enqueue(&db_uri, &missing).await?;
    tracing::info!(
        site,
        missing = missing.len(),
        queued,
        "backfill: enqueued manifest blobs to be replicated"
    );
    Ok(())
}
