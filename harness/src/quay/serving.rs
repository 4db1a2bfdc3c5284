//! A Quay pod that serves, and where a reader finds a site's serving pods.
//!
//! The operator model reports a [`ServingPod`] when a quay-app pod becomes ready and
//! implements [`SitePods`] for its running sites; the load balancer model, the replication
//! worker and the safety ledger read them through these types, not through the model.

use super::catalogue::QuayVersion;

/// A quay pod that became ready, as the operator model reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServingPod {
    /// The site.
    pub site: String,
    /// The pod name.
    pub pod: String,
    /// Its Quay version.
    pub version: QuayVersion,
    /// The database it uses (`host:port/name`).
    pub database: String,
    /// The database revision it found at start (`None`: no `alembic_version` row).
    pub revision: Option<String>,
    /// sha256 of the `config.yaml` it runs with.
    pub config_hash: String,
    /// Whether `FEATURE_STORAGE_REPLICATION` is on.
    pub replication: bool,
    /// The site's own storage location.
    pub location: String,
    /// Its effective first storage preference.
    pub preference: Option<String>,
    /// The hostname it serves as: `SERVER_HOSTNAME`, else the generated Route host (`None`:
    /// its pod template does not say).
    pub server_hostname: Option<String>,
}

/// What a site's readers (the load balancer's endpoints, the replication worker) read on
/// every request: the site's ready pods, as its Services' endpoints would list them.
pub trait SitePods: Send + Sync + std::fmt::Debug + 'static {
    /// The ready quay-app pods.
    fn quay(&self) -> Vec<ServingPod>;
    /// How many clair-app pods are ready.
    fn clair(&self) -> usize;
}
