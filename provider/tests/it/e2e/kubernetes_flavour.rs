//! A site on a plain Kubernetes (kind-like) cluster through the real Terraform CLI, against
//! the local backend with the Kubernetes flavour: no Route API, the operator a plain
//! Deployment. With `route { managed = false }` and the certificate in a `tls` block the site
//! converges, the operator creates no Route and reports `https://SERVER_HOSTNAME` as the
//! endpoint (reference/quay-operator.md §1.5, §2 item 7: the user's own ingress serves that
//! name, in front of the `<name>-quay-app` Service). Switching the live site to a managed
//! Route fails clearly and changes nothing; the case of a new site asking for a managed Route
//! (nothing written at all) is in `site_resource.rs`. Once the user's Ingress for that name
//! has a load balancer address, the site resource and `data "quay_georep_site"` give it as the
//! global load balancer's target, and no per-site host (that needs an OpenShift router).

use georep_harness::quay::{api_resource, quay_registry_resource};
use georep_harness::sim::Flavour;
use georep_harness::terraform::PlanExit;
use kube::Api;
use kube::api::DynamicObject;
use serde_json::Value;

use super::for_each_terraform;
use super::local_backend::{LocalRun, shared_config_tf};

const NAMESPACE: &str = "quay-enterprise";
const HOSTNAME: &str = "quay.global.example.test";
/// The address the simulated ingress controller publishes for the user's Ingress.
const LOAD_BALANCER: &str = "lb.us-east.example.net";

/// The site data source and the load balancer outputs, added to [`main_tf`].
const READ_SITE: &str = r#"
data "quay_georep_site" "us_east" {
  cluster   = "us_east"
  namespace = "quay-enterprise"
}

output "target" {
  value = quay_georep_site.us_east.load_balancer_target
}

output "read_target" {
  value = data.quay_georep_site.us_east.load_balancer_target
}

output "read_site_hostname" {
  value = data.quay_georep_site.us_east.site_hostname
}

output "read_route_host" {
  value = data.quay_georep_site.us_east.route_host
}
"#;

/// One site on `us_east` with the Route `managed` or not.
fn main_tf(route_managed: bool) -> String {
    format!(
        r#"{}
resource "quay_georep_site" "us_east" {{
  cluster     = "us_east"
  namespace   = "{NAMESPACE}"
  config_yaml = data.quay_georep_config.shared.config_yaml
  location    = "us_east"
  clair {{
    enabled = false
  }}
  route {{
    managed = {route_managed}
  }}
  tls {{
    certificate = file("quay.crt")
    private_key = file("quay.key")
  }}
}}

output "endpoint" {{
  value = quay_georep_site.us_east.registry_endpoint
}}

output "version" {{
  value = quay_georep_site.us_east.current_version
}}

output "bundle" {{
  value = quay_georep_site.us_east.bundle_secret_name
}}
"#,
        shared_config_tf(&["us_east"], "")
    )
}

fn component<'a>(registry: &'a Value, kind: &str) -> &'a Value {
    registry["spec"]["components"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["kind"] == kind))
        .unwrap_or_else(|| panic!("no {kind} component in {registry:#}"))
}

#[test]
fn unmanaged_route_site_converges_on_kubernetes_and_a_managed_route_is_refused() {
    for_each_terraform(|tf| {
        let local = LocalRun::start(&["us-east"], Flavour::Kubernetes);
        let (runtime, env) = (&local.runtime, &local.env);
        let site = &env.sites()[0];
        let dir = local.workdir(tf, "site_kubernetes_flavour");
        let pair = rcgen::generate_simple_self_signed(vec![HOSTNAME.to_owned()]).unwrap();
        dir.write_file("quay.crt", &pair.cert.pem()).unwrap();
        dir.write_file("quay.key", &pair.signing_key.serialize_pem())
            .unwrap();

        dir.write_main_tf(&main_tf(false)).unwrap();
        let applied = dir.apply().unwrap();
        assert!(applied.succeeded(), "{:#?}", applied.events);
        let outputs = dir.output_json().unwrap();
        assert_eq!(outputs["endpoint"].value, format!("https://{HOSTNAME}"));
        assert!(
            outputs["version"]
                .value
                .as_str()
                .is_some_and(|v| !v.is_empty()),
            "no version: {:?}",
            outputs["version"]
        );
        let bundle = outputs["bundle"].value.as_str().unwrap().to_owned();
        let generation = runtime.block_on(async {
            let client = site.cluster.client().await.unwrap();
            let groups = client.list_api_groups().await.unwrap();
            assert!(
                !groups.groups.iter().any(|g| g.name == "route.openshift.io"),
                "a Kubernetes-flavoured cluster serves Routes"
            );
            let registries: Api<DynamicObject> =
                Api::namespaced_with(client.clone(), NAMESPACE, &quay_registry_resource());
            let registry = serde_json::to_value(registries.get("registry").await.unwrap()).unwrap();
            assert_eq!(component(&registry, "route")["managed"], false);
            assert_eq!(component(&registry, "tls")["managed"], false);
            assert_eq!(
                registry["status"]["registryEndpoint"],
                format!("https://{HOSTNAME}")
            );
            // What the user's ingress or load balancer sends SERVER_HOSTNAME to.
            let services: Api<DynamicObject> =
                Api::namespaced_with(client.clone(), NAMESPACE, &api_resource("v1", "Service"));
            assert!(
                services
                    .get_opt("registry-quay-app")
                    .await
                    .unwrap()
                    .is_some()
            );
            let secrets: Api<k8s_openapi::api::core::v1::Secret> =
                Api::namespaced(client, NAMESPACE);
            let data = secrets.get(&bundle).await.unwrap().data.unwrap();
            assert!(
                data.contains_key("ssl.cert") && data.contains_key("ssl.key"),
                "the bundle lacks the certificate: {:?}",
                data.keys()
            );
            registry["metadata"]["generation"].clone()
        });
        let replan = dir.plan().unwrap();
        assert_eq!(replan.exit, PlanExit::NoChanges, "{:#?}", replan.events);

        // The user's Ingress for SERVER_HOSTNAME, and the address its controller publishes.
        runtime.block_on(async {
            let client = site.cluster.client().await.unwrap();
            let ingresses: Api<k8s_openapi::api::networking::v1::Ingress> =
                Api::namespaced(client, NAMESPACE);
            let ingress: k8s_openapi::api::networking::v1::Ingress =
                serde_json::from_value(serde_json::json!({
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "Ingress",
                    "metadata": {"name": "quay", "namespace": NAMESPACE},
                    "spec": {"rules": [{"host": HOSTNAME, "http": {"paths": [{
                        "path": "/", "pathType": "Prefix",
                        "backend": {"service": {"name": "registry-quay-app", "port": {"number": 443}}},
                    }]}}]},
                }))
            .unwrap();
            ingresses
                .create(&kube::api::PostParams::default(), &ingress)
                .await
                .unwrap();
            let status = serde_json::json!({"status": {"loadBalancer": {"ingress": [
                {"hostname": LOAD_BALANCER},
            ]}}});
            ingresses
                .patch_status(
                    "quay",
                    &kube::api::PatchParams::default(),
                    &kube::api::Patch::Merge(status),
                )
                .await
                .unwrap();
        });
        dir.write_main_tf(&format!("{}{READ_SITE}", main_tf(false)))
            .unwrap();
        let read = dir.apply().unwrap();
        assert!(read.succeeded(), "{:#?}", read.events);
        let outputs = dir.output_json().unwrap();
        for output in ["target", "read_target"] {
            assert_eq!(outputs[output].value, LOAD_BALANCER, "{output}");
        }
        assert_eq!(outputs["read_site_hostname"].value, "");
        assert_eq!(outputs["read_route_host"].value, "");

        // Asking the live site for a managed Route: refused at apply, nothing changed.
        dir.write_main_tf(&main_tf(true)).unwrap();
        let refused = dir.apply().unwrap();
        assert!(!refused.succeeded());
        let errors: Vec<_> = refused.events.errors().collect();
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert_eq!(errors[0].summary, "Routes Not Available");
        assert!(
            errors[0].detail.contains("route { managed = false }")
                && errors[0].detail.contains("nothing was created"),
            "{}",
            errors[0].detail
        );
        runtime.block_on(async {
            let client = site.cluster.client().await.unwrap();
            let registries: Api<DynamicObject> =
                Api::namespaced_with(client, NAMESPACE, &quay_registry_resource());
            let registry = serde_json::to_value(registries.get("registry").await.unwrap()).unwrap();
            assert_eq!(component(&registry, "route")["managed"], false);
            assert_eq!(registry["metadata"]["generation"], generation);
        });
        dir.write_main_tf(&main_tf(false)).unwrap();
        let back = dir.plan().unwrap();
        assert_eq!(back.exit, PlanExit::NoChanges, "{:#?}", back.events);

        let destroyed = dir.destroy().unwrap();
        assert!(destroyed.succeeded(), "{:#?}", destroyed.events);
        runtime.block_on(async {
            let client = site.cluster.client().await.unwrap();
            let namespaces: Api<DynamicObject> =
                Api::all_with(client, &api_resource("v1", "Namespace"));
            assert!(
                namespaces.get_opt(NAMESPACE).await.unwrap().is_none(),
                "destroy left the namespace it created"
            );
        });
        assert_eq!(env.ledger().violations(), []);
        local.stop();
    });
}
