//! One site install at a time per shared database, within one provider process.
//!
//! The Quay Operator starts a migration Job for every new `QuayRegistry` (and again when its
//! config bundle changes `DB_URI`), even when another site has already migrated the shared
//! database: two sites created at once run two migrations against one schema, which
//! geo-replication must never do (`reference/quay-operator.md` §3). Terraform creates
//! independent resources in parallel, but every resource of one run is served by one provider
//! process, so a gate per database in that process serialises the sites of one apply without
//! the user chaining them with `depends_on`.
//!
//! It cannot see other Terraform runs or other tools; `quay_georep_upgrade` takes a Lease on
//! the cluster for that. Holding the gate only makes sense while the resource waits for the
//! site to converge, so sites with `wait_for_ready = false` do not take it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OwnedMutexGuard;

use crate::georep::config::db_uri::DatabaseId;

/// A lock per database, created on first use and kept for the process's life (a provider
/// process serves one Terraform command, so the map stays as small as the configuration).
#[derive(Debug, Default)]
pub struct MigrationGate {
    gates: Mutex<HashMap<DatabaseId, Arc<tokio::sync::Mutex<()>>>>,
}

/// Held while one site may migrate `database`; dropping it lets the next site in.
#[derive(Debug)]
pub struct Entered {
    _guard: OwnedMutexGuard<()>,
}

impl MigrationGate {
    fn gate(&self, database: &DatabaseId) -> Arc<tokio::sync::Mutex<()>> {
        // The map is only touched in this function, which cannot panic halfway: a poisoned
        // lock still holds a consistent map.
        let mut gates = self.gates.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(gates.entry(database.clone()).or_default())
    }

    /// Enters at once when no other site holds `database`'s gate, or returns `None`.
    pub fn try_enter(&self, database: &DatabaseId) -> Option<Entered> {
        self.gate(database)
            .try_lock_owned()
            .ok()
            .map(|guard| Entered { _guard: guard })
    }

    /// Waits until no other site holds `database`'s gate, then enters. Callers bound the
    /// wait (a deadline and Terraform's stop) with `tokio::select!`.
    pub async fn enter(&self, database: &DatabaseId) -> Entered {
        Entered {
            _guard: self.gate(database).lock_owned().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::georep::config::db_uri::DbUri;
    use crate::georep::secret::Secret;

    fn database(uri: &str) -> DatabaseId {
        DbUri::parse(&Secret::new(uri)).unwrap().database().clone()
    }

    #[test]
    fn a_second_site_on_the_same_database_waits_for_the_first() {
        let gate = MigrationGate::default();
        let shared = database("postgresql://quay:a@pg:5432/quay");
        let first = gate.try_enter(&shared).expect("the gate starts open");
        assert!(
            gate.try_enter(&database("postgresql://other:b@pg:5432/quay"))
                .is_none(),
            "another user on the same database must wait"
        );
        drop(first);
        assert!(gate.try_enter(&shared).is_some(), "released on drop");
    }

    #[test]
    fn sites_on_different_databases_do_not_wait_for_each_other() {
        let gate = MigrationGate::default();
        let _quay = gate
            .try_enter(&database("postgresql://quay:a@pg:5432/quay"))
            .unwrap();
        assert!(
            gate.try_enter(&database("postgresql://quay:a@pg:5432/other"))
                .is_some()
        );
        assert!(
            gate.try_enter(&database("postgresql://quay:a@pg2:5432/quay"))
                .is_some()
        );
    }

    #[tokio::test]
    async fn a_waiting_site_enters_when_the_holder_leaves() {
        let gate = Arc::new(MigrationGate::default());
        let shared = database("postgresql://quay:a@pg/quay");
        let first = gate.enter(&shared).await;
        let waiter = tokio::spawn({
            let gate = Arc::clone(&gate);
            let shared = shared.clone();
            async move {
                let _entered = gate.enter(&shared).await;
            }
        });
        tokio::task::yield_now().await;
        assert!(
            !waiter.is_finished(),
            "entered while the first site held it"
        );
        drop(first);
        waiter.await.unwrap();
    }
}
