//! Behaviour tests for validation and rendering of the shared configuration, driven through
//! the public API (`validate` then `render`) the way the data source uses it.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::*;
use crate::georep::issue::{Issue, Severity};

const SECRET_KEY: &str = "sk-0f3c9a1e5b7d2c4a6e8f0b1d3c5a7e9f";
const DATABASE_SECRET_KEY: &str = "dsk-8e2b4d6f1a3c5e7b9d0f2a4c6e8b1d3f";

/// The three-site setup of reference/quay-operator.md §4.4.
pub(super) fn three_sites_json() -> Value {
    let site = |host: &str, bucket: &str, n: u8| {
        json!({
            "driver": "radosgw",
            "hostname": host,
            "port": 9000,
            "is_secure": true,
            "bucket": bucket,
            "access_key": format!("ak{n}-ACCESSKEY"),
            "secret_key": format!("sk{n}-STORAGESECRET"),
        })
    };
    json!({
        "server_hostname": "quay.global.example.com",
        "database": {
            "uri": "postgresql://quay:DBPASSWORD@pg.global.example.com:5432/quay",
            "connection_args": {"threadlocals": true, "autorollback": true},
        },
        "redis": {"host": "redis.global.example.com", "password": "REDISPASSWORD", "tls": true},
        "storage": {
            "us_east": site("minio.us-east.example.com", "quay-us-east", 1),
            "eu_west": site("minio.eu-west.example.com", "quay-eu-west", 2),
            "ap_south": site("minio.ap-south.example.com", "quay-ap-south", 3),
        },
        "default_locations": ["us_east", "eu_west", "ap_south"],
        "secret_key": SECRET_KEY,
        "database_secret_key": DATABASE_SECRET_KEY,
        "super_users": ["quayadmin"],
    })
}

pub(super) fn input(value: Value) -> ConfigInput {
    serde_json::from_value(value).unwrap()
}

fn three_sites() -> ConfigInput {
    input(three_sites_json())
}

/// `three_sites_json` with `replacement` set at the JSON pointer-like `path` (dot separated).
pub(super) fn with(path: &str, replacement: Value) -> ConfigInput {
    let mut value = three_sites_json();
    let mut target = &mut value;
    let parts: Vec<&str> = path.split('.').collect();
    for part in &parts[..parts.len() - 1] {
        target = target
            .as_object_mut()
            .unwrap()
            .entry((*part).to_owned())
            .or_insert_with(|| json!({}));
    }
    let last = parts[parts.len() - 1].to_owned();
    let object = target.as_object_mut().unwrap();
    if replacement.is_null() {
        object.remove(&last);
    } else {
        object.insert(last, replacement);
    }
    input(value)
}

pub(super) fn errors(input: &ConfigInput) -> Vec<Issue> {
    match validate(input) {
        Ok((_, warnings)) => panic!("expected errors, validation passed with {warnings:#?}"),
        Err(issues) => issues,
    }
}

/// The one issue at `path`, asserting its severity and summary.
#[track_caller]
pub(super) fn issue_at<'a>(
    issues: &'a [Issue],
    path: &str,
    severity: Severity,
    summary: &str,
) -> &'a Issue {
    let found: Vec<&Issue> = issues
        .iter()
        .filter(|i| i.path.to_string() == path)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one issue at {path}, got {issues:#?}"
    );
    let issue = found[0];
    assert_eq!(
        (issue.severity, issue.summary.as_str()),
        (severity, summary),
        "{issue:#?}"
    );
    issue
}

#[track_caller]
pub(super) fn error_at(input: &ConfigInput, path: &str, summary: &str) -> Issue {
    issue_at(&errors(input), path, Severity::Error, summary).clone()
}

pub(super) fn rendered(input: &ConfigInput) -> RenderedConfig {
    let (cfg, warnings) = validate(input).unwrap_or_else(|issues| panic!("{issues:#?}"));
    assert!(warnings.is_empty(), "{warnings:#?}");
    render(&cfg)
}

/// The rendered YAML read back as JSON, to assert on structure.
pub(super) fn rendered_value(input: &ConfigInput) -> Value {
    serde_saphyr::from_str(&rendered(input).config_yaml).unwrap()
}

// ---- golden and determinism -------------------------------------------------------------

#[test]
fn renders_three_sites_byte_for_byte_like_the_golden_file() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/georep/testdata/three_sites.config.yaml"
    );
    let got = rendered(&three_sites()).config_yaml;
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, &got).unwrap();
    }
    let expected = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {path} ({e}); run with UPDATE_GOLDEN=1 to create it"));
    if expected != got {
        let mut diff: Vec<String> = Vec::new();
        let (e, g): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), got.lines().collect());
        for i in 0..e.len().max(g.len()) {
            match (e.get(i), g.get(i)) {
                (Some(a), Some(b)) if a == b => diff.push(format!("  {a}")),
                (a, b) => {
                    if let Some(a) = a {
                        diff.push(format!("- {a}"));
                    }
                    if let Some(b) = b {
                        diff.push(format!("+ {b}"));
                    }
                }
            }
        }
        panic!(
            "{path} differs (-expected +got); rerun with UPDATE_GOLDEN=1 if intended:\n{}",
            diff.join("\n")
        );
    }
}

#[test]
fn config_hash_is_the_sha256_of_the_yaml() {
    let out = rendered(&three_sites());
    let expected = format!(
        "sha256:{}",
        hex::encode(Sha256::digest(out.config_yaml.as_bytes()))
    );
    assert_eq!(out.config_hash, expected);
    assert_eq!(out.config_hash.len(), "sha256:".len() + 64);
}

#[test]
fn output_is_identical_whatever_the_order_of_input_maps() {
    let a = r#"{"FEATURE_USER_CREATION": false, "TAG_EXPIRATION_OPTIONS": ["2w", "4w"],
                "LDAP": {"uri": "ldap://x", "base": {"dc": "example", "ou": "people"}}}"#;
    let b = r#"{"LDAP": {"base": {"ou": "people", "dc": "example"}, "uri": "ldap://x"},
                "TAG_EXPIRATION_OPTIONS": ["2w", "4w"], "FEATURE_USER_CREATION": false}"#;
    let one = with("extra_config", serde_json::from_str(a).unwrap());
    let two = with("extra_config", serde_json::from_str(b).unwrap());
    let mut reordered = three_sites_json();
    reordered["database"]["connection_args"] = json!({"autorollback": true, "threadlocals": true});
    reordered["extra_config"] = serde_json::from_str(b).unwrap();
    assert_eq!(rendered(&one), rendered(&two));
    assert_eq!(
        rendered(&one).config_yaml,
        rendered(&input(reordered)).config_yaml
    );
}

#[test]
fn locations_output_is_sorted() {
    assert_eq!(
        rendered(&three_sites()).locations,
        ["ap_south", "eu_west", "us_east"]
    );
}

#[test]
fn top_level_keys_are_in_alphabetical_order() {
    let yaml = rendered(&three_sites()).config_yaml;
    let keys: Vec<&str> = yaml
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with('-'))
        .filter_map(|l| l.split(':').next())
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(keys, sorted);
    assert!(keys.contains(&"DISTRIBUTED_STORAGE_CONFIG"), "{yaml}");
}

// ---- what is rendered -------------------------------------------------------------------

#[test]
fn renders_the_geo_replication_keys_from_the_reference() {
    let v = rendered_value(&three_sites());
    assert_eq!(v["SERVER_HOSTNAME"], "quay.global.example.com");
    assert_eq!(v["PREFERRED_URL_SCHEME"], "https");
    assert_eq!(v["SETUP_COMPLETE"], true);
    assert_eq!(v["FEATURE_STORAGE_REPLICATION"], true);
    assert_eq!(v["FEATURE_PROXY_STORAGE"], false);
    assert_eq!(
        v["DB_URI"],
        "postgresql://quay:DBPASSWORD@pg.global.example.com:5432/quay"
    );
    assert_eq!(
        v["DB_CONNECTION_ARGS"],
        json!({"autorollback": true, "threadlocals": true})
    );
    let redis = json!({"host": "redis.global.example.com", "port": 6379, "password": "REDISPASSWORD", "ssl": true});
    assert_eq!(v["BUILDLOGS_REDIS"], redis);
    assert_eq!(v["USER_EVENTS_REDIS"], redis);
    assert_eq!(v["SECRET_KEY"], SECRET_KEY);
    assert_eq!(v["DATABASE_SECRET_KEY"], DATABASE_SECRET_KEY);
    assert_eq!(v["SUPER_USERS"], json!(["quayadmin"]));
    assert_eq!(
        v["DISTRIBUTED_STORAGE_CONFIG"]["eu_west"],
        json!(["RadosGWStorage", {
            "hostname": "minio.eu-west.example.com", "port": 9000, "is_secure": true,
            "bucket_name": "quay-eu-west", "access_key": "ak2-ACCESSKEY",
            "secret_key": "sk2-STORAGESECRET", "storage_path": "/datastorage/registry"
        }])
    );
    assert_eq!(
        v["DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS"],
        json!(["us_east", "eu_west", "ap_south"])
    );
    assert_eq!(
        v["DISTRIBUTED_STORAGE_PREFERENCE"],
        json!(["us_east", "eu_west", "ap_south"])
    );
    for key in [
        "USERFILES_LOCATION",
        "LOG_ARCHIVE_LOCATION",
        "ACTION_LOG_ARCHIVE_LOCATION",
    ] {
        assert_eq!(v[key], "us_east", "{key}");
    }
    for absent in [
        "FEATURE_SECURITY_SCANNER",
        "FEATURE_REPO_MIRROR",
        "FEATURE_BUILD_SUPPORT",
    ] {
        assert!(
            v.get(absent).is_none(),
            "{absent} rendered without its block"
        );
    }
}

#[test]
fn preference_lists_default_locations_first_then_the_rest_sorted() {
    let v = rendered_value(&with("default_locations", json!(["us_east"])));
    assert_eq!(
        v["DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS"],
        json!(["us_east"])
    );
    assert_eq!(
        v["DISTRIBUTED_STORAGE_PREFERENCE"],
        json!(["us_east", "ap_south", "eu_west"])
    );
    assert_eq!(v["USERFILES_LOCATION"], "us_east");
}

#[test]
fn default_locations_default_to_every_location_sorted() {
    let v = rendered_value(&with("default_locations", Value::Null));
    assert_eq!(
        v["DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS"],
        json!(["ap_south", "eu_west", "us_east"])
    );
    assert_eq!(v["USERFILES_LOCATION"], "ap_south");
}

#[test]
fn s3_storage_uses_s3_argument_names() {
    let v = rendered_value(&with(
        "storage.eu_west",
        json!({"driver": "s3", "bucket": "quay-eu", "access_key": "AK", "secret_key": "SK",
               "region": "eu-west-1", "storage_path": "/quay"}),
    ));
    assert_eq!(
        v["DISTRIBUTED_STORAGE_CONFIG"]["eu_west"],
        json!(["S3Storage", {"s3_bucket": "quay-eu", "s3_access_key": "AK", "s3_secret_key": "SK",
                             "s3_region": "eu-west-1", "storage_path": "/quay"}])
    );
}

#[test]
fn radosgw_region_is_rendered_as_region_name() {
    let v = rendered_value(&with("storage.us_east.region", json!("garage")));
    assert_eq!(
        v["DISTRIBUTED_STORAGE_CONFIG"]["us_east"][1]["region_name"],
        "garage"
    );
}

#[test]
fn clair_renders_scanner_keys_with_both_notification_spellings() {
    let v = rendered_value(&with(
        "clair",
        json!({"endpoint": "https://clair.global.example.com", "psk": "c2VjcmV0cHNr"}),
    ));
    assert_eq!(v["FEATURE_SECURITY_SCANNER"], true);
    assert_eq!(
        v["SECURITY_SCANNER_V4_ENDPOINT"],
        "https://clair.global.example.com"
    );
    assert_eq!(v["SECURITY_SCANNER_V4_PSK"], "c2VjcmV0cHNr");
    assert_eq!(v["SECURITY_SCANNER_NOTIFICATIONS"], true);
    assert_eq!(v["FEATURE_SECURITY_NOTIFICATIONS"], true);
}

#[test]
fn mirroring_renders_feature_flag_and_interval() {
    let v = rendered_value(&with("mirroring", json!({"interval": 60})));
    assert_eq!(v["FEATURE_REPO_MIRROR"], true);
    assert_eq!(v["REPO_MIRROR_INTERVAL"], 60);
    let v = rendered_value(&with("mirroring", json!({"enabled": false, "interval": 5})));
    assert_eq!(v["FEATURE_REPO_MIRROR"], false);
    assert!(v.get("REPO_MIRROR_INTERVAL").is_none());
}

#[test]
fn builders_render_an_ephemeral_build_manager_on_the_shared_redis() {
    let v = rendered_value(&with(
        "builders",
        json!({"build_manager_hostname": "builder.global.example.com:443",
               "executor_config": {"EXECUTOR": "kubernetesPodman", "BUILDER_NAMESPACE": "builder"}}),
    ));
    assert_eq!(v["FEATURE_BUILD_SUPPORT"], true);
    assert_eq!(v["BUILDMAN_HOSTNAME"], "builder.global.example.com:443");
    assert_eq!(v["BUILD_MANAGER"][0], "ephemeral");
    let manager = &v["BUILD_MANAGER"][1];
    assert_eq!(
        manager["ORCHESTRATOR"]["REDIS_HOST"],
        "redis.global.example.com"
    );
    assert_eq!(manager["ORCHESTRATOR"]["REDIS_PASSWORD"], "REDISPASSWORD");
    assert_eq!(
        manager["EXECUTORS"],
        json!([{"EXECUTOR": "kubernetesPodman", "BUILDER_NAMESPACE": "builder"}])
    );
}

#[test]
fn extra_config_is_merged_and_ambiguous_strings_stay_strings() {
    let out = rendered(&with(
        "extra_config",
        json!({"FEATURE_USER_CREATION": false, "REGISTRY_TITLE": "yes", "TAG": "0123"}),
    ));
    let v: Value = serde_saphyr::from_str(&out.config_yaml).unwrap();
    assert_eq!(v["FEATURE_USER_CREATION"], false);
    assert_eq!(v["REGISTRY_TITLE"], "yes");
    assert_eq!(v["TAG"], "0123");
    // PyYAML (YAML 1.1) would read a bare `yes` as true: it must be quoted.
    assert!(
        !out.config_yaml.contains("REGISTRY_TITLE: yes\n"),
        "{}",
        out.config_yaml
    );
}

#[test]
fn server_hostname_keeps_its_port() {
    let v = rendered_value(&with("server_hostname", json!("127.0.0.1:30443")));
    assert_eq!(v["SERVER_HOSTNAME"], "127.0.0.1:30443");
}

// ---- secrets ----------------------------------------------------------------------------

#[test]
fn no_secret_appears_in_issues_or_debug_output() {
    let secrets = [
        "DBPASSWORD",
        "REDISPASSWORD",
        "ACCESSKEY",
        "STORAGESECRET",
        "weakkeyXYZ",
        "PSKVALUE",
    ];
    let mut bad = three_sites_json();
    bad["database"]["uri"] = json!("mysql://root:DBPASSWORD@db.example.com/quay");
    bad["secret_key"] = json!("weakkeyXYZ");
    bad["database_secret_key"] = json!("weakkeyXYZ");
    bad["clair"] = json!({"endpoint": "ftp://x", "psk": "PSKVALUE!!"});
    bad["storage"]["us_east"]["driver"] = json!("local");
    let bad = input(bad);
    let issues = errors(&bad);
    let text = format!(
        "{issues:?} {} {bad:?}",
        issues
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    let (cfg, _) = validate(&three_sites()).unwrap();
    let text = format!("{text} {cfg:?} {:?}", render(&cfg));
    for secret in secrets {
        assert!(!text.contains(secret), "{secret} leaked in:\n{text}");
    }
    let unparsable = with("database.uri", json!("host=db password=DBPASSWORD"));
    assert!(!format!("{:?}", errors(&unparsable)).contains("DBPASSWORD"));
}

// ---- validation: host settings ----------------------------------------------------------

#[test]
fn requires_server_hostname() {
    error_at(
        &with("server_hostname", Value::Null),
        "server_hostname",
        "Missing Server Hostname",
    );
}

#[test]
fn rejects_server_hostname_with_scheme_and_points_to_preferred_url_scheme() {
    let issue = error_at(
        &with("server_hostname", json!("https://quay.example.com")),
        "server_hostname",
        "Invalid Server Hostname",
    );
    assert!(issue.detail.contains("https://"), "{}", issue.detail);
    assert!(
        issue.detail.contains("preferred_url_scheme"),
        "{}",
        issue.detail
    );
}

#[test]
fn rejects_server_hostname_with_path() {
    let issue = error_at(
        &with("server_hostname", json!("quay.example.com/v2")),
        "server_hostname",
        "Invalid Server Hostname",
    );
    assert!(issue.detail.contains("path"), "{}", issue.detail);
}

#[test]
fn rejects_server_hostname_with_bad_label() {
    let issue = error_at(
        &with("server_hostname", json!("quay_east.example.com")),
        "server_hostname",
        "Invalid Server Hostname",
    );
    assert!(issue.detail.contains("quay_east"), "{}", issue.detail);
}

#[test]
fn rejects_server_hostname_with_bad_port() {
    let issue = error_at(
        &with("server_hostname", json!("quay.example.com:70000")),
        "server_hostname",
        "Invalid Server Hostname",
    );
    assert!(issue.detail.contains("70000"), "{}", issue.detail);
}

#[test]
fn rejects_preferred_url_scheme_other_than_http_or_https() {
    error_at(
        &with("preferred_url_scheme", json!("ftp")),
        "preferred_url_scheme",
        "Invalid URL Scheme",
    );
    let v = rendered_value(&with("preferred_url_scheme", json!("http")));
    assert_eq!(v["PREFERRED_URL_SCHEME"], "http");
}

// ---- validation: database and redis -----------------------------------------------------

#[test]
fn rejects_non_postgres_database_uri_naming_the_scheme() {
    let issue = error_at(
        &with("database.uri", json!("mysql://quay:pw@db/quay")),
        "database.uri",
        "Invalid Database URI",
    );
    assert!(issue.detail.contains("mysql"), "{}", issue.detail);
}

#[test]
fn rejects_unparsable_database_uri() {
    error_at(
        &with("database.uri", json!("not a uri")),
        "database.uri",
        "Invalid Database URI",
    );
    error_at(
        &with("database.uri", Value::Null),
        "database.uri",
        "Missing Database URI",
    );
    error_at(
        &with("database", Value::Null),
        "database",
        "Missing Database",
    );
}

#[test]
fn rejects_empty_redis_host() {
    error_at(
        &with("redis.host", json!("")),
        "redis.host",
        "Missing Redis Host",
    );
    error_at(
        &with("redis.host", json!("redis.example.com:6379")),
        "redis.host",
        "Invalid Redis Host",
    );
    error_at(&with("redis", Value::Null), "redis", "Missing Redis");
}

#[test]
fn rejects_redis_port_out_of_range() {
    error_at(
        &with("redis.port", json!(0)),
        "redis.port",
        "Invalid Redis Port",
    );
    error_at(
        &with("redis.port", json!(65536)),
        "redis.port",
        "Invalid Redis Port",
    );
}

// ---- validation: storage ----------------------------------------------------------------

#[test]
fn rejects_config_without_storage() {
    error_at(&with("storage", json!({})), "storage", "Missing Storage");
}

#[test]
fn warns_that_a_single_location_is_not_geo_replicated_but_still_renders() {
    let mut one = three_sites_json();
    one["storage"] = json!({"us_east": one["storage"]["us_east"].clone()});
    one["default_locations"] = Value::Null;
    let (cfg, warnings) = validate(&input(one)).unwrap();
    let issue = issue_at(
        &warnings,
        "storage",
        Severity::Warning,
        "Single Storage Location",
    );
    assert!(issue.detail.contains("us_east") && issue.detail.contains("not geo-replicated"));
    assert!(!cfg.is_geo_replicated());
    assert!(
        render(&cfg)
            .config_yaml
            .contains("FEATURE_STORAGE_REPLICATION: true")
    );
}

#[test]
fn rejects_invalid_location_id() {
    let mut bad = three_sites_json();
    let block = bad["storage"]["us_east"].clone();
    bad["storage"]["US-East"] = block;
    bad["default_locations"] = Value::Null;
    let issue = error_at(&input(bad), r#"storage["US-East"]"#, "Invalid Location Id");
    assert!(issue.detail.contains("US-East"), "{}", issue.detail);
}

#[test]
fn refuses_local_storage_because_it_cannot_replicate() {
    let issue = error_at(
        &with("storage.eu_west.driver", json!("local")),
        r#"storage["eu_west"].driver"#,
        "Local Storage Cannot Replicate",
    );
    assert!(issue.detail.contains("radosgw"), "{}", issue.detail);
}

#[test]
fn rejects_unknown_or_missing_storage_driver() {
    error_at(
        &with("storage.eu_west.driver", json!("swift")),
        r#"storage["eu_west"].driver"#,
        "Unsupported Storage Driver",
    );
    error_at(
        &with("storage.eu_west.driver", Value::Null),
        r#"storage["eu_west"].driver"#,
        "Missing Storage Driver",
    );
}

#[test]
fn rejects_empty_bucket() {
    error_at(
        &with("storage.eu_west.bucket", json!("  ")),
        r#"storage["eu_west"].bucket"#,
        "Empty Bucket Name",
    );
}

#[test]
fn rejects_radosgw_without_hostname() {
    error_at(
        &with("storage.eu_west.hostname", Value::Null),
        r#"storage["eu_west"].hostname"#,
        "Missing Storage Hostname",
    );
}

#[test]
fn rejects_storage_hostname_with_port_and_says_where_the_port_goes() {
    let issue = error_at(
        &with("storage.eu_west.hostname", json!("minio.example.com:9000")),
        r#"storage["eu_west"].hostname"#,
        "Invalid Storage Hostname",
    );
    assert!(issue.detail.contains("port attribute"), "{}", issue.detail);
}

#[test]
fn rejects_storage_without_access_or_secret_key() {
    error_at(
        &with("storage.eu_west.access_key", Value::Null),
        r#"storage["eu_west"].access_key"#,
        "Missing Storage Access Key",
    );
    error_at(
        &with("storage.eu_west.secret_key", json!("")),
        r#"storage["eu_west"].secret_key"#,
        "Missing Storage Secret Key",
    );
}

#[test]
fn rejects_storage_port_out_of_range() {
    error_at(
        &with("storage.eu_west.port", json!(-1)),
        r#"storage["eu_west"].port"#,
        "Invalid Storage Port",
    );
}

#[test]
fn rejects_relative_storage_path() {
    error_at(
        &with("storage.eu_west.storage_path", json!("datastorage")),
        r#"storage["eu_west"].storage_path"#,
        "Relative Storage Path",
    );
}

#[test]
fn rejects_s3_with_is_secure_false() {
    let mut bad = three_sites_json();
    bad["storage"]["eu_west"]["driver"] = json!("s3");
    bad["storage"]["eu_west"]["is_secure"] = json!(false);
    error_at(
        &input(bad),
        r#"storage["eu_west"].is_secure"#,
        "Plain HTTP Not Supported By S3 Driver",
    );
}

#[test]
fn rejects_unknown_location_in_default_locations_naming_it_and_the_known_ones() {
    let issue = error_at(
        &with("default_locations", json!(["us_east", "us_west"])),
        "default_locations[1]",
        "Unknown Storage Location",
    );
    assert!(issue.detail.contains("us_west"), "{}", issue.detail);
    assert!(
        issue.detail.contains("ap_south, eu_west, us_east"),
        "{}",
        issue.detail
    );
}

#[test]
fn rejects_empty_or_repeated_default_locations() {
    error_at(
        &with("default_locations", json!([])),
        "default_locations",
        "Empty Default Locations",
    );
    error_at(
        &with("default_locations", json!(["us_east", "us_east"])),
        "default_locations[1]",
        "Duplicate Default Location",
    );
}

// ---- validation: secret keys and users --------------------------------------------------

#[test]
fn rejects_missing_secret_keys() {
    error_at(
        &with("secret_key", Value::Null),
        "secret_key",
        "Missing Secret Key",
    );
    error_at(
        &with("database_secret_key", json!("")),
        "database_secret_key",
        "Missing Database Secret Key",
    );
}

#[test]
fn rejects_secret_key_shorter_than_32_characters() {
    let issue = error_at(
        &with("secret_key", json!("a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d")),
        "secret_key",
        "Weak Secret Key",
    );
    assert!(issue.detail.contains("31 characters"), "{}", issue.detail);
    assert!(
        validate(&with(
            "secret_key",
            json!("a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6")
        ))
        .is_ok()
    );
}

#[test]
fn rejects_secret_key_of_one_repeated_character() {
    error_at(
        &with("database_secret_key", json!("x".repeat(64))),
        "database_secret_key",
        "Weak Database Secret Key",
    );
}

#[test]
fn warns_when_secret_key_equals_database_secret_key() {
    let (_, warnings) = validate(&with("database_secret_key", json!(SECRET_KEY))).unwrap();
    issue_at(
        &warnings,
        "database_secret_key",
        Severity::Warning,
        "Reused Secret Key",
    );
}

#[test]
fn rejects_empty_and_duplicate_super_users() {
    let issues = errors(&with("super_users", json!(["admin", "", "admin"])));
    issue_at(
        &issues,
        "super_users[1]",
        Severity::Error,
        "Empty Super User Name",
    );
    let dup = issue_at(
        &issues,
        "super_users[2]",
        Severity::Error,
        "Duplicate Super User",
    );
    assert!(dup.detail.contains("super_users[0]"), "{}", dup.detail);
}

// ---- validation: clair, mirroring, builders ---------------------------------------------

#[test]
fn rejects_clair_endpoint_that_is_not_an_http_url() {
    for bad in [
        "clair.example.com",
        "ftp://clair.example.com",
        "https://bad_host/",
    ] {
        error_at(
            &with("clair", json!({"endpoint": bad, "psk": "c2VjcmV0"})),
            "clair.endpoint",
            "Invalid Clair Endpoint",
        );
    }
}

#[test]
fn rejects_clair_psk_missing_or_not_base64() {
    error_at(
        &with("clair", json!({"endpoint": "https://clair.example.com"})),
        "clair.psk",
        "Missing Clair PSK",
    );
    error_at(
        &with(
            "clair",
            json!({"endpoint": "https://clair.example.com", "psk": "not base64!"}),
        ),
        "clair.psk",
        "Invalid Clair PSK",
    );
}

#[test]
fn rejects_mirroring_interval_below_30_seconds_or_not_positive() {
    error_at(
        &with("mirroring", json!({"interval": 29})),
        "mirroring.interval",
        "Mirroring Interval Too Short",
    );
    error_at(
        &with("mirroring", json!({"interval": 0})),
        "mirroring.interval",
        "Invalid Mirroring Interval",
    );
    error_at(
        &with("mirroring", json!({"interval": -5})),
        "mirroring.interval",
        "Invalid Mirroring Interval",
    );
}

#[test]
fn rejects_builders_enabled_without_build_manager_hostname() {
    let issues = errors(&with("builders", json!({"enabled": true})));
    issue_at(
        &issues,
        "builders.build_manager_hostname",
        Severity::Error,
        "Missing Build Manager Hostname",
    );
    issue_at(
        &issues,
        "builders.executor_config",
        Severity::Error,
        "Missing Builder Executor Config",
    );
    let v = rendered_value(&with("builders", json!({"enabled": false})));
    assert_eq!(v["FEATURE_BUILD_SUPPORT"], false);
}

// ---- validation: extra_config -----------------------------------------------------------

#[test]
fn rejects_managed_keys_in_extra_config_naming_the_attribute_to_use() {
    let issues = errors(&with(
        "extra_config",
        json!({"DB_URI": "postgresql://x/y", "DISTRIBUTED_STORAGE_CONFIG": {}, "SERVER_HOSTNAME": "a",
               "SECURITY_SCANNER_V4_ENDPOINT": "x", "FEATURE_USER_CREATION": false}),
    ));
    for (key, attribute) in [
        ("DB_URI", "database.uri"),
        ("DISTRIBUTED_STORAGE_CONFIG", "storage blocks"),
        ("SERVER_HOSTNAME", "server_hostname"),
        ("SECURITY_SCANNER_V4_ENDPOINT", "clair block"),
    ] {
        let issue = issue_at(
            &issues,
            &format!("extra_config[{key:?}]"),
            Severity::Error,
            "Managed Key In Extra Config",
        );
        assert!(
            issue.detail.contains(key) && issue.detail.contains(attribute),
            "{}",
            issue.detail
        );
    }
    assert_eq!(issues.len(), 4, "{issues:#?}");
}

#[test]
fn warns_on_extra_config_key_that_is_not_upper_snake() {
    let (_, warnings) = validate(&with(
        "extra_config",
        json!({"feature_user_creation": false}),
    ))
    .unwrap();
    issue_at(
        &warnings,
        r#"extra_config["feature_user_creation"]"#,
        Severity::Warning,
        "Unusual Config Key",
    );
}

#[test]
fn managed_keys_table_documents_every_rendered_key() {
    let v = rendered_value(&with(
        "clair",
        json!({"endpoint": "https://c.example.com", "psk": "c2VjcmV0"}),
    ));
    let rendered: BTreeMap<String, Value> = serde_json::from_value(v).unwrap();
    for key in rendered.keys() {
        assert!(
            managed_by(key).is_some(),
            "{key} is rendered but not in managed_keys()"
        );
    }
}

// ---- validation: all at once ------------------------------------------------------------

#[test]
fn collects_every_problem_instead_of_stopping_at_the_first() {
    let issues = errors(&ConfigInput::default());
    let paths: Vec<String> = issues.iter().map(|i| i.path.to_string()).collect();
    for expected in [
        "server_hostname",
        "database",
        "redis",
        "storage",
        "secret_key",
        "database_secret_key",
    ] {
        assert!(
            paths.iter().any(|p| p == expected),
            "no issue at {expected}: {paths:?}"
        );
    }
    assert!(
        issues
            .iter()
            .all(|i| !i.summary.is_empty() && !i.detail.is_empty())
    );
}

#[test]
fn secrets_with_yaml_special_characters_and_long_keys_round_trip_on_one_line() {
    let tricky = "p@ss: #word'\"&*!{}[],|>%`~ yes";
    let long = "k".repeat(60) + &"0123456789".repeat(6);
    let mut value = three_sites_json();
    value["redis"]["password"] = json!(tricky);
    value["secret_key"] = json!(long);
    let out = rendered(&input(value));
    let v: Value = serde_saphyr::from_str(&out.config_yaml).unwrap();
    assert_eq!(v["BUILDLOGS_REDIS"]["password"], tricky);
    assert_eq!(v["SECRET_KEY"], long.as_str());
    assert!(
        out.config_yaml
            .lines()
            .any(|l| l.starts_with("SECRET_KEY: ") && l.contains(&long)),
        "{}",
        out.config_yaml
    );
}

#[test]
fn database_tls_renders_libpq_arguments_and_bundle_files() {
    let ca = rcgen::generate_simple_self_signed(vec!["ca.example.com".into()]).unwrap();
    let client = rcgen::generate_simple_self_signed(vec!["quay".into()]).unwrap();
    let mut value = three_sites_json();
    value["database"]["root_certificate"] = json!(ca.cert.pem());
    value["database"]["client_certificate"] = json!(client.cert.pem());
    value["database"]["client_key"] = json!(client.signing_key.serialize_pem());
    value["extra_ca_certs"] = json!({"corp-root": ca.cert.pem()});
    let (config, _) = validate(&input(value)).unwrap();
    let rendered = render(&config);
    let yaml: Value = serde_saphyr::from_str(&rendered.config_yaml).unwrap();
    assert_eq!(
        yaml["DB_CONNECTION_ARGS"],
        json!({
            "threadlocals": true, "autorollback": true, "sslmode": "verify-full",
            "sslrootcert": "/conf/stack/database.pem",
            "sslcert": "/conf/stack/database-client.crt",
            "sslkey": "/conf/stack/database-client.key",
        })
    );
    let keys: Vec<&str> = rendered.config_files.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "database-client.crt",
            "database-client.key",
            "database.pem",
            "extra_ca_cert_corp-root.crt"
        ]
    );
    let shown = format!("{rendered:?}");
    assert!(!shown.contains("PRIVATE KEY"), "{shown}");
}

#[test]
fn database_tls_problems_point_at_their_argument() {
    let issues = errors(&with("database.ssl_mode", json!("verify-ca")));
    issue_at(
        &issues,
        "database.ssl_mode",
        Severity::Error,
        "Missing Database Root Certificate",
    );
    let mut value = three_sites_json();
    value["database"]["ssl_mode"] = json!("require");
    value["database"]["connection_args"] = json!({"sslmode": "disable"});
    value["database"]["client_key"] =
        json!("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n");
    let issues = errors(&input(value));
    issue_at(
        &issues,
        "database.connection_args[\"sslmode\"]",
        Severity::Error,
        "Conflicting Connection Argument",
    );
    issue_at(
        &issues,
        "database.client_certificate",
        Severity::Error,
        "Incomplete Database Client Certificate",
    );
    let issues = errors(&with("extra_ca_certs", json!({"a.crt": "x"})));
    let at: Vec<&str> = issues.iter().map(|i| i.summary.as_str()).collect();
    assert_eq!(
        at,
        ["Invalid CA Certificate Name", "Invalid CA Certificate"]
    );
}
