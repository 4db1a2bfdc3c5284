//! The `local` backend in one piece: the shared services, one simulated cluster per site and
//! one Quay Operator model per cluster, all reporting to one safety ledger. On the OpenShift
//! flavour the operator is installed through OLM by default ([`LocalOptions::olm`]): an
//! [`OlmModel`] runs per cluster and the operator Deployment is the one its Subscription's CSV
//! installed, so upgrading it means approving an InstallPlan, as on a real OpenShift.
//!
//! [`LocalEnv::start`] writes into the state dir `kubeconfig` (one context per site),
//! `<site>.kubeconfig` (one each), `services.json` (every password, mode 0600) and
//! `safety-ledger.jsonl`; [`LocalEnv::tfvars`] turns all that into the variables of
//! `examples/three-sites`.
//!
//! In front of the sites runs the global load balancer model ([`crate::lb`]): a health
//! endpoint per site and service, and one global endpoint for Quay and one for Clair that
//! forward only to ready sites ([`LocalEnv::global_quay_url`], [`LocalEnv::global_quay`] to
//! see which sites it routes to); their URLs are in `services.json` under `load_balancer`.
//! Behind the sites runs the blob replication worker ([`crate::blobs::replication`]);
//! [`LocalEnv::push_blob`] pushes a blob through one site. [`LocalEnv::stop`] stops the
//! worker and the load balancer, the operator models, then the clusters, then the services.
//!
//! It does not run Terraform, install anything (see `scripts/install-services.sh`) or
//! survive a `SIGKILL` (the PostgreSQL and Redis processes would keep running).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};

use crate::blobs::replication::{ReplicationOptions, ReplicationWorker, WorkerSite};
use crate::blobs::{self, PushedBlob, SiteStorage};
use crate::lb::{self, GlobalEndpoint, GlobalOptions, LoadBalancer};
use crate::quay::{Catalogue, QuayVersion, SitePods};
use crate::services::postgres::Database;
use crate::services::{self, SharedServices};
use crate::sim::apiserver::{self, kubeconfig};
use crate::sim::ledger::{self, Ledger};
use crate::sim::olm::{self, OlmModel};
use crate::sim::operator::{self, MigrationPace, OperatorModel, OperatorOptions, RunningOperator};
use crate::sim::{ClusterConfig, Flavour, SimCluster};

/// The `User-Agent` of the harness's own short-lived requests (installing the operator,
/// reading a site's storage), so the clusters' counters tell them from the provider's.
pub const HARNESS_CLIENT: &str = "georep-harness";
/// The `User-Agent` of the blob replication workers.
pub const REPLICATION_CLIENT: &str = "georep-replication";

/// The default sites: cluster and context names.
pub const DEFAULT_SITES: [&str; 3] = ["us-east", "eu-west", "ap-south"];

/// Why the local environment could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No site was given.
    #[error("at least one site is needed")]
    NoSites,
    /// Two sites map to the same name or storage location.
    #[error("site {site} is given twice (storage location {location})")]
    DuplicateSite {
        /// The site.
        site: String,
        /// Its storage location.
        location: String,
    },
    /// A site name is not a DNS-1123 label.
    #[error("site name {site:?} must be lowercase letters, digits and '-', starting with a letter")]
    BadSiteName {
        /// The name.
        site: String,
    },
    /// The shared services failed.
    #[error("start the shared services in {}", state_dir.display())]
    Services {
        /// The state dir.
        state_dir: PathBuf,
        /// Why.
        #[source]
        source: services::Error,
    },
    /// The ledger could not be opened.
    #[error("open the safety ledger")]
    Ledger(#[source] ledger::Error),
    /// A simulated cluster did not start.
    #[error("start the simulated cluster of site {site}")]
    Cluster {
        /// The site.
        site: String,
        /// Why.
        #[source]
        source: Box<apiserver::Error>,
    },
    /// OLM could not install the operator.
    #[error("install the quay operator through OLM on site {site}")]
    Olm {
        /// The site.
        site: String,
        /// Why.
        #[source]
        source: Box<olm::Error>,
    },
    /// An operator model did not start.
    #[error("start the quay operator model of site {site}")]
    Operator {
        /// The site.
        site: String,
        /// Why.
        #[source]
        source: Box<operator::Error>,
    },
    /// A kubeconfig could not be written.
    #[error("write a kubeconfig")]
    Kubeconfig(#[source] kubeconfig::Error),
    /// A file could not be written.
    #[error("write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The random secret keys could not be drawn.
    #[error("draw random secret keys")]
    Random(#[source] getrandom::Error),
    /// The load balancer model did not start.
    #[error("start the global load balancer model")]
    LoadBalancer(#[source] lb::Error),
    /// No site has this name.
    #[error("no site named {site}: the sites are {known}")]
    UnknownSite {
        /// The name asked for.
        site: String,
        /// The sites there are.
        known: String,
    },
}

/// What [`LocalEnv::start`] starts; [`LocalOptions::new`] gives every default.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// Site names: cluster and context names. Default [`DEFAULT_SITES`].
    pub sites: Vec<String>,
    /// Cluster flavour. Default OpenShift.
    pub flavour: Flavour,
    /// The Quay version of every operator model. Default: the catalogue's newest release.
    pub quay_version: QuayVersion,
    /// How long the simulated migration Job takes per revision. Default 50 ms.
    pub migration_time_per_revision: Duration,
    /// Where every file goes (created if missing).
    pub state_dir: PathBuf,
    /// Serve the clusters over HTTPS with a token (else plain HTTP). Default true.
    pub tls: bool,
    /// On the OpenShift flavour, run an [`OlmModel`] per cluster and install the operator
    /// through a Subscription ([`OPERATOR_SUBSCRIPTION`], manual approval) in
    /// [`OPERATOR_NAMESPACE_OPENSHIFT`]; else the operator is a plain Deployment. Ignored on
    /// the Kubernetes flavour, which has no OLM. Default true.
    pub olm: bool,
    /// How often each operator model recomputes `Available` (the operator's status reconciler
    /// runs once a minute: [`OperatorOptions::status_interval`]). Default 1 s, so that waits
    /// stay short while `Available` can still be stale.
    pub status_interval: Duration,
    /// How long a pod of each operator model takes to become ready after it is created
    /// ([`OperatorOptions::pod_start_delay`]). Default 100 ms.
    pub pod_start_delay: Duration,
    /// The first retry delay of a failing migration Job ([`OperatorOptions::job_backoff`];
    /// Kubernetes: 10 s). Default 20 ms: six retries in about a second and a half.
    pub job_backoff: Duration,
    /// How the global endpoints health-check the sites. Default [`GlobalOptions::default`].
    pub load_balancer: GlobalOptions,
    /// How often the blob replication worker runs. Default [`ReplicationOptions::default`].
    pub replication: ReplicationOptions,
}

/// The operator's namespace on the OpenShift flavour (Subscription and Deployment).
pub const OPERATOR_NAMESPACE_OPENSHIFT: &str = "openshift-operators";

/// The operator's namespace on the Kubernetes flavour (plain Deployment).
pub const OPERATOR_NAMESPACE_KUBERNETES: &str = "quay-operator";

/// The operator's Subscription (OLM) and, without OLM, Deployment name.
pub const OPERATOR_SUBSCRIPTION: &str = "quay-operator";

impl LocalOptions {
    /// The defaults, writing into `state_dir`.
    #[must_use]
    pub fn new(state_dir: &Path) -> Self {
        Self {
            sites: DEFAULT_SITES.iter().map(|s| (*s).to_owned()).collect(),
            flavour: Flavour::Openshift,
            quay_version: Catalogue::builtin().newest().version,
            migration_time_per_revision: Duration::from_millis(50),
            state_dir: state_dir.to_owned(),
            tls: true,
            olm: true,
            status_interval: Duration::from_secs(1),
            pod_start_delay: Duration::from_millis(100),
            job_backoff: Duration::from_millis(20),
            load_balancer: GlobalOptions::default(),
            replication: ReplicationOptions::default(),
        }
    }
}

/// The storage location of a site: its name with `-` written as `_` (Quay location ids allow
/// no dashes).
#[must_use]
pub fn storage_location(site: &str) -> String {
    site.replace('-', "_")
}

/// One running site.
#[derive(Debug)]
pub struct LocalSite {
    /// The site (cluster and context) name.
    pub name: String,
    /// Its storage location.
    pub location: String,
    /// Its kubeconfig, `DIR/<site>.kubeconfig`.
    pub kubeconfig: PathBuf,
    /// The simulated cluster.
    pub cluster: SimCluster,
    /// The operator model on it.
    pub operator: RunningOperator,
    /// The OLM model on it, when the operator is OLM-managed.
    pub olm: Option<OlmModel>,
}

impl LocalSite {
    /// Where the operator is installed: `(namespace, name)` of its Subscription (when
    /// [`LocalSite::olm`] runs) or of its Deployment.
    #[must_use]
    pub fn operator_install(&self) -> (&'static str, &'static str) {
        match self.cluster.flavour() {
            Flavour::Openshift => (OPERATOR_NAMESPACE_OPENSHIFT, OPERATOR_SUBSCRIPTION),
            Flavour::Kubernetes => (OPERATOR_NAMESPACE_KUBERNETES, OPERATOR_SUBSCRIPTION),
        }
    }

    /// `(namespace, name)` of the operator's Deployment: the one its CSV names
    /// ([`olm::OPERATOR_DEPLOYMENT`]) when [`LocalSite::olm`] runs, else the plain one.
    #[must_use]
    pub fn operator_deployment(&self) -> (&'static str, &'static str) {
        let (namespace, subscription) = self.operator_install();
        match self.olm {
            Some(_) => (namespace, olm::OPERATOR_DEPLOYMENT),
            None => (namespace, subscription),
        }
    }
}

/// A running local environment. Dropping it stops everything too, without reporting.
#[derive(Debug)]
pub struct LocalEnv {
    state_dir: PathBuf,
    kubeconfig: PathBuf,
    services_json: PathBuf,
    services: SharedServices,
    ledger: Arc<Ledger>,
    migration_pace: MigrationPace,
    sites: Vec<LocalSite>,
    load_balancer: LoadBalancer,
    replication: ReplicationWorker,
}

fn check_sites(sites: &[String]) -> Result<Vec<String>, Error> {
    if sites.is_empty() {
        return Err(Error::NoSites);
    }
    let mut locations: Vec<String> = Vec::new();
    for site in sites {
        let label = site.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && site
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !site.ends_with('-')
            && site.len() <= 63;
        if !label {
            return Err(Error::BadSiteName { site: site.clone() });
        }
        let location = storage_location(site);
        if locations.contains(&location) {
            return Err(Error::DuplicateSite {
                site: site.clone(),
                location,
            });
        }
        locations.push(location);
    }
    Ok(locations)
}

impl LocalEnv {
    /// Starts the services, the clusters and the operator models, and writes the
    /// kubeconfigs and `services.json`. Every wait inside is bounded by its launcher.
    ///
    /// # Errors
    /// Any [`Error`]; whatever had started is stopped again (by `Drop`).
    pub async fn start(opts: &LocalOptions) -> Result<Self, Error> {
        crate::sim::install_crypto_provider();
        let locations = check_sites(&opts.sites)?;
        let location_refs: Vec<&str> = locations.iter().map(String::as_str).collect();
        let services = SharedServices::start(&opts.state_dir, &location_refs)
            .await
            .map_err(|source| Error::Services {
                state_dir: opts.state_dir.clone(),
                source,
            })?;
        let ledger = Ledger::open(&opts.state_dir).map_err(Error::Ledger)?;
        let migration_pace = MigrationPace::default();
        let mut clusters = Vec::new();
        for site in &opts.sites {
            let mut config = ClusterConfig::new(site);
            config.flavour = opts.flavour;
            config.tls = opts.tls;
            let cluster = SimCluster::start(config)
                .await
                .map_err(|source| Error::Cluster {
                    site: site.clone(),
                    source: Box::new(source),
                })?;
            clusters.push(cluster);
        }
        let endpoints: Vec<_> = clusters.iter().map(SimCluster::endpoint).collect();
        let kubeconfig = opts.state_dir.join("kubeconfig");
        kubeconfig::write(&kubeconfig, &endpoints).map_err(Error::Kubeconfig)?;
        let mut sites = Vec::new();
        for ((cluster, location), endpoint) in clusters.into_iter().zip(locations).zip(&endpoints) {
            let path = opts.state_dir.join(format!("{}.kubeconfig", endpoint.site));
            kubeconfig::write(&path, std::slice::from_ref(endpoint)).map_err(Error::Kubeconfig)?;
            let mut op = OperatorOptions::new(&cluster, opts.quay_version);
            let olm = if opts.olm && cluster.flavour() == Flavour::Openshift {
                // The model runs as the Deployment the CSV's install strategy names.
                op.deployment = olm::OPERATOR_DEPLOYMENT.to_owned();
                Some(start_olm(&cluster, &op.namespace, opts.quay_version).await?)
            } else {
                None
            };
            op.ledger = Arc::clone(&ledger);
            op.storage_location = location.clone();
            op.migration_time_per_revision = opts.migration_time_per_revision;
            op.migration_pace = migration_pace.clone();
            op.status_interval = opts.status_interval;
            op.pod_start_delay = opts.pod_start_delay;
            op.job_backoff = opts.job_backoff;
            let operator =
                OperatorModel::start(&cluster, op)
                    .await
                    .map_err(|source| Error::Operator {
                        site: endpoint.site.clone(),
                        source: Box::new(source),
                    })?;
            sites.push(LocalSite {
                name: endpoint.site.clone(),
                location,
                kubeconfig: path,
                cluster,
                operator,
                olm,
            });
        }
        let pods: Vec<(String, Arc<dyn SitePods>)> = sites
            .iter()
            .map(|s| {
                let pods: Arc<dyn SitePods> = Arc::new(s.operator.ready_pods());
                (s.name.clone(), pods)
            })
            .collect();
        let load_balancer = LoadBalancer::start(pods.clone(), &opts.load_balancer)
            .await
            .map_err(Error::LoadBalancer)?;
        let mut workers = Vec::new();
        for (site, (name, pods)) in sites.iter().zip(pods) {
            let client = site
                .cluster
                .client_for(REPLICATION_CLIENT)
                .await
                .map_err(|source| Error::Cluster {
                    site: name.clone(),
                    source: Box::new(source),
                })?;
            workers.push(WorkerSite {
                site: name,
                client,
                pods,
            });
        }
        let replication = ReplicationWorker::start(workers, &opts.replication);
        let services_json = services
            .services_json_with(Some(load_balancer.to_entry()))
            .map_err(|source| Error::Services {
                state_dir: opts.state_dir.clone(),
                source,
            })?;
        Ok(Self {
            state_dir: opts.state_dir.clone(),
            kubeconfig,
            services_json,
            services,
            ledger,
            migration_pace,
            sites,
            load_balancer,
            replication,
        })
    }

    /// The state dir.
    #[must_use]
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// `DIR/kubeconfig`, one context per site.
    #[must_use]
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// `DIR/services.json`.
    #[must_use]
    pub fn services_json(&self) -> &Path {
        &self.services_json
    }

    /// The shared services.
    #[must_use]
    pub fn services(&self) -> &SharedServices {
        &self.services
    }

    /// The safety ledger every operator model reports to.
    #[must_use]
    pub fn ledger(&self) -> &Arc<Ledger> {
        &self.ledger
    }

    /// Every site's migrations that start from now on take `time` per revision (instead of
    /// [`LocalOptions::migration_time_per_revision`]).
    pub fn set_migration_time_per_revision(&self, time: Duration) {
        self.migration_pace.set(time);
    }

    /// The sites, in the order given.
    #[must_use]
    pub fn sites(&self) -> &[LocalSite] {
        &self.sites
    }

    /// One site by name.
    ///
    /// # Errors
    /// [`Error::UnknownSite`].
    pub fn site(&self, name: &str) -> Result<&LocalSite, Error> {
        self.sites
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| Error::UnknownSite {
                site: name.to_owned(),
                known: self
                    .sites
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The load balancer model: global endpoints and every site's health endpoints.
    #[must_use]
    pub fn load_balancer(&self) -> &LoadBalancer {
        &self.load_balancer
    }

    /// The global Quay endpoint: [`GlobalEndpoint::routed_sites`] says which sites it routes
    /// to now, [`GlobalEndpoint::sample`] asks it as a client would, and
    /// [`GlobalEndpoint::monitor`] keeps asking in the background (to show the global name
    /// answered throughout an upgrade).
    #[must_use]
    pub fn global_quay(&self) -> &GlobalEndpoint {
        self.load_balancer.quay()
    }

    /// `http://127.0.0.1:PORT` of the global Quay endpoint (what `SERVER_HOSTNAME` names);
    /// `GET <url>/health/instance` answers from a ready site, or 503 when none is.
    #[must_use]
    pub fn global_quay_url(&self) -> &str {
        self.load_balancer.quay().url()
    }

    /// `http://127.0.0.1:PORT` of the global Clair endpoint (`/healthz`).
    #[must_use]
    pub fn global_clair_url(&self) -> &str {
        self.load_balancer.clair().url()
    }

    /// The blob replication worker.
    #[must_use]
    pub fn replication(&self) -> &ReplicationWorker {
        &self.replication
    }

    /// What site `name`'s quay pods know about storage (read from its cluster).
    ///
    /// # Errors
    /// [`blobs::Error`]: [`blobs::Error::UnknownSite`], [`blobs::Error::Client`], or as
    /// [`SiteStorage::read`].
    pub async fn site_storage(&self, name: &str) -> Result<SiteStorage, blobs::Error> {
        let site = self.site(name).map_err(|_| blobs::Error::UnknownSite {
            site: name.to_owned(),
        })?;
        let client = site
            .cluster
            .client_for(HARNESS_CLIENT)
            .await
            .map_err(|source| blobs::Error::Client {
                site: name.to_owned(),
                source: Box::new(source),
            })?;
        SiteStorage::read(name, &client).await
    }

    /// Pushes `bytes` through site `name`: into its preferred location's bucket at Quay's key
    /// layout ([`blobs::push`]); the replication worker copies it on.
    ///
    /// # Errors
    /// As [`LocalEnv::site_storage`] and [`blobs::push`].
    pub async fn push_blob(&self, name: &str, bytes: Bytes) -> Result<PushedBlob, blobs::Error> {
        blobs::push(&self.site_storage(name).await?, bytes).await
    }

    /// The variables of `examples/three-sites` for this environment: `kubeconfig_paths`
    /// (by storage location), `database_uri`, `redis`, `storage` (by location) and freshly
    /// drawn `secret_key` and `database_secret_key`.
    ///
    /// # Errors
    /// [`Error::Random`] if no random bytes are available.
    pub fn tfvars(&self) -> Result<Value, Error> {
        let file = self.services.to_file();
        let mut kubeconfigs = serde_json::Map::new();
        let mut storage = serde_json::Map::new();
        for site in &self.sites {
            kubeconfigs.insert(site.location.clone(), json!(site.kubeconfig));
            if let Some(s3) = self.services.s3_site(&site.location) {
                storage.insert(
                    site.location.clone(),
                    json!({
                        "hostname": services::redis::HOST,
                        "port": s3.port(),
                        "bucket": s3.bucket,
                        "access_key": s3.access_key,
                        "secret_key": s3.secret_key.expose(),
                        "region": s3.region,
                    }),
                );
            }
        }
        Ok(json!({
            "kubeconfig_paths": kubeconfigs,
            "database_uri": self.services.postgres().database_uri(Database::Quay).expose(),
            "redis": {
                "host": file.redis.host,
                "port": file.redis.port,
                "password": file.redis.password,
            },
            "storage": storage,
            "secret_key": random_key()?,
            "database_secret_key": random_key()?,
        }))
    }

    /// Writes [`LocalEnv::tfvars`] to `path` (mode 0600: it holds every password).
    ///
    /// # Errors
    /// [`Error::Random`] or [`Error::Write`].
    pub fn write_tfvars(&self, path: &Path) -> Result<(), Error> {
        let doc = self.tfvars()?;
        crate::secrets::write_private(path, format!("{doc:#}\n").as_bytes()).map_err(|source| {
            Error::Write {
                path: path.to_owned(),
                source,
            }
        })
    }

    /// Stops the replication worker and the load balancer, the operator models, the
    /// clusters, then the services.
    ///
    /// # Errors
    /// The services' first stop failure.
    pub async fn stop(self) -> Result<(), services::Error> {
        self.replication.stop().await;
        self.load_balancer.stop().await;
        for site in self.sites {
            site.operator.stop().await;
            drop(site.olm);
            site.cluster.stop().await;
        }
        self.services.stop().await
    }
}

/// Installs the operator at `version` through a Subscription in `namespace` and starts the
/// OLM controllers, so the operator Deployment exists (OLM-owned) before the operator model
/// adopts it.
async fn start_olm(
    cluster: &SimCluster,
    namespace: &str,
    version: QuayVersion,
) -> Result<OlmModel, Error> {
    let site = cluster.site().to_owned();
    let olm_error = |source| Error::Olm {
        site: site.clone(),
        source: Box::new(source),
    };
    let client = cluster
        .client_for(HARNESS_CLIENT)
        .await
        .map_err(|source| Error::Cluster {
            site: site.clone(),
            source: Box::new(source),
        })?;
    olm::install_operator(
        &client,
        namespace,
        OPERATOR_SUBSCRIPTION,
        &version.to_string(),
    )
    .await
    .map_err(olm_error)?;
    OlmModel::start(cluster).await.map_err(olm_error)
}

/// 48 random hex characters: a SECRET_KEY or DATABASE_SECRET_KEY.
fn random_key() -> Result<String, Error> {
    let mut bytes = [0_u8; 24];
    getrandom::fill(&mut bytes).map_err(Error::Random)?;
    Ok(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_location_writes_dashes_as_underscores() {
        assert_eq!(storage_location("us-east"), "us_east");
    }

    #[test]
    fn rejects_two_sites_with_the_same_location() {
        let err = check_sites(&["a-b".into(), "a-b".into()]).unwrap_err();
        assert!(matches!(err, Error::DuplicateSite { location, .. } if location == "a_b"));
    }

    #[test]
    fn rejects_a_site_name_that_is_no_dns_label() {
        let err = check_sites(&["us_east".into()]).unwrap_err();
        assert!(matches!(err, Error::BadSiteName { site } if site == "us_east"));
    }

    #[test]
    fn defaults_to_three_openshift_sites_on_the_newest_quay() {
        let opts = LocalOptions::new(Path::new("/tmp/x"));
        assert_eq!(opts.sites, DEFAULT_SITES);
        assert_eq!(opts.flavour, Flavour::Openshift);
        assert!(opts.olm, "the operator is OLM-managed by default");
        assert_eq!(
            opts.quay_version,
            Catalogue::builtin().newest().version,
            "default version"
        );
    }
}
