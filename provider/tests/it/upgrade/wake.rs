//! The upgrade's watches ([`Wakeups`]): a change of what a round waits on ends the pause.
//! Without them the loop would only poll; these tests would then wait out their timeouts.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use terraform_provider_quay::orchestrate::Wakeups;
use tokio::time::timeout;

use super::{NAME, OPERATOR_NS, clusters, qr_api, request, start_site};
use georep_harness::sim::Flavour;

/// Longest wait for a wake-up that must come (a bound, not a measurement).
const MUST_WAKE: Duration = Duration::from_secs(10);

/// Waits until the watches have been quiet for a second: the first lists wake the loop too.
async fn settle(wakeups: &Wakeups) {
    for _ in 0..20 {
        if timeout(Duration::from_secs(1), wakeups.changed())
            .await
            .is_err()
        {
            return;
        }
    }
    panic!("the watches never went quiet");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_secondarys_registry_and_an_operator_deployment_change_wake_the_loop() {
    let sites = vec![
        start_site("us_east", Flavour::Kubernetes).await,
        start_site("eu_west", Flavour::Kubernetes).await,
    ];
    let wakeups = Wakeups::start(&clusters(&sites), &request(&sites, "deployment")).await;
    settle(&wakeups).await;

    let annotate = json!({"metadata": {"annotations": {"example.com/touched": "1"}}});
    qr_api(&sites[1].client)
        .patch(NAME, &PatchParams::default(), &Patch::Merge(&annotate))
        .await
        .unwrap();
    timeout(MUST_WAKE, wakeups.changed())
        .await
        .expect("a change of eu_west's QuayRegistry did not wake the loop");
    settle(&wakeups).await;

    Api::<Deployment>::namespaced(sites[0].client.clone(), OPERATOR_NS)
        .patch(
            "quay-operator",
            &PatchParams::default(),
            &Patch::Merge(&annotate),
        )
        .await
        .unwrap();
    timeout(MUST_WAKE, wakeups.changed())
        .await
        .expect("a change of us_east's operator Deployment did not wake the loop");
}
