use serde_json::json;

use super::*;
use crate::georep::config::{ConfigInput, render, validate};
use crate::georep::site::validate_site;
use crate::resources::convert::to_json;
use crate::resources::georep_site_model::{COMPUTED, SiteResults};
use crate::resources::model::Field;

const CLAIR_DB: &str = "postgresql://clair:CLAIRPASSWORD@pg.global.example.com:5432/clair";

/// A shared config with one storage location, `us_east`.
fn config_yaml() -> String {
    let input: ConfigInput = serde_json::from_value(json!({
        "server_hostname": "quay.global.example.com",
        "database": {"uri": "postgresql://quay:DBPASSWORD@pg.global.example.com:5432/quay"},
        "redis": {"host": "redis.global.example.com", "password": "REDISPASSWORD"},
        "storage": {"us_east": {
            "driver": "radosgw",
            "hostname": "minio.us-east.example.com",
            "port": 9000,
            "bucket": "quay-us-east",
            "access_key": "ak1-ACCESSKEY",
            "secret_key": "sk1-STORAGESECRET",
        }},
        "default_locations": ["us_east"],
        "secret_key": "sk-0f3c9a1e5b7d2c4a6e8f0b1d3c5a7e9f",
        "database_secret_key": "dsk-8e2b4d6f1a3c5e7b9d0f2a4c6e8b1d3f",
    }))
    .unwrap();
    render(&validate(&input).unwrap().0).config_yaml
}

/// `json` as a value of the resource's schema, as Terraform sends it.
fn value(json: &Json) -> Value {
    crate::tfvalue::json::decode(&schema().value_type(), &serde_json::to_vec(json).unwrap())
        .unwrap()
}

/// The arguments of `value`, without the computed results.
fn arguments(value: &Value) -> Json {
    let mut json = to_json(value);
    let fields = json.as_object_mut().unwrap();
    for name in COMPUTED {
        fields.remove(name);
    }
    json
}

#[test]
fn an_imported_site_has_the_arguments_of_the_configuration_that_created_it() {
    // The configuration the examples and the conformance scenario write: quay replicas and
    // clair.enabled at their defaults, said anyway; no tls block (an empty list to Terraform).
    let config = value(&json!({
        "cluster": "us_east",
        "namespace": "quay-enterprise",
        "config_yaml": config_yaml(),
        "location": "us_east",
        "quay": {"replicas": 2},
        "clair": [{"enabled": true, "database_uri": CLAIR_DB}],
        "tls": [],
    }));
    let mut diags = Diagnostics::default();
    let input = SiteModel::read(&config, &mut diags).input.unwrap();
    let (site, _) = validate_site(&input, None).unwrap();
    let objects = site.manifests();
    let bundle = objects.bundle_secret.clone().unwrap();
    let mut registry = objects.quay_registry.clone();
    registry["status"] = json!({"currentVersion": "v3.15.0"});
    let imported = Imported {
        value: arguments_value(import_site("us_east", &registry, &bundle).unwrap()).unwrap(),
        registry,
        write_only: Vec::new(),
    };

    let state = imported_state(&imported, &mut diags).unwrap();
    assert!(!diags.has_errors(), "{diags:?}");
    assert_eq!(
        arguments(&state),
        arguments(&config),
        "the first plan after the import would update the site"
    );
    let results = SiteResults::read(&state);
    assert_eq!(results.id, Field::Known(site.id()));
    assert_eq!(
        results.bundle_secret_name,
        Field::Known(site.bundle_secret_name())
    );
    assert_eq!(results.current_version, Field::Known("v3.15.0".to_owned()));
    assert_eq!(
        results.namespace_created,
        Field::Known(false),
        "destroying an imported site must leave its namespace"
    );
}

#[test]
fn a_site_written_from_write_only_twins_imports_without_their_secrets() {
    let names = vec!["quay.global.example.com".to_owned()];
    let pair = rcgen::generate_simple_self_signed(names).unwrap();
    let private_key = pair.signing_key.serialize_pem();
    let config = value(&json!({
        "cluster": "us_east",
        "namespace": "quay-enterprise",
        "config_yaml_wo": config_yaml(),
        "location": "us_east",
        "quay": {"replicas": 2},
        "clair": [{"database_uri_wo": CLAIR_DB}],
        "tls": [{"certificate": pair.cert.pem(), "private_key_wo": private_key}],
    }));
    let mut diags = Diagnostics::default();
    let site = crate::resources::georep_site_model::site(&config, None, Warnings::Skip, &mut diags)
        .expect("a valid site");
    let objects = site.manifests();
    let mut bundle = objects.bundle_secret.clone().unwrap();
    for twin in &TWINS {
        bundle["metadata"]["annotations"][twin.annotation] = json!(WRITE_ONLY_MARK);
    }
    let registry = objects.quay_registry.clone();
    let imported = Imported {
        value: arguments_value(import_site("us_east", &registry, &bundle).unwrap()).unwrap(),
        registry,
        write_only: marked_twins(&bundle),
    };

    let state = imported_state(&imported, &mut diags).unwrap();
    assert!(!diags.has_errors(), "{diags:?}");
    assert_eq!(state.get("config_yaml"), Some(&Value::Null));
    assert_eq!(state.get("config_yaml_wo"), Some(&Value::Null));
    for twin in &TWINS {
        assert_eq!(twin.stored_value(&state), None, "{}", twin.stored);
    }
    let shown = format!("{:?}", to_json(&state));
    let key_body = private_key.lines().nth(1).unwrap().to_owned();
    for secret in [
        "DBPASSWORD",
        "REDISPASSWORD",
        "STORAGESECRET",
        "sk-0f3c9a1e",
        "CLAIRPASSWORD",
        key_body.as_str(),
    ] {
        assert!(
            !shown.contains(secret),
            "{secret} reached the imported state"
        );
    }
    let results = SiteResults::read(&state);
    assert_eq!(results.config_hash, Field::Known(site.config_hash()));
    assert_eq!(
        results.bundle_secret_name,
        Field::Known(site.bundle_secret_name())
    );
}
