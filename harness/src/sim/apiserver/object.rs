//! Small helpers over objects held as `serde_json::Value`.
//!
//! Reading and writing well-known metadata fields, dotted paths, and comparing objects for
//! "did the spec change". No storage, no I/O.

use serde_json::{Map, Value};

/// `metadata.name`, or "" when absent.
pub fn name(object: &Value) -> &str {
    object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// `metadata.namespace`, or "" when absent.
pub fn namespace(object: &Value) -> &str {
    object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// `metadata.uid`, or "" when absent.
pub fn uid(object: &Value) -> &str {
    object
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// `metadata.resourceVersion`, or "" when absent.
pub fn resource_version(object: &Value) -> &str {
    object
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Whether `metadata.deletionTimestamp` is set.
pub fn is_terminating(object: &Value) -> bool {
    object
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
}

/// `metadata.finalizers` as strings.
pub fn finalizers(object: &Value) -> Vec<String> {
    object
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The `metadata` map, created empty if missing or not an object.
pub fn metadata_mut(object: &mut Value) -> &mut Map<String, Value> {
    if !object.is_object() {
        *object = Value::Object(Map::new());
    }
    let root = object.as_object_mut().expect("object was just made a map");
    let meta = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    meta.as_object_mut().expect("metadata was just made a map")
}

/// Read a dotted path such as `spec.replicas`.
pub fn get_path<'a>(object: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted.split('.').try_fold(object, |v, key| v.get(key))
}

/// Write a dotted path, creating intermediate maps.
pub fn set_path(object: &mut Value, dotted: &str, value: Value) {
    let mut current = object;
    let mut keys = dotted.split('.').peekable();
    while let Some(key) = keys.next() {
        if !current.is_object() {
            *current = Value::Object(Map::new());
        }
        let map = current
            .as_object_mut()
            .expect("current was just made a map");
        if keys.peek().is_none() {
            map.insert(key.to_owned(), value);
            return;
        }
        current = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    }
}

/// Whether two objects differ outside `metadata` and `status` (what moves `generation`).
pub fn spec_differs(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| -> Value {
        let mut v = v.clone();
        if let Some(map) = v.as_object_mut() {
            map.remove("metadata");
            map.remove("status");
            map.remove("apiVersion");
            map.remove("kind");
        }
        v
    };
    strip(a) != strip(b)
}

/// The current time as an RFC 3339 timestamp with whole seconds, as the API server writes it.
pub fn now_timestamp() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The uids in `metadata.ownerReferences`.
pub fn owner_uids(obj: &Value) -> Vec<&str> {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .filter_map(|r| r.get("uid").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn set_path_creates_missing_maps() {
        let mut v = json!({});
        set_path(&mut v, "spec.replicas", json!(3));
        assert_eq!(get_path(&v, "spec.replicas"), Some(&json!(3)));
    }

    #[test]
    fn status_and_metadata_changes_are_not_spec_changes() {
        let a = json!({"metadata": {"labels": {"a": "1"}}, "spec": {"x": 1}, "status": {"y": 1}});
        let b = json!({"metadata": {"labels": {"a": "2"}}, "spec": {"x": 1}, "status": {"y": 2}});
        let c = json!({"metadata": {}, "spec": {"x": 2}});
        assert!(!spec_differs(&a, &b));
        assert!(spec_differs(&a, &c));
    }

    #[test]
    fn timestamps_have_whole_seconds_and_utc_suffix() {
        let t = now_timestamp();
        assert_eq!(t.len(), "2025-01-01T00:00:00Z".len());
        assert!(t.ends_with('Z'));
    }
}
