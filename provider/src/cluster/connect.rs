//! [`Clusters`]: the named clusters of the provider block, connected on first use.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use kube::config::{KubeConfigOptions, Kubeconfig};
use tokio::sync::OnceCell;
use tracing::debug;

use super::error::Error;
use super::spec::{ClusterSpec, KubeconfigSource};

/// The clusters of the provider block. Cheap to create: nothing is read or contacted until
/// [`Clusters::get`] asks for a cluster, and each cluster's client is built once per provider
/// process and shared by every resource.
#[derive(Debug, Default)]
pub struct Clusters {
    entries: BTreeMap<String, Entry>,
    clients_built: AtomicUsize,
}

#[derive(Debug)]
struct Entry {
    spec: ClusterSpec,
    client: OnceCell<Cluster>,
}

/// One connected cluster: a key and a kube-rs client (cheap to clone).
#[derive(Clone)]
pub struct Cluster {
    pub(super) key: String,
    pub(super) client: kube::Client,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Clusters {
    /// The clusters of the provider block, by key.
    #[must_use]
    pub fn new(specs: BTreeMap<String, ClusterSpec>) -> Self {
        Self {
            entries: specs
                .into_iter()
                .map(|(key, spec)| {
                    (
                        key,
                        Entry {
                            spec,
                            client: OnceCell::new(),
                        },
                    )
                })
                .collect(),
            clients_built: AtomicUsize::new(0),
        }
    }

    /// The declared cluster keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// Whether no cluster is declared (a GitOps-only provider block).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `key` is declared.
    #[must_use]
    pub fn contains(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    /// How many clients this process has built: at most one per cluster.
    #[must_use]
    pub fn clients_built(&self) -> usize {
        self.clients_built.load(Ordering::Relaxed)
    }

    /// The cluster `key`, connecting on first use.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownCluster`] for an undeclared key; [`Error::Kubeconfig`] or
    /// [`Error::Client`] when the kubeconfig cannot be used. Building a client contacts
    /// nothing: the first request does.
    pub async fn get(&self, key: &str) -> Result<Cluster, Error> {
        let Some(entry) = self.entries.get(key) else {
            return Err(Error::UnknownCluster {
                cluster: key.to_owned(),
                known: self.keys().collect::<Vec<_>>().join(", "),
            });
        };
        let cluster = entry
            .client
            .get_or_try_init(|| async {
                let client = connect(key, &entry.spec).await?;
                self.clients_built.fetch_add(1, Ordering::Relaxed);
                debug!(cluster = key, "client built");
                Ok::<_, Error>(Cluster {
                    key: key.to_owned(),
                    client,
                })
            })
            .await?;
        Ok(cluster.clone())
    }
}

impl Cluster {
    /// The cluster's key in the provider block.
    #[must_use]
    pub fn key(&self) -> &str {
        &self.key
    }
}

async fn connect(key: &str, spec: &ClusterSpec) -> Result<kube::Client, Error> {
    let kubeconfig_error = |path, source| Error::Kubeconfig {
        cluster: key.to_owned(),
        path,
        source: Box::new(source),
    };
    let kubeconfig = match &spec.kubeconfig {
        KubeconfigSource::Path(path) => {
            Kubeconfig::read_from(path).map_err(|e| kubeconfig_error(Some(path.clone()), e))?
        }
        KubeconfigSource::Content(yaml) => {
            Kubeconfig::from_yaml(yaml.expose()).map_err(|e| kubeconfig_error(None, e))?
        }
    };
    let options = KubeConfigOptions {
        context: spec.context.clone(),
        cluster: None,
        user: None,
    };
    let path = match &spec.kubeconfig {
        KubeconfigSource::Path(path) => Some(path.clone()),
        KubeconfigSource::Content(_) => None,
    };
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| kubeconfig_error(path, e))?;
    // One retry policy, bounded and ours (see `retry`), instead of kube's default layer.
    config.default_retry = false;
    kube::Client::try_from(config).map_err(|source| Error::Client {
        cluster: key.to_owned(),
        source: Box::new(source),
    })
}
