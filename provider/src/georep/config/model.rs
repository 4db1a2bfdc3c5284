//! [`GeoRepConfig`]: the validated shared configuration, the only input [`super::render`] takes.
//!
//! Values here have passed [`super::validate`]: host names are [`HostPort`]/[`Hostname`],
//! location ids are [`LocationId`]s, the database URI is a PostgreSQL [`DbUri`], there is at
//! least one storage location and every default location has one. Fields are private to the
//! `config` module so no other code can build an unchecked value. Nothing here does I/O.

use std::collections::BTreeMap;

use serde_json::Value;

use super::db_uri::DbUri;
use super::hostname::{HostPort, Hostname};
use super::location::LocationId;
use super::storage_driver::StorageDriver;
use crate::georep::secret::{Redacted, Secret};

/// The validated `data "quay_georep_config"` input. Build it with [`super::validate`].
#[derive(Debug, Clone, PartialEq)]
pub struct GeoRepConfig {
    pub(super) server_hostname: HostPort,
    pub(super) preferred_url_scheme: UrlScheme,
    pub(super) database: Database,
    pub(super) redis: Redis,
    /// Never empty.
    pub(super) storage: BTreeMap<LocationId, Storage>,
    /// Never empty, no duplicates, every entry a key of `storage`.
    pub(super) default_locations: Vec<LocationId>,
    pub(super) secret_key: Secret,
    pub(super) database_secret_key: Secret,
    pub(super) super_users: Vec<String>,
    pub(super) clair: Option<Clair>,
    pub(super) mirroring: Option<Mirroring>,
    pub(super) builders: Option<Builders>,
    /// Never holds a managed key.
    pub(super) extra_config: Redacted<BTreeMap<String, Value>>,
    /// Extra CA certificates by name; every name is valid and every value PEM certificates.
    pub(super) extra_ca_certs: BTreeMap<String, String>,
}

impl GeoRepConfig {
    /// `SERVER_HOSTNAME`: the global load balancer's `host[:port]`.
    pub fn server_hostname(&self) -> &HostPort {
        &self.server_hostname
    }

    /// Every storage location id, sorted.
    pub fn locations(&self) -> impl ExactSizeIterator<Item = &LocationId> {
        self.storage.keys()
    }

    /// The storage of one location, if it exists.
    pub fn storage(&self, location: &LocationId) -> Option<&Storage> {
        self.storage.get(location)
    }

    /// `DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS`, in the order given (sorted when defaulted).
    pub fn default_locations(&self) -> &[LocationId] {
        &self.default_locations
    }

    /// `DISTRIBUTED_STORAGE_PREFERENCE`: the default locations in their order, then the other
    /// locations sorted. Each site overrides it with `QUAY_DISTRIBUTED_STORAGE_PREFERENCE`.
    pub fn storage_preference(&self) -> Vec<&LocationId> {
        let rest = self
            .storage
            .keys()
            .filter(|id| !self.default_locations.contains(id));
        self.default_locations.iter().chain(rest).collect()
    }

    /// The location for `USERFILES_LOCATION`, `LOG_ARCHIVE_LOCATION` and
    /// `ACTION_LOG_ARCHIVE_LOCATION`: the first default location, a location every blob reaches.
    ///
    /// # Panics
    ///
    /// Never: [`super::validate`] only builds a config with at least one default location.
    pub fn primary_location(&self) -> &LocationId {
        self.default_locations
            .first()
            .expect("validate guarantees at least one default location")
    }

    /// Whether more than one storage location is configured (real geo-replication).
    pub fn is_geo_replicated(&self) -> bool {
        self.storage.len() > 1
    }
}

/// `PREFERRED_URL_SCHEME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlScheme {
    /// `http`.
    Http,
    /// `https` (the default).
    Https,
}

impl UrlScheme {
    /// The scheme as Quay spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            UrlScheme::Http => "http",
            UrlScheme::Https => "https",
        }
    }
}

/// The shared PostgreSQL database.
#[derive(Debug, Clone, PartialEq)]
pub struct Database {
    pub(super) uri: DbUri,
    /// Never sets a key of [`super::files::TLS_CONNECTION_ARGS`] when `tls` is set.
    pub(super) connection_args: Redacted<BTreeMap<String, Value>>,
    pub(super) tls: Option<DatabaseTls>,
}

/// TLS to the shared database: libpq's `sslmode` and the certificates bundled for it.
#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseTls {
    /// One of [`super::files::SSL_MODES`].
    pub(super) ssl_mode: String,
    /// PEM certificates; required by `verify-ca` and `verify-full`.
    pub(super) root_certificate: Option<String>,
    /// The client certificate (PEM) and its key.
    pub(super) client: Option<(String, Secret)>,
}

/// The shared Redis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redis {
    pub(super) host: Hostname,
    pub(super) port: u16,
    pub(super) password: Option<Secret>,
    pub(super) tls: bool,
}

/// One location's object storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Storage {
    pub(super) driver: StorageDriver,
    /// The bucket (with Azure, the container).
    pub(super) bucket: String,
    pub(super) path: String,
}

impl Storage {
    /// The driver and its settings.
    pub fn driver(&self) -> &StorageDriver {
        &self.driver
    }

    /// The bucket name (with Azure, the container).
    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

/// A Clair endpoint shared by every site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clair {
    pub(super) endpoint: String,
    pub(super) psk: Secret,
}

/// Repository mirroring settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mirroring {
    /// `FEATURE_REPO_MIRROR: false`.
    Disabled,
    /// `FEATURE_REPO_MIRROR: true`, with `REPO_MIRROR_INTERVAL` when given.
    Enabled {
        /// Seconds between runs, at least 30; Quay's default when absent.
        interval: Option<u32>,
    },
}

/// Build support settings.
#[derive(Debug, Clone, PartialEq)]
pub enum Builders {
    /// `FEATURE_BUILD_SUPPORT: false`.
    Disabled,
    /// `FEATURE_BUILD_SUPPORT: true` with an ephemeral build manager on the shared Redis.
    Enabled {
        /// `BUILDMAN_HOSTNAME`.
        build_manager_hostname: HostPort,
        /// The one `EXECUTORS` entry.
        executor_config: Redacted<BTreeMap<String, Value>>,
    },
}
