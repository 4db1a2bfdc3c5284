//! The conformance suite: every end-to-end scenario of Quay geo-replication with the
//! provider, run against a [`Target`] (the kubeconfig contexts of the sites, the shared
//! services, the global names and endpoints, how the operator is installed) and never against
//! the simulator's Rust types, so the same scenario runs on the local backend and on a team's
//! own clusters (`georep-harness conformance --backend existing --target FILE`).
//!
//! # Brief overview
//! - [`Target`] ([`target`]): the YAML file of the `existing` backend; [`local::target`]
//!   builds it for the local backend, and `georep-harness up` writes it.
//! - [`Capability`] and [`Capabilities`] ([`capability`]): what only some backends can do
//!   (the safety ledger, API faults, write counters, slow migrations, simulated pushes);
//!   [`local::capabilities`] has them all.
//! - [`Scenario`] ([`scenario`]): a stable id, a one-sentence claim, the capabilities it
//!   needs, whether it upgrades the operator or migrates the shared database (then it runs
//!   alone, and on the `existing` backend an operator upgrade needs
//!   `--allow-operator-upgrade`), and its checks against a [`Context`]; the catalogue is
//!   [`scenarios::catalogue`], and the one table of bad inputs is [`bad_inputs`].
//! - [`runner::Runner`]: selection (`--scenario`/`--skip` globs, [`select`]), skips,
//!   `--parallel`, clean-up, redaction; [`run`] does a whole run with any backend, and
//!   [`dry_run`] says what a run would create where, touching no cluster.
//! - [`namespaces`]: what the suite may touch (the run's labelled namespaces), and the
//!   sweep after Ctrl-C ([`interrupt`]).
//! - [`RunResult`] ([`result`]) and its reports ([`report`]): JUnit XML, Markdown, JSON.
//! - [`Output`] ([`output`]): progress on a terminal, plain lines otherwise.
//!
//! # What a scenario may touch on a team's clusters
//! Only namespaces named from the run's prefix (`cf-xxxxxx-...`), created by the provider
//! for the scenario's sites and labelled with the run ([`namespaces::RUN_LABEL`]); the
//! runner destroys what each scenario applied and deletes those namespaces afterwards, also
//! after a failure or Ctrl-C unless `--keep-on-failure`, and at the end sweeps any of the
//! run's namespaces still there. It deletes no namespace without the run's name and label,
//! and never touches a `QuayRegistry` it did not create. What it cannot stop: a second
//! Ctrl-C exits at once and leaves what the run made (the message says how to find it).

pub mod bad_inputs;
pub mod capability;
mod context;
pub mod dry_run;
mod failure;
pub mod interrupt;
pub mod local;
pub mod namespaces;
pub mod output;
pub mod report;
pub mod result;
pub mod runner;
pub mod scenario;
pub mod scenarios;
pub mod select;
pub mod target;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use capability::{Capabilities, Capability};
pub use context::Context;
pub use failure::Failure;
pub use output::Output;
pub use result::{CaseResult, Outcome, RunResult, SuiteResult};
pub use scenario::Scenario;
pub use target::Target;

use crate::local::{LocalEnv, LocalOptions};
use crate::secrets::SecretScanner;
use crate::terraform::{self, TerraformBinary};

/// Which clusters a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// Start the local backend (simulated clusters, real PostgreSQL, Redis and S3) for the
    /// run, and stop it after.
    Local,
    /// The clusters of a target file (`--target`).
    Existing,
    /// The clusters of `up --backend kind`: the target file it wrote into its state dir
    /// (`--target` or `--state-dir`, default `<repo>/.cache/georep-kind`), run as `existing`.
    Kind,
}

impl Backend {
    /// `local` or `existing`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Existing => "existing",
            Self::Kind => "kind",
        }
    }
}

/// What [`run`] runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The backend.
    pub backend: Backend,
    /// The target file (required for [`Backend::Existing`]).
    pub target: Option<PathBuf>,
    /// `--scenario` globs (none: every scenario).
    pub include: Vec<String>,
    /// `--skip` globs.
    pub skip: Vec<String>,
    /// Terraform executables, one suite each; empty: the target's, else the repository's
    /// pinned one, else `terraform` on PATH.
    pub terraform: Vec<PathBuf>,
    /// The provider's directory; default: the target's, else as `demo` finds it.
    pub provider_dir: Option<PathBuf>,
    /// Leave what a failed scenario made, and its working directory.
    pub keep_on_failure: bool,
    /// How many scenarios may run at once (0 and 1: one at a time); scenarios that
    /// [run alone](Scenario::runs_alone) still do.
    pub parallel: usize,
    /// Handle Ctrl-C and SIGTERM ([`interrupt::watch`]): the command sets it, tests do not.
    pub handle_interrupts: bool,
    /// Let scenarios upgrade the target's operator on the `existing` backend
    /// (`--allow-operator-upgrade`); the local backend, started for the run and thrown away
    /// after, allows it whatever this says.
    pub allow_operator_upgrade: bool,
    /// Where the local backend and the scenarios' working directories go; default a new
    /// temporary directory (deleted after, unless something is kept).
    pub state_dir: Option<PathBuf>,
}

impl Options {
    /// Every scenario on `backend`, with the defaults.
    #[must_use]
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            target: None,
            include: Vec::new(),
            skip: Vec::new(),
            terraform: Vec::new(),
            provider_dir: None,
            keep_on_failure: false,
            parallel: 1,
            handle_interrupts: false,
            allow_operator_upgrade: false,
            state_dir: None,
        }
    }
}

/// A run could not happen (a scenario that failed is a failed [`RunResult`], not this).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `--backend existing` without `--target`.
    #[error("--backend existing needs --target FILE (a YAML target file)")]
    NoTarget,
    /// `--backend kind` without a target file where `up --backend kind` writes it.
    #[error(
        "no {} (and no --target): bring the kind backend up first with `georep-harness up --backend kind`, with the same --state-dir",
        path.display()
    )]
    NoKindTarget {
        /// Where the target file was looked for.
        path: PathBuf,
    },
    /// The signal handlers could not be installed.
    #[error("handle Ctrl-C")]
    Signals(#[source] std::io::Error),
    /// The target file is wrong.
    #[error("read the target")]
    Target(#[from] target::Error),
    /// No scenario matches the selection.
    #[error("no scenario matches --scenario {include:?} --skip {skip:?}; see --list")]
    NothingSelected {
        /// The `--scenario` globs.
        include: Vec<String>,
        /// The `--skip` globs.
        skip: Vec<String>,
    },
    /// Terraform or the provider was not found.
    #[error("find terraform and the provider")]
    Programs(#[source] terraform::Error),
    /// The state directory could not be made.
    #[error("create directory {}", path.display())]
    StateDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The local backend did not start.
    #[error("start the local backend")]
    Start(#[source] crate::local::Error),
    /// The local backend did not stop cleanly.
    #[error("stop the local backend")]
    Stop(#[source] crate::services::Error),
    /// No random bytes for the run's keys.
    #[error("draw the run's random keys")]
    Random(#[source] getrandom::Error),
    /// The runner thread panicked or was cancelled.
    #[error("the scenario runner did not finish")]
    Runner(#[source] tokio::task::JoinError),
}

/// The target file of a run on `existing` or `kind` (`None` for `local`).
fn load_target(opts: &Options) -> Result<Option<Target>, Error> {
    match (opts.backend, &opts.target) {
        (Backend::Existing, None) => Err(Error::NoTarget),
        (Backend::Existing | Backend::Kind, Some(path)) => Ok(Some(Target::load(path)?)),
        (Backend::Kind, None) => {
            let path = kind_target_path(opts.state_dir.as_deref());
            if !path.exists() {
                return Err(Error::NoKindTarget { path });
            }
            Ok(Some(Target::load(&path)?))
        }
        (Backend::Local, _) => Ok(None),
    }
}

/// Where `up --backend kind` writes its target file: `<state dir>/conformance-target.yaml`,
/// the state dir defaulting to `<repo>/.cache/georep-kind` as for `up`.
#[must_use]
pub fn kind_target_path(state_dir: Option<&Path>) -> PathBuf {
    let state = state_dir.map_or_else(
        || {
            terraform::repo_root()
                .unwrap_or_else(|_| PathBuf::from("."))
                .join(crate::backend::kind::DEFAULT_STATE_DIR)
        },
        Path::to_owned,
    );
    state.join(local::TARGET_FILE)
}

/// Deletes the run's namespaces still on the sites (after Ctrl-C, or a clean-up that did
/// not finish) and says what it did.
async fn sweep(target: &Target, prefix: &str, output: &Output) {
    let (deleted, problems) = namespaces::sweep(target, prefix, runner::NAMESPACE_TIMEOUT).await;
    if !deleted.is_empty() {
        output.line(&format!(
            "deleted the run's namespaces still there: {}",
            deleted.join(", ")
        ));
    }
    for problem in problems {
        output.line(&format!(
            "warning: cleaning up the run's namespaces: {problem}"
        ));
    }
}

/// How long each migration revision takes on the local backend the suite starts.
pub const LOCAL_MIGRATION_TIME: Duration = Duration::from_millis(50);

/// The Quay version the local backend starts at for `runs` runs of `scenarios` (one per
/// Terraform): as many minors below the catalogue's newest as they upgrade the operator (each
/// takes every site one minor up), so that each has its hop, at most the oldest release (the
/// upgrades left then find every site at the newest and say so), and the newest when none
/// upgrades.
#[must_use]
pub fn local_quay_version(scenarios: &[&Scenario], runs: usize) -> crate::quay::QuayVersion {
    let hops = runs
        * scenarios
            .iter()
            .filter(|s| s.operator_upgrade != scenario::OperatorUpgrade::No)
            .count();
    let releases = crate::quay::Catalogue::builtin().releases();
    let index = releases.len().saturating_sub(1 + hops);
    releases.get(index).map_or_else(
        || crate::quay::Catalogue::builtin().newest().version,
        |r| r.version,
    )
}

/// The Terraform binaries of a run: `explicit`, else the target's, else the one [`terraform::find_terraform`] picks.
fn terraform_binaries(
    explicit: &[PathBuf],
    target: Option<&Target>,
) -> Result<Vec<TerraformBinary>, Error> {
    let paths: Vec<PathBuf> = if !explicit.is_empty() {
        explicit.to_vec()
    } else if let Some(t) = target.filter(|t| !t.terraform.is_empty()) {
        t.terraform.clone()
    } else {
        let repo = terraform::repo_root().map_err(Error::Programs)?;
        vec![terraform::find_terraform(None, &repo).map_err(Error::Programs)?]
    };
    paths
        .iter()
        .map(|p| TerraformBinary::probe(p).map_err(Error::Programs))
        .collect()
}

fn provider_dir(explicit: Option<&Path>, target: Option<&Target>) -> Result<PathBuf, Error> {
    let explicit = explicit.or_else(|| target.and_then(|t| t.provider_dir.as_deref()));
    let (_, dir) = terraform::repo_and_provider_dir(explicit).map_err(Error::Programs)?;
    // Terraform's dev_overrides need an absolute directory.
    Ok(std::path::absolute(&dir).unwrap_or(dir))
}

/// The secrets of a run: the target's and the run's own keys.
fn scanner_for(target: &Target, keys: &(String, String), output: &Output) -> SecretScanner {
    let mut scanner = SecretScanner::new();
    let mut short = Vec::new();
    for (label, value) in target.secrets() {
        if !value.is_empty() && !scanner.add(&label, &value) {
            short.push(label);
        }
    }
    for (label, value) in [("SECRET_KEY", &keys.0), ("DATABASE_SECRET_KEY", &keys.1)] {
        scanner.add(label, value);
    }
    for label in short {
        output.line(&format!(
            "warning: {label} is shorter than {} characters and cannot be redacted reliably",
            crate::secrets::MIN_SECRET_LEN
        ));
    }
    scanner
}

/// Runs the suite: starts the local backend or reads the target, runs the selected
/// scenarios once per Terraform binary, stops the backend, and returns the results. It
/// prints progress to `output`; the reports are the caller's ([`report`]).
///
/// # Errors
/// Any [`Error`]: the run could not happen at all.
pub async fn run(opts: &Options, output: Arc<Output>) -> Result<RunResult, Error> {
    let start = Instant::now();
    let catalogue = scenarios::catalogue();
    if !catalogue
        .iter()
        .any(|s| select::is_selected(&s.id, &opts.include, &opts.skip))
    {
        return Err(Error::NothingSelected {
            include: opts.include.clone(),
            skip: opts.skip.clone(),
        });
    }
    let file_target = load_target(opts)?;
    let binaries = terraform_binaries(&opts.terraform, file_target.as_ref())?;
    let provider_dir = provider_dir(opts.provider_dir.as_deref(), file_target.as_ref())?;
    let state_dir = match &opts.state_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|source| Error::StateDir {
                path: dir.clone(),
                source,
            })?;
            (dir.clone(), None)
        }
        None => {
            let temp = tempfile::Builder::new()
                .prefix("georep-conformance-")
                .tempdir()
                .map_err(|source| Error::StateDir {
                    path: std::env::temp_dir(),
                    source,
                })?;
            (temp.path().to_owned(), Some(temp))
        }
    };
    let (state_path, mut temp) = state_dir;
    let keys = (
        runner::random_key().map_err(Error::Random)?,
        runner::random_key().map_err(Error::Random)?,
    );
    let prefix = runner::new_prefix().map_err(Error::Random)?;
    // Lives until the process exits: once handled, a signal no longer ends the process by
    // default, so a second one must still reach the watcher.
    if opts.handle_interrupts {
        drop(interrupt::watch(Arc::clone(&output), prefix.clone()).map_err(Error::Signals)?);
    }

    let (target, env, capabilities) = match file_target {
        Some(target) => (target, None, Capabilities::none()),
        None => {
            output.line("starting the local backend: PostgreSQL, Redis, S3 per site, 3 simulated OpenShift clusters, Quay Operator models");
            let mut local = LocalOptions::new(&state_path.join("local"));
            local.migration_time_per_revision = LOCAL_MIGRATION_TIME;
            let selected: Vec<&Scenario> = catalogue
                .iter()
                .filter(|s| select::is_selected(&s.id, &opts.include, &opts.skip))
                .collect();
            local.quay_version = local_quay_version(&selected, binaries.len());
            output.line(&format!(
                "the local backend's operators start at Quay {}",
                local.quay_version
            ));
            let env = Arc::new(LocalEnv::start(&local).await.map_err(Error::Start)?);
            let target = local::target(&env);
            let capabilities = local::capabilities(&env, LOCAL_MIGRATION_TIME);
            (target, Some(env), capabilities)
        }
    };
    let scanner = scanner_for(&target, &keys, &output);
    output.set_scanner(scanner.clone());
    output.line(&format!(
        "target {} ({} sites), provider from {}, namespaces prefixed {prefix}",
        target.name,
        target.sites.len(),
        provider_dir.display()
    ));

    let runtime = tokio::runtime::Handle::current();
    let work_dir = runner::default_work_dir(&state_path);
    let blocking = {
        let (opts, output, target, capabilities, work_dir, prefix, scanner, keys) = (
            opts.clone(),
            Arc::clone(&output),
            target.clone(),
            capabilities.clone(),
            work_dir.clone(),
            prefix.clone(),
            scanner.clone(),
            keys.clone(),
        );
        let provider_dir = provider_dir.clone();
        let backend = opts.backend.name();
        tokio::task::spawn_blocking(move || {
            let runner = runner::Runner {
                backend,
                target: &target,
                capabilities: &capabilities,
                provider_dir: &provider_dir,
                work_dir: &work_dir,
                prefix: &prefix,
                include: &opts.include,
                skip: &opts.skip,
                keep_on_failure: opts.keep_on_failure,
                parallel: opts.parallel.max(1),
                allow_operator_upgrade: opts.allow_operator_upgrade
                    || opts.backend == Backend::Local,
                secret_keys: (&keys.0, &keys.1),
                scanner: &scanner,
                output: &output,
                runtime: &runtime,
            };
            binaries
                .iter()
                .map(|tf| runner.run(&catalogue, tf))
                .collect::<Vec<_>>()
        })
    };
    let suites = blocking.await.map_err(Error::Runner)?;
    drop(capabilities);
    let mut result = RunResult {
        suites,
        wall_seconds: 0.0,
    };
    let failed = !result.passed() || interrupt::requested();
    if !(failed && opts.keep_on_failure) {
        sweep(&target, &prefix, &output).await;
    }
    if interrupt::requested() {
        output.line("interrupted: the scenarios not started are reported as skipped");
    }
    if let Some(env) = env {
        output.line("stopping the local backend");
        match Arc::try_unwrap(env) {
            Ok(env) => env.stop().await.map_err(Error::Stop)?,
            // A capability object outlived the run (a bug): dropping stops everything too.
            Err(env) => drop(env),
        }
    }
    if failed
        && opts.keep_on_failure
        && let Some(temp) = temp.as_mut()
    {
        temp.disable_cleanup(true);
        output.line(&format!("kept for inspection: {}", state_path.display()));
    }
    drop(temp);
    result.wall_seconds = start.elapsed().as_secs_f64();
    output.finish();
    Ok(result)
}
