//! The site's `config_files`: the bundle files beside `config.yaml` that the shared
//! configuration brings (`data "quay_georep_config"`'s `config_files`, see
//! [`crate::georep::config::files`]), checked before they reach the bundle.
//!
//! - Each key is one Quay reads: `database.pem`, `database-client.crt`,
//!   `database-client.key`, `extra_ca_cert_<name>.crt` with a plain name, or a location's
//!   CloudFront signing key `cloudfront_<location>.pem`. Any other key could clash with what
//!   the site writes itself (`config.yaml`, `ssl.cert`, ...).
//! - Each certificate file is PEM certificates and nothing else.
//! - Every file `DB_CONNECTION_ARGS` names under `/conf/stack/` (`sslrootcert`, `sslcert`,
//!   `sslkey`) is there: without it Quay cannot reach the shared database. So is every
//!   `cloudfront_privatekey_filename` of `DISTRIBUTED_STORAGE_CONFIG`: Quay opens it at start-up
//!   and fails without it.

use std::collections::BTreeMap;

use super::shared_config::SharedConfig;
use crate::georep::config::files::{
    BUNDLE_DIR, DATABASE_CLIENT_CERT, DATABASE_CLIENT_KEY, DATABASE_ROOT_CERT, EXTRA_CA_PREFIX,
    check_certificates, is_valid_ca_name,
};
use crate::georep::config::location::LocationId;
use crate::georep::config::storage_driver::CLOUDFRONT_KEY_PREFIX;
use crate::georep::issue::Issue;
use crate::georep::path::FieldPath;
use crate::georep::secret::Secret;

/// Whether `key` is a bundle file `config_files` may carry, and whether it holds certificates.
fn kind(key: &str) -> Option<Kind> {
    match key {
        DATABASE_ROOT_CERT | DATABASE_CLIENT_CERT => Some(Kind::Certificates),
        DATABASE_CLIENT_KEY => Some(Kind::Key),
        _ => {
            let ca = key
                .strip_prefix(EXTRA_CA_PREFIX)
                .and_then(|rest| rest.strip_suffix(".crt"))
                .filter(|name| is_valid_ca_name(name))
                .map(|_| Kind::Certificates);
            let cloudfront = || {
                key.strip_prefix(CLOUDFRONT_KEY_PREFIX)
                    .and_then(|rest| rest.strip_suffix(".pem"))
                    .filter(|location| LocationId::parse(location).is_ok())
                    .map(|_| Kind::Key)
            };
            ca.or_else(cloudfront)
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Certificates,
    Key,
}

/// The checked `config_files` (empty when unset) and the issues found.
pub(super) fn check(
    files: Option<&BTreeMap<String, Secret>>,
    config: Option<&SharedConfig>,
) -> (BTreeMap<String, Secret>, Vec<Issue>) {
    let files = files.cloned().unwrap_or_default();
    let mut issues = Vec::new();
    for (key, content) in &files {
        let path = FieldPath::attr("config_files").key(key.clone());
        match kind(key) {
            None => issues.push(Issue::error(
                path,
                "Unknown Config File",
                format!(
                    "config_files has \"{key}\"; it takes {DATABASE_ROOT_CERT}, \
                     {DATABASE_CLIENT_CERT}, {DATABASE_CLIENT_KEY}, \
                     {EXTRA_CA_PREFIX}<name>.crt (letters, digits, - and _ in the name) and \
                     {CLOUDFRONT_KEY_PREFIX}<location>.pem: use \
                     data.quay_georep_config.<name>.config_files"
                ),
            )),
            Some(Kind::Certificates) => {
                if let Err(problem) = check_certificates(content.expose()) {
                    issues.push(Issue::error(
                        path,
                        "Invalid Certificate File",
                        format!("config_files[\"{key}\"] must be PEM certificates: {problem}"),
                    ));
                }
            }
            Some(Kind::Key) => {}
        }
    }
    if let Some(config) = config {
        issues.extend(missing_database_files(config, &files));
        issues.extend(missing_cloudfront_keys(config, &files));
    }
    (files, issues)
}

/// An error for each file `DB_CONNECTION_ARGS` names in the bundle that `files` lacks.
fn missing_database_files(config: &SharedConfig, files: &BTreeMap<String, Secret>) -> Vec<Issue> {
    let Some(args) = config.value("DB_CONNECTION_ARGS") else {
        return Vec::new();
    };
    let prefix = format!("{BUNDLE_DIR}/");
    ["sslrootcert", "sslcert", "sslkey"]
        .into_iter()
        .filter_map(|arg| {
            let key = args.get(arg)?.as_str()?.strip_prefix(&prefix)?;
            (!files.contains_key(key)).then(|| {
                Issue::error(
                    FieldPath::attr("config_files"),
                    "Missing Config File",
                    format!(
                        "config_yaml's DB_CONNECTION_ARGS sets {arg} to {prefix}{key}, but \
                         config_files has no \"{key}\", so Quay could not reach the database; \
                         set config_files = data.quay_georep_config.<name>.config_files"
                    ),
                )
            })
        })
        .collect()
}

/// An error for each CloudFront signing key `DISTRIBUTED_STORAGE_CONFIG` names that `files`
/// lacks.
fn missing_cloudfront_keys(config: &SharedConfig, files: &BTreeMap<String, Secret>) -> Vec<Issue> {
    let Some(serde_json::Value::Object(storage)) = config.value("DISTRIBUTED_STORAGE_CONFIG")
    else {
        return Vec::new();
    };
    storage
        .iter()
        .filter_map(|(location, entry)| {
            let file = entry
                .get(1)?
                .get("cloudfront_privatekey_filename")?
                .as_str()?;
            // Quay joins the name to the config volume, which takes an absolute path too.
            let key = file
                .strip_prefix(BUNDLE_DIR)
                .map_or(file, |rest| rest.trim_start_matches('/'));
            (!files.contains_key(key)).then(|| {
                Issue::error(
                    FieldPath::attr("config_files"),
                    "Missing Config File",
                    format!(
                        "config_yaml's storage location {location} signs CloudFront URLs with \
                         {key}, but config_files has no \"{key}\", so Quay would fail at \
                         start-up; set config_files = data.quay_georep_config.<name>.config_files"
                    ),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(entries: &[(&str, &str)]) -> BTreeMap<String, Secret> {
        entries
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Secret::new(*v)))
            .collect()
    }

    fn ca() -> String {
        rcgen::generate_simple_self_signed(vec!["ca.example.com".into()])
            .unwrap()
            .cert
            .pem()
    }

    #[test]
    fn known_keys_with_certificates_pass() {
        let pem = ca();
        let given = files(&[
            ("extra_ca_cert_corp.crt", &pem),
            ("database.pem", &pem),
            ("database-client.key", "key"),
        ]);
        let (checked, issues) = check(Some(&given), None);
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(checked.len(), 3);
    }

    #[test]
    fn unknown_keys_and_bad_certificates_are_named() {
        let given = files(&[("config.yaml", "x"), ("extra_ca_cert_corp.crt", "nope")]);
        let (_, issues) = check(Some(&given), None);
        let summaries: Vec<&str> = issues.iter().map(|i| i.summary.as_str()).collect();
        assert_eq!(
            summaries,
            ["Unknown Config File", "Invalid Certificate File"]
        );
        assert_eq!(
            issues[1].path.to_string(),
            "config_files[\"extra_ca_cert_corp.crt\"]"
        );
    }

    #[test]
    fn a_database_file_the_config_names_must_be_given() {
        let yaml = "SERVER_HOSTNAME: quay.example.com\nFEATURE_STORAGE_REPLICATION: true\n\
            DISTRIBUTED_STORAGE_CONFIG:\n  a: [RadosGWStorage, {}]\n\
            DB_CONNECTION_ARGS:\n  sslmode: verify-full\n  sslrootcert: /conf/stack/database.pem\n";
        let config = SharedConfig::parse(&Secret::new(yaml)).unwrap();
        let (_, issues) = check(None, Some(&config));
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].summary, "Missing Config File");
        assert!(issues[0].detail.contains("database.pem"));
        let pem = ca();
        let (_, issues) = check(Some(&files(&[("database.pem", &pem)])), Some(&config));
        assert!(issues.is_empty(), "{issues:?}");
    }

    #[test]
    fn a_cloudfront_key_the_config_names_must_be_given() {
        let yaml = "SERVER_HOSTNAME: quay.example.com\nFEATURE_STORAGE_REPLICATION: true\n\
            DISTRIBUTED_STORAGE_CONFIG:\n  us_east: [CloudFrontedS3Storage, \
            {cloudfront_privatekey_filename: cloudfront_us_east.pem}]\n";
        let config = SharedConfig::parse(&Secret::new(yaml)).unwrap();
        let (_, issues) = check(None, Some(&config));
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].summary, "Missing Config File");
        assert!(issues[0].detail.contains("cloudfront_us_east.pem"));
        let given = files(&[("cloudfront_us_east.pem", "key")]);
        let (checked, issues) = check(Some(&given), Some(&config));
        assert!(issues.is_empty(), "{issues:?}");
        let absolute = SharedConfig::parse(&Secret::new(
            yaml.replace("filename: cloudfront", "filename: /conf/stack/cloudfront"),
        ))
        .unwrap();
        let (_, issues) = check(Some(&given), Some(&absolute));
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(checked.len(), 1);
        let (_, issues) = check(Some(&files(&[("cloudfront_US.pem", "key")])), None);
        assert_eq!(issues[0].summary, "Unknown Config File");
    }
}
