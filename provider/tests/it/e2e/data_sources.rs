//! The read-only data sources through the real Terraform CLI.
//!
//! - `data "quay_georep_site"` against a site the local backend runs on an OpenShift-flavoured
//!   cluster: it reports what the site resource reports, the bundle and config hash, the
//!   storage preference, the operator's version, and, as the resource does, what a global load
//!   balancer needs (the router's canonical hostname the simulated router writes into the
//!   Route's status, the health check URL, the per-site host).
//! - The operator-version guard rail: a new site on a cluster whose operator runs another
//!   version than the existing site's is refused at plan, naming the cluster; two existing
//!   sites whose operators drift apart get a warning at every plan.
//! - `data "quay_georep_versions"`: plans offline; the next upgrade and the path for a version,
//!   and an error on `current_version` for one the provider does not know.
//!
//! The plain-Kubernetes case of the site data source (an Ingress's load balancer address) is in
//! `kubernetes_flavour.rs`.

use georep_harness::sim::Flavour;
use georep_harness::terraform::{PlanExit, Severity, TerraformBinary};
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::json;

use super::local_backend::{LocalRun, shared_config_tf};
use super::{assert_diagnostic, for_each_terraform, workdir};

const NAMESPACE: &str = "quay-enterprise";
const HOSTNAME: &str = "quay.global.example.test";

/// A site resource on `location` (whose cluster key is the location).
fn site(location: &str) -> String {
    format!(
        r#"
resource "quay_georep_site" "{location}" {{
  cluster     = "{location}"
  namespace   = "{NAMESPACE}"
  config_yaml = data.quay_georep_config.shared.config_yaml
  location    = "{location}"
  clair {{
    enabled = false
  }}
}}
"#
    )
}

/// The provider and shared config of locations `us_east` and `eu_west`, then `body`.
fn main_tf(body: &str) -> String {
    format!("{}{body}", shared_config_tf(&["us_east", "eu_west"], ""))
}

const READ_US_EAST: &str = r#"
data "quay_georep_site" "us_east" {
  cluster    = "us_east"
  namespace  = "quay-enterprise"
  depends_on = [quay_georep_site.us_east]
}

output "resource" {
  value = {
    config_hash          = quay_georep_site.us_east.config_hash
    bundle_secret_name   = quay_georep_site.us_east.bundle_secret_name
    current_version      = quay_georep_site.us_east.current_version
    load_balancer_target = quay_georep_site.us_east.load_balancer_target
    health_check_url     = quay_georep_site.us_east.health_check_url
    site_hostname        = quay_georep_site.us_east.site_hostname
  }
}

output "data" {
  value = {
    id                     = data.quay_georep_site.us_east.id
    config_hash            = data.quay_georep_site.us_east.config_hash
    bundle_secret_name     = data.quay_georep_site.us_east.bundle_secret_name
    current_version        = data.quay_georep_site.us_east.current_version
    operator_version       = data.quay_georep_site.us_east.operator_version
    route_host             = data.quay_georep_site.us_east.route_host
    postgres               = data.quay_georep_site.us_east.components["postgres"]
    preferred              = data.quay_georep_site.us_east.storage_preference[0]
    load_balancer_target   = data.quay_georep_site.us_east.load_balancer_target
    health_check_url       = data.quay_georep_site.us_east.health_check_url
    clair_health_check_url = data.quay_georep_site.us_east.clair_health_check_url
    site_hostname          = data.quay_georep_site.us_east.site_hostname
  }
}
"#;

#[test]
fn the_site_data_source_reads_a_live_site_and_operators_on_two_versions_are_refused_or_warned() {
    for_each_terraform(|tf: &TerraformBinary| {
        let local = LocalRun::start(&["us-east", "eu-west"], Flavour::Openshift);
        let (runtime, env) = (&local.runtime, &local.env);
        let dir = local.workdir(tf, "data_source_site");

        dir.write_main_tf(&main_tf(&format!("{}{READ_US_EAST}", site("us_east"))))
            .unwrap();
        let applied = dir.apply().unwrap();
        assert!(applied.succeeded(), "{:#?}", applied.events);
        let outputs = dir.output_json().unwrap();
        let (resource, data) = (&outputs["resource"].value, &outputs["data"].value);
        let router = "router-default.apps.us-east.example";
        assert_eq!(resource["load_balancer_target"], router, "{resource:#}");
        assert_eq!(data["load_balancer_target"], router, "{data:#}");
        let health = format!("https://{HOSTNAME}/health/instance");
        assert_eq!(resource["health_check_url"], health.as_str());
        assert_eq!(data["health_check_url"], health.as_str());
        let site_host = format!("registry-quay-{NAMESPACE}.apps.us-east.example");
        assert_eq!(resource["site_hostname"], site_host.as_str());
        assert_eq!(data["site_hostname"], site_host.as_str());
        assert_eq!(data["clair_health_check_url"], "", "Clair is disabled");
        assert_eq!(data["id"], format!("us_east/{NAMESPACE}/registry"));
        assert_eq!(data["route_host"], HOSTNAME);
        assert_eq!(data["postgres"], "unmanaged");
        assert_eq!(data["preferred"], "us_east");
        for same in ["config_hash", "bundle_secret_name", "current_version"] {
            assert_eq!(data[same], resource[same], "{same}");
        }
        let version = env.sites()[0].operator.version().to_string();
        assert_eq!(data["operator_version"], version.as_str());
        assert_eq!(data["current_version"], version.as_str());
        let replan = dir.plan().unwrap();
        assert_eq!(replan.exit, PlanExit::NoChanges, "{:#?}", replan.events);

        // eu-west's operator moves to another release; a site there would migrate the shared
        // database out of step with us-east's.
        let other = if version == "3.17.4" {
            "3.16.5"
        } else {
            "3.17.4"
        };
        let eu_west = &env.sites()[1];
        let (namespace, name) = eu_west.operator_deployment();
        let set_operator = |version: &str| {
            runtime.block_on(async {
                let client = eu_west.cluster.client().await.unwrap();
                let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
                    Api::namespaced(client, namespace);
                let patch = json!({"spec": {"template": {"metadata": {"annotations": {
                    "quay-version": version,
                }}}}});
                deployments
                    .patch(name, &PatchParams::default(), &Patch::Merge(patch))
                    .await
                    .unwrap();
            });
        };
        set_operator(other);
        eu_west.cluster.faults().reset_counters();
        dir.write_main_tf(&main_tf(&format!(
            "{}{}{READ_US_EAST}",
            site("us_east"),
            site("eu_west")
        )))
        .unwrap();
        let plan = dir.plan().unwrap();
        assert_eq!(plan.exit, PlanExit::Error, "{:#?}", plan.events);
        let diags: Vec<_> = plan.events.diagnostics().cloned().collect();
        assert_diagnostic(
            &diags,
            Severity::Error,
            "Quay Operator Version Differs Between Sites",
            "cluster",
            &format!(
                "\"eu_west\" runs Quay Operator {other}, and the operators of the other sites (us_east) run {version}"
            ),
        );
        assert_eq!(eu_west.cluster.faults().counters().writes, 0);

        // With eu-west's operator back on us-east's version the site is installed; when the
        // two operators drift apart afterwards, every plan warns (one warning: the site
        // planned last compares both clusters) and changes nothing.
        set_operator(&version);
        let both = main_tf(&format!(
            "{}{}{READ_US_EAST}",
            site("us_east"),
            site("eu_west")
        ));
        dir.write_main_tf(&both).unwrap();
        let applied = dir.apply().unwrap();
        assert!(applied.succeeded(), "{:#?}", applied.events);
        set_operator(other);
        let plan = dir.plan().unwrap();
        assert_eq!(plan.exit, PlanExit::NoChanges, "{:#?}", plan.events);
        let diags: Vec<_> = plan.events.diagnostics().cloned().collect();
        assert_diagnostic(
            &diags,
            Severity::Warning,
            "Quay Operator Versions Differ Between Sites",
            "cluster",
            &format!("eu_west {other}"),
        );
        assert_diagnostic(
            &diags,
            Severity::Warning,
            "Quay Operator Versions Differ Between Sites",
            "cluster",
            &format!("us_east {version}"),
        );

        // A destroy plans the configuration first.
        dir.write_main_tf(&main_tf(&format!("{}{READ_US_EAST}", site("us_east"))))
            .unwrap();
        let destroyed = dir.destroy().unwrap();
        assert!(destroyed.succeeded(), "{:#?}", destroyed.events);
        assert_eq!(env.ledger().violations(), []);
        local.stop();
    });
}

#[test]
fn the_versions_data_source_gives_the_next_upgrade_offline_and_refuses_an_unknown_version() {
    let config = |current: &str| {
        format!(
            r#"
terraform {{
  required_providers {{
    quay = {{ source = "quay-georep/quay" }}
  }}
}}

data "quay_georep_versions" "known" {{
  current_version = "{current}"
}}

output "next" {{
  value = data.quay_georep_versions.known.next_version
}}

output "channel" {{
  value = data.quay_georep_versions.known.next_olm_channel
}}

output "path" {{
  value = data.quay_georep_versions.known.upgrade_path
}}

output "newest" {{
  value = data.quay_georep_versions.known.newest_version
}}
"#
        )
    };
    for_each_terraform(|tf: &TerraformBinary| {
        let dir = workdir(tf, "data_source_versions");
        dir.write_main_tf(&config("3.15.1")).unwrap();
        let applied = dir.apply().unwrap();
        assert!(applied.succeeded(), "{:#?}", applied.events);
        let outputs = dir.output_json().unwrap();
        assert_eq!(outputs["next"].value, "3.16.5");
        assert_eq!(outputs["channel"].value, "stable-3.16");
        assert_eq!(outputs["path"].value, json!(["3.16.5", "3.17.4", "3.18.0"]));
        assert_eq!(outputs["newest"].value, "3.18.0");

        dir.write_main_tf(&config("3.40.0")).unwrap();
        let plan = dir.plan().unwrap();
        assert_eq!(plan.exit, PlanExit::Error, "{:#?}", plan.events);
        let diags: Vec<_> = plan.events.diagnostics().cloned().collect();
        assert_diagnostic(
            &diags,
            Severity::Error,
            "Unknown Quay Version",
            "current_version",
            "does not know yet",
        );
    });
}
