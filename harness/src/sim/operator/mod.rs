//! The Quay Operator model: one per simulated cluster, a set of kube-runtime controllers that
//! talk to the cluster's API server over HTTP(S) like any controller and reproduce the
//! operator contract of reference/quay-operator.md §0, §1, §3–§5.
//!
//! # Brief overview
//! - [`OperatorModel::start`] creates the operator's own Deployment
//!   ([`OperatorOptions::deployment`], `quay-operator`; an OLM install's is `quay-operator-tng`)
//!   unless it exists, built like the CSV's (`QUAY_VERSION` through `valueFrom.fieldRef` from the pod
//!   annotation `quay-version`, `RELATED_IMAGE_COMPONENT_QUAY`/`_CLAIR` of the release, image
//!   `quay.io/projectquay/quay-operator:<version>`, the released tag convention of
//!   `hack/prepare-upstream.sh`), and starts the controllers;
//!   [`RunningOperator`] reads the live version and the site's serving quay pods
//!   ([`ReadyPods`] for readers that outlive it), and stops everything.
//! - [`operator_deployment`]: watches that Deployment; a patched `QUAY_VERSION` (value or
//!   annotation, or image tag) is the version every later reconcile migrates to, its
//!   `RELATED_IMAGE_COMPONENT_*` ([`images`]) the images it deploys, and a change of either
//!   triggers a reconcile of every registry.
//! - [`registry_controller`]: `QuayRegistry`: finalizer, default components written back into
//!   `spec.components`, `ConfigInvalid` / `ComponentOverrideInvalid`, the owned objects
//!   ([`render`]), the migration Job, and status.
//! - [`job_controller`]: runs the migration Job `<n>-quay-app-upgrade` ([`migration`]) at the
//!   version of its image, retries a failure with Kubernetes' back-off through a crash-looping
//!   pod, and writes its status.
//! - [`deployment_controller`]: simulated pods for every Deployment the registry owns, ready
//!   only when Quay's start-up checks pass ([`startup`]); Deployment status.
//! - [`effective_config`]: the rendered config Secret carries the user's `config.yaml` with
//!   the managed components' fields written over it (a managed mirror forces
//!   `REPO_MIRROR_INTERVAL: 30`, a managed route `PREFERRED_URL_SCHEME: https`, a managed Clair
//!   its endpoint and PSK) and without `ssl.*`; the simulated pods start from, and the ledger
//!   judges, that Secret (upstream `pkg/kustomize/kustomize.go` `Inflate`,
//!   `pkg/kustomize/secrets.go` `FieldGroupFor`, `pkg/middleware/middleware.go` `FlattenSecret`).
//! - [`tls_check`]: a user certificate (unmanaged `tls`) must cover `SERVER_HOSTNAME` and
//!   `BUILDMAN_HOSTNAME`, else `RolloutBlocked`/`ComponentCreationFailed` (upstream
//!   `pkg/kustomize/secrets.go` `EnsureTLSFor`).
//! - [`monitoring`]: a managed `monitoring` needs the operator watching all namespaces, the
//!   `monitoring.coreos.com/v1` API and `openshift-config-managed`, else
//!   `MonitoringComponentDependencyError`; an omitted one defaults to managed only then
//!   (upstream `controllers/quay/features.go` `checkMonitoringAvailable`).
//! - [`managed`]: on a cluster given [`OperatorOptions::backing`] (real PostgreSQL, Redis and
//!   S3 servers), the managed `postgres`, `clairpostgres`, `redis` and `objectstorage`:
//!   their objects, databases provisioned on the backing server, names that resolve to it,
//!   PVC binding, NooBaa's bucket claims, and their conditions.
//! - [`hpa_controller`]: kube-controller-manager's HPA controller without metrics: every HPA
//!   keeps its target's replicas within its bounds, including HPAs left over after the
//!   component was set unmanaged (the operator never deletes them).
//! - [`router`]: on OpenShift-flavoured clusters, the default router admitting every Route in
//!   its status (`status.ingress[]` with `routerCanonicalHostname`).
//! - Pure rules: [`components`], [`conditions`], [`render`]; the facts they share with the
//!   rest of the harness (config bundle, version catalogue, labels) are in [`crate::quay`].
//! - Every fact the [`Ledger`] judges is reported by these controllers.
//!
//! # What it models, and from where
//! | behaviour | upstream |
//! |---|---|
//! | Quay, mirror and Job image from `RELATED_IMAGE_COMPONENT_QUAY`, Clair's from `_CLAIR`; pods and the Job run the version of their image, so an operator patched in `QUAY_VERSION` only migrates nothing and serves the old version while `currentVersion` moves ([`images`]) | `pkg/kustomize/kustomize.go` (`ComponentImageFor`), `hack/prepare-upstream.sh` |
//! | `QUAY_VERSION` read through `valueFrom.fieldRef` from the pod annotation `quay-version` | `bundle/manifests/quay-operator.clusterserviceversion.yaml` |
//! | `status.observedGeneration` written from 3.17 only | `apis/quay/v1/quayregistry_types.go` (`redhat-3.17`) |
//! | `Available` and the component conditions recomputed only when what the main reconcile writes (generation, `currentVersion`, `ComponentsCreated`, `RolloutBlocked`) or the object's labels and annotations changed, or every [`OperatorOptions::status_interval`] (60 s upstream), stale in between (pods becoming ready change none of those); each evaluation stamps its conditions' `lastUpdateTime` (whole seconds), changed or not; `lastUpdated` (sub-second) moves on every spec change and main-reconcile change, not on evaluations | `controllers/quay/quayregistry_status_controller.go`, `controllers/quay/quayregistry_controller.go` |
//! | a failing migration Job retried 6 times, waits doubling from [`OperatorOptions::job_backoff`] (10 s upstream, about 10 minutes in all), its pod crash-looping with the error as terminated message, then `Failed` with Kubernetes' generic "Job has reached the specified backoff limit", which `MigrationsFailed` quotes | `kustomize/components/job/quay.upgrade.job.yaml`, `controllers/quay/quayregistry_controller.go` (`checkMigrationStatus`) |
//! | the rendered config Secret: the managed mirror's, route's and Clair's settings written over the user's `config.yaml`, `ssl.*` moved out ([`effective_config`]) | `pkg/kustomize/kustomize.go` (`Inflate`), `pkg/kustomize/secrets.go` (`FieldGroupFor`), `pkg/middleware/middleware.go` (`FlattenSecret`) |
//! | a user certificate must cover `SERVER_HOSTNAME` and `BUILDMAN_HOSTNAME`, else `RolloutBlocked`/`ComponentCreationFailed` ([`tls_check`]) | `pkg/kustomize/secrets.go` (`EnsureTLSFor`) |
//! | every Route admitted by the default router: `status.ingress[]` with host, `routerName: default`, `routerCanonicalHostname: router-default.apps.<site>.example`, `Admitted=True` ([`router`]) | openshift/router `pkg/router/controller/status.go` |
//! | HPAs made while `horizontalpodautoscaler` was managed stay when it is set unmanaged (the operator only creates and updates them) and clamp explicit replicas ([`hpa_controller`]) | `controllers/quay/quayregistry_controller.go`, kubernetes `pkg/controller/podautoscaler/horizontal.go` |
//! | a managed `monitoring` needs the operator watching all namespaces, the Prometheus APIs and `openshift-config-managed` (which the simulated OpenShift has by default), else `MonitoringComponentDependencyError`; an omitted one defaults to managed only then ([`monitoring`]) | `controllers/quay/features.go` (`checkMonitoringAvailable`), `apis/quay/v1/quayregistry_types.go` (`EnsureDefaultComponents`) |
//! | the model runs as the Deployment its install names ([`OperatorOptions::deployment`]): `quay-operator-tng` from the CSV under OLM | `bundle/manifests/quay-operator.clusterserviceversion.yaml` |
//!
//! # Behaviours taken from upstream for quay-operator's Chainsaw cases
//! | behaviour | upstream file |
//! |---|---|
//! | `status.conditions` in the operator's order, not alphabetical ([`conditions`]) | `pkg/cmpstatus/evaluator.go`, `controllers/quay/quayregistry_status_controller.go` |
//! | on a cluster without backing services, a managed postgres, clairpostgres, redis or objectstorage reports `False`/`ComponentNotModelled`, not healthy ([`conditions::NOT_MODELLED`]) | what `pkg/cmpstatus/{quaypostgres,clairpostgres,redis,objectstorage}.go` check, which the model cannot there |
//! | with [`OperatorOptions::backing`]: managed `postgres`/`clairpostgres` get Deployment, Service, ServiceAccount, config Secret and PVC (`<n>-quay-postgres-13`, `<n>-clair-postgres-15`, 50Gi, `volumeSize` and `storageClassName` overrides), `redis` its Deployment and Service, `objectstorage` the ObjectBucketClaim `<n>-quay-datastore` ([`managed::objects`]) | `kustomize/components/{postgres,clairpostgres,redis,objectstorage}/`, `pkg/middleware/middleware.go` |
//! | a generated `DB_URI` (`postgresql://<n>-quay-database:<random>@<n>-quay-database:5432/<n>-quay-database`), `DB_ROOT_PW` and Clair's `postgres` credentials kept in the managed keys; `BUILDLOGS_REDIS`/`USER_EVENTS_REDIS` at `<n>-quay-redis:6379`; a bound claim's bucket as `RHOCSStorage` at `local_us` ([`managed::prepare`]) | `pkg/kustomize/kustomize.go` (`Inflate`, `KustomizationFor`), `pkg/kustomize/secrets.go` (`FieldGroupFor`) |
//! | a database pod starts once its PVC is bound and provisions role, database and `pg_trgm` on the backing PostgreSQL; its Service (and Redis') then resolves to the backing server for the pods' start-up checks and the migration Job ([`managed::pods`], [`managed::dns`]) | `kustomize/components/postgres/create-extensions.sh`, the sclorg images |
//! | quay-app, mirror, Clair and the migration Job wait until the managed databases have an available replica and a managed bucket's claim has its Secret and ConfigMap | `controllers/quay/features.go` (`checkManagedDatabaseReady`, `checkObjectBucketClaimsAvailable`), `controllers/quay/quayregistry_controller.go` (`filterDeferredWorkloads`) |
//! | a managed `objectstorage` without the ObjectBucketClaim API: `RolloutBlocked`/`ObjectStorageComponentDependencyError` | `controllers/quay/quayregistry_controller.go` |
//! | `Component{Postgres,ClairPostgres,Redis,ObjectStorage}Ready` from the Deployment (owned, an available replica), the database PVC (`PVCPending`, `PVCProvisioningFailed` quoting the Event) and the claim's phase ([`managed::status`]) | `pkg/cmpstatus/{database_status,quaypostgres,clairpostgres,redis,objectstorage,deploy}.go` |
//! | PVCs bound by a dynamic provisioner (the default class filled in; a missing class stays `Pending` with a `ProvisioningFailed` Event; `WaitForFirstConsumer` waits for a pod) ([`managed::volumes`]); the default StorageClass `standard` names kind's `rancher.io/local-path` | kube-controller-manager's PV controller |
//! | NooBaa's ObjectBucketClaim API and provisioner: a bucket on the site's S3 server, the claim's Secret and ConfigMap, `Bound` ([`managed::buckets`]) | lib-bucket-provisioner, `controllers/quay/features.go` |
//! | an empty `configBundleSecret` gets a base bundle `<n>-config-bundle-<random>` ([`initial_bundle`]) | `controllers/quay/quayregistry_controller.go` (`createInitialBundleSecret`), `pkg/kustomize/secrets.go` (`BaseQuayConfig`) |
//! | previous rendered config Secrets deleted once quay-app rolled out ([`config_cleanup`]) | `controllers/quay/quayregistry_controller.go` (`cleanupPreviousSecrets`, `quayAppDeploymentRolledOut`) |
//! | PersistentVolumeClaim and StorageClass served (stored only), a default StorageClass `standard`, and on OpenShift `dns/cluster` and `apiserver/cluster` of `config.openshift.io` (`crate::sim::apiserver`'s `seed`) | the objects the cases read |
//! | every override of the CRD applied by one function to any rendered object ([`overrides::apply`]; the component from the `quay-component` annotation): `env`, `affinity`, `replicas`, `labels` (not `quay-component`, `app`, `quay-operator/quayregistry`), `resources`, `securityContext`, `annotations` on Deployments and pod templates; quay's `env` and `securityContext` on the migration Job; the `route` component's `labels` and `annotations` on the Route | `pkg/middleware/middleware.go` (`Process`), `apis/quay/v1/quayregistry_types.go` (`Get*OverrideForComponent`, `ExceptionLabel`) |
//! | each override only on the kinds that support it, else `ComponentOverrideInvalid` ([`components::validate_overrides`]) | `apis/quay/v1/quayregistry_types.go` (`ValidateOverrides`, `ComponentSupportsOverride`) |
//! | the base pod anti-affinity of quay-app, quay-mirror and clair-app, the Route's `haproxy.router.openshift.io/timeout: 30m` and `quay-component: quay-app-route` ([`render`]) | `kustomize/base/quay.deployment.yaml`, `kustomize/components/{mirror,clair,route}/` |
//! | Clair's ephemeral scratch volume `indexer-layer-storage` (20Gi at `/var/tmp`) resized by `volumeSize` / `storageClassName` | `kustomize/components/clair/clair.deployment.yaml`, `pkg/middleware/middleware.go` (`applyClairEphemeralVolumeOverrides`) |
//! | an unmanaged `tls` with `secretRef`: the `kubernetes.io/tls` Secret's pair used as the certificate, exclusive with the bundle's, the Secret labelled and watched (a rotation reconciles at once), its hash on every Deployment and pod template, `ComponentTLSReady` from the Secret ([`external_tls`]) | `controllers/quay/features.go` (`checkExternalTLSSecret`), `controllers/quay/quayregistry_controller.go` (`findQuayRegistriesForSecret`), `pkg/tls/validate.go`, `pkg/middleware/middleware.go`, `pkg/cmpstatus/tls.go` |
//! | an unmanaged `tls` gets `SSL_PROTOCOLS` and `SSL_CIPHERS` from OpenShift's `apiserver/cluster` TLS security profile unless the config sets either ([`tls_profile`]) | `controllers/quay/tls.go`, `pkg/kustomize/kustomize.go` (`Inflate`) |
//! | bundle keys `extra_ca_cert_<name>` moved to `<n>-extra-ca-certs` as `<name>` and mounted at `/conf/stack/extra_ca_certs`; a pod fails to start on a file there that is not PEM certificates, and on a `DB_CONNECTION_ARGS` `sslrootcert`/`sslcert`/`sslkey` under `/conf/stack` missing from the bundle or not PEM, or an unknown `sslmode` ([`startup_files`]) | `pkg/kustomize/kustomize.go`, `kustomize/base/quay.deployment.yaml`; quay/quay `conf/init/certs_install.sh`, `config-tool/pkg/lib/fieldgroups/database/database_validator.go` |
//! | `autoscaling/v1` HorizontalPodAutoscalers served by conversion from the stored `v2` (`crate::sim::apiserver`), so the `hpa` case's v1 bump reaches the HPAs the operator wrote | Kubernetes `pkg/apis/autoscaling/v1/conversion.go` |
//!
//! # quay-operator's Chainsaw cases on the simulator
//! Run by `harness/tests/it/chainsaw/` (fixtures and their source in
//! `harness/tests/fixtures/chainsaw/`) on a simulated OpenShift cluster with
//! `values-openshift.yaml`, backing services (its own PostgreSQL, Redis and S3 server) and
//! OpenShift Data Foundation's ObjectBucketClaim API ([`managed::buckets::install`]). A case
//! marked *fails* is an expected failure there: the test checks it still fails, at that step
//! and for that reason.
//!
//! | case | result | failing step | reason |
//! |---|---|---|---|
//! | `hpa` | passes | | |
//! | `reconcile` | passes | | (its pods take two status periods to start there, as Quay's start-up outlasts the status window on a cluster, so the status sees a recreated quay-app unready) |
//! | `resource_overrides` | passes | | |
//! | `clair_ephemeral_volume` | passes | | |
//! | `unmanaged_clair` | passes | | |
//! | `unmanaged_postgres` | fails | `deploy-external-postgres` | it deploys its own PostgreSQL image; Deployments the model does not own get no pods |
//! | `unmanaged_redis` | fails | `deploy-external-redis` | it deploys its own Redis image; Deployments the model does not own get no pods |
//! | `external_tls` | fails | `create-registry-with-external-tls` | rollout blocked (13 conditions, no `ComponentsCreated`): `ComponentCreationFailed`, as the simulator serves no `ingresses.config.openshift.io`, so the case makes the `tls.secretRef` certificate for `localhost`, not the generated Route host |
//! | `tls_security_profile` | passes | | |
//! | `unmanaged_route_tls` | passes | | |
//! | `custom_storageclass` | passes | | |
//!
//! The cases' own checks of what the operator renders also pass with the backing components
//! set unmanaged, on a cluster without backing services
//! (`harness/tests/it/chainsaw/unblocked.rs`): `reconcile`'s override asserts and Route step,
//! `resource_overrides`' requests and limits of quay-app, clair-app and quay-mirror,
//! `clair_ephemeral_volume`'s volume, `hpa`'s bump through `autoscaling/v1` and its re-managed
//! HPAs, `external_tls`'s label, hash, rotation and delete-and-recreate, and
//! `tls_security_profile`'s `SSL_PROTOCOLS`/`SSL_CIPHERS`.
//!
//! # What it does not model
//! OLM (another model changes the operator Deployment), ReplicaSets (pods are owned by their
//! Deployment directly, named `<deployment>-<template hash>-<index>`), the managed database,
//! Redis, Clair database and object storage on a cluster without backing services (nothing
//! is deployed for them there; see [`managed`] for what it leaves out with them), monitoring
//! (nothing is deployed for it), HPA scaling
//! on metrics (a managed HPA pins its `minReplicas`; HPAs only clamp replicas to their
//! bounds), the check that the
//! TLS key belongs to its certificate, the separate TLS Secret `ssl.*` moves to, Clair's own
//! start-up (its pods are ready at once), kustomize's `quay:latest` for an operator without
//! `RELATED_IMAGE_COMPONENT_QUAY` (the model deploys its version's release image), pod logs (a
//! migration pod's terminated message stands in for them), and the status reconciler running
//! on every write of the `QuayRegistry` (the model refreshes when the main reconcile's own
//! fields change, or every `status_interval`), an unlabelled `tls.secretRef` Secret's
//! changes (seen at the next resync), TLS to the shared database (the pods connect without
//! it whatever `sslmode` says, so a CA or client certificate the server would refuse passes),
//! the PVC overrides (`volumeSize`,
//! `storageClassName` of the managed databases), the pruning of override fields an older
//! operator's CRD lacks (`resources` before 3.11, `storageClassName` before 3.16) and Clair's
//! `volumeSize`, which operators before 3.18 accept and ignore (the model applies it). Quirks deliberately reproduced: the spec write-back, the unwatched bundle
//! Secret (only the periodic resync notices a changed Secret), the replicas traps, a failed
//! Job blocking until the version or `config.yaml` changes, `currentVersion` following
//! `QUAY_VERSION` whatever image the Job ran.

pub mod backfill;
#[cfg(test)]
mod case_fixtures;
pub mod components;
pub mod conditions;
pub mod config_cleanup;
mod context;
pub mod deployment_controller;
pub mod effective_config;
pub mod external_tls;
pub mod hpa_controller;
pub mod images;
pub mod initial_bundle;
pub mod job_controller;
pub mod managed;
pub mod migration;
pub mod monitoring;
pub mod operator_deployment;
pub mod overrides;
pub mod quantity;
pub mod registry_controller;
pub mod remove_location;
pub mod render;
pub mod router;
pub mod startup;
pub mod startup_files;
pub mod startup_storage;
mod status_write;
pub mod tls_check;
pub mod tls_profile;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub use context::{
    Context, FIELD_MANAGER, MigrationPace, OPERATOR_DEPLOYMENT, OperatorOptions, PodState,
};

use crate::quay::{Catalogue, QuayVersion, ServingPod, SitePods, catalogue};
use crate::sim::ledger::Ledger;
use crate::sim::reconciles::Reconciles;
use crate::sim::{Flavour, SimCluster};

/// Why the operator model could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No client for the cluster.
    #[error("connect the operator model to simulated cluster {site}")]
    Client {
        /// The site.
        site: String,
        /// Why.
        #[source]
        source: crate::sim::apiserver::Error,
    },
    /// The version is not in the catalogue.
    #[error("operator model for site {site}")]
    Version {
        /// The site.
        site: String,
        /// Why.
        #[source]
        source: catalogue::Error,
    },
    /// Creating the operator namespace or Deployment failed.
    #[error("create the operator deployment {deployment} on site {site}")]
    OperatorDeployment {
        /// The site.
        site: String,
        /// The Deployment, `namespace/name`.
        deployment: String,
        /// Why.
        #[source]
        source: kube::Error,
    },
}

/// The model, before it runs.
#[derive(Debug)]
pub struct OperatorModel;

impl OperatorModel {
    /// Creates the operator Deployment if missing and starts the controllers on `cluster`.
    ///
    /// # Errors
    /// [`Error::Client`], [`Error::Version`] or [`Error::OperatorDeployment`].
    pub async fn start(
        cluster: &SimCluster,
        opts: OperatorOptions,
    ) -> Result<RunningOperator, Error> {
        let site = cluster.site().to_owned();
        Catalogue::builtin()
            .release(&opts.version)
            .map_err(|source| Error::Version {
                site: site.clone(),
                source,
            })?;
        let client = cluster
            .client_for(FIELD_MANAGER)
            .await
            .map_err(|source| Error::Client {
                site: site.clone(),
                source,
            })?;
        let (version, images) =
            operator_deployment::ensure(&client, &opts.namespace, &opts.deployment, opts.version)
                .await
                .map_err(|source| Error::OperatorDeployment {
                    site: site.clone(),
                    deployment: format!("{}/{}", opts.namespace, opts.deployment),
                    source,
                })?;
        let (version_tx, version_rx) = watch::channel(version);
        let (trigger_tx, trigger_rx) = mpsc::channel(8);
        let ctx = Arc::new(Context {
            client,
            site,
            flavour: cluster.flavour(),
            opts,
            version: version_rx,
            images: Mutex::new(images),
            migrations: Mutex::new(HashMap::new()),
            pods: Mutex::new(HashMap::new()),
            serving: Mutex::new(BTreeMap::new()),
            ready_clair: Mutex::new(BTreeSet::new()),
            reconciles: Reconciles::default(),
            status_evaluated: Mutex::new(HashMap::new()),
        });
        let mut tasks = vec![
            tokio::spawn(operator_deployment::watch(
                Arc::clone(&ctx),
                version_tx,
                trigger_tx,
            )),
            tokio::spawn(registry_controller::run(Arc::clone(&ctx), trigger_rx)),
            tokio::spawn(job_controller::run(Arc::clone(&ctx))),
            tokio::spawn(deployment_controller::run(Arc::clone(&ctx))),
            tokio::spawn(deployment_controller::forget_deleted_pods(Arc::clone(&ctx))),
            tokio::spawn(hpa_controller::run(Arc::clone(&ctx))),
        ];
        if ctx.flavour == Flavour::Openshift {
            tasks.push(tokio::spawn(router::run(Arc::clone(&ctx))));
        }
        if let Some(backing) = &ctx.opts.backing {
            tasks.push(tokio::spawn(managed::volumes::run(Arc::clone(&ctx))));
            if let Some(s3) = backing.s3.clone() {
                tasks.push(tokio::spawn(managed::buckets::run(Arc::clone(&ctx), s3)));
            }
        }
        Ok(RunningOperator { ctx, tasks })
    }
}

/// A running operator model. Dropping it stops the controllers and any running migration.
#[derive(Debug)]
pub struct RunningOperator {
    ctx: Arc<Context>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningOperator {
    /// The site.
    #[must_use]
    pub fn site(&self) -> &str {
        &self.ctx.site
    }

    /// The Quay version the model deploys now (from its operator Deployment).
    #[must_use]
    pub fn version(&self) -> QuayVersion {
        self.ctx.version()
    }

    /// Completed reconciles by kind: `QuayRegistry`, `Job` (the migration Jobs), `Deployment`
    /// (the registry's Deployments and their pods) and [`OPERATOR_DEPLOYMENT`] (a change of
    /// the operator's own Deployment handled). What a test waits on to know the controllers
    /// looked before it asserts that they did nothing.
    #[must_use]
    pub fn reconciles(&self) -> &Reconciles {
        &self.ctx.reconciles
    }

    /// The ledger the model reports to.
    #[must_use]
    pub fn ledger(&self) -> &Arc<Ledger> {
        &self.ctx.opts.ledger
    }

    /// The site's quay-app pods that are ready now, with their version and config hash.
    #[must_use]
    pub fn ready_quay_pods(&self) -> Vec<ServingPod> {
        Context::lock(&self.ctx.serving).values().cloned().collect()
    }

    /// A handle on the site's ready pods that outlives this borrow (the load balancer's site
    /// endpoints read it on every request); it sees no pods once the model is stopped.
    #[must_use]
    pub fn ready_pods(&self) -> ReadyPods {
        ReadyPods(Arc::clone(&self.ctx))
    }

    /// The config hash (sha256 of `config.yaml`) the site's ready quay pods serve with;
    /// `None` when none is ready. With pods of two hashes (mid-rollout), the smallest.
    #[must_use]
    pub fn config_hash(&self) -> Option<String> {
        Context::lock(&self.ctx.serving)
            .values()
            .map(|p| p.config_hash.clone())
            .min()
    }

    /// Stops the controllers and aborts running migrations, as a killed operator pod would:
    /// Jobs stay active in the cluster and the next model resumes them.
    pub async fn stop(mut self) {
        self.abort();
        for task in self.tasks.drain(..) {
            // Aborted tasks end with a cancellation error, which is the point.
            let _ = task.await;
        }
    }

    fn abort(&self) {
        for task in &self.tasks {
            task.abort();
        }
        for (_, task) in Context::lock(&self.ctx.migrations).drain() {
            task.abort();
        }
        let site = self.ctx.site.clone();
        for (_, pod) in std::mem::take(&mut *Context::lock(&self.ctx.serving)) {
            self.ctx.opts.ledger.pod_gone(&site, &pod.pod);
        }
        Context::lock(&self.ctx.ready_clair).clear();
    }
}

/// The ready pods of one running model, as its Services' endpoints would list them: what
/// [`crate::lb`] serves a site's health endpoints from. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ReadyPods(Arc<Context>);

impl ReadyPods {
    /// The site.
    #[must_use]
    pub fn site(&self) -> &str {
        &self.0.site
    }

    /// The ready quay-app pods, with their version, config hash and hostname.
    #[must_use]
    pub fn quay(&self) -> Vec<ServingPod> {
        Context::lock(&self.0.serving).values().cloned().collect()
    }

    /// How many clair-app pods are ready.
    #[must_use]
    pub fn clair(&self) -> usize {
        Context::lock(&self.0.ready_clair).len()
    }
}

impl SitePods for ReadyPods {
    fn quay(&self) -> Vec<ServingPod> {
        ReadyPods::quay(self)
    }

    fn clair(&self) -> usize {
        ReadyPods::clair(self)
    }
}

impl Drop for RunningOperator {
    fn drop(&mut self) {
        self.abort();
    }
}
