//! The Terraform types this provider offers, one file each, mapping Terraform operations onto
//! the domain in [`crate::georep`].
//!
//! - [`provider`]: the `provider "quay"` block and its named clusters ([`QuayProvider`]).
//! - [`georep_site_resource`]: `resource "quay_georep_site"`, one site on one cluster; its
//!   schema and model in `georep_site_model.rs`, its import in `georep_site_import.rs`, its
//!   wait for the site to settle in `georep_site_wait.rs`.
//! - [`georep_config_data_source`]: `data "quay_georep_config"`, the shared `config.yaml`.
//! - [`georep_config_ephemeral`]: `ephemeral "quay_georep_config"`, the same, never stored.
//! - [`georep_site_manifests_data_source`]: `data "quay_georep_site_manifests"`, one site's
//!   objects as YAML for GitOps; its inputs come from `site_schema.rs`, which the site resource
//!   shares.
//! - [`georep_upgrade_resource`]: `resource "quay_georep_upgrade"`, the geo-replication
//!   upgrade of every site, run through [`crate::orchestrate`].
//! - [`georep_location_resource`]: `resource "quay_georep_location"`, a storage location
//!   added to the running sites (their config first, then Quay's backfill as a Job), run
//!   through [`crate::orchestrate::location`].
//! - [`georep_site_data_source`]: `data "quay_georep_site"`, one live site read without
//!   managing it; what it shares with the site resource (endpoints for a global load
//!   balancer, the operator-version guard rail) is in `site_live.rs`.
//! - [`georep_versions_data_source`]: `data "quay_georep_versions"`, the known Quay versions
//!   and the next upgrade.
//!
//! Files here own the schema (with the descriptions that become the docs), the typed model
//! each type reads its configuration, plan or state into (`model.rs`), and the error edge:
//! `convert.rs` turns domain issues and cluster errors into diagnostics, the same way for
//! every type. Validation and rendering live in `georep`; protocol rules in
//! [`crate::framework`].

mod convert;
#[cfg(test)]
mod docs;
#[cfg(test)]
mod docs_storage_guide;
#[cfg(test)]
mod fuzz_tests;
pub mod georep_config_data_source;
pub mod georep_config_ephemeral;
pub mod georep_location_resource;
pub mod georep_site_data_source;
mod georep_site_guards;
mod georep_site_import;
pub mod georep_site_manifests_data_source;
mod georep_site_model;
mod georep_site_remove;
pub mod georep_site_resource;
mod georep_site_twins;
mod georep_site_wait;
mod georep_site_write_only;
pub mod georep_upgrade_resource;
pub mod georep_versions_data_source;
#[cfg(test)]
mod guide_snippets;
pub mod migration_gate;
mod model;
mod planned_sites;
pub mod provider;
mod provider_data;
mod site_cluster;
mod site_live;
mod site_schema;
mod timeouts;

pub use provider::QuayProvider;
pub use provider_data::ProviderData;
