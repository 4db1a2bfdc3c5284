//! Each way a `cluster` block reaches a cluster, through the real Terraform CLI against a
//! simulated Kubernetes cluster: applying a site with a managed Route there fails with
//! "Routes Not Available", which the provider can say only after it reached the cluster with
//! the block's credentials and read its API (a refused credential fails differently). The
//! same through an HTTP CONNECT proxy, named by the block's `proxy_url` or by `HTTPS_PROXY`.
//! And a cluster whose block is known only after apply plans its site with a warning.

use georep_harness::services::process::write_executable;
use georep_harness::sim::{ClusterConfig, Flavour, SimCluster, install_crypto_provider};
use georep_harness::terraform::{Diagnostic, PlanExit, Severity, TerraformBinary, Workdir};

use super::{assert_diagnostic, for_each_terraform, workdir};
use crate::connect_proxy::ConnectProxy;

/// The provider block(s) `provider`, and a site `us_east` on cluster `us_east` managing a
/// Route, with `extra` after it.
fn config(provider: &str, extra: &str) -> String {
    super::site_resource::one_site(provider, "", extra)
}

/// Applies the site with `cluster_block` as the body of `cluster "us_east"` and requires the
/// error only a reached cluster gives; `secret` must not appear in Terraform's output.
fn assert_reaches(dir: &Workdir, sim: &SimCluster, cluster_block: &str, secret: &str) {
    let provider =
        format!("provider \"quay\" {{\n  cluster \"us_east\" {{\n{cluster_block}  }}\n}}");
    dir.write_main_tf(&config(&provider, "")).unwrap();
    sim.faults().reset_counters();
    let applied = dir.apply().unwrap();
    assert!(!applied.succeeded());
    let errors: Vec<Diagnostic> = applied
        .events
        .diagnostics()
        .filter(|d| d.is_error())
        .cloned()
        .collect();
    assert_eq!(errors.len(), 1, "{cluster_block}: {errors:#?}");
    assert_eq!(errors[0].summary, "Routes Not Available", "{errors:#?}");
    assert!(
        !format!("{:?}", applied.events).contains(secret),
        "the credential appears in Terraform's output"
    );
    assert_eq!(sim.faults().counters().writes, 0);
}

fn sim(runtime: &tokio::runtime::Runtime) -> SimCluster {
    install_crypto_provider();
    let mut config = ClusterConfig::new("us-east");
    config.flavour = Flavour::Kubernetes;
    runtime.block_on(SimCluster::start(config)).unwrap()
}

#[test]
fn every_way_to_reach_a_cluster_works_through_terraform() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sim = sim(&runtime);
    let token = sim.token().unwrap().to_owned();
    let host = sim.url();
    for_each_terraform(|tf: &TerraformBinary| {
        // The files KUBECONFIG lists (one missing, as kubectl allows) and a context.
        let dir = workdir(tf, "cluster_access_environment");
        let kubeconfig = dir
            .write_file("sim.kubeconfig", &sim.kubeconfig().unwrap())
            .unwrap();
        let list = format!(
            "{}:{}",
            dir.path().join("missing.kubeconfig").display(),
            kubeconfig.display()
        );
        let dir = dir
            .with_env("KUBECONFIG", list)
            .with_env("KUBE_CONFIG_PATH", "");
        assert_reaches(&dir, &sim, "    context = \"us-east\"\n", &token);

        let dir = workdir(tf, "cluster_access_token");
        dir.write_file("ca.pem", sim.ca_pem().unwrap()).unwrap();
        let block = format!(
            "    host = \"{host}\"\n    cluster_ca_certificate = file(\"ca.pem\")\n    token = \"{token}\"\n"
        );
        assert_reaches(&dir, &sim, &block, &token);

        let dir = workdir(tf, "cluster_access_client_certificate");
        let issued = sim.client_certificate("admin").unwrap().unwrap();
        dir.write_file("ca.pem", sim.ca_pem().unwrap()).unwrap();
        dir.write_file("client.crt", &issued.cert_pem).unwrap();
        dir.write_file("client.key", &issued.key_pem).unwrap();
        let block = format!(
            "    host = \"{host}\"\n    cluster_ca_certificate = file(\"ca.pem\")\n    client_certificate = file(\"client.crt\")\n    client_key = file(\"client.key\")\n"
        );
        let key_line = issued.key_pem.lines().nth(1).unwrap_or_default();
        assert_reaches(&dir, &sim, &block, key_line);

        let dir = workdir(tf, "cluster_access_exec");
        dir.write_file("ca.pem", sim.ca_pem().unwrap()).unwrap();
        let script = dir.path().join("credential-plugin.sh");
        write_executable(
            &script,
            "#!/bin/sh\nprintf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"%s\"}}' \"$SIM_TOKEN\"\n",
            0o700,
        )
        .unwrap();
        let block = format!(
            "    host = \"{host}\"\n    cluster_ca_certificate = file(\"ca.pem\")\n    exec {{\n      api_version = \"client.authentication.k8s.io/v1\"\n      command = \"{}\"\n      env = {{ SIM_TOKEN = \"{token}\" }}\n    }}\n",
            script.display()
        );
        assert_reaches(&dir, &sim, &block, &token);
    });
    runtime.block_on(sim.stop());
}

/// A cluster behind a proxy: the block's `proxy_url`, or `HTTPS_PROXY` for a kubeconfig
/// without one, takes every request through the proxy's tunnel (kube's `http-proxy` feature;
/// without it the provider refused any proxy).
#[test]
fn a_cluster_is_reached_through_proxy_url_and_through_https_proxy() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sim = sim(&runtime);
    let proxy = runtime.block_on(ConnectProxy::start());
    let token = sim.token().unwrap().to_owned();
    let host = sim.url();
    for_each_terraform(|tf: &TerraformBinary| {
        let dir = workdir(tf, "cluster_access_proxy_url");
        dir.write_file("ca.pem", sim.ca_pem().unwrap()).unwrap();
        let block = format!(
            "    host = \"{host}\"\n    cluster_ca_certificate = file(\"ca.pem\")\n    token = \"{token}\"\n    proxy_url = \"{}\"\n",
            proxy.url()
        );
        let before = proxy.tunnels();
        assert_reaches(&dir, &sim, &block, &token);
        assert!(proxy.tunnels() > before, "proxy_url was not used");

        let dir = workdir(tf, "cluster_access_https_proxy");
        let kubeconfig = dir
            .write_file("sim.kubeconfig", &sim.kubeconfig().unwrap())
            .unwrap();
        let dir = dir
            .with_env("HTTPS_PROXY", proxy.url())
            .with_env("NO_PROXY", "")
            .with_env("no_proxy", "");
        let block = format!(
            "    kubeconfig_path = \"{}\"\n    context = \"us-east\"\n",
            kubeconfig.display()
        );
        let before = proxy.tunnels();
        assert_reaches(&dir, &sim, &block, &token);
        assert!(proxy.tunnels() > before, "HTTPS_PROXY was not used");
    });
    runtime.block_on(sim.stop());
}

/// A second provider instance whose cluster address is a result of a site the first one
/// creates: unknown at plan, as for a cluster created in the same apply.
#[test]
fn a_cluster_known_only_after_apply_plans_its_site_with_a_warning() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sim = sim(&runtime);
    for_each_terraform(|tf: &TerraformBinary| {
        let dir = workdir(tf, "cluster_access_pending");
        let kubeconfig = dir
            .write_file("sim.kubeconfig", &sim.kubeconfig().unwrap())
            .unwrap();
        let provider = format!(
            r#"provider "quay" {{
  cluster "us_east" {{
    kubeconfig_path = "{}"
  }}
}}

provider "quay" {{
  alias = "later"
  cluster "eu_west" {{
    host  = quay_georep_site.us_east.registry_endpoint
    token = "t0ken-not-used"
  }}
}}"#,
            kubeconfig.display()
        );
        let later = r#"
resource "quay_georep_site" "eu_west" {
  provider    = quay.later
  cluster     = "eu_west"
  namespace   = "quay-enterprise"
  config_yaml = data.quay_georep_config.shared.config_yaml
  location    = "eu_west"
  clair {
    enabled = false
  }
}
"#;
        dir.write_main_tf(&config(&provider, later)).unwrap();
        let plan = dir.plan().unwrap();
        let diags: Vec<Diagnostic> = plan.events.diagnostics().cloned().collect();
        assert_eq!(plan.exit, PlanExit::Changes, "{diags:#?}");
        assert!(
            !diags.iter().any(|d| d.summary == "Unknown Cluster"),
            "{diags:#?}"
        );
        assert_diagnostic(
            &diags,
            Severity::Warning,
            "Cluster Not Known Yet",
            "cluster",
            "waits for its host",
        );
        assert!(
            diags.iter().any(|d| d.detail.contains("quay-enterprise")),
            "the warning names the site: {diags:#?}"
        );
    });
    runtime.block_on(sim.stop());
}
