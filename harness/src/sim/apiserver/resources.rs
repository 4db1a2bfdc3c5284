//! The resource types a simulated cluster serves: the built-in table and CRD-defined types.
//!
//! A [`ResourceType`] is pure data (group, version, plural, kind, scope, subresources, schema);
//! it does not store objects ([`crate::sim::apiserver::store`]) or render discovery
//! ([`crate::sim::apiserver::discovery`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::validation::CompiledSchema;

/// The `/scale` subresource of a type: where replicas live in the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleSpec {
    /// Dotted path of the desired replicas, e.g. `spec.replicas`.
    pub spec_replicas: String,
    /// Dotted path of the observed replicas, e.g. `status.replicas`.
    pub status_replicas: String,
}

/// One served resource type.
#[derive(Debug, Clone)]
pub struct ResourceType {
    /// API group, "" for core.
    pub group: String,
    /// The single served version.
    pub version: String,
    /// Plural resource name used in paths.
    pub plural: String,
    /// Lowercase singular name.
    pub singular: String,
    /// Kind of the objects.
    pub kind: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// kubectl short names (`cm`, `deploy`).
    pub short_names: Vec<String>,
    /// Whether a `/status` subresource exists (then the main resource ignores status changes).
    pub status: bool,
    /// The `/scale` subresource, if any.
    pub scale: Option<ScaleSpec>,
    /// Built-in types accept strategic merge patch; custom resources answer 415.
    pub builtin: bool,
    /// Validation schema (CRDs only).
    pub schema: Option<Arc<CompiledSchema>>,
}

impl ResourceType {
    fn builtin(group: &str, version: &str, plural: &str, kind: &str, namespaced: bool) -> Self {
        Self {
            group: group.to_owned(),
            version: version.to_owned(),
            plural: plural.to_owned(),
            singular: kind.to_lowercase(),
            kind: kind.to_owned(),
            namespaced,
            short_names: Vec::new(),
            status: false,
            scale: None,
            builtin: true,
            schema: None,
        }
    }

    fn short(mut self, names: &[&str]) -> Self {
        self.short_names = names.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    fn with_status(mut self) -> Self {
        self.status = true;
        self
    }

    /// `group/version`, or just `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The key the store files objects of this type under.
    pub fn id(&self) -> ResourceId {
        ResourceId {
            group: self.group.clone(),
            plural: self.plural.clone(),
        }
    }

    /// The URL prefix of the group-version: `/api/v1` or `/apis/<group>/<version>`.
    pub fn gv_prefix(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }
}

/// Identity of a resource type independent of version: `(group, plural)`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceId {
    /// API group, "" for core.
    pub group: String,
    /// Plural name.
    pub plural: String,
}

/// The set of served types, keyed by `(group, version, plural)`.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    types: BTreeMap<(String, String, String), Arc<ResourceType>>,
}

impl Catalog {
    /// The built-in Kubernetes types every simulated cluster serves.
    pub fn builtin() -> Self {
        let deployments = {
            let mut d = ResourceType::builtin("apps", "v1", "deployments", "Deployment", true)
                .short(&["deploy"])
                .with_status();
            d.scale = Some(ScaleSpec {
                spec_replicas: "spec.replicas".into(),
                status_replicas: "status.replicas".into(),
            });
            d
        };
        let list = [
            ResourceType::builtin("", "v1", "namespaces", "Namespace", false)
                .short(&["ns"])
                .with_status(),
            ResourceType::builtin("", "v1", "secrets", "Secret", true),
            ResourceType::builtin("", "v1", "configmaps", "ConfigMap", true).short(&["cm"]),
            ResourceType::builtin("", "v1", "services", "Service", true)
                .short(&["svc"])
                .with_status(),
            ResourceType::builtin("", "v1", "pods", "Pod", true)
                .short(&["po"])
                .with_status(),
            ResourceType::builtin("", "v1", "events", "Event", true).short(&["ev"]),
            ResourceType::builtin("", "v1", "serviceaccounts", "ServiceAccount", true)
                .short(&["sa"]),
            ResourceType::builtin("", "v1", "endpoints", "Endpoints", true).short(&["ep"]),
            // Stored only (no binding, no provisioner): the operator's managed databases
            // claim volumes, and quay-operator's Chainsaw cases read the claims back.
            ResourceType::builtin(
                "",
                "v1",
                "persistentvolumeclaims",
                "PersistentVolumeClaim",
                true,
            )
            .short(&["pvc"])
            .with_status(),
            ResourceType::builtin(
                "storage.k8s.io",
                "v1",
                "storageclasses",
                "StorageClass",
                false,
            )
            .short(&["sc"]),
            deployments,
            ResourceType::builtin("batch", "v1", "jobs", "Job", true).with_status(),
            ResourceType::builtin(
                "autoscaling",
                "v2",
                "horizontalpodautoscalers",
                "HorizontalPodAutoscaler",
                true,
            )
            .short(&["hpa"])
            .with_status(),
            // Served by conversion from the stored v2 (see the conversion module).
            ResourceType::builtin(
                "autoscaling",
                "v1",
                "horizontalpodautoscalers",
                "HorizontalPodAutoscaler",
                true,
            )
            .short(&["hpa"])
            .with_status(),
            ResourceType::builtin("coordination.k8s.io", "v1", "leases", "Lease", true),
            ResourceType::builtin("networking.k8s.io", "v1", "ingresses", "Ingress", true)
                .short(&["ing"])
                .with_status(),
            ResourceType::builtin(
                "apiextensions.k8s.io",
                "v1",
                "customresourcedefinitions",
                "CustomResourceDefinition",
                false,
            )
            .short(&["crd", "crds"])
            .with_status(),
        ];
        let mut catalog = Self::default();
        for t in list {
            catalog.insert(t);
        }
        catalog
    }

    /// Serve a type (replacing one with the same group/version/plural).
    pub fn insert(&mut self, t: ResourceType) {
        self.types.insert(
            (t.group.clone(), t.version.clone(), t.plural.clone()),
            Arc::new(t),
        );
    }

    /// Stop serving every version of `(group, plural)`.
    pub fn remove(&mut self, group: &str, plural: &str) {
        self.types
            .retain(|(g, _, p), _| !(g == group && p == plural));
    }

    /// The type served at `group/version/plural`, if any.
    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.types
            .get(&(group.to_owned(), version.to_owned(), plural.to_owned()))
            .cloned()
    }

    /// The type of a `(group, kind)` pair (any version), if served.
    pub fn by_kind(&self, group: &str, kind: &str) -> Option<Arc<ResourceType>> {
        self.types
            .values()
            .find(|t| t.group == group && t.kind == kind)
            .cloned()
    }

    /// Every served type, ordered by group, version, plural.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<ResourceType>> {
        self.types.values()
    }

    /// Served group names (without the core group) in order, each with its versions in
    /// Kubernetes' priority order, the preferred version first (`autoscaling`: `v2`, `v1`).
    pub fn groups(&self) -> BTreeMap<String, Vec<String>> {
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (g, v, _) in self.types.keys() {
            let versions = groups.entry(g.clone()).or_default();
            if !versions.contains(v) {
                versions.push(v.clone());
            }
        }
        for versions in groups.values_mut() {
            versions.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
        }
        groups
    }
}

/// How Kubernetes ranks API versions (apimachinery's `CompareKubeAwareVersionStrings`): GA
/// over beta over alpha, then the higher major and minor number; other names last.
fn version_priority(version: &str) -> (u8, u32, u32) {
    let Some(rest) = version.strip_prefix('v') else {
        return (0, 0, 0);
    };
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let Ok(major) = rest[..digits].parse::<u32>() else {
        return (0, 0, 0);
    };
    let (stability, minor) = match &rest[digits..] {
        "" => (3, ""),
        tail => match (tail.strip_prefix("beta"), tail.strip_prefix("alpha")) {
            (Some(n), _) => (2, n),
            (_, Some(n)) => (1, n),
            _ => return (0, 0, 0),
        },
    };
    (stability, major, minor.parse().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_serves_deployments_with_scale_and_status() {
        let catalog = Catalog::builtin();
        let d = catalog.get("apps", "v1", "deployments").unwrap();
        assert!(d.status);
        assert_eq!(d.scale.as_ref().unwrap().spec_replicas, "spec.replicas");
        assert_eq!(d.api_version(), "apps/v1");
        assert_eq!(d.gv_prefix(), "/apis/apps/v1");
    }

    #[test]
    fn builtin_catalog_serves_claims_and_storage_classes() {
        let catalog = Catalog::builtin();
        let pvc = catalog.by_kind("", "PersistentVolumeClaim").unwrap();
        assert!(pvc.namespaced && pvc.status);
        let sc = catalog.by_kind("storage.k8s.io", "StorageClass").unwrap();
        assert!(!sc.namespaced);
        assert_eq!(sc.short_names, ["sc"]);
    }

    #[test]
    fn the_preferred_version_comes_first() {
        let catalog = Catalog::builtin();
        assert_eq!(catalog.groups()["autoscaling"], ["v2", "v1"]);
        let mut ranked = vec!["v1alpha1", "v1", "v2beta1", "v1beta2", "v2", "foo"];
        ranked.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
        assert_eq!(
            ranked,
            ["v2", "v1", "v2beta1", "v1beta2", "v1alpha1", "foo"]
        );
    }

    #[test]
    fn removing_a_type_stops_serving_it() {
        let mut catalog = Catalog::builtin();
        catalog.remove("coordination.k8s.io", "leases");
        assert!(catalog.get("coordination.k8s.io", "v1", "leases").is_none());
        assert!(!catalog.groups().contains_key("coordination.k8s.io"));
    }
}
