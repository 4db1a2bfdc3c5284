//! A site whose registry the operator once ran with a managed `horizontalpodautoscaler`, then
//! taken over by `resource "quay_georep_site"` through the real Terraform CLI: the operator
//! never deletes the HPAs it made, and a leftover HPA keeps scaling the site's Deployments
//! back into its bounds (the simulated HPA controller does what kube-controller-manager
//! does). The provider deletes them, so the site's explicit replicas hold.

use std::time::Duration;

use georep_harness::quay::{dynamic_api, quay_registry_resource};
use georep_harness::sim::Flavour;
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use kube::api::{DynamicObject, PostParams};
use serde_json::{Value, json};

use super::for_each_terraform;
use super::local_backend::{LocalRun, one_site_tf};

const NAMESPACE: &str = "quay-enterprise";
const DEADLINE: Duration = Duration::from_secs(60);

fn main_tf() -> String {
    one_site_tf(
        r#"  mirror {
    replicas = 1
  }
"#,
    )
}

/// The registry's components as the operator wants them with a managed HPA: no replicas
/// overrides (the operator refuses them next to a managed HPA).
fn with_managed_hpa(registry: &mut Value) {
    let components = registry["spec"]["components"].as_array_mut().unwrap();
    for c in components.iter_mut() {
        if c["kind"] == "horizontalpodautoscaler" {
            c["managed"] = json!(true);
        }
        if let Some(overrides) = c.get_mut("overrides").and_then(Value::as_object_mut) {
            overrides.remove("replicas");
        }
    }
}

#[test]
fn hpas_the_operator_left_are_removed_when_the_provider_takes_the_site_over() {
    for_each_terraform(|tf| {
        let local = LocalRun::start(&["us-east"], Flavour::Openshift);
        let (runtime, env) = (&local.runtime, &local.env);
        let site = &env.sites()[0];
        let dir = local.workdir(tf, "site_takeover_hpas");
        dir.write_main_tf(&main_tf()).unwrap();
        let applied = dir.apply().unwrap();
        assert!(applied.succeeded(), "{:#?}", applied.events);

        // Someone runs the registry with a managed HPA for a while: the operator makes HPAs.
        let client = runtime.block_on(site.cluster.client()).unwrap();
        let hpas = dynamic_api(
            &client,
            NAMESPACE,
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
        );
        runtime.block_on(async {
            let registries: Api<DynamicObject> =
                Api::namespaced_with(client.clone(), NAMESPACE, &quay_registry_resource());
            let mut registry =
                serde_json::to_value(registries.get("registry").await.unwrap()).unwrap();
            with_managed_hpa(&mut registry);
            let registry: DynamicObject = serde_json::from_value(registry).unwrap();
            registries
                .replace("registry", &PostParams::default(), &registry)
                .await
                .unwrap();
            let deadline = tokio::time::Instant::now() + DEADLINE;
            while hpas
                .get_opt("registry-quay-mirror")
                .await
                .unwrap()
                .is_none()
            {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the operator made no HPA"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });

        // Terraform takes the site back: HPA unmanaged, one mirror pod.
        let retaken = dir.apply().unwrap();
        assert!(retaken.succeeded(), "{:#?}", retaken.events);
        runtime.block_on(async {
            let left: Vec<String> = hpas
                .list(&Default::default())
                .await
                .unwrap()
                .items
                .iter()
                .map(|h| h.metadata.name.clone().unwrap_or_default())
                .collect();
            assert_eq!(left, Vec::<String>::new(), "the operator's HPAs are left");
            // With no HPA left, the mirror settles at the site's one replica and stays there
            // through several HPA controller periods (one second each in the simulator).
            let deployments: Api<Deployment> = Api::namespaced(client.clone(), NAMESPACE);
            let replicas = || async {
                deployments
                    .get("registry-quay-mirror")
                    .await
                    .unwrap()
                    .spec
                    .and_then(|s| s.replicas)
            };
            let deadline = tokio::time::Instant::now() + DEADLINE;
            while replicas().await != Some(1) {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the mirror never went to 1"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            for _ in 0..30 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                assert_eq!(
                    replicas().await,
                    Some(1),
                    "something scaled the mirror again"
                );
            }
        });
        assert_eq!(env.ledger().violations(), []);
        let destroyed = dir.destroy().unwrap();
        assert!(destroyed.succeeded(), "{:#?}", destroyed.events);
        local.stop();
    });
}
