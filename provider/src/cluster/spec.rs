//! What the provider block says about one cluster: the one way to reach it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use crate::georep::secret::Secret;

/// How to reach a cluster: exactly one of these per `cluster` block.
#[derive(Clone, PartialEq, Eq)]
pub enum KubeconfigSource {
    /// A kubeconfig file on the machine running Terraform (`kubeconfig_path`).
    Path(PathBuf),
    /// Kubeconfig YAML given inline (`kubeconfig_content`; sensitive: it usually holds
    /// credentials).
    Content(Secret),
    /// The kubeconfig files an environment variable lists (`KUBE_CONFIG_PATH`, else
    /// `KUBECONFIG`), merged as kubectl merges them: files that do not exist are skipped, and
    /// the first file to name a cluster, user, context or the current context wins.
    Environment {
        /// The variable the paths came from, for messages.
        variable: &'static str,
        /// The files, in the variable's order.
        paths: Vec<PathBuf>,
    },
    /// The API server's address and credentials given in the block (`host` and the rest).
    Direct(Box<DirectAccess>),
    /// The service account of the pod the provider runs in (`in_cluster = true`).
    InCluster,
}

impl fmt::Debug for KubeconfigSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Path(path) => f.debug_tuple("Path").field(path).finish(),
            Self::Content(_) => f.write_str("Content(<redacted>)"),
            Self::Environment { variable, paths } => f
                .debug_struct("Environment")
                .field("variable", variable)
                .field("paths", paths)
                .finish(),
            Self::Direct(direct) => f.debug_tuple("Direct").field(direct).finish(),
            Self::InCluster => f.write_str("InCluster"),
        }
    }
}

/// The API server's address, how to trust it, and who the provider is to it. `Debug` shows
/// no credential: [`Secret`] redacts itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectAccess {
    /// The API server URL (`host`), e.g. `https://api.example.com:6443`.
    pub host: String,
    /// PEM of the CA that signed the server's certificate; `None`: the system's roots.
    pub cluster_ca_certificate: Option<String>,
    /// The name to check the server's certificate against, when it differs from the host.
    pub tls_server_name: Option<String>,
    /// An HTTP(S) or SOCKS5 proxy to reach the server through.
    pub proxy_url: Option<String>,
    /// Who the provider is.
    pub credentials: Credentials,
}

/// The credentials of [`DirectAccess`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// None: anonymous requests.
    Anonymous,
    /// A bearer token.
    Token(Secret),
    /// A client certificate and its key, both PEM.
    ClientCertificate {
        /// The certificate.
        certificate: String,
        /// The private key.
        key: Secret,
    },
    /// A client-go credential plugin that prints an `ExecCredential`.
    Exec(ExecPlugin),
}

/// An `exec` block: a credential plugin as kubeconfig's `users[].user.exec` runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecPlugin {
    /// The `ExecCredential` API version the plugin speaks,
    /// `client.authentication.k8s.io/v1` or `v1beta1`.
    pub api_version: String,
    /// The command (a path, or a name looked up on `PATH`).
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Environment variables added to the provider's for it; values are sensitive.
    pub env: BTreeMap<String, Secret>,
}

/// One `cluster "<key>"` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterSpec {
    /// How to reach the cluster.
    pub kubeconfig: KubeconfigSource,
    /// The kubeconfig context to use; `None` means the kubeconfig's current context. Only
    /// for the kubeconfig sources (`Path`, `Content`, `Environment`).
    pub context: Option<String>,
}
