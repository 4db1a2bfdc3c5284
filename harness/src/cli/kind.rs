//! The command-line side of the kind backend: the options `up` and `demo` share
//! ([`BackendArgs`], defined with the backend choice), `up --backend kind` ([`up`]) and
//! `down --backend kind` ([`down`]); `demo --backend kind` is in `demo/kind.rs`.
//!
//! The work is in [`crate::backend::kind`]; this file turns arguments into
//! [`KindOptions`] and prints.

use std::path::{Path, PathBuf};

use crate::backend::kind::{self, KindOptions, process::Runner};
use crate::backend::{Backend, BackendArgs};
use crate::terraform;

/// The kind backend could not run from the command line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The repository root was not found (it holds the default configs).
    #[error("find the repository root (or pass --kind-configs and --operator-bundle)")]
    Repo(#[source] terraform::Error),
    /// The backend failed.
    #[error(transparent)]
    Kind(#[from] kind::Error),
    /// The blocking work panicked or was cancelled.
    #[error("kind backend did not finish")]
    Task(#[source] tokio::task::JoinError),
    /// Terraform could not run (not: it reported errors).
    #[error("terraform")]
    Terraform(#[source] terraform::Error),
    /// A file of the example or the variables could not be read.
    #[error("read {}", path.display())]
    Example {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `down` is for the kind backend only.
    #[error("the local backend stops when `up` stops (Ctrl-C); `down` is for --backend kind")]
    DownLocal,
}

/// The kind options of `args` for sites `sites` and state dir `state_dir` (default
/// `<repo>/.cache/georep-kind`, kept: `--reuse` needs its credentials).
///
/// # Errors
/// [`Error::Repo`] when a default needs the repository root and it is not found.
pub fn options(
    args: &BackendArgs,
    sites: &[String],
    state_dir: Option<&Path>,
) -> Result<KindOptions, Error> {
    let need_repo =
        state_dir.is_none() || args.kind_configs.is_none() || args.operator_bundle.is_none();
    let root = match terraform::repo_root() {
        Ok(root) => root,
        Err(source) if need_repo => return Err(Error::Repo(source)),
        Err(_) => PathBuf::from("."),
    };
    let state = state_dir.map_or_else(|| root.join(kind::DEFAULT_STATE_DIR), Path::to_owned);
    let base = KindOptions::new(&root, &state);
    Ok(KindOptions {
        sites: sites.to_vec(),
        configs_dir: args
            .kind_configs
            .clone()
            .unwrap_or(base.configs_dir.clone()),
        operator_bundle: args
            .operator_bundle
            .clone()
            .unwrap_or(base.operator_bundle.clone()),
        reuse: args.reuse,
        ..base
    })
}

/// `up --backend kind`: the plan with `--dry-run`, else the clusters and services, then
/// how to use them.
///
/// # Errors
/// Any [`Error`] but `DownLocal`.
pub async fn up(
    args: &BackendArgs,
    sites: &[String],
    state_dir: Option<&Path>,
) -> Result<(), Error> {
    let opts = options(args, sites, state_dir)?;
    if args.dry_run {
        print!("{}", kind::dry_run(&opts)?);
        return Ok(());
    }
    let state = opts.state_dir.clone();
    let ran = tokio::task::spawn_blocking(move || kind::up(&opts, &Runner::from_env()))
        .await
        .map_err(Error::Task)?;
    ran?;
    print!("{}", usage(&state, sites));
    Ok(())
}

/// How to use the clusters, for humans.
#[must_use]
pub fn usage(state: &Path, sites: &[String]) -> String {
    let mut text = format!(
        "kind backend is up (clusters, quay operator, shared services); state in {}\n\n  export KUBECONFIG={}\n",
        state.display(),
        state.join("kubeconfig").display()
    );
    for site in sites {
        text.push_str(&format!("  kubectl --context {site} get pods -A\n"));
    }
    text.push_str(&format!(
        "\ncredentials: {}\nvariables of examples/three-sites: {}\n",
        state.join(crate::services::SERVICES_JSON).display(),
        state.join(crate::services::TFVARS).display()
    ));
    text.push_str(&format!(
        "run the conformance suite against these clusters (target {}):\n  georep-harness conformance --backend kind --state-dir {}\n",
        state.join(crate::conformance::local::TARGET_FILE).display(),
        state.display()
    ));
    text.push_str("\nremove everything with: georep-harness down --backend kind\n");
    text
}

/// Arguments of `down`.
#[derive(Debug, Clone, clap::Args)]
pub struct DownArgs {
    /// Site names whose clusters to delete.
    #[arg(long = "site", default_values = crate::local::DEFAULT_SITES)]
    pub sites: Vec<String>,
    /// The backend; only `kind` leaves anything behind.
    #[command(flatten)]
    pub backend: BackendArgs,
}

/// `down --backend kind`: delete the sites' clusters and the labelled containers.
///
/// # Errors
/// [`Error::DownLocal`] for the local backend, else any [`Error`].
pub async fn down(args: &DownArgs) -> Result<(), Error> {
    if args.backend.backend == Backend::Local {
        return Err(Error::DownLocal);
    }
    let opts = options(&args.backend, &args.sites, None)?;
    if args.backend.dry_run {
        let [kind_clusters, containers] = kind::run::observe_commands();
        println!("{}\n{}", kind_clusters.shell(), containers.shell());
        for (_, cluster) in
            kind::config::read_sites(&opts.configs_dir, &opts.sites).map_err(kind::Error::from)?
        {
            println!(
                "kind delete cluster --name {}    # when it exists",
                cluster.name
            );
        }
        println!("docker rm --force --volumes <every container found above>");
        return Ok(());
    }
    tokio::task::spawn_blocking(move || kind::down(&opts, &Runner::from_env()))
        .await
        .map_err(Error::Task)??;
    println!("removed");
    Ok(())
}
