//! The shared geo-replication configuration behind `data "quay_georep_config"`.
//!
//! Three steps, each in its own file:
//! 1. [`ConfigInput`] (`input.rs`): the raw Terraform attributes, every one optional.
//! 2. [`validate`] (`validate.rs`): checks every attribute, collects every [`Issue`], and builds
//!    a [`GeoRepConfig`] (`model.rs`) from parsed values: [`hostname::HostPort`],
//!    [`location::LocationId`], [`db_uri::DbUri`], [`StorageDriver`].
//! 3. [`render`] (`render.rs`): the byte-stable `config.yaml`, its `sha256:` hash and the
//!    sorted locations, as a [`RenderedConfig`].
//!
//! [`managed_keys`] lists the `config.yaml` keys the data source sets itself, and what sets
//! each; `extra_config` may not set them. No I/O happens here; facts about the keys come from
//! `reference/quay-operator.md` §4 and §5.
//!
//! [`Issue`]: crate::georep::issue::Issue

mod canonical;
pub mod db_uri;
pub mod files;
pub mod hostname;
mod input;
pub mod location;
mod managed;
mod model;
mod render;
pub mod storage_driver;
mod validate;
mod validate_driver;
mod validate_files;
mod validate_storage;

pub use input::{
    BuildersInput, ClairInput, ConfigInput, DatabaseInput, MirroringInput, RedisInput, StorageInput,
};
pub use managed::{managed_by, managed_keys};
pub use model::{
    Builders, Clair, Database, DatabaseTls, GeoRepConfig, Mirroring, Redis, Storage, UrlScheme,
};
pub use render::{RenderedConfig, render};
pub use storage_driver::{DRIVERS, KeyPair, S3Endpoint, StorageDriver};
pub use validate::{
    DEFAULT_REDIS_PORT, DEFAULT_STORAGE_PATH, MIN_MIRROR_INTERVAL, MIN_SECRET_KEY_LEN, validate,
};

#[cfg(test)]
mod plaintext_tests;
#[cfg(test)]
mod storage_tests;
#[cfg(test)]
mod tests;
