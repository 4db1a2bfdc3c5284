//! What the migration Job's container does: `alembic upgrade head` for one Quay version,
//! against the real database in `DB_URI`.
//!
//! It keeps alembic's bookkeeping only: the one-row table `alembic_version(version_num)`,
//! moved along the catalogue one revision at a time, each step in its own transaction after
//! a configurable pause (the time the revision's DDL would take), so an upgrade stopped in
//! the middle leaves the database at the last completed revision and a rerun resumes there.
//! A database at a revision the version does not know fails with alembic's message. Every
//! start and step is reported to the [`Ledger`].
//!
//! Not modelled: the schema itself (no tables besides `alembic_version`), downgrades, and
//! alembic's own locking (there is none: two concurrent runs really race here too, and the
//! loser fails when the row moved under it).

use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::NoTls;

use super::startup::read_revision;
use crate::quay::bundle::database_identity;
use crate::quay::{Catalogue, QuayVersion};
use crate::services::postgres::pg_error;
use crate::sim::ledger::Ledger;

/// One migration run. `Debug` shows the database without the credentials of `DB_URI`.
#[derive(Clone)]
pub struct Migration {
    /// The site running it.
    pub site: String,
    /// `DB_URI`.
    pub db_uri: String,
    /// The Quay version whose head to reach.
    pub version: QuayVersion,
    /// Pause before each revision.
    pub time_per_revision: Duration,
}

impl std::fmt::Debug for Migration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Migration")
            .field("site", &self.site)
            .field("database", &database_identity(&self.db_uri))
            .field("version", &self.version)
            .field("time_per_revision", &self.time_per_revision)
            .finish()
    }
}

impl Migration {
    /// Runs the migration to the version's head.
    ///
    /// # Errors
    /// The message the Job fails with: a connection or SQL error as PostgreSQL words it,
    /// or `Can't locate revision identified by '<rev>'`.
    ///
    /// # Cancel safety
    /// Dropping the future (stopping the model) leaves the database at the last completed
    /// revision; the ledger sees the migration end.
    pub async fn run(&self, ledger: &Arc<Ledger>) -> Result<(), String> {
        let database = database_identity(&self.db_uri);
        let _running = ledger.migration_started(&database, &self.site);
        let (client, connection) = tokio_postgres::connect(&self.db_uri, NoTls)
            .await
            .map_err(|e| format!("could not connect to the database: {}", pg_error(&e)))?;
        tokio::spawn(connection);
        client
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS alembic_version (version_num varchar(32) NOT NULL, \
                 CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))",
            )
            .await
            .map_err(|e| pg_error(&e))?;
        let mut current = read_revision(&self.db_uri).await?;
        let path = Catalogue::builtin()
            .upgrade_path(current.as_deref(), &self.version)
            .map_err(|e| e.to_string())?;
        for revision in path {
            tokio::time::sleep(self.time_per_revision).await;
            let moved = match &current {
                None => client
                    .execute(
                        "INSERT INTO alembic_version (version_num) VALUES ($1)",
                        &[&revision],
                    )
                    .await
                    .map_err(|e| pg_error(&e))?,
                Some(from) => client
                    .execute(
                        "UPDATE alembic_version SET version_num = $1 WHERE version_num = $2",
                        &[&revision, from],
                    )
                    .await
                    .map_err(|e| pg_error(&e))?,
            };
            if moved != 1 {
                return Err(format!(
                    "alembic_version is no longer at {} while applying {revision}: another \
                     migration moved it",
                    current.as_deref().unwrap_or("<base>")
                ));
            }
            ledger.migration_step(&database, &revision);
            current = Some(revision);
        }
        Ok(())
    }
}
