//! What every controller of one operator model shares: its options, the live operator
//! version, the simulated pods' state, the serving pods and the reconcile counters.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use kube::Client;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::images::ComponentImages;
use super::managed::backing::BackingServices;
use crate::quay::{QuayVersion, ServingPod};
use crate::sim::ledger::Ledger;
use crate::sim::reconciles::Reconciles;
use crate::sim::{Flavour, SimCluster};

/// The operator Deployment's name when the model creates it (no OLM).
pub const OPERATOR_DEPLOYMENT: &str = "quay-operator";
/// The field manager of every write.
pub const FIELD_MANAGER: &str = "quay-operator";

/// The time per revision of migrations that start from now on, settable while operator
/// models run (a test that must act during a migration slows them down, and speeds them up
/// again after). Clones share the setting.
#[derive(Debug, Clone, Default)]
pub struct MigrationPace(Arc<AtomicU64>);

impl MigrationPace {
    /// Migrations starting from now on take `time` per revision.
    pub fn set(&self, time: Duration) {
        let nanos = u64::try_from(time.as_nanos()).unwrap_or(u64::MAX).max(1);
        self.0.store(nanos, Ordering::Relaxed);
    }

    /// The time set, or `default` when none was.
    #[must_use]
    pub fn get_or(&self, default: Duration) -> Duration {
        match self.0.load(Ordering::Relaxed) {
            0 => default,
            nanos => Duration::from_nanos(nanos),
        }
    }
}

/// Options of one operator model; every field states its default.
#[derive(Debug, Clone)]
pub struct OperatorOptions {
    /// Namespace of the operator Deployment. Default: `openshift-operators` on OpenShift
    /// flavour, `quay-operator` otherwise.
    pub namespace: String,
    /// Name of the operator Deployment the model runs as: created when missing, watched for
    /// its version and images. Default [`OPERATOR_DEPLOYMENT`]; an OLM install names it after
    /// its CSV (`crate::sim::olm::OPERATOR_DEPLOYMENT`).
    pub deployment: String,
    /// The Quay version of a newly created operator Deployment (an existing one keeps its
    /// own). No default.
    pub version: QuayVersion,
    /// The run's ledger. Default: a new in-memory one.
    pub ledger: Arc<Ledger>,
    /// This site's own `DISTRIBUTED_STORAGE_CONFIG` location. Default: the site name.
    pub storage_location: String,
    /// How long the migration Job takes per revision. Default: 200 ms.
    pub migration_time_per_revision: Duration,
    /// Overrides `migration_time_per_revision` while the model runs, once set. Default: a
    /// fresh one, unset; share one between models to pace every site's migrations at once.
    pub migration_pace: MigrationPace,
    /// How long a new pod takes before its start-up checks run. Default: 100 ms.
    pub pod_start_delay: Duration,
    /// How long a crashing pod waits before it is checked again. Default: 5 s.
    pub crash_loop_backoff: Duration,
    /// Periodic re-reconcile of every registry (the operator's 1-minute requeue, the only way
    /// it notices a changed bundle Secret). Default: 60 s.
    pub resync: Duration,
    /// How often `Available` is recomputed: the operator's separate status reconciler
    /// (`controllers/quay/quayregistry_status_controller.go`, `RequeueAfter: time.Minute`)
    /// evaluates the components (`pkg/cmpstatus`), so between two runs `Available` is stale.
    /// Default: 60 s; tests scale it down.
    pub status_interval: Duration,
    /// The first wait before a failed migration Job is retried; each further retry waits
    /// twice as long, at most 36 times this (Kubernetes' Job back-off: 10 s to 6 minutes,
    /// six retries). Default: 10 s; tests scale it down.
    pub job_backoff: Duration,
    /// The servers the managed `postgres`, `clairpostgres`, `redis` and `objectstorage`
    /// stand on ([`super::managed`]). Default: none, and those components report
    /// `ComponentNotModelled`.
    pub backing: Option<Arc<BackingServices>>,
}

impl OperatorOptions {
    /// Defaults for `cluster` at `version`.
    #[must_use]
    pub fn new(cluster: &SimCluster, version: QuayVersion) -> Self {
        let namespace = match cluster.flavour() {
            Flavour::Openshift => "openshift-operators",
            Flavour::Kubernetes => "quay-operator",
        };
        Self {
            namespace: namespace.to_owned(),
            deployment: OPERATOR_DEPLOYMENT.to_owned(),
            version,
            ledger: Ledger::in_memory(),
            storage_location: cluster.site().to_owned(),
            migration_time_per_revision: Duration::from_millis(200),
            migration_pace: MigrationPace::default(),
            pod_start_delay: Duration::from_millis(100),
            crash_loop_backoff: Duration::from_secs(5),
            resync: Duration::from_secs(60),
            status_interval: Duration::from_secs(60),
            job_backoff: Duration::from_secs(10),
            backing: None,
        }
    }
}

/// State every controller of one model shares.
pub struct Context {
    /// The cluster's client.
    pub client: Client,
    /// Site name.
    pub site: String,
    /// Cluster flavour.
    pub flavour: Flavour,
    /// Options.
    pub opts: OperatorOptions,
    /// The live operator version.
    pub version: watch::Receiver<QuayVersion>,
    /// The component images the live operator Deployment names (see [`super::images`]).
    pub images: Mutex<ComponentImages>,
    /// Running migration tasks by Job uid.
    pub migrations: Mutex<HashMap<String, JoinHandle<()>>>,
    /// Per-pod simulation state by `namespace/name`.
    pub pods: Mutex<HashMap<String, PodState>>,
    /// Ready quay-app pods by (namespace, name).
    pub serving: Mutex<BTreeMap<(String, String), ServingPod>>,
    /// Ready clair-app pods, (namespace, name).
    pub ready_clair: Mutex<BTreeSet<(String, String)>>,
    /// Completed reconciles by kind.
    pub reconciles: Reconciles,
    /// When `Available` was last evaluated per registry (namespace, name), and the
    /// registry's generation and main-reconcile status fields then.
    pub status_evaluated: Mutex<StatusEvaluations>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("site", &self.site)
            .field("flavour", &self.flavour)
            .field("version", &self.version())
            .finish_non_exhaustive()
    }
}

impl Context {
    /// The version every reconcile deploys now.
    #[must_use]
    pub fn version(&self) -> QuayVersion {
        *self.version.borrow()
    }

    /// The component images every reconcile deploys now.
    #[must_use]
    pub fn images(&self) -> ComponentImages {
        Self::lock(&self.images).clone()
    }

    pub(super) fn lock<'a, T>(m: &'a Mutex<T>) -> std::sync::MutexGuard<'a, T> {
        m.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// When each registry's status conditions were last evaluated, with its generation and the
/// status fields the main reconcile writes (as text) then.
pub type StatusEvaluations = HashMap<(String, String), (Instant, (Option<i64>, Option<String>))>;

/// What the model remembers about one simulated pod.
#[derive(Debug, Clone)]
pub struct PodState {
    /// When its start-up checks run next.
    pub next_check: Instant,
    /// Failed starts so far (`restartCount`).
    pub restarts: i32,
    /// The message of the last Event written for it.
    pub last_event: Option<String>,
}
