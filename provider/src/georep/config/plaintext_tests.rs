//! Credentials that would travel unencrypted are warnings, each at the attribute to change,
//! and the config still renders.

use serde_json::json;

use super::tests::{input, issue_at, three_sites_json};
use super::validate;
use crate::georep::issue::Severity;

#[test]
fn a_redis_password_without_tls_is_a_warning_at_redis_tls() {
    let mut plain = three_sites_json();
    plain["redis"]["tls"] = json!(false);
    let (_, warnings) = validate(&input(plain.clone())).unwrap();
    let issue = issue_at(
        &warnings,
        "redis.tls",
        Severity::Warning,
        "Plaintext Redis Password",
    );
    assert!(issue.detail.contains("tls = true"), "{issue:?}");
    assert!(!issue.detail.contains("REDISPASSWORD"), "{issue:?}");
    // Without a password there is no credential to protect.
    plain["redis"]["password"] = json!(null);
    let (_, warnings) = validate(&input(plain)).unwrap();
    assert!(warnings.is_empty(), "{warnings:#?}");
}

#[test]
fn a_plain_http_clair_endpoint_is_a_warning_at_the_endpoint() {
    let mut plain = three_sites_json();
    plain["clair"] = json!({"endpoint": "http://clair.global.example.com", "psk": "c2VjcmV0"});
    let (_, warnings) = validate(&input(plain.clone())).unwrap();
    let issue = issue_at(
        &warnings,
        "clair.endpoint",
        Severity::Warning,
        "Plaintext Clair Endpoint",
    );
    assert!(issue.detail.contains("https://"), "{issue:?}");
    plain["clair"]["endpoint"] = json!("https://clair.global.example.com");
    let (_, warnings) = validate(&input(plain)).unwrap();
    assert!(warnings.is_empty(), "{warnings:#?}");
}

#[test]
fn a_plain_http_storage_endpoint_is_a_warning_at_its_is_secure() {
    let mut plain = three_sites_json();
    plain["storage"]["eu_west"]["is_secure"] = json!(false);
    let (_, warnings) = validate(&input(plain)).unwrap();
    let issue = issue_at(
        &warnings,
        "storage[\"eu_west\"].is_secure",
        Severity::Warning,
        "Plaintext Storage Endpoint",
    );
    assert!(issue.detail.contains("eu_west"), "{issue:?}");
    assert!(!issue.detail.contains("sk2-STORAGESECRET"), "{issue:?}");
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
}
