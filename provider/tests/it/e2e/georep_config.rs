//! `data "quay_georep_config"` through the real Terraform CLI: the full lifecycle of a
//! configuration that uses it, its determinism, a single location as a warning, and its
//! secrets kept out of every output. The bad inputs it refuses are rows of the harness's one
//! catalogue, run by the conformance suite as `BADINPUT-<name>`.

use georep_harness::terraform::{Diagnostic, PlanExit, Severity, TerraformBinary};
use sha2::{Digest, Sha256};

use georep_harness::secrets::{SecretScanner, describe};

use super::{
    assert_diagnostic, assert_outputs_refused_unless_sensitive, for_each_terraform,
    secret_findings, workdir,
};

const HEADER: &str = r#"
terraform {
  required_providers {
    quay = { source = "quay-georep/quay" }
  }
}

provider "quay" {}
"#;

/// A storage block for `location`.
fn storage(location: &str) -> String {
    let host = location.replace('_', "-");
    format!(
        r#"
  storage "{location}" {{
    driver     = "radosgw"
    hostname   = "s3.{host}.example.com"
    port       = 9000
    bucket     = "quay-{host}"
    access_key = "ak-{location}"
    secret_key = "sk-{location}-0123456789"
  }}
"#
    )
}

/// A valid three-site data source, with `extra` lines inserted in its body and `replace`
/// substitutions applied (to break one thing at a time).
fn config(extra: &str, replace: &[(&str, &str)]) -> String {
    config_in_order(&["us_east", "eu_west", "ap_south"], extra, replace)
}

/// [`config`] with the storage blocks written in `order`.
fn config_in_order(order: &[&str], extra: &str, replace: &[(&str, &str)]) -> String {
    let storages: String = order.iter().map(|location| storage(location)).collect();
    let mut body = format!(
        r#"
data "quay_georep_config" "shared" {{
  server_hostname     = "quay.global.example.com"
  secret_key          = "0123456789abcdef0123456789abcdef-secret"
  database_secret_key = "fedcba9876543210fedcba9876543210-dbkey"
  super_users         = ["quayadmin"]

  database {{
    uri = "postgresql://quay:db-password@db.example.com:5432/quay"
  }}

  redis {{
    host     = "redis.example.com"
    password = "redis-password"
  }}
{storages}{extra}
}}

output "hash" {{
  value = data.quay_georep_config.shared.config_hash
}}

output "locations" {{
  value = data.quay_georep_config.shared.locations
}}

output "yaml" {{
  value     = data.quay_georep_config.shared.config_yaml
  sensitive = true
}}
"#
    );
    for (from, to) in replace {
        assert!(
            body.contains(from),
            "test bug: {from:?} is not in the config"
        );
        body = body.replace(from, to);
    }
    format!("{HEADER}{body}")
}

#[test]
fn config_data_source_applies_renders_and_plans_no_changes_after() {
    for_each_terraform(|tf| {
        let dir = workdir(tf, "config_lifecycle");
        dir.write_main_tf(&config("", &[])).unwrap();
        let validated = dir.validate().unwrap();
        assert!(validated.valid, "{:#?}", validated.diagnostics);

        let applied = dir.apply().unwrap().require_success().unwrap();
        assert!(applied.events.errors().next().is_none());

        let outputs = dir.output_json().unwrap();
        let yaml = outputs["yaml"]
            .value
            .as_str()
            .expect("yaml is a string")
            .to_owned();
        for line in [
            "SERVER_HOSTNAME: quay.global.example.com",
            "FEATURE_STORAGE_REPLICATION: true",
            "RadosGWStorage",
            "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS:",
            "SETUP_COMPLETE: true",
        ] {
            assert!(yaml.contains(line), "config.yaml lacks {line:?}:\n{yaml}");
        }
        let expected_hash = format!("sha256:{}", hex::encode(Sha256::digest(yaml.as_bytes())));
        assert_eq!(outputs["hash"].value, serde_json::json!(expected_hash));
        assert_eq!(
            outputs["locations"].value,
            serde_json::json!(["ap_south", "eu_west", "us_east"])
        );

        let replan = dir.plan().unwrap();
        assert_eq!(replan.exit, PlanExit::NoChanges, "{:#?}", replan.events);

        let destroyed = dir.destroy().unwrap();
        assert!(destroyed.succeeded(), "{:#?}", destroyed.events);
    });
}

#[test]
fn config_yaml_is_identical_across_terraform_versions_and_block_order() {
    let hashes = std::sync::Mutex::new(Vec::new());
    for_each_terraform(|tf: &TerraformBinary| {
        for (i, order) in [
            ["us_east", "eu_west", "ap_south"],
            ["ap_south", "us_east", "eu_west"],
        ]
        .iter()
        .enumerate()
        {
            let dir = workdir(tf, &format!("config_determinism_{i}"));
            dir.write_main_tf(&config_in_order(order, "", &[])).unwrap();
            dir.apply().unwrap().require_success().unwrap();
            let outputs = dir.output_json().unwrap();
            hashes.lock().unwrap().push(outputs["hash"].value.clone());
        }
    });
    let hashes = hashes.into_inner().unwrap();
    assert!(hashes.len() >= 2);
    assert!(hashes.windows(2).all(|w| w[0] == w[1]), "{hashes:?}");
}

/// Runs `terraform validate` on `hcl` and returns its diagnostics.
fn diagnostics(tf: &TerraformBinary, name: &str, hcl: &str) -> Vec<Diagnostic> {
    let dir = workdir(tf, name);
    dir.write_main_tf(hcl).unwrap();
    dir.validate().unwrap().diagnostics
}

#[test]
fn single_location_is_a_warning_not_an_error() {
    for_each_terraform(|tf| {
        let hcl = config("", &[])
            .replace(&storage("eu_west"), "")
            .replace(&storage("ap_south"), "");
        let diags = diagnostics(tf, "single_location", &hcl);
        assert!(!diags.iter().any(Diagnostic::is_error), "{diags:#?}");
        assert_diagnostic(
            &diags,
            Severity::Warning,
            "Single Storage Location",
            "quay_georep_config",
            "not geo-replicated",
        );
    });
}

#[test]
fn provider_cluster_with_both_kubeconfigs_is_rejected_at_the_attribute() {
    for_each_terraform(|tf| {
        let hcl = config("", &[]).replace(
            "provider \"quay\" {}",
            "provider \"quay\" {\n  cluster \"us_east\" {\n    kubeconfig_path    = \"/tmp/kc\"\n    kubeconfig_content = \"apiVersion: v1\"\n  }\n}",
        );
        let dir = workdir(tf, "provider_both_kubeconfigs");
        dir.write_main_tf(&hcl).unwrap();
        let plan = dir.plan().unwrap();
        assert_eq!(plan.exit, PlanExit::Error);
        let diags: Vec<Diagnostic> = plan.events.diagnostics().cloned().collect();
        assert_diagnostic(
            &diags,
            Severity::Error,
            "Conflicting Cluster Access",
            "kubeconfig_content",
            "exactly one",
        );
    });
}

/// Every secret value of [`config`].
fn secrets() -> SecretScanner {
    super::shared_config_secrets(&["us_east", "eu_west", "ap_south"])
        .with("the Redis password", "redis-password")
}

#[test]
fn secrets_never_appear_in_terraform_output_or_logs() {
    for_each_terraform(|tf| {
        let findings = secret_findings(tf, "secrets_hidden", &config("", &[]), &secrets());
        assert!(
            findings.is_empty(),
            "secrets leaked:\n{}",
            describe(&findings)
        );
    });
}

/// The attributes holding secrets are sensitive in the schema: an output that shows one
/// without `sensitive = true` is refused by Terraform itself.
#[test]
fn outputs_of_secret_attributes_must_be_declared_sensitive() {
    for_each_terraform(|tf| {
        assert_outputs_refused_unless_sensitive(
            tf,
            "config_unmarked",
            &config("", &[]),
            "data.quay_georep_config.shared",
            &["config_yaml", "secret_key", "database_secret_key"],
        );
    });
}
