//! Day-two operations on a live site through the real Terraform CLI, against a simulated
//! cluster without the operator (`wait_for_ready = false`, so the apply only writes): a change
//! of a shared secret key, and a storage location dropped from the config, refused at plan
//! until acknowledged; `deletion_protection` refusing a
//! destroy, and a destroy that removes exactly the site's objects; private CA certificates and
//! database TLS files landing in the config bundle; a site whose QuayRegistry was deleted by
//! hand planned again although its cluster refuses another read of the refresh.

use georep_harness::quay::{api_resource, quay_registry_resource};
use georep_harness::sim::{
    ClusterConfig, FaultKind, FaultRule, Flavour, SimCluster, install_crypto_provider,
};
use georep_harness::terraform::{Diagnostic, PlanExit, TerraformBinary};
use kube::Api;
use kube::api::DynamicObject;

use super::{for_each_terraform, workdir};

const SECRET_KEY: &str = "0123456789abcdef0123456789abcdef-secret";

/// One site `us_east` in `namespace` on the cluster of `kubeconfig`, with `config_extra` in
/// the shared config, `database_extra` in its database block and `site_extra` in the site.
fn main_tf(
    kubeconfig: &str,
    namespace: &str,
    secret_key: &str,
    config_extra: &str,
    database_extra: &str,
    site_extra: &str,
) -> String {
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
  secret_key          = "{secret_key}"
  database_secret_key = "fedcba9876543210fedcba9876543210-dbkey"
{config_extra}  database {{
    uri = "postgresql://quay:db-password@db.example.com:5432/quay"
{database_extra}  }}
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
}}

resource "quay_georep_site" "us_east" {{
  cluster        = "us_east"
  namespace      = "{namespace}"
  config_yaml    = data.quay_georep_config.shared.config_yaml
  config_files   = data.quay_georep_config.shared.config_files
  location       = "us_east"
  wait_for_ready = false
  clair {{
    enabled = false
  }}
{site_extra}}}
"#
    )
}

fn cluster(runtime: &tokio::runtime::Runtime) -> SimCluster {
    install_crypto_provider();
    let mut config = ClusterConfig::new("us-east");
    config.flavour = Flavour::Openshift;
    runtime.block_on(SimCluster::start(config)).unwrap()
}

/// A fresh cluster, a working directory `name` for `tf`, and the path of the cluster's
/// kubeconfig written there.
fn cluster_and_workdir(
    runtime: &tokio::runtime::Runtime,
    tf: &TerraformBinary,
    name: &str,
) -> (SimCluster, georep_harness::terraform::Workdir, String) {
    let sim = cluster(runtime);
    let dir = workdir(tf, name);
    let kubeconfig = dir
        .write_file("us-east.kubeconfig", &sim.kubeconfig().unwrap())
        .unwrap();
    let kubeconfig = kubeconfig.display().to_string();
    (sim, dir, kubeconfig)
}

/// Fails unless `terraform plan` in `dir` plans to write `quay_georep_site.us_east` again (an
/// update).
fn plans_to_write_the_site_again(dir: &georep_harness::terraform::Workdir) {
    let plan = dir.plan().unwrap();
    assert_eq!(plan.exit, PlanExit::Changes, "{:#?}", plan.events);
    let changes: Vec<_> = plan.events.planned_changes().cloned().collect();
    assert!(
        changes
            .iter()
            .any(|c| c.address == "quay_georep_site.us_east"
                && c.action == georep_harness::terraform::Action::Update),
        "{changes:#?}"
    );
}

fn errors(diags: impl Iterator<Item = Diagnostic>) -> Vec<Diagnostic> {
    diags.filter(Diagnostic::is_error).collect()
}

/// The object `kind` (a core `v1` kind, or `QuayRegistry`) named `name`, if it exists.
fn get(
    runtime: &tokio::runtime::Runtime,
    sim: &SimCluster,
    kind: &str,
    namespace: Option<&str>,
    name: &str,
) -> Option<serde_json::Value> {
    runtime.block_on(async {
        let client = sim.client().await.unwrap();
        let resource = if kind == "QuayRegistry" {
            quay_registry_resource()
        } else {
            api_resource("v1", kind)
        };
        let api: Api<DynamicObject> = match namespace {
            Some(ns) => Api::namespaced_with(client, ns, &resource),
            None => Api::all_with(client, &resource),
        };
        api.get_opt(name)
            .await
            .unwrap()
            .map(|o| serde_json::to_value(o).unwrap())
    })
}

fn bundle_name(dir: &georep_harness::terraform::Workdir) -> String {
    let state = dir.show_json().unwrap();
    state
        .resource_values("quay_georep_site.us_east")
        .and_then(|v| v["bundle_secret_name"].as_str())
        .expect("a bundle name in state")
        .to_owned()
}

/// A new `SECRET_KEY` in the shared config is refused at plan, on `config_yaml`, with what it
/// breaks and nothing written; acknowledged, the same change plans and applies.
#[test]
fn a_shared_key_change_is_refused_at_plan_until_acknowledged() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for_each_terraform(|tf: &TerraformBinary| {
        let (sim, dir, kubeconfig) = cluster_and_workdir(&runtime, tf, "day_two_key_change");
        let hcl =
            |key: &str, site: &str| main_tf(&kubeconfig, "quay-enterprise", key, "", "", site);
        dir.write_main_tf(&hcl(SECRET_KEY, "")).unwrap();
        let applied = dir.apply().unwrap();
        assert!(applied.succeeded(), "{:#?}", applied.events);

        let rotated = "fedcba9876543210-rotated-secret-key-0123";
        dir.write_main_tf(&hcl(rotated, "")).unwrap();
        sim.faults().reset_counters();
        let plan = dir.plan().unwrap();
        assert_eq!(plan.exit, PlanExit::Error, "{:#?}", plan.events);
        let errs = errors(plan.events.diagnostics().cloned());
        assert_eq!(errs.len(), 1, "{errs:#?}");
        let err = &errs[0];
        assert_eq!(err.summary, "Shared Secret Key Change");
        assert!(err.detail.contains("logs every user out"), "{}", err.detail);
        assert!(
            err.detail.contains("acknowledge_key_changes"),
            "{}",
            err.detail
        );
        assert!(!err.detail.contains(rotated), "{}", err.detail);
        let snippet = err.snippet.as_ref().expect("a source snippet");
        assert!(snippet.code.contains("config_yaml"), "{err:#?}");
        assert_eq!(sim.faults().counters().writes, 0, "nothing may be written");

        dir.write_main_tf(&hcl(
            rotated,
            "  acknowledge_key_changes = [\"secret_key\"]\n",
        ))
        .unwrap();
        let plan = dir.plan().unwrap();
        assert_eq!(plan.exit, PlanExit::Changes, "{:#?}", plan.events);
        let applied = dir.apply().unwrap();
        assert!(applied.succeeded(), "{:#?}", applied.events);
        runtime.block_on(sim.stop());
    });
}

/// A refresh reads a site's objects at once, its bundle Secret as metadata only (no secret
/// leaves the cluster for it); a failed read other than the QuayRegistry's still
/// fails the plan while the registry exists, and is ignored once the registry is gone (deleted
/// by hand): the site is planned to be written again, as it was when the reads came one
/// after the other.
#[test]
fn a_site_deleted_by_hand_is_planned_again_even_when_another_read_fails() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for_each_terraform(|tf: &TerraformBinary| {
        let (sim, dir, kubeconfig) = cluster_and_workdir(&runtime, tf, "day_two_deleted_by_hand");
        let namespace = "quay-enterprise";
        dir.write_main_tf(&main_tf(&kubeconfig, namespace, SECRET_KEY, "", "", ""))
            .unwrap();
        let applied = dir.apply().unwrap();
        assert!(applied.succeeded(), "{:#?}", applied.events);

        // A refresh learns that the bundle Secret exists without fetching the secrets in it.
        sim.faults().reset_counters();
        let plan = dir.plan().unwrap();
        assert_eq!(plan.exit, PlanExit::NoChanges, "{:#?}", plan.events);
        let counters = sim.faults().counters();
        assert_eq!(
            counters.whole_objects_served.get("secrets"),
            None,
            "{counters:#?}"
        );

        // A bundle deleted by hand is drift: the site is planned to be written again.
        let bundle = bundle_name(&dir);
        runtime.block_on(async {
            let secrets: Api<DynamicObject> = Api::namespaced_with(
                sim.client().await.unwrap(),
                namespace,
                &api_resource("v1", "Secret"),
            );
            secrets.delete(&bundle, &Default::default()).await.unwrap();
        });
        // (The plan before found nothing to do; only the bundle changed since.)
        plans_to_write_the_site_again(&dir);

        // 409 is not retried, so the refusal reaches the plan at once.
        sim.faults().inject(FaultRule {
            verb: Some("list".to_owned()),
            resource: Some("ingresses".to_owned()),
            name: None,
            count: u32::MAX,
            fault: FaultKind::Conflict,
        });
        let plan = dir.plan().unwrap();
        assert_eq!(plan.exit, PlanExit::Error, "{:#?}", plan.events);
        let errs = errors(plan.events.diagnostics().cloned());
        assert!(
            errs.iter()
                .any(|e| e.summary == "Read Failed" && e.detail.contains("ingresses")),
            "{errs:#?}"
        );

        runtime.block_on(async {
            let api: Api<DynamicObject> = Api::namespaced_with(
                sim.client().await.unwrap(),
                namespace,
                &quay_registry_resource(),
            );
            api.delete("registry", &Default::default()).await.unwrap();
        });
        assert!(get(&runtime, &sim, "QuayRegistry", Some(namespace), "registry").is_none());
        // An update here, as without an operator the site never reported a version and the
        // refresh keeps what its create left (a site that had run would be planned as a create).
        plans_to_write_the_site_again(&dir);
        runtime.block_on(sim.stop());
    });
}

/// A storage location dropped from the shared config is refused at plan, on `config_yaml`,
/// with Quay's order of removal and nothing written; acknowledged, it applies.
#[test]
fn a_removed_storage_location_is_refused_at_plan_until_acknowledged() {
    const EU_WEST: &str = "  storage \"eu_west\" {\n    driver     = \"radosgw\"\n    \
        hostname   = \"s3.eu-west.example.com\"\n    bucket     = \"quay-eu-west\"\n    \
        access_key = \"ak\"\n    secret_key = \"sk-0123456789\"\n  }\n";
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for_each_terraform(|tf: &TerraformBinary| {
        let (sim, dir, kubeconfig) = cluster_and_workdir(&runtime, tf, "day_two_location_removal");
        let hcl = |config: &str, site: &str| {
            main_tf(&kubeconfig, "quay-enterprise", SECRET_KEY, config, "", site)
        };
        dir.write_main_tf(&hcl(EU_WEST, "")).unwrap();
        let applied = dir.apply().unwrap();
        assert!(applied.succeeded(), "{:#?}", applied.events);

        dir.write_main_tf(&hcl("", "")).unwrap();
        sim.faults().reset_counters();
        let plan = dir.plan().unwrap();
        assert_eq!(plan.exit, PlanExit::Error, "{:#?}", plan.events);
        let errs = errors(plan.events.diagnostics().cloned());
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert_eq!(errs[0].summary, "Storage Location Removed");
        for says in [
            "eu_west",
            "acknowledge_location_removals",
            "quay_georep_location_removal",
        ] {
            assert!(errs[0].detail.contains(says), "{says}: {}", errs[0].detail);
        }
        assert_eq!(sim.faults().counters().writes, 0, "nothing may be written");

        dir.write_main_tf(&hcl(
            "",
            "  acknowledge_location_removals = [\"eu_west\"]\n",
        ))
        .unwrap();
        let applied = dir.apply().unwrap();
        assert!(applied.succeeded(), "{:#?}", applied.events);
        runtime.block_on(sim.stop());
    });
}

/// `deletion_protection` refuses a destroy with how to proceed and leaves every object; once
/// lifted, the destroy removes the QuayRegistry, the bundle Secret and the namespace the site
/// created, and a namespace the site did not create stays.
#[test]
fn a_protected_site_refuses_destroy_and_a_destroy_removes_only_what_the_site_made() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for_each_terraform(|tf: &TerraformBinary| {
        let (sim, dir, kubeconfig) = cluster_and_workdir(&runtime, tf, "day_two_destroy");
        let hcl = |namespace: &str, protected: bool| {
            main_tf(
                &kubeconfig,
                namespace,
                SECRET_KEY,
                "",
                "",
                &format!("  deletion_protection = {protected}\n"),
            )
        };
        dir.write_main_tf(&hcl("quay-enterprise", true)).unwrap();
        let applied = dir.apply().unwrap();
        assert!(applied.succeeded(), "{:#?}", applied.events);
        let bundle = bundle_name(&dir);

        let destroyed = dir.destroy().unwrap();
        assert!(!destroyed.succeeded(), "a protected site was destroyed");
        let errs = errors(destroyed.events.diagnostics().cloned());
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert_eq!(errs[0].summary, "Site Deletion Protected");
        assert!(
            errs[0].detail.contains("set deletion_protection = false"),
            "{}",
            errs[0].detail
        );
        let ns = Some("quay-enterprise");
        assert!(get(&runtime, &sim, "QuayRegistry", ns, "registry").is_some());
        assert!(get(&runtime, &sim, "Secret", ns, &bundle).is_some());

        dir.write_main_tf(&hcl("quay-enterprise", false)).unwrap();
        assert!(dir.apply().unwrap().succeeded());
        let destroyed = dir.destroy().unwrap();
        assert!(destroyed.succeeded(), "{:#?}", destroyed.events);
        assert!(get(&runtime, &sim, "QuayRegistry", ns, "registry").is_none());
        assert!(get(&runtime, &sim, "Secret", ns, &bundle).is_none());
        assert!(get(&runtime, &sim, "Namespace", None, "quay-enterprise").is_none());

        // A namespace that existed before the site is not the site's to delete.
        runtime.block_on(async {
            use kube::api::PostParams;
            let client = sim.client().await.unwrap();
            let api: Api<DynamicObject> = Api::all_with(client, &api_resource("v1", "Namespace"));
            let namespace: DynamicObject = serde_json::from_value(serde_json::json!({
                "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-quay"},
            }))
            .unwrap();
            api.create(&PostParams::default(), &namespace)
                .await
                .unwrap();
        });
        dir.write_main_tf(&hcl("team-quay", false)).unwrap();
        assert!(dir.apply().unwrap().succeeded());
        let destroyed = dir.destroy().unwrap();
        assert!(destroyed.succeeded(), "{:#?}", destroyed.events);
        assert!(
            get(
                &runtime,
                &sim,
                "QuayRegistry",
                Some("team-quay"),
                "registry"
            )
            .is_none()
        );
        assert!(get(&runtime, &sim, "Namespace", None, "team-quay").is_some());
        runtime.block_on(sim.stop());
    });
}

/// `extra_ca_certs` and the database's TLS certificates reach the bundle under the keys Quay
/// reads, and `DB_CONNECTION_ARGS` names them.
#[test]
fn private_cas_and_database_tls_files_land_in_the_bundle() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let ca = rcgen::generate_simple_self_signed(vec!["ca.corp.example.com".into()]).unwrap();
    let client = rcgen::generate_simple_self_signed(vec!["quay".into()]).unwrap();
    for_each_terraform(|tf: &TerraformBinary| {
        let (sim, dir, kubeconfig) = cluster_and_workdir(&runtime, tf, "day_two_private_cas");
        dir.write_file("corp-ca.crt", &ca.cert.pem()).unwrap();
        dir.write_file("client.crt", &client.cert.pem()).unwrap();
        dir.write_file("client.key", &client.signing_key.serialize_pem())
            .unwrap();
        let hcl = main_tf(
            &kubeconfig,
            "quay-enterprise",
            SECRET_KEY,
            "  extra_ca_certs = { corp-root = file(\"corp-ca.crt\") }\n",
            "    root_certificate   = file(\"corp-ca.crt\")\n    client_certificate = file(\"client.crt\")\n    client_key         = file(\"client.key\")\n",
            "",
        );
        dir.write_main_tf(&hcl).unwrap();
        let applied = dir.apply().unwrap();
        assert!(applied.succeeded(), "{:#?}", applied.events);
        let bundle = bundle_name(&dir);
        let secret = get(&runtime, &sim, "Secret", Some("quay-enterprise"), &bundle).unwrap();
        let decode = |key: &str| {
            use base64::Engine as _;
            let text = secret["data"][key]
                .as_str()
                .unwrap_or_else(|| panic!("no {key} in the bundle: {:?}", secret["data"]));
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .unwrap(),
            )
            .unwrap()
        };
        assert_eq!(decode("extra_ca_cert_corp-root.crt"), ca.cert.pem());
        assert_eq!(decode("database.pem"), ca.cert.pem());
        assert_eq!(decode("database-client.crt"), client.cert.pem());
        assert_eq!(
            decode("database-client.key"),
            client.signing_key.serialize_pem()
        );
        let config: serde_json::Value = serde_saphyr::from_str(&decode("config.yaml")).unwrap();
        assert_eq!(
            config["DB_CONNECTION_ARGS"],
            serde_json::json!({
                "sslmode": "verify-full",
                "sslrootcert": "/conf/stack/database.pem",
                "sslcert": "/conf/stack/database-client.crt",
                "sslkey": "/conf/stack/database-client.key",
            })
        );
        runtime.block_on(sim.stop());
    });
}
