//! The upgrade loop against simulated OLM catalogs that moved on: a channel whose head is a
//! patch the provider never heard of, and an InstallPlan shared with another operator of the
//! namespace. The stand-in operator of the parent module plays the Quay Operator.

use georep_harness::sim::olm::catalogue::{self as sim_catalogue, Entry};
use terraform_provider_quay::georep::upgrade::{UpgradeError, catalogue};

use super::*;

/// A patch of 3.15 newer than every one the provider's catalogue lists.
const UNHEARD_OF: &str = "3.15.9";

fn package_manifests(client: &Client) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("packages.operators.coreos.com", "v1", "PackageManifest");
    Api::namespaced_with(
        client.clone(),
        OPERATOR_NS,
        &ApiResource::from_gvk_with_plural(&gvk, "packagemanifests"),
    )
}

/// Publishes [`UNHEARD_OF`] in `stable-3.15` on every site, and waits until each site's
/// PackageManifest shows it (what preflight reads).
async fn publish_unheard_of_patch(sites: &[Site]) {
    assert!(
        catalogue().release(UNHEARD_OF.parse().unwrap()).is_err(),
        "the provider must not know {UNHEARD_OF}"
    );
    for site in sites {
        site.olm
            .as_ref()
            .unwrap()
            .publish("stable-3.15", Entry::release(UNHEARD_OF))
            .unwrap();
    }
    let wanted = format!("quay-operator.v{UNHEARD_OF}");
    let deadline = Instant::now() + Duration::from_secs(10);
    for site in sites {
        loop {
            let manifest = package_manifests(&site.client)
                .get_opt(sim_catalogue::PACKAGE)
                .await
                .unwrap();
            let head = manifest.as_ref().and_then(|m| {
                m.data["status"]["channels"]
                    .as_array()?
                    .iter()
                    .find(|c| c["name"] == "stable-3.15")
                    .map(|c| c["currentCSV"].clone())
            });
            if head == Some(json!(wanted)) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{}: the PackageManifest shows {head:?}",
                site.key
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn secondaries_untouched(sites: &[Site]) {
    for site in &sites[1..] {
        let qr = qr_api(&site.client).get(NAME).await.unwrap();
        assert_eq!(
            qr.data["spec"]["components"][0]["overrides"]["replicas"],
            json!(2),
            "{}",
            site.key
        );
    }
}

/// Runs the upgrade to `request`, which preflight must refuse: returns the refusal after
/// checking that no step was taken and the secondaries still have their replicas.
async fn refused_before_any_change(sites: &[Site], request: &UpgradeRequest) -> UpgradeError {
    let err = run(
        &clusters(sites),
        request,
        Instant::now() + Duration::from_secs(30),
        &StopToken::never(),
        |_| {},
    )
    .await
    .unwrap_err();
    let RunError::Upgrade { source, steps } = err else {
        panic!("expected a refusal, got {err:?}");
    };
    assert!(steps.is_empty(), "{steps:?}");
    secondaries_untouched(sites).await;
    source
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_minor_target_installs_the_channel_head_the_provider_never_heard_of() {
    let (sites, world, tasks) = three_sites(Flavour::Openshift).await;
    publish_unheard_of_patch(&sites).await;
    let ticks_before = world.lock().unwrap().ticks.clone();
    let steps = run(
        &clusters(&sites),
        &request_to(&sites, "olm", "3.15"),
        Instant::now() + Duration::from_secs(90),
        &StopToken::never(),
        |_| {},
    )
    .await
    .unwrap();
    let text: Vec<String> = steps.iter().map(|s| s.what.clone()).collect();
    assert!(
        text.iter().any(|s| s.contains(
            "approved InstallPlan install-quay-operator-v3-15-9 (quay-operator.v3.15.9) on us_east"
        )),
        "{text:#?}"
    );
    assert!(
        text.last().unwrap().contains(UNHEARD_OF),
        "{:?}",
        text.last()
    );
    assert_upgraded_to_and_restored(&sites, UNHEARD_OF).await;
    world.lock().unwrap().assert_ran_safely(&ticks_before);
    for t in tasks {
        t.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_release_the_channel_no_longer_offers_is_refused_before_any_change() {
    let (sites, _world, tasks) = three_sites(Flavour::Openshift).await;
    publish_unheard_of_patch(&sites).await;
    let source = refused_before_any_change(&sites, &request_to(&sites, "olm", TO)).await;
    assert!(
        matches!(source, UpgradeError::OfferMismatch { .. }),
        "{source:?}"
    );
    let text = source.to_string();
    assert!(
        text.contains("offers quay-operator.v3.15.9 (Quay 3.15.9), not Quay 3.15.7"),
        "{text}"
    );
    for t in tasks {
        t.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_operators_pending_upgrade_in_the_namespace_is_refused_before_any_change() {
    let (sites, _world, tasks) = three_sites(Flavour::Openshift).await;
    // Another operator in the same namespace, with an upgrade pending: OLM would put its CSV
    // into the Quay CSV's InstallPlan (the simulated OLM does, see harness/tests/it/olm.rs).
    let subs = {
        let gvk = GroupVersionKind::gvk("operators.coreos.com", "v1alpha1", "Subscription");
        Api::<DynamicObject>::namespaced_with(
            sites[1].client.clone(),
            OPERATOR_NS,
            &ApiResource::from_gvk_with_plural(&gvk, "subscriptions"),
        )
    };
    let etcd = json!({"apiVersion": "operators.coreos.com/v1alpha1", "kind": "Subscription",
        "metadata": {"name": "etcd", "namespace": OPERATOR_NS},
        "spec": {"name": "etcd", "channel": "singlenamespace-alpha", "source": "community-operators",
                 "sourceNamespace": "openshift-marketplace", "installPlanApproval": "Manual"}});
    subs.patch(
        "etcd",
        &PatchParams::apply("test").force(),
        &Patch::Apply(&etcd),
    )
    .await
    .unwrap();
    subs.patch_status(
        "etcd",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"installedCSV": "etcdoperator.v0.9.2",
            "currentCSV": "etcdoperator.v0.9.4", "state": "UpgradePending"}})),
    )
    .await
    .unwrap();
    let source = refused_before_any_change(&sites, &request(&sites, "olm")).await;
    assert!(
        matches!(source, UpgradeError::OtherOperatorsPending { .. }),
        "{source:?}"
    );
    let text = source.to_string();
    assert!(text.contains("etcdoperator.v0.9.4"), "{text}");
    assert!(text.contains("eu_west/quay/registry"), "{text}");
    for t in tasks {
        t.abort();
    }
}

#[test]
fn the_default_operator_image_of_every_release_is_what_the_simulators_install() {
    for channel in sim_catalogue::catalogue().channels() {
        for entry in &channel.entries {
            let provider = catalogue().release(entry.version.parse().unwrap()).unwrap();
            assert_eq!(provider.operator_image(), entry.image, "{}", entry.version);
            assert_eq!(provider.csv(), entry.csv, "{}", entry.version);
            let deployment = georep_harness::sim::operator::operator_deployment::manifest(
                "quay-operator",
                entry.version.parse().unwrap(),
            );
            assert_eq!(
                deployment["spec"]["template"]["spec"]["containers"][0]["image"],
                json!(entry.image),
                "{}",
                entry.version
            );
        }
    }
}
