//! The safety ledger: one per run, shared by every simulated site's operator model, recording
//! what a geo-replicated Quay must never do.
//!
//! The operator models report facts ([`Ledger::migration_started`], [`Ledger::migration_step`],
//! [`Ledger::pod_ready`], [`Ledger::pod_gone`]); the ledger derives [`Violation`]s from them:
//! - two migrations running against one database at once;
//! - a quay pod of version V serving while the database is at a revision newer than V's head
//!   (checked when the pod becomes ready and whenever a migration moves the database);
//! - sites serving with different configs at the same time, except while a storage location
//!   added to the shared config rolls out: configs that differ only in storage locations one
//!   of them lacks are compatible as long as each site's write location is known to the other
//!   ([`crate::quay::ConfigShape::compatible`]), so a new site serving before every other site knows its
//!   location is a violation;
//! - Quay's backfill tool starting while a serving pod's config lacks one of the default
//!   locations it queues blobs for (a worker there would take the items and copy nowhere);
//! - Quay's removal tool deleting a location's placements while a serving pod's config still
//!   names it (that pod could write or copy there again, untracked once the rows are gone);
//! - a quay pod serving without its own storage location first in its storage preference
//!   (only when `FEATURE_STORAGE_REPLICATION` is on).
//!
//! Violations are kept in memory and appended to `safety-ledger.jsonl` in the state dir, one
//! JSON object per line, each at most once. It is not a log of everything that happened, and
//! it judges only what the models report: mirror and Clair pods are not reported.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

use crate::quay::{Catalogue, ServingPod};

/// The file the ledger appends to, in the state dir.
pub const LEDGER_FILE: &str = "safety-ledger.jsonl";

/// Why the ledger file could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Creating or opening the file failed.
    #[error("open safety ledger {path}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// One thing a geo-replicated Quay must never do.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Violation {
    /// A second migration started against a database while another was running.
    ConcurrentMigrations {
        /// The database (`host:port/name`).
        database: String,
        /// The site whose migration was already running.
        running_site: String,
        /// The site whose migration started second.
        started_site: String,
    },
    /// A quay pod served while the database was at a revision newer than its version's head.
    ServingAgainstNewerSchema {
        /// The site.
        site: String,
        /// The pod.
        pod: String,
        /// The pod's Quay version.
        version: String,
        /// The database's revision.
        revision: String,
    },
    /// Two sites served with incompatible configs at the same time (see the module doc).
    ConfigHashMismatch {
        /// The site that started serving.
        site: String,
        /// Its config hash.
        hash: String,
        /// A site already serving.
        other_site: String,
        /// That site's hash.
        other_hash: String,
    },
    /// The backfill tool ran while a serving pod's config lacked a location it fills.
    BackfillBeforeRollout {
        /// The site whose Job ran the tool.
        site: String,
        /// A site serving without the location.
        serving_site: String,
        /// The location.
        location: String,
    },
    /// The removal tool ran while a serving pod's config still named the location.
    RemovalBeforeRollout {
        /// The site whose Job ran the tool.
        site: String,
        /// A site serving with the location.
        serving_site: String,
        /// The location.
        location: String,
    },
    /// A quay pod served without its own storage location first in its preference.
    ServingWithoutOwnStoragePreference {
        /// The site.
        site: String,
        /// The pod.
        pod: String,
        /// The site's own storage location.
        location: String,
        /// The pod's effective preference (`None`: none at all).
        preference: Option<String>,
    },
}

#[derive(Debug, Default)]
struct State {
    /// Running migrations: database -> sites, in start order.
    migrations: HashMap<String, Vec<String>>,
    /// Ready quay pods by (site, pod).
    serving: BTreeMap<(String, String), ServingPod>,
    seen: HashSet<Violation>,
    violations: Vec<Violation>,
}

/// The run's safety ledger; share it as `Arc<Ledger>`.
#[derive(Debug)]
pub struct Ledger {
    path: Option<PathBuf>,
    state: Mutex<State>,
}

impl Ledger {
    /// Opens (creating or truncating) `STATE_DIR/safety-ledger.jsonl`.
    ///
    /// # Errors
    /// [`Error::Open`].
    pub fn open(state_dir: &Path) -> Result<Arc<Self>, Error> {
        let path = state_dir.join(LEDGER_FILE);
        std::fs::File::create(&path).map_err(|source| Error::Open {
            path: path.clone(),
            source,
        })?;
        Ok(Arc::new(Self {
            path: Some(path),
            state: Mutex::new(State::default()),
        }))
    }

    /// A ledger kept only in memory (no file).
    #[must_use]
    pub fn in_memory() -> Arc<Self> {
        Arc::new(Self {
            path: None,
            state: Mutex::new(State::default()),
        })
    }

    /// The JSON-lines file, if any.
    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Every violation recorded so far, in order.
    #[must_use]
    pub fn violations(&self) -> Vec<Violation> {
        self.lock().violations.clone()
    }

    /// Whether nothing has been recorded.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.lock().violations.is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, state: &mut State, violation: Violation) {
        if !state.seen.insert(violation.clone()) {
            return;
        }
        tracing::warn!(?violation, "safety ledger violation");
        if let Some(path) = &self.path {
            let line = serde_json::json!({
                "at": jiff::Timestamp::now().to_string(),
                "violation": &violation,
            });
            let written = std::fs::OpenOptions::new()
                .append(true)
                .open(path)
                .and_then(|mut f| writeln!(f, "{line}"));
            if let Err(err) = written {
                // The in-memory list stays authoritative; the file is for people.
                tracing::error!(path = %path.display(), %err, "append to safety ledger");
            }
        }
        state.violations.push(violation);
    }

    /// A migration starts on `database` for `site`; the returned guard ends it when dropped
    /// (also when the migration task is aborted).
    #[must_use = "the migration counts as running until the guard is dropped"]
    pub fn migration_started(self: &Arc<Self>, database: &str, site: &str) -> MigrationGuard {
        let mut state = self.lock();
        let running = state
            .migrations
            .get(database)
            .and_then(|sites| sites.first().cloned());
        if let Some(running_site) = running {
            self.record(
                &mut state,
                Violation::ConcurrentMigrations {
                    database: database.to_owned(),
                    running_site,
                    started_site: site.to_owned(),
                },
            );
        }
        state
            .migrations
            .entry(database.to_owned())
            .or_default()
            .push(site.to_owned());
        MigrationGuard {
            ledger: Arc::clone(self),
            database: database.to_owned(),
            site: site.to_owned(),
        }
    }

    /// A migration moved `database` to `revision`: every pod serving on it whose version
    /// does not know the revision is a violation.
    pub fn migration_step(&self, database: &str, revision: &str) {
        let catalogue = Catalogue::builtin();
        let mut state = self.lock();
        let stale: Vec<Violation> = state
            .serving
            .values()
            .filter(|p| p.database == database)
            .filter(|p| catalogue.is_newer_than_head(revision, &p.version))
            .map(|p| Violation::ServingAgainstNewerSchema {
                site: p.site.clone(),
                pod: p.pod.clone(),
                version: p.version.to_string(),
                revision: revision.to_owned(),
            })
            .collect();
        for v in stale {
            self.record(&mut state, v);
        }
    }

    /// A quay pod became ready.
    pub fn pod_ready(&self, pod: ServingPod) {
        let catalogue = Catalogue::builtin();
        let mut state = self.lock();
        if let Some(revision) = &pod.revision
            && catalogue.is_newer_than_head(revision, &pod.version)
        {
            let v = Violation::ServingAgainstNewerSchema {
                site: pod.site.clone(),
                pod: pod.pod.clone(),
                version: pod.version.to_string(),
                revision: revision.clone(),
            };
            self.record(&mut state, v);
        }
        let other = state
            .serving
            .values()
            .find(|p| {
                p.site != pod.site
                    && p.config_hash != pod.config_hash
                    && !pod.config_shape.compatible(
                        pod.preference.as_deref(),
                        &p.config_shape,
                        p.preference.as_deref(),
                    )
            })
            .map(|p| (p.site.clone(), p.config_hash.clone()));
        if let Some((other_site, other_hash)) = other {
            let v = Violation::ConfigHashMismatch {
                site: pod.site.clone(),
                hash: pod.config_hash.clone(),
                other_site,
                other_hash,
            };
            self.record(&mut state, v);
        }
        if pod.replication && pod.preference.as_deref() != Some(pod.location.as_str()) {
            let v = Violation::ServingWithoutOwnStoragePreference {
                site: pod.site.clone(),
                pod: pod.pod.clone(),
                location: pod.location.clone(),
                preference: pod.preference.clone(),
            };
            self.record(&mut state, v);
        }
        state
            .serving
            .insert((pod.site.clone(), pod.pod.clone()), pod);
    }

    /// Quay's backfill tool starts on `site`, queueing blobs for `default_locations`: every
    /// serving pod must know each of them.
    pub fn backfill_started(&self, site: &str, default_locations: &[String]) {
        let mut state = self.lock();
        let early: Vec<Violation> = state
            .serving
            .values()
            .flat_map(|p| {
                default_locations
                    .iter()
                    .filter(|l| !p.config_shape.locations.contains_key(*l))
                    .map(|l| Violation::BackfillBeforeRollout {
                        site: site.to_owned(),
                        serving_site: p.site.clone(),
                        location: l.clone(),
                    })
            })
            .collect();
        for v in early {
            self.record(&mut state, v);
        }
    }

    /// Quay's removal tool deletes `location`'s placements on behalf of `site`: no serving pod
    /// may still know the location.
    pub fn location_removed(&self, site: &str, location: &str) {
        let mut state = self.lock();
        let early: Vec<Violation> = state
            .serving
            .values()
            .filter(|p| p.config_shape.locations.contains_key(location))
            .map(|p| Violation::RemovalBeforeRollout {
                site: site.to_owned(),
                serving_site: p.site.clone(),
                location: location.to_owned(),
            })
            .collect();
        for v in early {
            self.record(&mut state, v);
        }
    }

    /// A quay pod stopped serving (deleted or no longer ready).
    pub fn pod_gone(&self, site: &str, pod: &str) {
        self.lock()
            .serving
            .remove(&(site.to_owned(), pod.to_owned()));
    }
}

/// A running migration; dropping it ends the migration in the ledger.
#[derive(Debug)]
pub struct MigrationGuard {
    ledger: Arc<Ledger>,
    database: String,
    site: String,
}

impl Drop for MigrationGuard {
    fn drop(&mut self) {
        let mut state = self.ledger.lock();
        if let Some(sites) = state.migrations.get_mut(&self.database) {
            if let Some(i) = sites.iter().position(|s| *s == self.site) {
                sites.remove(i);
            }
            if sites.is_empty() {
                state.migrations.remove(&self.database);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quay::ConfigShape;

    fn pod(site: &str, name: &str, version: &str, hash: &str) -> ServingPod {
        ServingPod {
            site: site.to_owned(),
            pod: name.to_owned(),
            version: version.parse().unwrap(),
            database: "127.0.0.1:5432/quay".to_owned(),
            revision: Some("8e97c2cfee57".to_owned()),
            config_hash: hash.to_owned(),
            config_shape: shape(hash, &[("a", "s3a"), ("b", "s3b"), ("c", "s3c")]),
            replication: true,
            location: site.to_owned(),
            preference: Some(site.to_owned()),
            server_hostname: Some("quay.global.example".to_owned()),
        }
    }

    fn shape(rest: &str, locations: &[(&str, &str)]) -> ConfigShape {
        ConfigShape {
            rest: rest.to_owned(),
            locations: locations
                .iter()
                .map(|(n, d)| ((*n).to_owned(), (*d).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn second_migration_on_one_database_is_a_violation_but_sequential_ones_are_not() {
        let ledger = Ledger::in_memory();
        drop(ledger.migration_started("db", "a"));
        drop(ledger.migration_started("db", "b"));
        assert!(ledger.is_empty());
        let _a = ledger.migration_started("db", "a");
        let _other_db = ledger.migration_started("other", "c");
        assert!(ledger.is_empty());
        let _b = ledger.migration_started("db", "b");
        assert_eq!(
            ledger.violations(),
            [Violation::ConcurrentMigrations {
                database: "db".into(),
                running_site: "a".into(),
                started_site: "b".into()
            }]
        );
    }

    #[test]
    fn migration_past_a_serving_pods_head_is_a_violation() {
        let ledger = Ledger::in_memory();
        ledger.pod_ready(pod("a", "p1", "3.13.11", "h"));
        ledger.migration_step("127.0.0.1:5432/quay", "3634f2df3c5b");
        ledger.migration_step("127.0.0.1:5432/quay", "3634f2df3c5b");
        assert_eq!(ledger.violations().len(), 1, "{:?}", ledger.violations());
        assert!(matches!(
            &ledger.violations()[0],
            Violation::ServingAgainstNewerSchema { pod, revision, .. }
                if pod == "p1" && revision == "3634f2df3c5b"
        ));
    }

    #[test]
    fn pods_gone_before_the_migration_are_not_violations() {
        let ledger = Ledger::in_memory();
        ledger.pod_ready(pod("a", "p1", "3.13.11", "h"));
        ledger.pod_gone("a", "p1");
        ledger.migration_step("127.0.0.1:5432/quay", "3634f2df3c5b");
        assert!(ledger.is_empty());
    }

    #[test]
    fn sites_serving_different_config_hashes_is_a_violation() {
        let ledger = Ledger::in_memory();
        ledger.pod_ready(pod("a", "p1", "3.13.11", "h1"));
        ledger.pod_ready(pod("a", "p2", "3.13.11", "h1"));
        ledger.pod_ready(pod("b", "p3", "3.13.11", "h1"));
        assert!(ledger.is_empty());
        ledger.pod_ready(pod("c", "p4", "3.13.11", "h2"));
        assert!(matches!(
            &ledger.violations()[..],
            [Violation::ConfigHashMismatch { site, .. }] if site == "c"
        ));
    }

    #[test]
    fn a_location_rolling_out_before_its_site_serves_is_no_violation_but_the_site_first_is() {
        let with = |site: &str, pod_name: &str, locations: &[(&str, &str)]| {
            let mut p = pod(site, pod_name, "3.13.11", &format!("{locations:?}"));
            p.config_shape = shape("rest", locations);
            p
        };
        let old = [("a", "s3a"), ("b", "s3b")];
        let new = [("a", "s3a"), ("b", "s3b"), ("c", "s3c")];
        // The documented order: a and b take the config naming c, then c serves.
        let ledger = Ledger::in_memory();
        ledger.pod_ready(with("a", "a1", &old));
        ledger.pod_ready(with("b", "b1", &old));
        ledger.pod_ready(with("a", "a2", &new));
        ledger.pod_gone("a", "a1");
        ledger.pod_ready(with("b", "b2", &new));
        ledger.pod_gone("b", "b1");
        ledger.pod_ready(with("c", "c1", &new));
        assert!(ledger.is_empty(), "{:?}", ledger.violations());
        // c serving while b still runs a config without c: blobs c writes are unreachable there.
        let ledger = Ledger::in_memory();
        ledger.pod_ready(with("a", "a2", &new));
        ledger.pod_ready(with("b", "b1", &old));
        ledger.pod_ready(with("c", "c1", &new));
        assert!(matches!(
            &ledger.violations()[..],
            [Violation::ConfigHashMismatch { site, other_site, .. }]
                if site == "c" && other_site == "b"
        ));
        // A location both configs name but define differently is never compatible.
        let ledger = Ledger::in_memory();
        ledger.pod_ready(with("a", "a1", &old));
        ledger.pod_ready(with("b", "b1", &[("a", "s3a-moved"), ("b", "s3b")]));
        assert_eq!(ledger.violations().len(), 1, "{:?}", ledger.violations());
    }

    #[test]
    fn a_backfill_while_a_site_serves_without_a_default_location_is_a_violation() {
        let ledger = Ledger::in_memory();
        let mut old = pod("b", "b1", "3.13.11", "h1");
        old.config_shape = shape("rest", &[("a", "s3a"), ("b", "s3b")]);
        ledger.pod_ready(pod("a", "a1", "3.13.11", "h1"));
        ledger.backfill_started("a", &["a".to_owned(), "c".to_owned()]);
        assert!(ledger.is_empty(), "{:?}", ledger.violations());
        ledger.pod_ready(old);
        ledger.backfill_started("a", &["a".to_owned(), "c".to_owned()]);
        assert!(matches!(
            &ledger.violations()[..],
            [Violation::BackfillBeforeRollout { serving_site, location, .. }]
                if serving_site == "b" && location == "c"
        ));
    }

    #[test]
    fn a_removal_while_a_site_still_serves_the_location_is_a_violation() {
        let ledger = Ledger::in_memory();
        let mut without_c = pod("a", "a1", "3.13.11", "h1");
        without_c.config_shape = shape("rest", &[("a", "s3a"), ("b", "s3b")]);
        ledger.pod_ready(without_c);
        ledger.location_removed("a", "c");
        assert!(ledger.is_empty(), "{:?}", ledger.violations());
        let mut with_c = pod("b", "b1", "3.13.11", "h0");
        with_c.config_shape = shape("rest", &[("a", "s3a"), ("b", "s3b"), ("c", "s3c")]);
        ledger.pod_ready(with_c);
        ledger.location_removed("a", "c");
        assert!(matches!(
            &ledger.violations()[..],
            [Violation::RemovalBeforeRollout { serving_site, location, .. }]
                if serving_site == "b" && location == "c"
        ));
    }

    #[test]
    fn pod_preferring_another_sites_storage_is_a_violation() {
        let ledger = Ledger::in_memory();
        let mut p = pod("a", "p1", "3.18.0", "h");
        p.preference = Some("b".to_owned());
        ledger.pod_ready(p);
        assert!(matches!(
            &ledger.violations()[..],
            [Violation::ServingWithoutOwnStoragePreference { location, .. }] if location == "a"
        ));
    }

    #[test]
    fn violations_are_appended_to_the_file_once_each() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path()).unwrap();
        let _a = ledger.migration_started("db", "a");
        let _b = ledger.migration_started("db", "b");
        let _c = ledger.migration_started("db", "b");
        let text = std::fs::read_to_string(dir.path().join(LEDGER_FILE)).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 1, "{text}");
        assert_eq!(lines[0]["violation"]["kind"], "concurrent_migrations");
    }
}
