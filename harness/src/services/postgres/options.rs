//! The fixed facts and the options of the PostgreSQL launcher: where the binaries are, which
//! version, users and address it uses, and which databases it creates.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Where Debian's `postgresql-15` package puts the server binaries.
pub const DEBIAN_BINDIR: &str = "/usr/lib/postgresql/15/bin";

/// The major version the launcher requires.
pub(super) const MAJOR_VERSION: &str = "15";

/// The OS user that owns the cluster when the harness runs as root.
pub(super) const OS_USER: &str = "postgres";

/// The database superuser `initdb` creates.
pub(super) const SUPERUSER: &str = "postgres";

/// The login role Quay and Clair connect as.
pub const ROLE: &str = "quay";

/// The loopback address the server listens on.
pub const HOST: &str = "127.0.0.1";

/// How many random bytes a generated password has.
pub(super) const PASSWORD_BYTES: usize = 24;

/// The install hint every "not found" error carries.
pub(super) const INSTALL_HINT: &str =
    "run scripts/install-services.sh (Debian: apt-get install postgresql-15)";

/// A database the launcher creates; both are owned by [`ROLE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Database {
    /// `quay`: Quay's own database (with `pg_trgm` unless left out).
    Quay,
    /// `clair`: Clair's database.
    Clair,
}

impl Database {
    /// Every database the launcher creates.
    pub const ALL: [Self; 2] = [Self::Quay, Self::Clair];

    /// The database name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Quay => "quay",
            Self::Clair => "clair",
        }
    }
}

impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How to start [`Postgres`](super::Postgres); [`Default`] gives the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresOptions {
    /// The directory with `initdb`, `pg_ctl` and `postgres`. Default: [`DEBIAN_BINDIR`] when it
    /// has `initdb`, else `pg_config --bindir`; either way the binaries must be version 15.
    pub bindir: Option<PathBuf>,
    /// Whether to `CREATE EXTENSION pg_trgm` in the `quay` database. Default `true`; `false`
    /// gives a database that fails Quay's start-up check.
    pub with_pg_trgm: bool,
    /// How long `initdb`, `pg_ctl start` and the first successful login may take together.
    /// Default 90 s (two busy cores are slow to `initdb`).
    pub start_timeout: Duration,
    /// How long a fast shutdown may take before the server is killed. Default 30 s.
    pub stop_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            bindir: None,
            with_pg_trgm: true,
            start_timeout: Duration::from_secs(90),
            stop_timeout: Duration::from_secs(30),
        }
    }
}
