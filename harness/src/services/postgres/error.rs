//! Why starting or stopping the PostgreSQL server failed: one variant per step, each naming
//! the path, command or database it was working on.

use std::path::PathBuf;
use std::time::Duration;

use super::options::{HOST, INSTALL_HINT, MAJOR_VERSION};
use crate::services::process;

/// Why starting or stopping [`Postgres`](super::Postgres) failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No PostgreSQL binaries were found.
    #[error(
        "postgresql {MAJOR_VERSION} binaries (initdb, pg_ctl) not found in {looked_in}: {INSTALL_HINT}"
    )]
    BinariesNotFound {
        /// The directories searched, comma-separated.
        looked_in: String,
    },

    /// The binaries found are another major version.
    #[error("{bindir} holds postgresql {found}, expected {MAJOR_VERSION}: {INSTALL_HINT}")]
    WrongVersion {
        /// The directory.
        bindir: PathBuf,
        /// What `pg_ctl --version` printed.
        found: String,
    },

    /// The service directory already exists (a previous run that was not cleaned up, or a
    /// server still running).
    #[error(
        "{dir} already exists: stop the server it holds (pg_ctl -D {dir}/data stop) and remove it, \
         or use another state dir"
    )]
    StateExists {
        /// The directory.
        dir: PathBuf,
    },

    /// Creating or writing a file or directory failed.
    #[error("write {path}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },

    /// Running as root, but the `postgres` user does not exist.
    #[error(
        "user {user} not found in /etc/passwd; it is needed to run initdb as root: {INSTALL_HINT}"
    )]
    UserNotFound {
        /// The user.
        user: String,
    },

    /// Running as root, but the `postgres` user cannot write its own directory, which is in
    /// the system's temporary directory.
    #[error(
        "user {user} cannot write {dir}: every parent directory must be searchable by it \
         (chmod o+x, or point TMPDIR at a directory it can reach)"
    )]
    DirNotReachable {
        /// The user.
        user: String,
        /// The directory.
        dir: PathBuf,
    },

    /// The operating system's random source failed.
    #[error("generate a password")]
    Random(#[source] getrandom::Error),

    /// `initdb` failed.
    #[error("initdb in {dir}")]
    Initdb {
        /// The data directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: process::Error,
    },

    /// `pg_ctl start` failed.
    #[error("start postgres on {HOST}:{port}; server log: {log_tail}")]
    Start {
        /// The port.
        port: u16,
        /// The end of the server log.
        log_tail: String,
        /// Why.
        #[source]
        source: process::Error,
    },

    /// The server did not accept a password login in time.
    #[error(
        "postgres on {HOST}:{port} did not accept a login within {timeout:?} \
         (last attempt: {last_error}); server log: {log_tail}"
    )]
    NotReady {
        /// The port.
        port: u16,
        /// The limit.
        timeout: Duration,
        /// What the last attempt said.
        last_error: String,
        /// The end of the server log.
        log_tail: String,
    },

    /// A setup statement failed.
    #[error("{step} on postgres at {HOST}:{port}")]
    Setup {
        /// What was being done (never contains a password).
        step: String,
        /// The port.
        port: u16,
        /// Why.
        #[source]
        source: tokio_postgres::Error,
    },

    /// `pg_ctl stop` failed.
    #[error("stop postgres on {HOST}:{port}")]
    Stop {
        /// The port.
        port: u16,
        /// Why.
        #[source]
        source: process::Error,
    },

    /// The postmaster was still running after the stop timeout and had to be killed.
    #[error("postgres (pid {pid}) was still running {timeout:?} after pg_ctl stop and was killed")]
    StillRunning {
        /// The postmaster's pid.
        pid: u32,
        /// The limit.
        timeout: Duration,
    },
}
