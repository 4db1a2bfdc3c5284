//! `resource "quay_georep_site"` through the real Terraform CLI against simulated clusters
//! without the operator: what must fail before anything is written.

use georep_harness::sim::Flavour;
use georep_harness::sim::{ClusterConfig, SimCluster, install_crypto_provider};
use georep_harness::terraform::{Diagnostic, PlanExit, TerraformBinary};

use super::{for_each_terraform, workdir};

fn config(kubeconfig: &str, route: &str, extra: &str) -> String {
    format!(
        r#"
terraform {{
  required_providers {{
    quay = {{ source = "quay-georep/quay" }}
  }}
}}

provider "quay" {{
  cluster "us_east" {{
    kubeconfig_path = "{kubeconfig}"
  }}
}}

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
  storage "us_east" {{
    driver     = "radosgw"
    hostname   = "s3.us-east.example.com"
    bucket     = "quay-us-east"
    access_key = "ak"
    secret_key = "sk-0123456789"
  }}
  storage "eu_west" {{
    driver     = "radosgw"
    hostname   = "s3.eu-west.example.com"
    bucket     = "quay-eu-west"
    access_key = "ak"
    secret_key = "sk-0123456789"
  }}
}}

resource "quay_georep_site" "us_east" {{
  cluster     = "us_east"
  namespace   = "quay-enterprise"
  config_yaml = data.quay_georep_config.shared.config_yaml
  location    = "us_east"
  clair {{
    enabled = false
  }}
{route}{extra}}}
"#
    )
}

/// Starts a simulated cluster of `flavour` and writes its kubeconfig into the working dir.
fn cluster(runtime: &tokio::runtime::Runtime, flavour: Flavour) -> SimCluster {
    install_crypto_provider();
    let mut config = ClusterConfig::new("us-east");
    config.flavour = flavour;
    runtime.block_on(SimCluster::start(config)).unwrap()
}

fn errors(diags: impl Iterator<Item = Diagnostic>) -> Vec<Diagnostic> {
    diags.filter(Diagnostic::is_error).collect()
}

#[test]
fn managed_route_on_a_cluster_without_routes_fails_before_writing_anything() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for_each_terraform(|tf: &TerraformBinary| {
        let sim = cluster(&runtime, Flavour::Kubernetes);
        let dir = workdir(tf, "site_route_without_routes");
        let kubeconfig = dir
            .write_file("us-east.kubeconfig", &sim.kubeconfig().unwrap())
            .unwrap();
        dir.write_main_tf(&config(&kubeconfig.display().to_string(), "", ""))
            .unwrap();
        sim.faults().reset_counters();
        let applied = dir.apply().unwrap();
        assert!(!applied.succeeded());
        let errs = errors(applied.events.diagnostics().cloned());
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert_eq!(errs[0].summary, "Routes Not Available");
        assert!(
            errs[0].detail.contains("route { managed = false }"),
            "{}",
            errs[0].detail
        );
        assert_eq!(sim.faults().counters().writes, 0, "nothing may be written");
        runtime.block_on(sim.stop());
    });
}

#[test]
fn bad_site_inputs_are_rejected_at_plan_without_contacting_the_cluster() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for_each_terraform(|tf: &TerraformBinary| {
        let sim = cluster(&runtime, Flavour::Openshift);
        let cases = [
            (
                "timeouts {\n    create = \"soon\"\n  }\n",
                "Invalid Timeout",
                "soon",
            ),
            (
                "quay {\n    replicas = -1\n  }\n",
                "Invalid Replicas",
                "replicas",
            ),
            (
                "env = { QUAY_DISTRIBUTED_STORAGE_PREFERENCE = \"eu_west\" }\n",
                "",
                "QUAY_DISTRIBUTED_STORAGE_PREFERENCE",
            ),
        ];
        for (i, (extra, summary, mention)) in cases.iter().enumerate() {
            let dir = workdir(tf, &format!("site_bad_input_{i}"));
            let kubeconfig = dir
                .write_file("us-east.kubeconfig", &sim.kubeconfig().unwrap())
                .unwrap();
            dir.write_main_tf(&config(&kubeconfig.display().to_string(), "", extra))
                .unwrap();
            sim.faults().reset_counters();
            let plan = dir.plan().unwrap();
            assert_eq!(plan.exit, PlanExit::Error, "{extra}");
            let errs = errors(plan.events.diagnostics().cloned());
            assert!(
                errs.iter()
                    .any(|d| (summary.is_empty() || d.summary == *summary)
                        && (d.detail.contains(mention) || d.summary.contains(mention))),
                "{extra}: {errs:#?}"
            );
            assert_eq!(
                sim.faults().counters().writes,
                0,
                "{extra}: nothing may be written"
            );
        }
        runtime.block_on(sim.stop());
    });
}
