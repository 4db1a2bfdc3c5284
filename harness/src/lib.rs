//! The quay-georep conformance harness.
//!
//! For now this crate is the library that drives the Terraform CLI ([`terraform`]); the
//! simulated clusters, shared services and conformance scenarios join it in later steps.

pub mod services;
pub mod terraform;
