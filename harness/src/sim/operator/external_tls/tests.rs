use std::collections::BTreeMap;

use serde_json::json;
use sha2::Digest as _;

use super::*;
use crate::sim::operator::case_fixtures::{documents, find};

fn bundle(certs: bool) -> Bundle {
    let mut data = BTreeMap::from([(
        "config.yaml".to_owned(),
        b"FEATURE_MAILING: false\n".to_vec(),
    )]);
    if certs {
        data.insert("ssl.cert".into(), b"c".to_vec());
        data.insert("ssl.key".into(), b"k".to_vec());
    }
    Bundle::parse("external-tls-config", data).unwrap()
}

fn tls_data(cert: &[u8], key: &[u8]) -> BTreeMap<String, Vec<u8>> {
    BTreeMap::from([
        ("tls.crt".to_owned(), cert.to_vec()),
        ("tls.key".to_owned(), key.to_vec()),
    ])
}

#[test]
fn external_tls_case_names_its_secret_in_the_tls_component() {
    let registry = &documents("external_tls", "00-create-quay-registry.yaml")[0];
    assert_eq!(
        secret_ref(&registry["spec"]).as_deref(),
        Some("external-tls-cert")
    );
    assert_eq!(
        secret_ref(&json!({"components": [{"kind": "tls", "managed": false}]})),
        None
    );
}

#[test]
fn the_secrets_pair_stands_in_for_the_bundles_certificate() {
    let data = tls_data(b"CERT", b"KEY");
    let pair = pair(
        &bundle(false),
        "external-tls-cert",
        Found::Secret("kubernetes.io/tls", &data),
    )
    .unwrap();
    let digest = hex::encode(Sha256::digest(b"CERTKEY"));
    assert_eq!(pair.hash, digest[56..]);
    let b = with_pair(bundle(false), &pair);
    assert!(b.has_certs());
    assert_eq!(b.data["ssl.cert"], b"CERT");
    let rotated = tls_data(b"CERT2", b"KEY");
    let rotated = super::pair(
        &bundle(false),
        "n",
        Found::Secret("kubernetes.io/tls", &rotated),
    );
    assert_ne!(
        rotated.unwrap().hash,
        pair.hash,
        "a rotated certificate changes the hash"
    );
}

#[test]
fn a_missing_wrong_or_doubled_certificate_blocks_the_rollout() {
    let data = tls_data(b"C", b"K");
    let blocked = pair(
        &bundle(true),
        "s",
        Found::Secret("kubernetes.io/tls", &data),
    )
    .unwrap_err();
    assert_eq!(blocked.reason, "ConfigInvalid");
    assert_eq!(
        blocked.message,
        "external TLS secret error: tls component secretRef and ssl.cert in configBundleSecret \
         are mutually exclusive"
    );
    let missing = pair(&bundle(false), "s", Found::Missing).unwrap_err();
    assert!(
        missing.message.contains(r#"secrets "s" not found"#),
        "{missing:?}"
    );
    let opaque = pair(&bundle(false), "s", Found::Secret("Opaque", &data)).unwrap_err();
    assert!(
        opaque
            .message
            .contains(r#"must be type "kubernetes.io/tls""#)
    );
    let no_key = BTreeMap::from([("tls.crt".to_owned(), b"C".to_vec())]);
    let no_key = pair(
        &bundle(false),
        "s",
        Found::Secret("kubernetes.io/tls", &no_key),
    );
    assert!(
        no_key
            .unwrap_err()
            .message
            .ends_with("missing or empty tls.key")
    );
}

#[test]
fn the_tls_condition_follows_the_secret() {
    let data = tls_data(b"C", b"K");
    assert_eq!(
        condition_message(
            &bundle(false),
            "s",
            Found::Secret("kubernetes.io/tls", &data)
        ),
        Ok("Using externally managed TLS certificate".to_owned())
    );
    assert_eq!(
        condition_message(&bundle(false), "s", Found::Missing),
        Err("External TLS secret not found".to_owned())
    );
}

#[test]
fn every_deployment_and_pod_template_carries_the_hash() {
    let c = crate::sim::operator::case_fixtures::components(
        "external_tls",
        "00-create-quay-registry.yaml",
    );
    let mut objects = crate::sim::operator::case_fixtures::render("external-tls", &c, "{}", true);
    annotate(&mut objects, "0123abcd");
    for name in [
        "external-tls-quay-app",
        "external-tls-clair-app",
        "external-tls-quay-mirror",
    ] {
        let d = find(&objects, "Deployment", name);
        assert_eq!(
            d["metadata"]["annotations"][HASH_ANNOTATION], "0123abcd",
            "{name}"
        );
        assert_eq!(
            d["spec"]["template"]["metadata"]["annotations"][HASH_ANNOTATION], "0123abcd",
            "{name}"
        );
    }
    let route = find(&objects, "Route", "external-tls-quay");
    assert_eq!(route["spec"]["tls"]["termination"], "passthrough");
    assert!(
        route["metadata"]["annotations"]
            .get(HASH_ANNOTATION)
            .is_none()
    );
}
