//! The `storage` and `default_locations` rules of [`validate`](super::validate()): one block per
//! site bucket, each labelled with its [`LocationId`], and the locations every site prefers
//! first. The rules and their reasons are listed in `validate.rs`; each driver's own attributes
//! are checked in `validate_driver.rs`.

use std::collections::{BTreeMap, BTreeSet};

use super::input::StorageInput;
use super::location::LocationId;
use super::model::Storage;
use super::validate::{DEFAULT_STORAGE_PATH, Validator};
use crate::georep::path::FieldPath;

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
        self.shared_buckets(blocks);
        (self.error_count() == errors_before).then_some(storage)
    }

    /// One bucket named by two locations: each site would prefer the same bucket, so blobs
    /// are never replicated anywhere else and deleting one location's data deletes the
    /// other's. The same bucket name on another storage server is another bucket.
    fn shared_buckets(&mut self, blocks: &BTreeMap<String, StorageInput>) {
        let mut first: BTreeMap<(String, String), &str> = BTreeMap::new();
        for (label, block) in blocks {
            let Some(bucket) = block
                .bucket
                .as_deref()
                .map(str::trim)
                .filter(|b| !b.is_empty())
            else {
                continue;
            };
            let server = storage_service(block);
            let key = (server, bucket.to_owned());
            match first.get(&key) {
                Some(other) => self.error(
                    FieldPath::attr("storage").key(label).field("bucket"),
                    "Bucket Used By Two Locations",
                    format!(
                        "storage \"{label}\" and storage \"{other}\" both use bucket \
                         `{bucket}` on the same server; give each location its own bucket, so \
                         each site keeps its own copy of every blob"
                    ),
                ),
                None => {
                    first.insert(key, label);
                }
            }
        }
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
        let bucket = self.bucket(&path, label, block);
        let storage_path = self.storage_path(&path, block.storage_path.as_deref());
        let storage = Storage {
            driver: driver?,
            bucket: bucket?,
            path: storage_path?,
        };
        Some((id?, storage))
    }

    /// The bucket name: present and valid by the naming rules of the block's storage service.
    fn bucket(&mut self, path: &FieldPath, label: &str, block: &StorageInput) -> Option<String> {
        let rules = BucketRules::of(block.driver.as_deref());
        match block.bucket.as_deref().map(str::trim) {
            Some(bucket) if !bucket.is_empty() => match rules.problem(bucket) {
                None => Some(bucket.to_owned()),
                Some(problem) => {
                    self.error(
                        path.clone().field("bucket"),
                        "Invalid Bucket Name",
                        format!(
                            "bucket `{bucket}` {problem}; {} (for example quay-{label_dashed})",
                            rules.rule(),
                            label_dashed = label.replace('_', "-")
                        ),
                    );
                    None
                }
            },
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
        }
    }

    /// The path under the bucket: absolute, not the root, never climbing out with `..`.
    fn storage_path(&mut self, path: &FieldPath, storage_path: Option<&str>) -> Option<String> {
        match storage_path {
            None => Some(DEFAULT_STORAGE_PATH.to_owned()),
            Some(p) if p.trim_end_matches('/').is_empty() || p.split('/').any(|s| s == "..") => {
                self.error(
                    path.clone().field("storage_path"),
                    "Invalid Storage Path",
                    format!(
                        "storage_path `{p}` is the bucket's root or climbs out with `..`: Quay \
                     would write its blobs among everything else in the bucket; use a \
                     directory of its own, for example {DEFAULT_STORAGE_PATH}"
                    ),
                );
                None
            }
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

/// The storage service a block's bucket lives on, for telling two buckets of one name apart:
/// the Azure account, Google Cloud Storage, the S3 host, or Amazon S3.
fn storage_service(block: &StorageInput) -> String {
    match block.driver.as_deref() {
        Some("azure") => format!(
            "azure:{}",
            block.azure_account_name.as_deref().unwrap_or_default()
        ),
        Some("gcs") => "gcs".to_owned(),
        _ => block
            .hostname
            .as_deref()
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map_or_else(|| "aws".to_owned(), str::to_ascii_lowercase),
    }
}

/// Whose naming rules a bucket follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BucketRules {
    /// S3's (Amazon, and the S3-compatible servers).
    S3,
    /// Google Cloud Storage's.
    Gcs,
    /// An Azure Blob Storage container's.
    AzureContainer,
}

impl BucketRules {
    fn of(driver: Option<&str>) -> Self {
        match driver {
            Some("gcs") => Self::Gcs,
            Some("azure") => Self::AzureContainer,
            _ => Self::S3,
        }
    }

    fn problem(self, name: &str) -> Option<&'static str> {
        match self {
            Self::S3 => bucket_name_problem(name),
            Self::Gcs => gcs_bucket_problem(name),
            Self::AzureContainer => azure_container_problem(name),
        }
    }

    fn rule(self) -> &'static str {
        match self {
            Self::S3 => {
                "an S3 bucket name has 3 to 63 lowercase letters, digits, dots or dashes, \
                 starts and ends with a letter or digit, and is not an IP address"
            }
            Self::Gcs => {
                "a Google Cloud Storage bucket name here has 3 to 63 lowercase letters, digits, \
                 dashes or underscores (dotted names need domain verification and are refused), \
                 starts and ends with a letter or digit, and does not start with goog or \
                 contain google"
            }
            Self::AzureContainer => {
                "an Azure container name has 3 to 63 lowercase letters, digits or single \
                 dashes, and starts and ends with a letter or digit"
            }
        }
    }
}

/// What breaks Google Cloud Storage's bucket naming rules ("Bucket names", for buckets without
/// dots; a dotted name needs domain verification, so it is refused here) in `name`, or `None`.
fn gcs_bucket_problem(name: &str) -> Option<&'static str> {
    if !(3..=63).contains(&name.len()) {
        return Some("is not 3 to 63 characters long");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        return Some("has characters other than lowercase letters, digits, dashes and underscores");
    }
    let edge = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !edge(name.bytes().next()) || !edge(name.bytes().last()) {
        return Some("does not start and end with a letter or digit");
    }
    if name.starts_with("goog") || name.contains("google") {
        return Some("starts with goog or contains google, which Google reserves");
    }
    None
}

/// What breaks Azure's container naming rules in `name`, or `None`.
fn azure_container_problem(name: &str) -> Option<&'static str> {
    if !(3..=63).contains(&name.len()) {
        return Some("is not 3 to 63 characters long");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Some("has characters other than lowercase letters, digits and dashes");
    }
    let edge = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !edge(name.bytes().next()) || !edge(name.bytes().last()) || name.contains("--") {
        return Some("does not start and end with a letter or digit, or has two dashes in a row");
    }
    None
}

/// What breaks the S3 bucket naming rules in `name` (AWS, "Bucket naming rules"; Ceph RGW
/// and MinIO follow them), or `None`.
#[must_use]
pub(crate) fn bucket_name_problem(name: &str) -> Option<&'static str> {
    let len = name.len();
    if !(3..=63).contains(&len) {
        return Some("is not 3 to 63 characters long");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return Some("has characters other than lowercase letters, digits, dots and dashes");
    }
    let edge = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !edge(name.bytes().next()) || !edge(name.bytes().last()) {
        return Some("does not start and end with a letter or digit");
    }
    if name.contains("..") || name.contains(".-") || name.contains("-.") {
        return Some("has a dot next to a dot or dash");
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return Some("is an IP address");
    }
    if name.starts_with("xn--") || name.ends_with("-s3alias") || name.ends_with("--ol-s3") {
        return Some("uses a prefix or suffix S3 reserves");
    }
    None
}

#[cfg(test)]
mod bucket_tests {
    use super::{azure_container_problem, bucket_name_problem, gcs_bucket_problem};

    #[test]
    fn gcs_and_azure_names_follow_their_own_rules() {
        for good in ["quay_us-east", "abc", "quay1"] {
            assert_eq!(gcs_bucket_problem(good), None, "{good}");
        }
        for bad in [
            "ab",
            "Quay",
            "quay.eu",
            "_quay",
            "goog-quay",
            "my-google-bucket",
        ] {
            assert!(gcs_bucket_problem(bad).is_some(), "{bad}");
        }
        for good in ["quay-us-east", "abc", "q1"] {
            assert_eq!(
                azure_container_problem(good).is_none(),
                good.len() >= 3,
                "{good}"
            );
        }
        for bad in ["quay--eu", "-quay", "quay-", "quay_eu", "quay.eu", "Quay"] {
            assert!(azure_container_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn bucket_names_follow_the_s3_rules() {
        for good in ["quay-us-east", "abc", "a.b-c", "quay1"] {
            assert_eq!(bucket_name_problem(good), None, "{good}");
        }
        for bad in [
            "ab",
            "Quay",
            "quay_us",
            "-quay",
            "quay.",
            "a..b",
            "192.168.1.1",
            "xn--quay",
            &"a".repeat(64),
        ] {
            assert!(bucket_name_problem(bad).is_some(), "{bad}");
        }
    }
}
