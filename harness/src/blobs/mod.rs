//! Blobs as a geo-replicated Quay stores them, on the sites' real S3 buckets: the key layout,
//! a push through one site, and (in [`replication`]) the worker that copies every blob to the
//! other default locations.
//!
//! # Brief overview
//! - [`blob_key`]: Quay's layout, `<storage_path>/sha256/<first two hex>/<hex>`
//!   (reference/quay-operator.md §4.1), with `storage_path`'s leading `/` dropped as Quay's S3
//!   drivers do.
//! - [`SiteStorage::read`]: what a site's quay pods know about storage, read from the site's
//!   cluster like any client: the `QuayRegistry`, its config bundle Secret (every
//!   `DISTRIBUTED_STORAGE_CONFIG` location with its keys, `DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS`)
//!   and the preferred location (the quay component's `QUAY_DISTRIBUTED_STORAGE_PREFERENCE`
//!   override, else the config's `DISTRIBUTED_STORAGE_PREFERENCE`).
//! - [`push`]: writes a blob where a push through that site lands: the preferred location's
//!   bucket, with that location's keys. It refuses when the site has no ready quay pod, as a
//!   push through a site that does not serve cannot happen.
//! - [`Location`]: one location's bucket, read and written with that location's own keys.
//!
//! - [`placements`]: where the shared database says each blob is, written by a push and by
//!   the replication worker, read and deleted by the removal tool's model.
//!
//! Not modelled: manifests, uploads in chunks, per-namespace extra locations, the storage
//! proxy.

pub mod placements;
pub mod queue;
pub mod replication;

use std::collections::BTreeSet;

use bytes::Bytes;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::quay::bundle::{self, Bundle, S3Target};
use crate::quay::{COMPONENT_LABEL, PREFERENCE_ENV, is_pod_ready, quay_registry_resource};
use crate::services::s3::REGION;
use crate::services::s3_client::{S3Client, S3Error};

/// Why a blob could not be pushed, read or replicated.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The cluster could not be read.
    #[error("read {what} on site {site}")]
    Cluster {
        /// The site.
        site: String,
        /// What was read.
        what: String,
        /// Why.
        #[source]
        source: kube::Error,
    },
    /// No site has this name.
    #[error("no site named {site} in this environment")]
    UnknownSite {
        /// The name.
        site: String,
    },
    /// No client for the site's cluster could be made.
    #[error("connect to the cluster of site {site}")]
    Client {
        /// The site.
        site: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The site has no `QuayRegistry`.
    #[error("site {site} has no QuayRegistry: apply one first (examples/three-sites)")]
    NoRegistry {
        /// The site.
        site: String,
    },
    /// The config bundle Secret is missing or does not parse.
    #[error("config bundle of site {site}")]
    Bundle {
        /// The site.
        site: String,
        /// Why.
        #[source]
        source: bundle::Error,
    },
    /// The registry names a bundle Secret that does not exist.
    #[error("site {site}: config bundle secret {secret} does not exist")]
    NoBundleSecret {
        /// The site.
        site: String,
        /// The Secret.
        secret: String,
    },
    /// No storage preference is set anywhere.
    #[error(
        "site {site} has no storage preference: set {PREFERENCE_ENV} on the quay component or \
         DISTRIBUTED_STORAGE_PREFERENCE in config.yaml"
    )]
    NoPreference {
        /// The site.
        site: String,
    },
    /// A location is not in `DISTRIBUTED_STORAGE_CONFIG`, or is not S3-compatible.
    #[error(
        "storage location {location} is not an S3 location of DISTRIBUTED_STORAGE_CONFIG{detail}"
    )]
    Location {
        /// The location.
        location: String,
        /// What is wrong with it, if it exists.
        detail: String,
    },
    /// The site serves no quay pod, so nothing can be pushed through it.
    #[error("site {site} has no ready quay pods: a push through it cannot happen")]
    NotServing {
        /// The site.
        site: String,
    },
    /// The replication queue or the placements in the shared database could not be read or
    /// written.
    #[error("shared database: {0}")]
    Queue(String),
    /// An S3 call failed.
    #[error("location {location}")]
    S3 {
        /// The location.
        location: String,
        /// The call and why it failed.
        #[source]
        source: Box<S3Error>,
    },
}

/// `sha256:<hex>` of `bytes`: the blob's digest.
#[must_use]
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Quay's object key for `digest` (`sha256:<hex>` or bare hex) under `prefix` (the
/// location's `storage_path` without its leading `/`): `<prefix>/sha256/<hex[0:2]>/<hex>`.
#[must_use]
pub fn blob_key(prefix: &str, digest: &str) -> String {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    let shard = hex.get(..2).unwrap_or(hex);
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        format!("sha256/{shard}/{hex}")
    } else {
        format!("{prefix}/sha256/{shard}/{hex}")
    }
}

/// One storage location's bucket, used with its own keys.
#[derive(Debug, Clone)]
pub struct Location {
    /// The location id (`us_east`).
    pub name: String,
    /// Its endpoint, bucket, keys and prefix.
    pub target: S3Target,
}

impl Location {
    fn client(&self) -> Result<S3Client, Error> {
        S3Client::new(&self.target.endpoint, REGION, &self.target.keys)
            .map_err(|e| self.s3_error(e))
    }

    fn s3_error(&self, source: S3Error) -> Error {
        Error::S3 {
            location: self.name.clone(),
            source: Box::new(source),
        }
    }

    /// The key of `digest` in this location.
    #[must_use]
    pub fn key(&self, digest: &str) -> String {
        blob_key(&self.target.prefix, digest)
    }

    /// Writes `bytes` as the blob `digest`.
    ///
    /// # Errors
    /// [`Error::S3`].
    pub async fn put(&self, digest: &str, bytes: Bytes) -> Result<(), Error> {
        self.client()?
            .put_object(&self.target.bucket, &self.key(digest), bytes)
            .await
            .map_err(|e| self.s3_error(e))
    }

    /// The blob `digest` (GetObject), `None` when the bucket does not hold it.
    ///
    /// # Errors
    /// [`Error::S3`] for anything but a missing key.
    pub async fn get(&self, digest: &str) -> Result<Option<Bytes>, Error> {
        self.client()?
            .get_object(&self.target.bucket, &self.key(digest))
            .await
            .map_err(|e| self.s3_error(e))
    }

    /// Whether the bucket holds the blob `digest` (HeadObject).
    ///
    /// # Errors
    /// [`Error::S3`] for anything but a missing key.
    pub async fn contains(&self, digest: &str) -> Result<bool, Error> {
        self.client()?
            .head_object(&self.target.bucket, &self.key(digest))
            .await
            .map_err(|e| self.s3_error(e))
    }

    /// The digests of every blob in the bucket under Quay's layout.
    ///
    /// # Errors
    /// [`Error::S3`].
    pub async fn digests(&self) -> Result<BTreeSet<String>, Error> {
        let prefix = match self.target.prefix.trim_matches('/') {
            "" => "sha256/".to_owned(),
            p => format!("{p}/sha256/"),
        };
        let client = self.client()?;
        let mut digests = BTreeSet::new();
        let mut token: Option<String> = None;
        loop {
            let page = client
                .list_objects(&self.target.bucket, &prefix, token.as_deref())
                .await
                .map_err(|e| self.s3_error(e))?;
            for key in &page.keys {
                let Some((shard, hex)) = key
                    .strip_prefix(&prefix)
                    .and_then(|rest| rest.split_once('/'))
                else {
                    continue;
                };
                if hex.len() == 64
                    && hex.starts_with(shard)
                    && hex.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    digests.insert(format!("sha256:{hex}"));
                }
            }
            match page.next {
                Some(next) => token = Some(next),
                None => return Ok(digests),
            }
        }
    }
}

/// What one site's quay pods know about storage; see the module doc.
#[derive(Debug, Clone)]
pub struct SiteStorage {
    /// The site.
    pub site: String,
    /// The config bundle.
    pub bundle: Bundle,
    /// The first preferred location, if any.
    pub preference: Option<String>,
    /// Ready quay-app pods on the site.
    pub ready_quay_pods: usize,
}

impl SiteStorage {
    /// Reads the first `QuayRegistry` of `site` (through `client`), its bundle Secret and its
    /// ready quay-app pods.
    ///
    /// # Errors
    /// [`Error::Cluster`], [`Error::NoRegistry`], [`Error::NoBundleSecret`], [`Error::Bundle`].
    pub async fn read(site: &str, client: &kube::Client) -> Result<Self, Error> {
        let cluster = |what: &str| {
            let (site, what) = (site.to_owned(), what.to_owned());
            move |source| Error::Cluster { site, what, source }
        };
        let registries: Api<DynamicObject> =
            Api::all_with(client.clone(), &quay_registry_resource());
        let registry = registries
            .list(&ListParams::default())
            .await
            .map_err(cluster("QuayRegistries"))?
            .items
            .into_iter()
            .next()
            .ok_or_else(|| Error::NoRegistry {
                site: site.to_owned(),
            })?;
        let namespace = registry.metadata.namespace.clone().unwrap_or_default();
        let secret_name = registry.data["spec"]["configBundleSecret"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let secret = Api::<Secret>::namespaced(client.clone(), &namespace)
            .get_opt(&secret_name)
            .await
            .map_err(cluster(&format!("secret {namespace}/{secret_name}")))?
            .ok_or_else(|| Error::NoBundleSecret {
                site: site.to_owned(),
                secret: secret_name.clone(),
            })?;
        let data = secret
            .data
            .into_iter()
            .flatten()
            .map(|(k, v)| (k, v.0))
            .collect();
        let bundle = Bundle::parse(&secret_name, data).map_err(|source| Error::Bundle {
            site: site.to_owned(),
            source,
        })?;
        let preference = quay_preference_env(&registry.data)
            .or_else(|| bundle.config_preference().map(str::to_owned));
        let pods = Api::<Pod>::namespaced(client.clone(), &namespace)
            .list(&ListParams::default().labels(&format!("{COMPONENT_LABEL}=quay-app")))
            .await
            .map_err(cluster("quay pods"))?;
        let ready_quay_pods = pods.items.iter().filter(|p| is_pod_ready(p)).count();
        Ok(Self {
            site: site.to_owned(),
            bundle,
            preference,
            ready_quay_pods,
        })
    }

    /// The S3 location `name` of `DISTRIBUTED_STORAGE_CONFIG`.
    ///
    /// # Errors
    /// [`Error::Location`] when it is missing, not S3-compatible, or incomplete.
    pub fn location(&self, name: &str) -> Result<Location, Error> {
        let missing = |detail: String| Error::Location {
            location: name.to_owned(),
            detail,
        };
        let entry = self
            .bundle
            .storage_locations()
            .into_iter()
            .find(|l| l.name == name)
            .ok_or_else(|| missing(String::new()))?;
        match entry.s3_target() {
            Some(Ok(target)) => Ok(Location {
                name: name.to_owned(),
                target,
            }),
            Some(Err(message)) => Err(missing(format!(": {message}"))),
            None => Err(missing(format!(": its driver is {}", entry.driver))),
        }
    }

    /// Every location of `DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS`, in the bundle's order: where
    /// Quay keeps a copy of every blob, so where waiting and replication look.
    ///
    /// # Errors
    /// As [`SiteStorage::location`], for the first default location that is not usable.
    pub fn default_locations(&self) -> Result<Vec<Location>, Error> {
        self.bundle
            .default_locations()
            .iter()
            .map(|name| self.location(name))
            .collect()
    }

    /// The location a push through this site writes to.
    ///
    /// # Errors
    /// [`Error::NoPreference`] or as [`SiteStorage::location`].
    pub fn preferred(&self) -> Result<Location, Error> {
        let name = self
            .preference
            .as_deref()
            .ok_or_else(|| Error::NoPreference {
                site: self.site.clone(),
            })?;
        self.location(name)
    }
}

/// The first entry of the quay component's preference env override.
fn quay_preference_env(registry: &Value) -> Option<String> {
    registry["spec"]["components"]
        .as_array()?
        .iter()
        .find(|c| c["kind"] == "quay")?["overrides"]["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == PREFERENCE_ENV)?["value"]
        .as_str()?
        .split_whitespace()
        .next()
        .map(str::to_owned)
}

/// Where [`push`] wrote a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedBlob {
    /// `sha256:<hex>`.
    pub digest: String,
    /// The location it was written to.
    pub location: String,
    /// That location's bucket.
    pub bucket: String,
    /// Its object key.
    pub key: String,
    /// Its size in bytes.
    pub size: usize,
}

/// Pushes `bytes` through the site `storage` describes: into its preferred location's bucket
/// at Quay's key layout, with its placement recorded in the shared database (when the config
/// names one).
///
/// # Errors
/// [`Error::NotServing`], [`Error::NoPreference`], [`Error::Location`], [`Error::S3`] or
/// [`Error::Queue`] (the database).
pub async fn push(storage: &SiteStorage, bytes: Bytes) -> Result<PushedBlob, Error> {
    if storage.ready_quay_pods == 0 {
        return Err(Error::NotServing {
            site: storage.site.clone(),
        });
    }
    let location = storage.preferred()?;
    let digest = digest_of(&bytes);
    let size = bytes.len();
    location.put(&digest, bytes).await?;
    if let Some(db_uri) = storage.bundle.db_uri() {
        let client = queue::connect(db_uri).await.map_err(Error::Queue)?;
        placements::record(&client, &[(digest.clone(), location.name.clone())])
            .await
            .map_err(Error::Queue)?;
    }
    Ok(PushedBlob {
        key: location.key(&digest),
        digest,
        location: location.name,
        bucket: location.target.bucket,
        size,
    })
}

/// One default location and whether it holds a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The location.
    pub location: String,
    /// Its bucket.
    pub bucket: String,
    /// Whether the bucket holds the blob (HeadObject with the location's own keys).
    pub present: bool,
}

/// Polls every `DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS` bucket (each with its own keys) every
/// 100 ms until all hold `digest` or `timeout` passes, and returns where it is.
///
/// # Errors
/// [`Error::Location`] or [`Error::S3`].
pub async fn wait_replicated(
    storage: &SiteStorage,
    digest: &str,
    timeout: std::time::Duration,
) -> Result<Vec<Placement>, Error> {
    let locations = storage.default_locations()?;
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let mut placements = Vec::new();
        for location in &locations {
            placements.push(Placement {
                location: location.name.clone(),
                bucket: location.target.bucket.clone(),
                present: location.contains(digest).await?,
            });
        }
        if placements.iter().all(|p| p.present) || tokio::time::Instant::now() >= deadline {
            return Ok(placements);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_keys_follow_quays_layout_under_the_storage_path() {
        let hex = "ab".repeat(32);
        assert_eq!(
            blob_key("datastorage/registry", &format!("sha256:{hex}")),
            format!("datastorage/registry/sha256/ab/{hex}")
        );
        assert_eq!(blob_key("/quay/", &hex), format!("quay/sha256/ab/{hex}"));
        assert_eq!(blob_key("", &hex), format!("sha256/ab/{hex}"));
    }

    #[test]
    fn digest_is_the_sha256_of_the_content() {
        assert_eq!(
            digest_of(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn reads_the_first_preference_of_the_quay_component_env() {
        let registry = serde_json::json!({"spec": {"components": [
            {"kind": "mirror", "overrides": {"env": [{"name": PREFERENCE_ENV, "value": "x"}]}},
            {"kind": "quay", "overrides": {"env": [{"name": PREFERENCE_ENV, "value": "eu_west us_east"}]}}
        ]}});
        assert_eq!(quay_preference_env(&registry).as_deref(), Some("eu_west"));
    }
}
