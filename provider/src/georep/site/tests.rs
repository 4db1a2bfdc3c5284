//! Behaviour tests of a site: one test per validation rule, goldens of the rendered objects
//! (`UPDATE_GOLDEN=1` rewrites `testdata/`), the CRD's structural and CEL rules, and drift.

use std::path::PathBuf;

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::georep::config::{ConfigInput, render, validate};
use crate::georep::issue::{Issue, Severity};
use crate::georep::secret::Secret;

const LOCATIONS: [&str; 3] = ["us_east", "eu_west", "ap_south"];
const CLAIR_DB: &str = "postgresql://clair:CLAIRPASSWORD@pg.global.example.com:5432/clair";

/// The shared config of `reference/quay-operator.md` §4.4, rendered by the config domain.
fn shared_yaml_with(extra: Value) -> String {
    let storage = |n: u8, name: &str| {
        json!({
            "driver": "radosgw",
            "hostname": format!("minio.{name}.example.com"),
            "port": 9000,
            "bucket": format!("quay-{name}"),
            "access_key": format!("ak{n}-ACCESSKEY"),
            "secret_key": format!("sk{n}-STORAGESECRET"),
        })
    };
    let mut input = json!({
        "server_hostname": "quay.global.example.com",
        "database": {"uri": "postgresql://quay:DBPASSWORD@pg.global.example.com:5432/quay"},
        "redis": {"host": "redis.global.example.com", "password": "REDISPASSWORD"},
        "storage": {
            "us_east": storage(1, "us-east"),
            "eu_west": storage(2, "eu-west"),
            "ap_south": storage(3, "ap-south"),
        },
        "default_locations": LOCATIONS,
        "secret_key": "sk-0f3c9a1e5b7d2c4a6e8f0b1d3c5a7e9f",
        "database_secret_key": "dsk-8e2b4d6f1a3c5e7b9d0f2a4c6e8b1d3f",
        "super_users": ["quayadmin"],
    });
    if let (Some(fields), Value::Object(extra)) = (input.as_object_mut(), extra) {
        fields.extend(extra);
    }
    let input: ConfigInput = serde_json::from_value(input).unwrap();
    render(&validate(&input).unwrap().0).config_yaml
}

fn shared_yaml() -> String {
    shared_yaml_with(json!({}))
}

/// A valid site at `location`, as JSON input (so tests can break one field at a time).
fn site_json(location: &str) -> Value {
    json!({
        "cluster": location,
        "namespace": "quay-enterprise",
        "config_yaml": shared_yaml(),
        "location": location,
        "clair": {"database_uri": CLAIR_DB},
    })
}

fn input(json: Value) -> SiteInput {
    serde_json::from_value(json).unwrap()
}

fn clusters() -> Vec<String> {
    LOCATIONS.iter().map(|l| (*l).to_owned()).collect()
}

fn site(json: Value) -> Site {
    let (site, warnings) = validate_site(&input(json), Some(&clusters()))
        .unwrap_or_else(|issues| panic!("{issues:#?}"));
    assert!(warnings.is_empty(), "{warnings:#?}");
    site
}

fn issues(json: Value) -> Vec<Issue> {
    match validate_site(&input(json), Some(&clusters())) {
        Ok((_, warnings)) => panic!("expected errors, got a site with {warnings:#?}"),
        Err(issues) => issues,
    }
}

/// `json` with `pointer` set to `value` (or removed when `value` is null), creating missing
/// parent objects.
fn with(mut json: Value, pointer: &str, value: Value) -> Value {
    let mut parts: Vec<&str> = pointer.split('/').skip(1).collect();
    let key = parts.pop().unwrap();
    let mut target = &mut json;
    for part in parts {
        if target[part].is_null() {
            target[part] = json!({});
        }
        target = &mut target[part];
    }
    let fields = target.as_object_mut().unwrap();
    if value.is_null() {
        fields.remove(key);
    } else {
        fields.insert(key.to_owned(), value);
    }
    json
}

/// Asserts one error at `path` with `summary` whose detail contains `detail`.
fn assert_error(issues: &[Issue], path: &str, summary: &str, detail: &str) {
    let found: Vec<&Issue> = issues
        .iter()
        .filter(|i| i.severity == Severity::Error && i.summary == summary)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one {summary:?} error, got {issues:#?}"
    );
    assert_eq!(found[0].path.to_string(), path, "{:#?}", found[0]);
    assert!(
        found[0].detail.contains(detail),
        "detail of {summary:?} lacks {detail:?}: {}",
        found[0].detail
    );
}

fn tls_pair(names: &[&str]) -> (String, String) {
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let key = rcgen::generate_simple_self_signed(names).unwrap();
    (key.cert.pem(), key.signing_key.serialize_pem())
}

fn with_tls(json: Value, cert: &str, key: &str) -> Value {
    with(
        json,
        "/tls",
        json!({"certificate": cert, "private_key": key}),
    )
}

// ---- validation ----------------------------------------------------------------------------

#[test]
fn valid_site_takes_the_documented_defaults() {
    let site = site(site_json("us_east"));
    assert_eq!(site.name().as_str(), DEFAULT_NAME);
    assert!(site.create_namespace());
    assert_eq!(site.quay_replicas().get(), DEFAULT_QUAY_REPLICAS);
    assert_eq!(
        site.mirror(),
        Workers::Enabled {
            replicas: Replicas(DEFAULT_MIRROR_REPLICAS)
        }
    );
    assert!(matches!(site.clair(), ClairSetup::Managed { replicas, .. } if replicas.get() == 1));
    assert!(site.is_route_managed());
    assert!(site.is_tls_managed());
    assert!(!site.monitoring());
    assert_eq!(site.secret_mode(), &SecretMode::Inline);
    assert_eq!(site.id(), "us_east/quay-enterprise/registry");
}

#[test]
fn rejects_unknown_cluster_and_names_the_known_ones() {
    let issues = issues(with(site_json("us_east"), "/cluster", json!("mars")));
    assert_error(
        &issues,
        "cluster",
        "Unknown Cluster",
        r#""us_east", "eu_west", "ap_south""#,
    );
}

#[test]
fn rejects_every_cluster_when_the_provider_has_none() {
    let issues = validate_site(&input(site_json("us_east")), Some(&[])).unwrap_err();
    assert_error(&issues, "cluster", "Unknown Cluster", "no cluster blocks");
}

#[test]
fn accepts_any_cluster_when_the_clusters_are_not_known() {
    let json = with(site_json("us_east"), "/cluster", json!("anywhere"));
    assert!(validate_site(&input(json), None).is_ok());
}

#[test]
fn rejects_namespace_and_name_that_are_not_dns_labels() {
    let json = with(site_json("us_east"), "/namespace", json!("Quay_Enterprise"));
    let issues = issues(with(json, "/name", json!("-registry")));
    assert_error(&issues, "namespace", "Invalid Namespace", "`Q`");
    assert_error(&issues, "name", "Invalid Registry Name", "start and end");
}

#[test]
fn rejects_config_yaml_that_is_not_yaml_without_quoting_it() {
    let issues = issues(with(
        site_json("us_east"),
        "/config_yaml",
        json!("DB_URI: postgresql://u:topsecret@h/q\n  - : [\n"),
    ));
    assert_error(&issues, "config_yaml", "Invalid Config YAML", "line");
    assert!(issues.iter().all(|i| !i.detail.contains("topsecret")));
}

#[test]
fn rejects_config_without_replication() {
    let yaml = shared_yaml().replace(
        "FEATURE_STORAGE_REPLICATION: true",
        "FEATURE_STORAGE_REPLICATION: false",
    );
    let issues = issues(with(site_json("us_east"), "/config_yaml", json!(yaml)));
    assert_error(
        &issues,
        "config_yaml",
        "Replication Not Enabled",
        "FEATURE_STORAGE_REPLICATION: true",
    );
}

#[test]
fn rejects_config_without_distributed_storage() {
    let issues = issues(with(
        site_json("us_east"),
        "/config_yaml",
        json!("SERVER_HOSTNAME: quay.example.com\nFEATURE_STORAGE_REPLICATION: true\n"),
    ));
    assert_error(
        &issues,
        "config_yaml",
        "Missing Storage Locations",
        "DISTRIBUTED_STORAGE_CONFIG",
    );
}

#[test]
fn rejects_location_not_in_config_and_lists_its_locations() {
    let issues = issues(with(site_json("us_east"), "/location", json!("mars")));
    assert_error(
        &issues,
        "location",
        "Unknown Storage Location",
        r#""ap_south", "eu_west", "us_east""#,
    );
}

#[test]
fn rejects_negative_and_absurd_replicas_but_accepts_zero() {
    let json = with(site_json("us_east"), "/quay/replicas", json!(-1));
    let issues = issues(with(json, "/mirror/replicas", json!(101)));
    assert_error(&issues, "quay.replicas", "Invalid Replicas", "-1");
    assert_error(&issues, "mirror.replicas", "Too Many Replicas", "100");
    let json = with(site_json("us_east"), "/quay/replicas", json!(0));
    assert_eq!(
        site(with(json, "/clair/replicas", json!(0)))
            .quay_replicas()
            .get(),
        0
    );
}

#[test]
fn rejects_managed_clair_when_the_config_names_a_global_clair() {
    let yaml = shared_yaml_with(json!({
        "clair": {"endpoint": "https://clair.global.example.com", "psk": "c2VjcmV0LXBzaw=="}
    }));
    let json = with(site_json("us_east"), "/config_yaml", json!(yaml));
    let issues = issues(with(json, "/clair/enabled", json!(true)));
    assert_error(
        &issues,
        "clair.enabled",
        "Clair Configured Twice",
        "clair { enabled = false }",
    );
}

#[test]
fn clair_defaults_to_disabled_when_the_config_names_a_global_clair() {
    let yaml = shared_yaml_with(json!({
        "clair": {"endpoint": "https://clair.global.example.com", "psk": "c2VjcmV0LXBzaw=="}
    }));
    let json = with(site_json("us_east"), "/config_yaml", json!(yaml));
    let site = site(with(json, "/clair", Value::Null));
    assert_eq!(site.clair(), &ClairSetup::Disabled);
    assert!(!site.bundle_content().contains_key("clair-config.yaml"));
}

#[test]
fn rejects_managed_clair_without_its_shared_database() {
    let issues = issues(with(site_json("us_east"), "/clair", Value::Null));
    assert_error(&issues, "clair", "Missing Clair Database", "database_uri");
}

#[test]
fn rejects_clair_database_that_is_not_postgres() {
    let issues = issues(with(
        site_json("us_east"),
        "/clair/database_uri",
        json!("mysql://clair:pw@db/clair"),
    ));
    assert_error(
        &issues,
        "clair.database_uri",
        "Invalid Clair Database URI",
        "mysql",
    );
    assert!(issues.iter().all(|i| !i.detail.contains(":pw@")));
}

#[test]
fn warns_about_replicas_of_a_disabled_mirror() {
    let json = with(
        site_json("us_east"),
        "/mirror",
        json!({"enabled": false, "replicas": 3}),
    );
    let (site, warnings) = validate_site(&input(json), None).unwrap();
    assert_eq!(site.mirror(), Workers::Disabled);
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].path.to_string(), "mirror.replicas");
}

#[test]
fn rejects_a_tls_block_with_only_a_certificate() {
    let (cert, _) = tls_pair(&["quay.global.example.com"]);
    let issues = issues(with(
        site_json("us_east"),
        "/tls",
        json!({"certificate": cert}),
    ));
    assert_error(
        &issues,
        "tls.private_key",
        "Missing TLS Private Key",
        "PEM private key",
    );
}

#[test]
fn rejects_a_certificate_that_does_not_cover_the_server_hostname() {
    let (cert, key) = tls_pair(&["other.example.com"]);
    let issues = issues(with_tls(site_json("us_east"), &cert, &key));
    assert_error(
        &issues,
        "tls.certificate",
        "TLS Certificate Does Not Cover Server Hostname",
        r#""other.example.com""#,
    );
}

#[test]
fn accepts_a_wildcard_certificate_for_the_parent_domain() {
    let (cert, key) = tls_pair(&["*.global.example.com"]);
    let site = site(with_tls(site_json("us_east"), &cert, &key));
    assert!(!site.is_tls_managed());
    let content = site.bundle_content();
    assert_eq!(content["ssl.cert"].expose(), cert);
    assert_eq!(content["ssl.key"].expose(), key);
}

#[test]
fn rejects_the_key_of_another_certificate() {
    let (cert, _) = tls_pair(&["quay.global.example.com"]);
    let (_, other_key) = tls_pair(&["quay.global.example.com"]);
    let issues = issues(with_tls(site_json("us_east"), &cert, &other_key));
    assert_error(
        &issues,
        "tls.private_key",
        "Invalid TLS Private Key",
        "does not belong",
    );
}

#[test]
fn rejects_a_certificate_that_is_not_pem() {
    let issues = issues(with_tls(
        site_json("us_east"),
        "hello",
        "-----BEGIN PRIVATE KEY-----",
    ));
    assert_error(&issues, "tls.certificate", "Invalid TLS Certificate", "PEM");
}

#[test]
fn rejects_an_unmanaged_route_without_tls() {
    let issues = issues(with(site_json("us_east"), "/route/managed", json!(false)));
    assert_error(
        &issues,
        "route.managed",
        "Unmanaged Route Needs TLS",
        "tls block",
    );
}

#[test]
fn rejects_env_that_sets_the_storage_preference_or_has_no_name() {
    let issues = issues(with(
        site_json("us_east"),
        "/env",
        json!({PREFERENCE_ENV: "eu_west", "": "x", "OK_NAME": "1"}),
    ));
    assert_error(
        &issues,
        r#"env["QUAY_DISTRIBUTED_STORAGE_PREFERENCE"]"#,
        "Managed Environment Variable",
        "location",
    );
    assert_error(
        &issues,
        r#"env[""]"#,
        "Invalid Environment Variable Name",
        "\"\"",
    );
}

#[test]
fn rejects_external_mode_without_a_secret_name_and_a_name_without_external_mode() {
    let issues1 = issues(with(
        site_json("us_east"),
        "/secret_mode",
        json!("external"),
    ));
    assert_error(
        &issues1,
        "secret_mode",
        "Missing External Secret Name",
        "external_secret_name",
    );
    let issues2 = issues(with(
        site_json("us_east"),
        "/external_secret_name",
        json!("mine"),
    ));
    assert_error(
        &issues2,
        "external_secret_name",
        "External Secret Name Without External Mode",
        "external",
    );
    let issues3 = issues(with(site_json("us_east"), "/secret_mode", json!("sealed")));
    assert_error(&issues3, "secret_mode", "Invalid Secret Mode", "\"sealed\"");
}

#[test]
fn reports_every_problem_at_once() {
    let json = with(site_json("us_east"), "/cluster", json!("mars"));
    let json = with(json, "/location", json!("venus"));
    let json = with(json, "/quay/replicas", json!(-2));
    let issues = issues(with(json, "/namespace", json!("BAD")));
    let paths: Vec<String> = issues.iter().map(|i| i.path.to_string()).collect();
    assert_eq!(paths, ["cluster", "namespace", "location", "quay.replicas"]);
}

// ---- rendering -----------------------------------------------------------------------------

fn three_sites() -> Vec<Site> {
    LOCATIONS.iter().map(|l| site(site_json(l))).collect()
}

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/georep/site/testdata")
        .join(name)
}

/// Compares `got` with the golden file, or rewrites it with `UPDATE_GOLDEN=1`.
fn assert_golden(name: &str, got: &str) {
    let path = testdata(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, got).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("{}: {err}; run with UPDATE_GOLDEN=1", path.display()));
    assert!(
        expected == got,
        "{name} differs from the golden file (-expected +got); rerun with UPDATE_GOLDEN=1 if \
         the change is intended:\n{}",
        line_diff(&expected, got)
    );
}

/// A minimal line diff (longest common subsequence), `-` expected, `+` got.
fn line_diff(expected: &str, got: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), got.lines().collect());
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push(format!("  {}", a[i]));
            (i, j) = (i + 1, j + 1);
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push(format!("+ {}", b[j]));
            j += 1;
        } else {
            out.push(format!("- {}", a[i]));
            i += 1;
        }
    }
    out.join("\n")
}

#[test]
fn three_sites_render_as_the_golden_manifests() {
    for site in three_sites() {
        assert_golden(
            &format!("{}.yaml", site.location()),
            &site.manifests().to_yaml(),
        );
    }
    let json = with(site_json("us_east"), "/secret_mode", json!("external"));
    let json = with(json, "/external_secret_name", json!("quay-bundle"));
    let json = with(json, "/create_namespace", json!(false));
    assert_golden("us_east.external.yaml", &site(json).manifests().to_yaml());
}

#[test]
fn a_namespace_counts_as_created_by_the_site_only_with_its_labels() {
    let us_east = site(site_json("us_east"));
    let rendered = us_east.namespace_object();
    assert!(us_east.created_namespace(&rendered));
    let other_site = site(with(site_json("us_east"), "/name", json!("other")));
    assert!(!other_site.created_namespace(&rendered), "another site's");
    let plain = json!({"metadata": {"name": "quay-enterprise"}});
    assert!(!us_east.created_namespace(&plain), "made by someone else");
    let mut relabelled = rendered;
    relabelled["metadata"]["labels"]["app.kubernetes.io/managed-by"] = json!("helm");
    assert!(!us_east.created_namespace(&relabelled), "managed by a tool");
}

#[test]
fn bundle_secret_is_identical_on_every_site() {
    let secrets: Vec<Value> = three_sites()
        .iter()
        .map(|s| s.manifests().bundle_secret.unwrap())
        .collect();
    assert_eq!(secrets[0], secrets[1]);
    assert_eq!(secrets[1], secrets[2]);
    let name = secrets[0]["metadata"]["name"].as_str().unwrap();
    assert!(name.starts_with("registry-config-bundle-"), "{name}");
    assert_eq!(name.len(), "registry-config-bundle-".len() + 10);
}

#[test]
fn bundle_secret_name_changes_with_its_content_only() {
    let before = site(site_json("us_east"));
    assert_eq!(
        before.bundle_secret_name(),
        site(site_json("us_east")).bundle_secret_name()
    );
    let other_db = with(
        site_json("us_east"),
        "/clair/database_uri",
        json!("postgresql://clair:NEW@pg.global.example.com/clair"),
    );
    assert_ne!(
        before.bundle_secret_name(),
        site(other_db).bundle_secret_name()
    );
    let more_replicas = with(site_json("us_east"), "/quay/replicas", json!(5));
    assert_eq!(
        before.bundle_secret_name(),
        site(more_replicas).bundle_secret_name()
    );
}

#[test]
fn bundle_secret_data_decodes_to_the_config_and_clair_config() {
    use base64::Engine as _;
    let site = site(site_json("eu_west"));
    let secret = site.manifests().bundle_secret.unwrap();
    let decode = |key: &str| {
        let text = secret["data"][key].as_str().unwrap();
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(decode("config.yaml"), shared_yaml());
    let clair: Value = serde_saphyr::from_str(&decode("clair-config.yaml")).unwrap();
    for section in ["indexer", "matcher", "notifier"] {
        assert_eq!(clair[section]["connstring"], json!(CLAIR_DB));
        assert_eq!(clair[section]["migrations"], json!(true));
    }
    assert_eq!(secret["type"], json!("Opaque"));
    assert_eq!(
        secret["metadata"]["labels"][MANAGED_BY_LABEL],
        json!(MANAGED_BY)
    );
}

fn component<'a>(registry: &'a Value, kind: &str) -> &'a Value {
    registry["spec"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == json!(kind))
        .unwrap_or_else(|| panic!("no {kind} component"))
}

fn env_value<'a>(component: &'a Value, name: &str) -> Option<&'a str> {
    component["overrides"]["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == json!(name))?["value"]
        .as_str()
}

#[test]
fn each_site_prefers_its_own_location_on_quay_and_mirror() {
    for site in three_sites() {
        let registry = site.manifests().quay_registry;
        for kind in ["quay", "mirror"] {
            let preference = env_value(component(&registry, kind), PREFERENCE_ENV).unwrap();
            let words: Vec<&str> = preference.split(' ').collect();
            assert_eq!(words[0], site.location(), "{kind}: {preference}");
            assert_eq!(words.len(), 3, "{kind}: {preference}");
        }
    }
}

#[test]
fn user_env_follows_the_preference_on_quay_only() {
    let json = with(
        site_json("us_east"),
        "/env",
        json!({"ZZ": "1", "DEBUGLOG": "true"}),
    );
    let registry = site(json).manifests().quay_registry;
    let names: Vec<&str> = component(&registry, "quay")["overrides"]["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [PREFERENCE_ENV, "DEBUGLOG", "ZZ"]);
    assert_eq!(env_value(component(&registry, "mirror"), "DEBUGLOG"), None);
}

#[test]
fn external_mode_leaves_the_secret_out_and_references_the_given_name() {
    let json = with(site_json("us_east"), "/secret_mode", json!("external"));
    let site = site(with(
        json,
        "/external_secret_name",
        json!("sealed-quay-bundle"),
    ));
    let objects = site.manifests();
    assert!(objects.bundle_secret.is_none());
    assert_eq!(
        objects.quay_registry["spec"]["configBundleSecret"],
        json!("sealed-quay-bundle")
    );
    assert_eq!(site.bundle_secret_name(), "sealed-quay-bundle");
    assert_eq!(objects.to_yaml_documents().len(), 2);
}

#[test]
fn disabled_components_and_tls_render_unmanaged_without_overrides() {
    let (cert, key) = tls_pair(&["quay.global.example.com"]);
    let json = with_tls(site_json("us_east"), &cert, &key);
    let json = with(json, "/route/managed", json!(false));
    let json = with(json, "/mirror/enabled", json!(false));
    let json = with(json, "/clair", json!({"enabled": false}));
    let site = site(json);
    let registry = site.manifests().quay_registry;
    for kind in ["mirror", "clair", "route", "tls"] {
        assert_eq!(
            component(&registry, kind),
            &json!({"kind": kind, "managed": false})
        );
    }
    assert!(!site.bundle_content().contains_key("clair-config.yaml"));
    assert!(site.bundle_content().contains_key("ssl.cert"));
}

#[test]
fn yaml_documents_parse_back_to_the_objects() {
    let objects = site(site_json("ap_south")).manifests();
    let docs = objects.to_yaml_documents();
    let parsed: Vec<Value> = docs
        .iter()
        .map(|d| serde_saphyr::from_str(d).unwrap())
        .collect();
    let expected: Vec<Value> = objects.iter().cloned().collect();
    assert_eq!(parsed, expected);
    assert_eq!(objects.to_yaml().matches("---\n").count(), 3);
}

#[test]
fn config_hash_is_the_sha256_of_the_config_yaml() {
    use sha2::{Digest, Sha256};
    let site = site(site_json("us_east"));
    let expected = format!(
        "sha256:{}",
        hex::encode(Sha256::digest(shared_yaml().as_bytes()))
    );
    assert_eq!(site.config_hash(), expected);
}

// ---- the CRD -------------------------------------------------------------------------------

fn crd_component_schema() -> Value {
    // The repository's copy of the upstream CRD (harness/src/sim/crds/README.md says where it
    // comes from), so the test needs nothing outside the checkout.
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../harness/src/sim/crds/quayregistries.crd.yaml");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let crd: Value = serde_saphyr::from_str(&text).unwrap();
    let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    assert_eq!(crd["spec"]["group"], json!("quay.redhat.com"));
    let mut spec_keys: Vec<&String> = spec["properties"].as_object().unwrap().keys().collect();
    spec_keys.sort();
    assert_eq!(spec_keys, ["components", "configBundleSecret"]);
    spec["properties"]["components"]["items"].clone()
}

/// Checks one rendered `QuayRegistry` against the CRD's component schema and, by hand, the
/// CEL rules and the operator's override rules (`reference/quay-operator.md` §1.2–§1.4).
fn assert_satisfies_crd(registry: &Value, schema: &Value) {
    let kinds: Vec<&str> = schema["properties"]["kind"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    let override_fields = schema["properties"]["overrides"]["properties"]
        .as_object()
        .unwrap();
    let rules: Vec<&str> = schema["x-kubernetes-validations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert!(
        rules.contains(&"self.managed || !has(self.overrides)"),
        "{rules:?}"
    );

    assert_eq!(registry["apiVersion"], json!(QUAY_REGISTRY_API_VERSION));
    assert_eq!(registry["kind"], json!("QuayRegistry"));
    let components = registry["spec"]["components"].as_array().unwrap();
    let mut seen: Vec<&str> = components
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    seen.sort_unstable();
    let mut all = kinds.clone();
    all.sort_unstable();
    assert_eq!(seen, all, "every CRD kind exactly once");
    for component in components {
        let kind = component["kind"].as_str().unwrap();
        let fields = component.as_object().unwrap();
        for required in schema["required"].as_array().unwrap() {
            assert!(
                fields.contains_key(required.as_str().unwrap()),
                "{component}"
            );
        }
        let managed = component["managed"].as_bool().unwrap();
        assert!(
            fields
                .keys()
                .all(|k| ["kind", "managed", "overrides"].contains(&k.as_str()))
        );
        let Some(overrides) = component.get("overrides") else {
            continue;
        };
        // CEL: self.managed || !has(self.overrides)
        assert!(managed, "overrides on unmanaged {kind}");
        for (field, value) in overrides.as_object().unwrap() {
            assert!(
                override_fields.contains_key(field),
                "{kind}: unknown override {field}"
            );
            match field.as_str() {
                "replicas" => {
                    assert!(
                        ["quay", "clair", "mirror"].contains(&kind),
                        "replicas on {kind}"
                    );
                    assert!(value.as_u64().is_some(), "{kind}: replicas {value}");
                }
                "env" => {
                    assert!(["quay", "clair", "mirror"].contains(&kind), "env on {kind}");
                    for entry in value.as_array().unwrap() {
                        assert!(entry["name"].is_string() && entry["value"].is_string());
                    }
                }
                other => panic!("{kind}: unexpected override {other}"),
            }
        }
        if ["quay", "clair", "mirror"].contains(&kind) {
            assert!(
                overrides.get("replicas").is_some(),
                "{kind} needs explicit replicas"
            );
        }
    }
    for kind in [
        "postgres",
        "redis",
        "objectstorage",
        "clairpostgres",
        "horizontalpodautoscaler",
    ] {
        let found = components
            .iter()
            .find(|c| c["kind"] == json!(kind))
            .unwrap();
        assert_eq!(
            found["managed"],
            json!(false),
            "{kind} must be unmanaged for geo-rep"
        );
    }
}

#[test]
fn every_rendered_quay_registry_satisfies_the_crd() {
    let schema = crd_component_schema();
    let (cert, key) = tls_pair(&["quay.global.example.com"]);
    let mut variants: Vec<Site> = three_sites();
    variants.push(site(with(
        with(site_json("us_east"), "/mirror/enabled", json!(false)),
        "/clair",
        json!({"enabled": false}),
    )));
    variants.push(site(with(
        with_tls(site_json("eu_west"), &cert, &key),
        "/route/managed",
        json!(false),
    )));
    variants.push(site(with(
        with(site_json("ap_south"), "/quay/replicas", json!(0)),
        "/env",
        json!({"DEBUGLOG": "true"}),
    )));
    for site in &variants {
        assert_satisfies_crd(&site.manifests().quay_registry, &schema);
    }
    let kinds: Vec<&str> = schema["properties"]["kind"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    let mut ours = COMPONENT_KINDS.to_vec();
    ours.sort_unstable();
    let mut theirs = kinds.clone();
    theirs.sort_unstable();
    assert_eq!(ours, theirs);
}

// ---- drift ---------------------------------------------------------------------------------

#[test]
fn a_live_spec_equal_to_the_rendering_has_no_drift() {
    let site = site(site_json("us_east"));
    let spec = site.manifests().quay_registry["spec"].clone();
    assert_eq!(site.expected_spec_matches(&spec), []);
}

#[test]
fn edited_replicas_env_bundle_and_components_show_as_drift() {
    let site = site(site_json("us_east"));
    let mut spec = site.manifests().quay_registry["spec"].clone();
    spec["configBundleSecret"] = json!("someone-elses");
    let components = spec["components"].as_array_mut().unwrap();
    components[0]["overrides"]["replicas"] = json!(7);
    components[0]["overrides"]["env"] = json!([]);
    components[1]["managed"] = json!(false);
    components.retain(|c| c["kind"] != json!("monitoring"));
    let drifts: Vec<String> = site
        .expected_spec_matches(&spec)
        .iter()
        .map(|d| d.path.clone())
        .collect();
    assert_eq!(
        drifts,
        [
            "spec.configBundleSecret",
            "spec.components[kind=quay].overrides.replicas",
            "spec.components[kind=quay].overrides.env[QUAY_DISTRIBUTED_STORAGE_PREFERENCE]",
            "spec.components[kind=mirror].managed",
            "spec.components[kind=monitoring]",
        ]
    );
    let shown = site.expected_spec_matches(&spec)[1].to_string();
    assert_eq!(
        shown,
        "spec.components[kind=quay].overrides.replicas: expected 2, found 7"
    );
}

#[test]
fn env_order_is_not_drift() {
    let json = with(site_json("us_east"), "/env", json!({"A": "1", "B": "2"}));
    let site = site(json);
    let mut spec = site.manifests().quay_registry["spec"].clone();
    spec["components"][0]["overrides"]["env"]
        .as_array_mut()
        .unwrap()
        .reverse();
    assert_eq!(site.expected_spec_matches(&spec), []);
}

#[test]
fn quantities_the_operator_writes_back_in_canonical_form_are_not_drift() {
    let json = with(
        site_json("us_east"),
        "/quay",
        json!({"requests": {"cpu": "0.5", "memory": "1.5Gi"}, "limits": {"memory": "2048Mi"}}),
    );
    let site = site(json);
    let mut spec = site.manifests().quay_registry["spec"].clone();
    // What the operator's write-back makes of them (resource.Quantity's canonical form).
    spec["components"][0]["overrides"]["resources"] = json!({
        "requests": {"cpu": "500m", "memory": "1536Mi"},
        "limits": {"memory": "2Gi"},
    });
    assert_eq!(site.expected_spec_matches(&spec), []);
    spec["components"][0]["overrides"]["resources"]["requests"]["cpu"] = json!("600m");
    let drifts: Vec<String> = site
        .expected_spec_matches(&spec)
        .iter()
        .map(|d| d.path.clone())
        .collect();
    assert_eq!(drifts, ["spec.components[kind=quay].overrides.resources"]);
    spec["components"][0]["overrides"]["resources"]["requests"]["cpu"] = json!("500m");
    spec["components"][0]["overrides"]["resources"]["limits"]["cpu"] = json!("1");
    assert_eq!(
        site.expected_spec_matches(&spec).len(),
        1,
        "a limit added is drift"
    );
}

#[test]
fn secret_values_never_show_in_debug_output() {
    let site = site(site_json("us_east"));
    let shown = format!("{site:?} {:?}", site.manifests());
    for secret in ["DBPASSWORD", "CLAIRPASSWORD", "STORAGESECRET"] {
        assert!(!shown.contains(secret), "{secret} leaked");
    }
    let _ = Secret::new("unused");
}

// ---- import ----------------------------------------------------------------------------------

/// One certificate for every import case: generating a key pair per case would dominate the
/// test's time without covering anything more.
fn import_tls() -> &'static (String, String) {
    static PAIR: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    PAIR.get_or_init(|| tls_pair(&["quay.global.example.com"]))
}

/// A site input in the form import gives back: the `quay` replicas and `clair.enabled` always
/// said, the other defaults left unset, every other block only where it differs from its
/// default.
fn canonical_input() -> impl Strategy<Value = SiteInput> {
    let not = |default: i64| (0_i64..=100).prop_filter("not the default", move |r| *r != default);
    (
        prop::sample::select(LOCATIONS.to_vec()),
        prop::option::of(
            "[a-z][a-z0-9]{0,6}".prop_filter("not the default", |n| n != DEFAULT_NAME),
        ),
        0_i64..=100,
        prop_oneof![
            Just(None),
            Just(Some(MirrorInput {
                enabled: Some(false),
                ..MirrorInput::default()
            })),
            not(i64::from(DEFAULT_MIRROR_REPLICAS)).prop_map(|r| Some(MirrorInput {
                replicas: Some(r),
                ..MirrorInput::default()
            })),
            prop::collection::btree_map("[a-z]{1,6}", "[a-z0-9]{0,6}", 1..3).prop_map(|labels| {
                Some(MirrorInput {
                    labels: Some(labels),
                    ..MirrorInput::default()
                })
            }),
        ],
        prop::option::of(prop::option::of(not(i64::from(DEFAULT_CLAIR_REPLICAS)))),
        (0_u8..3, any::<bool>()),
        prop::collection::btree_map("[A-Z][A-Z0-9_]{0,8}", "[a-z0-9 ]{0,8}", 0..3),
        (
            prop::option::of("[1-9][0-9]{0,2}m"),
            any::<bool>(),
            prop::option::of("[1-9][0-9]?Gi"),
        ),
    )
        .prop_map(
            |(location, name, quay, mirror, clair, (tls, monitoring), env, pods)| {
                let (cpu, anti_affinity, clair_volume) = pods;
                let (certificate, private_key) = import_tls();
                let tls_input = TlsInput {
                    certificate: Some(certificate.clone()),
                    private_key: Some(Secret::new(private_key.clone())),
                };
                SiteInput {
                    cluster: Some(location.to_owned()),
                    namespace: Some("quay-enterprise".to_owned()),
                    name,
                    config_yaml: Some(Secret::new(shared_yaml())),
                    location: Some(location.to_owned()),
                    quay: Some(QuayInput {
                        replicas: Some(quay),
                        requests: cpu
                            .map(|cpu| std::collections::BTreeMap::from([("cpu".to_owned(), cpu)])),
                        affinity: anti_affinity.then(|| ANTI_AFFINITY.to_owned()),
                        ..QuayInput::default()
                    }),
                    mirror,
                    clair: Some(match clair {
                        Some(replicas) => ClairInput {
                            database_uri: Some(Secret::new(CLAIR_DB)),
                            replicas,
                            enabled: Some(true),
                            volume_size: clair_volume,
                            ..ClairInput::default()
                        },
                        None => ClairInput {
                            enabled: Some(false),
                            ..ClairInput::default()
                        },
                    }),
                    // 0: no certificate; 1: a certificate on the operator's Route, which gets a
                    // label; 2: a certificate and no Route (the user's own ingress serves it).
                    route: match tls {
                        2 => Some(RouteInput {
                            managed: Some(false),
                            ..RouteInput::default()
                        }),
                        1 => Some(RouteInput {
                            labels: Some(std::collections::BTreeMap::from([(
                                "router".to_owned(),
                                "internet".to_owned(),
                            )])),
                            ..RouteInput::default()
                        }),
                        _ => None,
                    },
                    tls: (tls > 0).then_some(tls_input),
                    monitoring: monitoring.then_some(true),
                    env: (!env.is_empty()).then_some(env.into()),
                    ..SiteInput::default()
                }
            },
        )
}

/// A pod anti-affinity as `jsonencode` writes it (keys sorted, no spaces).
const ANTI_AFFINITY: &str = r#"{"podAntiAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[{"podAffinityTerm":{"topologyKey":"kubernetes.io/hostname"},"weight":100}]}}"#;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn importing_a_rendered_site_gives_back_its_input(input in canonical_input()) {
        let (site, _warnings) = validate_site(&input, Some(&clusters()))
            .unwrap_or_else(|issues| panic!("{issues:#?}"));
        let objects = site.manifests();
        let bundle = objects.bundle_secret.clone().expect("inline mode renders the Secret");
        let imported = import_site(
            input.cluster.as_deref().unwrap_or_default(),
            &objects.quay_registry,
            &bundle,
        );
        prop_assert_eq!(imported, Ok(input));
    }
}

#[test]
fn an_import_says_the_quay_replicas_and_whether_clair_runs_even_at_their_defaults() {
    // The form the examples and the conformance configuration write: the state of an import
    // must hold these, or the first plan after it updates the site.
    let objects = site(site_json("us_east")).manifests();
    let bundle = objects
        .bundle_secret
        .clone()
        .expect("inline mode renders the Secret");
    let imported = import_site("us_east", &objects.quay_registry, &bundle).unwrap();
    assert_eq!(
        imported.quay,
        Some(QuayInput {
            replicas: Some(i64::from(DEFAULT_QUAY_REPLICAS)),
            ..QuayInput::default()
        })
    );
    let clair = imported.clair.expect("clair is always said");
    assert_eq!(clair.enabled, Some(true));
    assert_eq!(clair.replicas, None, "Clair's default replicas stay unset");
    assert_eq!(imported.mirror, None);
    assert_eq!(imported.tls, None);
}

#[test]
fn a_bundle_without_config_yaml_cannot_be_imported() {
    let objects = site(site_json("us_east")).manifests();
    let err = import_site("us_east", &objects.quay_registry, &json!({"data": {}})).unwrap_err();
    assert!(err.to_string().contains("no readable config.yaml"), "{err}");
}

// ---- settings the operator overrides, host checks ---------------------------------

/// The warnings of a valid site.
fn warnings(json: Value) -> Vec<Issue> {
    validate_site(&input(json), Some(&clusters()))
        .unwrap_or_else(|issues| panic!("{issues:#?}"))
        .1
}

fn with_config(json: Value, extra: Value) -> Value {
    with(json, "/config_yaml", json!(shared_yaml_with(extra)))
}

#[test]
fn warns_that_a_managed_mirror_replaces_the_mirror_interval_and_says_how_to_keep_it() {
    let json = with_config(
        site_json("us_east"),
        json!({"mirroring": {"enabled": true, "interval": 60}}),
    );
    let found = warnings(json.clone());
    assert_eq!(found.len(), 1, "{found:#?}");
    let w = &found[0];
    assert_eq!(w.severity, Severity::Warning);
    assert_eq!(w.path.to_string(), "config_yaml");
    assert_eq!(w.summary, "Setting Overridden by the Operator");
    for part in [
        "REPO_MIRROR_INTERVAL to 60",
        "mirroring.interval",
        "REPO_MIRROR_INTERVAL: 30",
        "mirror { enabled = false }",
    ] {
        assert!(w.detail.contains(part), "{part:?} missing: {}", w.detail);
    }
    let unmanaged = with(json, "/mirror", json!({"enabled": false}));
    assert_eq!(warnings(unmanaged), []);
}

#[test]
fn warns_that_a_managed_route_forces_https() {
    let json = with_config(
        site_json("us_east"),
        json!({"preferred_url_scheme": "http"}),
    );
    let found = warnings(json);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].detail.contains("PREFERRED_URL_SCHEME: \"https\"")
            && found[0].detail.contains("route { managed = false }"),
        "{}",
        found[0].detail
    );
    let (cert, key) = tls_pair(&["quay.global.example.com"]);
    let unmanaged = with(
        with_tls(
            with_config(
                site_json("us_east"),
                json!({"preferred_url_scheme": "http"}),
            ),
            &cert,
            &key,
        ),
        "/route",
        json!({"managed": false}),
    );
    assert_eq!(warnings(unmanaged), []);
}

#[test]
fn rejects_a_server_hostname_with_a_port_when_the_route_is_managed() {
    let json = with_config(
        site_json("us_east"),
        json!({"server_hostname": "quay.global.example.com:8443"}),
    );
    assert_error(
        &issues(json.clone()),
        "config_yaml",
        "Server Hostname With Port Cannot Be a Route Host",
        "route { managed = false }",
    );
    let (cert, key) = tls_pair(&["quay.global.example.com"]);
    let own_balancer = with(
        with_tls(json, &cert, &key),
        "/route",
        json!({"managed": false}),
    );
    let _ = site(own_balancer);
}

#[test]
fn rejects_a_certificate_that_does_not_cover_the_build_manager_hostname() {
    let builders = json!({"builders": {
        "build_manager_hostname": "builder.global.example.com:443",
        "executor_config": {"EXECUTOR": "kubernetesPodman", "BUILDER_NAMESPACE": "builder"},
    }});
    let (cert, key) = tls_pair(&["quay.global.example.com"]);
    let json = with_tls(
        with_config(site_json("us_east"), builders.clone()),
        &cert,
        &key,
    );
    assert_error(
        &issues(json),
        "tls.certificate",
        "TLS Certificate Does Not Cover Build Manager Hostname",
        "builder.global.example.com",
    );
    let (cert, key) = tls_pair(&["quay.global.example.com", "builder.global.example.com"]);
    let _ = site(with_tls(
        with_config(site_json("us_east"), builders),
        &cert,
        &key,
    ));
}
