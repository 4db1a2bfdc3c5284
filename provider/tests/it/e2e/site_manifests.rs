//! `data "quay_georep_site_manifests"` through the real Terraform CLI: three sites rendered
//! from one shared config with no cluster contacted (the provider's cluster blocks point at
//! kubeconfig files that do not exist), external secret mode, and bad inputs rejected at plan
//! with the attribute they are about.

use georep_harness::terraform::{Diagnostic, PlanExit, Severity, TerraformBinary, Workdir};
use serde_json::Value;

use super::{for_each_terraform, workdir};

const LOCATIONS: [&str; 3] = ["us_east", "eu_west", "ap_south"];
const CLAIR_DB: &str = "postgresql://clair:clair-password@db.example.com:5432/clair";
const PREFERENCE_ENV: &str = "QUAY_DISTRIBUTED_STORAGE_PREFERENCE";

/// The provider with one cluster per site, and the shared config (`config_extra` inserted in
/// its body).
fn header(config_extra: &str) -> String {
    let clusters: String = LOCATIONS
        .iter()
        .map(|l| format!("  cluster \"{l}\" {{\n    kubeconfig_path = \"/nonexistent/{l}.kubeconfig\"\n  }}\n"))
        .collect();
    let storages: String = LOCATIONS
        .iter()
        .map(|l| {
            let host = l.replace('_', "-");
            format!(
                r#"
  storage "{l}" {{
    driver     = "radosgw"
    hostname   = "s3.{host}.example.com"
    bucket     = "quay-{host}"
    access_key = "ak-{l}"
    secret_key = "sk-{l}-0123456789"
  }}
"#
            )
        })
        .collect();
    format!(
        r#"
terraform {{
  required_providers {{
    quay = {{ source = "quay-georep/quay" }}
  }}
}}

provider "quay" {{
{clusters}}}

data "quay_georep_config" "shared" {{
  server_hostname     = "quay.global.example.com"
  secret_key          = "0123456789abcdef0123456789abcdef-secret"
  database_secret_key = "fedcba9876543210fedcba9876543210-dbkey"
  database {{
    uri = "postgresql://quay:db-password@db.example.com:5432/quay"
  }}
  redis {{
    host = "redis.example.com"
  }}
{storages}{config_extra}}}

output "config_hash" {{
  value = data.quay_georep_config.shared.config_hash
}}
"#
    )
}

/// One site's data source (`extra` lines inserted in its body) and its outputs.
fn site(location: &str, extra: &str) -> String {
    format!(
        r#"
data "quay_georep_site_manifests" "{location}" {{
  cluster     = "{location}"
  namespace   = "quay-enterprise"
  config_yaml = data.quay_georep_config.shared.config_yaml
  location    = "{location}"
  clair {{
    database_uri = "{CLAIR_DB}"
  }}
{extra}}}

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
    for (from, to) in replace {
        assert!(
            hcl.contains(from),
            "test bug: {from:?} is not in the config"
        );
        hcl = hcl.replacen(from, to, 1);
    }
    hcl
}

fn parse_yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap_or_else(|err| panic!("{err}:\n{text}"))
}

/// The documents of a `<location>_manifests` output, parsed.
fn documents(outputs: &georep_harness::terraform::Outputs, location: &str) -> Vec<Value> {
    let output = &outputs[&format!("{location}_manifests")];
    assert!(output.sensitive, "manifests must be sensitive");
    output
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

/// Writes the certificates the TLS cases read with `file()`: `other.*` for another host,
/// `good.*` for the global host, and `wrong.key` belonging to neither.
fn write_certificates(dir: &Workdir) {
    for (name, host) in [
        ("other", "other.example.com"),
        ("good", "quay.global.example.com"),
    ] {
        let pair = rcgen::generate_simple_self_signed(vec![host.to_owned()]).unwrap();
        dir.write_file(format!("{name}.crt"), &pair.cert.pem())
            .unwrap();
        dir.write_file(format!("{name}.key"), &pair.signing_key.serialize_pem())
            .unwrap();
    }
    let wrong = rcgen::KeyPair::generate().unwrap();
    dir.write_file("wrong.key", &wrong.serialize_pem()).unwrap();
}

/// Asserts that exactly one error with `summary` was reported, pointing at source text
/// containing `source` and explaining itself with `detail`.
fn assert_reported(diags: &[Diagnostic], summary: &str, source: &str, detail: &str) {
    let found: Vec<&Diagnostic> = diags.iter().filter(|d| d.summary == summary).collect();
    assert_eq!(
        found.len(),
        1,
        "expected one {summary:?} diagnostic, got {diags:#?}"
    );
    let diag = found[0];
    assert_eq!(diag.severity, Severity::Error, "{diag:#?}");
    let snippet = diag
        .snippet
        .as_ref()
        .unwrap_or_else(|| panic!("no source snippet: {diag:#?}"));
    assert!(
        snippet.code.contains(source),
        "{summary:?} should point at {source:?}, but points at {:?} ({:?})",
        snippet.code,
        diag.highlighted()
    );
    assert!(
        diag.detail.contains(detail),
        "detail of {summary:?} lacks {detail:?}: {}",
        diag.detail
    );
}

struct BadInput {
    name: &'static str,
    config_extra: &'static str,
    extra: &'static str,
    replace: &'static [(&'static str, &'static str)],
    summary: &'static str,
    source: &'static str,
    detail: &'static str,
}

const GLOBAL_CLAIR: &str = "  clair {\n    endpoint = \"https://clair.global.example.com\"\n    psk      = \"c2VjcmV0LXBzaw==\"\n  }\n";

const BAD_INPUTS: &[BadInput] = &[
    BadInput {
        name: "unknown_cluster",
        config_extra: "",
        extra: "",
        replace: &[("cluster     = \"us_east\"", "cluster     = \"mars\"")],
        summary: "Unknown Cluster",
        source: "cluster",
        detail: "\"us_east\"",
    },
    BadInput {
        name: "location_not_in_config",
        config_extra: "",
        extra: "",
        replace: &[("location    = \"us_east\"", "location    = \"mars\"")],
        summary: "Unknown Storage Location",
        source: "location",
        detail: "\"ap_south\", \"eu_west\", \"us_east\"",
    },
    BadInput {
        name: "negative_replicas",
        config_extra: "",
        extra: "  quay {\n    replicas = -1\n  }\n",
        replace: &[],
        summary: "Invalid Replicas",
        source: "replicas",
        detail: "-1",
    },
    BadInput {
        name: "absurd_replicas",
        config_extra: "",
        extra: "  mirror {\n    replicas = 1000\n  }\n",
        replace: &[],
        summary: "Too Many Replicas",
        source: "replicas",
        detail: "100",
    },
    BadInput {
        name: "certificate_for_another_host",
        config_extra: "",
        extra: "  tls {\n    certificate = file(\"other.crt\")\n    private_key = file(\"other.key\")\n  }\n",
        replace: &[],
        summary: "TLS Certificate Does Not Cover Server Hostname",
        source: "certificate",
        detail: "other.example.com",
    },
    BadInput {
        name: "key_of_another_certificate",
        config_extra: "",
        extra: "  tls {\n    certificate = file(\"good.crt\")\n    private_key = file(\"wrong.key\")\n  }\n",
        replace: &[],
        summary: "Invalid TLS Private Key",
        source: "private_key",
        detail: "does not belong",
    },
    BadInput {
        name: "managed_clair_with_global_clair",
        config_extra: GLOBAL_CLAIR,
        extra: "",
        replace: &[(
            "clair {\n    database_uri",
            "clair {\n    enabled = true\n    database_uri",
        )],
        summary: "Clair Configured Twice",
        source: "enabled",
        detail: "clair { enabled = false }",
    },
    BadInput {
        name: "clair_without_database",
        config_extra: "",
        extra: "",
        replace: &[(
            "  clair {\n    database_uri = \"postgresql://clair:clair-password@db.example.com:5432/clair\"\n  }\n",
            "",
        )],
        summary: "Missing Clair Database",
        source: "quay_georep_site_manifests",
        detail: "database_uri",
    },
    BadInput {
        name: "clair_database_not_postgres",
        config_extra: "",
        extra: "",
        replace: &[(
            "\"postgresql://clair:clair-password",
            "\"mysql://clair:clair-password",
        )],
        summary: "Invalid Clair Database URI",
        source: "database_uri",
        detail: "mysql",
    },
    BadInput {
        name: "env_sets_storage_preference",
        config_extra: "",
        extra: "  env = {\n    QUAY_DISTRIBUTED_STORAGE_PREFERENCE = \"eu_west\"\n  }\n",
        replace: &[],
        summary: "Managed Environment Variable",
        source: "QUAY_DISTRIBUTED_STORAGE_PREFERENCE = ",
        detail: "location",
    },
    BadInput {
        name: "namespace_not_a_dns_label",
        config_extra: "",
        extra: "",
        replace: &[("\"quay-enterprise\"", "\"Quay_Enterprise\"")],
        summary: "Invalid Namespace",
        source: "namespace",
        detail: "Quay_Enterprise",
    },
    BadInput {
        name: "external_mode_without_name",
        config_extra: "",
        extra: "  secret_mode = \"external\"\n",
        replace: &[],
        summary: "Missing External Secret Name",
        source: "secret_mode",
        detail: "external_secret_name",
    },
    BadInput {
        name: "unmanaged_route_without_tls",
        config_extra: "",
        extra: "  route {\n    managed = false\n  }\n",
        replace: &[],
        summary: "Unmanaged Route Needs TLS",
        source: "managed",
        detail: "tls block",
    },
    BadInput {
        name: "config_without_replication",
        config_extra: "",
        extra: "",
        replace: &[(
            "config_yaml = data.quay_georep_config.shared.config_yaml\n  location    = \"us_east\"",
            "config_yaml = replace(data.quay_georep_config.shared.config_yaml, \"FEATURE_STORAGE_REPLICATION: true\", \"FEATURE_STORAGE_REPLICATION: false\")\n  location    = \"us_east\"",
        )],
        summary: "Replication Not Enabled",
        source: "config_yaml",
        detail: "FEATURE_STORAGE_REPLICATION",
    },
    BadInput {
        name: "fractional_replicas",
        config_extra: "",
        extra: "  quay {\n    replicas = 1.5\n  }\n",
        replace: &[],
        summary: "Whole Number Expected",
        source: "replicas",
        detail: "1.5",
    },
];

/// Plans `hcl` in a fresh directory and returns the diagnostics; the plan must fail.
fn plan_errors(tf: &TerraformBinary, name: &str, hcl: &str) -> Vec<Diagnostic> {
    let dir = workdir(tf, name);
    write_certificates(&dir);
    dir.write_main_tf(hcl).unwrap();
    let plan = dir.plan().unwrap();
    assert_eq!(plan.exit, PlanExit::Error, "{name}: {:#?}", plan.events);
    plan.events.diagnostics().cloned().collect()
}

#[test]
fn site_manifests_reject_bad_inputs_at_the_attribute() {
    for_each_terraform(|tf| {
        for bad in BAD_INPUTS {
            let hcl = three_sites(bad.config_extra, bad.extra, bad.replace);
            let diags = plan_errors(tf, &format!("bad_site_{}", bad.name), &hcl);
            assert_reported(&diags, bad.summary, bad.source, bad.detail);
        }
    });
}

#[test]
fn secrets_never_appear_in_plan_output() {
    for_each_terraform(|tf| {
        let dir = workdir(tf, "site_manifests_secrets_hidden");
        dir.write_main_tf(&three_sites("", "", &[])).unwrap();
        let plan = dir.run(["plan", "-no-color", "-input=false"]).unwrap();
        let text = format!("{}{}", plan.stdout, plan.stderr);
        for secret in ["db-password", "clair-password", "sk-us_east-0123456789"] {
            assert!(
                !text.contains(secret),
                "{secret:?} leaked into plan output:\n{text}"
            );
        }
    });
}
