//! `resource "quay_georep_site"` through the real Terraform CLI against simulated clusters
//! without the operator: what must fail before anything is written. The bad inputs every plan
//! refuses are the conformance suite's `BADINPUT-*` scenarios.

use georep_harness::sim::Flavour;
use georep_harness::sim::{ClusterConfig, SimCluster, install_crypto_provider};
use georep_harness::terraform::{Diagnostic, PlanExit, TerraformBinary};

use super::{for_each_terraform, workdir};

fn config(kubeconfig: &str, route: &str, extra: &str) -> String {
    let provider = format!(
        "provider \"quay\" {{\n  cluster \"us_east\" {{\n    kubeconfig_path = \"{kubeconfig}\"\n  }}\n}}\n"
    );
    one_site(&provider, &format!("{route}{extra}"), "")
}

/// `provider` (the provider block or blocks), the shared config of two locations, and a site
/// `us_east` on cluster `us_east` with `inside` in its body and `after` behind it.
pub(super) fn one_site(provider: &str, inside: &str, after: &str) -> String {
    format!(
        r#"
terraform {{
  required_providers {{
    quay = {{ source = "quay-georep/quay" }}
  }}
}}

{provider}

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
{inside}}}
{after}"#
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

async fn create(client: &kube::Client, namespace: Option<&str>, object: serde_json::Value) {
    use kube::api::{Api, DynamicObject, PostParams};
    let api_version = object["apiVersion"].as_str().unwrap().to_owned();
    let kind = object["kind"].as_str().unwrap().to_owned();
    let resource = georep_harness::quay::api_resource(&api_version, &kind);
    let api: Api<DynamicObject> = match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    };
    let object: DynamicObject = serde_json::from_value(object).unwrap();
    api.create(&PostParams::default(), &object).await.unwrap();
}

/// A managed monitoring component needs the Prometheus API and an operator
/// installed for all namespaces (upstream `controllers/quay/features.go`); each missing piece
/// is refused before anything is written, naming `monitoring`.
#[test]
fn managed_monitoring_is_refused_without_the_prometheus_api_or_an_all_namespaces_operator() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for_each_terraform(|tf: &TerraformBinary| {
        // An OpenShift whose monitoring stack is missing: the flavour serves it by default.
        install_crypto_provider();
        let mut cluster_config = ClusterConfig::new("us-east");
        cluster_config.flavour = Flavour::Openshift;
        cluster_config.monitoring = false;
        let sim = runtime.block_on(SimCluster::start(cluster_config)).unwrap();
        let dir = workdir(tf, "site_monitoring_preconditions");
        let kubeconfig = dir
            .write_file("us-east.kubeconfig", &sim.kubeconfig().unwrap())
            .unwrap();
        dir.write_main_tf(&config(
            &kubeconfig.display().to_string(),
            "",
            "  monitoring = true\n",
        ))
        .unwrap();
        let refused = |summary: &str, detail: &str| {
            sim.faults().reset_counters();
            let applied = dir.apply().unwrap();
            assert!(!applied.succeeded());
            let errs = errors(applied.events.diagnostics().cloned());
            assert_eq!(errs.len(), 1, "{errs:#?}");
            assert_eq!(errs[0].summary, summary, "{errs:#?}");
            assert!(errs[0].detail.contains(detail), "{}", errs[0].detail);
            assert!(
                errs[0].detail.contains("monitoring = false"),
                "{}",
                errs[0].detail
            );
            assert_eq!(sim.faults().counters().writes, 0, "nothing may be written");
        };
        refused("Prometheus API Not Available", "monitoring.coreos.com/v1");

        let client = runtime.block_on(sim.client()).unwrap();
        runtime.block_on(async {
            for crd in georep_harness::sim::operator::monitoring::prometheus_crds() {
                create(&client, None, crd).await;
            }
            create(
                &client,
                None,
                serde_json::json!({"apiVersion": "v1", "kind": "Namespace",
                                   "metadata": {"name": "quay-enterprise"}}),
            )
            .await;
            // OLM's copy of the operator's CSV, installed for this one namespace.
            create(
                &client,
                Some("quay-enterprise"),
                serde_json::json!({
                    "apiVersion": "operators.coreos.com/v1alpha1",
                    "kind": "ClusterServiceVersion",
                    "metadata": {"name": "quay-operator.v3.15.2", "annotations": {
                        "olm.targetNamespaces": "quay-enterprise",
                        "olm.operatorNamespace": "quay-enterprise",
                    }},
                    "spec": {"displayName": "Red Hat Quay"},
                }),
            )
            .await;
        });
        refused("Operator Not Installed for All Namespaces", "AllNamespaces");
        runtime.block_on(sim.stop());
    });
}

/// A `config_yaml` value a managed component replaces is a warning at plan
/// time, pointing at `config_yaml` and naming the value Quay runs with; the plan goes on.
#[test]
fn a_mirror_interval_the_managed_mirror_replaces_is_a_plan_warning() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sim = cluster(&runtime, Flavour::Openshift);
    for_each_terraform(|tf: &TerraformBinary| {
        let dir = workdir(tf, "site_overridden_mirror_interval");
        let kubeconfig = dir
            .write_file("us-east.kubeconfig", &sim.kubeconfig().unwrap())
            .unwrap();
        let hcl = config(&kubeconfig.display().to_string(), "", "").replacen(
            "  storage \"us_east\" {",
            "  mirroring {\n    interval = 60\n  }\n  storage \"us_east\" {",
            1,
        );
        dir.write_main_tf(&hcl).unwrap();
        let plan = dir.plan().unwrap();
        assert_eq!(plan.exit, PlanExit::Changes, "{:#?}", plan.events);
        let diags: Vec<Diagnostic> = plan.events.diagnostics().cloned().collect();
        // Once: validation reports it, the plan does not repeat it.
        let found: Vec<&Diagnostic> = diags
            .iter()
            .filter(|d| d.summary == "Setting Overridden by the Operator")
            .collect();
        assert_eq!(found.len(), 1, "{diags:#?}");
        for d in found {
            assert_eq!(d.severity, georep_harness::terraform::Severity::Warning);
            let snippet = d.snippet.as_ref().unwrap();
            assert!(snippet.code.contains("config_yaml"), "{d:#?}");
            assert!(d.detail.contains("REPO_MIRROR_INTERVAL: 30"), "{d:#?}");
            assert!(d.detail.contains("mirror { enabled = false }"), "{d:#?}");
        }
    });
    runtime.block_on(sim.stop());
}

/// A create that fails on a later write (the `QuayRegistry`, after the namespace and the
/// bundle Secret) returns what it wrote: Terraform records the site, and a destroy removes
/// the namespace and Secret instead of leaving them behind.
#[test]
fn a_create_failing_after_its_first_write_is_recorded_and_destroyed() {
    use georep_harness::sim::{FaultKind, FaultRule};
    use kube::api::{Api, ListParams};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for_each_terraform(|tf: &TerraformBinary| {
        let sim = cluster(&runtime, Flavour::Openshift);
        let dir = workdir(tf, "site_create_fails_half_way");
        let kubeconfig = dir
            .write_file("us-east.kubeconfig", &sim.kubeconfig().unwrap())
            .unwrap();
        dir.write_main_tf(&config(
            &kubeconfig.display().to_string(),
            "",
            "  wait_for_ready = false\n",
        ))
        .unwrap();
        // More 500s than the provider's retries, on the QuayRegistry only.
        sim.faults().inject(FaultRule {
            verb: Some("patch".into()),
            resource: Some("quayregistries".into()),
            name: None,
            count: 50,
            fault: FaultKind::InternalError,
        });
        let applied = dir.apply().unwrap();
        assert!(!applied.succeeded());
        let errs = errors(applied.events.diagnostics().cloned());
        assert!(
            errs.iter().any(|e| e.summary == "Apply Failed"),
            "{errs:#?}"
        );
        let listed = dir.run(["state", "list"]).unwrap();
        assert!(
            listed.stdout.contains("quay_georep_site.us_east"),
            "the half-created site is not in state: {listed:?}"
        );
        let client = runtime.block_on(sim.client()).unwrap();
        let secrets = || {
            runtime
                .block_on(
                    Api::<k8s_openapi::api::core::v1::Secret>::namespaced(
                        client.clone(),
                        "quay-enterprise",
                    )
                    .list(&ListParams::default().labels("app.kubernetes.io/managed-by")),
                )
                .map(|l| l.items.len())
                .unwrap_or(0)
        };
        assert!(secrets() > 0, "the bundle Secret was not written first");

        sim.faults().clear();
        let destroyed = dir.destroy().unwrap();
        assert!(destroyed.succeeded(), "{:#?}", destroyed.events);
        assert_eq!(secrets(), 0, "the bundle Secret was left behind");
        let namespace = runtime
            .block_on(
                Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone())
                    .get_opt("quay-enterprise"),
            )
            .unwrap();
        assert!(
            namespace.is_none_or(|ns| ns.metadata.deletion_timestamp.is_some()),
            "the namespace the site created was left behind"
        );
        runtime.block_on(sim.stop());
    });
}
