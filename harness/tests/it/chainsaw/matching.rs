//! Chainsaw's rules for resource files: templating (`($values.x)`, `($namespace)`) and the
//! partial match an `assert` or `error` step applies.
//!
//! Chainsaw (kyverno-json assertion trees) compares an expected document with a live object
//! field by field: every key of an expected map must be present and match, keys it does not
//! name are ignored; a list matches only a list of the same length whose items match
//! position by position; scalars must be equal (numbers by value). JMESPath keys and
//! expressions beyond the two bindings above are not implemented: they fail loudly.

use serde_json::{Map, Value};

/// What a template may refer to.
pub struct Bindings<'a> {
    /// The `--values` file.
    pub values: &'a Value,
    /// The test's namespace.
    pub namespace: &'a str,
}

/// `doc` with every `($values.path)` / `($namespace)` string replaced by its value.
///
/// # Errors
/// An expression this runner does not evaluate, or a value path that does not exist.
pub fn render(doc: &Value, b: &Bindings<'_>) -> Result<Value, String> {
    Ok(match doc {
        Value::String(s) if s.starts_with('(') && s.ends_with(')') => expression(s, b)?,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| render(i, b))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                if k.starts_with('(') {
                    return Err(format!("JMESPath key {k} is not supported by this runner"));
                }
                out.insert(k.clone(), render(v, b)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

fn expression(text: &str, b: &Bindings<'_>) -> Result<Value, String> {
    let inner = &text[1..text.len() - 1];
    if inner == "$namespace" {
        return Ok(Value::String(b.namespace.to_owned()));
    }
    let Some(path) = inner.strip_prefix("$values.") else {
        return Err(format!("expression {text} is not supported by this runner"));
    };
    let mut value = b.values;
    for part in path.split('.') {
        value = value
            .get(part)
            .ok_or_else(|| format!("{text}: the values have no {path}"))?;
    }
    Ok(value.clone())
}

/// Where `actual` fails to match `expected`, or `None` when it matches.
#[must_use]
pub fn mismatch(expected: &Value, actual: &Value) -> Option<String> {
    mismatch_at(expected, actual, "")
}

fn mismatch_at(expected: &Value, actual: &Value, path: &str) -> Option<String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e.iter().find_map(|(k, ev)| {
            let here = format!("{path}.{k}");
            match a.get(k) {
                Some(av) => mismatch_at(ev, av, &here),
                None if ev.is_null() => None,
                None => Some(format!("{here}: missing, expected {}", short(ev))),
            }
        }),
        (Value::Array(e), Value::Array(a)) if e.len() != a.len() => Some(format!(
            "{path}: expected {} items, found {}: {}",
            e.len(),
            a.len(),
            short(actual)
        )),
        (Value::Array(e), Value::Array(a)) => {
            e.iter().zip(a).enumerate().find_map(|(i, (ev, av))| {
                // Name the live item too: `conditions[3].status` alone does not say which one.
                let why = mismatch_at(ev, av, &format!("{path}[{i}]"))?;
                Some(if why.contains(" in item ") || !av.is_object() {
                    why
                } else {
                    format!("{why} in item {}", short(av))
                })
            })
        }
        (Value::Number(e), Value::Number(a)) if e.as_f64() == a.as_f64() => None,
        (e, a) if e == a => None,
        (e, a) => Some(format!("{path}: expected {}, found {}", short(e), short(a))),
    }
}

fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 300 {
        format!("{}...", text.chars().take(300).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn maps_match_partially_and_lists_by_position_and_length() {
        let live = json!({"status": {"conditions": [
            {"type": "A", "status": "True", "reason": "R"},
            {"type": "B", "status": "False"},
        ]}, "spec": {"x": 1}});
        let ok = json!({"status": {"conditions": [{"type": "A"}, {"status": "False"}]}});
        assert_eq!(mismatch(&ok, &live), None);
        let swapped = json!({"status": {"conditions": [{"type": "B"}, {"type": "A"}]}});
        let why = mismatch(&swapped, &live).unwrap();
        assert!(
            why.starts_with(".status.conditions[0].type: expected \"B\", found \"A\" in item {"),
            "{why}"
        );
        assert!(why.contains("\"reason\":\"R\""), "{why}");
        let short_list = json!({"status": {"conditions": [{"type": "A"}]}});
        assert!(
            mismatch(&short_list, &live)
                .unwrap()
                .contains("expected 1 items, found 2")
        );
        let missing = json!({"spec": {"y": 1}});
        assert!(
            mismatch(&missing, &live)
                .unwrap()
                .starts_with(".spec.y: missing")
        );
    }

    #[test]
    fn values_and_namespace_are_substituted() {
        let values = json!({"managedRoute": true, "routeComponent": {"kind": "route"}});
        let b = Bindings {
            values: &values,
            namespace: "ns1",
        };
        let doc = json!({"a": "($values.managedRoute)", "b": ["($values.routeComponent)"],
                         "c": "($namespace)", "d": "(plain)x"});
        assert_eq!(
            render(&doc, &b).unwrap(),
            json!({"a": true, "b": [{"kind": "route"}], "c": "ns1", "d": "(plain)x"})
        );
        assert!(render(&json!("(length(x))"), &b).is_err());
    }
}
