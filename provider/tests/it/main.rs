//! Integration tests of `terraform-provider-quay`, linked as one test binary so the heavy
//! dependencies (tonic, rustls) are linked once (STYLE.md, Tests). One module per area.

#![allow(
    clippy::unwrap_used,
    reason = "a failed step should fail the test with its error"
)]

mod cluster;
mod cluster_access;
mod conformance;
mod connect_proxy;
mod e2e;
mod plugin;
mod upgrade;
