//! Decoding and encoding of the values [`ProviderServer`](super::ProviderServer) exchanges with
//! Terraform, and the small rules it applies to them: the diagnostics of values that do not
//! decode, of unknown type names and of provider bugs, stored state shaped to the current
//! schema, and the value at an attribute path.

use super::messages::DynamicValue;
use crate::tfvalue::{self, AttributePath, Diagnostic, Diagnostics, PathStep, Schema, Type, Value};

/// A data source's configuration as the "plan" its result must honour: arguments keep their
/// configured values, computed attributes may be anything.
pub(super) fn config_as_plan(schema: &Schema, config: &Value) -> Value {
    let mut planned = config.clone();
    // Computed-only attributes are always null in a configuration, so this covers them too.
    if let Value::Object(attrs) = &mut planned {
        for attribute in &schema.block.attributes {
            if attribute.is_computed() && attrs.get(&attribute.name).is_none_or(Value::is_null) {
                attrs.insert(attribute.name.clone(), Value::Unknown);
            }
        }
    }
    planned
}

/// Reports every write-only attribute `config` sets, for a Terraform that would store it in
/// plan and state (before 1.11, or one that does not announce the capability).
pub(super) fn refuse_write_only(schema: &Schema, config: &Value, diags: &mut Diagnostics) {
    for path in schema.block.write_only_values(config) {
        // By convention a write-only `x_wo` has a stored counterpart `x`.
        let stored = match path.steps().last() {
            Some(PathStep::Attribute(name)) => name.strip_suffix("_wo").map(str::to_owned),
            _ => None,
        };
        let instead = stored.map_or_else(
            || "remove it".to_owned(),
            |name| format!("set {name} instead (stored in the state, marked sensitive)"),
        );
        diags.push(
            Diagnostic::error(
                "Write-Only Attribute Not Supported",
                format!(
                    "{path} is write-only: Terraform 1.11 and later pass its value to the \
                     provider without storing it in the plan or the state, but this Terraform \
                     does not support write-only attributes and would store it. Upgrade to \
                     Terraform 1.11 or later, or {instead}"
                ),
            )
            .with_attribute(path),
        );
    }
}

pub(super) fn usable_or(value: Value, ty: &Type, fallback: Value) -> Value {
    if value.conforms_to(ty).is_ok() && value.is_wholly_known() {
        value
    } else {
        fallback
    }
}

pub(super) fn unknown_type<'a>(
    kind: &str,
    type_name: &str,
    known: impl Iterator<Item = &'a String>,
) -> Diagnostic {
    let known: Vec<&str> = known.map(String::as_str).collect();
    Diagnostic::error(
        "Unknown Type",
        format!(
            "this provider has no {kind} named {type_name}; it offers: {}",
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        ),
    )
}

pub(super) fn bug_diag(type_name: &str, what: &str) -> Diagnostic {
    Diagnostic::error(
        "Provider Bug",
        format!("{type_name} {what}. This is a bug in terraform-provider-quay; please report it."),
    )
}

pub(super) fn decode(
    ty: &Type,
    value: &DynamicValue,
    what: &str,
    diags: &mut Diagnostics,
) -> Option<Value> {
    match tfvalue::decode_dynamic(ty, &value.msgpack, &value.json) {
        Ok(value) => Some(value),
        Err(err) => {
            diags.push(Diagnostic::error(
                "Invalid Value From Terraform",
                format!(
                    "the {what} Terraform sent could not be decoded against the schema: {err}. \
                     Check that Terraform and the provider versions are compatible"
                ),
            ));
            None
        }
    }
}

/// Decodes every value (reporting each failure), or `None` when any fails.
pub(super) fn decode_all<const N: usize>(
    ty: &Type,
    values: [(&DynamicValue, &str); N],
    diags: &mut Diagnostics,
) -> Option<[Value; N]> {
    let decoded = values.map(|(value, what)| decode(ty, value, what, diags));
    if decoded.iter().any(Option::is_none) {
        return None;
    }
    Some(decoded.map(|value| value.unwrap_or(Value::Null)))
}

pub(super) fn encode(ty: &Type, value: &Value, diags: &mut Diagnostics) -> Option<DynamicValue> {
    match tfvalue::msgpack::encode(ty, value) {
        Ok(bytes) => Some(DynamicValue::msgpack(bytes)),
        Err(err) => {
            diags.push(Diagnostic::error(
                "Provider Bug: Unencodable Value",
                format!("a value could not be encoded for Terraform: {err}; please report this"),
            ));
            None
        }
    }
}

/// The value at `path`, or null where the path leads nowhere.
pub(super) fn value_at<'a>(value: &'a Value, path: &AttributePath) -> &'a Value {
    let mut current = value;
    for step in path.steps() {
        current = match (step, current) {
            (PathStep::Attribute(name) | PathStep::ElementKeyString(name), v) => {
                v.get(name).unwrap_or(&Value::Null)
            }
            (PathStep::ElementKeyInt(i), Value::List(items) | Value::Tuple(items)) => {
                usize::try_from(*i)
                    .ok()
                    .and_then(|i| items.get(i))
                    .unwrap_or(&Value::Null)
            }
            _ => &Value::Null,
        };
    }
    current
}

/// Shapes stored JSON state to the current schema: attributes the schema no longer has are
/// dropped and new ones are added as null, as Terraform's own SDKs do when they upgrade state.
pub(super) fn normalize_json(ty: &Type, json: serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match (ty, json) {
        (Type::Object(attrs), J::Object(mut fields)) => {
            let mut out = serde_json::Map::new();
            for (name, attr_ty) in attrs {
                let field = fields.remove(name).unwrap_or(J::Null);
                out.insert(name.clone(), normalize_json(attr_ty, field));
            }
            J::Object(out)
        }
        (Type::List(elem) | Type::Set(elem), J::Array(items)) => J::Array(
            items
                .into_iter()
                .map(|item| normalize_json(elem, item))
                .collect(),
        ),
        (Type::Map(elem), J::Object(fields)) => J::Object(
            fields
                .into_iter()
                .map(|(k, v)| (k, normalize_json(elem, v)))
                .collect(),
        ),
        (_, other) => other,
    }
}
