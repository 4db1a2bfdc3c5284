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
pub mod install_plan;
pub mod subscription;

use std::sync::Arc;
use std::time::Duration;

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

pub use deployment::{OPERATOR_DEPLOYMENT, install_operator_deployment, operator_deployment};

use crate::sim::SimCluster;
use crate::sim::reconciles::Reconciles;

/// The field manager of every write the model makes.
pub const FIELD_MANAGER: &str = "olm-sim";

/// A failed OLM model operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The cluster's client could not be built.
    #[error("connect the OLM model to simulated cluster {site}")]
    Connect {
        /// The site.
        site: String,
        /// The cause.
        #[source]
        source: crate::sim::apiserver::Error,
    },
    /// The cluster is not OpenShift-flavoured, so it serves no OLM types.
    #[error("simulated cluster {site} is not OpenShift-flavoured: it has no OLM")]
    NotOpenshift {
        /// The site.
        site: String,
    },
    /// An API request failed.
    #[error("{action} {object}")]
    Api {
        /// What was being done.
        action: &'static str,
        /// The object, `Kind namespace/name`.
        object: String,
        /// The cause.
        #[source]
        source: Box<kube::Error>,
    },
    /// A CSV or version the catalogue does not list.
    #[error("the OLM catalogue has no {what}")]
    NotInCatalogue {
        /// The CSV name or version asked for.
        what: String,
    },
}

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

/// An OLM kind: `(kind, plural)` in `operators.coreos.com/v1alpha1`.
pub(crate) type OlmKind = (&'static str, &'static str);

/// Subscription.
pub(crate) const SUBSCRIPTION: OlmKind = ("Subscription", "subscriptions");
/// InstallPlan.
pub(crate) const INSTALL_PLAN: OlmKind = ("InstallPlan", "installplans");
/// ClusterServiceVersion.
pub(crate) const CSV: OlmKind = ("ClusterServiceVersion", "clusterserviceversions");

/// The `apiVersion` of the OLM kinds.
pub const API_VERSION: &str = "operators.coreos.com/v1alpha1";

pub(crate) fn resource(kind: OlmKind) -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("operators.coreos.com", "v1alpha1", kind.0),
        kind.1,
    )
}

pub(crate) fn api(client: &kube::Client, kind: OlmKind, namespace: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), namespace, &resource(kind))
}

/// What a reconcile needs: the client.
pub(crate) struct Ctx {
    pub(crate) client: kube::Client,
}

/// How long the Subscription controller waits before looking at a Subscription again on its own.
pub const RESYNC: Duration = Duration::from_millis(500);

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

pub(crate) fn api_error(action: &'static str, object: String) -> impl FnOnce(kube::Error) -> Error {
    move |source| Error::Api {
        action,
        object,
        source: Box::new(source),
    }
}

/// Merge-patches `status` of an OLM object.
pub(crate) async fn patch_status(
    api: &Api<DynamicObject>,
    kind: OlmKind,
    name: &str,
    status: Value,
) -> Result<(), Error> {
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": status})),
    )
    .await
    .map(|_| ())
    .map_err(api_error("update status of", format!("{} {name}", kind.0)))
}

/// Server-side applies an OLM object.
pub(crate) async fn apply(
    api: &Api<DynamicObject>,
    kind: OlmKind,
    name: &str,
    manifest: &Value,
) -> Result<DynamicObject, Error> {
    api.patch(
        name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(manifest),
    )
    .await
    .map_err(api_error("apply", format!("{} {name}", kind.0)))
}

/// A string at `path` in an object's JSON.
pub(crate) fn str_at<'a>(object: &'a DynamicObject, path: &[&str]) -> Option<&'a str> {
    let (first, rest) = path.split_first()?;
    rest.iter()
        .try_fold(object.data.get(first)?, |v, key| v.get(key))
        .and_then(Value::as_str)
}

/// Installs Quay Operator `version` in `namespace` as OLM would have after an approved first
/// install: a Subscription `subscription` (package [`catalogue::PACKAGE`], the version's
/// channel, `installPlanApproval: Manual`, `startingCSV`) reporting the CSV as installed, the
/// CSV in phase `Succeeded`, and the operator Deployment. Creates the namespace if needed.
///
/// # Errors
/// [`Error::NotInCatalogue`] for a version the catalogue does not list; [`Error::Api`] when
/// a write fails.
pub async fn install_operator(
    client: &kube::Client,
    namespace: &str,
    subscription: &str,
    version: &str,
) -> Result<(), Error> {
    let cat = catalogue::catalogue();
    let entry = cat
        .by_version(version)
        .ok_or_else(|| Error::NotInCatalogue {
            what: format!("Quay version {version}"),
        })?;
    let channel = cat
        .channels()
        .iter()
        .find(|c| c.entries.iter().any(|e| e.csv == entry.csv))
        .map(|c| c.name.clone())
        .ok_or_else(|| Error::NotInCatalogue {
            what: entry.csv.clone(),
        })?;
    deployment::ensure_namespace(client, namespace).await?;
    // The CSV and Deployment come first, so a running subscription controller finds the
    // install in place and adopts it instead of planning one.
    csv::create(client, namespace, entry, None).await?;
    csv::install(client, namespace, &entry.csv).await?;
    let subs = api(client, SUBSCRIPTION, namespace);
    let manifest = json!({
        "apiVersion": API_VERSION, "kind": SUBSCRIPTION.0,
        "metadata": {"name": subscription, "namespace": namespace},
        "spec": {
            "name": catalogue::PACKAGE, "source": "redhat-operators",
            "sourceNamespace": "openshift-marketplace", "channel": channel,
            "installPlanApproval": "Manual", "startingCSV": entry.csv,
        },
    });
    apply(&subs, SUBSCRIPTION, subscription, &manifest).await?;
    patch_status(
        &subs,
        SUBSCRIPTION,
        subscription,
        json!({"installedCSV": entry.csv, "currentCSV": entry.csv, "state": "AtLatestKnown"}),
    )
    .await
}
