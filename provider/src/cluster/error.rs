//! Errors of cluster operations: each names the cluster and the object, and
//! [`Error::hint`] says what the user can do about it.

use std::path::PathBuf;
use std::time::Duration;

/// A failed cluster operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A resource named a cluster key the provider block does not declare.
    #[error("cluster {cluster:?} is not declared in the provider block (declared: {known})")]
    UnknownCluster {
        /// The key asked for.
        cluster: String,
        /// The declared keys, comma-separated.
        known: String,
    },
    /// The cluster block's arguments are not known yet: they come from resources Terraform
    /// has not created (a cluster made in the same apply).
    #[error(
        "cluster {cluster:?} cannot be reached yet: its {waits_for} will be known only after apply"
    )]
    Pending {
        /// The cluster key.
        cluster: String,
        /// The arguments not known yet, comma-separated.
        waits_for: String,
    },
    /// The kubeconfig could not be read or understood.
    #[error("load the kubeconfig of cluster {cluster:?}{}", path.as_ref().map(|p| format!(" from {}", p.display())).unwrap_or_default())]
    Kubeconfig {
        /// The cluster key.
        cluster: String,
        /// The file, when the kubeconfig came from one.
        path: Option<PathBuf>,
        /// What went wrong, without the file's text.
        #[source]
        source: KubeconfigProblem,
    },
    /// None of the kubeconfig files an environment variable lists exists.
    #[error("cluster {cluster:?} has no kubeconfig: none of the files {variable} lists exists ({})", paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    NoKubeconfigFile {
        /// The cluster key.
        cluster: String,
        /// `KUBE_CONFIG_PATH` or `KUBECONFIG`.
        variable: &'static str,
        /// The files it lists.
        paths: Vec<PathBuf>,
    },
    /// `in_cluster = true`, but the provider does not run in a pod with a service account.
    #[error("load the in-cluster configuration of cluster {cluster:?}")]
    InCluster {
        /// The cluster key.
        cluster: String,
        /// What is missing.
        #[source]
        source: Box<kube::config::InClusterError>,
    },
    /// A client could not be built from a valid kubeconfig (TLS material, proxy...).
    #[error("create a client for cluster {cluster:?}")]
    Client {
        /// The cluster key.
        cluster: String,
        /// What went wrong.
        #[source]
        source: Box<kube::Error>,
    },
    /// An API request failed (after the retries that apply).
    #[error("{action} {object} on cluster {cluster:?}")]
    Api {
        /// The cluster key.
        cluster: String,
        /// What was being done: "apply", "read", "delete"...
        action: &'static str,
        /// The object, e.g. `QuayRegistry quay/registry`.
        object: String,
        /// The last error (boxed: kube's error is large).
        #[source]
        source: Box<kube::Error>,
    },
    /// The operation's deadline (its `timeouts`) passed before the cluster answered a
    /// request, or before the next retry was due.
    #[error(
        "{action} {object} on cluster {cluster:?} timed out: the cluster did not answer before the operation's deadline"
    )]
    Deadline {
        /// The cluster key.
        cluster: String,
        /// What was being done: "apply", "read", "delete"...
        action: &'static str,
        /// The object.
        object: String,
    },
    /// The kubeconfig's credential plugin gave no credential.
    #[error("get a credential for cluster {cluster:?} from the kubeconfig's exec plugin")]
    ExecPlugin {
        /// The cluster key.
        cluster: String,
        /// Why (never what the plugin printed).
        #[source]
        source: super::exec::ExecError,
    },
    /// A manifest had no usable `apiVersion`, `kind` or `metadata.name`.
    #[error("manifest without a known apiVersion, kind and metadata.name: {what}")]
    BadManifest {
        /// What is missing or unknown.
        what: String,
    },
    /// A wait ran out of time.
    #[error("timed out after {}s waiting for {what} on cluster {cluster:?}; last seen: {last}", waited.as_secs())]
    Timeout {
        /// The cluster key.
        cluster: String,
        /// What was awaited, in words.
        what: String,
        /// How long it waited.
        waited: Duration,
        /// The last state observed, in words.
        last: String,
    },
    /// A wait saw a state that cannot turn into the awaited one.
    #[error("{what} on cluster {cluster:?} failed: {message}")]
    WaitFailed {
        /// The cluster key.
        cluster: String,
        /// What was awaited, in words.
        what: String,
        /// Why it cannot succeed.
        message: String,
    },
    /// Terraform asked the provider to stop (Ctrl-C) during a wait.
    #[error("interrupted while waiting for {what} on cluster {cluster:?}")]
    Stopped {
        /// The cluster key.
        cluster: String,
        /// What was awaited, in words.
        what: String,
    },
}

/// What is wrong with a kubeconfig, said without quoting it: kubeconfigs hold tokens and
/// keys, and the YAML parser's own errors quote the lines around the fault.
#[derive(Debug, thiserror::Error)]
pub enum KubeconfigProblem {
    /// The text is not a kubeconfig: bad YAML, or a value of the wrong type.
    #[error(
        "not a valid kubeconfig at line {line}, column {column} (the text is not shown: it \
         may hold credentials)"
    )]
    Syntax {
        /// The 1-based line of the fault.
        line: u64,
        /// The 1-based column of the fault.
        column: u64,
    },
    /// As [`KubeconfigProblem::Syntax`], where the parser gave no position.
    #[error("not a valid kubeconfig (the text is not shown: it may hold credentials)")]
    SyntaxSomewhere,
    /// Anything else kube-rs found (a missing context, an unreadable file, bad base64): its
    /// messages name what is missing, never a credential.
    #[error(transparent)]
    Other(Box<kube::config::KubeconfigError>),
}

impl From<kube::config::KubeconfigError> for KubeconfigProblem {
    fn from(error: kube::config::KubeconfigError) -> Self {
        match error {
            kube::config::KubeconfigError::Parse(yaml) => match yaml.location() {
                Some(at) => Self::Syntax {
                    line: at.line(),
                    column: at.column(),
                },
                None => Self::SyntaxSomewhere,
            },
            other => Self::Other(Box::new(other)),
        }
    }
}

impl Error {
    /// What the user can do, in one sentence.
    #[must_use]
    pub fn hint(&self) -> String {
        match self {
            Self::UnknownCluster { .. } => {
                "use one of the declared cluster keys, or add a cluster block for this one".into()
            }
            Self::Pending { .. } => {
                "apply the resources that create the cluster first (terraform apply -target=...), \
                 then apply again"
                    .into()
            }
            Self::Kubeconfig { .. } => {
                "check the cluster block's kubeconfig_path or kubeconfig_content (or the \
                 KUBE_CONFIG_PATH or KUBECONFIG files), its context, and the host, \
                 cluster_ca_certificate, client_certificate and exec settings"
                    .into()
            }
            Self::NoKubeconfigFile { variable, .. } => format!(
                "point {variable} at an existing kubeconfig file, or set kubeconfig_path, \
                 kubeconfig_content or host in the cluster block"
            ),
            Self::InCluster { .. } => {
                "in_cluster = true works only for a provider running in a pod with a service \
                 account token mounted; elsewhere use kubeconfig_path, kubeconfig_content or host"
                    .into()
            }
            Self::Client { .. } => "check the kubeconfig's server address and TLS settings".into(),
            Self::Deadline { .. } => {
                "check that the cluster's API server is up and reachable (it accepted the \
                 connection but did not answer), or raise the timeouts block, and apply again"
                    .into()
            }
            Self::ExecPlugin { .. } => {
                "run the plugin's command in a terminal to see what it says, fix its login or \
                 settings (the kubeconfig's users[].user.exec, or the cluster block's exec), and \
                 apply again"
                    .into()
            }
            Self::Api { source, .. } => api_hint(source),
            Self::BadManifest { .. } => {
                "this is a bug in terraform-provider-quay; please report it".into()
            }
            Self::Timeout { .. } => {
                "look at the object's status and events on the cluster, fix what blocks it, or \
                 raise the timeouts block and apply again"
                    .into()
            }
            Self::WaitFailed { .. } => "fix the cause named above and apply again".into(),
            Self::Stopped { .. } => {
                "the change may be partly applied; run terraform apply again to finish it".into()
            }
        }
    }

    /// Whether the API answered 409 Conflict (the object exists, or changed since it was read).
    #[must_use]
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Api { source, .. } if matches!(&**source, kube::Error::Api(status) if status.code == 409))
    }

    /// The HTTP status code of an API answer, if the cluster answered.
    #[must_use]
    pub fn status_code(&self) -> Option<u16> {
        match self {
            Self::Api { source, .. } => match &**source {
                kube::Error::Api(status) => Some(status.code),
                _ => None,
            },
            _ => None,
        }
    }

    /// Whether the API answered 404 Not Found.
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Api { source, .. } if matches!(&**source, kube::Error::Api(status) if status.code == 404))
    }
}

fn api_hint(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => match status.code {
            401 => "the cluster rejected the credentials: refresh the kubeconfig's token or certificate".into(),
            403 => "the kubeconfig's user lacks permission for this: grant it (RBAC) or use another context".into(),
            404 => "the object or its API is missing: is the Quay Operator (its CRD) installed on this cluster?".into(),
            409 => "another client changed or owns this object: apply again, and check who else manages it".into(),
            422 => "the cluster refused the object as invalid: read the cause above".into(),
            429 | 500..=599 => "the API server kept failing; check its health and apply again".into(),
            _ => "read the cluster's answer above".into(),
        },
        _ => "the cluster could not be reached: check the network and the kubeconfig's server address".into(),
    }
}
