//! `georep-harness up`: start the local backend ([`crate::local::LocalEnv`]: shared services,
//! one simulated cluster and one Quay Operator model per site, the global load balancer model
//! and the blob replication worker), serve until stopped.
//!
//! Writes `DIR/kubeconfig` (one context per site), `DIR/<site>.kubeconfig` (one each),
//! `DIR/services.json`, `DIR/terraform.tfvars.json` (the variables of
//! `examples/three-sites`) and `DIR/conformance-target.yaml` (the clusters as a target of
//! `georep-harness conformance --backend existing`), prints how to use them, writes the ready file, and waits for
//! Ctrl-C or SIGTERM, then stops everything. It does not run Terraform (`demo` does).
//!
//! With `--backend kind` it hands over to [`super::kind::up`]: real clusters in Docker that
//! outlive the command, the local backend's files in the state dir (with
//! `conformance-target.yaml` for `conformance --backend kind`), removed by
//! `down --backend kind`. The options only the local backend can honour (`--flavour` other
//! than `kubernetes`, a `--quay-version` other than the operator bundle's, `--plain-http`,
//! `--ready-file`) are refused with `--backend kind` ([`ignored_by_kind`]), not ignored.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::lb::Service;
use crate::local::{self, LocalEnv, LocalOptions};
use crate::quay::{Catalogue, QuayVersion};
use crate::sim::Flavour;

/// Arguments of `up`.
#[derive(Debug, clap::Args)]
pub struct UpArgs {
    /// Site names, one cluster each; a site's storage location is its name with '-' as '_'.
    #[arg(long = "site", default_values = crate::local::DEFAULT_SITES)]
    pub sites: Vec<String>,
    /// Cluster flavour: `openshift` (Route + OLM APIs) or `kubernetes`.
    #[arg(long, default_value = "openshift", value_parser = parse_flavour)]
    pub flavour: Flavour,
    /// Directory for the kubeconfigs (created if missing). Default: a new temporary directory.
    #[arg(long, env = "GEOREP_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Write this file (JSON: sites, servers, kubeconfig paths) once every cluster serves.
    #[arg(long)]
    pub ready_file: Option<PathBuf>,
    /// Serve plain HTTP without authentication instead of HTTPS with a token.
    #[arg(long)]
    pub plain_http: bool,
    /// The Quay version the operator models deploy (one of the operator catalogue's).
    #[arg(long, default_value_t = Catalogue::builtin().newest().version, value_parser = parse_version)]
    pub quay_version: QuayVersion,
    /// The backend (`--backend kind` for real clusters) and the kind backend's options.
    #[command(flatten)]
    pub backend: crate::backend::BackendArgs,
}

/// Why `args` (parsed into `matches`) cannot run on the kind backend: an option given on the
/// command line that it would otherwise ignore, with what to do instead. `None` for the
/// local backend and for options the kind backend honours.
#[must_use]
pub fn ignored_by_kind(args: &UpArgs, matches: &clap::ArgMatches) -> Option<String> {
    use crate::backend::kind::OPERATOR_VERSION;
    if args.backend.backend != crate::backend::Backend::Kind {
        return None;
    }
    let given = |id: &str| matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine);
    if given("flavour") && args.flavour != Flavour::Kubernetes {
        return Some(format!(
            "--flavour {} cannot be honoured with --backend kind: kind clusters are plain \
             Kubernetes, without the Route and OLM APIs; leave --flavour out or pass \
             --flavour kubernetes",
            format!("{:?}", args.flavour).to_lowercase()
        ));
    }
    if given("quay_version") && args.quay_version.to_string() != OPERATOR_VERSION {
        return Some(format!(
            "--quay-version {} cannot be honoured with --backend kind: it installs the Quay \
             Operator {OPERATOR_VERSION} bundle, which deploys Quay {OPERATOR_VERSION}; leave \
             --quay-version out or pass {OPERATOR_VERSION}",
            args.quay_version
        ));
    }
    if given("plain_http") {
        return Some(
            "--plain-http is for the local backend's simulated API servers; kind clusters serve \
             HTTPS: leave it out"
                .to_owned(),
        );
    }
    if given("ready_file") {
        return Some(
            "--ready-file is for the local backend, which serves until stopped; `up --backend \
             kind` returns once everything is ready: leave it out and wait for the command"
                .to_owned(),
        );
    }
    None
}

fn parse_version(text: &str) -> Result<QuayVersion, String> {
    let version: QuayVersion = text.parse().map_err(|e| format!("{e}"))?;
    Catalogue::builtin()
        .release(&version)
        .map_err(|e| e.to_string())?;
    Ok(version)
}

fn parse_flavour(text: &str) -> Result<Flavour, String> {
    text.parse()
}

/// `up` failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The local backend did not start.
    #[error("start the local backend")]
    Start(#[source] local::Error),
    /// The local backend did not stop cleanly.
    #[error("stop the local backend")]
    Stop(#[source] crate::services::Error),
    /// The state directory could not be made.
    #[error("create state directory {path}")]
    StateDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `terraform.tfvars.json` could not be written.
    #[error("write terraform variables")]
    Tfvars(#[source] local::Error),
    /// The conformance target file could not be written.
    #[error("write the conformance target file")]
    Target(#[source] crate::conformance::target::Error),
    /// The ready file could not be written.
    #[error("write ready file {path}")]
    ReadyFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Installing the signal handler failed.
    #[error("wait for a stop signal")]
    Signal(#[source] std::io::Error),
    /// The kind backend failed.
    #[error("kind backend")]
    Kind(#[source] super::kind::Error),
    /// Two sites have the same name.
    #[error("site {site} is given twice")]
    DuplicateSite {
        /// The repeated name.
        site: String,
    },
}

pub use crate::services::TFVARS;

/// The running local backend.
#[derive(Debug)]
pub struct Running {
    /// Services, clusters and operator models.
    pub env: LocalEnv,
    /// `DIR/terraform.tfvars.json`.
    pub tfvars: PathBuf,
    /// `DIR/conformance-target.yaml`.
    pub target: PathBuf,
    /// Kept so a temporary state directory lives as long as the clusters.
    _temp: Option<tempfile::TempDir>,
}

/// Start the clusters and write the kubeconfigs and ready file.
///
/// # Errors
/// Any [`Error`] but `Signal`.
pub async fn start(args: &UpArgs) -> Result<Running, Error> {
    crate::sim::install_crypto_provider();
    for (i, site) in args.sites.iter().enumerate() {
        if args.sites[..i].contains(site) {
            return Err(Error::DuplicateSite { site: site.clone() });
        }
    }
    let (state_dir, temp) =
        super::state_dir::create(args.state_dir.as_deref(), "georep-sim-", false).map_err(
            |super::state_dir::StateDirError { path, source }| Error::StateDir { path, source },
        )?;
    let mut opts = LocalOptions::new(&state_dir);
    opts.sites.clone_from(&args.sites);
    opts.flavour = args.flavour;
    opts.tls = !args.plain_http;
    opts.quay_version = args.quay_version;
    let env = LocalEnv::start(&opts).await.map_err(Error::Start)?;
    let tfvars = state_dir.join(TFVARS);
    env.write_tfvars(&tfvars).map_err(Error::Tfvars)?;
    let target = state_dir.join(crate::conformance::local::TARGET_FILE);
    crate::conformance::local::target(&env)
        .save(&target)
        .map_err(Error::Target)?;
    if let Some(ready) = &args.ready_file {
        write_ready(ready, &env)?;
    }
    Ok(Running {
        env,
        tfvars,
        target,
        _temp: temp,
    })
}

fn write_ready(path: &Path, env: &LocalEnv) -> Result<(), Error> {
    let sites: Vec<_> = env
        .sites()
        .iter()
        .map(|s| {
            json!({
                "site": s.name,
                "server": s.cluster.url(),
                "context": s.name,
                "kubeconfig": s.kubeconfig,
                "location": s.location,
                "quay_health": env.load_balancer().site(&s.name, Service::Quay).map(|e| e.health_url()),
            })
        })
        .collect();
    let doc = json!({
        "kubeconfig": env.kubeconfig(),
        "services": env.services_json(),
        "global_quay": env.global_quay_url(),
        "global_clair": env.global_clair_url(),
        "sites": sites,
    });
    // Write then rename, so a watcher never reads a half-written file.
    let tmp = path.with_extension("tmp");
    let io = |source| Error::ReadyFile {
        path: path.to_owned(),
        source,
    };
    std::fs::write(&tmp, format!("{doc:#}\n")).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// How to use the running clusters, for humans.
pub fn usage(running: &Running) -> String {
    let env = &running.env;
    let mut text = format!(
        "local backend is up (services, simulated clusters, quay operator models); state in {}\n\n  export KUBECONFIG={}\n",
        env.state_dir().display(),
        env.kubeconfig().display()
    );
    for s in env.sites() {
        text.push_str(&format!(
            "  kubectl --context {} get quayregistries -A    # {}, location {}\n",
            s.name,
            s.cluster.url(),
            s.location
        ));
    }
    text.push_str(&format!(
        "\nglobal load balancer (forwards only to sites with ready pods):\n  curl {}/health/instance    # quay, SERVER_HOSTNAME\n  curl {}/healthz            # clair\n",
        env.global_quay_url(),
        env.global_clair_url()
    ));
    for s in env.sites() {
        if let Some(endpoint) = env.load_balancer().site(&s.name, Service::Quay) {
            text.push_str(&format!(
                "  site {} health: {}\n",
                s.name,
                endpoint.health_url()
            ));
        }
    }
    text.push_str(&format!(
        "push a blob and watch it replicate:\n  georep-harness push --state-dir {} --wait\n",
        env.state_dir().display()
    ));
    text.push_str(&format!(
        "\ncredentials: {}\nvariables of examples/three-sites: {}\n",
        env.services_json().display(),
        running.tfvars.display()
    ));
    text.push_str(&format!(
        "run the conformance suite against these clusters:\n  georep-harness conformance --backend existing --target {}\n",
        running.target.display()
    ));
    text.push_str("\nstop with Ctrl-C or SIGTERM\n");
    text
}

/// Wait for Ctrl-C or SIGTERM.
///
/// # Errors
/// [`Error::Signal`] if the handlers cannot be installed.
pub async fn wait_for_stop() -> Result<(), Error> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(Error::Signal)?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.map_err(Error::Signal),
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.map_err(Error::Signal)
    }
}

/// Run `up`: start, print usage, wait for a signal, stop.
///
/// # Errors
/// Any [`Error`].
pub async fn run(args: &UpArgs) -> Result<(), Error> {
    if args.backend.backend == crate::backend::Backend::Kind {
        return super::kind::up(&args.backend, &args.sites, args.state_dir.as_deref())
            .await
            .map_err(Error::Kind);
    }
    let running = start(args).await?;
    print!("{}", usage(&running));
    wait_for_stop().await?;
    let stopped = running.env.stop().await.map_err(Error::Stop);
    if let Some(ready) = &args.ready_file {
        // Stale ready files would mislead the next waiter; a missing one is fine.
        let _ = std::fs::remove_file(ready);
    }
    stopped?;
    println!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quay::Catalogue;
    use crate::sim::Flavour;

    #[tokio::test]
    async fn up_writes_a_kubeconfig_per_site_and_the_ready_file() {
        let dir = tempfile::tempdir().unwrap();
        let args = UpArgs {
            sites: vec!["east".into(), "west".into()],
            flavour: Flavour::Kubernetes,
            state_dir: Some(dir.path().to_owned()),
            ready_file: Some(dir.path().join("ready.json")),
            plain_http: false,
            quay_version: Catalogue::builtin().newest().version,
            backend: crate::backend::BackendArgs::default(),
        };
        let running = start(&args).await.unwrap();
        let kc = kube::config::Kubeconfig::read_from(dir.path().join("kubeconfig")).unwrap();
        let contexts: Vec<_> = kc.contexts.iter().map(|c| c.name.clone()).collect();
        assert_eq!(contexts, ["east", "west"]);
        assert!(dir.path().join("west.kubeconfig").exists());
        let ready: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("ready.json")).unwrap())
                .unwrap();
        assert_eq!(
            ready["sites"][1]["server"],
            running.env.sites()[1].cluster.url()
        );
        assert!(usage(&running).contains("--context east"));
        assert!(
            usage(&running).contains(&format!(
                "curl {}/health/instance",
                running.env.global_quay_url()
            )),
            "{}",
            usage(&running)
        );
        assert_eq!(ready["global_quay"], running.env.global_quay_url());
        assert!(
            ready["sites"][0]["quay_health"]
                .as_str()
                .unwrap()
                .ends_with("/health/instance")
        );
        let target = crate::conformance::Target::load(&running.target).unwrap();
        assert_eq!(target.sites.len(), 2);
        assert_eq!(target.sites[1].context, "west");
        assert_eq!(
            target.global.quay_endpoint.as_deref(),
            Some(running.env.global_quay_url())
        );
        assert!(usage(&running).contains("--backend existing --target"));
        let tfvars: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&running.tfvars).unwrap()).unwrap();
        assert!(
            tfvars["storage"]["west"]["bucket"].is_string(),
            "{tfvars:#}"
        );
        running.env.stop().await.unwrap();
    }

    #[tokio::test]
    async fn rejects_a_site_named_twice() {
        let args = UpArgs {
            sites: vec!["a".into(), "a".into()],
            flavour: Flavour::Kubernetes,
            state_dir: None,
            ready_file: None,
            plain_http: true,
            quay_version: Catalogue::builtin().newest().version,
            backend: crate::backend::BackendArgs::default(),
        };
        assert!(matches!(
            start(&args).await,
            Err(Error::DuplicateSite { .. })
        ));
    }
}
