//! The CatalogSource an OLM upgrade installs from: `operator { source, source_namespace }`.
//!
//! A disconnected cluster cannot reach `redhat-operators`; its Subscription installs from a
//! mirrored CatalogSource (`oc-mirror` writes one, such as `cs-redhat-operator-index` in
//! `openshift-marketplace`). With `source` set, preflight reads the channel's head from the
//! PackageManifest that catalog serves (labelled `catalog=<source>`,
//! `catalog-namespace=<source_namespace>`), and the operator phase sets the Subscription's
//! `spec.source` and `spec.sourceNamespace` with its channel, so OLM resolves from the mirror.
//! Without it, the Subscription's own catalog is used, as before.

use std::fmt;

use super::site::is_dns_label;
use crate::georep::issue::Issue;
use crate::georep::path::FieldPath;

/// A CatalogSource by namespace and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogSourceRef {
    /// `metadata.name`: a Subscription's `spec.source`.
    pub name: String,
    /// `metadata.namespace`: a Subscription's `spec.sourceNamespace`.
    pub namespace: String,
}

impl fmt::Display for CatalogSourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// The checked `source` and `source_namespace` of an OLM `operator` block: `Some(None)`
/// when neither is set, `None` after an issue.
#[allow(
    clippy::option_option,
    reason = "the outer None says an issue was reported"
)]
pub(super) fn check(
    source: Option<&str>,
    source_namespace: Option<&str>,
    issues: &mut Vec<Issue>,
) -> Option<Option<CatalogSourceRef>> {
    match (source, source_namespace) {
        (None, None) => Some(None),
        (Some(_), None) | (None, Some(_)) => {
            let missing = if source.is_none() {
                "source"
            } else {
                "source_namespace"
            };
            issues.push(Issue::error(
                FieldPath::attr("operator").field(missing),
                "Incomplete Catalog Source",
                format!(
                    "operator.source and operator.source_namespace name one CatalogSource \
                     together: set operator.{missing} too, or neither"
                ),
            ));
            None
        }
        (Some(source), Some(source_namespace)) => {
            let name = required_name(Some(source), "source", issues);
            let namespace = required_name(Some(source_namespace), "source_namespace", issues);
            Some(Some(CatalogSourceRef {
                name: name?,
                namespace: namespace?,
            }))
        }
    }
}

/// An error for each of `source` and `source_namespace` set with the deployment method.
pub(super) fn refuse_with_deployment(
    source_set: bool,
    source_namespace_set: bool,
    issues: &mut Vec<Issue>,
) {
    for (field, set) in [
        ("source", source_set),
        ("source_namespace", source_namespace_set),
    ] {
        if set {
            issues.push(Issue::error(
                FieldPath::attr("operator").field(field),
                "Catalog Source Not Used With Deployment",
                format!(
                    "a CatalogSource is an OLM setting: remove operator.{field}, or use method \
                     = \"olm\""
                ),
            ));
        }
    }
}

/// An `operator.<field>` that must be set and be a Kubernetes name (a DNS label).
pub(super) fn required_name(
    value: Option<&str>,
    field: &'static str,
    issues: &mut Vec<Issue>,
) -> Option<String> {
    let path = FieldPath::attr("operator").field(field);
    match value {
        None => {
            issues.push(Issue::error(
                path,
                "Missing Operator Attribute",
                format!("set operator.{field}: the Subscription or Deployment {field}"),
            ));
            None
        }
        Some(text) if !is_dns_label(text) => {
            issues.push(Issue::error(
                path,
                "Invalid Kubernetes Name",
                format!(
                    "operator.{field} is {text:?}: use 1 to 63 lowercase letters, digits or \
                     dashes, starting and ending with a letter or digit"
                ),
            ));
            None
        }
        Some(text) => Some(text.to_owned()),
    }
}
