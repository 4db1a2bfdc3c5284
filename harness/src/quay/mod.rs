//! Facts about Quay and the Quay Operator that more than one part of the harness needs: the
//! config bundle ([`bundle`]), the version catalogue ([`catalogue`]), and the names the
//! operator gives its objects (labels, annotations, the preference env var, the
//! `QuayRegistry` API resource) with the one "is this pod ready" rule, and what a serving
//! Quay pod reports ([`ServingPod`], read through [`SitePods`]).
//!
//! The operator model in [`crate::sim::operator`] writes objects by these facts; the load
//! balancer ([`crate::lb`]), the blob tools ([`crate::blobs`]), the CLI and the safety ledger
//! read them, without reaching into the model. Nothing here talks to a cluster.

pub mod bundle;
pub mod catalogue;
mod objects;
mod serving;

pub use bundle::Bundle;
pub use catalogue::{Catalogue, QuayVersion};
pub use objects::{
    COMPONENT_LABEL, CONFIG_HASH_ANNOTATION, CONFIG_VOLUME, FINALIZER, HOSTNAME_ANNOTATION,
    PREFERENCE_ENV, REGISTRY_LABEL, VERSION_ANNOTATION, api_resource, config_hash, dynamic_api,
    is_pod_ready, quay_registry_resource, storage_preference,
};
pub use serving::{ConfigShape, ServingPod, SitePods};
