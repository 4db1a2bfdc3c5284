//! `georep-harness up`: start simulated clusters, write their kubeconfigs, serve until
//! stopped.
//!
//! Writes `DIR/kubeconfig` (one context per site) and `DIR/<site>.kubeconfig` (one each),
//! prints how to use them, writes the ready file, and waits for Ctrl-C or SIGTERM, then
//! stops every cluster. It does not start the Quay Operator model or shared services.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::cli::UpArgs;
use crate::sim::kubeconfig;
use crate::sim::{ClusterConfig, SimCluster, cluster};

/// `up` failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A cluster did not start.
    #[error("start simulated cluster")]
    Start(#[source] cluster::Error),
    /// The state directory could not be made.
    #[error("create state directory {path}")]
    StateDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A kubeconfig could not be written.
    #[error("write kubeconfig")]
    Kubeconfig(#[source] kubeconfig::Error),
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
    /// Two sites have the same name.
    #[error("site {site} is given twice")]
    DuplicateSite {
        /// The repeated name.
        site: String,
    },
}

/// Running clusters and where their kubeconfigs are.
#[derive(Debug)]
pub struct Running {
    /// The clusters, in the order of the sites.
    pub clusters: Vec<SimCluster>,
    /// The state directory.
    pub state_dir: PathBuf,
    /// `DIR/kubeconfig`.
    pub kubeconfig: PathBuf,
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
    let (state_dir, temp) = match &args.state_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|source| Error::StateDir {
                path: dir.clone(),
                source,
            })?;
            (dir.clone(), None)
        }
        None => {
            let temp = tempfile::Builder::new()
                .prefix("georep-sim-")
                .tempdir()
                .map_err(|source| Error::StateDir {
                    path: std::env::temp_dir(),
                    source,
                })?;
            (temp.path().to_owned(), Some(temp))
        }
    };
    let mut clusters = Vec::new();
    for site in &args.sites {
        let mut config = ClusterConfig::new(site);
        config.flavour = args.flavour;
        config.tls = !args.plain_http;
        clusters.push(SimCluster::start(config).await.map_err(Error::Start)?);
    }
    let endpoints: Vec<_> = clusters.iter().map(SimCluster::endpoint).collect();
    let kubeconfig = state_dir.join("kubeconfig");
    kubeconfig::write(&kubeconfig, &endpoints).map_err(Error::Kubeconfig)?;
    for endpoint in &endpoints {
        let path = state_dir.join(format!("{}.kubeconfig", endpoint.site));
        kubeconfig::write(&path, std::slice::from_ref(endpoint)).map_err(Error::Kubeconfig)?;
    }
    if let Some(ready) = &args.ready_file {
        write_ready(ready, &state_dir, &clusters)?;
    }
    Ok(Running {
        clusters,
        state_dir,
        kubeconfig,
        _temp: temp,
    })
}

fn write_ready(path: &Path, state_dir: &Path, clusters: &[SimCluster]) -> Result<(), Error> {
    let sites: Vec<_> = clusters
        .iter()
        .map(|c| {
            json!({
                "site": c.site(),
                "server": c.url(),
                "context": c.site(),
                "kubeconfig": state_dir.join(format!("{}.kubeconfig", c.site())),
            })
        })
        .collect();
    let doc = json!({"kubeconfig": state_dir.join("kubeconfig"), "sites": sites});
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
    let mut text = format!(
        "simulated clusters are up; state in {}\n\n  export KUBECONFIG={}\n",
        running.state_dir.display(),
        running.kubeconfig.display()
    );
    for c in &running.clusters {
        text.push_str(&format!(
            "  kubectl --context {} get ns    # {}\n",
            c.site(),
            c.url()
        ));
    }
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
    let running = start(args).await?;
    print!("{}", usage(&running));
    wait_for_stop().await?;
    for cluster in running.clusters {
        cluster.stop().await;
    }
    if let Some(ready) = &args.ready_file {
        // Stale ready files would mislead the next waiter; a missing one is fine.
        let _ = std::fs::remove_file(ready);
    }
    println!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
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
        };
        let running = start(&args).await.unwrap();
        let kc = kube::config::Kubeconfig::read_from(dir.path().join("kubeconfig")).unwrap();
        let contexts: Vec<_> = kc.contexts.iter().map(|c| c.name.clone()).collect();
        assert_eq!(contexts, ["east", "west"]);
        assert!(dir.path().join("west.kubeconfig").exists());
        let ready: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("ready.json")).unwrap())
                .unwrap();
        assert_eq!(ready["sites"][1]["server"], running.clusters[1].url());
        assert!(usage(&running).contains("--context east"));
    }

    #[tokio::test]
    async fn rejects_a_site_named_twice() {
        let args = UpArgs {
            sites: vec!["a".into(), "a".into()],
            flavour: Flavour::Kubernetes,
            state_dir: None,
            ready_file: None,
            plain_http: true,
        };
        assert!(matches!(
            start(&args).await,
            Err(Error::DuplicateSite { .. })
        ));
    }
}
