//! Which kind of cluster a simulated API server imitates: OpenShift (Route, the OLM types and,
//! unless [`ClusterConfig::monitoring`](super::ClusterConfig) turns them off, the monitoring
//! stack's Prometheus APIs and `openshift-config-managed` namespace) or plain Kubernetes.

/// Which kind of cluster to imitate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flavour {
    /// OpenShift: Route, OLM and (by default) the Prometheus Operator's APIs are served.
    Openshift,
    /// Plain Kubernetes (kind-like).
    #[default]
    Kubernetes,
}

impl std::str::FromStr for Flavour {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "openshift" => Ok(Self::Openshift),
            "kubernetes" => Ok(Self::Kubernetes),
            other => Err(format!(
                "unknown cluster flavour {other:?} (expected openshift or kubernetes)"
            )),
        }
    }
}
