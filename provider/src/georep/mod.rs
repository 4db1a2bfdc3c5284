//! The geo-replication domain: pure values in, data out.
//!
//! This module owns everything the provider knows about a geo-replicated Red Hat Quay
//! deployment that does not need a network: the shared `config.yaml` model, its validation
//! and its deterministic rendering. It holds no gRPC, Kubernetes client, async runtime,
//! filesystem or environment access, so every rule here is testable with plain values.
//!
//! # Brief overview
//!
//! - [`config`]: the `data "quay_georep_config"` domain. [`config::ConfigInput`] mirrors the
//!   Terraform attributes one to one; [`config::validate`] turns it into a
//!   [`config::GeoRepConfig`] (or every problem found); [`config::render`] produces the
//!   byte-stable `config.yaml`, its `sha256:` hash and the sorted location list.
//! - [`errors`]: [`errors::chain`], an error and its causes on one line, as users read them.
//! - [`issue`]: [`issue::Issue`], a validation finding with a severity, a [`path::FieldPath`]
//!   into the input, a title and a detail saying what to change. The resources layer turns
//!   issues into Terraform diagnostics.
//! - [`location`]: the `quay_georep_location` operation: wait until every site serves the
//!   config that adds a storage location, then run Quay's backfill once
//!   ([`location::step`]), with the Job as its resumable record.
//! - [`path`]: [`path::FieldPath`], an attribute path whose segment names are the Terraform
//!   attribute names, so it converts 1:1 into a Terraform attribute path.
//! - [`secret`]: [`secret::Secret`], a string that never prints itself.
//! - [`site`]: one site of `resource "quay_georep_site"` and `data "quay_georep_site_manifests"`:
//!   [`site::SiteInput`], [`site::validate_site`], and the rendered Namespace, bundle Secret and
//!   `QuayRegistry`.
//! - [`upgrade`]: the `quay_georep_upgrade` state machine: [`upgrade::step`] turns an
//!   observation of every site into the next actions of the documented geo-replication
//!   upgrade, resumable from the progress record it keeps on the primary cluster.
//!
//! - [`yaml`]: the one YAML emitter configuration both renderers use.
//!
//! What this module is not: it does not talk to clusters (that is `cluster/`) and it does not
//! know Terraform's wire types (that is `tfvalue/` and `resources/`).

#![warn(clippy::pedantic)]
// Getters on small domain types read better without `#[must_use]` on every one; the values
// they return are cheap borrows and ignoring them is harmless.
#![allow(
    clippy::must_use_candidate,
    reason = "getters of cheap borrows; an ignored result is harmless"
)]
// Tests unwrap freely: a test that panics on unexpected data is doing its job. The non-test
// build of this module is still linted for `unwrap_used`.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        reason = "tests panic on unexpected data by design"
    )
)]
#![allow(
    clippy::doc_markdown,
    reason = "product names in prose (PostgreSQL, MinIO, PyYAML) are not code identifiers"
)]

pub mod config;
pub mod errors;
pub mod issue;
pub mod location;
pub mod path;
pub mod secret;
pub mod site;
pub mod upgrade;
pub mod yaml;
