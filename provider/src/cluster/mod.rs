//! Talking to the sites' clusters: one kube-rs client per named cluster, server-side apply,
//! reads, deletes and waits, with bounded retries and errors that name the cluster, the
//! object and what to do.
//!
//! This is our kube-client + `wait` layer (STYLE.md). It knows Kubernetes, not Terraform and
//! not Quay: resources in `crate::resources` decide *what* to apply from the domain in
//! `crate::georep`, and this module applies it.
//!
//! # Brief overview
//!
//! - [`Clusters`]: the provider's `cluster` blocks; [`Clusters::get`] connects on first use
//!   and hands out the same client afterwards (one client per cluster per provider process).
//! - [`Cluster`]: operations on one cluster: [`Cluster::apply`] (server-side apply with field
//!   manager [`FIELD_MANAGER`]), [`Cluster::get`], [`Cluster::list`], [`Cluster::delete`],
//!   [`Cluster::merge_patch`], and [`Cluster::wait_for`], a watch-driven wait with a polling
//!   fall-back, a deadline, and progress logs saying what it waits for; [`Cluster::create`]
//!   and [`Cluster::replace`] for compare-and-swap writes.
//! - [`Kind`]: the object kinds the provider touches, with their API paths, so no discovery
//!   round trip is needed.
//!
//! # Retries
//!
//! Every request is retried a bounded number of times on 429 (honouring the server's
//! `Retry-After` from the Status details), 5xx and connection errors, with exponential
//! backoff; other errors surface at once. kube-rs's own retry layer is turned off so there is
//! exactly one policy, and it is bounded (see [`retry`]).

mod connect;
mod error;
mod kind;
mod ops;
pub mod retry;
mod spec;
mod wait;
mod write;

pub use connect::{Cluster, Clusters};
pub use error::Error;
pub use kind::Kind;
pub use ops::{Deleted, FIELD_MANAGER};
pub use spec::{ClusterSpec, Credentials, DirectAccess, ExecPlugin, KubeconfigSource};
pub use wait::{Check, PROGRESS_EVERY, WaitOptions};
