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
//! - [`csv`]: installs a pending CSV: the Deployment its install strategy names
//!   ([`OPERATOR_DEPLOYMENT`], `quay-operator-tng` as in the released CSV) is applied in the
//!   CSV's namespace with the strategy's spec and the CSV's annotations on its pod template
//!   (created when missing), the replaced CSV is deleted, and the CSV reaches phase
//!   `Succeeded`.
//!
//! [`install_operator`] installs an initial version as OLM would have (Subscription with
//! manual approval, Succeeded CSV, Deployment); [`install_operator_deployment`] is the plain
//! Deployment of a Kubernetes-flavoured cluster, where there is no OLM.
//!
//! # What it models, and after which upstream file
//!
//! | behaviour | upstream (operator-framework/operator-lifecycle-manager unless named) |
//! |---|---|
//! | a Subscription is offered its channel's head, never an older entry | `pkg/controller/operators/catalog/operator.go` (resolution), `pkg/controller/registry/resolver` |
//! | manual approval: the plan waits in `RequiresApproval` until `spec.approved` | `pkg/controller/operators/catalog/operator.go` (`syncInstallPlans`) |
//! | one InstallPlan per namespace resolution: a new Quay plan also lists the `status.currentCSV` of every other package's Subscription in the namespace not installed yet, and approving it installs them too (the other Subscription reports it installed) | `pkg/controller/operators/catalog/operator.go` (`syncResolvingNamespace`, `ensureInstallPlan`) |
//! | the PackageManifest of the package, in the Subscription's namespace, labelled `catalog`/`catalog-namespace`, with each channel's `currentCSV` and `currentCSVDesc.version` (see [`package_manifest`]) | `pkg/package-server/provider/registry.go`, `pkg/package-server/apis/operators/v1/packagemanifest_types.go` |
//! | a second catalog serving the package, such as a disconnected cluster's mirrored CatalogSource, with its own PackageManifest labelled `catalog`/`catalog-namespace` ([`OlmModel::serve_second_catalog`]; stored as `<package>.<catalog>`, as the store keeps one object per name where the package server serves several named after the package) | `pkg/package-server/provider/registry.go` |
//! | a catalog update publishing a new channel head at run time, including a patch the provider never heard of ([`OlmModel::publish`]) | a CatalogSource's registry image moving on (`pkg/controller/registry/reconciler`) |
//! | CSV name `quay-operator.v<version>`, operator image `quay.io/projectquay/quay-operator:<version>` (no `v`), annotation `quay-version` | quay/quay-operator `hack/prepare-upstream.sh`, `.github/workflows/prepare-release.yml` |
//! | installing a CSV: the Deployment its install strategy names (`quay-operator-tng`, selector `name=quay-operator-alm-owned`) gets the strategy's spec: operator image, `QUAY_VERSION` and `WATCH_NAMESPACE` through `valueFrom.fieldRef` on the pod annotations `quay-version` and `olm.targetNamespaces`, the release's `RELATED_IMAGE_COMPONENT_*`; the CSV's annotations are copied onto the pod template, the Deployment is labelled `olm.owner=<csv>`; the replaced CSV is deleted | `pkg/controller/operators/olm/operator.go`, `pkg/controller/install/deployment.go`, quay-operator `bundle/manifests/quay-operator.clusterserviceversion.yaml` |
//! | the Quay CSV annotated `olm.targetNamespaces: ""` and `olm.operatorNamespace`: installed for all namespaces, as in `openshift-operators` (global OperatorGroup) | `pkg/controller/operators/olm/operatorgroup.go` |
//!
//! # What it does not model
//! CatalogSources and bundle images (the catalogue is a data file, changed with
//! [`OlmModel::publish`]), OperatorGroups and install modes other than all namespaces (nor
//! the CSV copies OLM makes in watched namespaces), `Automatic` approval (plans of
//! such a Subscription also wait), `replaces`/`skips`/`skipRange` upgrade graphs (the channel
//! head is offered directly), resolution of packages other than Quay (another Subscription's
//! status is whatever a test writes), dependency resolution, the package server's other
//! packages, catalogs and namespaces (the PackageManifest is written only where a Quay
//! Subscription is, and is a CRD rather than an aggregated API), CSV phases between `Pending`
//! and `Succeeded`, RBAC and webhooks from the CSV, and the operator pods themselves (the
//! Deployment is an object; nothing runs it).

pub mod catalogue;
pub mod csv;
mod deployment;
mod install;
pub mod install_plan;
pub mod package_manifest;
mod shared;
pub mod subscription;

use std::sync::{Arc, RwLock};

use kube::api::{Api, DynamicObject};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use tokio::task::JoinHandle;

pub use deployment::{
    OPERATOR_DEPLOYMENT, OPERATOR_POD_LABEL, OWNER_LABEL, csv_deployment_spec,
    install_operator_deployment, operator_deployment,
};
pub use install::install_operator;
pub use shared::{API_VERSION, Error, FIELD_MANAGER, RESYNC};

use shared::{CSV, Ctx, INSTALL_PLAN, OlmKind, SUBSCRIPTION, resource};

use crate::sim::SimCluster;
use crate::sim::reconciles::Reconciles;

/// The running OLM controllers of one cluster. Dropping it stops them.
pub struct OlmModel {
    client: kube::Client,
    tasks: Vec<JoinHandle<()>>,
    reconciles: Arc<Reconciles>,
    catalogue: Arc<RwLock<catalogue::Catalogue>>,
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
        let catalogue = Arc::new(RwLock::new(catalogue::catalogue().clone()));
        let ctx = Arc::new(Ctx {
            client: client.clone(),
            catalogue: Arc::clone(&catalogue),
        });
        let tasks = vec![
            spawn(&ctx, &reconciles, SUBSCRIPTION, subscription::reconcile),
            spawn(&ctx, &reconciles, INSTALL_PLAN, install_plan::reconcile),
            spawn(&ctx, &reconciles, CSV, csv::reconcile),
        ];
        Ok(Self {
            client,
            tasks,
            reconciles,
            catalogue,
        })
    }

    /// Publishes `entry` as the new head of `channel` in this cluster's catalog, as a catalog
    /// update does when a patch is released: the PackageManifest shows it and Subscriptions on
    /// the channel are offered it, at the controllers' next look (within [`RESYNC`]). The
    /// entry may be a version the provider never heard of.
    ///
    /// # Errors
    /// [`catalogue::Error::Channel`] when the entry is not newer than the channel's head.
    pub fn publish(&self, channel: &str, entry: catalogue::Entry) -> Result<(), catalogue::Error> {
        let mut guard = match self.catalogue.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        guard.publish(channel, entry)
    }

    /// Serves the package from a second catalog `source_namespace/source` as well, such as the
    /// mirrored CatalogSource of a disconnected cluster: its PackageManifest in `namespace`,
    /// labelled with that catalog, offers this cluster's catalog as it is now (a later
    /// [`OlmModel::publish`] does not reach it). A Subscription switched to that source is
    /// offered the same channels.
    ///
    /// # Errors
    /// [`Error::Api`] when the PackageManifest cannot be written.
    pub async fn serve_second_catalog(
        &self,
        namespace: &str,
        source: &str,
        source_namespace: &str,
    ) -> Result<(), Error> {
        let cat = match self.catalogue.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        package_manifest::write_second_catalog(
            &self.client,
            namespace,
            source,
            source_namespace,
            &cat,
        )
        .await
    }

    /// Completed reconciles by kind (`Subscription`, `InstallPlan`,
    /// `ClusterServiceVersion`): what a test waits on to know the controllers looked before
    /// it asserts that they did nothing.
    #[must_use]
    pub fn reconciles(&self) -> &Reconciles {
        &self.reconciles
    }
}

impl std::fmt::Debug for OlmModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OlmModel")
            .field("tasks", &self.tasks)
            .field("reconciles", &self.reconciles)
            .field("catalogue", &self.catalogue)
            .finish_non_exhaustive()
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
