//! [`StorageDriver`]: the object storage of one location, one variant per Quay storage driver
//! this provider renders, each holding exactly the settings that driver reads; and
//! [`DRIVERS`], the table of which storage block attributes each driver takes.
//!
//! Each variant follows the driver's constructor in quay/quay `storage/cloud.py` and
//! `storage/azurestorage.py`, and the required fields of the config-tool's
//! `config-tool/pkg/lib/shared/storage_validators.go` (which every Quay pod runs at start-up):
//! - `RadosGWStorage` (`radosgw`): host, TLS flag, port, a key pair; config-tool requires host,
//!   bucket and both keys.
//! - `S3Storage` (`s3`): bucket, optional key pair (none: boto3's default credential chain, so
//!   the pod's web identity, as with IRSA on EKS), `s3_region` or `host`/`port`. With
//!   `s3_region` set Quay builds the endpoint `https://s3.<region>.amazonaws.com` and ignores
//!   `host`, so the two never render together.
//! - `STSS3Storage` (`sts_s3`): bucket, `sts_role_arn`, and the STS user's key pair, or none:
//!   then boto3's STS client uses the pod's web identity token.
//! - `CloudFrontedS3Storage` (`cloudfront_s3`): an `S3Storage` with a required `s3_region` and
//!   key pair, plus the distribution's domain, the key id and `cloudfront_privatekey_filename`,
//!   which Quay opens relative to the config volume (`util/config/provider/basefileprovider.py`)
//!   and signs with RSA-SHA1 (`_get_rsa_signer`): the key travels in the bundle as
//!   [`cloudfront_key_file`].
//! - `AzureStorage` (`azure`): container, account name, account key (the client's only
//!   credential; Quay passes `sas_token` to nothing that signs, and config-tool builds a
//!   shared-key credential, which needs the key), optional `endpoint_url`.
//! - `GoogleCloudStorage` (`gcs`): bucket and an HMAC key pair; the endpoint is fixed
//!   (`https://storage.googleapis.com`).
//!
//! Pure: no I/O.

use std::collections::BTreeMap;

use super::canonical::Node;
use super::hostname::Hostname;
use crate::georep::secret::Secret;

/// An access key id and its secret, as S3-style drivers take them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPair {
    pub(super) access_key: Secret,
    pub(super) secret_key: Secret,
}

/// A storage driver with the settings that driver reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageDriver {
    /// `RadosGWStorage`: MinIO, Garage, Ceph and other S3-compatible servers.
    RadosGw {
        /// The storage server's host.
        hostname: Hostname,
        /// The server's port, when not the scheme's.
        port: Option<u16>,
        /// Whether to use TLS.
        is_secure: bool,
        /// `region_name`, when the server needs one.
        region: Option<String>,
        /// The key pair.
        keys: KeyPair,
    },
    /// `S3Storage`: Amazon S3 (always HTTPS), or an S3 endpoint at a custom host.
    S3 {
        /// Where requests go.
        endpoint: S3Endpoint,
        /// The key pair; `None`: the pod's default AWS credentials (web identity, instance role).
        keys: Option<KeyPair>,
    },
    /// `STSS3Storage`: Amazon S3 with credentials from an assumed IAM role.
    StsS3 {
        /// The role's ARN.
        role_arn: String,
        /// `s3_region`, when given.
        region: Option<String>,
        /// The STS user's key pair; `None`: the pod's web identity token.
        user_keys: Option<KeyPair>,
    },
    /// `CloudFrontedS3Storage`: Amazon S3, with downloads from outside AWS redirected to a
    /// CloudFront distribution through signed URLs.
    CloudFrontS3 {
        /// `s3_region` (required by the driver).
        region: String,
        /// The key pair.
        keys: KeyPair,
        /// The distribution's domain name.
        distribution_domain: Hostname,
        /// The CloudFront public key's id.
        key_id: String,
        /// The RSA private key (PEM) that signs download URLs.
        private_key: Secret,
    },
    /// `AzureStorage`: an Azure Blob Storage container.
    Azure {
        /// The storage account.
        account_name: String,
        /// The account's base64 shared key.
        account_key: Secret,
        /// The blob service URL; `https://<account>.blob.core.windows.net` when absent.
        endpoint_url: Option<String>,
    },
    /// `GoogleCloudStorage`: a Google Cloud Storage bucket through its XML API.
    Gcs {
        /// The HMAC key pair.
        keys: KeyPair,
    },
}

/// Where an `S3Storage` location's requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum S3Endpoint {
    /// `s3.amazonaws.com`.
    Aws,
    /// `https://s3.<region>.amazonaws.com` (`s3_region`).
    Region(String),
    /// A custom host (`host`, `port`), always over HTTPS.
    Host {
        /// The host.
        hostname: Hostname,
        /// The port, when not 443.
        port: Option<u16>,
    },
}

/// What one driver takes from a storage block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DriverSpec {
    /// Which driver: what validation builds from the block.
    pub kind: DriverKind,
    /// The `driver` value.
    pub name: &'static str,
    /// Quay's class name in `DISTRIBUTED_STORAGE_CONFIG`.
    pub quay_name: &'static str,
    /// What it is for, for messages and docs.
    pub summary: &'static str,
    /// Attributes it requires besides `driver` and `bucket`.
    pub required: &'static [&'static str],
    /// Attributes it may take besides those and `storage_path`.
    pub optional: &'static [&'static str],
}

/// The drivers, one per [`StorageDriver`] variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriverKind {
    /// [`StorageDriver::RadosGw`].
    RadosGw,
    /// [`StorageDriver::S3`].
    S3,
    /// [`StorageDriver::StsS3`].
    StsS3,
    /// [`StorageDriver::CloudFrontS3`].
    CloudFrontS3,
    /// [`StorageDriver::Azure`].
    Azure,
    /// [`StorageDriver::Gcs`].
    Gcs,
}

/// Every driver a storage block can name, in the order the docs list them.
pub const DRIVERS: &[DriverSpec] = &[RADOSGW, S3, STS_S3, CLOUDFRONT_S3, AZURE, GCS];

/// `driver = "radosgw"`.
const RADOSGW: DriverSpec = DriverSpec {
    kind: DriverKind::RadosGw,
    name: "radosgw",
    quay_name: "RadosGWStorage",
    summary: "MinIO, Garage, Ceph and other S3-compatible servers",
    required: &["hostname", "access_key", "secret_key"],
    optional: &["port", "is_secure", "region"],
};

/// `driver = "s3"`.
const S3: DriverSpec = DriverSpec {
    kind: DriverKind::S3,
    name: "s3",
    quay_name: "S3Storage",
    summary: "Amazon S3 or an S3 endpoint over HTTPS; without keys, the pods' own AWS \
              credentials, such as a web identity",
    required: &[],
    optional: &[
        "hostname",
        "port",
        "is_secure",
        "region",
        "access_key",
        "secret_key",
    ],
};

/// `driver = "sts_s3"`.
const STS_S3: DriverSpec = DriverSpec {
    kind: DriverKind::StsS3,
    name: "sts_s3",
    quay_name: "STSS3Storage",
    summary: "Amazon S3 through an assumed IAM role; without keys, the pods' web identity",
    required: &["sts_role_arn"],
    optional: &["region", "access_key", "secret_key"],
};

/// `driver = "cloudfront_s3"`.
const CLOUDFRONT_S3: DriverSpec = DriverSpec {
    kind: DriverKind::CloudFrontS3,
    name: "cloudfront_s3",
    quay_name: "CloudFrontedS3Storage",
    summary: "Amazon S3 with downloads served by a CloudFront distribution",
    required: &[
        "region",
        "access_key",
        "secret_key",
        "cloudfront_distribution_domain",
        "cloudfront_key_id",
        "cloudfront_private_key",
    ],
    optional: &[],
};

/// `driver = "azure"`.
const AZURE: DriverSpec = DriverSpec {
    kind: DriverKind::Azure,
    name: "azure",
    quay_name: "AzureStorage",
    summary: "an Azure Blob Storage container, named by bucket",
    required: &["azure_account_name", "azure_account_key"],
    optional: &["endpoint_url"],
};

/// `driver = "gcs"`.
const GCS: DriverSpec = DriverSpec {
    kind: DriverKind::Gcs,
    name: "gcs",
    quay_name: "GoogleCloudStorage",
    summary: "a Google Cloud Storage bucket with an HMAC key pair",
    required: &["access_key", "secret_key"],
    optional: &[],
};

/// The table entry of driver `name`.
pub fn driver_spec(name: &str) -> Option<&'static DriverSpec> {
    DRIVERS.iter().find(|d| d.name == name)
}

/// The `driver` values, quoted and joined for messages: `` `radosgw`, `s3`, ... ``.
pub fn driver_names() -> String {
    DRIVERS
        .iter()
        .map(|d| format!("`{}`", d.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The drivers that take `attribute`, for messages: `` `radosgw` (required), `s3` ``.
pub fn drivers_taking(attribute: &str) -> String {
    DRIVERS
        .iter()
        .filter_map(|d| {
            if d.required.contains(&attribute) {
                Some(format!("`{}` (required)", d.name))
            } else if d.optional.contains(&attribute) {
                Some(format!("`{}`", d.name))
            } else {
                None
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The bundle key (and the file name under the config volume) of location `location`'s
/// CloudFront signing key.
pub fn cloudfront_key_file(location: &str) -> String {
    format!("{CLOUDFRONT_KEY_PREFIX}{location}.pem")
}

/// The prefix of a CloudFront signing key's bundle key.
pub const CLOUDFRONT_KEY_PREFIX: &str = "cloudfront_";

impl StorageDriver {
    /// The driver's table entry.
    pub fn spec(&self) -> &'static DriverSpec {
        match self {
            StorageDriver::RadosGw { .. } => &RADOSGW,
            StorageDriver::S3 { .. } => &S3,
            StorageDriver::StsS3 { .. } => &STS_S3,
            StorageDriver::CloudFrontS3 { .. } => &CLOUDFRONT_S3,
            StorageDriver::Azure { .. } => &AZURE,
            StorageDriver::Gcs { .. } => &GCS,
        }
    }

    /// The driver's class name in `DISTRIBUTED_STORAGE_CONFIG`.
    pub fn quay_name(&self) -> &'static str {
        self.spec().quay_name
    }

    /// The driver's arguments for a location `location` with `bucket` and `storage_path`,
    /// with Quay's argument names, sorted.
    pub(super) fn args(&self, location: &str, bucket: &str, path: &str) -> BTreeMap<String, Node> {
        let mut args = BTreeMap::new();
        let mut arg = |key: &str, value: Node| {
            args.insert(key.to_owned(), value);
        };
        let str = |s: &str| Node::str(s);
        match self {
            StorageDriver::RadosGw {
                hostname,
                port,
                is_secure,
                region,
                keys,
            } => {
                arg("hostname", str(hostname.as_str()));
                arg("is_secure", (*is_secure).into());
                arg("bucket_name", str(bucket));
                arg("access_key", str(keys.access_key.expose()));
                arg("secret_key", str(keys.secret_key.expose()));
                if let Some(region) = region {
                    arg("region_name", str(region));
                }
                if let Some(port) = port {
                    arg("port", (*port).into());
                }
            }
            StorageDriver::S3 { endpoint, keys } => {
                arg("s3_bucket", str(bucket));
                if let Some(keys) = keys {
                    arg("s3_access_key", str(keys.access_key.expose()));
                    arg("s3_secret_key", str(keys.secret_key.expose()));
                }
                match endpoint {
                    S3Endpoint::Aws => {}
                    S3Endpoint::Region(region) => arg("s3_region", str(region)),
                    S3Endpoint::Host { hostname, port } => {
                        arg("host", str(hostname.as_str()));
                        if let Some(port) = port {
                            arg("port", (*port).into());
                        }
                    }
                }
            }
            StorageDriver::StsS3 {
                role_arn,
                region,
                user_keys,
            } => {
                arg("s3_bucket", str(bucket));
                arg("sts_role_arn", str(role_arn));
                if let Some(region) = region {
                    arg("s3_region", str(region));
                }
                if let Some(keys) = user_keys {
                    arg("sts_user_access_key", str(keys.access_key.expose()));
                    arg("sts_user_secret_key", str(keys.secret_key.expose()));
                }
            }
            StorageDriver::CloudFrontS3 {
                region,
                keys,
                distribution_domain,
                key_id,
                private_key: _,
            } => {
                arg("s3_bucket", str(bucket));
                arg("s3_region", str(region));
                arg("s3_access_key", str(keys.access_key.expose()));
                arg("s3_secret_key", str(keys.secret_key.expose()));
                arg(
                    "cloudfront_distribution_domain",
                    str(distribution_domain.as_str()),
                );
                arg("cloudfront_key_id", str(key_id));
                arg(
                    "cloudfront_privatekey_filename",
                    Node::str(cloudfront_key_file(location)),
                );
            }
            StorageDriver::Azure {
                account_name,
                account_key,
                endpoint_url,
            } => {
                arg("azure_container", str(bucket));
                arg("azure_account_name", str(account_name));
                arg("azure_account_key", str(account_key.expose()));
                if let Some(url) = endpoint_url {
                    arg("endpoint_url", str(url));
                }
            }
            StorageDriver::Gcs { keys } => {
                arg("bucket_name", str(bucket));
                arg("access_key", str(keys.access_key.expose()));
                arg("secret_key", str(keys.secret_key.expose()));
            }
        }
        arg("storage_path", str(path));
        args
    }

    /// The bundle file this driver brings, by bundle key: the CloudFront signing key.
    pub(super) fn file(&self, location: &str) -> Option<(String, Secret)> {
        match self {
            StorageDriver::CloudFrontS3 { private_key, .. } => {
                Some((cloudfront_key_file(location), private_key.clone()))
            }
            _ => None,
        }
    }
}
