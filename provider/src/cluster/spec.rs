//! What the provider block says about one cluster.

use std::fmt;
use std::path::PathBuf;

use crate::georep::secret::Secret;

/// Where a cluster's kubeconfig comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum KubeconfigSource {
    /// A kubeconfig file on the machine running Terraform.
    Path(PathBuf),
    /// Kubeconfig YAML given inline (sensitive: it usually holds credentials).
    Content(Secret),
}

impl fmt::Debug for KubeconfigSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Path(path) => f.debug_tuple("Path").field(path).finish(),
            Self::Content(_) => f.write_str("Content(<redacted>)"),
        }
    }
}

/// One `cluster "<key>"` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterSpec {
    /// The kubeconfig.
    pub kubeconfig: KubeconfigSource,
    /// The context to use; `None` means the kubeconfig's current context.
    pub context: Option<String>,
}
