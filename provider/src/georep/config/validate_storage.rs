//! The `storage` and `default_locations` rules of [`validate`](super::validate()): one block per
//! site bucket, each labelled with its [`LocationId`], and the locations every site prefers
//! first. The rules and their reasons are listed in `validate.rs`; they live in their own file
//! because the storage drivers have the most of them.

use std::collections::{BTreeMap, BTreeSet};

use super::hostname::Hostname;
use super::input::StorageInput;
use super::location::LocationId;
use super::model::{Storage, StorageDriver};
use super::validate::{DEFAULT_STORAGE_PATH, Validator};
use crate::georep::path::FieldPath;
use crate::georep::secret::Secret;

impl Validator {
    pub(super) fn storage(
        &mut self,
        blocks: &BTreeMap<String, StorageInput>,
    ) -> Option<BTreeMap<LocationId, Storage>> {
        let path = FieldPath::attr("storage");
        match blocks.len() {
            0 => {
                self.error(
                    path,
                    "Missing Storage",
                    "at least one storage block is required: add one storage \"<location>\" \
                     block per site, each with that site's bucket",
                );
                return None;
            }
            1 => {
                let only = blocks.keys().next().map_or("", String::as_str);
                self.warning(
                    path,
                    "Single Storage Location",
                    format!(
                        "only storage \"{only}\" is configured, so every blob lives in one place \
                         and the deployment is not geo-replicated; add a storage block for each \
                         other site"
                    ),
                );
            }
            _ => {}
        }
        let errors_before = self.error_count();
        let mut storage = BTreeMap::new();
        for (label, block) in blocks {
            if let Some((id, s)) = self.storage_block(label, block) {
                storage.insert(id, s);
            }
        }
        (self.error_count() == errors_before).then_some(storage)
    }

    fn storage_block(
        &mut self,
        label: &str,
        block: &StorageInput,
    ) -> Option<(LocationId, Storage)> {
        let path = FieldPath::attr("storage").key(label);
        let id = match LocationId::parse(label) {
            Ok(id) => Some(id),
            Err(err) => {
                self.error(
                    path.clone(),
                    "Invalid Location Id",
                    format!(
                        "{err}; name the storage block with 1 to 64 lowercase letters, digits or \
                         underscores, starting with a letter (for example us_east)"
                    ),
                );
                None
            }
        };
        let driver = self.storage_driver(&path, label, block);
        let bucket = match block.bucket.as_deref().map(str::trim) {
            Some(bucket) if !bucket.is_empty() => Some(bucket.to_owned()),
            _ => {
                self.error(
                    path.clone().field("bucket"),
                    "Empty Bucket Name",
                    format!(
                        "storage \"{label}\" has no bucket; set bucket to this site's bucket name"
                    ),
                );
                None
            }
        };
        let access_key = self.storage_key(
            &path,
            label,
            "access_key",
            "Access Key",
            block.access_key.as_ref(),
        );
        let secret_key = self.storage_key(
            &path,
            label,
            "secret_key",
            "Secret Key",
            block.secret_key.as_ref(),
        );
        let port = match block.port {
            None => Some(None),
            Some(port) => self
                .port(
                    path.clone().field("port"),
                    "port",
                    "Invalid Storage Port",
                    port,
                )
                .map(Some),
        };
        let storage_path = match block.storage_path.as_deref() {
            None => Some(DEFAULT_STORAGE_PATH.to_owned()),
            Some(p) if p.starts_with('/') => Some(p.to_owned()),
            Some(p) => {
                self.error(
                    path.clone().field("storage_path"),
                    "Relative Storage Path",
                    format!(
                        "storage_path `{p}` is not absolute; start it with `/`, for example \
                         {DEFAULT_STORAGE_PATH}"
                    ),
                );
                None
            }
        };
        let storage = Storage {
            driver: driver?,
            port: port?,
            bucket: bucket?,
            access_key: access_key?,
            secret_key: secret_key?,
            region: block.region.clone().filter(|r| !r.trim().is_empty()),
            path: storage_path?,
        };
        Some((id?, storage))
    }

    fn storage_driver(
        &mut self,
        path: &FieldPath,
        label: &str,
        block: &StorageInput,
    ) -> Option<StorageDriver> {
        let driver_path = path.clone().field("driver");
        let hostname = match block.hostname.as_deref() {
            None | Some("") => Ok(None),
            Some(host) => match Hostname::parse(host) {
                Ok(host) => Ok(Some(host)),
                Err(err) => {
                    let hint = if host.contains(':') && !host.contains("://") {
                        " (the port goes in the port attribute)"
                    } else {
                        ""
                    };
                    self.error(
                        path.clone().field("hostname"),
                        "Invalid Storage Hostname",
                        format!("hostname {err}; {}{hint}", err.fix()),
                    );
                    Err(())
                }
            },
        };
        let is_secure = block.is_secure.unwrap_or(true);
        match block.driver.as_deref() {
            Some("radosgw") => match hostname {
                Ok(Some(hostname)) => Some(StorageDriver::RadosGw {
                    hostname,
                    is_secure,
                }),
                Ok(None) => {
                    self.error(
                        path.clone().field("hostname"),
                        "Missing Storage Hostname",
                        format!(
                            "storage \"{label}\" uses driver radosgw, which needs the storage \
                             server's host name; set hostname (and port)"
                        ),
                    );
                    None
                }
                Err(()) => None,
            },
            Some("s3") => {
                if !is_secure {
                    self.error(
                        path.clone().field("is_secure"),
                        "Plain HTTP Not Supported By S3 Driver",
                        format!(
                            "storage \"{label}\" sets is_secure = false, but Quay's S3 driver \
                             always uses HTTPS; use driver = \"radosgw\" for a plain-HTTP server"
                        ),
                    );
                    return None;
                }
                hostname.ok().map(|hostname| StorageDriver::S3 { hostname })
            }
            Some(local) if local.eq_ignore_ascii_case("local") || local == "LocalStorage" => {
                self.error(
                    driver_path,
                    "Local Storage Cannot Replicate",
                    format!(
                        "storage \"{label}\" uses driver `{local}`: blobs on one site's disk \
                         cannot be read or replicated by the other sites, and Quay refuses \
                         storage replication with local storage; use radosgw (MinIO, Garage, \
                         Ceph) or s3 with a bucket every site can reach"
                    ),
                );
                None
            }
            Some(other) => {
                self.error(
                    driver_path,
                    "Unsupported Storage Driver",
                    format!("storage \"{label}\" uses driver `{other}`; use `radosgw` or `s3`"),
                );
                None
            }
            None => {
                self.error(
                    driver_path,
                    "Missing Storage Driver",
                    format!("storage \"{label}\" has no driver; set driver to `radosgw` or `s3`"),
                );
                None
            }
        }
    }

    fn storage_key(
        &mut self,
        path: &FieldPath,
        label: &str,
        attr: &'static str,
        title: &str,
        value: Option<&Secret>,
    ) -> Option<Secret> {
        match value {
            Some(key) if !key.is_empty() => Some(key.clone()),
            _ => {
                self.error(
                    path.clone().field(attr),
                    &format!("Missing Storage {title}"),
                    format!(
                        "storage \"{label}\" has no {attr}; every site must reach every bucket, \
                         so set {attr} to credentials for this bucket"
                    ),
                );
                None
            }
        }
    }

    pub(super) fn default_locations(
        &mut self,
        value: Option<&[String]>,
        blocks: &BTreeMap<String, StorageInput>,
    ) -> Option<Vec<LocationId>> {
        let path = FieldPath::attr("default_locations");
        let Some(list) = value else {
            // Every location, sorted; invalid labels were reported by `storage`.
            return blocks.keys().map(|k| LocationId::parse(k).ok()).collect();
        };
        if list.is_empty() {
            self.error(
                path,
                "Empty Default Locations",
                "default_locations is empty, so blobs would be replicated nowhere; list at \
                 least one location, or remove the attribute to replicate to every location",
            );
            return None;
        }
        let known = blocks
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        let errors_before = self.error_count();
        let mut seen = BTreeSet::new();
        let mut ids = Vec::with_capacity(list.len());
        for (i, name) in list.iter().enumerate() {
            if !blocks.contains_key(name) {
                self.error(
                    path.clone().index(i),
                    "Unknown Storage Location",
                    format!(
                        "default_locations names `{name}`, which has no storage block; known \
                         locations: {known}. Fix the name or add storage \"{name}\""
                    ),
                );
            } else if !seen.insert(name.as_str()) {
                self.error(
                    path.clone().index(i),
                    "Duplicate Default Location",
                    format!("default_locations lists `{name}` more than once; remove the repeat"),
                );
            } else if let Ok(id) = LocationId::parse(name) {
                ids.push(id);
            }
        }
        (self.error_count() == errors_before && ids.len() == list.len()).then_some(ids)
    }
}
