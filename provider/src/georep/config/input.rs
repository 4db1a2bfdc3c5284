//! The raw input of `data "quay_georep_config"`, one field per Terraform attribute.
//!
//! Every field is an `Option` (or a possibly empty map) because Terraform may leave any of them
//! null; [`super::validate`] decides what is required and applies the defaults. Field names are
//! the Terraform attribute names, so the resources layer maps attributes onto these structs 1:1
//! and [`crate::georep::path::FieldPath`] segments use the same names. Sensitive attributes are
//! [`Secret`]s, and the free-form maps users fill with credentials (`extra_config`,
//! `connection_args`, `executor_config`) are [`Redacted`], so deriving `Debug` here is safe. Nothing in this file validates anything.
//!
//! The structs also deserialize from JSON with the same names, which tests and fixtures use.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::georep::secret::{Redacted, Secret};

/// The whole `data "quay_georep_config"` input.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConfigInput {
    /// `server_hostname` (required): the global load balancer FQDN, optionally `host:port`.
    pub server_hostname: Option<String>,
    /// `preferred_url_scheme`: `https` (default) or `http`.
    pub preferred_url_scheme: Option<String>,
    /// `database` block (required).
    pub database: Option<DatabaseInput>,
    /// `redis` block (required).
    pub redis: Option<RedisInput>,
    /// `storage "<location>"` blocks, keyed by block label (the location id). One or more.
    pub storage: BTreeMap<String, StorageInput>,
    /// `default_locations`: locations every blob is replicated to. Default: every location.
    pub default_locations: Option<Vec<String>>,
    /// `secret_key` (required, sensitive): Quay's `SECRET_KEY`, shared by every site.
    pub secret_key: Option<Secret>,
    /// `database_secret_key` (required, sensitive): `DATABASE_SECRET_KEY`, shared by every site.
    pub database_secret_key: Option<Secret>,
    /// `super_users`: Quay superuser names. Default: none.
    pub super_users: Option<Vec<String>>,
    /// `clair` block: a global, unmanaged Clair endpoint.
    pub clair: Option<ClairInput>,
    /// `mirroring` block: repository mirroring.
    pub mirroring: Option<MirroringInput>,
    /// `builders` block: Quay builds.
    pub builders: Option<BuildersInput>,
    /// `extra_config`: more `config.yaml` keys, merged last. Keys the data source manages are
    /// refused.
    pub extra_config: Option<Redacted<BTreeMap<String, Value>>>,
    /// `extra_ca_certs`: PEM CA certificates by name, bundled as `extra_ca_cert_<name>.crt`.
    pub extra_ca_certs: Option<BTreeMap<String, String>>,
}

/// The `database` block.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseInput {
    /// `uri` (required, sensitive): `postgresql://user:password@host:5432/database`.
    pub uri: Option<Secret>,
    /// `connection_args`: rendered as `DB_CONNECTION_ARGS`, values kept as given.
    pub connection_args: Option<Redacted<BTreeMap<String, Value>>>,
    /// `ssl_mode`: libpq's `sslmode`, one of `require`, `verify-ca`, `verify-full`. Default
    /// `verify-full` with a `root_certificate`, else `require` when a client certificate is
    /// given, else not rendered.
    pub ssl_mode: Option<String>,
    /// `root_certificate`: PEM CA certificate(s) the server's certificate must chain to,
    /// bundled as `database.pem`.
    pub root_certificate: Option<String>,
    /// `client_certificate`: PEM client certificate, bundled as `database-client.crt`.
    pub client_certificate: Option<String>,
    /// `client_key` (sensitive): its unencrypted PEM key, bundled as `database-client.key`.
    pub client_key: Option<Secret>,
}

/// The `redis` block, shared by every site.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisInput {
    /// `host` (required).
    pub host: Option<String>,
    /// `port`: default 6379.
    pub port: Option<i64>,
    /// `password` (sensitive): none by default.
    pub password: Option<Secret>,
    /// `tls`: default false.
    pub tls: Option<bool>,
}

/// One `storage "<location>"` block: the bucket of one site.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageInput {
    /// `driver` (required): one of [`super::storage_driver::DRIVERS`] (`radosgw`, `s3`,
    /// `sts_s3`, `cloudfront_s3`, `azure`, `gcs`).
    pub driver: Option<String>,
    /// `hostname`: the storage endpoint host. Required for `radosgw`.
    pub hostname: Option<String>,
    /// `port`: the storage endpoint port. Default: the driver's default for `is_secure`.
    pub port: Option<i64>,
    /// `is_secure`: use TLS to reach the endpoint. Default true.
    pub is_secure: Option<bool>,
    /// `bucket` (required): the bucket, or with `azure` the container.
    pub bucket: Option<String>,
    /// `access_key` (sensitive): the key pair's id; which drivers need it is in the driver table.
    pub access_key: Option<Secret>,
    /// `secret_key` (sensitive).
    pub secret_key: Option<Secret>,
    /// `region`: the bucket's region, when the server needs one.
    pub region: Option<String>,
    /// `storage_path`: the object key prefix. Default `/datastorage/registry`.
    pub storage_path: Option<String>,
    /// `sts_role_arn` (`sts_s3`): the IAM role Quay assumes.
    pub sts_role_arn: Option<String>,
    /// `cloudfront_distribution_domain` (`cloudfront_s3`).
    pub cloudfront_distribution_domain: Option<String>,
    /// `cloudfront_key_id` (`cloudfront_s3`): the id of the CloudFront public key.
    pub cloudfront_key_id: Option<String>,
    /// `cloudfront_private_key` (`cloudfront_s3`, sensitive): the RSA key that signs URLs, PEM.
    pub cloudfront_private_key: Option<Secret>,
    /// `azure_account_name` (`azure`).
    pub azure_account_name: Option<String>,
    /// `azure_account_key` (`azure`, sensitive): the storage account's base64 shared key.
    pub azure_account_key: Option<Secret>,
    /// `endpoint_url` (`azure`): the blob service URL, when not Azure's public cloud.
    pub endpoint_url: Option<String>,
}

/// The `clair` block: a Clair endpoint behind a global load balancer.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClairInput {
    /// `endpoint` (required): an `http://` or `https://` URL.
    pub endpoint: Option<String>,
    /// `psk` (required, sensitive): the base64 pre-shared key Clair and Quay share.
    pub psk: Option<Secret>,
}

/// The `mirroring` block.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MirroringInput {
    /// `enabled`: default true when the block is present.
    pub enabled: Option<bool>,
    /// `interval`: seconds between mirror runs, at least 30. Default: Quay's own (30).
    pub interval: Option<i64>,
}

/// The `builders` block.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BuildersInput {
    /// `enabled`: default true when the block is present.
    pub enabled: Option<bool>,
    /// `build_manager_hostname` (required when enabled): `BUILDMAN_HOSTNAME`, `host[:port]`.
    pub build_manager_hostname: Option<String>,
    /// `executor_config` (required when enabled): one entry of the build manager's
    /// `EXECUTORS` list, such as `{EXECUTOR = "kubernetesPodman", ...}`.
    pub executor_config: Option<Redacted<BTreeMap<String, Value>>>,
}
