//! The object kinds the provider reads and writes, with their REST coordinates.
//!
//! Naming them here (instead of asking the API server's discovery) saves a round trip per
//! kind and per cluster, and keeps the set of things the provider may touch explicit.

use kube::api::{ApiResource, GroupVersionKind};

/// An object kind: API version, kind, plural and scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kind {
    /// `group/version`, or `v1` for the core group.
    pub api_version: &'static str,
    /// The kind, e.g. `QuayRegistry`.
    pub kind: &'static str,
    /// The resource name in URLs, e.g. `quayregistries`.
    pub plural: &'static str,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
}

impl Kind {
    /// `v1` Namespace.
    pub const NAMESPACE: Self = Self::core("Namespace", "namespaces", false);
    /// `v1` Secret.
    pub const SECRET: Self = Self::core("Secret", "secrets", true);
    /// `v1` ConfigMap.
    pub const CONFIG_MAP: Self = Self::core("ConfigMap", "configmaps", true);
    /// `v1` Pod.
    pub const POD: Self = Self::core("Pod", "pods", true);
    /// `v1` Service.
    pub const SERVICE: Self = Self::core("Service", "services", true);
    /// `networking.k8s.io/v1` Ingress.
    pub const INGRESS: Self = Self::new("networking.k8s.io/v1", "Ingress", "ingresses", true);
    /// `apps/v1` Deployment.
    pub const DEPLOYMENT: Self = Self::new("apps/v1", "Deployment", "deployments", true);
    /// `batch/v1` Job.
    pub const JOB: Self = Self::new("batch/v1", "Job", "jobs", true);
    /// `autoscaling/v2` HorizontalPodAutoscaler.
    pub const HORIZONTAL_POD_AUTOSCALER: Self = Self::new(
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        true,
    );
    /// `monitoring.coreos.com/v1` ServiceMonitor (the Prometheus Operator's API).
    pub const SERVICE_MONITOR: Self = Self::new(
        "monitoring.coreos.com/v1",
        "ServiceMonitor",
        "servicemonitors",
        true,
    );
    /// `monitoring.coreos.com/v1` PrometheusRule (the Prometheus Operator's API).
    pub const PROMETHEUS_RULE: Self = Self::new(
        "monitoring.coreos.com/v1",
        "PrometheusRule",
        "prometheusrules",
        true,
    );
    /// `coordination.k8s.io/v1` Lease.
    pub const LEASE: Self = Self::new("coordination.k8s.io/v1", "Lease", "leases", true);
    /// `quay.redhat.com/v1` QuayRegistry.
    pub const QUAY_REGISTRY: Self =
        Self::new("quay.redhat.com/v1", "QuayRegistry", "quayregistries", true);
    /// `route.openshift.io/v1` Route.
    pub const ROUTE: Self = Self::new("route.openshift.io/v1", "Route", "routes", true);
    /// `operators.coreos.com/v1alpha1` Subscription.
    pub const SUBSCRIPTION: Self = Self::new(
        "operators.coreos.com/v1alpha1",
        "Subscription",
        "subscriptions",
        true,
    );
    /// `operators.coreos.com/v1alpha1` InstallPlan.
    pub const INSTALL_PLAN: Self = Self::new(
        "operators.coreos.com/v1alpha1",
        "InstallPlan",
        "installplans",
        true,
    );
    /// `operators.coreos.com/v1alpha1` ClusterServiceVersion.
    pub const CLUSTER_SERVICE_VERSION: Self = Self::new(
        "operators.coreos.com/v1alpha1",
        "ClusterServiceVersion",
        "clusterserviceversions",
        true,
    );

    /// `packages.operators.coreos.com/v1` PackageManifest: what OLM's package server says a
    /// catalog offers (read-only; every namespace sees the global catalogs' packages).
    pub const PACKAGE_MANIFEST: Self = Self::new(
        "packages.operators.coreos.com/v1",
        "PackageManifest",
        "packagemanifests",
        true,
    );

    const fn core(kind: &'static str, plural: &'static str, namespaced: bool) -> Self {
        Self::new("v1", kind, plural, namespaced)
    }

    const fn new(
        api_version: &'static str,
        kind: &'static str,
        plural: &'static str,
        namespaced: bool,
    ) -> Self {
        Self {
            api_version,
            kind,
            plural,
            namespaced,
        }
    }

    /// Every kind above, for looking one up by `apiVersion` and `kind`.
    pub const ALL: [Self; 18] = [
        Self::NAMESPACE,
        Self::SECRET,
        Self::CONFIG_MAP,
        Self::POD,
        Self::SERVICE,
        Self::INGRESS,
        Self::DEPLOYMENT,
        Self::JOB,
        Self::HORIZONTAL_POD_AUTOSCALER,
        Self::SERVICE_MONITOR,
        Self::PROMETHEUS_RULE,
        Self::LEASE,
        Self::QUAY_REGISTRY,
        Self::ROUTE,
        Self::SUBSCRIPTION,
        Self::INSTALL_PLAN,
        Self::CLUSTER_SERVICE_VERSION,
        Self::PACKAGE_MANIFEST,
    ];

    /// The kind of a manifest, from its `apiVersion` and `kind`.
    #[must_use]
    pub fn of(api_version: &str, kind: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.api_version == api_version && k.kind == kind)
    }

    /// kube-rs's description of this kind.
    pub(crate) fn api_resource(&self) -> ApiResource {
        let (group, version) = self
            .api_version
            .split_once('/')
            .unwrap_or(("", self.api_version));
        ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(group, version, self.kind),
            self.plural,
        )
    }

    /// `Kind namespace/name` (or `Kind name`), for messages.
    #[must_use]
    pub fn describe(&self, namespace: Option<&str>, name: &str) -> String {
        match namespace {
            Some(ns) if self.namespaced => format!("{} {ns}/{name}", self.kind),
            _ => format!("{} {name}", self.kind),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_find_their_kind() {
        assert_eq!(
            Kind::of("quay.redhat.com/v1", "QuayRegistry"),
            Some(Kind::QUAY_REGISTRY)
        );
        assert_eq!(Kind::of("v1", "Secret"), Some(Kind::SECRET));
        assert_eq!(Kind::of("v1", "Gadget"), None);
    }

    #[test]
    fn core_kinds_have_an_empty_group() {
        let ar = Kind::SECRET.api_resource();
        assert_eq!(
            (ar.group.as_str(), ar.version.as_str(), ar.plural.as_str()),
            ("", "v1", "secrets")
        );
        let ar = Kind::QUAY_REGISTRY.api_resource();
        assert_eq!(ar.api_version, "quay.redhat.com/v1");
    }

    #[test]
    fn descriptions_name_the_namespace_only_for_namespaced_kinds() {
        assert_eq!(Kind::SECRET.describe(Some("quay"), "b"), "Secret quay/b");
        assert_eq!(
            Kind::NAMESPACE.describe(Some("quay"), "quay"),
            "Namespace quay"
        );
    }
}
