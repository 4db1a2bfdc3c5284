//! The conformance target of the kind backend (`DIR/conformance-target.yaml`): the contexts
//! of its kubeconfig, the shared services at the addresses pods use (container names on the
//! `kind` network, as in `services.json`), and the operator as this backend installs it (a
//! plain Deployment, no OLM). `georep-harness conformance --backend kind` reads it and runs
//! the suite as on any `existing` target.
//!
//! The global endpoints are the HAProxy balancers of [`super::balancer`], published on
//! loopback where the suite runs.

use std::path::Path;

use super::balancer::GlobalLb;
use super::operator::{NAMESPACE as OPERATOR_NAMESPACE, OperatorManifests};
use super::services::{self, Credentials};
use crate::conformance::target::{
    GlobalTarget, OperatorInstall, OperatorMethod, Platform, SiteTarget, Target,
};

/// The target of the kind backend's `sites` with state dir `state_dir`, in front of which
/// `balancers` (Quay's, then Clair's) run.
#[must_use]
pub fn conformance_target(
    sites: &[String],
    balancers: &[GlobalLb; 2],
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
            quay_hostname: balancers[0].hostname.clone(),
            clair_hostname: Some(balancers[1].hostname.clone()),
            quay_endpoint: Some(balancers[0].endpoint()),
            clair_endpoint: Some(balancers[1].endpoint()),
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
