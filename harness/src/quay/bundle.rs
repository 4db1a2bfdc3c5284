//! The config bundle as the operator model reads it: the bundle Secret's keys and the parsed
//! `config.yaml`, with the few fields the model acts on (hostname, `DB_URI`, Redis, storage
//! locations, replication, preference) and the content hash.
//!
//! Pure: no Kubernetes client, no I/O. It is not a config validator: unknown keys are kept,
//! and only the shapes the model reads are checked (a field of the wrong shape reads as
//! absent, as a missing field would).

use std::collections::BTreeMap;

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::serving::ConfigShape;
use crate::services::s3_client::S3Keys;
use crate::services::secret::Secret;

/// Why a bundle could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bundle has no `config.yaml` key.
    #[error("config bundle secret {secret} has no config.yaml key")]
    MissingConfig {
        /// The Secret.
        secret: String,
    },
    /// `config.yaml` is not a YAML mapping.
    #[error("config.yaml in config bundle secret {secret} is not a YAML mapping: {message}")]
    InvalidYaml {
        /// The Secret.
        secret: String,
        /// Where the parser stopped (never the text: `config.yaml` holds passwords).
        message: String,
    },
}

/// One `DISTRIBUTED_STORAGE_CONFIG` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct StorageLocation {
    /// The location name (`us_east`).
    pub name: String,
    /// The driver (`RadosGWStorage`, `S3Storage`, `LocalStorage`, ...).
    pub driver: String,
    /// The driver arguments.
    pub args: serde_json::Map<String, Value>,
}

/// Where an S3-compatible storage location keeps its objects, from its driver arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Target {
    /// `http(s)://host:port` (`is_secure` defaults to true, the port to 443 or 80).
    pub endpoint: String,
    /// The bucket.
    pub bucket: String,
    /// The key pair.
    pub keys: S3Keys,
    /// The object key prefix (`storage_path` without its leading `/`; empty when unset).
    pub prefix: String,
}

impl StorageLocation {
    /// One driver argument as a string, when it is a non-empty string.
    pub fn arg(&self, key: &str) -> Option<&str> {
        self.args
            .get(key)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The S3 target Quay's own driver uses for a `RadosGWStorage`, `RHOCSStorage`,
    /// `S3Storage` or `CloudFrontedS3Storage` location; `None` for other drivers.
    ///
    /// Endpoints as quay/quay `storage/cloud.py` builds them: RadosGW from `hostname`, `port`
    /// and `is_secure` (default true, port 443 or 80); S3 from `s3_region`
    /// (`https://s3.<region>.amazonaws.com`, which wins over `host`), else `endpoint_url`, else
    /// `host` and `port` over HTTPS, else `https://s3.amazonaws.com`.
    ///
    /// # Errors
    /// A message naming the location when its host, bucket or keys are missing (an `S3Storage`
    /// without keys uses the pod's own AWS credentials, which no target can carry).
    pub fn s3_target(&self) -> Option<Result<S3Target, String>> {
        let (endpoint, bucket, access, secret) = match self.driver.as_str() {
            // RHOCSStorage (OpenShift Data Foundation) takes RadosGWStorage's arguments.
            "RadosGWStorage" | "RHOCSStorage" => {
                let secure = self
                    .args
                    .get("is_secure")
                    .and_then(Value::as_bool)
                    .unwrap_or(true);
                let port = self
                    .args
                    .get("port")
                    .and_then(Value::as_u64)
                    .unwrap_or(if secure { 443 } else { 80 });
                let scheme = if secure { "https" } else { "http" };
                let endpoint = self
                    .arg("hostname")
                    .map(|host| format!("{scheme}://{host}:{port}"));
                (endpoint, "bucket_name", "access_key", "secret_key")
            }
            "S3Storage" | "CloudFrontedS3Storage" => {
                let endpoint = if let Some(region) = self.arg("s3_region") {
                    let china = if region.starts_with("cn-") { ".cn" } else { "" };
                    format!("https://s3.{region}.amazonaws.com{china}")
                } else if let Some(url) = self.arg("endpoint_url") {
                    url.trim_end_matches('/').to_owned()
                } else if let Some(host) = self.arg("host") {
                    let port = self.args.get("port").and_then(Value::as_u64).unwrap_or(443);
                    format!("https://{host}:{port}")
                } else {
                    "https://s3.amazonaws.com".to_owned()
                };
                (
                    Some(endpoint),
                    "s3_bucket",
                    "s3_access_key",
                    "s3_secret_key",
                )
            }
            _ => return None,
        };
        let (Some(endpoint), Some(bucket), Some(access_key), Some(secret_key)) = (
            endpoint,
            self.arg(bucket),
            self.arg(access),
            self.arg(secret),
        ) else {
            return Some(Err(format!(
                "storage location {}: {} needs a host, a bucket and keys here",
                self.name, self.driver
            )));
        };
        Some(Ok(S3Target {
            endpoint,
            bucket: bucket.to_owned(),
            keys: S3Keys {
                access_key: access_key.to_owned(),
                secret_key: Secret::new(secret_key),
            },
            prefix: self
                .arg("storage_path")
                .unwrap_or_default()
                .trim_matches('/')
                .to_owned(),
        }))
    }
}

/// Redis connection settings (`BUILDLOGS_REDIS`). `Debug` does not show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisSettings {
    /// Host.
    pub host: String,
    /// Port (default 6379).
    pub port: u16,
    /// Password, if any.
    pub password: Option<String>,
}

impl std::fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A parsed config bundle. `Debug` shows the Secret's keys and `config.yaml`'s keys, never a
/// value: the bundle holds the database URI, passwords and secret keys.
#[derive(Clone)]
pub struct Bundle {
    /// The Secret's keys and raw values.
    pub data: BTreeMap<String, Vec<u8>>,
    /// The raw `config.yaml`.
    pub config_yaml: Vec<u8>,
    /// `config.yaml` as a JSON object.
    pub config: serde_json::Map<String, Value>,
}

impl std::fmt::Debug for Bundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bundle")
            .field("data", &self.data.keys().collect::<Vec<_>>())
            .field("config", &self.config.keys().collect::<Vec<_>>())
            .field("config_hash", &self.config_hash())
            .finish_non_exhaustive()
    }
}

impl Bundle {
    /// Parses the bundle Secret's data.
    ///
    /// # Errors
    /// [`Error::MissingConfig`] or [`Error::InvalidYaml`].
    pub fn parse(secret: &str, data: BTreeMap<String, Vec<u8>>) -> Result<Self, Error> {
        let config_yaml = data
            .get("config.yaml")
            .cloned()
            .ok_or_else(|| Error::MissingConfig {
                secret: secret.to_owned(),
            })?;
        let invalid = |message: String| Error::InvalidYaml {
            secret: secret.to_owned(),
            message,
        };
        let text = String::from_utf8(config_yaml.clone()).map_err(|e| {
            invalid(format!(
                "not UTF-8 after byte {}",
                e.utf8_error().valid_up_to()
            ))
        })?;
        let value: Value = if text.trim().is_empty() {
            Value::Object(serde_json::Map::new())
        } else {
            // The parser's own message quotes the lines around the fault: say where only.
            serde_saphyr::from_str(&text).map_err(|e| {
                invalid(e.location().map_or_else(
                    || "invalid YAML".to_owned(),
                    |at| format!("invalid YAML at line {}, column {}", at.line(), at.column()),
                ))
            })?
        };
        let Value::Object(config) = value else {
            return Err(invalid("the document is not a mapping".to_owned()));
        };
        Ok(Self {
            data,
            config_yaml,
            config,
        })
    }

    /// Whether `config.yaml` sets `key`.
    #[must_use]
    pub fn has_key(&self, key: &str) -> bool {
        self.config.get(key).is_some_and(|v| !v.is_null())
    }

    /// Whether the Secret holds `ssl.cert` and `ssl.key`.
    #[must_use]
    pub fn has_certs(&self) -> bool {
        self.data.contains_key("ssl.cert") && self.data.contains_key("ssl.key")
    }

    /// sha256 of `config.yaml`, lower-case hex.
    #[must_use]
    pub fn config_hash(&self) -> String {
        hex::encode(Sha256::digest(&self.config_yaml))
    }

    /// The config as sites compare it ([`ConfigShape`]).
    #[must_use]
    pub fn config_shape(&self) -> ConfigShape {
        ConfigShape::of(&self.config)
    }

    /// `SERVER_HOSTNAME`.
    #[must_use]
    pub fn server_hostname(&self) -> Option<&str> {
        self.config.get("SERVER_HOSTNAME").and_then(Value::as_str)
    }

    /// `DB_URI`.
    #[must_use]
    pub fn db_uri(&self) -> Option<&str> {
        self.config.get("DB_URI").and_then(Value::as_str)
    }

    /// `BUILDLOGS_REDIS` (config-tool checks only this one, reusing it for user events).
    #[must_use]
    pub fn redis(&self) -> Option<RedisSettings> {
        let redis = self.config.get("BUILDLOGS_REDIS")?.as_object()?;
        let host = redis.get("host")?.as_str()?.to_owned();
        let port = match redis.get("port") {
            None => 6379,
            Some(p) => u16::try_from(p.as_u64()?).ok()?,
        };
        let password = redis
            .get("password")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Some(RedisSettings {
            host,
            port,
            password,
        })
    }

    /// `FEATURE_STORAGE_REPLICATION`.
    #[must_use]
    pub fn replication(&self) -> bool {
        self.config
            .get("FEATURE_STORAGE_REPLICATION")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// The first entry of `DISTRIBUTED_STORAGE_PREFERENCE`.
    #[must_use]
    pub fn config_preference(&self) -> Option<&str> {
        self.config
            .get("DISTRIBUTED_STORAGE_PREFERENCE")?
            .as_array()?
            .first()?
            .as_str()
    }

    /// `DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS`: where every blob is replicated to.
    #[must_use]
    pub fn default_locations(&self) -> Vec<String> {
        self.config
            .get("DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    }

    /// The `DISTRIBUTED_STORAGE_CONFIG` entries, by name; entries not of the form
    /// `[driver, {args}]` are returned with an empty driver.
    #[must_use]
    pub fn storage_locations(&self) -> Vec<StorageLocation> {
        let Some(map) = self
            .config
            .get("DISTRIBUTED_STORAGE_CONFIG")
            .and_then(Value::as_object)
        else {
            return Vec::new();
        };
        map.iter()
            .map(|(name, entry)| {
                let pair = entry.as_array();
                let driver = pair
                    .and_then(|p| p.first())
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let args = pair
                    .and_then(|p| p.get(1))
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                StorageLocation {
                    name: name.clone(),
                    driver,
                    args,
                }
            })
            .collect()
    }
}

/// `host:port/name` of a `postgresql://` URI (no credentials): how the ledger names a
/// database. Returns the URI without its user info when it does not parse that far.
#[must_use]
pub fn database_identity(db_uri: &str) -> String {
    let rest = db_uri.split_once("://").map_or(db_uri, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    match rest.split_once('/') {
        Some((host, db)) if !host.contains(':') => format!("{host}:5432/{db}"),
        _ => rest.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(yaml: &str) -> Bundle {
        let data = BTreeMap::from([("config.yaml".to_owned(), yaml.as_bytes().to_vec())]);
        Bundle::parse("b", data).unwrap()
    }

    #[test]
    fn reads_the_fields_the_model_acts_on() {
        let b = bundle(
            "SERVER_HOSTNAME: quay.example\nDB_URI: postgresql://u:p@h:5433/quay\n\
             BUILDLOGS_REDIS: {host: r, port: 6380, password: pw}\n\
             FEATURE_STORAGE_REPLICATION: true\nDISTRIBUTED_STORAGE_PREFERENCE: [us_east]\n\
             DISTRIBUTED_STORAGE_CONFIG:\n  us_east:\n  - RadosGWStorage\n  - {hostname: h, bucket_name: b}\n",
        );
        assert_eq!(b.server_hostname(), Some("quay.example"));
        assert_eq!(b.db_uri(), Some("postgresql://u:p@h:5433/quay"));
        let redis = b.redis().unwrap();
        assert_eq!((redis.host.as_str(), redis.port), ("r", 6380));
        assert_eq!(redis.password.as_deref(), Some("pw"));
        assert!(b.replication());
        assert_eq!(b.config_preference(), Some("us_east"));
        let locations = b.storage_locations();
        assert_eq!(locations.len(), 1);
        assert_eq!(locations[0].driver, "RadosGWStorage");
        assert_eq!(locations[0].args["bucket_name"], "b");
        assert!(
            matches!(locations[0].s3_target(), Some(Err(m)) if m.contains("us_east")),
            "keys are missing"
        );
        assert_eq!(b.config_hash().len(), 64);
    }

    #[test]
    fn reads_the_s3_target_and_default_locations_of_a_radosgw_location() {
        let b = bundle(
            "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [us_east, eu_west]\n\
             DISTRIBUTED_STORAGE_CONFIG:\n  us_east:\n  - RadosGWStorage\n  - {hostname: h, port: 9000, \
             is_secure: false, bucket_name: b, access_key: a, secret_key: s, \
             storage_path: /datastorage/registry}\n  local:\n  - LocalStorage\n  - {}\n",
        );
        assert_eq!(b.default_locations(), ["us_east", "eu_west"]);
        let locations = b.storage_locations();
        let target = locations
            .iter()
            .find(|l| l.name == "us_east")
            .unwrap()
            .s3_target()
            .unwrap()
            .unwrap();
        assert_eq!(target.endpoint, "http://h:9000");
        assert_eq!(target.prefix, "datastorage/registry");
        assert_eq!(
            (target.bucket.as_str(), target.keys.access_key.as_str()),
            ("b", "a")
        );
        let local = locations.iter().find(|l| l.name == "local").unwrap();
        assert!(local.s3_target().is_none());
    }

    #[test]
    fn an_s3_location_goes_where_quays_driver_sends_it() {
        let b = bundle(
            "DISTRIBUTED_STORAGE_CONFIG:\n\
             \x20 region: [S3Storage, {s3_bucket: b, s3_region: eu-west-1, host: ignored.example, \
             s3_access_key: a, s3_secret_key: s}]\n\
             \x20 china: [CloudFrontedS3Storage, {s3_bucket: b, s3_region: cn-north-1, \
             s3_access_key: a, s3_secret_key: s}]\n\
             \x20 host: [S3Storage, {s3_bucket: b, host: s3.corp.example, port: 8443, \
             s3_access_key: a, s3_secret_key: s}]\n\
             \x20 aws: [S3Storage, {s3_bucket: b, s3_access_key: a, s3_secret_key: s}]\n\
             \x20 irsa: [S3Storage, {s3_bucket: b}]\n",
        );
        let endpoint = |name: &str| {
            b.storage_locations()
                .into_iter()
                .find(|l| l.name == name)
                .and_then(|l| l.s3_target())
                .map(|t| t.map(|t| t.endpoint))
        };
        assert_eq!(
            endpoint("region"),
            Some(Ok("https://s3.eu-west-1.amazonaws.com".to_owned()))
        );
        assert_eq!(
            endpoint("china"),
            Some(Ok("https://s3.cn-north-1.amazonaws.com.cn".to_owned()))
        );
        assert_eq!(
            endpoint("host"),
            Some(Ok("https://s3.corp.example:8443".to_owned()))
        );
        assert_eq!(
            endpoint("aws"),
            Some(Ok("https://s3.amazonaws.com".to_owned()))
        );
        assert!(matches!(endpoint("irsa"), Some(Err(m)) if m.contains("irsa")));
    }

    #[test]
    fn rejects_a_bundle_without_config_yaml_or_with_a_list() {
        assert!(matches!(
            Bundle::parse("b", BTreeMap::new()),
            Err(Error::MissingConfig { .. })
        ));
        let data = BTreeMap::from([("config.yaml".to_owned(), b"- a\n".to_vec())]);
        assert!(matches!(
            Bundle::parse("b", data),
            Err(Error::InvalidYaml { .. })
        ));
    }

    #[test]
    fn a_broken_or_parsed_bundle_never_shows_its_values() {
        let yaml = "DB_URI: postgresql://quay:pg-s3cr3t@db:5432/quay\nSECRET_KEY: [unclosed\n";
        let data = BTreeMap::from([("config.yaml".to_owned(), yaml.as_bytes().to_vec())]);
        let error = Bundle::parse("b", data).unwrap_err();
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("line"), "{shown}");
        let bundle = bundle(
            "DB_URI: postgresql://quay:pg-s3cr3t@db:5432/quay\nBUILDLOGS_REDIS: {host: r, password: redis-s3cr3t}\n",
        );
        let shown = format!("{bundle:?} {:?}", bundle.redis());
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("DB_URI"), "{shown}");
    }

    #[test]
    fn database_identity_drops_credentials() {
        assert_eq!(
            database_identity("postgresql://quay:secret@127.0.0.1:5432/quay"),
            "127.0.0.1:5432/quay"
        );
        assert_eq!(
            database_identity("postgresql://u:p@db/quay"),
            "db:5432/quay"
        );
    }
}
