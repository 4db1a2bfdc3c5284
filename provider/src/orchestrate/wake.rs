//! [`Wakeups`]: watches of what an upgrade waits for, so that the loop reads again as soon as
//! something it waits on changes instead of at its next poll.
//!
//! Per site, on its cluster: its `QuayRegistry` (status, conditions), the pods and
//! Deployments labelled with its name (scale-down, rollout), its migration Job, and its
//! operator (the operator's Deployment, or the Subscriptions, InstallPlans and
//! ClusterServiceVersions of the operator's namespace). Not watched: what the run itself
//! writes (the Lease and the progress record on the primary) and the config Secret, which no
//! phase waits on. The watches only wake the loop; each round still reads everything it
//! judges ([`super::observe`]), so a missed or late event costs time, never a wrong
//! decision, and the loop's own timer stays the fall-back when a watch breaks.
//!
//! Events coalesce: however many arrive during a round, the next wait returns at once and the
//! one after waits for a new event. The tasks end when [`Wakeups`] is dropped.
//!
//! Rights: besides the reads of each round, the run lists and watches these kinds in the
//! sites' and the operators' namespaces. Without `list` or `watch` the loop still works, on
//! its timer ([`crate::cluster::Cluster::notify_changes`] retries with a backoff up to 30 s).

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::sync::Notify;
use tokio::task::JoinSet;
use tracing::debug;

use super::observe::REGISTRY_LABEL;
use crate::cluster::{Clusters, Kind};
use crate::georep::upgrade::{OperatorMethod, SiteId, UpgradeRequest};

/// The watches of one upgrade run.
#[derive(Debug)]
pub struct Wakeups {
    changed: Arc<Notify>,
    /// Dropping the set aborts the watch tasks.
    _tasks: JoinSet<()>,
}

/// One watched set of objects: kind, namespace, field selector, label selector.
type Watched = (Kind, String, String, String);

impl Wakeups {
    /// Starts the watches of `request`'s sites on every cluster that can be connected to; a
    /// cluster that cannot is skipped (the loop's reads report it, and its timer polls it).
    pub async fn start(clusters: &Clusters, request: &UpgradeRequest) -> Self {
        let changed = Arc::new(Notify::new());
        let mut tasks = JoinSet::new();
        let mut started = BTreeSet::new();
        for site in request.sites() {
            let Ok(cluster) = clusters.get(site.cluster()).await else {
                continue;
            };
            for watched in watched(request.operator(), site) {
                let (kind, namespace, fields, labels) = watched;
                let key = (site.cluster().to_owned(), kind.plural, namespace.clone());
                if !started.insert((key, fields.clone(), labels.clone())) {
                    continue;
                }
                let (cluster, changed) = (cluster.clone(), Arc::clone(&changed));
                tasks.spawn(async move {
                    cluster
                        .notify_changes(&kind, Some(&namespace), &fields, &labels, &changed)
                        .await;
                });
            }
        }
        debug!(watches = tasks.len(), "upgrade watches started");
        Self {
            changed,
            _tasks: tasks,
        }
    }

    /// Returns once a watched object changed since the last return (at once if one changed
    /// meanwhile); never, without watches.
    pub async fn changed(&self) {
        self.changed.notified().await;
    }
}

/// What is watched for one site.
fn watched(operator: &OperatorMethod, site: &SiteId) -> Vec<Watched> {
    let ns = site.namespace().to_owned();
    let by_name = |name: &str| format!("metadata.name={name}");
    let registry = format!("{REGISTRY_LABEL}={}", site.name());
    let mut sets = vec![
        (
            Kind::QUAY_REGISTRY,
            ns.clone(),
            by_name(site.name()),
            String::new(),
        ),
        (Kind::POD, ns.clone(), String::new(), registry.clone()),
        (Kind::DEPLOYMENT, ns.clone(), String::new(), registry),
        (
            Kind::JOB,
            ns,
            by_name(&site.migration_job_name()),
            String::new(),
        ),
    ];
    match operator {
        OperatorMethod::Deployment {
            namespace, name, ..
        } => sets.push((
            Kind::DEPLOYMENT,
            namespace.clone(),
            by_name(name),
            String::new(),
        )),
        OperatorMethod::Olm { namespace, .. } => {
            for kind in [Kind::SUBSCRIPTION, Kind::INSTALL_PLAN] {
                sets.push((kind, namespace.clone(), String::new(), String::new()));
            }
            // Not the copies OLM makes of every all-namespaces operator's CSV in each
            // namespace (`openshift-operators` holds many): large, often updated, and never
            // what the upgrade waits for.
            sets.push((
                Kind::CLUSTER_SERVICE_VERSION,
                namespace.clone(),
                String::new(),
                "!olm.copiedFrom".to_owned(),
            ));
        }
    }
    sets
}
