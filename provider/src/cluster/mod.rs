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
//!   and [`Cluster::replace`] for compare-and-swap writes; [`Cluster::notify_changes`],
//!   which only says when a set of objects changed.
//! - [`Kind`]: the object kinds the provider touches, with their API paths, so no discovery
//!   round trip is needed.
//!
//! # Deadlines, retries and credentials
//!
//! Every request is retried a bounded number of times on 429, 5xx and connection errors, with
//! jittered exponential backoff, honouring the server's `Retry-After` (header or Status
//! details); other errors surface at once. kube-rs's own retry layer is turned off so there is
//! exactly one policy, and it is bounded (see [`retry`]). Every request and every wait between
//! attempts races the operation's deadline and Terraform's stop signal ([`within`]), and the
//! client gives up on an answer that stops arriving after [`READ_TIMEOUT`].
//!
//! A kubeconfig's `exec` credential plugin is run by [`exec`], not by kube-rs: off the async
//! runtime's threads, with stdin closed and a time limit. No error of this module quotes a
//! kubeconfig or a plugin's output: a kubeconfig that does not parse is reported by file, line
//! and column ([`KubeconfigProblem`]).

pub mod budget;
mod changes;
mod connect;
mod error;
pub mod exec;
mod kind;
mod ops;
pub mod retry;
mod retry_after;
mod spec;
mod wait;
mod write;

pub use budget::within;
pub use connect::{Cluster, Clusters, READ_TIMEOUT};
pub use error::{Error, KubeconfigProblem};
pub use kind::Kind;
pub use ops::{Deleted, FIELD_MANAGER};
pub use spec::{ClusterSpec, Credentials, DirectAccess, ExecPlugin, KubeconfigSource};
pub use wait::{Check, PROGRESS_EVERY, WaitOptions};
