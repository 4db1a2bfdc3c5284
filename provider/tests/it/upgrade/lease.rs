//! The upgrade Lease against simulated clusters: a write whose reply was lost, holders whose
//! clocks are off, and runs from two workspaces of one directory.

use std::time::Duration;

use georep_harness::sim::{FaultKind, FaultRule, Flavour};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use terraform_provider_quay::framework::StopToken;
use terraform_provider_quay::georep::upgrade::{Timestamp, UpgradeError};
use terraform_provider_quay::orchestrate::clock::{micro_time, now};
use terraform_provider_quay::orchestrate::{RunError, run};
use tokio::time::Instant;

use super::{NAME, NS, Site, assert_upgraded_and_restored, clusters, qr_api, request, three_sites};

fn lease(holder: &str, renewed: Timestamp, seconds: u64) -> Value {
    json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "quay-georep-upgrade", "namespace": NS},
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": seconds,
                 "renewTime": micro_time(renewed)}})
}

async fn create_lease(site: &Site, object: Value) {
    Api::<Lease>::namespaced(site.client.clone(), NS)
        .create(
            &PostParams::default(),
            &serde_json::from_value(object).unwrap(),
        )
        .await
        .unwrap();
}

async fn secondaries_untouched(sites: &[Site]) {
    for site in &sites[1..] {
        let qr = qr_api(&site.client).get(NAME).await.unwrap();
        assert_eq!(
            qr.data["spec"]["components"][0]["overrides"]["replicas"],
            json!(2),
            "{} was changed",
            site.key
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lease_write_whose_reply_was_lost_is_recognised_as_ours() {
    let (sites, _world, tasks) = three_sites(Flavour::Kubernetes).await;
    // The create lands, its answer is a 500; the retry then meets a 409.
    sites[0].sim.faults().inject(FaultRule {
        verb: Some("create".into()),
        resource: Some("leases".into()),
        name: None,
        count: 1,
        fault: FaultKind::LostReply,
    });
    let result = run(
        &clusters(&sites),
        &request(&sites, "deployment").with_holder("terraform@h:/w[default]#one"),
        Instant::now() + Duration::from_secs(90),
        &StopToken::never(),
        |_| {},
    )
    .await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(
        sites[0].sim.faults().rules(),
        [],
        "the lost reply was never met"
    );
    assert_upgraded_and_restored(&sites).await;
    for t in tasks {
        t.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_live_lease_written_on_a_clock_an_hour_behind_is_not_taken_over() {
    let (sites, _world, tasks) = three_sites(Flavour::Kubernetes).await;
    // By its own clock the holder renewed an hour ago; it is alive and keeps renewing.
    let behind = |t: Timestamp| Timestamp::from_unix_seconds(t.unix_seconds() - 3600);
    create_lease(&sites[0], lease("slow-clock-run", behind(now()), 600)).await;
    let client = sites[0].client.clone();
    let renewer = tokio::spawn(async move {
        let leases = Api::<Lease>::namespaced(client, NS);
        loop {
            tokio::time::sleep(Duration::from_millis(150)).await;
            let patch = json!({"spec": {"renewTime": micro_time(behind(now()))},
                "metadata": {"annotations": {"renewals": format!("{:?}", std::time::Instant::now())}}});
            let _ = leases
                .patch(
                    "quay-georep-upgrade",
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await;
        }
    });
    let err = run(
        &clusters(&sites),
        &request(&sites, "deployment"),
        Instant::now() + Duration::from_secs(30),
        &StopToken::never(),
        |_| {},
    )
    .await
    .unwrap_err();
    renewer.abort();
    assert!(
        matches!(&err, RunError::Upgrade { source: UpgradeError::LeaseHeld { holder, .. }, .. } if holder == "slow-clock-run"),
        "{err:?}"
    );
    assert!(err.steps().is_empty());
    secondaries_untouched(&sites).await;
    for t in tasks {
        t.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lease_that_looks_lapsed_is_taken_over_only_after_going_unrenewed_for_its_duration() {
    let (sites, _world, tasks) = three_sites(Flavour::Kubernetes).await;
    // Written on a clock an hour ahead, then never renewed: it must not hold for an hour,
    // nor be taken before it has gone unrenewed for its 2 s here.
    let ahead = Timestamp::from_unix_seconds(now().unix_seconds() + 3600);
    create_lease(&sites[0], lease("dead-fast-clock-run", ahead, 2)).await;
    let mut statuses = Vec::new();
    let result = run(
        &clusters(&sites),
        &request(&sites, "deployment"),
        Instant::now() + Duration::from_secs(90),
        &StopToken::never(),
        |status| statuses.push(status.to_owned()),
    )
    .await;
    assert!(result.is_ok(), "{result:?}");
    assert!(
        statuses
            .iter()
            .any(|s| s.contains("dead-fast-clock-run") && s.contains("if it is not renewed")),
        "the run did not wait for the Lease: {statuses:#?}"
    );
    assert_upgraded_and_restored(&sites).await;
    for t in tasks {
        t.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workspaces_of_one_directory_are_two_holders_and_a_killed_run_resumes_in_its_own() {
    let (sites, _world, tasks) = three_sites(Flavour::Kubernetes).await;
    // A run of workspace "blue" holds the Lease (it was killed a moment ago).
    create_lease(&sites[0], lease("terraform@h:/work[blue]#7f3a", now(), 600)).await;
    let green = run(
        &clusters(&sites),
        &request(&sites, "deployment").with_holder("terraform@h:/work[green]#1b2c"),
        Instant::now() + Duration::from_secs(30),
        &StopToken::never(),
        |_| {},
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            &green,
            RunError::Upgrade {
                source: UpgradeError::LeaseHeld { .. },
                ..
            }
        ),
        "{green:?}"
    );
    secondaries_untouched(&sites).await;
    // Applied again in "blue" (a new process, a new nonce): it resumes at once.
    let blue = run(
        &clusters(&sites),
        &request(&sites, "deployment").with_holder("terraform@h:/work[blue]#99aa"),
        Instant::now() + Duration::from_secs(90),
        &StopToken::never(),
        |_| {},
    )
    .await;
    assert!(blue.is_ok(), "{blue:?}");
    assert_upgraded_and_restored(&sites).await;
    for t in tasks {
        t.abort();
    }
}
