//! `data "quay_georep_site_manifests"` through the real Terraform CLI: three sites rendered
//! from one shared config with no cluster contacted (the provider's cluster blocks point at
//! kubeconfig files that do not exist), external secret mode, and bad inputs rejected at plan
//! with the attribute they are about.

use georep_harness::secrets::{SecretScanner, describe};
use georep_harness::terraform::{Diagnostic, PlanExit, TerraformBinary};
use serde_json::Value;

use super::site_inputs::{
    self, BLOCK, For, LOCATIONS, assert_reported, bad_inputs_for, replace_once, site_body,
    write_certificates,
};
use super::{
    assert_outputs_refused_unless_sensitive, for_each_terraform, secret_findings, workdir,
};

const PREFERENCE_ENV: &str = "QUAY_DISTRIBUTED_STORAGE_PREFERENCE";

/// The provider with one cluster per site at a kubeconfig that does not exist (nothing may
/// be contacted), and the shared config (`config_extra` inserted in its body).
fn header(config_extra: &str) -> String {
    site_inputs::header(config_extra, &|l| format!("/nonexistent/{l}.kubeconfig"))
}

/// One site's data source (`extra` lines inserted in its body) and its outputs.
fn site(location: &str, extra: &str) -> String {
    let body = site_body(location, extra);
    format!(
        r#"
data "quay_georep_site_manifests" "{location}" {{
{body}}}

output "{location}_manifests" {{
  value     = data.quay_georep_site_manifests.{location}.manifests
  sensitive = true
}}

output "{location}_yaml" {{
  value     = data.quay_georep_site_manifests.{location}.yaml
  sensitive = true
}}

output "{location}_bundle" {{
  value = data.quay_georep_site_manifests.{location}.bundle_secret_name
}}

output "{location}_hash" {{
  value = data.quay_georep_site_manifests.{location}.config_hash
}}

output "{location}_id" {{
  value = data.quay_georep_site_manifests.{location}.id
}}
"#
    )
}

/// The three-site configuration; `us_east` gets `extra` in its body and `replace` is applied
/// to the whole text (to break one thing at a time).
fn three_sites(config_extra: &str, extra: &str, replace: &[(&str, &str)]) -> String {
    let mut hcl = header(config_extra);
    for location in LOCATIONS {
        hcl.push_str(&site(
            location,
            if location == "us_east" { extra } else { "" },
        ));
    }
    replace_once(hcl, replace)
}

fn parse_yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap_or_else(|err| panic!("{err}:\n{text}"))
}

/// The documents of a `<location>_manifests` output, parsed.
fn documents(outputs: &georep_harness::terraform::Outputs, location: &str) -> Vec<Value> {
    outputs[&format!("{location}_manifests")]
        .value
        .as_array()
        .unwrap()
        .iter()
        .map(|doc| parse_yaml(doc.as_str().unwrap()))
        .collect()
}

fn component<'a>(registry: &'a Value, kind: &str) -> &'a Value {
    registry["spec"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} component in {registry:#}"))
}

fn preference(component: &Value) -> String {
    component["overrides"]["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == PREFERENCE_ENV)
        .and_then(|e| e["value"].as_str())
        .unwrap_or_else(|| panic!("no preference env in {component:#}"))
        .to_owned()
}

#[test]
fn three_sites_render_one_bundle_and_their_own_preference_without_a_cluster() {
    for_each_terraform(|tf| {
        let dir = workdir(tf, "site_manifests_three_sites");
        dir.write_main_tf(&three_sites("", "", &[])).unwrap();
        let applied = dir.apply().unwrap().require_success().unwrap();
        assert!(applied.events.errors().next().is_none());
        let outputs = dir.output_json().unwrap();

        let mut secrets = Vec::new();
        for location in LOCATIONS {
            let docs = documents(&outputs, location);
            let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
            assert_eq!(kinds, ["Namespace", "Secret", "QuayRegistry"], "{location}");
            let registry = &docs[2];
            let declared: Vec<&str> = registry["spec"]["components"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["kind"].as_str().unwrap())
                .collect();
            assert_eq!(declared.len(), 11, "{location}: {declared:?}");
            for kind in ["quay", "mirror"] {
                let words = preference(component(registry, kind));
                assert!(
                    words.starts_with(&format!("{location} ")),
                    "{location} {kind} prefers {words:?}"
                );
            }
            assert_eq!(
                registry["spec"]["configBundleSecret"],
                outputs[&format!("{location}_bundle")].value
            );
            assert_eq!(
                outputs[&format!("{location}_id")].value,
                format!("{location}/quay-enterprise/registry")
            );
            assert_eq!(
                outputs[&format!("{location}_hash")].value,
                outputs["config_hash"].value
            );
            let yaml = outputs[&format!("{location}_yaml")].value.as_str().unwrap();
            let joined: String = outputs[&format!("{location}_manifests")]
                .value
                .as_array()
                .unwrap()
                .iter()
                .map(|d| format!("---\n{}", d.as_str().unwrap()))
                .collect();
            assert_eq!(yaml, joined);
            secrets.push(docs[1].clone());
        }
        assert_eq!(secrets[0], secrets[1], "us_east and eu_west bundles differ");
        assert_eq!(
            secrets[1], secrets[2],
            "eu_west and ap_south bundles differ"
        );
        assert!(
            secrets[0]["metadata"]["name"]
                .as_str()
                .unwrap()
                .starts_with("registry-config-bundle-")
        );

        let replan = dir.plan().unwrap();
        assert_eq!(replan.exit, PlanExit::NoChanges, "{:#?}", replan.events);
    });
}

#[test]
fn external_secret_mode_leaves_the_secret_out_and_references_the_given_name() {
    for_each_terraform(|tf| {
        let dir = workdir(tf, "site_manifests_external");
        let extra = "  secret_mode          = \"external\"\n  external_secret_name = \"sealed-quay-bundle\"\n  create_namespace     = false\n";
        dir.write_main_tf(&three_sites("", extra, &[])).unwrap();
        dir.apply().unwrap().require_success().unwrap();
        let outputs = dir.output_json().unwrap();
        let docs = documents(&outputs, "us_east");
        let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["QuayRegistry"]);
        assert_eq!(docs[0]["spec"]["configBundleSecret"], "sealed-quay-bundle");
        assert_eq!(outputs["us_east_bundle"].value, "sealed-quay-bundle");
        let yaml = outputs["us_east_yaml"].value.as_str().unwrap();
        assert!(!yaml.contains("kind: Secret"), "{yaml}");
        // The other sites still render their Secret inline.
        assert_eq!(documents(&outputs, "eu_west").len(), 3);
    });
}

#[test]
fn gitops_without_cluster_blocks_renders_any_cluster_name() {
    for_each_terraform(|tf| {
        let dir = workdir(tf, "site_manifests_no_clusters");
        let hcl = three_sites("", "", &[]);
        let start = hcl.find("provider \"quay\" {").unwrap();
        let end = start + hcl[start..].find("\n}\n").unwrap() + 3;
        let hcl = format!("{}provider \"quay\" {{}}\n{}", &hcl[..start], &hcl[end..]);
        dir.write_main_tf(&hcl).unwrap();
        dir.apply().unwrap().require_success().unwrap();
        let outputs = dir.output_json().unwrap();
        assert_eq!(
            outputs["ap_south_id"].value,
            "ap_south/quay-enterprise/registry"
        );
    });
}

/// Plans `hcl` in a fresh directory and returns the diagnostics; the plan must fail.
fn plan_errors(tf: &TerraformBinary, name: &str, hcl: &str) -> Vec<Diagnostic> {
    let dir = workdir(tf, name)
        .with_env("KUBE_CONFIG_PATH", "")
        .with_env("KUBECONFIG", "");
    write_certificates(&dir);
    dir.write_main_tf(hcl).unwrap();
    let plan = dir.plan().unwrap();
    assert_eq!(plan.exit, PlanExit::Error, "{name}: {:#?}", plan.events);
    plan.events.diagnostics().cloned().collect()
}

#[test]
fn site_manifests_reject_bad_inputs_at_the_attribute() {
    for_each_terraform(|tf| {
        for bad in bad_inputs_for(For::Manifests) {
            let hcl = three_sites(bad.config_extra, bad.extra, bad.replace);
            let diags = plan_errors(tf, &format!("bad_site_{}", bad.name), &hcl);
            let source = bad.source.replace(BLOCK, "quay_georep_site_manifests");
            assert_reported(&diags, bad.summary, &source, bad.detail);
        }
    });
}

/// Every secret value of [`three_sites`].
fn secrets() -> SecretScanner {
    super::shared_config_secrets(&LOCATIONS).with("the Clair database password", "clair-password")
}

#[test]
fn secrets_never_appear_in_terraform_output_or_logs() {
    for_each_terraform(|tf| {
        let findings = secret_findings(
            tf,
            "site_manifests_secrets_hidden",
            &three_sites("", "", &[]),
            &secrets(),
        );
        assert!(
            findings.is_empty(),
            "secrets leaked:\n{}",
            describe(&findings)
        );
    });
}

/// The rendered documents hold the config bundle Secret: an output that shows them without
/// `sensitive = true` is refused by Terraform itself.
#[test]
fn outputs_of_rendered_documents_must_be_declared_sensitive() {
    for_each_terraform(|tf| {
        assert_outputs_refused_unless_sensitive(
            tf,
            "site_manifests_unmarked",
            &three_sites("", "", &[]),
            "data.quay_georep_site_manifests.us_east",
            &["manifests", "yaml"],
        );
    });
}
