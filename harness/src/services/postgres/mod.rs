//! [`Postgres`]: a throwaway PostgreSQL 15 server for the `local` backend.
//!
//! [`Postgres::start`] finds Debian's PostgreSQL 15 binaries, runs `initdb` into
//! `STATE_DIR/postgres/data` with a generated superuser password (scram-sha-256 for every
//! connection, so a wrong password really fails), starts the server with `pg_ctl` on a free
//! loopback port (its Unix socket in `STATE_DIR/postgres/run`), waits until it accepts
//! password logins, and creates what Quay needs: the login role `quay` with its own generated
//! password, the databases `quay` and `clair` owned by it, and `pg_trgm` in `quay` (left out
//! with [`PostgresOptions::with_pg_trgm`] = `false`, for tests of Quay's start-up check).
//!
//! `initdb` refuses to run as root, so when the harness runs as root (as CI does) every
//! server command runs as the `postgres` user through `runuser`, in a directory of that
//! user's in the system's temporary directory (`georep-postgres-XXXXXX`, mode 0700), which
//! `STATE_DIR/postgres` links to: the state dir itself stays `0700`, root's alone.
//!
//! It does not: install PostgreSQL (see `scripts/install-services.sh`), enable TLS, tune the
//! server beyond turning durability off (`fsync`, `synchronous_commit`, `full_page_writes`:
//! this is test data), or survive a `SIGKILL` of the harness (then the postmaster keeps
//! running; its pid is in `STATE_DIR/postgres/data/postmaster.pid`). [`Postgres::stop`] and
//! `Drop` stop the server (fast shutdown) and delete `STATE_DIR/postgres`.

mod error;
mod options;
mod server;

pub use error::Error;
pub use options::{DEBIAN_BINDIR, Database, HOST, PostgresOptions, ROLE};
pub use server::Postgres;

/// A PostgreSQL error as the server worded it (tokio-postgres' own text is only "db error").
#[must_use]
pub fn pg_error(err: &tokio_postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => crate::errors::chain(err),
    }
}
