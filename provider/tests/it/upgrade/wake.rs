//! The upgrade's watches ([`Wakeups`]): a change of what a round waits on ends the pause.
//! Without them the loop would only poll; these tests would then wait out their timeouts.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use serde_json::json;
use terraform_provider_quay::orchestrate::Wakeups;
use tokio::time::timeout;

use super::{NAME, NS, OPERATOR_NS, clusters, qr_api, request, start_site};
use georep_harness::sim::Flavour;

/// Longest wait for a wake-up that must come (a bound, not a measurement).
const MUST_WAKE: Duration = Duration::from_secs(10);
/// How long an unwatched change is given to (wrongly) wake the loop.
const MUST_NOT_WAKE: Duration = Duration::from_secs(2);

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

/// Annotates the object `name` through `api` and requires a wake-up within [`MUST_WAKE`].
async fn touch_and_expect_wake<K>(api: &Api<K>, name: &str, wakeups: &Wakeups, what: &str)
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned,
{
    let annotate = json!({"metadata": {"annotations": {"example.com/touched": "1"}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&annotate))
        .await
        .unwrap();
    timeout(MUST_WAKE, wakeups.changed())
        .await
        .unwrap_or_else(|_| panic!("a change of {what} did not wake the loop"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_secondarys_registry_and_an_operator_deployment_change_wake_the_loop() {
    let sites = vec![
        start_site("us_east", Flavour::Kubernetes).await,
        start_site("eu_west", Flavour::Kubernetes).await,
    ];
    let wakeups = Wakeups::start(&clusters(&sites), &request(&sites, "deployment")).await;
    settle(&wakeups).await;

    let registry = qr_api(&sites[1].client);
    touch_and_expect_wake(&registry, NAME, &wakeups, "eu_west's QuayRegistry").await;
    settle(&wakeups).await;
    let operator = Api::<Deployment>::namespaced(sites[0].client.clone(), OPERATOR_NS);
    touch_and_expect_wake(&operator, "quay-operator", &wakeups, "us_east's operator").await;
    settle(&wakeups).await;

    // Nothing here reacts to a ConfigMap of the site's namespace, and no watch covers it.
    let unwatched = serde_json::from_value::<ConfigMap>(json!({
        "metadata": {"name": "unrelated", "namespace": NS}, "data": {"a": "1"}
    }))
    .unwrap();
    Api::<ConfigMap>::namespaced(sites[1].client.clone(), NS)
        .create(&PostParams::default(), &unwatched)
        .await
        .unwrap();
    assert!(
        timeout(MUST_NOT_WAKE, wakeups.changed()).await.is_err(),
        "a ConfigMap nobody waits on woke the loop"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_olm_subscription_change_wakes_the_loop() {
    let sites = vec![
        start_site("us_east", Flavour::Openshift).await,
        start_site("eu_west", Flavour::Openshift).await,
    ];
    let wakeups = Wakeups::start(&clusters(&sites), &request(&sites, "olm")).await;
    // OLM's model may still be settling the install: wait for quiet first.
    settle(&wakeups).await;
    let gvk = GroupVersionKind::gvk("operators.coreos.com", "v1alpha1", "Subscription");
    let subscriptions = Api::<DynamicObject>::namespaced_with(
        sites[1].client.clone(),
        OPERATOR_NS,
        &ApiResource::from_gvk_with_plural(&gvk, "subscriptions"),
    );
    touch_and_expect_wake(
        &subscriptions,
        "quay-operator",
        &wakeups,
        "eu_west's Subscription",
    )
    .await;
}
