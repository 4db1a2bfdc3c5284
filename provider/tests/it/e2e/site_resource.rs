//! `resource "quay_georep_site"` through the real Terraform CLI against simulated clusters
//! without the operator: what must fail before anything is written.

use georep_harness::sim::Flavour;
use georep_harness::sim::{ClusterConfig, SimCluster, install_crypto_provider};
use georep_harness::terraform::{Diagnostic, PlanExit, TerraformBinary};

use super::site_inputs::{
    self, BLOCK, For, assert_reported, bad_inputs_for, replace_once, site_body, write_certificates,
};
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

/// Every bad input of the shared table that the resource has an attribute for is rejected
/// by `terraform plan`, pointing at that attribute, and the cluster sees no write.
#[test]
fn bad_site_inputs_are_rejected_at_plan_without_writing_anything() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sim = cluster(&runtime, Flavour::Openshift);
    for_each_terraform(|tf: &TerraformBinary| {
        for bad in bad_inputs_for(For::Resource) {
            let dir = workdir(tf, &format!("site_bad_input_{}", bad.name));
            write_certificates(&dir);
            let kubeconfig = dir
                .write_file("cluster.kubeconfig", &sim.kubeconfig().unwrap())
                .unwrap()
                .display()
                .to_string();
            let mut hcl = site_inputs::header(bad.config_extra, &|_| kubeconfig.clone());
            hcl.push_str(&format!(
                "\nresource \"quay_georep_site\" \"us_east\" {{\n{}}}\n",
                site_body("us_east", bad.extra)
            ));
            dir.write_main_tf(&replace_once(hcl, bad.replace)).unwrap();
            sim.faults().reset_counters();
            let plan = dir.plan().unwrap();
            assert_eq!(
                plan.exit,
                PlanExit::Error,
                "{}: {:#?}",
                bad.name,
                plan.events
            );
            let diags: Vec<Diagnostic> = plan.events.diagnostics().cloned().collect();
            let source = bad.source.replace(BLOCK, "quay_georep_site");
            assert_reported(&diags, bad.summary, &source, bad.detail);
            assert_eq!(
                sim.faults().counters().writes,
                0,
                "{}: nothing may be written",
                bad.name
            );
        }
    });
    runtime.block_on(sim.stop());
}
