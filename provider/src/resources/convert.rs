//! The error edge to Terraform, and conversions between Terraform values and the domain:
//! values to JSON (which the domain's input types deserialize from), domain issues to
//! diagnostics with attribute paths, and cluster errors to diagnostics with their cause chain
//! and hint, the same way for every resource.

use crate::cluster;
use crate::georep::errors;
use crate::georep::issue::{Issue, Severity as IssueSeverity};
use crate::georep::path::{FieldPath, Segment};
use crate::tfvalue::{AttributePath, Diagnostic, Diagnostics, Value};

/// The error diagnostic of a failed cluster operation: `summary` says which operation (a
/// title such as "Apply Failed"), the detail is the error with its causes, then what to do.
pub(crate) fn cluster_error(summary: &str, err: &cluster::Error) -> Diagnostic {
    Diagnostic::error(summary, cluster_detail(err))
}

/// The detail of a cluster error's diagnostic, for warnings about work left undone.
pub(crate) fn cluster_detail(err: &cluster::Error) -> String {
    format!("{}: {}", errors::chain(err), err.hint())
}

/// The error diagnostic of a long operation that stopped (an upgrade, a location addition):
/// the error with its causes, what to do (`hint`, one sentence), and the steps it had done.
pub(crate) fn stopped_operation(
    summary: &str,
    err: &(dyn std::error::Error + 'static),
    hint: &str,
    steps: &[impl std::fmt::Display],
) -> Diagnostic {
    use std::fmt::Write as _;
    let mut detail = errors::chain(err);
    let _ = write!(detail, "\n\n{hint}.");
    if !steps.is_empty() {
        detail.push_str("\n\nDone before it stopped:");
        for step in steps {
            let _ = write!(detail, "\n- {step}");
        }
    }
    Diagnostic::error(summary, detail)
}

/// The value of an operation that stops at its first error diagnostic, with that diagnostic
/// added to `diags`.
pub(crate) fn reported<T>(result: Result<T, Diagnostic>, diags: &mut Diagnostics) -> Option<T> {
    result.map_err(|diagnostic| diags.push(diagnostic)).ok()
}

/// Converts a wholly or partly known value to JSON. Unknown values become `null`: callers
/// drop the issues that point at them (see [`issue_is_about_unknown`]).
pub(crate) fn to_json(value: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::Null | Value::Unknown => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => J::from(i),
            (None, Some(f)) => serde_json::Number::from_f64(f).map_or(J::Null, J::Number),
            (None, None) => J::String(n.to_string()),
        },
        Value::String(s) => J::String(s.clone()),
        Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
            J::Array(items.iter().map(to_json).collect())
        }
        Value::Map(items) | Value::Object(items) => {
            J::Object(items.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
        Value::Dynamic(_, inner) => to_json(inner),
    }
}

/// `value` as the JSON a domain input type deserializes from: the attributes in `leave_out`
/// (the caller's own arguments and results) removed, and null fields dropped, recursively,
/// because the domain input treats an absent field as "not set" (and a null map block would
/// not deserialize as a map).
fn domain_json(value: &Value, leave_out: &[&str]) -> serde_json::Value {
    fn drop_null_fields(json: &mut serde_json::Value) {
        match json {
            serde_json::Value::Object(fields) => {
                fields.retain(|_, v| !v.is_null());
                fields.values_mut().for_each(drop_null_fields);
            }
            // A list element unknown at plan is left out, as if not written yet (null
            // elements were refused before mapping, see `whole_numbers`).
            serde_json::Value::Array(items) => {
                items.retain(|item| !item.is_null());
                items.iter_mut().for_each(drop_null_fields);
            }
            _ => {}
        }
    }
    let mut json = to_json(value);
    if let Some(fields) = json.as_object_mut() {
        for name in leave_out {
            fields.remove(*name);
        }
    }
    drop_null_fields(&mut json);
    json
}

/// `value` deserialized into the domain input `T` (see [`domain_json`]; `what` names `T` for
/// the reader, such as "the site input"). Callers have already reported every argument that
/// cannot map, so a failure here is a provider bug and is reported as one.
pub(crate) fn domain_input<T: serde::de::DeserializeOwned>(
    value: &Value,
    leave_out: &[&str],
    what: &str,
    diags: &mut Diagnostics,
) -> Option<T> {
    match serde_json::from_value(domain_json(value, leave_out)) {
        Ok(input) => Some(input),
        Err(err) => {
            diags.push(Diagnostic::error(
                "Provider Bug: Unmapped Configuration",
                format!(
                    "the configuration could not be mapped onto {what}: {err}; please report this"
                ),
            ));
            None
        }
    }
}

/// Reports what the domain input cannot read, each at its attribute: every number of `value`
/// (at `path`) that is not a whole number a 64-bit integer holds, such as a port of `443.5`
/// or `1e30`, and every null element of a list or map (`super_users = [null]`). Without
/// this they would fail to map as a provider bug instead of an error at their attribute.
/// Values under a `dynamic` type are free-form and left alone.
pub(crate) fn whole_numbers(value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    match value {
        Value::Number(n) if n.as_i64().is_none() => diags.push(
            Diagnostic::error(
                "Whole Number Expected",
                format!(
                    "{path} is {n}: use a whole number (no fraction, and within the range the \
                     attribute allows)"
                ),
            )
            .with_attribute(path.clone()),
        ),
        Value::Object(items) => {
            for (name, item) in items {
                whole_numbers(item, &path.attr(name), diags);
            }
        }
        Value::Map(items) => {
            for (key, item) in items {
                element(item, &path.key(key), diags);
            }
        }
        Value::List(items) | Value::Tuple(items) => {
            for (i, item) in items.iter().enumerate() {
                element(
                    item,
                    &path.index(i64::try_from(i).unwrap_or(i64::MAX)),
                    diags,
                );
            }
        }
        _ => {}
    }
}

/// One element of a list or map: null is refused, anything else checked as a value.
fn element(item: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    if item.is_null() {
        diags.push(
            Diagnostic::error(
                "Null Element",
                format!("{path} is null; remove it or give it a value"),
            )
            .with_attribute(path.clone()),
        );
    } else {
        whole_numbers(item, path, diags);
    }
}

/// The Terraform attribute path of a domain field path (the names are the same by design).
pub(crate) fn attribute_path(path: &FieldPath) -> AttributePath {
    path.segments()
        .iter()
        .fold(AttributePath::root(), |p, segment| match segment {
            Segment::Field(name) => p.attr(name),
            Segment::Key(key) => p.key(key),
            Segment::Index(i) => p.index(i64::try_from(*i).unwrap_or(i64::MAX)),
        })
}

/// The diagnostic for a domain issue.
pub(crate) fn diagnostic(issue: &Issue) -> Diagnostic {
    let diagnostic = match issue.severity {
        IssueSeverity::Error => Diagnostic::error(&issue.summary, &issue.detail),
        IssueSeverity::Warning => Diagnostic::warning(&issue.summary, &issue.detail),
    };
    if issue.path.is_root() {
        diagnostic
    } else {
        diagnostic.with_attribute(attribute_path(&issue.path))
    }
}

/// Whether an issue points at (or inside, or next to a parent that is) a value that is not
/// known yet. Such issues are not reported at validate time: the value will be checked again
/// once Terraform knows it.
pub(crate) fn issue_is_about_unknown(config: &Value, issue: &Issue) -> bool {
    let mut current = config;
    if current.is_unknown() {
        return true;
    }
    for segment in issue.path.segments() {
        let next = match segment {
            Segment::Field(name) => current.get(name),
            Segment::Key(key) => current.get(key),
            Segment::Index(i) => match current {
                Value::List(items) | Value::Tuple(items) | Value::Set(items) => items.get(*i),
                _ => None,
            },
        };
        match next {
            Some(value) if value.is_unknown() => return true,
            Some(value) => current = value,
            None => return false,
        }
    }
    !current.is_wholly_known()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_paths_become_attribute_paths_with_the_same_names() {
        let path = FieldPath::attr("storage").key("us_east").field("bucket");
        assert_eq!(
            attribute_path(&path),
            AttributePath::root()
                .attr("storage")
                .key("us_east")
                .attr("bucket")
        );
    }

    #[test]
    fn issues_about_unknown_values_are_recognised() {
        let config = Value::object([
            ("server_hostname", Value::Unknown),
            (
                "super_users",
                Value::List(vec![Value::string("a"), Value::Unknown]),
            ),
            ("redis", Value::object([("host", Value::string("r"))])),
        ]);
        let about =
            |path: FieldPath| issue_is_about_unknown(&config, &Issue::error(path, "S", "d"));
        assert!(about(FieldPath::attr("server_hostname")));
        assert!(about(FieldPath::attr("super_users")));
        assert!(!about(FieldPath::attr("redis").field("host")));
    }

    #[test]
    fn values_convert_to_json_of_the_same_shape() {
        let value = Value::object([
            ("a", Value::Number(3.into())),
            ("b", Value::List(vec![Value::Bool(true), Value::Null])),
        ]);
        assert_eq!(
            to_json(&value),
            serde_json::json!({"a": 3, "b": [true, null]})
        );
    }
}
