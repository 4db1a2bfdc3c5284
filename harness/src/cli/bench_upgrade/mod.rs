//! `georep-harness bench upgrade`: how much longer `quay_georep_upgrade` takes than the work
//! that must happen in sequence anyway.
//!
//! Each run starts the local backend with three sites one minor below the catalogue's newest
//! Quay (the database seeded at that version's head, so installing costs no migration),
//! applies `examples/three-sites`, then applies `examples/upgrade` to the newest version with
//! the given migration time per revision. While it runs, a recorder watches every cluster
//! (registries, pods, the migration Job, Subscriptions, InstallPlans, the operator
//! Deployment, the Lease and the progress ConfigMap) and timestamps each change it sees.
//!
//! From that timeline, the **critical path** is what the simulated sites spend on work the
//! documented procedure must do in sequence:
//! 1. the secondaries' pods going away once scaled to 0 (in parallel: the slowest site);
//! 2. the primary's operator upgrade: from the Subscription channel change (or the operator
//!    Deployment patch) to `currentVersion == target` and `Available`, which holds OLM's
//!    install, the migration Job and the rollout; minus the time an InstallPlan waited for
//!    the provider's approval;
//! 3. the same for each secondary, one after the other (each runs its own migration Job
//!    against the shared database, and two at once are unsafe);
//! 4. the secondaries' restore: from the replicas written back to as many ready pods as
//!    before (in parallel: the slowest site).
//!
//! The **upgrade time** is from the Lease being taken to the progress record being deleted;
//! the preflight read before the Lease and Terraform's own work are in the apply time only.
//! Prints figures; judges nothing.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::watcher;
use serde_json::json;
use tokio::task::JoinHandle;
use tokio_stream::StreamExt as _;

use crate::local::{self, LocalEnv, LocalOptions};
use crate::quay::{Catalogue, QuayVersion, api_resource, quay_registry_resource};
use crate::services::postgres::Database;
use crate::terraform::{self, DevOverride, TerraformBinary, Workdir};

pub mod timeline;

pub use timeline::{Kind, Missing, Seen, UpgradeRun, analyse};

/// The namespace `examples/three-sites` puts every site in.
const NAMESPACE: &str = "quay-enterprise";
/// How long the recorder may take to list everything before the upgrade starts.
const SYNC_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one Terraform command may run.
const TERRAFORM_TIMEOUT: Duration = Duration::from_secs(1200);

/// How the operators are installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OperatorMethod {
    /// A Subscription with manual approval (OLM model).
    Olm,
    /// A plain Deployment whose image is patched.
    Deployment,
}

/// Arguments of `bench upgrade`.
#[derive(Debug, Clone, clap::Args)]
pub struct UpgradeArgs {
    /// How long the simulated migration Job takes per alembic revision, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub migration_ms_per_revision: u64,
    /// Upgrades to run; the report gives each and their median.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// How the operators are installed and upgraded.
    #[arg(long, value_enum, default_value_t = OperatorMethod::Olm)]
    pub operator: OperatorMethod,
    /// The Terraform executable. Default: the pinned 1.0.3 under the repository, else
    /// `terraform` on PATH.
    #[arg(long)]
    pub terraform: Option<PathBuf>,
    /// The directory holding `terraform-provider-quay`. Default: this executable's directory
    /// if it holds one, else `<repo>/target/debug`.
    #[arg(long)]
    pub provider_dir: Option<PathBuf>,
}

/// The benchmark could not run (not: it was slow).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The provider or Terraform was not found.
    #[error("find the programs to benchmark")]
    Programs(#[source] terraform::Error),
    /// Terraform's version could not be read.
    #[error("probe terraform")]
    Probe(#[source] terraform::Error),
    /// The catalogue has fewer than two releases.
    #[error("the operator catalogue lists fewer than two releases: nothing to upgrade")]
    NoUpgrade,
    /// No run was asked for.
    #[error("--runs must be at least 1")]
    NothingToMeasure,
    /// A file could not be read or written.
    #[error("{what} {}", path.display())]
    File {
        /// `read` or `write`.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The local backend did not start.
    #[error("start the local backend")]
    Local(#[source] local::Error),
    /// The local backend did not stop cleanly.
    #[error("stop the local backend")]
    Stop(#[source] crate::services::Error),
    /// The database could not be seeded at the starting version.
    #[error("seed the shared database at Quay {version}'s head revision: {message}")]
    Seed {
        /// The version.
        version: QuayVersion,
        /// What PostgreSQL said.
        message: String,
    },
    /// The recorder could not connect or did not list everything in time.
    #[error("start the timeline recorder on site {site}: {message}")]
    Recorder {
        /// The site.
        site: String,
        /// Why.
        message: String,
    },
    /// A Terraform command could not run or reported errors.
    #[error("terraform {step}")]
    Terraform {
        /// `install` or `upgrade`.
        step: &'static str,
        /// The cause.
        #[source]
        source: terraform::Error,
    },
    /// A Terraform thread panicked.
    #[error("terraform thread")]
    Task(#[source] tokio::task::JoinError),
    /// The timeline lacks a moment the critical path needs.
    #[error("derive the critical path")]
    Timeline(#[source] timeline::Missing),
}

/// The whole benchmark.
#[derive(Debug, Clone)]
pub struct UpgradeReport {
    /// `terraform 1.0.3`.
    pub terraform: String,
    /// The upgrade's versions.
    pub from: QuayVersion,
    /// The target.
    pub to: QuayVersion,
    /// Revisions the primary migrates.
    pub revisions: usize,
    /// Migration time per revision.
    pub per_revision: Duration,
    /// How the operators were upgraded.
    pub operator: OperatorMethod,
    /// Every run.
    pub runs: Vec<UpgradeRun>,
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn median_of(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

impl fmt::Display for UpgradeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "quay_georep_upgrade of 3 sites, Quay {} -> {} ({} revisions x {} ms migration), {:?} operators, {}",
            self.from,
            self.to,
            self.revisions,
            self.per_revision.as_millis(),
            self.operator,
            self.terraform
        )?;
        writeln!(
            f,
            "  {:>3} {:>8} {:>8} {:>9} | {:>8} {:>8} {:>9} {:>18} {:>8} | {:>6} {:>8}",
            "run",
            "apply",
            "upgrade",
            "critical",
            "down",
            "primary",
            "migration",
            "secondaries",
            "restore",
            "ratio",
            "approval"
        )?;
        for (i, r) in self.runs.iter().enumerate() {
            let secondaries: Vec<String> = r
                .secondaries
                .iter()
                .map(|d| format!("{:.2}", secs(*d)))
                .collect();
            writeln!(
                f,
                "  {:>3} {:>7.2}s {:>7.2}s {:>8.2}s | {:>7.2}s {:>7.2}s {:>8} {:>18} {:>7.2}s | {:>6.2} {:>7.2}s",
                i + 1,
                secs(r.apply),
                secs(r.upgrade),
                secs(r.critical_path()),
                secs(r.scale_down),
                secs(r.primary),
                r.migration
                    .map_or_else(|| "-".to_owned(), |m| format!("{:.2}s", secs(m))),
                secondaries.join(" + "),
                secs(r.restore),
                r.ratio(),
                secs(r.approval_waits),
            )?;
        }
        let ratio = median_of(self.runs.iter().map(UpgradeRun::ratio).collect());
        let apply_ratio = median_of(
            self.runs
                .iter()
                .map(|r| secs(r.apply) / secs(r.critical_path()).max(f64::EPSILON))
                .collect(),
        );
        writeln!(
            f,
            "  median: upgrade / critical path = {ratio:.3} (overhead {:+.1}%, target under 10%); whole terraform apply / critical path = {apply_ratio:.3}",
            (ratio - 1.0) * 100.0
        )?;
        if let Some(first) = self.runs.first() {
            writeln!(
                f,
                "  where the time beyond the critical path went (per run, s):"
            )?;
            for (i, (what, _)) in first.gaps.iter().enumerate() {
                let values: Vec<String> = self
                    .runs
                    .iter()
                    .filter_map(|r| r.gaps.get(i))
                    .map(|(_, d)| format!("{:.2}", secs(*d)))
                    .collect();
                writeln!(f, "    {what:<55} {}", values.join("  "))?;
            }
            let approvals: Vec<String> = self
                .runs
                .iter()
                .map(|r| format!("{:.2}", secs(r.approval_waits)))
                .collect();
            writeln!(
                f,
                "    {:<55} {}",
                "InstallPlans waiting for approval (all sites)",
                approvals.join("  ")
            )?;
        }
        writeln!(
            f,
            "  upgrade: Lease taken to progress record deleted; critical: down + primary + secondaries (in sequence) + restore, sim time only; approval: InstallPlans waiting for the provider, not counted"
        )
    }
}

/// Watches every cluster and timestamps what changes.
struct Recorder {
    seen: Arc<Mutex<Vec<Seen>>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Recorder {
    /// Starts one watcher per (site, kind) and waits until each has listed its objects.
    async fn start(env: &LocalEnv) -> Result<Self, Error> {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (synced_tx, mut synced_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        let mut tasks = Vec::new();
        for (index, site) in env.sites().iter().enumerate() {
            let client = site
                .cluster
                .client_for("georep-bench-recorder")
                .await
                .map_err(|e| Error::Recorder {
                    site: site.name.clone(),
                    message: e.to_string(),
                })?;
            let (operator_ns, _) = site.operator_install();
            let watched: [(Kind, ApiResource, &str); 8] = [
                (Kind::Registry, quay_registry_resource(), NAMESPACE),
                (Kind::Pod, api_resource("v1", "Pod"), NAMESPACE),
                (Kind::Job, api_resource("batch/v1", "Job"), NAMESPACE),
                (
                    Kind::Lease,
                    api_resource("coordination.k8s.io/v1", "Lease"),
                    NAMESPACE,
                ),
                (Kind::ConfigMap, api_resource("v1", "ConfigMap"), NAMESPACE),
                (
                    Kind::OperatorDeployment,
                    api_resource("apps/v1", "Deployment"),
                    operator_ns,
                ),
                (
                    Kind::Subscription,
                    api_resource("operators.coreos.com/v1alpha1", "Subscription"),
                    operator_ns,
                ),
                (
                    Kind::InstallPlan,
                    api_resource("operators.coreos.com/v1alpha1", "InstallPlan"),
                    operator_ns,
                ),
            ];
            for (kind, resource, namespace) in watched {
                if site.olm.is_none() && matches!(kind, Kind::Subscription | Kind::InstallPlan) {
                    continue;
                }
                let api: Api<DynamicObject> =
                    Api::namespaced_with(client.clone(), namespace, &resource);
                let seen = Arc::clone(&seen);
                let synced = synced_tx.clone();
                tasks.push(tokio::spawn(async move {
                    let stream = watcher(api, watcher::Config::default());
                    let mut stream = std::pin::pin!(stream);
                    while let Some(event) = stream.next().await {
                        let at = Instant::now();
                        let (object, deleted) = match event {
                            Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => {
                                (o, false)
                            }
                            Ok(watcher::Event::Delete(o)) => (o, true),
                            Ok(watcher::Event::InitDone) => {
                                let _ = synced.send(());
                                continue;
                            }
                            // Init, and errors: the watcher re-lists and goes on by itself.
                            Ok(watcher::Event::Init) | Err(_) => continue,
                        };
                        let entry = Seen {
                            at,
                            site: index,
                            kind,
                            name: object.metadata.name.clone().unwrap_or_default(),
                            deleted,
                            object: serde_json::to_value(&object).unwrap_or_default(),
                        };
                        seen.lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(entry);
                    }
                }));
            }
        }
        let expected = tasks.len();
        let waited = tokio::time::timeout(SYNC_TIMEOUT, async {
            for _ in 0..expected {
                synced_rx.recv().await;
            }
        })
        .await;
        if waited.is_err() {
            for task in &tasks {
                task.abort();
            }
            return Err(Error::Recorder {
                site: "any".to_owned(),
                message: format!("not every watch listed its objects in {SYNC_TIMEOUT:?}"),
            });
        }
        Ok(Self { seen, tasks })
    }

    /// Stops watching and returns the timeline in order.
    fn finish(self) -> Vec<Seen> {
        for task in &self.tasks {
            task.abort();
        }
        let mut seen =
            std::mem::take(&mut *self.seen.lock().unwrap_or_else(PoisonError::into_inner));
        seen.sort_by_key(|s| s.at);
        seen
    }
}

fn read(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|source| Error::File {
        what: "read",
        path: path.to_owned(),
        source,
    })
}

fn write(path: &Path, content: &str) -> Result<(), Error> {
    std::fs::write(path, content).map_err(|source| Error::File {
        what: "write",
        path: path.to_owned(),
        source,
    })
}

/// Puts the shared database at `version`'s head revision, as a database that already runs it.
async fn seed_database(env: &LocalEnv, version: QuayVersion) -> Result<(), Error> {
    let seed_error = |message: String| Error::Seed { version, message };
    let head = Catalogue::builtin()
        .head(&version)
        .map_err(|e| seed_error(e.to_string()))?
        .to_owned();
    let uri = env.services().postgres().database_uri(Database::Quay);
    let (client, connection) = tokio_postgres::connect(uri.expose(), tokio_postgres::NoTls)
        .await
        .map_err(|e| seed_error(e.to_string()))?;
    let connection = tokio::spawn(connection);
    let seeded = client
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS alembic_version (version_num varchar(32) NOT NULL, \
             CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)); \
             DELETE FROM alembic_version; INSERT INTO alembic_version VALUES ('{head}');"
        ))
        .await
        .map_err(|e| seed_error(e.to_string()));
    drop(client);
    let _ = connection.await;
    seeded
}

async fn terraform_apply(dir: &Arc<Workdir>, step: &'static str) -> Result<Duration, Error> {
    let dir = Arc::clone(dir);
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        dir.apply()
            .and_then(terraform::ApplyOutcome::require_success)
            .map(|_| started.elapsed())
            .map_err(|source| Error::Terraform { step, source })
    })
    .await
    .map_err(Error::Task)?
}

/// The inputs every run shares.
struct Setup {
    terraform: TerraformBinary,
    provider_dir: PathBuf,
    examples: PathBuf,
    from: QuayVersion,
    to: QuayVersion,
}

/// One run: a fresh backend at `from`, the sites installed, the upgrade timed and analysed.
async fn one_run(setup: &Setup, args: &UpgradeArgs) -> Result<UpgradeRun, Error> {
    let state = tempfile::tempdir().map_err(|source| Error::File {
        what: "write",
        path: std::env::temp_dir(),
        source,
    })?;
    let mut opts = LocalOptions::new(state.path());
    opts.quay_version = setup.from;
    opts.olm = args.operator == OperatorMethod::Olm;
    opts.migration_time_per_revision = Duration::from_millis(args.migration_ms_per_revision);
    let env = LocalEnv::start(&opts).await.map_err(Error::Local)?;
    let outcome = upgrade_in(&env, setup, args).await;
    let stopped = env.stop().await.map_err(Error::Stop);
    let run = outcome?;
    stopped?;
    Ok(run)
}

async fn upgrade_in(
    env: &LocalEnv,
    setup: &Setup,
    args: &UpgradeArgs,
) -> Result<UpgradeRun, Error> {
    seed_database(env, setup.from).await?;
    let dir = Workdir::new(
        &setup.terraform,
        "bench-upgrade",
        &[DevOverride::quay(&setup.provider_dir)],
    )
    .map_err(|source| Error::Terraform {
        step: "set-up",
        source,
    })?
    .with_timeout(TERRAFORM_TIMEOUT);
    for file in ["main.tf", "variables.tf", "outputs.tf"] {
        write(
            &dir.path().join(file),
            &read(&setup.examples.join("three-sites").join(file))?,
        )?;
    }
    env.write_tfvars(&dir.path().join("terraform.tfvars.json"))
        .map_err(Error::Local)?;
    let dir = Arc::new(dir);
    terraform_apply(&dir, "install").await?;

    write(
        &dir.path().join("upgrade.tf"),
        &read(&setup.examples.join("upgrade/upgrade.tf"))?,
    )?;
    let operator_method = match args.operator {
        OperatorMethod::Olm => "olm",
        OperatorMethod::Deployment => "deployment",
    };
    write(
        &dir.path().join("upgrade.auto.tfvars.json"),
        &json!({
            "target_version": setup.to.to_string(),
            "operator_method": operator_method,
            // The local backend's clusters are OpenShift-flavoured: OLM or not, the operator
            // lives there.
            "operator_namespace": local::OPERATOR_NAMESPACE_OPENSHIFT,
        })
        .to_string(),
    )?;
    let recorder = Recorder::start(env).await?;
    let applied = terraform_apply(&dir, "upgrade").await;
    let timeline = recorder.finish();
    analyse(
        &timeline,
        env.sites().len(),
        &setup.to.to_string(),
        applied?,
    )
    .map_err(Error::Timeline)
}

/// Runs the benchmark `args.runs` times.
///
/// # Errors
/// [`Error`] when a program is missing, the backend fails or a Terraform command fails.
pub async fn run(args: &UpgradeArgs) -> Result<UpgradeReport, Error> {
    if args.runs == 0 {
        return Err(Error::NothingToMeasure);
    }
    let (root, provider_dir) =
        terraform::repo_and_provider_dir(args.provider_dir.as_deref()).map_err(Error::Programs)?;
    let terraform_path =
        terraform::find_terraform(args.terraform.as_deref(), &root).map_err(Error::Programs)?;
    let terraform = TerraformBinary::probe(&terraform_path).map_err(Error::Probe)?;
    let releases = Catalogue::builtin().releases();
    let [.., from, to] = releases else {
        return Err(Error::NoUpgrade);
    };
    let revisions = Catalogue::builtin()
        .upgrade_path(Some(from.head.as_str()), &to.version)
        .map_or(0, |path| path.len());
    let setup = Setup {
        terraform,
        provider_dir,
        examples: root.join("examples"),
        from: from.version,
        to: to.version,
    };
    let mut report = UpgradeReport {
        terraform: setup.terraform.label(),
        from: setup.from,
        to: setup.to,
        revisions,
        per_revision: Duration::from_millis(args.migration_ms_per_revision),
        operator: args.operator,
        runs: Vec::new(),
    };
    for i in 0..args.runs {
        eprintln!("bench upgrade: run {} of {}", i + 1, args.runs);
        report.runs.push(one_run(&setup, args).await?);
    }
    Ok(report)
}
