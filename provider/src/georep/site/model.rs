//! [`Site`]: one validated geo-replicated Quay site, the only input rendering takes.
//!
//! Values here have passed [`super::validate_site`]: names are DNS-1123 labels, the shared
//! config enables replication and has this site's location, replicas are in
//! `0..=`[`MAX_REPLICAS`], a managed Clair has its shared database, a TLS pair covers
//! `SERVER_HOSTNAME`, and `env` never sets the storage preference. Fields are private to the
//! `site` module so no other code can build an unchecked site. Nothing here does I/O.

use super::pods::ComponentPods;
use std::collections::BTreeMap;
use std::fmt;

use sha2::{Digest, Sha256};

use super::name::ObjectName;
use super::shared_config::SharedConfig;
use super::tls::Certificate;
use crate::georep::config::db_uri::DbUri;
use crate::georep::secret::{Redacted, Secret};
use crate::georep::yaml::to_yaml;

/// The most pods a site may ask for per component. The operator's own HPA stops at 20; a value
/// above 100 is taken for a typo rather than a plan.
pub const MAX_REPLICAS: u16 = 100;

/// A replica count in `0..=`[`MAX_REPLICAS`]; 0 scales the component down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Replicas(pub(super) u16);

impl Replicas {
    /// The count.
    pub fn get(self) -> u16 {
        self.0
    }
}

/// Where the config bundle Secret comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretMode {
    /// The provider renders (and the resource applies) the bundle Secret.
    Inline,
    /// The user provides the bundle Secret under this name (SealedSecrets, External Secrets);
    /// nothing renders it.
    External {
        /// The Secret's name in the site's namespace.
        name: ObjectName,
    },
}

/// An optional scaled component (`mirror`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workers {
    /// The component is unmanaged: the operator runs nothing for it.
    Disabled,
    /// The operator runs `replicas` pods.
    Enabled {
        /// Pod count.
        replicas: Replicas,
    },
}

/// This site's Clair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClairSetup {
    /// No Clair on this site: `clair` unmanaged (none at all, or the config's global Clair).
    Disabled,
    /// Option A of `reference/quay-operator.md` §4.3: the operator runs Clair here, against
    /// the Clair database every site shares (`clairpostgres` unmanaged).
    Managed {
        /// Pod count.
        replicas: Replicas,
        /// The shared Clair database.
        database_uri: DbUri,
    },
}

/// A TLS certificate and its key, checked against `SERVER_HOSTNAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsPair {
    pub(super) certificate: Certificate,
    pub(super) private_key: Secret,
}

impl TlsPair {
    /// The parsed certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The PEM private key.
    pub fn private_key(&self) -> &Secret {
        &self.private_key
    }
}

/// One validated site. Build it with [`super::validate_site`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub(super) cluster: String,
    pub(super) namespace: ObjectName,
    pub(super) name: ObjectName,
    pub(super) create_namespace: bool,
    pub(super) config: SharedConfig,
    /// Checked bundle files beside `config.yaml` (`files.rs`), by bundle key.
    pub(super) config_files: BTreeMap<String, Secret>,
    /// Always one of `config.locations()`.
    pub(super) location: String,
    pub(super) quay_replicas: Replicas,
    pub(super) mirror: Workers,
    pub(super) clair: ClairSetup,
    /// The pod overrides of `quay`, `mirror` and `clair` (empty for a disabled component).
    pub(super) pods: ComponentPods,
    pub(super) route_managed: bool,
    pub(super) tls: Option<TlsPair>,
    pub(super) monitoring: bool,
    /// Never holds `QUAY_DISTRIBUTED_STORAGE_PREFERENCE` or an empty name.
    pub(super) env: Redacted<BTreeMap<String, String>>,
    pub(super) secret_mode: SecretMode,
}

impl Site {
    /// The provider `cluster` key this site lives on.
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// The namespace.
    pub fn namespace(&self) -> &ObjectName {
        &self.namespace
    }

    /// The `QuayRegistry` name.
    pub fn name(&self) -> &ObjectName {
        &self.name
    }

    /// Whether the namespace is created (and rendered) with the site.
    pub fn create_namespace(&self) -> bool {
        self.create_namespace
    }

    /// The shared configuration facts.
    pub fn config(&self) -> &SharedConfig {
        &self.config
    }

    /// This site's storage location.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Quay pods.
    pub fn quay_replicas(&self) -> Replicas {
        self.quay_replicas
    }

    /// Mirror workers.
    pub fn mirror(&self) -> Workers {
        self.mirror
    }

    /// Clair on this site.
    pub fn clair(&self) -> &ClairSetup {
        &self.clair
    }

    /// Whether the operator manages the Route (OpenShift).
    pub fn is_route_managed(&self) -> bool {
        self.route_managed
    }

    /// Whether the operator manages TLS: only without a certificate of ours, and only with a
    /// managed Route (edge termination with the router's certificate).
    pub fn is_tls_managed(&self) -> bool {
        self.tls.is_none() && self.route_managed
    }

    /// The TLS pair, when given.
    pub fn tls(&self) -> Option<&TlsPair> {
        self.tls.as_ref()
    }

    /// Whether the operator manages monitoring.
    pub fn monitoring(&self) -> bool {
        self.monitoring
    }

    /// The pod overrides of `quay`, `mirror` and `clair`.
    pub fn pods(&self) -> &ComponentPods {
        &self.pods
    }

    /// The user's extra env for `quay`, by name.
    pub fn env(&self) -> &BTreeMap<String, String> {
        &self.env
    }

    /// Where the bundle Secret comes from.
    pub fn secret_mode(&self) -> &SecretMode {
        &self.secret_mode
    }

    /// `cluster/namespace/name`: the Terraform id and import id.
    pub fn id(&self) -> String {
        format!("{}/{}/{}", self.cluster, self.namespace, self.name)
    }

    /// `sha256:<lowercase hex>` of `config_yaml`, the same value as
    /// `data.quay_georep_config.<name>.config_hash` for that file.
    pub fn config_hash(&self) -> String {
        format!(
            "sha256:{}",
            hex::encode(Sha256::digest(self.config.yaml().expose().as_bytes()))
        )
    }

    /// `QUAY_DISTRIBUTED_STORAGE_PREFERENCE`'s words: this site's location, then the config's
    /// default locations in file order (or, without that key, every other location sorted).
    pub fn storage_preference(&self) -> Vec<&str> {
        let others: &[String] = if self.config.default_locations().is_empty() {
            self.config.locations()
        } else {
            self.config.default_locations()
        };
        std::iter::once(self.location.as_str())
            .chain(
                others
                    .iter()
                    .map(String::as_str)
                    .filter(|l| *l != self.location),
            )
            .collect()
    }

    /// The keys and values of the bundle Secret (sensitive), sorted by key: `config.yaml`;
    /// `clair-config.yaml` with a managed Clair; `ssl.cert` and `ssl.key` with TLS; every
    /// `config_files` entry (CA and database certificates). Rendered
    /// whatever the [`SecretMode`]: in external mode this is what the user's Secret must hold.
    pub fn bundle_content(&self) -> BTreeMap<String, Secret> {
        let mut content = self.config_files.clone();
        content.insert("config.yaml".into(), self.config.yaml().clone());
        if let ClairSetup::Managed { database_uri, .. } = &self.clair {
            content.insert("clair-config.yaml".into(), clair_config(database_uri));
        }
        if let Some(tls) = &self.tls {
            content.insert("ssl.cert".into(), Secret::new(tls.certificate.pem()));
            content.insert("ssl.key".into(), tls.private_key.clone());
        }
        content
    }

    /// The first 10 hex digits of the SHA-256 over the bundle content: every key and value in
    /// key order, each preceded by its length as 8 big-endian bytes (so no two contents share
    /// an encoding).
    pub fn bundle_hash(&self) -> String {
        let mut hasher = Sha256::new();
        for (key, value) in self.bundle_content() {
            for part in [key.as_bytes(), value.expose().as_bytes()] {
                hasher.update((part.len() as u64).to_be_bytes());
                hasher.update(part);
            }
        }
        let mut digest = hex::encode(hasher.finalize());
        digest.truncate(10);
        digest
    }

    /// The name `spec.configBundleSecret` refers to: `<name>-config-bundle-<bundle hash>`
    /// inline (a new name per content, because the operator does not watch the Secret), or the
    /// user's name in external mode.
    pub fn bundle_secret_name(&self) -> String {
        match &self.secret_mode {
            SecretMode::Inline => self.inline_bundle_secret_name(),
            SecretMode::External { name } => name.to_string(),
        }
    }

    /// `<name>-config-bundle-<bundle hash>`, whatever the mode.
    pub fn inline_bundle_secret_name(&self) -> String {
        format!("{}-config-bundle-{}", self.name, self.bundle_hash())
    }
}

impl fmt::Display for SecretMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretMode::Inline => f.write_str("inline"),
            SecretMode::External { name } => write!(f, "external ({name})"),
        }
    }
}

/// `clair-config.yaml` for Clair option A: the indexer, matcher and notifier all use the shared
/// Clair database and run its migrations (`reference/quay-operator.md` §4.3).
fn clair_config(database_uri: &DbUri) -> Secret {
    let section =
        serde_json::json!({ "connstring": database_uri.secret().expose(), "migrations": true });
    let document = serde_json::json!({
        "indexer": section,
        "matcher": section,
        "notifier": section,
    });
    Secret::new(to_yaml(&document))
}
