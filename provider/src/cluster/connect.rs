//! [`Clusters`]: the named clusters of the provider block, connected on first use.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use kube::config::{
    AuthInfo, Context, ExecConfig, KubeConfigOptions, Kubeconfig, NamedAuthInfo, NamedCluster,
    NamedContext,
};
use tokio::sync::OnceCell;
use tracing::debug;

use super::budget;
use super::error::Error;
use super::exec;
use super::retry_after;
use super::spec::{ClusterSpec, Credentials, DirectAccess, KubeconfigSource};

/// How long the client waits for the next bytes of an answer before it gives up on the
/// request (kube-rs sets none by default, so a server that accepts a connection and never
/// answers would hold a request forever). Waits use watches that the server closes well
/// before this.
pub const READ_TIMEOUT: Duration = Duration::from_secs(60);

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

impl Clusters {
    /// Whether cluster `key`'s settings turn off the check of the API server's certificate
    /// (a kubeconfig's `insecure-skip-tls-verify: true`). Reads the settings only: contacts
    /// nothing and runs no credential plugin. `false` for an unknown or pending cluster, and
    /// for settings that cannot be read (using them reports that).
    pub async fn skips_tls_verification(&self, key: &str) -> bool {
        let Some(entry) = self.entries.get(key) else {
            return false;
        };
        load(key, &entry.spec)
            .await
            .is_ok_and(|config| config.accept_invalid_certs)
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
    let mut config = load(key, spec).await?;
    if let Some(plugin) = config.auth_info.exec.clone() {
        let what = "run the kubeconfig's credential plugin";
        let credential = match budget::race(exec::run(&plugin, exec::EXEC_TIMEOUT)).await {
            Ok(ran) => ran.map_err(|source| Error::ExecPlugin {
                cluster: key.to_owned(),
                source,
            })?,
            Err(budget::Interrupted::Deadline) => {
                return Err(Error::Deadline {
                    cluster: key.to_owned(),
                    action: "run",
                    object: "the kubeconfig's credential plugin".to_owned(),
                });
            }
            Err(budget::Interrupted::Stopped) => {
                return Err(Error::Stopped {
                    cluster: key.to_owned(),
                    what: what.to_owned(),
                });
            }
        };
        config.auth_info = exec::apply(config.auth_info, credential);
    }
    client(key, config)
}

/// The client configuration of `spec`, as kube-rs reads it; a credential plugin is not run.
async fn load(key: &str, spec: &ClusterSpec) -> Result<kube::Config, Error> {
    let kubeconfig_error = |path, source: kube::config::KubeconfigError| Error::Kubeconfig {
        cluster: key.to_owned(),
        path,
        source: source.into(),
    };
    let (kubeconfig, path) = match &spec.kubeconfig {
        KubeconfigSource::InCluster => {
            return kube::Config::incluster().map_err(|source| Error::InCluster {
                cluster: key.to_owned(),
                source: Box::new(source),
            });
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
    kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| kubeconfig_error(path, e))
}

fn client(key: &str, mut config: kube::Config) -> Result<kube::Client, Error> {
    // One retry policy, bounded and ours (see `retry`), instead of kube's default layer.
    config.default_retry = false;
    config.read_timeout = Some(READ_TIMEOUT);
    let builder =
        kube::client::ClientBuilder::try_from(config).map_err(|source| Error::Client {
            cluster: key.to_owned(),
            source: Box::new(source),
        })?;
    Ok(builder
        .with_layer(&tower::util::AndThenLayer::new(retry_after::fold))
        .build())
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
                    source: source.into(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::georep::errors::chain;

    const TOKEN: &str = "tok-kubeconfig-s3cr3t";

    fn kubeconfig(user: &str, cluster_extra: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:6443\n{cluster_extra}contexts:\n- name: c\n  context: {{cluster: c, user: u}}\nusers:\n- name: u\n  user:\n{user}"
        )
    }

    fn clusters(source: KubeconfigSource) -> Clusters {
        Clusters::new(BTreeMap::from([(
            "us_east".to_owned(),
            ClusterSpec {
                kubeconfig: source,
                context: None,
            },
        )]))
    }

    #[tokio::test]
    async fn a_broken_kubeconfig_file_is_reported_by_file_line_and_column_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken.kubeconfig");
        let broken = kubeconfig(
            &format!("    token: {TOKEN}\n    client-key-data: {{unclosed {TOKEN}\n"),
            "",
        );
        std::fs::write(&path, broken).unwrap();
        let err = clusters(KubeconfigSource::Path(path.clone()))
            .get("us_east")
            .await
            .unwrap_err();
        let shown = format!("{} {err:?}", chain(&err));
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains(&path.display().to_string()), "{shown}");
        assert!(
            matches!(
                &err,
                Error::Kubeconfig {
                    source: crate::cluster::KubeconfigProblem::Syntax { line, .. },
                    ..
                } if *line >= 15
            ),
            "{shown}"
        );
    }

    #[tokio::test]
    async fn a_broken_inline_kubeconfig_is_reported_without_its_text() {
        // A value of the wrong type: the parser quotes it in its own message.
        let broken = kubeconfig(&format!("    token: [{TOKEN}]\n"), "");
        let err = clusters(KubeconfigSource::Content(broken.into()))
            .get("us_east")
            .await
            .unwrap_err();
        let shown = format!("{} {err:?}", chain(&err));
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(matches!(err, Error::Kubeconfig { .. }), "{shown}");
    }

    #[tokio::test]
    async fn a_failing_exec_plugin_is_reported_without_the_token_it_printed() {
        let dir = tempfile::tempdir().unwrap();
        let plugin = dir.path().join("plugin.sh");
        georep_harness::services::process::write_executable(
            &plugin,
            &format!("#!/bin/sh\necho '{TOKEN}'\necho '{TOKEN}' >&2\nexit 1\n"),
            0o700,
        )
        .unwrap();
        let user = format!(
            "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      env:\n      - {{name: PLUGIN_SECRET, value: {TOKEN}}}\n",
            plugin.display()
        );
        let err = clusters(KubeconfigSource::Content(kubeconfig(&user, "").into()))
            .get("us_east")
            .await
            .unwrap_err();
        let shown = format!("{} {err:?} {}", chain(&err), err.hint());
        assert!(matches!(err, Error::ExecPlugin { .. }), "{shown}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }

    #[tokio::test]
    async fn a_kubeconfig_that_skips_tls_verification_is_told_apart() {
        let insecure = kubeconfig(
            &format!("    token: {TOKEN}\n"),
            "    insecure-skip-tls-verify: true\n",
        );
        assert!(
            clusters(KubeconfigSource::Content(insecure.into()))
                .skips_tls_verification("us_east")
                .await
        );
        let checked = kubeconfig(&format!("    token: {TOKEN}\n"), "");
        let checked = clusters(KubeconfigSource::Content(checked.into()));
        assert!(!checked.skips_tls_verification("us_east").await);
        assert!(!checked.skips_tls_verification("undeclared").await);
    }
}
