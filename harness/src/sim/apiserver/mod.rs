//! The generic simulated Kubernetes API server: everything a cluster serves without knowing
//! Quay, the Quay Operator or OLM (those are the models beside it in [`crate::sim`]).
//!
//! # Brief overview
//!
//! - [`SimCluster`]: one running server (listener, TLS, lifecycle), started from a
//!   [`ClusterConfig`]; [`SimCluster::client`] is a kube-rs client built from its kubeconfig.
//! - [`ClusterState`]: what every request shares: the [`Store`] under its lock, the
//!   [`Faults`] and their [`Counters`], and the [`OpenWatches`].
//! - [`Store`]: objects, resource versions, generations, finalizers, garbage collection,
//!   event history; synchronous, no HTTP.
//! - [`kubeconfig`]: kubeconfig files for one or more simulated clusters.
//!
//! # How the modules depend on each other
//!
//! One way only: `cluster` (listener, TLS) calls `http` (routing, authentication, faults,
//! the admin API under `/sim/`), which calls `verbs` and `watch`, which use `apply`/`patch`
//! and the `store`, through `state`. `wire` (body type, JSON and `Status` responses, list
//! options) and the leaves (`status`, `object`, `resources`, `conversion`, `selectors`, `validation`, `crd`,
//! `discovery`, `openapi`, `protobuf`, `seed`, `tls`) depend on nothing above them.

mod apply;
mod builtin_crds;
mod cluster;
mod conversion;
mod crd;
mod discovery;
mod faults;
mod flavour;
mod http;
pub mod kubeconfig;
mod object;
mod open_watches;
mod openapi;
mod patch;
mod protobuf;
mod resources;
mod seed;
mod selectors;
mod state;
mod status;
mod store;
mod tls;
mod validation;
mod verbs;
mod watch;
mod wire;

pub use builtin_crds::{prometheus_crds, quay_registry_crd_yaml};
pub use cluster::{ClusterConfig, Error, SimCluster};
pub use faults::{Counters, FaultKind, FaultRule, Faults};
pub use flavour::Flavour;
pub use open_watches::OpenWatches;
pub use resources::{Catalog, ResourceType};
pub use seed::OPENSHIFT_CONFIG_MANAGED;
pub use state::ClusterState;
pub use status::ApiError;
pub use store::{Store, WriteOptions};
pub use tls::ClientCertificate;
pub use wire::UNNAMED_CLIENT;
