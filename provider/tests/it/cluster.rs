//! The cluster layer against a simulated cluster over HTTPS with a kubeconfig, as against a
//! real one: apply, read, list, patch, delete, waits, retries and error messages.

use std::collections::BTreeMap;
use std::time::Duration;

use georep_harness::sim::{ClusterConfig, SimCluster, install_crypto_provider};
use georep_harness::sim::{FaultKind, FaultRule};
use serde_json::{Value, json};
use terraform_provider_quay::cluster::{
    Check, Cluster, ClusterSpec, Clusters, Deleted, Error, Kind, KubeconfigSource, WaitOptions,
};
use terraform_provider_quay::framework::StopToken;
use terraform_provider_quay::georep::secret::Secret;
use tokio::time::Instant;

async fn sim() -> SimCluster {
    install_crypto_provider();
    SimCluster::start(ClusterConfig::new("site-a"))
        .await
        .unwrap()
}

fn clusters_for(sim: &SimCluster) -> Clusters {
    let spec = ClusterSpec {
        kubeconfig: KubeconfigSource::Content(Secret::new(sim.kubeconfig().unwrap())),
        context: Some("site-a".into()),
    };
    Clusters::new(BTreeMap::from([("us_east".to_owned(), spec)]))
}

async fn cluster(sim: &SimCluster) -> Cluster {
    clusters_for(sim).get("us_east").await.unwrap()
}

fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

fn secret(name: &str, value: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": "quay", "labels": {"app": "quay"}},
        "data": {"k": value},
    })
}

fn options(what: &str, wait: Duration) -> WaitOptions {
    WaitOptions {
        what: what.into(),
        deadline: Instant::now() + wait,
        stop: StopToken::new().1,
    }
}

#[tokio::test]
async fn apply_read_list_patch_and_delete_round_trip() {
    let sim = sim().await;
    let c = cluster(&sim).await;
    c.apply(&namespace("quay")).await.unwrap();
    let stored = c.apply(&secret("bundle", "YQ==")).await.unwrap();
    assert_eq!(stored["data"]["k"], "YQ==");
    let managers: Vec<&str> = stored["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert_eq!(managers, ["terraform-provider-quay"]);

    let read = c
        .get(&Kind::SECRET, Some("quay"), "bundle")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read["metadata"]["uid"], stored["metadata"]["uid"]);
    assert!(
        c.get(&Kind::SECRET, Some("quay"), "missing")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        c.list(&Kind::SECRET, Some("quay"), "app=quay")
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        c.list(&Kind::SECRET, Some("quay"), "app=other")
            .await
            .unwrap()
            .is_empty()
    );

    let patched = c
        .merge_patch(
            &Kind::SECRET,
            Some("quay"),
            "bundle",
            &json!({"data": {"k": "Yg=="}}),
        )
        .await
        .unwrap();
    assert_eq!(patched["data"]["k"], "Yg==");
    assert_eq!(
        c.delete(&Kind::SECRET, Some("quay"), "bundle")
            .await
            .unwrap(),
        Deleted::Gone
    );
    assert_eq!(
        c.delete(&Kind::SECRET, Some("quay"), "bundle")
            .await
            .unwrap(),
        Deleted::Gone
    );
}

#[tokio::test]
async fn applying_the_same_manifest_twice_writes_nothing_new() {
    let sim = sim().await;
    let c = cluster(&sim).await;
    c.apply(&namespace("quay")).await.unwrap();
    let first = c.apply(&secret("bundle", "YQ==")).await.unwrap();
    let second = c.apply(&secret("bundle", "YQ==")).await.unwrap();
    assert_eq!(
        first["metadata"]["resourceVersion"],
        second["metadata"]["resourceVersion"]
    );
}

#[tokio::test]
async fn one_client_per_cluster_is_built_and_reused() {
    let sim = sim().await;
    let clusters = clusters_for(&sim);
    assert_eq!(clusters.clients_built(), 0, "configuring must not connect");
    for _ in 0..3 {
        clusters
            .get("us_east")
            .await
            .unwrap()
            .get(&Kind::NAMESPACE, None, "default")
            .await
            .unwrap();
    }
    assert_eq!(clusters.clients_built(), 1);
}

#[tokio::test]
async fn unknown_cluster_names_the_declared_ones() {
    let sim = sim().await;
    let err = clusters_for(&sim).get("eu_west").await.unwrap_err();
    assert!(matches!(err, Error::UnknownCluster { .. }));
    assert!(err.to_string().contains("us_east"), "{err}");
}

#[tokio::test]
async fn missing_kubeconfig_file_is_reported_with_its_path() {
    let spec = ClusterSpec {
        kubeconfig: KubeconfigSource::Path("/nonexistent/kubeconfig.yaml".into()),
        context: None,
    };
    let clusters = Clusters::new(BTreeMap::from([("a".to_owned(), spec)]));
    let err = clusters.get("a").await.unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/kubeconfig.yaml"),
        "{err}"
    );
    assert!(err.hint().contains("kubeconfig_path"), "{}", err.hint());
}

#[tokio::test]
async fn server_errors_and_throttling_are_retried() {
    let sim = sim().await;
    let c = cluster(&sim).await;
    c.apply(&namespace("quay")).await.unwrap();
    sim.faults().inject(FaultRule {
        verb: Some("patch".into()),
        resource: Some("secrets".into()),
        name: None,
        count: 2,
        fault: FaultKind::InternalError,
    });
    sim.faults().inject(FaultRule {
        verb: Some("get".into()),
        resource: Some("secrets".into()),
        name: None,
        count: 1,
        fault: FaultKind::TooManyRequests {
            retry_after_seconds: 1,
        },
    });
    c.apply(&secret("bundle", "YQ==")).await.unwrap();
    assert!(
        c.get(&Kind::SECRET, Some("quay"), "bundle")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        sim.faults().counters().by_verb.get("patch"),
        Some(&4),
        "1 namespace + 2 failed + 1"
    );
}

#[tokio::test]
async fn conflicts_are_not_retried_and_say_what_to_do() {
    let sim = sim().await;
    let c = cluster(&sim).await;
    c.apply(&namespace("quay")).await.unwrap();
    sim.faults().inject(FaultRule {
        verb: Some("patch".into()),
        resource: Some("secrets".into()),
        name: None,
        count: 5,
        fault: FaultKind::Conflict,
    });
    let err = c.apply(&secret("bundle", "YQ==")).await.unwrap_err();
    assert!(err.to_string().contains("Secret quay/bundle"), "{err}");
    assert!(err.to_string().contains("us_east"), "{err}");
    assert!(err.hint().contains("another client"), "{}", err.hint());
    assert_eq!(
        sim.faults().counters().by_verb.get("patch"),
        Some(&2),
        "namespace + one try"
    );
}

#[tokio::test]
async fn an_invalid_object_is_refused_with_the_clusters_reason() {
    let sim = sim().await;
    let c = cluster(&sim).await;
    c.apply(&namespace("quay")).await.unwrap();
    let bad = json!({
        "apiVersion": "quay.redhat.com/v1", "kind": "QuayRegistry",
        "metadata": {"name": "registry", "namespace": "quay"},
        "spec": {"components": [{"kind": "not-a-component", "managed": true}]},
    });
    let err = c.apply(&bad).await.unwrap_err();
    let chain = format!(
        "{err}: {}",
        std::error::Error::source(&err)
            .map(ToString::to_string)
            .unwrap_or_default()
    );
    assert!(chain.contains("QuayRegistry quay/registry"), "{chain}");
    assert!(err.hint().contains("invalid"), "{}", err.hint());
}

/// Starts a wait, bounded by `bound`, for the Secret `quay/late` to exist.
fn wait_for_late_secret(
    c: &Cluster,
    bound: Duration,
) -> tokio::task::JoinHandle<Result<Option<Value>, Error>> {
    let waiter = c.clone();
    tokio::spawn(async move {
        waiter
            .wait_for(
                &Kind::SECRET,
                Some("quay"),
                "late",
                &options("Secret late", bound),
                |o| {
                    if o.is_some() {
                        Check::Done
                    } else {
                        Check::Pending("absent".into())
                    }
                },
            )
            .await
    })
}

#[tokio::test]
async fn wait_returns_when_the_object_appears() {
    let sim = sim().await;
    let c = cluster(&sim).await;
    c.apply(&namespace("quay")).await.unwrap();
    let wait = wait_for_late_secret(&c, Duration::from_secs(20));
    // Write only once the wait has found no Secret and watches for one, so the wait must
    // see it arrive rather than find it on its first read.
    tokio::time::timeout(
        Duration::from_secs(20),
        sim.watches().wait_for("secrets", 1),
    )
    .await
    .expect("the wait's watch is open");
    c.apply(&secret("late", "YQ==")).await.unwrap();
    let found = tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .expect("the wait ended")
        .unwrap()
        .unwrap();
    assert_eq!(found.unwrap()["metadata"]["name"], "late");
}

/// The `watch` requests `sim` has answered so far (failed ones included).
fn watch_requests(sim: &SimCluster) -> u64 {
    sim.faults()
        .counters()
        .by_verb
        .get("watch")
        .copied()
        .unwrap_or(0)
}

/// Each drop comes only once the wait's watch is open (so it really ends a watch the wait
/// relies on), and the next drop only once the wait has watched again: a wait that stopped
/// watching after the first drop, or never watched, would be caught here instead of being
/// rescued by its polling fall-back.
#[tokio::test]
async fn wait_survives_dropped_watches() {
    const DROPS: u64 = 3;
    let sim = sim().await;
    let c = cluster(&sim).await;
    c.apply(&namespace("quay")).await.unwrap();
    let wait = wait_for_late_secret(&c, Duration::from_secs(60));
    for drop in 1..=DROPS {
        // The wait re-watches after its poll interval: give it a few of them.
        let deadline = Instant::now() + Duration::from_secs(30);
        while watch_requests(&sim) < drop {
            assert!(
                Instant::now() < deadline,
                "the wait made {} watch requests, expected {drop} before drop {drop}",
                watch_requests(&sim)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::timeout(
            Duration::from_secs(30),
            sim.watches().wait_for("secrets", 1),
        )
        .await
        .expect("the wait's watch is open");
        sim.faults().close_watches();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while watch_requests(&sim) <= DROPS {
        assert!(
            Instant::now() < deadline,
            "the wait did not watch again after the last drop"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    c.apply(&secret("late", "YQ==")).await.unwrap();
    let found = tokio::time::timeout(Duration::from_secs(60), wait)
        .await
        .expect("the wait ended")
        .unwrap()
        .unwrap();
    assert!(found.is_some());
    assert!(
        watch_requests(&sim) > DROPS,
        "{} watch requests for {DROPS} dropped watches",
        watch_requests(&sim)
    );
}

#[tokio::test]
async fn wait_times_out_with_what_it_last_saw() {
    let sim = sim().await;
    let c = cluster(&sim).await;
    let err = c
        .wait_for(
            &Kind::SECRET,
            Some("quay"),
            "never",
            &options("Secret never", Duration::from_millis(300)),
            |_| Check::Pending("still absent".into()),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(err.to_string().contains("still absent"), "{err}");
}

#[tokio::test]
async fn wait_fails_fast_when_the_check_says_so() {
    let sim = sim().await;
    let c = cluster(&sim).await;
    let err = c
        .wait_for(
            &Kind::NAMESPACE,
            None,
            "default",
            &options("namespace", Duration::from_secs(20)),
            |_| Check::Failed("RolloutBlocked: ConfigInvalid".into()),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::WaitFailed { .. }));
    assert!(err.to_string().contains("ConfigInvalid"), "{err}");
}

#[tokio::test]
async fn wait_stops_when_terraform_asks() {
    let sim = sim().await;
    let c = cluster(&sim).await;
    let (stop_tx, stop) = StopToken::new();
    let opts = WaitOptions {
        what: "forever".into(),
        deadline: Instant::now() + Duration::from_secs(60),
        stop,
    };
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let _ = stop_tx.send(true);
    });
    let err = c
        .wait_for(&Kind::SECRET, Some("quay"), "never", &opts, |_| {
            Check::Pending("absent".into())
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Stopped { .. }), "{err}");
}

#[tokio::test]
async fn unreachable_cluster_fails_after_bounded_retries_with_a_network_hint() {
    let sim = sim().await;
    let c = cluster(&sim).await;
    sim.faults().set_unreachable(true);
    let err = c.get(&Kind::NAMESPACE, None, "default").await.unwrap_err();
    assert!(
        err.hint().contains("could not be reached"),
        "{err}: {}",
        err.hint()
    );
    sim.faults().set_unreachable(false);
    assert!(
        c.get(&Kind::NAMESPACE, None, "default")
            .await
            .unwrap()
            .is_some()
    );
}
