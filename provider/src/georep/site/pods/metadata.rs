//! Labels and annotations: Kubernetes' qualified names and label values
//! (`k8s.io/apimachinery/pkg/util/validation`), and the labels the operator keeps.

use std::collections::BTreeMap;

use crate::georep::issue::Issue;
use crate::georep::path::FieldPath;
use crate::georep::site::name::ObjectName;

/// The labels the operator keeps for itself (`ExceptionLabel`).
pub const RESERVED_LABELS: [&str; 3] = ["quay-component", "app", "quay-operator/quayregistry"];

/// The most bytes Kubernetes allows in one object's annotations (keys and values).
const MAX_ANNOTATIONS_BYTES: usize = 256 * 1024;

/// Whether `name` is the name part of a qualified name: 1 to 63 characters, alphanumerics,
/// `-`, `_` and `.`, starting and ending with an alphanumeric.
pub(super) fn is_label_name(name: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    (1..=63).contains(&name.len())
        && edge(name.chars().next())
        && edge(name.chars().last())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Kubernetes' qualified name (`[prefix/]name`, the prefix a DNS subdomain): label and
/// annotation keys.
fn qualified_name_problem(key: &str) -> Option<&'static str> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if prefix.is_some_and(|p| ObjectName::subdomain(p).is_err()) {
        return Some("has a prefix that is not a DNS subdomain");
    }
    if !is_label_name(name) {
        return Some(
            "is not 1 to 63 letters, digits, '-', '_' or '.' starting and ending with a letter \
             or digit (after an optional DNS-subdomain prefix and '/')",
        );
    }
    None
}

pub(super) fn labels(
    issues: &mut Vec<Issue>,
    path: &FieldPath,
    input: Option<&BTreeMap<String, String>>,
) -> BTreeMap<String, String> {
    let Some(input) = input else {
        return BTreeMap::new();
    };
    for (key, value) in input {
        let at = path.clone().key(key.clone());
        if RESERVED_LABELS.contains(&key.as_str()) {
            issues.push(Issue::error(
                at,
                "Reserved Label",
                format!(
                    "the operator sets label `{key}` itself and ignores an override of it; \
                     remove it"
                ),
            ));
        } else if let Some(problem) = qualified_name_problem(key) {
            issues.push(Issue::error(
                at,
                "Invalid Label",
                format!("label key `{key}` {problem}"),
            ));
        } else if !value.is_empty() && !is_label_name(value) {
            issues.push(Issue::error(
                at,
                "Invalid Label",
                format!(
                    "the value of label `{key}` is not empty and not 1 to 63 letters, digits, \
                     '-', '_' or '.' starting and ending with a letter or digit"
                ),
            ));
        }
    }
    input.clone()
}

pub(super) fn annotations(
    issues: &mut Vec<Issue>,
    path: &FieldPath,
    input: Option<&BTreeMap<String, String>>,
) -> BTreeMap<String, String> {
    let Some(input) = input else {
        return BTreeMap::new();
    };
    for key in input.keys() {
        // Kubernetes checks annotation keys lowercased (`ValidateAnnotations`).
        if let Some(problem) = qualified_name_problem(&key.to_ascii_lowercase()) {
            issues.push(Issue::error(
                path.clone().key(key.clone()),
                "Invalid Annotation",
                format!("annotation key `{key}` {problem}"),
            ));
        }
    }
    let size: usize = input.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > MAX_ANNOTATIONS_BYTES {
        issues.push(Issue::error(
            path.clone(),
            "Annotations Too Large",
            format!("the annotations take {size} bytes; Kubernetes allows 262144 in all"),
        ));
    }
    input.clone()
}
