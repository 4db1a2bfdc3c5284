//! `georep-harness push`: push a blob through one site of a running local backend (`up` or
//! `demo --keep`), as a `docker push` to that site would land it: into the site's preferred
//! storage location at Quay's key layout ([`crate::blobs::push`]). With `--wait` it then
//! checks every default location's bucket, each with its own keys, until the replication
//! worker of the running backend has copied the blob there.
//!
//! It reads the site's cluster through `DIR/<site>.kubeconfig` like any client; it starts
//! nothing, and prints no key.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::blobs::{self, Placement, PushedBlob, SiteStorage};

/// Arguments of `push`.
#[derive(Debug, Clone, clap::Args)]
pub struct PushArgs {
    /// The state directory of the running backend (where `up` wrote its kubeconfigs).
    #[arg(long, env = "GEOREP_STATE_DIR")]
    pub state_dir: PathBuf,
    /// The site to push through.
    #[arg(long, default_value = crate::local::DEFAULT_SITES[0])]
    pub site: String,
    /// The blob's content. Default: 1 KiB of random bytes (a new blob every time).
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Wait until every default storage location holds the blob, and list them.
    #[arg(long)]
    pub wait: bool,
    /// How long `--wait` waits, in seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
}

/// `push` failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The content file could not be read.
    #[error("read {}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The site's kubeconfig could not be used.
    #[error(
        "use kubeconfig {}: is `georep-harness up --state-dir` running there with site {site}?",
        path.display()
    )]
    Kubeconfig {
        /// The site.
        site: String,
        /// The kubeconfig.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No random bytes.
    #[error("draw a random blob")]
    Random(#[source] getrandom::Error),
    /// The push or the check failed.
    #[error("push through site {site}")]
    Blob {
        /// The site.
        site: String,
        /// Why.
        #[source]
        source: blobs::Error,
    },
    /// Not every default location holds the blob in time.
    #[error("the blob is not in every default location after {timeout:?}: missing in {missing}")]
    NotReplicated {
        /// The wait.
        timeout: Duration,
        /// The locations without it.
        missing: String,
    },
}

/// What `push` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// The site pushed through.
    pub site: String,
    /// Where the blob went.
    pub blob: PushedBlob,
    /// With `--wait`: every default location.
    pub placements: Vec<Placement>,
}

impl std::fmt::Display for Pushed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = &self.blob;
        writeln!(
            f,
            "pushed {} ({} bytes) through site {} into location {}: bucket {}, key {}",
            b.digest, b.size, self.site, b.location, b.bucket, b.key
        )?;
        let mut lines = String::new();
        for p in &self.placements {
            let _ = writeln!(
                lines,
                "  {:<10} bucket {:<16} {}",
                p.location,
                p.bucket,
                if p.present { "present" } else { "MISSING" }
            );
        }
        f.write_str(&lines)
    }
}

async fn client(args: &PushArgs) -> Result<kube::Client, Error> {
    let path = args.state_dir.join(format!("{}.kubeconfig", args.site));
    let error = |source: Box<dyn std::error::Error + Send + Sync>| Error::Kubeconfig {
        site: args.site.clone(),
        path: path.clone(),
        source,
    };
    let kubeconfig = Kubeconfig::read_from(&path).map_err(|e| error(Box::new(e)))?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|e| error(Box::new(e)))?;
    kube::Client::try_from(config).map_err(|e| error(Box::new(e)))
}

/// Runs `push`.
///
/// # Errors
/// Any [`Error`]; with `--wait`, [`Error::NotReplicated`] when a location still lacks the
/// blob at the timeout.
pub async fn run(args: &PushArgs) -> Result<Pushed, Error> {
    crate::sim::install_crypto_provider();
    let content = match &args.file {
        Some(path) => Bytes::from(std::fs::read(path).map_err(|source| Error::File {
            path: path.clone(),
            source,
        })?),
        None => {
            let mut bytes = vec![0_u8; 1024];
            getrandom::fill(&mut bytes).map_err(Error::Random)?;
            Bytes::from(bytes)
        }
    };
    let blob_error = |source| Error::Blob {
        site: args.site.clone(),
        source,
    };
    let client = client(args).await?;
    let storage = SiteStorage::read(&args.site, &client)
        .await
        .map_err(blob_error)?;
    let blob = blobs::push(&storage, content).await.map_err(blob_error)?;
    let mut pushed = Pushed {
        site: args.site.clone(),
        blob,
        placements: Vec::new(),
    };
    if args.wait {
        let timeout = Duration::from_secs(args.timeout);
        pushed.placements = blobs::wait_replicated(&storage, &pushed.blob.digest, timeout)
            .await
            .map_err(blob_error)?;
        let missing: Vec<&str> = pushed
            .placements
            .iter()
            .filter(|p| !p.present)
            .map(|p| p.location.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(Error::NotReplicated {
                timeout,
                missing: missing.join(", "),
            });
        }
    }
    Ok(pushed)
}
