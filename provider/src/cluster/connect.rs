//! [`Clusters`]: the named clusters of the provider block, connected on first use.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use std::collections::HashMap;
use std::path::PathBuf;

use base64::Engine as _;
use kube::config::{
    AuthInfo, Context, ExecConfig, KubeConfigOptions, Kubeconfig, NamedAuthInfo, NamedCluster,
    NamedContext,
};
use tokio::sync::OnceCell;
use tracing::debug;

use super::error::Error;
use super::spec::{ClusterSpec, Credentials, DirectAccess, KubeconfigSource};

/// The clusters of the provider block. Cheap to create: nothing is read or contacted until
/// [`Clusters::get`] asks for a cluster, and each cluster's client is built once per provider
/// process and shared by every resource.
#[derive(Debug, Default)]
pub struct Clusters {
    entries: BTreeMap<String, Entry>,
    /// Blocks whose arguments Terraform does not know yet, with the arguments they wait for.
    pending: BTreeMap<String, Vec<String>>,
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
            pending: BTreeMap::new(),
            clients_built: AtomicUsize::new(0),
        }
    }

    /// The clusters of the provider block, and the blocks whose arguments are not known yet
    /// (a cluster created in the same apply), each with the arguments it waits for.
    #[must_use]
    pub fn with_pending(
        specs: BTreeMap<String, ClusterSpec>,
        pending: BTreeMap<String, Vec<String>>,
    ) -> Self {
        let mut clusters = Self::new(specs);
        clusters.pending = pending;
        clusters
    }

    /// The arguments cluster `key` waits for, when its block is not known yet.
    #[must_use]
    pub fn pending(&self, key: &str) -> Option<&[String]> {
        self.pending.get(key).map(Vec::as_slice)
    }

    /// The declared cluster keys, pending ones included, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        let mut keys: Vec<&str> = self
            .entries
            .keys()
            .chain(self.pending.keys())
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        keys.into_iter()
    }

    /// Whether no cluster is declared (a GitOps-only provider block).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.pending.is_empty()
    }

    /// Whether `key` is declared (pending or not).
    #[must_use]
    pub fn contains(&self, key: &str) -> bool {
        self.entries.contains_key(key) || self.pending.contains_key(key)
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
    /// [`Error::UnknownCluster`] for an undeclared key; [`Error::Pending`] for a block whose
    /// arguments are not known yet; [`Error::Kubeconfig`], [`Error::NoKubeconfigFile`],
    /// [`Error::InCluster`] or [`Error::Client`] when the settings cannot be used. Building a
    /// client contacts nothing: the first request does.
    pub async fn get(&self, key: &str) -> Result<Cluster, Error> {
        if let Some(waits_for) = self.pending.get(key) {
            return Err(Error::Pending {
                cluster: key.to_owned(),
                waits_for: waits_for.join(", "),
            });
        }
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
    let (kubeconfig, path) = match &spec.kubeconfig {
        KubeconfigSource::InCluster => {
            let config = kube::Config::incluster().map_err(|source| Error::InCluster {
                cluster: key.to_owned(),
                source: Box::new(source),
            })?;
            return client(key, config);
        }
        KubeconfigSource::Path(path) => (
            Kubeconfig::read_from(path).map_err(|e| kubeconfig_error(Some(path.clone()), e))?,
            Some(path.clone()),
        ),
        KubeconfigSource::Content(yaml) => (
            Kubeconfig::from_yaml(yaml.expose()).map_err(|e| kubeconfig_error(None, e))?,
            None,
        ),
        KubeconfigSource::Environment { variable, paths } => (merged(key, variable, paths)?, None),
        KubeconfigSource::Direct(direct) => (direct_kubeconfig(key, direct), None),
    };
    let options = KubeConfigOptions {
        context: spec.context.clone(),
        cluster: None,
        user: None,
    };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| kubeconfig_error(path, e))?;
    client(key, config)
}

fn client(key: &str, mut config: kube::Config) -> Result<kube::Client, Error> {
    // One retry policy, bounded and ours (see `retry`), instead of kube's default layer.
    config.default_retry = false;
    kube::Client::try_from(config).map_err(|source| Error::Client {
        cluster: key.to_owned(),
        source: Box::new(source),
    })
}

/// The files of `paths` that exist, merged as kubectl merges `KUBECONFIG`: the first file to
/// set a value or name an entry wins (kube's [`Kubeconfig::merge`]).
fn merged(key: &str, variable: &'static str, paths: &[PathBuf]) -> Result<Kubeconfig, Error> {
    let existing: Vec<&PathBuf> = paths.iter().filter(|path| path.exists()).collect();
    if existing.is_empty() {
        return Err(Error::NoKubeconfigFile {
            cluster: key.to_owned(),
            variable,
            paths: paths.to_vec(),
        });
    }
    existing
        .into_iter()
        .try_fold(Kubeconfig::default(), |merged, path| {
            Kubeconfig::read_from(path)
                .and_then(|next| merged.merge(next))
                .map_err(|source| Error::Kubeconfig {
                    cluster: key.to_owned(),
                    path: Some(path.clone()),
                    source: Box::new(source),
                })
        })
}

/// A kubeconfig of one cluster, user and context, all named `key`, from the block's settings,
/// so that kube-rs treats them exactly as it treats the same settings in a file.
fn direct_kubeconfig(key: &str, direct: &DirectAccess) -> Kubeconfig {
    let b64 = |pem: &str| base64::engine::general_purpose::STANDARD.encode(pem);
    let cluster = kube::config::Cluster {
        server: Some(direct.host.clone()),
        certificate_authority_data: direct.cluster_ca_certificate.as_deref().map(b64),
        tls_server_name: direct.tls_server_name.clone(),
        proxy_url: direct.proxy_url.clone(),
        ..kube::config::Cluster::default()
    };
    let mut user = AuthInfo::default();
    match &direct.credentials {
        Credentials::Anonymous => {}
        Credentials::Token(token) => user.token = Some(token.expose().to_owned().into()),
        Credentials::ClientCertificate { certificate, key } => {
            user.client_certificate_data = Some(b64(certificate));
            user.client_key_data = Some(b64(key.expose()).into());
        }
        Credentials::Exec(plugin) => {
            user.exec = Some(ExecConfig {
                api_version: Some(plugin.api_version.clone()),
                command: Some(plugin.command.clone()),
                args: Some(plugin.args.clone()),
                env: Some(
                    plugin
                        .env
                        .iter()
                        .map(|(name, value)| {
                            HashMap::from([
                                ("name".to_owned(), name.clone()),
                                ("value".to_owned(), value.expose().to_owned()),
                            ])
                        })
                        .collect(),
                ),
                ..ExecConfig::default()
            });
        }
    }
    Kubeconfig {
        clusters: vec![NamedCluster {
            name: key.to_owned(),
            cluster: Some(cluster),
            ..NamedCluster::default()
        }],
        auth_infos: vec![NamedAuthInfo {
            name: key.to_owned(),
            auth_info: Some(user),
            ..NamedAuthInfo::default()
        }],
        contexts: vec![NamedContext {
            name: key.to_owned(),
            context: Some(Context {
                cluster: key.to_owned(),
                user: Some(key.to_owned()),
                ..Context::default()
            }),
            ..NamedContext::default()
        }],
        current_context: Some(key.to_owned()),
        ..Kubeconfig::default()
    }
}
