//! The conformance target of the kind backend (`DIR/conformance-target.yaml`): the contexts
//! of its kubeconfig, the shared services at the addresses pods use (container names on the
//! `kind` network, as in `services.json`), and the operator as this backend installs it (a
//! plain Deployment, no OLM). `georep-harness conformance --backend kind` reads it and runs
//! the suite as on any `existing` target.
//!
//! The kind backend runs no global load balancer in front of the sites (the local backend's
//! [`crate::lb`] model has no container counterpart yet), so the target names the global
//! hostnames but no endpoint the suite could reach: the global-endpoint scenario is skipped.

use std::path::Path;

use super::operator::{NAMESPACE as OPERATOR_NAMESPACE, OperatorManifests};
use super::services::{self, Credentials};
use crate::conformance::local::{GLOBAL_CLAIR_HOSTNAME, GLOBAL_QUAY_HOSTNAME};
use crate::conformance::target::{
    GlobalTarget, OperatorInstall, OperatorMethod, Platform, SiteTarget, Target,
};

/// The target of the kind backend's `sites` with state dir `state_dir`.
#[must_use]
pub fn conformance_target(
    sites: &[String],
    state_dir: &Path,
    credentials: &Credentials,
    operator: &OperatorManifests,
) -> Target {
    Target {
        name: "kind".to_owned(),
        platform: Platform::Kubernetes,
        sites: sites
            .iter()
            .map(|site| SiteTarget {
                name: site.clone(),
                location: services::location(site),
                kubeconfig: state_dir.join("kubeconfig"),
                context: site.clone(),
            })
            .collect(),
        services: services::services_file(sites, credentials),
        global: GlobalTarget {
            quay_hostname: GLOBAL_QUAY_HOSTNAME.to_owned(),
            clair_hostname: Some(GLOBAL_CLAIR_HOSTNAME.to_owned()),
            quay_endpoint: None,
            clair_endpoint: None,
        },
        operator: OperatorInstall {
            method: OperatorMethod::Deployment,
            namespace: OPERATOR_NAMESPACE.to_owned(),
            name: operator.deployment.clone(),
        },
        terraform: Vec::new(),
        provider_dir: None,
    }
}
