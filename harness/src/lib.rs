//! The quay-georep conformance harness.
//!
//! - [`sim`]: simulated Kubernetes clusters (an API server kube-rs and kubectl accept) and the
//!   Quay Operator and OLM models that run beside them.
//! - [`quay`]: facts about Quay shared by the models and their readers: the config bundle,
//!   the version catalogue, object labels, the `QuayRegistry` API resource, pod readiness.
//! - [`terraform`]: drives the Terraform CLI.
//! - [`services`]: the shared PostgreSQL, Redis and per-site S3 of the `local` backend.
//! - [`local`]: the `local` backend in one piece: services, clusters, operator models, the
//!   global load balancer ([`lb`]) and the blob replication worker ([`blobs`]).
//! - [`backend`]: the `kind` backend (real clusters in Docker) and the backend choice.
//! - [`lb`]: the global load balancer model: per-site health endpoints, global endpoints.
//! - [`blobs`]: Quay's blob key layout, pushing a blob, and the replication worker.
//! - [`kubectl`]: finding a kubectl new enough for the simulator, for the tests that run one.
//! - [`errors`]: [`errors::chain`], an error and its causes on one line.
//! - [`secrets`]: the secret scanner tests use to show a run leaked none of its secrets.
//! - `http_server` (crate-internal): the accept loop of the S3 endpoints and the load
//!   balancer model.
//! - [`conformance`]: the conformance suite: scenarios against a target (the local backend's
//!   clusters or a team's own), their capabilities, runner and reports.
//! - [`cli`]: the `georep-harness` command line (`up`, `demo`, `conformance`, `push`,
//!   `bench`).

pub mod backend;
pub mod blobs;
pub mod cli;
pub mod conformance;
pub mod errors;
mod http_server;
pub mod kubectl;
pub mod lb;
pub mod local;
pub mod quay;
pub mod secrets;
pub mod services;
pub mod sim;
pub mod terraform;
