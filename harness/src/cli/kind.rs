//! The command-line side of the kind backend: the options `up` and `demo` share
//! ([`BackendArgs`]), `up --backend kind` ([`up`]), `demo --backend kind` ([`demo`]) and
//! `down --backend kind` ([`down`]).
//!
//! The work is in [`crate::backend::kind`]; this file turns arguments into
//! [`KindOptions`] and prints.

use std::path::{Path, PathBuf};

use crate::backend::Backend;
use crate::backend::kind::{self, KindOptions, process::Runner};
use crate::terraform;

/// Where the sites run, and the kind backend's options (ignored by `local`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct BackendArgs {
    /// `local` (simulated clusters, no Docker) or `kind` (real clusters in Docker, with the
    /// real Quay Operator).
    #[arg(long, value_enum, default_value_t)]
    pub backend: Backend,
    /// kind: print every command, manifest and file the run would use, and run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// kind: reuse clusters and containers a previous `up` made (default: refuse them).
    #[arg(long)]
    pub reuse: bool,
    /// kind: the directory of `<site>.yaml` kind configs. Default: `<repo>/kind-configs`.
    #[arg(long)]
    pub kind_configs: Option<PathBuf>,
    /// kind: the Quay Operator's OLM bundle `manifests/` directory. Default:
    /// `<repo>/.cache/quay-operator/<version>/manifests` (scripts/fetch-operator-bundle.sh).
    #[arg(long, env = "GEOREP_OPERATOR_BUNDLE")]
    pub operator_bundle: Option<PathBuf>,
}

/// The kind backend could not run from the command line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The repository root was not found (it holds the default configs).
    #[error("find the repository root (or pass --kind-configs and --operator-bundle)")]
    Repo(#[source] terraform::Error),
    /// The backend failed.
    #[error("kind backend")]
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
    let state = state_dir.map_or_else(|| root.join(".cache/georep-kind"), Path::to_owned);
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
        "\ncredentials: {}\nvariables of examples/three-sites: {}\n\nremove everything with: georep-harness down --backend kind\n",
        state.join(crate::services::SERVICES_JSON).display(),
        state.join(super::up::TFVARS).display()
    ));
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

/// How long one Terraform command of the kind demo may run: real Quay pods pull images.
const DEMO_TERRAFORM_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(45 * 60);

/// `demo --backend kind`: bring the kind backend up, apply `examples/three-sites` to it
/// with Terraform and our provider, print the outcome; unless `--keep`, destroy and remove
/// everything. Returns whether the apply succeeded. With `--dry-run`, prints the plan only.
///
/// It reads no site status and runs no global load balancer (the local demo's report needs
/// both); the conformance suite is the place for those checks on kind.
///
/// # Errors
/// Any [`Error`]: the backend, Terraform or the example could not be used.
pub async fn demo(args: &super::demo::DemoArgs) -> Result<bool, Error> {
    use crate::terraform::{DevOverride, TerraformBinary, Workdir};
    let sites: Vec<String> = crate::local::DEFAULT_SITES.map(String::from).to_vec();
    let opts = options(&args.backend, &sites, args.state_dir.as_deref())?;
    if args.backend.dry_run {
        print!("{}", kind::dry_run(&opts)?);
        return Ok(true);
    }
    let repo = terraform::repo_root().map_err(Error::Repo)?;
    let terraform_path =
        terraform::find_terraform(args.terraform.as_deref(), &repo).map_err(Error::Repo)?;
    let binary = TerraformBinary::probe(&terraform_path).map_err(Error::Terraform)?;
    let exe = std::env::current_exe().ok();
    let provider_dir =
        terraform::find_provider_dir(args.provider_dir.as_deref(), exe.as_deref(), &repo)
            .map_err(Error::Repo)?;

    let up_opts = opts.clone();
    tokio::task::spawn_blocking(move || kind::up(&up_opts, &Runner::from_env()))
        .await
        .map_err(Error::Task)??;

    let dir = opts.state_dir.join("terraform");
    let workdir = Workdir::at(&binary, &dir, &[DevOverride::quay(&provider_dir)])
        .map_err(Error::Terraform)?
        .with_timeout(DEMO_TERRAFORM_TIMEOUT);
    for file in ["main.tf", "variables.tf", "outputs.tf"] {
        let path = repo.join(super::demo::EXAMPLE).join(file);
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Example {
            path: path.clone(),
            source,
        })?;
        workdir.write_file(file, &text).map_err(Error::Terraform)?;
    }
    let tfvars_path = opts.state_dir.join(super::up::TFVARS);
    let tfvars = std::fs::read_to_string(&tfvars_path).map_err(|source| Error::Example {
        path: tfvars_path,
        source,
    })?;
    workdir
        .write_file(super::up::TFVARS, &tfvars)
        .map_err(Error::Terraform)?;
    let workdir = std::sync::Arc::new(workdir);

    println!(
        "terraform apply of {} on the kind clusters",
        super::demo::EXAMPLE
    );
    let wd = std::sync::Arc::clone(&workdir);
    let applied = tokio::task::spawn_blocking(move || wd.apply())
        .await
        .map_err(Error::Task)?
        .map_err(Error::Terraform)?;
    println!(
        "terraform apply: {}",
        if applied.succeeded() { "ok" } else { "FAILED" }
    );
    for d in applied.events.errors() {
        println!("  error: {}", d.summary);
    }
    if args.keep {
        print!("{}", usage(&opts.state_dir, &sites));
        return Ok(applied.succeeded());
    }
    let wd = std::sync::Arc::clone(&workdir);
    let destroyed = tokio::task::spawn_blocking(move || wd.destroy())
        .await
        .map_err(Error::Task)?
        .map_err(Error::Terraform)?;
    if !destroyed.succeeded() {
        println!("terraform destroy: FAILED");
    }
    tokio::task::spawn_blocking(move || kind::down(&opts, &Runner::from_env()))
        .await
        .map_err(Error::Task)??;
    Ok(applied.succeeded())
}
