//! [`validate`]: checks a [`ConfigInput`] and turns it into a [`GeoRepConfig`].
//!
//! Validation never stops at the first problem: every attribute is checked and every
//! [`Issue`] is returned, each with the attribute path, a title and a detail that says what was
//! seen and what to change. Details never contain secret values. The rules and their reasons:
//!
//! - `server_hostname`: required; `host[:port]` per [`HostPort`] (no scheme, path or user info).
//! - `preferred_url_scheme`: `https` (default) or `http`.
//! - `database.uri`: required, PostgreSQL ([`DbUri`]); Quay geo-replication shares one PostgreSQL.
//! - `redis.host`: required host name; `redis.port` in 1..=65535 (default 6379).
//! - `storage`: at least one block (one location is only a warning: not geo-replicated). Block
//!   labels are [`LocationId`](super::location::LocationId)s. `driver` is one of
//!   [`DRIVERS`](super::storage_driver::DRIVERS); `local` is refused because other sites cannot
//!   read a site's disk. Each driver requires the attributes its table entry lists and refuses
//!   the ones it does not read; `access_key`/`secret_key` come both or neither where optional;
//!   `s3` refuses `region` with `hostname` (Quay would ignore the host) and `is_secure = false`.
//!   `bucket` follows the naming rules of the driver's service, `port` in 1..=65535,
//!   `storage_path` absolute. Details in `validate_driver.rs`.
//! - `default_locations`: not empty, no duplicates, each one a storage block label.
//! - `secret_key`, `database_secret_key`: required; weak means shorter than 32 characters or one
//!   character repeated, and is an error. The two being equal is a **warning**: Quay works, and
//!   an existing deployment cannot change `DATABASE_SECRET_KEY` without losing the data it
//!   encrypted, so refusing would strand such users.
//! - `super_users`: no empty names, no duplicates, and each a name Quay accepts for a user
//!   (`util/validation.py`: 2 to 255 characters, `[a-z0-9]+` joined by single `.`, `_`, `-`).
//! - `clair`: `endpoint` an `http(s)://host[:port][/path]` URL; `psk` required, standard base64.
//! - `mirroring.interval`: positive and at least 30 seconds.
//! - `builders` (enabled): `build_manager_hostname` and a non-empty `executor_config` required.
//! - `extra_ca_certs` and the database's TLS arguments: see `validate_files.rs`.
//! - `extra_config`: a key the data source manages ([`super::managed_by`]) is an error naming the
//!   attribute to use instead; a key that is not `UPPER_SNAKE_CASE` is a warning.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::Value;

use super::db_uri::DbUri;
use super::hostname::{self, HostPort, Hostname};
use super::input::{
    BuildersInput, ClairInput, ConfigInput, DatabaseInput, MirroringInput, RedisInput,
};
use super::managed::managed_by;
use super::model::{Builders, Clair, Database, GeoRepConfig, Mirroring, Redis, UrlScheme};
use crate::georep::issue::{Issue, fold_alike_warnings};
use crate::georep::path::FieldPath;
use crate::georep::secret::{Redacted, Secret};

/// The shortest accepted `secret_key` / `database_secret_key`, in characters.
pub const MIN_SECRET_KEY_LEN: usize = 32;
/// The shortest accepted `mirroring.interval`, in seconds.
pub const MIN_MIRROR_INTERVAL: i64 = 30;
/// `redis.port` when not given.
pub const DEFAULT_REDIS_PORT: u16 = 6379;
/// `storage.storage_path` when not given.
pub const DEFAULT_STORAGE_PATH: &str = "/datastorage/registry";

/// Checks `input` and builds the validated configuration.
///
/// On success returns the configuration and the warnings (possibly none).
///
/// # Errors
///
/// When any error is found, returns every issue found, errors and warnings, in attribute order.
///
/// # Examples
///
/// ```
/// use terraform_provider_quay::georep::config::{validate, ConfigInput};
///
/// let issues = validate(&ConfigInput::default()).unwrap_err();
/// assert!(issues.iter().any(|i| i.path.to_string() == "server_hostname"));
/// ```
pub fn validate(input: &ConfigInput) -> Result<(GeoRepConfig, Vec<Issue>), Vec<Issue>> {
    let mut v = Validator::default();
    let server_hostname = v.server_hostname(input.server_hostname.as_deref());
    let preferred_url_scheme = v.url_scheme(input.preferred_url_scheme.as_deref());
    let database = v.database(input.database.as_ref());
    let redis = v.redis(input.redis.as_ref());
    let storage = v.storage(&input.storage);
    let default_locations = v.default_locations(input.default_locations.as_deref(), &input.storage);
    let secret_key = v.secret_key("secret_key", "Secret Key", input.secret_key.as_ref());
    let database_secret_key = v.secret_key(
        "database_secret_key",
        "Database Secret Key",
        input.database_secret_key.as_ref(),
    );
    v.keys_differ(
        input.secret_key.as_ref(),
        input.database_secret_key.as_ref(),
    );
    let super_users = v.super_users(input.super_users.as_deref());
    let clair = v.clair(input.clair.as_ref());
    let mirroring = v.mirroring(input.mirroring.as_ref());
    let builders = v.builders(input.builders.as_ref());
    let extra_config = Redacted(v.extra_config(input.extra_config.as_deref()));
    let extra_ca_certs = v.extra_ca_certs(input.extra_ca_certs.as_ref());

    let has_errors = v.issues.iter().any(Issue::is_error);
    match (
        server_hostname,
        preferred_url_scheme,
        database,
        redis,
        storage,
        default_locations,
        secret_key,
        database_secret_key,
        clair,
        mirroring,
        builders,
    ) {
        (
            Some(server_hostname),
            Some(preferred_url_scheme),
            Some(database),
            Some(redis),
            Some(storage),
            Some(default_locations),
            Some(secret_key),
            Some(database_secret_key),
            Ok(clair),
            Ok(mirroring),
            Ok(builders),
        ) if !has_errors => Ok((
            GeoRepConfig {
                server_hostname,
                preferred_url_scheme,
                database,
                redis,
                storage,
                default_locations,
                secret_key,
                database_secret_key,
                super_users: super_users.unwrap_or_default(),
                clair,
                mirroring,
                builders,
                extra_config,
                extra_ca_certs,
            },
            fold_alike_warnings(v.issues),
        )),
        _ => {
            if !has_errors {
                v.error(
                    FieldPath::root(),
                    "Provider Bug",
                    "validation rejected the configuration without saying why; this is a bug \
                     in terraform-provider-quay, please report it with your configuration \
                     (without secrets)",
                );
            }
            Err(fold_alike_warnings(v.issues))
        }
    }
}

/// Marks a value whose problems were already pushed as issues.
pub(super) struct Reported;

/// Collects issues while each attribute is checked.
#[derive(Default)]
pub(super) struct Validator {
    issues: Vec<Issue>,
}

impl Validator {
    pub(super) fn error(&mut self, path: FieldPath, summary: &str, detail: impl Into<String>) {
        self.issues.push(Issue::error(path, summary, detail));
    }

    pub(super) fn warning(&mut self, path: FieldPath, summary: &str, detail: impl Into<String>) {
        self.issues.push(Issue::warning(path, summary, detail));
    }

    pub(super) fn error_count(&self) -> usize {
        self.issues.iter().filter(|i| i.is_error()).count()
    }

    fn server_hostname(&mut self, value: Option<&str>) -> Option<HostPort> {
        let path = FieldPath::attr("server_hostname");
        let Some(value) = value.filter(|s| !s.is_empty()) else {
            self.error(
                path,
                "Missing Server Hostname",
                "server_hostname is required: set it to the global load balancer's host name, \
                 such as quay.example.com",
            );
            return None;
        };
        match HostPort::parse(value) {
            Ok(hp) => Some(hp),
            Err(err) => {
                let extra = if matches!(err, hostname::Error::Scheme { .. }) {
                    " (set the scheme with preferred_url_scheme)"
                } else {
                    ""
                };
                self.error(
                    path,
                    "Invalid Server Hostname",
                    format!("server_hostname {err}; {}{extra}", err.fix()),
                );
                None
            }
        }
    }

    fn url_scheme(&mut self, value: Option<&str>) -> Option<UrlScheme> {
        match value {
            None | Some("https") => Some(UrlScheme::Https),
            Some("http") => Some(UrlScheme::Http),
            Some(other) => {
                self.error(
                    FieldPath::attr("preferred_url_scheme"),
                    "Invalid URL Scheme",
                    format!("preferred_url_scheme is `{other}`; set it to `https` or `http`"),
                );
                None
            }
        }
    }

    fn database(&mut self, value: Option<&DatabaseInput>) -> Option<Database> {
        let path = FieldPath::attr("database");
        let Some(db) = value else {
            self.error(
                path,
                "Missing Database",
                "the database block is required: every site shares one PostgreSQL database, \
                 set database { uri = \"postgresql://USER:PASSWORD@HOST:5432/DB\" }",
            );
            return None;
        };
        let tls = self.database_tls(db);
        let path = path.field("uri");
        let Some(uri) = db.uri.as_ref() else {
            self.error(
                path,
                "Missing Database URI",
                "database.uri is required: set it to the shared PostgreSQL database, such as \
                 postgresql://USER:PASSWORD@HOST:5432/DB",
            );
            return None;
        };
        match DbUri::parse(uri) {
            Ok(uri) => tls.ok().map(|tls| Database {
                uri,
                connection_args: db.connection_args.clone().unwrap_or_default(),
                tls,
            }),
            Err(err) => {
                self.error(
                    path,
                    "Invalid Database URI",
                    format!(
                        "{err}; set database.uri to a PostgreSQL URI such as \
                         postgresql://USER:PASSWORD@HOST:5432/DB"
                    ),
                );
                None
            }
        }
    }

    fn redis(&mut self, value: Option<&RedisInput>) -> Option<Redis> {
        let path = FieldPath::attr("redis");
        let Some(redis) = value else {
            self.error(
                path,
                "Missing Redis",
                "the redis block is required: every site shares one Redis, set redis { host = \
                 \"redis.example.com\" }",
            );
            return None;
        };
        let host = match redis.host.as_deref().map(str::trim) {
            None | Some("") => {
                self.error(
                    path.clone().field("host"),
                    "Missing Redis Host",
                    "redis.host is empty; set it to the shared Redis host name",
                );
                None
            }
            Some(host) => match Hostname::parse(host) {
                Ok(host) => Some(host),
                Err(err) => {
                    self.error(
                        path.clone().field("host"),
                        "Invalid Redis Host",
                        format!(
                            "redis.host {err}; {} (the port goes in redis.port)",
                            err.fix()
                        ),
                    );
                    None
                }
            },
        };
        let port = match redis.port {
            None => Some(DEFAULT_REDIS_PORT),
            Some(port) => self.port(
                path.clone().field("port"),
                "redis.port",
                "Invalid Redis Port",
                port,
            ),
        };
        let password = redis.password.clone().filter(|p| !p.is_empty());
        let tls = redis.tls.unwrap_or(false);
        if password.is_some() && !tls {
            self.warning(
                path.field("tls"),
                "Plaintext Redis Password",
                "redis.tls is false, so every site sends the Redis password (and the sessions, \
                 build logs and locks Quay keeps there) unencrypted to the one Redis all regions \
                 share; set tls = true once the Redis serves TLS",
            );
        }
        Some(Redis {
            host: host?,
            port: port?,
            password,
            tls,
        })
    }

    pub(super) fn port(
        &mut self,
        path: FieldPath,
        name: &str,
        summary: &str,
        port: i64,
    ) -> Option<u16> {
        match u16::try_from(port) {
            Ok(port) if port != 0 => Some(port),
            _ => {
                self.error(
                    path,
                    summary,
                    format!("{name} is {port}; use a port from 1 to 65535"),
                );
                None
            }
        }
    }

    fn secret_key(
        &mut self,
        attr: &'static str,
        title: &str,
        value: Option<&Secret>,
    ) -> Option<Secret> {
        let path = FieldPath::attr(attr);
        let advice = "use at least 32 random characters (for example the output of \
                      `openssl rand -hex 32`), the same value on every site";
        let Some(key) = value.filter(|k| !k.is_empty()) else {
            self.error(
                path,
                &format!("Missing {title}"),
                format!(
                    "{attr} is required: without it each site's operator generates its own, and \
                     the sites disagree; {advice}"
                ),
            );
            return None;
        };
        let text = key.expose();
        let len = text.chars().count();
        let problem = if len < MIN_SECRET_KEY_LEN {
            Some(format!("{attr} is {len} characters long"))
        } else if text.chars().all(|c| text.starts_with(c)) {
            Some(format!("{attr} repeats a single character"))
        } else {
            None
        };
        if let Some(problem) = problem {
            self.error(
                path,
                &format!("Weak {title}"),
                format!("{problem}; {advice}"),
            );
            return None;
        }
        Some(key.clone())
    }

    fn keys_differ(&mut self, secret_key: Option<&Secret>, database_secret_key: Option<&Secret>) {
        if let (Some(a), Some(b)) = (secret_key, database_secret_key)
            && !a.is_empty()
            && a == b
        {
            self.warning(
                FieldPath::attr("database_secret_key"),
                "Reused Secret Key",
                "secret_key and database_secret_key have the same value, so a leak of one \
                 exposes both; use different values on new deployments (an existing deployment \
                 must keep its database_secret_key, which decrypts stored data)",
            );
        }
    }

    fn super_users(&mut self, value: Option<&[String]>) -> Option<Vec<String>> {
        let list = value?;
        let path = FieldPath::attr("super_users");
        let mut first_seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, name) in list.iter().enumerate() {
            if name.trim().is_empty() {
                self.error(
                    path.clone().index(i),
                    "Empty Super User Name",
                    format!("super_users[{i}] is empty; remove it or give a Quay user name"),
                );
            } else if !is_quay_username(name) {
                self.error(
                    path.clone().index(i),
                    "Invalid Super User Name",
                    format!(
                        "super_users[{i}] is `{name}`, which Quay refuses as a user name: use 2 \
                         to 255 lowercase letters and digits, separated by single `.`, `_` or \
                         `-`, such as quay_admin"
                    ),
                );
            } else if let Some(first) = first_seen.get(name.as_str()) {
                self.error(
                    path.clone().index(i),
                    "Duplicate Super User",
                    format!("`{name}` is listed at super_users[{first}] and again at [{i}]; remove the repeat"),
                );
            } else {
                first_seen.insert(name, i);
            }
        }
        Some(list.to_vec())
    }

    /// `Ok(None)`: no clair block; `Ok(Some(_))`: valid; `Err`: invalid (reported).
    fn clair(&mut self, value: Option<&ClairInput>) -> Result<Option<Clair>, Reported> {
        let Some(clair) = value else {
            return Ok(None);
        };
        let path = FieldPath::attr("clair");
        let endpoint = match clair.endpoint.as_deref() {
            None | Some("") => {
                self.error(
                    path.clone().field("endpoint"),
                    "Missing Clair Endpoint",
                    "clair.endpoint is required: set it to the Clair load balancer URL, such as \
                     https://clair.example.com",
                );
                None
            }
            Some(url) => match http_url_problem(url) {
                None => {
                    if url.starts_with("http://") {
                        self.warning(
                            path.clone().field("endpoint"),
                            "Plaintext Clair Endpoint",
                            format!(
                                "clair.endpoint `{url}` is plain HTTP, so the tokens Quay signs \
                                 with clair.psk and every security report travel unencrypted \
                                 between regions; use an https:// endpoint"
                            ),
                        );
                    }
                    Some(url.to_owned())
                }
                Some(problem) => {
                    self.error(
                        path.clone().field("endpoint"),
                        "Invalid Clair Endpoint",
                        format!(
                            "clair.endpoint `{url}` {problem}; give an http:// or https:// URL \
                             such as https://clair.example.com"
                        ),
                    );
                    None
                }
            },
        };
        let psk = match clair.psk.as_ref().filter(|p| !p.is_empty()) {
            None => {
                self.error(
                    path.field("psk"),
                    "Missing Clair PSK",
                    "clair.psk is required: set it to the base64 pre-shared key configured in \
                     Clair (auth.psk.key)",
                );
                None
            }
            Some(psk)
                if base64::engine::general_purpose::STANDARD
                    .decode(psk.expose())
                    .is_err() =>
            {
                self.error(
                    path.field("psk"),
                    "Invalid Clair PSK",
                    "clair.psk is not valid base64; give the base64 pre-shared key configured in \
                     Clair (auth.psk.key)",
                );
                None
            }
            Some(psk) => Some(psk.clone()),
        };
        Ok(Some(Clair {
            endpoint: endpoint.ok_or(Reported)?,
            psk: psk.ok_or(Reported)?,
        }))
    }

    /// `Ok(None)`: no block; `Ok(Some(_))`: valid; `Err`: invalid (reported).
    fn mirroring(&mut self, value: Option<&MirroringInput>) -> Result<Option<Mirroring>, Reported> {
        let Some(mirroring) = value else {
            return Ok(None);
        };
        if !mirroring.enabled.unwrap_or(true) {
            return Ok(Some(Mirroring::Disabled));
        }
        let path = FieldPath::attr("mirroring").field("interval");
        let interval = match mirroring.interval {
            None => None,
            Some(n) if n <= 0 => {
                self.error(
                    path,
                    "Invalid Mirroring Interval",
                    format!(
                        "mirroring.interval is {n}; give a positive number of seconds, at least \
                         {MIN_MIRROR_INTERVAL}"
                    ),
                );
                return Err(Reported);
            }
            Some(n) if n < MIN_MIRROR_INTERVAL => {
                self.error(
                    path,
                    "Mirroring Interval Too Short",
                    format!(
                        "mirroring.interval is {n} seconds; Quay's mirror worker runs at most \
                         every {MIN_MIRROR_INTERVAL} seconds, set {MIN_MIRROR_INTERVAL} or more"
                    ),
                );
                return Err(Reported);
            }
            Some(n) => {
                let Ok(n) = u32::try_from(n) else {
                    self.error(
                        path,
                        "Invalid Mirroring Interval",
                        format!("mirroring.interval is {n} seconds, more than Quay accepts; use a smaller value"),
                    );
                    return Err(Reported);
                };
                Some(n)
            }
        };
        Ok(Some(Mirroring::Enabled { interval }))
    }

    /// `Ok(None)`: no block; `Ok(Some(_))`: valid; `Err`: invalid (reported).
    fn builders(&mut self, value: Option<&BuildersInput>) -> Result<Option<Builders>, Reported> {
        let Some(builders) = value else {
            return Ok(None);
        };
        if !builders.enabled.unwrap_or(true) {
            return Ok(Some(Builders::Disabled));
        }
        let path = FieldPath::attr("builders");
        let hostname = match builders.build_manager_hostname.as_deref() {
            None | Some("") => {
                self.error(
                    path.clone().field("build_manager_hostname"),
                    "Missing Build Manager Hostname",
                    "builders are enabled but build_manager_hostname is not set; set it to the \
                     host[:port] builders use to reach the build manager, or set enabled = false",
                );
                None
            }
            Some(host) => match HostPort::parse(host) {
                Ok(hp) => Some(hp),
                Err(err) => {
                    self.error(
                        path.clone().field("build_manager_hostname"),
                        "Invalid Build Manager Hostname",
                        format!("build_manager_hostname {err}; {}", err.fix()),
                    );
                    None
                }
            },
        };
        let executor_config = match builders.executor_config.as_ref() {
            Some(config) if !config.is_empty() => Some(config.clone()),
            _ => {
                self.error(
                    path.field("executor_config"),
                    "Missing Builder Executor Config",
                    "builders are enabled but executor_config is empty; set it to one EXECUTORS \
                     entry, such as { EXECUTOR = \"kubernetesPodman\", ... }",
                );
                None
            }
        };
        Ok(Some(Builders::Enabled {
            build_manager_hostname: hostname.ok_or(Reported)?,
            executor_config: executor_config.ok_or(Reported)?,
        }))
    }

    fn extra_config(&mut self, value: Option<&BTreeMap<String, Value>>) -> BTreeMap<String, Value> {
        let Some(extra) = value else {
            return BTreeMap::new();
        };
        let path = FieldPath::attr("extra_config");
        for key in extra.keys() {
            if let Some(how) = managed_by(key) {
                self.error(
                    path.clone().key(key),
                    "Managed Key In Extra Config",
                    format!(
                        "extra_config sets {key}, which quay_georep_config manages ({how}); \
                         remove it from extra_config"
                    ),
                );
            } else if !is_upper_snake(key) {
                self.warning(
                    path.clone().key(key),
                    "Unusual Config Key",
                    format!(
                        "extra_config key `{key}` is not UPPER_SNAKE_CASE like Quay's own keys, \
                         so Quay probably ignores it; check the spelling"
                    ),
                );
            }
        }
        extra.clone()
    }
}

/// Whether `key` looks like a Quay config key: `A-Z`, digits, `_`, starting with a letter.
fn is_upper_snake(key: &str) -> bool {
    key.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && key
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// What is wrong with `url` as an `http(s)://host[:port][/path]` URL, if anything.
pub(super) fn http_url_problem(url: &str) -> Option<String> {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return Some("does not start with http:// or https://".to_owned());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    HostPort::parse(authority)
        .err()
        .map(|err| format!("has an invalid host: {err}"))
}

/// Whether Quay accepts `name` as a user name (`util/validation.py`, `VALID_USERNAME_REGEX`
/// with `MIN_USERNAME_LENGTH` 2 and `MAX_USERNAME_LENGTH` 255).
fn is_quay_username(name: &str) -> bool {
    (2..=255).contains(&name.len())
        && name.split(['.', '_', '-']).all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}
