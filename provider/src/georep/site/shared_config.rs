//! [`SharedConfig`]: the facts a site needs from the shared `config.yaml`.
//!
//! A site does not re-validate the whole shared configuration (that is
//! `data "quay_georep_config"`'s job), but it reads the keys its own objects depend on and
//! refuses a file that cannot work for geo-replication: not YAML, not a map, no
//! `SERVER_HOSTNAME` (the managed Route host and the TLS name), no `DISTRIBUTED_STORAGE_CONFIG`,
//! or `FEATURE_STORAGE_REPLICATION` not `true`. It also notes which SecurityScanner keys are
//! present: they mean a global Clair, and the operator refuses them next to a managed Clair
//! (`reference/quay-operator.md` §1.3, §4.3).
//!
//! Errors never quote the file (it holds every secret of the deployment); a YAML syntax error
//! is reported by line and column only. Parsing only, no I/O.

use serde_json::Value;

use crate::georep::config::db_uri::{DatabaseId, DbUri};
use crate::georep::config::hostname::{self, HostPort};
use crate::georep::secret::Secret;

/// The `config.yaml` keys of the operator's SecurityScanner field group: any one of them in the
/// bundle next to a managed `clair` gives `ConfigInvalid`.
pub const SECURITY_SCANNER_KEYS: [&str; 6] = [
    "FEATURE_SECURITY_SCANNER",
    "SECURITY_SCANNER_ENDPOINT",
    "SECURITY_SCANNER_INDEXING_INTERVAL",
    "SECURITY_SCANNER_NOTIFICATIONS",
    "SECURITY_SCANNER_V4_ENDPOINT",
    "SECURITY_SCANNER_V4_NAMESPACE_WHITELIST",
];

/// Why a `config.yaml` cannot serve a geo-replicated site. No variant holds file content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The text is not YAML.
    #[error("config_yaml is not valid YAML{}", at(*.line, *.column))]
    NotYaml {
        /// 1-based line of the syntax error, when known.
        line: Option<u64>,
        /// 1-based column of the syntax error, when known.
        column: Option<u64>,
    },
    /// The document is not a map of keys to values.
    #[error("config_yaml is a YAML {found}, not a map of config.yaml keys")]
    NotAMap {
        /// What the document is instead (`list`, `string`, ...).
        found: &'static str,
    },
    /// `SERVER_HOSTNAME` is absent or not a string.
    #[error("config_yaml has no SERVER_HOSTNAME")]
    MissingServerHostname,
    /// `SERVER_HOSTNAME` is not a valid `host[:port]`.
    #[error("SERVER_HOSTNAME in config_yaml is not a valid host name")]
    BadServerHostname {
        /// The parse failure (it quotes the host name, which is not secret).
        #[source]
        source: hostname::Error,
    },
    /// `DISTRIBUTED_STORAGE_CONFIG` is absent, not a map, or empty.
    #[error("config_yaml has no DISTRIBUTED_STORAGE_CONFIG locations")]
    MissingStorage,
    /// A `DISTRIBUTED_STORAGE_CONFIG` key cannot be a word of `QUAY_DISTRIBUTED_STORAGE_PREFERENCE`.
    #[error("DISTRIBUTED_STORAGE_CONFIG location `{key}` is empty or contains whitespace")]
    BadLocation {
        /// The key.
        key: String,
    },
    /// `FEATURE_STORAGE_REPLICATION` is not `true`.
    #[error("FEATURE_STORAGE_REPLICATION in config_yaml is {found}, not true")]
    ReplicationOff {
        /// What was found: `absent`, `false`, or the YAML kind.
        found: String,
    },
    /// `DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS` is not a list of storage locations.
    #[error(
        "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS in config_yaml names `{entry}`, which is not a \
         DISTRIBUTED_STORAGE_CONFIG location"
    )]
    BadDefaultLocation {
        /// The entry (a location name or the YAML kind of a non-string entry).
        entry: String,
    },
}

impl Error {
    /// The diagnostic title and the fix for this problem.
    pub fn summary_and_fix(&self) -> (&'static str, &'static str) {
        use Error as E;
        let fix_source = "use data.quay_georep_config.<name>.config_yaml, which always renders a \
                      valid geo-replication config";
        match self {
            E::NotYaml { .. } | E::NotAMap { .. } => ("Invalid Config YAML", fix_source),
            E::MissingServerHostname => (
                "Missing Server Hostname",
                "add SERVER_HOSTNAME: the global load balancer's host name",
            ),
            E::BadServerHostname { .. } => (
                "Invalid Server Hostname",
                "set SERVER_HOSTNAME to a host name such as quay.example.com",
            ),
            E::MissingStorage => (
                "Missing Storage Locations",
                "add DISTRIBUTED_STORAGE_CONFIG with one entry per site's bucket",
            ),
            E::BadLocation { .. } => (
                "Invalid Storage Location",
                "rename the location to a word such as us_east",
            ),
            E::ReplicationOff { .. } => (
                "Replication Not Enabled",
                "set FEATURE_STORAGE_REPLICATION: true, which geo-replication needs",
            ),
            E::BadDefaultLocation { .. } => (
                "Unknown Default Location",
                "list only DISTRIBUTED_STORAGE_CONFIG locations in \
             DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS",
            ),
        }
    }
}

fn at(line: Option<u64>, column: Option<u64>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!(" (line {line}, column {column})"),
        (Some(line), None) => format!(" (line {line})"),
        _ => String::new(),
    }
}

/// What a site reads from the shared `config.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedConfig {
    yaml: Secret,
    server_hostname: HostPort,
    locations: Vec<String>,
    default_locations: Vec<String>,
    scanner_keys: Vec<&'static str>,
    database: Option<DatabaseId>,
}

impl SharedConfig {
    /// Parses the shared `config.yaml`.
    ///
    /// # Errors
    ///
    /// Every [`Error`] found: a file that is not YAML or not a map stops there; otherwise the
    /// host name, storage, replication and default-location problems are all reported.
    pub fn parse(yaml: &Secret) -> Result<Self, Vec<Error>> {
        let document = crate::georep::yaml::parse(yaml.expose()).map_err(|err| {
            let location = err.location();
            vec![Error::NotYaml {
                line: location.map(|l| l.line()),
                column: location.map(|l| l.column()),
            }]
        })?;
        let Value::Object(keys) = &*document else {
            return Err(vec![Error::NotAMap {
                found: kind(&document),
            }]);
        };
        let mut errors = Vec::new();
        let server_hostname = match keys.get("SERVER_HOSTNAME").and_then(Value::as_str) {
            None => {
                errors.push(Error::MissingServerHostname);
                None
            }
            Some(text) => HostPort::parse(text)
                .map_err(|source| errors.push(Error::BadServerHostname { source }))
                .ok(),
        };
        let mut locations: Vec<String> = match keys.get("DISTRIBUTED_STORAGE_CONFIG") {
            Some(Value::Object(storage)) if !storage.is_empty() => {
                storage.keys().cloned().collect()
            }
            _ => {
                errors.push(Error::MissingStorage);
                Vec::new()
            }
        };
        locations.sort();
        for key in &locations {
            if key.is_empty() || key.chars().any(char::is_whitespace) {
                errors.push(Error::BadLocation { key: key.clone() });
            }
        }
        match keys.get("FEATURE_STORAGE_REPLICATION") {
            Some(Value::Bool(true)) => {}
            Some(Value::Bool(false)) => errors.push(Error::ReplicationOff {
                found: "false".into(),
            }),
            None => errors.push(Error::ReplicationOff {
                found: "absent".into(),
            }),
            Some(other) => errors.push(Error::ReplicationOff {
                found: format!("a {}", kind(other)),
            }),
        }
        let mut default_locations = Vec::new();
        if let Some(value) = keys.get("DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS") {
            let entries = value.as_array().map_or_else(
                || vec![Err(kind(value))],
                |items| {
                    items
                        .iter()
                        .map(|item| item.as_str().ok_or(kind(item)))
                        .collect()
                },
            );
            for entry in entries {
                match entry {
                    Ok(id) if locations.iter().any(|l| l == id) => {
                        default_locations.push(id.to_owned());
                    }
                    Ok(id) if !locations.is_empty() => errors.push(Error::BadDefaultLocation {
                        entry: id.to_owned(),
                    }),
                    Ok(_) => {}
                    Err(kind) => errors.push(Error::BadDefaultLocation {
                        entry: format!("a {kind}"),
                    }),
                }
            }
        }
        let scanner_keys = SECURITY_SCANNER_KEYS
            .into_iter()
            .filter(|key| keys.contains_key(*key))
            .collect();
        // A missing or malformed DB_URI is the config data source's and the operator's to
        // report (ConfigInvalid); here it only means no database to coordinate on.
        let database = keys
            .get("DB_URI")
            .and_then(Value::as_str)
            .and_then(|uri| DbUri::parse(&Secret::new(uri)).ok())
            .map(|uri| uri.database().clone());
        match server_hostname {
            Some(server_hostname) if errors.is_empty() => Ok(Self {
                yaml: yaml.clone(),
                server_hostname,
                locations,
                default_locations,
                scanner_keys,
                database,
            }),
            _ => Err(errors),
        }
    }

    /// The database `DB_URI` points at, when it is a PostgreSQL URI: every site with the same
    /// one migrates the same schema.
    pub fn database(&self) -> Option<&DatabaseId> {
        self.database.as_ref()
    }

    /// The file as given, byte for byte.
    pub fn yaml(&self) -> &Secret {
        &self.yaml
    }

    /// `SERVER_HOSTNAME`: the global load balancer's `host[:port]`.
    pub fn server_hostname(&self) -> &HostPort {
        &self.server_hostname
    }

    /// The `DISTRIBUTED_STORAGE_CONFIG` locations, sorted; never empty.
    pub fn locations(&self) -> &[String] {
        &self.locations
    }

    /// `DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS` in file order (empty when absent); each one is a
    /// storage location.
    pub fn default_locations(&self) -> &[String] {
        &self.default_locations
    }

    /// The SecurityScanner keys present, in [`SECURITY_SCANNER_KEYS`] order; non-empty means
    /// the configuration points at a global Clair.
    pub fn security_scanner_keys(&self) -> &[&'static str] {
        &self.scanner_keys
    }

    /// Whether the configuration names a Clair of its own (a global endpoint).
    pub fn has_global_clair(&self) -> bool {
        !self.scanner_keys.is_empty()
    }

    /// The top-level value of `key`, when the file sets it: for the few checks that read keys
    /// the site does not keep.
    pub fn value(&self, key: &str) -> Option<Value> {
        crate::georep::yaml::top_level(self.yaml.expose())?
            .get(key)
            .filter(|v| !v.is_null())
            .cloned()
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SharedConfig, Vec<Error>> {
        SharedConfig::parse(&Secret::new(text))
    }

    const GOOD: &str = "SERVER_HOSTNAME: quay.global.example.com\n\
        FEATURE_STORAGE_REPLICATION: true\n\
        DISTRIBUTED_STORAGE_CONFIG:\n  us_east: [RadosGWStorage, {}]\n  eu_west: [RadosGWStorage, {}]\n\
        DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [us_east, eu_west]\n";

    #[test]
    fn reads_hostname_sorted_locations_and_defaults_in_order() {
        let config = parse(GOOD).unwrap();
        assert_eq!(
            config.server_hostname().to_string(),
            "quay.global.example.com"
        );
        assert_eq!(config.locations(), ["eu_west", "us_east"]);
        assert_eq!(config.default_locations(), ["us_east", "eu_west"]);
        assert!(!config.has_global_clair());
    }

    #[test]
    fn names_the_database_that_db_uri_points_at() {
        assert_eq!(parse(GOOD).unwrap().database(), None);
        let text = format!("{GOOD}DB_URI: postgresql://quay:topsecret@pg.example.com:5432/quay\n");
        let database = parse(&text).unwrap().database().cloned().unwrap();
        assert_eq!(database.to_string(), "pg.example.com:5432/quay");
    }

    #[test]
    fn reports_syntax_errors_by_position_without_quoting_the_file() {
        let errors = parse("DB_URI: postgresql://u:topsecret@h/q\n  - : [\n").unwrap_err();
        assert!(matches!(errors[..], [Error::NotYaml { line: Some(_), .. }]));
        assert!(!errors[0].to_string().contains("topsecret"));
    }

    #[test]
    fn collects_every_geo_replication_problem_at_once() {
        let errors = parse("FEATURE_STORAGE_REPLICATION: false\n").unwrap_err();
        assert_eq!(
            errors,
            [
                Error::MissingServerHostname,
                Error::MissingStorage,
                Error::ReplicationOff {
                    found: "false".into()
                },
            ]
        );
    }

    #[test]
    fn notes_security_scanner_keys_as_a_global_clair() {
        let text = format!("{GOOD}SECURITY_SCANNER_V4_ENDPOINT: https://clair.example.com\n");
        let config = parse(&text).unwrap();
        assert_eq!(
            config.security_scanner_keys(),
            ["SECURITY_SCANNER_V4_ENDPOINT"]
        );
    }

    #[test]
    fn rejects_default_locations_without_storage() {
        let text = GOOD.replace("[us_east, eu_west]\n", "[us_east, mars]\n");
        assert_eq!(
            parse(&text).unwrap_err(),
            [Error::BadDefaultLocation {
                entry: "mars".into()
            }]
        );
        assert!(matches!(
            parse("- a\n- b\n").unwrap_err()[..],
            [Error::NotAMap { found: "list" }]
        ));
    }
}
