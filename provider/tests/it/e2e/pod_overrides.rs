//! Component overrides beyond replicas through the real Terraform CLI on the local backend: a
//! site whose `quay` block sets requests, limits, an anti-affinity, labels and annotations,
//! whose `mirror` block sets labels and whose `route` block labels and annotates the Route. The operator model applies them to the Deployments as the
//! operator's middleware does, after writing the spec's quantities back in Kubernetes'
//! canonical form; a second plan is empty all the same; an override changed on the live
//! QuayRegistry (as `kubectl edit` would) is reported as drift and the next apply puts it back.

use georep_harness::quay::{api_resource, quay_registry_resource};
use georep_harness::sim::Flavour;
use georep_harness::terraform::{PlanExit, TerraformBinary};
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use kube::api::{DynamicObject, Patch, PatchParams};
use serde_json::json;

use super::for_each_terraform;
use super::local_backend::{LocalRun, shared_config_tf};

const NAMESPACE: &str = "quay-enterprise";

const SITE: &str = r#"
resource "quay_georep_site" "us_east" {
  cluster     = "us_east"
  namespace   = "quay-enterprise"
  config_yaml = data.quay_georep_config.shared.config_yaml
  location    = "us_east"
  quay {
    replicas = 1
    # Not in canonical form: the operator writes them back as 500m, 1Gi and 1536Mi.
    requests = { cpu = "0.5", memory = "1024Mi" }
    limits   = { memory = "1.5Gi" }
    affinity = jsonencode({
      podAntiAffinity = {
        preferredDuringSchedulingIgnoredDuringExecution = [{
          weight          = 100
          podAffinityTerm = { topologyKey = "kubernetes.io/hostname" }
        }]
      }
    })
    labels      = { team = "registry" }
    annotations = { "example.com/owner" = "platform" }
  }
  mirror {
    labels = { team = "registry" }
  }
  route {
    labels      = { router = "internet" }
    annotations = { "haproxy.router.openshift.io/timeout" = "5m" }
  }
  clair {
    enabled = false
  }
}
"#;

fn main_tf() -> String {
    format!("{}{SITE}", shared_config_tf(&["us_east"], ""))
}

#[test]
fn pod_overrides_reach_the_deployments_and_a_live_edit_is_drift() {
    for_each_terraform(|tf: &TerraformBinary| {
        let local = LocalRun::start(&["us-east"], Flavour::Openshift);
        let (runtime, env) = (&local.runtime, &local.env);
        let dir = local.workdir(tf, "pod_overrides");
        dir.write_main_tf(&main_tf()).unwrap();

        let applied = dir.apply().unwrap();
        assert!(applied.succeeded(), "{:#?}", applied.events);
        let client = runtime.block_on(env.sites()[0].cluster.client()).unwrap();
        let deployment = |name: &str| {
            let found = runtime
                .block_on(Api::<Deployment>::namespaced(client.clone(), NAMESPACE).get(name))
                .unwrap();
            serde_json::to_value(found).unwrap()
        };
        let quay = deployment("registry-quay-app");
        let pod = &quay["spec"]["template"];
        assert_eq!(
            pod["spec"]["containers"][0]["resources"],
            json!({"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "1536Mi"}}),
            "the quantities the operator wrote back"
        );
        assert_eq!(
            pod["spec"]["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
                [0]["weight"],
            100
        );
        assert_eq!(pod["metadata"]["labels"]["team"], "registry");
        assert_eq!(
            pod["metadata"]["annotations"]["example.com/owner"],
            "platform"
        );
        let mirror = deployment("registry-quay-mirror");
        assert_eq!(
            mirror["spec"]["template"]["metadata"]["labels"]["team"],
            "registry"
        );
        assert!(
            mirror["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"].is_null(),
            "the quay block's limits stay on quay: {mirror:#}"
        );

        let routes: Api<DynamicObject> = Api::namespaced_with(
            client.clone(),
            NAMESPACE,
            &api_resource("route.openshift.io/v1", "Route"),
        );
        let route = runtime.block_on(routes.get("registry-quay")).unwrap();
        assert_eq!(
            route.metadata.labels.unwrap_or_default()["router"],
            "internet"
        );
        assert_eq!(
            route.metadata.annotations.unwrap_or_default()["haproxy.router.openshift.io/timeout"],
            "5m",
            "the route override wins over the operator's 30m"
        );

        let replan = dir.plan().unwrap();
        assert_eq!(replan.exit, PlanExit::NoChanges, "{:#?}", replan.events);

        // Someone edits the live registry: the quay component's labels change.
        let registries: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), NAMESPACE, &quay_registry_resource());
        let live = runtime.block_on(registries.get("registry")).unwrap();
        let mut components = live.data["spec"]["components"].clone();
        for component in components.as_array_mut().unwrap() {
            if component["kind"] == "quay" {
                component["overrides"]["labels"] = json!({"team": "someone-else"});
            }
        }
        runtime
            .block_on(registries.patch(
                "registry",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"components": components}})),
            ))
            .unwrap();
        let drifted = dir.plan().unwrap();
        assert_eq!(drifted.exit, PlanExit::Changes, "{:#?}", drifted.events);
        let reapplied = dir.apply().unwrap();
        assert!(reapplied.succeeded(), "{:#?}", reapplied.events);
        let live = runtime.block_on(registries.get("registry")).unwrap();
        let quay_component = live.data["spec"]["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["kind"] == "quay")
            .cloned()
            .unwrap();
        assert_eq!(
            quay_component["overrides"]["labels"],
            json!({"team": "registry"})
        );
        local.stop();
    });
}
