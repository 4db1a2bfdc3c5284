//! The OLM model of the simulated OpenShift-flavoured clusters: enough of Operator Lifecycle
//! Manager to upgrade the Quay Operator the way OpenShift does, with manual approval.
//!
//! Three controllers, one per kind, written with kube-runtime and talking to the
//! [`SimCluster`] over its client like any controller:
//! - [`subscription`]: resolves the Subscription's channel in the [`catalogue`]; when the
//!   channel's head is newer than the installed CSV (or nothing is installed yet:
//!   `startingCSV`, else the head), creates an InstallPlan for it (`approval: Manual`,
//!   `approved: false`, phase `RequiresApproval`) and reports `status.installedCSV`,
//!   `currentCSV`, `state` (`UpgradePending` or `AtLatestKnown`) and `installPlanRef`.
//!   Changing `spec.channel` makes the new channel's head available the same way.
//! - [`install_plan`]: once `spec.approved` is true, creates the ClusterServiceVersion (phase
//!   `Pending`, `spec.replaces` the installed one) and completes the plan.
//! - [`csv`]: installs a pending CSV: the operator Deployment `quay-operator` in the CSV's
//!   namespace gets the CSV's image and `QUAY_VERSION` (created when missing), the replaced
//!   CSV is deleted, and the CSV reaches phase `Succeeded`.
//!
//! [`install_operator`] installs an initial version as OLM would have (Subscription with
//! manual approval, Succeeded CSV, Deployment); [`install_operator_deployment`] is the plain
//! Deployment of a Kubernetes-flavoured cluster, where there is no OLM.
//!
//! # What it does not model
//! CatalogSources and bundle images (the catalogue is a data file), OperatorGroups and install
//! modes, `Automatic` approval (plans of such a Subscription also wait), `replaces`/`skips`
//! upgrade graphs (the channel head is offered directly), dependency resolution, CSV phases
//! between `Pending` and `Succeeded`, RBAC and webhooks from the CSV, and the operator pods
//! themselves (the Deployment is an object; nothing runs it).

pub mod catalogue;
pub mod csv;
mod deployment;
mod install;
pub mod install_plan;
mod shared;
pub mod subscription;

use std::sync::Arc;

use kube::api::{Api, DynamicObject};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use tokio::task::JoinHandle;

pub use deployment::{OPERATOR_DEPLOYMENT, install_operator_deployment, operator_deployment};
pub use install::install_operator;
pub use shared::{API_VERSION, Error, FIELD_MANAGER, RESYNC};

use shared::{CSV, Ctx, INSTALL_PLAN, OlmKind, SUBSCRIPTION, resource};

use crate::sim::SimCluster;
use crate::sim::reconciles::Reconciles;

/// The running OLM controllers of one cluster. Dropping it stops them.
#[derive(Debug)]
pub struct OlmModel {
    tasks: Vec<JoinHandle<()>>,
    reconciles: Arc<Reconciles>,
}

impl OlmModel {
    /// Starts the Subscription, InstallPlan and ClusterServiceVersion controllers against
    /// `cluster`.
    ///
    /// # Errors
    /// [`Error::NotOpenshift`] for a Kubernetes-flavoured cluster; [`Error::Connect`] when no
    /// client can be built.
    pub async fn start(cluster: &SimCluster) -> Result<Self, Error> {
        if cluster.flavour() != crate::sim::Flavour::Openshift {
            return Err(Error::NotOpenshift {
                site: cluster.site().to_owned(),
            });
        }
        let client = cluster
            .client_for(FIELD_MANAGER)
            .await
            .map_err(|source| Error::Connect {
                site: cluster.site().to_owned(),
                source,
            })?;
        let reconciles = Arc::new(Reconciles::default());
        let ctx = Arc::new(Ctx { client });
        let tasks = vec![
            spawn(&ctx, &reconciles, SUBSCRIPTION, subscription::reconcile),
            spawn(&ctx, &reconciles, INSTALL_PLAN, install_plan::reconcile),
            spawn(&ctx, &reconciles, CSV, csv::reconcile),
        ];
        Ok(Self { tasks, reconciles })
    }

    /// Completed reconciles by kind (`Subscription`, `InstallPlan`,
    /// `ClusterServiceVersion`): what a test waits on to know the controllers looked before
    /// it asserts that they did nothing.
    #[must_use]
    pub fn reconciles(&self) -> &Reconciles {
        &self.reconciles
    }
}

impl Drop for OlmModel {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn spawn<F, Fut>(
    ctx: &Arc<Ctx>,
    reconciles: &Arc<Reconciles>,
    kind: OlmKind,
    reconcile: F,
) -> JoinHandle<()>
where
    F: FnMut(Arc<DynamicObject>, Arc<Ctx>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<Action, Error>> + Send + 'static,
{
    let ar = resource(kind);
    let all = Api::<DynamicObject>::all_with(ctx.client.clone(), &ar);
    let ctx = Arc::clone(ctx);
    let reconciles = Arc::clone(reconciles);
    tokio::spawn(async move {
        let results = Controller::new_with(all, watcher::Config::default(), ar).run(
            reconcile,
            |_, err, _| {
                tracing::debug!(error = %err, "OLM model reconcile failed; retrying");
                Action::requeue(RESYNC)
            },
            ctx,
        );
        reconciles.drive(kind.0, results).await;
    })
}
