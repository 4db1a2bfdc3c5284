//! `affinity`: a `corev1.Affinity` checked against the part of the QuayRegistry CRD's schema
//! that describes it (`overrides.properties.affinity` of the CRD,
//! `config/crd/bases/quay.redhat.com_quayregistries.yaml` upstream; it has no `matchLabelKeys` or
//! `mismatchLabelKeys`): the API server prunes fields the schema lacks, so an unknown field is
//! refused rather than lost (a misspelt `matchLabels` would leave a selector that matches every
//! pod), and required fields are required.

use serde_json::{Map, Value};

use crate::georep::issue::Issue;
use crate::georep::path::FieldPath;

/// `affinity`: a JSON object whose fields a Kubernetes Affinity has.
pub(super) fn affinity(
    issues: &mut Vec<Issue>,
    block: &str,
    path: &FieldPath,
    text: &str,
) -> Option<Map<String, Value>> {
    if let Ok(Value::Object(affinity)) = serde_json::from_str::<Value>(text) {
        let before = issues.len();
        check_fields(issues, path, "affinity", &affinity, &AFFINITY);
        return (issues.len() == before).then_some(affinity);
    }
    issues.push(Issue::error(
        path.clone(),
        "Invalid Affinity",
        format!(
            "{block}.affinity is not a JSON object; give a Kubernetes Affinity with \
             jsonencode({{ nodeAffinity = {{ ... }} }})"
        ),
    ));
    None
}

/// One field of the CRD's schema for `corev1.Affinity` (the part a QuayRegistry carries).
struct Field {
    name: &'static str,
    required: bool,
    shape: Shape,
}

/// What a field holds.
enum Shape {
    /// An object with these fields.
    Object(&'static [Field]),
    /// A list of objects with these fields.
    List(&'static [Field]),
    /// An integer in a range.
    Integer(i64, i64),
    /// A non-empty string.
    Text,
    /// Anything the schema leaves open here (`matchLabels`, `values`, `namespaces`).
    Any,
}

const fn field(name: &'static str, required: bool, shape: Shape) -> Field {
    Field {
        name,
        required,
        shape,
    }
}

const REQUIREMENT: [Field; 3] = [
    field("key", true, Shape::Text),
    field("operator", true, Shape::Text),
    field("values", false, Shape::Any),
];
const LABEL_SELECTOR: [Field; 2] = [
    field("matchExpressions", false, Shape::List(&REQUIREMENT)),
    field("matchLabels", false, Shape::Any),
];
const POD_AFFINITY_TERM: [Field; 4] = [
    field("labelSelector", false, Shape::Object(&LABEL_SELECTOR)),
    field("namespaceSelector", false, Shape::Object(&LABEL_SELECTOR)),
    field("namespaces", false, Shape::Any),
    field("topologyKey", true, Shape::Text),
];
const WEIGHTED_POD_AFFINITY_TERM: [Field; 2] = [
    field("weight", true, Shape::Integer(1, 100)),
    field("podAffinityTerm", true, Shape::Object(&POD_AFFINITY_TERM)),
];
const POD_AFFINITY: [Field; 2] = [
    field(
        "requiredDuringSchedulingIgnoredDuringExecution",
        false,
        Shape::List(&POD_AFFINITY_TERM),
    ),
    field(
        "preferredDuringSchedulingIgnoredDuringExecution",
        false,
        Shape::List(&WEIGHTED_POD_AFFINITY_TERM),
    ),
];
const NODE_SELECTOR_TERM: [Field; 2] = [
    field("matchExpressions", false, Shape::List(&REQUIREMENT)),
    field("matchFields", false, Shape::List(&REQUIREMENT)),
];
const NODE_SELECTOR: [Field; 1] = [field(
    "nodeSelectorTerms",
    true,
    Shape::List(&NODE_SELECTOR_TERM),
)];
const PREFERRED_SCHEDULING_TERM: [Field; 2] = [
    field("weight", true, Shape::Integer(1, 100)),
    field("preference", true, Shape::Object(&NODE_SELECTOR_TERM)),
];
const NODE_AFFINITY: [Field; 2] = [
    field(
        "requiredDuringSchedulingIgnoredDuringExecution",
        false,
        Shape::Object(&NODE_SELECTOR),
    ),
    field(
        "preferredDuringSchedulingIgnoredDuringExecution",
        false,
        Shape::List(&PREFERRED_SCHEDULING_TERM),
    ),
];
const AFFINITY: [Field; 3] = [
    field("nodeAffinity", false, Shape::Object(&NODE_AFFINITY)),
    field("podAffinity", false, Shape::Object(&POD_AFFINITY)),
    field("podAntiAffinity", false, Shape::Object(&POD_AFFINITY)),
];

/// Checks `object` (at `where_` inside the affinity) against `fields`.
fn check_fields(
    issues: &mut Vec<Issue>,
    path: &FieldPath,
    where_: &str,
    object: &Map<String, Value>,
    fields: &[Field],
) {
    for key in object.keys() {
        if !fields.iter().any(|f| f.name == key) {
            let known: Vec<&str> = fields.iter().map(|f| f.name).collect();
            issues.push(Issue::error(
                path.clone(),
                "Invalid Affinity",
                format!(
                    "{where_} has field `{key}`, which a Kubernetes Affinity does not have there \
                     (the API server would drop it); known fields: {}",
                    known.join(", ")
                ),
            ));
        }
    }
    for f in fields {
        let inner = format!("{where_}.{}", f.name);
        let Some(value) = object.get(f.name).filter(|v| !v.is_null()) else {
            if f.required {
                issues.push(Issue::error(
                    path.clone(),
                    "Invalid Affinity",
                    format!("{inner} is required"),
                ));
            }
            continue;
        };
        let wrong = |what: &str| {
            Issue::error(
                path.clone(),
                "Invalid Affinity",
                format!("{inner} must be {what}"),
            )
        };
        match (&f.shape, value) {
            (Shape::Object(fields), Value::Object(o)) => {
                check_fields(issues, path, &inner, o, fields);
            }
            (Shape::List(fields), Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::Object(o) => {
                            check_fields(issues, path, &format!("{inner}[{i}]"), o, fields);
                        }
                        _ => issues.push(wrong("a list of objects")),
                    }
                }
            }
            (Shape::Integer(min, max), Value::Number(n))
                if n.as_i64().is_some_and(|n| (*min..=*max).contains(&n)) => {}
            (Shape::Integer(min, max), _) => {
                issues.push(wrong(&format!("a whole number from {min} to {max}")));
            }
            (Shape::Text, Value::String(s)) if !s.is_empty() => {}
            (Shape::Text, _) => issues.push(wrong("a non-empty string")),
            (Shape::Any, _) => {}
            (Shape::Object(_), _) => issues.push(wrong("an object")),
            (Shape::List(_), _) => issues.push(wrong("a list")),
        }
    }
}
