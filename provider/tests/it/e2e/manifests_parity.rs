//! GitOps parity: what `data "quay_georep_site_manifests"` renders, applied by kubectl
//! (`apply --server-side`) to an empty simulated cluster, gives the same Namespace, config
//! bundle Secret and QuayRegistry as `resource "quay_georep_site"` applies to another one,
//! field by field. Only what the API server or a controller sets is left out of the
//! comparison (uid, resourceVersion, managedFields, creationTimestamp, generation, status).
//!
//! The site is chosen to exercise the YAML: every bundle key (config.yaml, clair-config.yaml,
//! ssl.cert, ssl.key), env values a YAML 1.1 reader would turn into booleans, numbers or null
//! unless quoted, and a component scaled to 0. Neither cluster runs an operator, so nothing
//! but the two clients writes these objects (`wait_for_ready = false`).

use std::path::Path;
use std::process::{Command, Stdio};

use georep_harness::quay::{api_resource, quay_registry_resource};
use georep_harness::sim::{ClusterConfig, Flavour, SimCluster, install_crypto_provider};
use kube::Api;
use kube::api::{ApiResource, DynamicObject};
use serde_json::{Value, json};

use super::site_inputs::{self, site_body, write_certificates};
use super::{for_each_terraform, workdir};

const NAMESPACE: &str = "quay-enterprise";

/// The site's extra arguments: TLS, tricky env values, a mirror scaled to 0.
const EXTRA: &str = r#"  quay {
    replicas = 3
  }
  mirror {
    replicas = 0
  }
  tls {
    certificate = file("good.crt")
    private_key = file("good.key")
  }
  env = {
    DEBUGLOG      = "true"
    FEATURE_FLAG  = "yes"
    UMASK         = "0755"
    WORKERS       = "4"
    NOTHING       = "null"
    EMPTY         = ""
  }
"#;

fn config(kubeconfig: &str) -> String {
    let mut hcl = site_inputs::header("", &|_| kubeconfig.to_owned());
    let body = site_body("us_east", EXTRA);
    hcl.push_str(&format!(
        r#"
resource "quay_georep_site" "us_east" {{
  wait_for_ready = false
{body}}}

data "quay_georep_site_manifests" "us_east" {{
{body}}}

output "yaml" {{
  value     = data.quay_georep_site_manifests.us_east.yaml
  sensitive = true
}}

output "bundle" {{
  value = quay_georep_site.us_east.bundle_secret_name
}}
"#
    ));
    hcl
}

fn sim(runtime: &tokio::runtime::Runtime, site: &str) -> SimCluster {
    install_crypto_provider();
    let mut config = ClusterConfig::new(site);
    config.flavour = Flavour::Openshift;
    runtime.block_on(SimCluster::start(config)).unwrap()
}

/// Runs `kubectl apply --server-side -f manifests` against the cluster of `kubeconfig`, with
/// the kubectl the harness's kubectl tests use (`KUBECTL`, else `PATH`; 1.29 or newer).
fn kubectl_apply(dir: &Path, kubeconfig: &Path, manifests: &Path) {
    let kubectl = georep_harness::kubectl::find().unwrap_or_else(|err| panic!("{err}"));
    let out = Command::new(&kubectl)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--cache-dir")
        .arg(dir.join("kubectl-cache"))
        .args(["apply", "--server-side", "-f"])
        .arg(manifests)
        .env_remove("KUBECONFIG")
        .env("HOME", dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|err| panic!("run {}: {err}", kubectl.display()));
    assert!(
        out.status.success(),
        "kubectl apply failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `object` without what the API server or controllers set: server metadata and status.
fn ours(object: &DynamicObject) -> Value {
    let mut value = serde_json::to_value(object).unwrap();
    let metadata = &object.metadata;
    value["metadata"] = json!({
        "name": metadata.name,
        "namespace": metadata.namespace,
        "labels": metadata.labels,
        "annotations": metadata.annotations,
    });
    if let Some(fields) = value.as_object_mut() {
        fields.remove("status");
    }
    value
}

/// The object `name` of `resource` on `cluster`, as [`ours`] sees it.
async fn read(cluster: &SimCluster, resource: &ApiResource, namespaced: bool, name: &str) -> Value {
    let client = cluster.client().await.unwrap();
    let api: Api<DynamicObject> = if namespaced {
        Api::namespaced_with(client, NAMESPACE, resource)
    } else {
        Api::all_with(client, resource)
    };
    let object = api
        .get_opt(name)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{} has no {} {name}", cluster.site(), resource.kind));
    ours(&object)
}

#[test]
fn manifests_applied_by_kubectl_equal_what_the_resource_applies() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let by_resource = sim(&runtime, "by-resource");
    let by_kubectl = sim(&runtime, "by-kubectl");
    for_each_terraform(|tf| {
        let dir = workdir(tf, "site_manifests_parity");
        write_certificates(&dir);
        let resource_kubeconfig = dir
            .write_file("by-resource.kubeconfig", &by_resource.kubeconfig().unwrap())
            .unwrap();
        let kubectl_kubeconfig = dir
            .write_file("by-kubectl.kubeconfig", &by_kubectl.kubeconfig().unwrap())
            .unwrap();
        dir.write_main_tf(&config(&resource_kubeconfig.display().to_string()))
            .unwrap();
        let applied = dir.apply().unwrap();
        assert!(applied.succeeded(), "{:#?}", applied.events);
        let outputs = dir.output_json().unwrap();
        let yaml = outputs["yaml"].value.as_str().unwrap();
        let manifests = dir.write_file("site.yaml", yaml).unwrap();
        kubectl_apply(dir.path(), &kubectl_kubeconfig, &manifests);

        let bundle = outputs["bundle"].value.as_str().unwrap().to_owned();
        let secret = api_resource("v1", "Secret");
        let namespace = api_resource("v1", "Namespace");
        runtime.block_on(async {
            for (resource, namespaced, name) in [
                (&namespace, false, NAMESPACE),
                (&secret, true, bundle.as_str()),
                (&quay_registry_resource(), true, "registry"),
            ] {
                let left = read(&by_resource, resource, namespaced, name).await;
                let right = read(&by_kubectl, resource, namespaced, name).await;
                assert_eq!(
                    left, right,
                    "{} {name} differs between the resource and kubectl",
                    resource.kind
                );
            }
            // The comparison covered what matters: every bundle key, every component, the
            // env values as the strings they were given.
            let secret = read(&by_kubectl, &secret, true, &bundle).await;
            let mut keys: Vec<&str> = secret["data"]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            keys.sort_unstable();
            assert_eq!(
                keys,
                ["clair-config.yaml", "config.yaml", "ssl.cert", "ssl.key"]
            );
            let registry = read(&by_kubectl, &quay_registry_resource(), true, "registry").await;
            let components = registry["spec"]["components"].as_array().unwrap();
            assert_eq!(components.len(), 11, "{registry:#}");
            let env = &components[0]["overrides"]["env"];
            for (name, value) in [
                ("DEBUGLOG", "true"),
                ("FEATURE_FLAG", "yes"),
                ("UMASK", "0755"),
                ("WORKERS", "4"),
                ("NOTHING", "null"),
                ("EMPTY", ""),
            ] {
                assert!(
                    env.as_array()
                        .unwrap()
                        .iter()
                        .any(|e| e["name"] == name && e["value"] == json!(value)),
                    "env {name} is not {value:?}: {env:#}"
                );
            }
            assert_eq!(components[1]["overrides"]["replicas"], 0);
        });
        let destroyed = dir.destroy().unwrap();
        assert!(destroyed.succeeded(), "{:#?}", destroyed.events);
        // The next run starts from an empty cluster again.
        runtime.block_on(async {
            let client = by_kubectl.client().await.unwrap();
            let namespaces: Api<DynamicObject> = Api::all_with(client, &namespace);
            namespaces
                .delete(NAMESPACE, &Default::default())
                .await
                .unwrap();
        });
    });
    runtime.block_on(by_resource.stop());
    runtime.block_on(by_kubectl.stop());
}
