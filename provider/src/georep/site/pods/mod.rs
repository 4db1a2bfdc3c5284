//! [`PodOverrides`]: the pod settings of one managed component (`quay`, `mirror`, `clair`) that
//! a `QuayRegistry` may override besides `replicas` and `env`, checked as the API server and
//! the operator would check them, so that a plan refuses what the cluster would refuse or
//! silently drop.
//!
//! Where the CRD allows each one (`spec.components[].overrides`, quay/quay-operator
//! `apis/quay/v1/quayregistry_types.go`, `ValidateOverrides` and the `Get*OverrideForComponent`
//! getters; `reference/quay-operator.md` §1.4):
//! - `resources` (`requests`, `limits`): quay, clair, mirror (and the databases and Redis,
//!   which a geo-replicated site leaves unmanaged); operator 3.11 and later.
//! - `affinity`: quay, clair, mirror; a `corev1.Affinity`. Its fields are checked against the
//!   CRD's schema: the API server prunes a field the schema does not have, so a misspelt key
//!   would be dropped without a word; required fields (`nodeSelectorTerms`, `weight`,
//!   `topologyKey`, `preference`, `podAffinityTerm`) are required here too.
//! - `labels`, `annotations`: every component; applied to its Deployments and pod templates,
//!   and for `route` to the Route (the `route` block takes only these two).
//!   The operator ignores the labels `quay-component`, `app` and `quay-operator/quayregistry`
//!   (`ExceptionLabel`), so they are refused. Keys and values follow Kubernetes' rules.
//! - `volumeSize`, `storageClassName`: clair (its ephemeral indexer volume), operator 3.18 and
//!   later: before, the operator ignores Clair's `volumeSize` and refuses its
//!   `storageClassName` (quay-operator commit 9b6e9885, first in `redhat-3.18`).
//! - Tolerations and node selectors are not overrides the CRD has: they cannot be set per
//!   component (affinity covers node placement).
//! - Any override on an unmanaged component is refused (the CRD's CEL rule `self.managed ||
//!   !has(self.overrides)`: "cannot set overrides on unmanaged component").
//!
//! Kubernetes' own rules, from `pkg/apis/core/validation/validation.go`: a request may not
//! exceed its limit; an extended resource (a name with a domain, such as `nvidia.com/gpu`)
//! needs its request equal to its limit; quantities are Kubernetes quantities
//! (`k8s.io/apimachinery/pkg/api/resource`, the CRD's `volumeSize` pattern) and not negative.
//! Pure: values in, issues out.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::name::ObjectName;
use crate::georep::issue::Issue;
use crate::georep::path::FieldPath;

mod affinity;
mod metadata;
mod quantity;
#[cfg(test)]
mod tests;

pub use quantity::Quantity;

use affinity::affinity;
use metadata::{annotations, labels};
use quantity::{compare, quantities};

/// The raw override attributes of one component block.
#[derive(Debug, Clone, Copy, Default)]
pub struct PodsInput<'a> {
    /// `requests`: resource name to quantity.
    pub requests: Option<&'a BTreeMap<String, String>>,
    /// `limits`: resource name to quantity.
    pub limits: Option<&'a BTreeMap<String, String>>,
    /// `affinity`: a JSON `corev1.Affinity`.
    pub affinity: Option<&'a str>,
    /// `labels`.
    pub labels: Option<&'a BTreeMap<String, String>>,
    /// `annotations`.
    pub annotations: Option<&'a BTreeMap<String, String>>,
    /// `volume_size` (clair).
    pub volume_size: Option<&'a str>,
    /// `storage_class_name` (clair).
    pub storage_class_name: Option<&'a str>,
}

impl PodsInput<'_> {
    /// The attribute names that are set, in schema order.
    fn set(&self) -> Vec<&'static str> {
        [
            ("requests", self.requests.is_some()),
            ("limits", self.limits.is_some()),
            ("affinity", self.affinity.is_some()),
            ("labels", self.labels.is_some()),
            ("annotations", self.annotations.is_some()),
            ("volume_size", self.volume_size.is_some()),
            ("storage_class_name", self.storage_class_name.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }
}

/// The override attributes of one block as owned strings: what import reads back from a live
/// component's `overrides`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodAttributes {
    /// `requests`.
    pub requests: Option<BTreeMap<String, String>>,
    /// `limits`.
    pub limits: Option<BTreeMap<String, String>>,
    /// `affinity`, as `jsonencode` writes it (keys sorted, no spaces).
    pub affinity: Option<String>,
    /// `labels`.
    pub labels: Option<BTreeMap<String, String>>,
    /// `annotations`.
    pub annotations: Option<BTreeMap<String, String>>,
    /// `volume_size`.
    pub volume_size: Option<String>,
    /// `storage_class_name`.
    pub storage_class_name: Option<String>,
}

impl PodAttributes {
    /// The attributes a live component's `overrides` holds (each absent when not set there).
    pub fn read(overrides: &Value) -> Self {
        // A quantity may be a JSON number in a spec written by hand (`cpu: 2`).
        let scalar = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let strings = |value: &Value| {
            value.as_object().filter(|m| !m.is_empty()).map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), scalar(v)?)))
                    .collect::<BTreeMap<_, _>>()
            })
        };
        let text = |value: &Value| value.as_str().map(str::to_owned);
        Self {
            requests: strings(&overrides["resources"]["requests"]),
            limits: strings(&overrides["resources"]["limits"]),
            affinity: overrides["affinity"]
                .as_object()
                .filter(|m| !m.is_empty())
                .map(|m| Value::Object(m.clone()).to_string()),
            labels: strings(&overrides["labels"]),
            annotations: strings(&overrides["annotations"]),
            volume_size: scalar(&overrides["volumeSize"]),
            storage_class_name: text(&overrides["storageClassName"]),
        }
    }
}

/// The `overrides` fields [`PodOverrides`] renders, which drift compares.
pub const POD_OVERRIDE_FIELDS: [&str; 6] = [
    "resources",
    "affinity",
    "labels",
    "annotations",
    "volumeSize",
    "storageClassName",
];

/// The validated overrides of one component; empty when none is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodOverrides {
    requests: BTreeMap<String, Quantity>,
    limits: BTreeMap<String, Quantity>,
    affinity: Option<Map<String, Value>>,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    volume_size: Option<Quantity>,
    storage_class_name: Option<ObjectName>,
}

impl PodOverrides {
    /// Whether no override is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Adds the set overrides to a component's `overrides`, with the CRD's field names.
    pub fn render_into(&self, overrides: &mut Map<String, Value>) {
        let quantities = |q: &BTreeMap<String, Quantity>| {
            Value::Object(
                q.iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.text.clone())))
                    .collect(),
            )
        };
        let strings = |m: &BTreeMap<String, String>| {
            Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            )
        };
        if !self.requests.is_empty() || !self.limits.is_empty() {
            let mut resources = Map::new();
            if !self.requests.is_empty() {
                resources.insert("requests".to_owned(), quantities(&self.requests));
            }
            if !self.limits.is_empty() {
                resources.insert("limits".to_owned(), quantities(&self.limits));
            }
            overrides.insert("resources".to_owned(), Value::Object(resources));
        }
        if let Some(affinity) = &self.affinity {
            overrides.insert("affinity".to_owned(), Value::Object(affinity.clone()));
        }
        if !self.labels.is_empty() {
            overrides.insert("labels".to_owned(), strings(&self.labels));
        }
        if !self.annotations.is_empty() {
            overrides.insert("annotations".to_owned(), strings(&self.annotations));
        }
        if let Some(size) = &self.volume_size {
            overrides.insert("volumeSize".to_owned(), Value::String(size.text.clone()));
        }
        if let Some(class) = &self.storage_class_name {
            overrides.insert(
                "storageClassName".to_owned(),
                Value::String(class.as_str().to_owned()),
            );
        }
    }

    /// The overrides set here that an operator older than the given `(major, minor)` would
    /// drop, ignore or refuse, as `(attribute, version)`.
    pub fn needs_operator(&self) -> Vec<(&'static str, (u32, u32))> {
        let mut needs = Vec::new();
        if !self.requests.is_empty() {
            needs.push(("requests", (3, 11)));
        }
        if !self.limits.is_empty() {
            needs.push(("limits", (3, 11)));
        }
        // Clair's indexer volume: accepted and ignored before 3.18, its class refused
        // (quay-operator 9b6e9885, first in redhat-3.18).
        if self.volume_size.is_some() {
            needs.push(("volume_size", (3, 18)));
        }
        if self.storage_class_name.is_some() {
            needs.push(("storage_class_name", (3, 18)));
        }
        needs
    }
}

/// The pod overrides of each managed component ([`PodOverrides`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComponentPods {
    /// `quay`'s.
    pub quay: PodOverrides,
    /// `mirror`'s.
    pub mirror: PodOverrides,
    /// `clair`'s.
    pub clair: PodOverrides,
    /// The Route's labels and annotations (the `route` component's overrides, which the
    /// operator's middleware puts on the Route).
    pub route: PodOverrides,
}

/// Errors for the overrides of `pods` that the operator at `version` (`3.10.2`) does not
/// support: its CRD would prune them or it would ignore or refuse them. An unreadable version
/// is no reason to refuse: nothing is reported.
pub fn check_operator_support(pods: &ComponentPods, version: &str) -> Vec<Issue> {
    let mut parts = version.trim_start_matches('v').split('.');
    let (Some(Ok(major)), Some(Ok(minor))) = (
        parts.next().map(str::parse::<u32>),
        parts.next().map(str::parse::<u32>),
    ) else {
        return Vec::new();
    };
    [
        ("quay", &pods.quay),
        ("mirror", &pods.mirror),
        ("clair", &pods.clair),
    ]
    .into_iter()
    .flat_map(|(block, overrides)| {
        overrides
            .needs_operator()
            .into_iter()
            .filter(move |(_, (need_major, need_minor))| {
                (major, minor) < (*need_major, *need_minor)
            })
            .map(move |(attribute, (need_major, need_minor))| {
                Issue::error(
                    FieldPath::attr(block).field(attribute),
                    "Override Needs A Newer Operator",
                    format!(
                        "{block}.{attribute} needs Quay Operator {need_major}.{need_minor} or \
                         later; this site's cluster runs {version}, which drops, ignores or \
                         refuses it. Upgrade the operator first (quay_georep_upgrade), or \
                         remove {attribute}"
                    ),
                )
            })
    })
    .collect()
}

/// Checks the override attributes of block `block`: `managed` says whether the component is
/// managed on this site, `volumes` whether the block takes `volume_size` and
/// `storage_class_name` (clair). Returns the overrides (`None` after an error; empty for an
/// unmanaged component) and the issues.
pub fn check(
    block: &'static str,
    input: PodsInput<'_>,
    managed: bool,
    volumes: bool,
) -> (Option<PodOverrides>, Vec<Issue>) {
    let mut issues = Vec::new();
    let at = |attribute: &'static str| FieldPath::attr(block).field(attribute);
    if !managed {
        for attribute in input.set() {
            issues.push(Issue::error(
                at(attribute),
                "Override On Unmanaged Component",
                format!(
                    "{block}.{attribute} is set, but the {block} component is not managed on \
                     this site, and the QuayRegistry CRD refuses it (\"cannot set overrides on \
                     unmanaged component\"); remove it, or enable {block}"
                ),
            ));
        }
        return (issues.is_empty().then(PodOverrides::default), issues);
    }
    if !volumes {
        for attribute in ["volume_size", "storage_class_name"] {
            if input.set().contains(&attribute) {
                issues.push(Issue::error(
                    at(attribute),
                    "Override Not Supported",
                    format!(
                        "the operator takes {attribute} only for clair (its indexer volume); \
                         remove it from {block}"
                    ),
                ));
            }
        }
    }
    let requests = quantities(&mut issues, &at("requests"), input.requests);
    let limits = quantities(&mut issues, &at("limits"), input.limits);
    if requests.is_some() || limits.is_some() {
        let none = BTreeMap::new();
        compare(
            &mut issues,
            block,
            requests.as_ref().unwrap_or(&none),
            limits.as_ref().unwrap_or(&none),
        );
    }
    let affinity = input
        .affinity
        .and_then(|text| affinity(&mut issues, block, &at("affinity"), text));
    let labels = labels(&mut issues, &at("labels"), input.labels);
    let annotations = annotations(&mut issues, &at("annotations"), input.annotations);
    let volume_size = input
        .volume_size
        .and_then(|size| volume_size(&mut issues, block, &at("volume_size"), size));
    let storage_class_name = input.storage_class_name.and_then(|class| {
        ObjectName::subdomain(class)
            .map_err(|err| {
                issues.push(Issue::error(
                    at("storage_class_name"),
                    "Invalid Storage Class Name",
                    format!("{block}.storage_class_name {err}"),
                ));
            })
            .ok()
    });
    if issues.iter().any(Issue::is_error) {
        return (None, issues);
    }
    let overrides = PodOverrides {
        requests: requests.unwrap_or_default(),
        limits: limits.unwrap_or_default(),
        affinity,
        labels,
        annotations,
        volume_size,
        storage_class_name,
    };
    (Some(overrides), issues)
}

/// `volume_size`: a positive quantity.
fn volume_size(
    issues: &mut Vec<Issue>,
    block: &str,
    path: &FieldPath,
    size: &str,
) -> Option<Quantity> {
    let problem = match Quantity::parse(size) {
        Ok(q) if q.value > 0.0 => return Some(q),
        Ok(_) => format!("`{size}` is not a positive size, such as 50Gi"),
        Err(problem) => problem,
    };
    issues.push(Issue::error(
        path.clone(),
        "Invalid Volume Size",
        format!("{block}.volume_size {problem}"),
    ));
    None
}
