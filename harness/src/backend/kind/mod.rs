//! The `kind` backend: three real Kubernetes clusters in Docker with the real Quay Operator,
//! and the shared services as containers beside them, driven through the `kind`, `kubectl`
//! and `docker` CLIs with `std::process`.
//!
//! `georep-harness up --backend kind` ([`up`]):
//! 1. preflight ([`preflight`]): `docker`, `kind`, `kubectl` on `PATH`, the engine answering;
//! 2. one cluster per site from `kind-configs/<site>.yaml` ([`config`]), with ingress-nginx
//!    and the Quay Operator of a release's OLM bundle ([`operator`]);
//! 3. PostgreSQL, Redis and one Garage S3 per site on the `kind` network ([`services`]);
//! 4. the global load balancers for Quay and Clair, HAProxy containers that health-check
//!    every site's ingress ([`balancer`]);
//! 5. the outputs the local backend writes: `DIR/kubeconfig` (a context per site),
//!    `DIR/<site>.kubeconfig`, `DIR/services.json`, `DIR/terraform.tfvars.json`, and
//!    `DIR/conformance-target.yaml` for `conformance --backend kind` ([`target`]).
//!
//! The whole run is a [`plan::Plan`] built first, so `--dry-run` prints every command,
//! manifest and file without Docker, and the idempotence rules (`--reuse`) are tested as
//! data. Unlike the local backend, `up` returns once everything is ready: clusters and
//! containers keep running until `georep-harness down --backend kind` ([`down`]) removes
//! them, found by cluster name and container label.
//!
//! Real clusters run only where kind's node image can be pulled (GitHub runners); everything
//! else here is tested on any machine.

pub mod balancer;
pub mod config;
pub mod container;
mod error;
pub mod operator;
pub mod plan;
pub mod preflight;
pub mod process;
pub mod run;
pub mod services;
pub mod target;

use std::path::{Path, PathBuf};

pub use self::error::Error;

use self::config::Cluster;
use self::operator::OperatorManifests;
use self::plan::{Existing, Inputs, Plan};
use self::process::Runner;
use self::services::{Credentials, Images};

/// The ingress-nginx release whose kind manifest every cluster gets.
pub const INGRESS_NGINX_MANIFEST: &str = "https://raw.githubusercontent.com/kubernetes/ingress-nginx/controller-v1.12.1/deploy/static/provider/kind/deploy.yaml";
/// The state directory of `up --backend kind` under the repository root, unless
/// `--state-dir` names another.
pub const DEFAULT_STATE_DIR: &str = ".cache/georep-kind";
/// The Quay Operator release whose OLM bundle `scripts/fetch-operator-bundle.sh` fetches.
pub const OPERATOR_VERSION: &str = "3.16.5";

/// Options of the kind backend; [`KindOptions::new`] gives the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindOptions {
    /// Site names (default: us-east, eu-west, ap-south); each needs `<configs>/<site>.yaml`.
    pub sites: Vec<String>,
    /// The state directory the outputs go to.
    pub state_dir: PathBuf,
    /// The kind configs (default `<repo>/kind-configs`).
    pub configs_dir: PathBuf,
    /// The operator's OLM bundle `manifests/` (default
    /// `<repo>/.cache/quay-operator/<OPERATOR_VERSION>/manifests`).
    pub operator_bundle: PathBuf,
    /// The ingress-nginx manifest (default [`INGRESS_NGINX_MANIFEST`]).
    pub ingress_manifest: String,
    /// The service images (default [`Images::default`]).
    pub images: Images,
    /// Reuse clusters and containers a previous `up` made (default: refuse them).
    pub reuse: bool,
}

impl KindOptions {
    /// The defaults for a repository checkout at `repo` and a state dir.
    #[must_use]
    pub fn new(repo: &Path, state_dir: &Path) -> Self {
        Self {
            sites: crate::local::DEFAULT_SITES.map(String::from).to_vec(),
            state_dir: state_dir.to_owned(),
            configs_dir: repo.join("kind-configs"),
            operator_bundle: repo
                .join(".cache/quay-operator")
                .join(OPERATOR_VERSION)
                .join("manifests"),
            ingress_manifest: INGRESS_NGINX_MANIFEST.to_owned(),
            images: Images::default(),
            reuse: false,
        }
    }

    fn configs(&self) -> Result<Vec<(String, PathBuf, Cluster)>, Error> {
        Ok(config::read_sites(&self.configs_dir, &self.sites)?
            .into_iter()
            .zip(&self.sites)
            .map(|((path, cluster), site)| (site.clone(), path, cluster))
            .collect())
    }

    fn plan(
        &self,
        credentials: &Credentials,
        existing: &Existing,
        operator: &OperatorManifests,
    ) -> Result<Plan, Error> {
        let sites = self.configs()?;
        let inputs = Inputs {
            sites: &sites,
            state_dir: &self.state_dir,
            images: &self.images,
            ingress_manifest: &self.ingress_manifest,
            operator,
            credentials,
            reuse: self.reuse,
        };
        Ok(plan::build(&inputs, existing)?)
    }
}

/// The file holding a run's credentials.
#[must_use]
pub fn credentials_file(state_dir: &Path) -> PathBuf {
    state_dir.join("kind").join("credentials.json")
}

/// The plan a first `up` would run, with placeholders for every secret and nothing run:
/// the preflight commands, then every section. A bundle that is not fetched yet is shown
/// as a comment where its objects would be.
///
/// # Errors
/// [`Error::Config`], or [`Error::Operator`] for a bundle that is there but unreadable.
pub fn dry_run(opts: &KindOptions) -> Result<String, Error> {
    let credentials = Credentials::placeholders(&opts.sites);
    let operator = match OperatorManifests::read(&opts.operator_bundle) {
        Err(operator::Error::NotFetched { dir }) => {
            OperatorManifests::pending(&dir, OPERATOR_VERSION)
        }
        other => other?,
    };
    let plan = opts.plan(&credentials, &Existing::default(), &operator)?;
    let mut out = String::from("# preflight: the tools and the Docker engine\n");
    for cmd in preflight::commands() {
        out.push_str(&cmd.shell());
        out.push('\n');
    }
    out.push_str("# what exists already (reused with --reuse, else an error)\n");
    for cmd in run::observe_commands() {
        out.push_str(&cmd.shell());
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&plan.render());
    Ok(out)
}

/// Brings the clusters and services up (see the module doc) and returns the plan it ran.
///
/// # Errors
/// Any [`Error`]; what was made before the failure stays (remove it with [`down`]).
pub fn up(opts: &KindOptions, runner: &Runner) -> Result<Plan, Error> {
    let versions = preflight::check(runner)?;
    println!("preflight: {versions}");
    let existing = run::observe(runner)?;
    let credentials = credentials(opts, &existing)?;
    let operator = OperatorManifests::read(&opts.operator_bundle)?;
    let plan = opts.plan(&credentials, &existing, &operator)?;
    // Before anything runs, so a failed run can be reused.
    run::execute(
        runner,
        &Plan {
            sections: vec![plan::Section {
                title: "credentials".to_owned(),
                steps: vec![plan::Step::Write {
                    path: credentials_file(&opts.state_dir),
                    contents: serde_json::to_string_pretty(&credentials)
                        .expect("credentials are plain strings"),
                }],
            }],
        },
        &[],
    )?;
    run::execute(runner, &plan, &credentials.secrets())?;
    Ok(plan)
}

/// The credentials of a previous run when it left containers and `--reuse` is given, else
/// fresh ones.
fn credentials(opts: &KindOptions, existing: &Existing) -> Result<Credentials, Error> {
    let path = credentials_file(&opts.state_dir);
    if opts.reuse && !existing.containers.is_empty() {
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Credentials {
            path: path.clone(),
            source,
        })?;
        return serde_json::from_str(&text)
            .map_err(|source| Error::CredentialsFormat { path, source });
    }
    Credentials::generate(&opts.sites).map_err(Error::Random)
}

/// Removes the clusters of the configured sites and every container with the backend's
/// label; returns the commands it ran.
///
/// # Errors
/// [`Error::Preflight`], [`Error::Config`] or [`Error::Process`].
pub fn down(opts: &KindOptions, runner: &Runner) -> Result<Vec<process::Cmd>, Error> {
    preflight::check(runner)?;
    let clusters: Vec<Cluster> = opts.configs()?.into_iter().map(|(_, _, c)| c).collect();
    run::down(runner, &clusters)
}

#[cfg(test)]
mod tests;
