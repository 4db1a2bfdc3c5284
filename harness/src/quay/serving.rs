//! A Quay pod that serves, and where a reader finds a site's serving pods.
//!
//! The operator model reports a [`ServingPod`] when a quay-app pod becomes ready and
//! implements [`SitePods`] for its running sites; the load balancer model, the replication
//! worker and the safety ledger read them through these types, not through the model.

use std::collections::BTreeMap;

use sha2::{Digest as _, Sha256};

use super::catalogue::QuayVersion;

/// The keys of `config.yaml` that say where blobs are; the rest of the config must be the same
/// on every serving site.
pub const STORAGE_KEYS: [&str; 3] = [
    "DISTRIBUTED_STORAGE_CONFIG",
    "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS",
    "DISTRIBUTED_STORAGE_PREFERENCE",
];

/// The keys the operator writes into each site's deployed config for that site alone: its own
/// Clair's endpoint and the pre-shared key it keeps per registry (quay-operator
/// `pkg/kustomize/secrets.go`). Each site's Quay talks to its own Clair, so these differ
/// between sites by design.
pub const PER_SITE_KEYS: [&str; 2] = ["SECURITY_SCANNER_V4_ENDPOINT", "SECURITY_SCANNER_V4_PSK"];

/// A config as sites compare it while a storage location added to the shared config rolls
/// out site by site (Quay's documented order: the location into every site's config, then
/// the new site): everything but the storage keys must be equal, and each location both
/// configs name must be defined the same way. The deployed config is compared, less
/// `PER_SITE_KEYS`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigShape {
    /// sha256 of the config without `STORAGE_KEYS` and `PER_SITE_KEYS`.
    pub rest: String,
    /// Each `DISTRIBUTED_STORAGE_CONFIG` location's definition, as JSON text.
    pub locations: BTreeMap<String, String>,
}

impl ConfigShape {
    /// The shape of a parsed `config.yaml`.
    #[must_use]
    pub fn of(config: &serde_json::Map<String, serde_json::Value>) -> Self {
        let mut rest = config.clone();
        for key in STORAGE_KEYS.iter().chain(&PER_SITE_KEYS) {
            rest.remove(*key);
        }
        let locations = config
            .get("DISTRIBUTED_STORAGE_CONFIG")
            .and_then(serde_json::Value::as_object)
            .into_iter()
            .flatten()
            .map(|(name, definition)| (name.clone(), definition.to_string()))
            .collect();
        Self {
            rest: hex::encode(Sha256::digest(
                serde_json::Value::Object(rest).to_string().as_bytes(),
            )),
            locations,
        }
    }

    /// Whether a pod with this config writing to `writes_to` may serve beside a pod with
    /// `other`'s config writing to `other_writes_to`: the same config but for storage, the
    /// same definition of every location both name, and each one's write location known to
    /// the other (a blob written where the other site has no config for is unreachable there).
    #[must_use]
    pub fn compatible(
        &self,
        writes_to: Option<&str>,
        other: &Self,
        other_writes_to: Option<&str>,
    ) -> bool {
        let knows = |shape: &Self, location: Option<&str>| {
            location.is_none_or(|l| shape.locations.contains_key(l))
        };
        self.rest == other.rest
            && self
                .locations
                .iter()
                .all(|(name, def)| other.locations.get(name).is_none_or(|d| d == def))
            && knows(other, writes_to)
            && knows(self, other_writes_to)
    }
}

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
    /// That config as the ledger compares it with other sites'.
    pub config_shape: ConfigShape,
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
