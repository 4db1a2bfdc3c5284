//! Integration tests of `georep-harness`, linked as one test binary (each extra test file
//! would relink kube; STYLE.md, Tests).

#![allow(
    clippy::unwrap_used,
    reason = "a failed step should fail the test with its error"
)]

mod blob_replication;
mod chainsaw;
mod conformance_interrupt;
mod containers;
mod global_load_balancer;
mod kubectl;
mod local_sites;
mod olm;
mod operator;
mod services;
mod sim;
mod structure;
mod terraform_cli;
mod workflows;
