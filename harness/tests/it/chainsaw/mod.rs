//! quay-operator's own Chainsaw end-to-end cases (`tests/fixtures/chainsaw/`, see its
//! README) run against a simulated OpenShift cluster with the operator model, by a small
//! runner of ours ([`runner`], [`matching`]) with upstream's `values-openshift.yaml`.
//!
//! The cases are the real operator's contract, so they are the yardstick of the simulator.
//! Every case has an expected result in [`CASES`] (and the same table in the doc of
//! `georep_harness::sim::operator`): a case the simulator cannot pass is an *expected
//! failure*, checked to still fail at the step and for the reason the table gives, so the
//! table stays true; when a fix makes it pass, the test fails until the table says so.
//!
//! [`unblocked`] runs the cases' own checks of what the operator renders with the components
//! the simulator never deploys set unmanaged, so those checks are not hidden behind the
//! expected failures.

mod matching;
mod runner;
mod unblocked;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use georep_harness::errors::chain;
use georep_harness::quay::Catalogue;
use georep_harness::services::SharedServices;
use georep_harness::sim::operator::managed::{self, BackingServices};
use georep_harness::sim::operator::{OperatorModel, OperatorOptions};
use georep_harness::sim::{ClusterConfig, Flavour, SimCluster};

use runner::{Failure, Runner};

/// What a case is expected to do on the simulator.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Every step passes.
    Pass,
    /// It fails at `step`, with a message containing `contains`, because `reason`.
    Fail {
        step: &'static str,
        contains: &'static str,
        reason: &'static str,
    },
}

/// The cases, their expected results and why (keep in step with the table in
/// `harness/src/sim/operator/mod.rs`).
const CASES: &[(&str, Expect)] = &[
    ("hpa", Expect::Pass),
    ("reconcile", Expect::Pass),
    ("resource_overrides", Expect::Pass),
    ("clair_ephemeral_volume", Expect::Pass),
    ("unmanaged_clair", Expect::Pass),
    (
        "unmanaged_postgres",
        Expect::Fail {
            step: "deploy-external-postgres",
            contains: "readyReplicas",
            reason: "the case deploys its own PostgreSQL image; Deployments the simulator \
                     does not own get no pods",
        },
    ),
    (
        "unmanaged_redis",
        Expect::Fail {
            step: "deploy-external-redis",
            contains: "readyReplicas",
            reason: "the case deploys its own Redis image; Deployments the simulator does \
                     not own get no pods",
        },
    ),
    (
        "external_tls",
        Expect::Fail {
            step: "create-registry-with-external-tls",
            contains: "expected 14 items, found 13",
            reason: "the rollout stays blocked (ComponentCreationFailed, so no \
                     ComponentsCreated condition): with no ingresses.config.openshift.io \
                     on the simulator the case makes the tls.secretRef certificate for \
                     localhost, which does not cover the generated Route host",
        },
    ),
    ("tls_security_profile", Expect::Pass),
    ("unmanaged_route_tls", Expect::Pass),
    ("custom_storageclass", Expect::Pass),
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/chainsaw")
}

/// Runs `case` on a fresh simulated OpenShift cluster with the operator model.
async fn run_case(case: &str) -> Result<(), Failure> {
    run_dir(&fixtures().join(case)).await
}

/// Runs the case in `dir` on a fresh simulated OpenShift cluster with the operator model,
/// backed by its own PostgreSQL, Redis and S3 server (the managed components stand on them),
/// with OpenShift Data Foundation's ObjectBucketClaim API installed.
async fn run_dir(dir: &Path) -> Result<(), Failure> {
    use std::os::unix::fs::PermissionsExt as _;

    georep_harness::sim::install_crypto_provider();
    // 0700, as `up` makes its state dir: as root, PostgreSQL keeps its files elsewhere.
    let state = tempfile::Builder::new()
        .prefix("georep-chainsaw-")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir()
        .unwrap();
    let services = SharedServices::start(state.path(), &["chainsaw"])
        .await
        .unwrap_or_else(|e| panic!("{}", chain(&e)));
    let mut config = ClusterConfig::new("chainsaw");
    config.flavour = Flavour::Openshift;
    // The flavour serves the monitoring stack's APIs and namespace, which the cases' managed
    // `monitoring` needs (upstream `controllers/quay/features.go`, `checkMonitoringAvailable`).
    let sim = SimCluster::start(config).await.unwrap();
    let client = sim.client().await.unwrap();
    managed::buckets::install(&client)
        .await
        .unwrap_or_else(|e| panic!("{}", chain(&e)));
    let mut opts = OperatorOptions::new(&sim, Catalogue::builtin().newest().version);
    opts.migration_time_per_revision = Duration::from_millis(5);
    opts.crash_loop_backoff = Duration::from_millis(500);
    opts.resync = Duration::from_secs(2);
    // The status reconciler's minute and Kubernetes' Job back-off, scaled down as the local
    // backend does, so an assert sees the status the operator settles on within its timeout.
    opts.status_interval = Duration::from_secs(1);
    // A pod outlasts one status period before it is ready. `reconcile` deletes quay-app and
    // expects the status to report it unavailable before it is back: on a cluster the status
    // reconciler's minute and Quay's start-up (its startupProbe polls /health/instance every
    // 15 s; upstream `kustomize/base/quay.deployment.yaml`) leave that window open, and a
    // pod ready in 10 ms would close it before any status evaluation most of the time.
    // Twice the period, so a status evaluation falls in the window even on a loaded machine.
    opts.pod_start_delay = opts.status_interval * 2;
    opts.job_backoff = Duration::from_millis(20);
    opts.backing = Some(Arc::new(BackingServices::from_shared(
        &services, "chainsaw",
    )));
    let operator = OperatorModel::start(&sim, opts)
        .await
        .unwrap_or_else(|e| panic!("{}", chain(&e)));
    let scratch = tempfile::tempdir().unwrap();
    let kubeconfig = scratch.path().join("kubeconfig");
    std::fs::write(&kubeconfig, sim.kubeconfig().unwrap()).unwrap();
    let shims = scratch.path().join("bin");
    runner::write_shims(&shims).unwrap();
    let values = std::fs::read_to_string(fixtures().join("values-openshift.yaml")).unwrap();
    let runner = Runner {
        client,
        kubeconfig,
        kubectl: georep_harness::kubectl::find().unwrap_or_else(|e| panic!("{e}")),
        shims,
        values: serde_saphyr::from_str(&values).unwrap(),
        assert_timeout: Duration::from_secs(20),
        // Upstream allows 10 minutes; `unmanaged_route_tls` polls for 2 minutes in one script.
        script_timeout: Duration::from_secs(150),
    };
    let result = runner.run(dir).await;
    operator.stop().await;
    sim.stop().await;
    services
        .stop()
        .await
        .unwrap_or_else(|e| panic!("{}", chain(&e)));
    result
}

/// Runs `case` and checks it against its row of [`CASES`].
async fn check(case: &str) {
    let expect = CASES
        .iter()
        .find(|(name, _)| *name == case)
        .map(|(_, e)| *e)
        .unwrap_or_else(|| panic!("{case} has no row in CASES"));
    let result = run_case(case).await;
    match (expect, result) {
        (Expect::Pass, Ok(())) => {}
        (Expect::Pass, Err(failure)) => panic!("{case} failed: {failure}"),
        (Expect::Fail { reason, .. }, Ok(())) => panic!(
            "{case} passes now: make its row in CASES (and the simulator's table) say so \
             (it was expected to fail because {reason})"
        ),
        (
            Expect::Fail {
                step,
                contains,
                reason,
            },
            Err(failure),
        ) => assert!(
            failure.step == step && failure.message.contains(contains),
            "{case} was expected to fail at step {step:?} with {contains:?} ({reason}), \
             but failed differently: {failure}"
        ),
    }
}

#[tokio::test]
async fn chainsaw_hpa() {
    check("hpa").await;
}

#[tokio::test]
async fn chainsaw_reconcile() {
    check("reconcile").await;
}

#[tokio::test]
async fn chainsaw_resource_overrides() {
    check("resource_overrides").await;
}

#[tokio::test]
async fn chainsaw_clair_ephemeral_volume() {
    check("clair_ephemeral_volume").await;
}

#[tokio::test]
async fn chainsaw_unmanaged_clair() {
    check("unmanaged_clair").await;
}

#[tokio::test]
async fn chainsaw_unmanaged_postgres() {
    check("unmanaged_postgres").await;
}

#[tokio::test]
async fn chainsaw_unmanaged_redis() {
    check("unmanaged_redis").await;
}

#[tokio::test]
async fn chainsaw_external_tls() {
    check("external_tls").await;
}

#[tokio::test]
async fn chainsaw_tls_security_profile() {
    check("tls_security_profile").await;
}

#[tokio::test]
async fn chainsaw_unmanaged_route_tls() {
    check("unmanaged_route_tls").await;
}

#[tokio::test]
async fn chainsaw_custom_storageclass() {
    check("custom_storageclass").await;
}

#[test]
fn every_fixture_case_has_a_row() {
    let mut dirs: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("chainsaw-test.yaml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let mut rows: Vec<String> = CASES.iter().map(|(n, _)| (*n).to_owned()).collect();
    rows.sort();
    assert_eq!(dirs, rows);
}
