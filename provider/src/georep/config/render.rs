//! [`render`]: the shared `config.yaml`, byte for byte the same for the same input.
//!
//! The document is a map with keys in alphabetical order (a `BTreeMap` of [`Node`]s, whose
//! nested maps are sorted too), emitted by serde-saphyr with the domain's one set of options ([`crate::georep::yaml`]): two-space indent,
//! block style, no folded or literal block scalars (long secrets stay one plain line), and YAML
//! 1.1 quoting so that Quay's PyYAML reads strings such as `yes` or `0123` as strings. The
//! output always uses `\n` line endings, so it is identical on every platform.
//!
//! What is rendered, and why:
//! - host settings, `SETUP_COMPLETE: true`, the database, both Redis keys, both secret keys and
//!   `SUPER_USERS` (always, possibly `[]`, so every site has the same list);
//! - `FEATURE_STORAGE_REPLICATION: true` even with one location: each site always sets
//!   `QUAY_DISTRIBUTED_STORAGE_PREFERENCE`, and adding a second site later then changes only the
//!   storage keys; with one location the replication worker has nothing to do.
//!   `FEATURE_PROXY_STORAGE: false`: every site reads every bucket directly;
//! - `DISTRIBUTED_STORAGE_PREFERENCE`: the default locations, then the others (each site
//!   overrides it with its env var); the `*_LOCATION` keys: the first default location;
//! - security scanner keys for an external Clair, with both spellings of the notifications flag
//!   (config-tool reads `FEATURE_SECURITY_NOTIFICATIONS`, its field list says
//!   `SECURITY_SCANNER_NOTIFICATIONS`);
//! - mirroring and builders keys when their blocks are present; the build manager is Quay's
//!   `ephemeral` manager on the shared Redis (builders need the shared Redis across sites) with
//!   the user's `executor_config` as its one executor;
//! - `extra_config`, last (validation guarantees it sets no managed key);
//! - `DB_CONNECTION_ARGS` with libpq's `sslmode` and the bundle paths of the database's
//!   certificates when TLS arguments are given; those certificates and the extra CA
//!   certificates are returned as [`RenderedConfig::config_files`] (`files.rs`).

use std::collections::BTreeMap;
use std::fmt;

use sha2::{Digest, Sha256};

use super::canonical::Node;
use super::files;
use super::location::LocationId;
use super::model::{Builders, GeoRepConfig, Mirroring, Redis, Storage};
use super::validate_files::connection_args;
use crate::georep::secret::Secret;
use crate::georep::yaml;

/// The outputs of `data "quay_georep_config"`.
#[derive(Clone, PartialEq, Eq)]
pub struct RenderedConfig {
    /// The shared `config.yaml` (sensitive: it holds every secret).
    pub config_yaml: String,
    /// `sha256:<lowercase hex>` of `config_yaml`.
    pub config_hash: String,
    /// Every storage location id, sorted.
    pub locations: Vec<String>,
    /// The bundle files beside `config.yaml` ([`super::files`]) by bundle key (sensitive: the
    /// database client key).
    pub config_files: BTreeMap<String, Secret>,
}

impl fmt::Debug for RenderedConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RenderedConfig")
            .field("config_yaml", &"<redacted>")
            .field("config_hash", &self.config_hash)
            .field("locations", &self.locations)
            .field(
                "config_files",
                &self.config_files.keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Renders the shared `config.yaml`, its hash and the location list.
///
/// # Panics
///
/// Never in practice: the document is built only from strings, numbers, booleans, lists and
/// string-keyed maps, which serde-saphyr always serializes.
pub fn render(cfg: &GeoRepConfig) -> RenderedConfig {
    let document = Node::Map(document(cfg));
    let config_yaml = serde_saphyr::to_string_with_options(&document, yaml::options())
        .expect("a tree of scalars, lists and string-keyed maps always serializes");
    let config_hash = format!(
        "sha256:{}",
        hex::encode(Sha256::digest(config_yaml.as_bytes()))
    );
    RenderedConfig {
        config_yaml,
        config_hash,
        locations: cfg.locations().map(|id| id.as_str().to_owned()).collect(),
        config_files: config_files(cfg),
    }
}

/// The bundle files the configuration brings: the extra CA certificates, the CloudFront
/// signing keys and the database's TLS certificates.
fn config_files(cfg: &GeoRepConfig) -> BTreeMap<String, Secret> {
    let mut files: BTreeMap<String, Secret> = cfg
        .extra_ca_certs
        .iter()
        .map(|(name, pem)| (files::extra_ca_key(name), Secret::new(pem.clone())))
        .collect();
    files.extend(
        cfg.storage
            .iter()
            .filter_map(|(id, s)| s.driver.file(id.as_str())),
    );
    if let Some(tls) = &cfg.database.tls {
        if let Some(root) = &tls.root_certificate {
            files.insert(
                files::DATABASE_ROOT_CERT.to_owned(),
                Secret::new(root.clone()),
            );
        }
        if let Some((certificate, key)) = &tls.client {
            files.insert(
                files::DATABASE_CLIENT_CERT.to_owned(),
                Secret::new(certificate.clone()),
            );
            files.insert(files::DATABASE_CLIENT_KEY.to_owned(), key.clone());
        }
    }
    files
}

/// The top-level keys, sorted by the `BTreeMap`.
fn document(cfg: &GeoRepConfig) -> BTreeMap<String, Node> {
    let mut doc = BTreeMap::new();
    let mut set = |key: &str, value: Node| {
        doc.insert(key.to_owned(), value);
    };

    set(
        "SERVER_HOSTNAME",
        Node::str(cfg.server_hostname.to_string()),
    );
    set(
        "PREFERRED_URL_SCHEME",
        Node::str(cfg.preferred_url_scheme.as_str()),
    );
    set("SETUP_COMPLETE", true.into());
    set("DB_URI", Node::str(cfg.database.uri.secret().expose()));
    let connection_args = connection_args(&cfg.database.connection_args, cfg.database.tls.as_ref());
    if !connection_args.is_empty() {
        set("DB_CONNECTION_ARGS", Node::from_json_map(&connection_args));
    }
    set("BUILDLOGS_REDIS", redis(&cfg.redis));
    set("USER_EVENTS_REDIS", redis(&cfg.redis));
    set("SECRET_KEY", Node::str(cfg.secret_key.expose()));
    set(
        "DATABASE_SECRET_KEY",
        Node::str(cfg.database_secret_key.expose()),
    );
    set("SUPER_USERS", Node::strs(cfg.super_users.iter().cloned()));

    set("FEATURE_STORAGE_REPLICATION", true.into());
    set("FEATURE_PROXY_STORAGE", false.into());
    set(
        "DISTRIBUTED_STORAGE_CONFIG",
        Node::map(
            cfg.storage
                .iter()
                .map(|(id, s)| (id.as_str(), storage(id, s))),
        ),
    );
    set(
        "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS",
        Node::strs(cfg.default_locations.iter().map(LocationId::as_str)),
    );
    set(
        "DISTRIBUTED_STORAGE_PREFERENCE",
        Node::strs(cfg.storage_preference().into_iter().map(LocationId::as_str)),
    );
    let primary = cfg.primary_location().as_str();
    for key in [
        "USERFILES_LOCATION",
        "LOG_ARCHIVE_LOCATION",
        "ACTION_LOG_ARCHIVE_LOCATION",
    ] {
        set(key, Node::str(primary));
    }

    if let Some(clair) = &cfg.clair {
        set("FEATURE_SECURITY_SCANNER", true.into());
        set(
            "SECURITY_SCANNER_V4_ENDPOINT",
            Node::str(clair.endpoint.as_str()),
        );
        set("SECURITY_SCANNER_V4_PSK", Node::str(clair.psk.expose()));
        set("SECURITY_SCANNER_NOTIFICATIONS", true.into());
        set("FEATURE_SECURITY_NOTIFICATIONS", true.into());
    }
    match cfg.mirroring {
        None => {}
        Some(Mirroring::Disabled) => set("FEATURE_REPO_MIRROR", false.into()),
        Some(Mirroring::Enabled { interval }) => {
            set("FEATURE_REPO_MIRROR", true.into());
            if let Some(interval) = interval {
                set("REPO_MIRROR_INTERVAL", interval.into());
            }
        }
    }
    match &cfg.builders {
        None => {}
        Some(Builders::Disabled) => set("FEATURE_BUILD_SUPPORT", false.into()),
        Some(Builders::Enabled {
            build_manager_hostname,
            executor_config,
        }) => {
            set("FEATURE_BUILD_SUPPORT", true.into());
            set(
                "BUILDMAN_HOSTNAME",
                Node::str(build_manager_hostname.to_string()),
            );
            set("BUILD_MANAGER", build_manager(&cfg.redis, executor_config));
        }
    }

    for (key, value) in cfg.extra_config.iter() {
        set(key, Node::from(value));
    }
    doc
}

/// `BUILDLOGS_REDIS` / `USER_EVENTS_REDIS`.
fn redis(redis: &Redis) -> Node {
    let mut map = BTreeMap::from([
        ("host".to_owned(), Node::str(redis.host.as_str())),
        ("port".to_owned(), redis.port.into()),
        ("ssl".to_owned(), redis.tls.into()),
    ]);
    if let Some(password) = &redis.password {
        map.insert("password".to_owned(), Node::str(password.expose()));
    }
    Node::Map(map)
}

/// One `DISTRIBUTED_STORAGE_CONFIG` entry: `[DriverName, {args}]`.
fn storage(location: &LocationId, s: &Storage) -> Node {
    let args = s.driver.args(location.as_str(), &s.bucket, &s.path);
    Node::Seq(vec![Node::str(s.driver.quay_name()), Node::Map(args)])
}

/// `BUILD_MANAGER: [ephemeral, {...}]` on the shared Redis.
fn build_manager(redis: &Redis, executor_config: &BTreeMap<String, serde_json::Value>) -> Node {
    let mut orchestrator = BTreeMap::from([
        ("REDIS_HOST".to_owned(), Node::str(redis.host.as_str())),
        ("REDIS_PORT".to_owned(), redis.port.into()),
        ("REDIS_SSL".to_owned(), redis.tls.into()),
    ]);
    if let Some(password) = &redis.password {
        orchestrator.insert("REDIS_PASSWORD".to_owned(), Node::str(password.expose()));
    }
    Node::Seq(vec![
        Node::str("ephemeral"),
        Node::map([
            ("ALLOWED_WORKER_COUNT", Node::Int(1)),
            ("ORCHESTRATOR_PREFIX", Node::str("buildman/production/")),
            ("ORCHESTRATOR", Node::Map(orchestrator)),
            (
                "EXECUTORS",
                Node::Seq(vec![Node::from_json_map(executor_config)]),
            ),
        ]),
    ])
}
