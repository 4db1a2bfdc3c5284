//! Admission of custom resources: structural OpenAPI v3 validation, pruning, defaulting and
//! CEL `x-kubernetes-validations` (through `kube-cel`).
//!
//! [`CompiledSchema::admit`] mutates the object the way the apiserver does before storing it
//! (defaults filled, unknown fields pruned, non-nullable nulls dropped) and then rejects it
//! with a 422 `Invalid` listing every problem. It does not validate built-in kinds; real
//! servers do, we only check what the provider and kubectl need.

use std::collections::BTreeMap;
use std::sync::Mutex;

use regex::Regex;
use serde_json::{Map, Value};

use super::status::{ApiError, Cause, Target};

/// The validation schema of one CRD version, with its CEL rules compiled once.
#[derive(Debug)]
pub struct CompiledSchema {
    group: String,
    schema: Value,
    cel: kube_cel::CompiledSchema,
    patterns: Mutex<BTreeMap<String, Option<Regex>>>,
}

/// Where unknown fields were found while pruning (for `fieldValidation=Strict|Warn`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Dotted paths of dropped fields.
    pub fields: Vec<String>,
}

impl CompiledSchema {
    /// Compile the `openAPIV3Schema` of a CRD version of `group`.
    pub fn new(group: &str, schema: Value) -> Self {
        let cel = kube_cel::compile_schema(&schema);
        Self {
            group: group.to_owned(),
            schema,
            cel,
            patterns: Mutex::new(BTreeMap::new()),
        }
    }

    /// The schema as given in the CRD.
    pub fn schema(&self) -> &Value {
        &self.schema
    }

    /// Default, prune and validate `object` (an update when `old` is given).
    ///
    /// Returns the paths of pruned unknown fields.
    ///
    /// # Errors
    /// [`ApiError::Invalid`] with one cause per structural or CEL failure.
    pub fn admit(
        &self,
        kind: &str,
        object: &mut Value,
        old: Option<&Value>,
    ) -> Result<Pruned, ApiError> {
        let mut causes = Vec::new();
        let mut pruned = Pruned::default();
        if let Some(root) = object.as_object_mut() {
            let props = self.schema.get("properties").and_then(Value::as_object);
            for (key, sub) in props.into_iter().flatten() {
                if matches!(key.as_str(), "metadata" | "apiVersion" | "kind") {
                    continue;
                }
                fill_default(root, key, sub);
                if let Some(v) = root.get_mut(key) {
                    self.walk(v, sub, key, &mut causes, &mut pruned);
                }
                drop_null(root, key, sub);
            }
            let preserve =
                self.schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
            if !preserve {
                let unknown: Vec<String> = root
                    .keys()
                    .filter(|k| !matches!(k.as_str(), "metadata" | "apiVersion" | "kind"))
                    .filter(|k| props.is_none_or(|p| !p.contains_key(*k)))
                    .cloned()
                    .collect();
                for k in unknown {
                    root.remove(&k);
                    pruned.fields.push(k);
                }
            }
            for req in required(&self.schema) {
                if !root.contains_key(req) {
                    causes.push(Cause::new("FieldValueRequired", req, "Required value"));
                }
            }
        }
        if causes.is_empty()
            && let Err(errors) =
                kube_cel::Validator::new().validate_compiled(&self.cel, object, old)
        {
            for e in errors.into_vec() {
                let field = e.field_path.clone();
                let shown = if field.is_empty() {
                    "object".to_owned()
                } else {
                    type_name_at(object, &field)
                };
                causes.push(Cause::new(
                    e.reason.as_deref().unwrap_or("FieldValueInvalid"),
                    field,
                    format!("Invalid value: \"{shown}\": {}", e.message),
                ));
            }
        }
        if causes.is_empty() {
            Ok(pruned)
        } else {
            let name = object
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            Err(ApiError::Invalid {
                target: Target::new(&self.group, kind, name),
                causes,
            })
        }
    }

    fn pattern(&self, pattern: &str) -> Option<Regex> {
        let mut cache = self
            .patterns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .entry(pattern.to_owned())
            .or_insert_with(|| Regex::new(pattern).ok())
            .clone()
    }

    fn walk(
        &self,
        value: &mut Value,
        schema: &Value,
        path: &str,
        causes: &mut Vec<Cause>,
        pruned: &mut Pruned,
    ) {
        let int_or_string = schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
        let ty = schema.get("type").and_then(Value::as_str);
        if int_or_string {
            if !(value.is_string() || is_integer(value)) {
                causes.push(type_cause(path, value, "integer or string"));
            }
            return;
        }
        let ok = match ty {
            Some("object") => value.is_object(),
            Some("array") => value.is_array(),
            Some("string") => value.is_string(),
            Some("integer") => is_integer(value),
            Some("number") => value.is_number(),
            Some("boolean") => value.is_boolean(),
            _ => true,
        };
        if !ok {
            causes.push(type_cause(path, value, ty.unwrap_or("unknown")));
            return;
        }
        if let Some(options) = schema.get("enum").and_then(Value::as_array)
            && !options.contains(value)
        {
            let supported: Vec<String> = options.iter().map(Value::to_string).collect();
            causes.push(Cause::new(
                "FieldValueNotSupported",
                path,
                format!(
                    "Unsupported value: {value}: supported values: {}",
                    supported.join(", ")
                ),
            ));
        }
        let snapshot = if value.is_string() || value.is_number() {
            value.clone()
        } else {
            Value::Null
        };
        match value {
            Value::String(s) => {
                let len = s.chars().count() as u64;
                if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                    && len < min
                {
                    causes.push(invalid(
                        path,
                        &snapshot,
                        &format!("should be at least {min} chars long"),
                    ));
                }
                if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                    && len > max
                {
                    causes.push(Cause::new(
                        "FieldValueTooLong",
                        path,
                        format!("Too long: may not be more than {max} bytes"),
                    ));
                }
                if let Some(p) = schema.get("pattern").and_then(Value::as_str)
                    && self.pattern(p).is_some_and(|re| !re.is_match(s))
                {
                    causes.push(invalid(
                        path,
                        &snapshot,
                        &format!("{path} in body should match '{p}'"),
                    ));
                }
            }
            Value::Number(n) => {
                let x = n.as_f64().unwrap_or(0.0);
                let excl_min = schema.get("exclusiveMinimum") == Some(&Value::Bool(true));
                let excl_max = schema.get("exclusiveMaximum") == Some(&Value::Bool(true));
                if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
                    && (x < min || (excl_min && x <= min))
                {
                    causes.push(invalid(
                        path,
                        &snapshot,
                        &format!("{path} in body should be greater than or equal to {min}"),
                    ));
                }
                if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
                    && (x > max || (excl_max && x >= max))
                {
                    causes.push(invalid(
                        path,
                        &snapshot,
                        &format!("{path} in body should be less than or equal to {max}"),
                    ));
                }
            }
            Value::Array(items) => {
                let len = items.len() as u64;
                if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                    && len < min
                {
                    causes.push(invalid(
                        path,
                        &Value::Null,
                        &format!("{path} in body should have at least {min} items"),
                    ));
                }
                if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                    && len > max
                {
                    causes.push(Cause::new(
                        "FieldValueTooMany",
                        path,
                        format!("Too many: {len}: must have at most {max} items"),
                    ));
                }
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter_mut().enumerate() {
                        self.walk(item, item_schema, &format!("{path}[{i}]"), causes, pruned);
                    }
                }
            }
            Value::Object(map) => self.walk_object(map, schema, path, causes, pruned),
            _ => {}
        }
    }

    fn walk_object(
        &self,
        map: &mut Map<String, Value>,
        schema: &Value,
        path: &str,
        causes: &mut Vec<Cause>,
        pruned: &mut Pruned,
    ) {
        let props = schema.get("properties").and_then(Value::as_object);
        for (key, sub) in props.into_iter().flatten() {
            fill_default(map, key, sub);
            if let Some(v) = map.get_mut(key)
                && !v.is_null()
            {
                self.walk(v, sub, &format!("{path}.{key}"), causes, pruned);
            }
            drop_null(map, key, sub);
        }
        for req in required(schema) {
            if !map.contains_key(req) {
                causes.push(Cause::new(
                    "FieldValueRequired",
                    format!("{path}.{req}"),
                    "Required value",
                ));
            }
        }
        let preserve =
            schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
        match schema.get("additionalProperties") {
            Some(Value::Object(_)) => {
                let extra = schema
                    .get("additionalProperties")
                    .cloned()
                    .unwrap_or(Value::Null);
                for (key, v) in map.iter_mut() {
                    if props.is_none_or(|p| !p.contains_key(key)) {
                        self.walk(v, &extra, &format!("{path}.{key}"), causes, pruned);
                    }
                }
            }
            Some(Value::Bool(true)) => {}
            _ if preserve => {}
            _ => {
                let unknown: Vec<String> = map
                    .keys()
                    .filter(|k| props.is_none_or(|p| !p.contains_key(*k)))
                    .cloned()
                    .collect();
                for k in unknown {
                    map.remove(&k);
                    pruned.fields.push(format!("{path}.{k}"));
                }
            }
        }
    }
}

fn required(schema: &Value) -> impl Iterator<Item = &str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

fn fill_default(map: &mut Map<String, Value>, key: &str, schema: &Value) {
    if let Some(default) = schema.get("default")
        && map.get(key).is_none_or(Value::is_null)
    {
        map.insert(key.to_owned(), default.clone());
    }
}

fn drop_null(map: &mut Map<String, Value>, key: &str, schema: &Value) {
    let nullable = schema.get("nullable") == Some(&Value::Bool(true));
    if !nullable && map.get(key).is_some_and(Value::is_null) {
        map.remove(key);
    }
}

fn is_integer(v: &Value) -> bool {
    v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0)
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_cause(path: &str, value: &Value, expected: &str) -> Cause {
    Cause::new(
        "FieldValueTypeInvalid",
        path,
        format!(
            "Invalid value: \"{}\": {path} in body must be of type {expected}: \"{}\"",
            json_type(value),
            json_type(value)
        ),
    )
}

fn invalid(path: &str, value: &Value, detail: &str) -> Cause {
    let shown = match value {
        Value::String(s) => format!("\"{s}\""),
        Value::Null => "null".to_owned(),
        other => other.to_string(),
    };
    Cause::new(
        "FieldValueInvalid",
        path,
        format!("Invalid value: {shown}: {detail}"),
    )
}

/// The JSON type name at a CEL field path such as `spec.components[0]`, as the apiserver shows it.
fn type_name_at(object: &Value, path: &str) -> String {
    let mut current = Some(object);
    for part in path.split('.') {
        let (key, index) = match part.split_once('[') {
            Some((k, rest)) => (k, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        current = current.and_then(|v| v.get(key));
        if let Some(i) = index {
            current = current.and_then(|v| v.get(i));
        }
    }
    current.map_or("object", json_type).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> CompiledSchema {
        CompiledSchema::new(
            "example.com",
            json!({
                "type": "object",
                "properties": {
                    "spec": {
                        "type": "object",
                        "required": ["size"],
                        "properties": {
                            "size": {"type": "integer", "minimum": 1, "maximum": 5},
                            "mode": {"type": "string", "enum": ["fast", "slow"], "default": "slow"},
                            "name": {"type": "string", "pattern": "^[a-z]+$"},
                            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                            "note": {"type": "string", "nullable": true}
                        },
                        "x-kubernetes-validations": [
                            {"rule": "self.size != 3", "message": "size must not be three"}
                        ]
                    }
                }
            }),
        )
    }

    fn admit(obj: Value) -> Result<(Value, Pruned), Vec<Cause>> {
        let mut obj = obj;
        match schema().admit("Widget", &mut obj, None) {
            Ok(p) => Ok((obj, p)),
            Err(ApiError::Invalid { causes, .. }) => Err(causes),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn fills_defaults_and_prunes_unknown_fields() {
        let (obj, pruned) = admit(
            json!({"metadata": {"name": "w"}, "spec": {"size": 1, "bogus": 1, "free": {"x": 1}}}),
        )
        .unwrap();
        assert_eq!(obj["spec"]["mode"], "slow");
        assert!(obj["spec"].get("bogus").is_none());
        assert_eq!(obj["spec"]["free"]["x"], 1);
        assert_eq!(pruned.fields, vec!["spec.bogus".to_owned()]);
    }

    #[test]
    fn rejects_wrong_type_enum_pattern_range_and_missing_required() {
        let causes =
            admit(json!({"spec": {"mode": "odd", "name": "UP", "labels": {"a": 1}}})).unwrap_err();
        let fields: Vec<&str> = causes.iter().map(|c| c.field.as_str()).collect();
        assert!(fields.contains(&"spec.mode"), "{causes:?}");
        assert!(fields.contains(&"spec.name"), "{causes:?}");
        assert!(fields.contains(&"spec.labels.a"), "{causes:?}");
        assert!(fields.contains(&"spec.size"), "{causes:?}");
        let causes = admit(json!({"spec": {"size": 9}})).unwrap_err();
        assert_eq!(causes[0].field, "spec.size");
        let causes = admit(json!({"spec": {"size": "two"}})).unwrap_err();
        assert_eq!(causes[0].reason, "FieldValueTypeInvalid");
    }

    #[test]
    fn null_is_kept_only_where_nullable() {
        let (obj, _) = admit(json!({"spec": {"size": 1, "note": null, "name": null}})).unwrap();
        assert!(obj["spec"]["note"].is_null() && obj["spec"].get("note").is_some());
        assert!(obj["spec"].get("name").is_none());
    }

    #[test]
    fn cel_rule_failure_reports_its_message_at_the_rule_path() {
        let causes = admit(json!({"spec": {"size": 3}})).unwrap_err();
        assert_eq!(causes.len(), 1, "{causes:?}");
        assert_eq!(causes[0].field, "spec");
        assert!(
            causes[0].message.contains("size must not be three"),
            "{causes:?}"
        );
    }
}
