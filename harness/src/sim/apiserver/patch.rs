//! Patch formats: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and Kubernetes
//! strategic merge patch for built-in kinds.
//!
//! Pure functions from (current object, patch body) to the patched object. Server-side apply
//! lives in [`crate::sim::apiserver::apply`]; choosing the format from the content type happens in
//! [`crate::sim::apiserver::http`].

use serde_json::{Map, Value};

/// A patch body that cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The JSON patch document is malformed.
    #[error("invalid json patch document")]
    JsonPatchDocument(#[source] serde_json::Error),
    /// A JSON patch operation failed (missing path, failed test).
    #[error("json patch operation failed")]
    JsonPatchApply(#[source] json_patch::PatchError),
    /// A strategic merge patch directive is not understood.
    #[error("unsupported strategic merge patch directive {directive:?}")]
    Directive {
        /// The `$patch` value.
        directive: String,
    },
}

/// Apply an RFC 7386 merge patch: maps merge recursively, `null` deletes, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let target_map = target.as_object_mut().expect("target was just made a map");
    for (key, value) in patch_map {
        if value.is_null() {
            target_map.remove(key);
        } else {
            merge_patch(target_map.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// Apply an RFC 6902 JSON patch document.
///
/// # Errors
/// [`Error::JsonPatchDocument`] for a malformed document, [`Error::JsonPatchApply`] when an
/// operation fails (the target is then unchanged).
pub fn json_patch(target: &mut Value, patch: &Value) -> Result<(), Error> {
    let doc: json_patch::Patch =
        serde_json::from_value(patch.clone()).map_err(Error::JsonPatchDocument)?;
    json_patch::patch(target, &doc).map_err(Error::JsonPatchApply)
}

/// The merge key of a list field in built-in kinds (`containers` by `name`, ...), if any.
///
/// `ports` is keyed by `containerPort` in pod specs and by `port` in services: the patch
/// items decide.
pub fn merge_key(field: &str, items: &[Value]) -> Option<&'static str> {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "secrets"
        | "hostAliases" => Some(if field == "hostAliases" { "ip" } else { "name" }),
        "volumeMounts" | "volumeDevices" => Some("mountPath"),
        "conditions" => Some("type"),
        "ownerReferences" => Some("uid"),
        "ports" => Some(if items.iter().any(|i| i.get("containerPort").is_some()) {
            "containerPort"
        } else {
            "port"
        }),
        _ => None,
    }
}

/// Lists of scalars that strategic merge unions instead of replacing.
fn is_set_list(field: &str) -> bool {
    field == "finalizers"
}

/// Apply a strategic merge patch (built-in kinds only).
///
/// Lists with a merge key (see [`merge_key`]) merge item by item; `{"$patch":"delete"}` items
/// remove the matching item; `$patch: replace` replaces a map or list; `finalizers` union.
/// Other lists are replaced, as for JSON merge patch.
///
/// # Errors
/// [`Error::Directive`] for an unknown `$patch` value.
pub fn strategic_merge(target: &mut Value, patch: &Value) -> Result<(), Error> {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return Ok(());
    };
    if let Some(directive) = patch_map.get("$patch").and_then(Value::as_str) {
        match directive {
            "replace" => {
                let mut replaced = patch_map.clone();
                replaced.remove("$patch");
                *target = Value::Object(replaced);
                return Ok(());
            }
            "delete" => {
                *target = Value::Null;
                return Ok(());
            }
            other => {
                return Err(Error::Directive {
                    directive: other.to_owned(),
                });
            }
        }
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let target_map = target.as_object_mut().expect("target was just made a map");
    for (key, value) in patch_map {
        if key.starts_with('$') {
            continue;
        }
        if value.is_null() {
            target_map.remove(key);
            continue;
        }
        match value {
            Value::Array(items) => {
                let current = target_map.remove(key).unwrap_or(Value::Array(Vec::new()));
                let merged = merge_list(key, current, items)?;
                target_map.insert(key.clone(), merged);
            }
            Value::Object(_) => {
                let slot = target_map.entry(key.clone()).or_insert(Value::Null);
                strategic_merge(slot, value)?;
                if slot.is_null() {
                    target_map.remove(key);
                }
            }
            other => {
                target_map.insert(key.clone(), other.clone());
            }
        }
    }
    Ok(())
}

fn merge_list(field: &str, current: Value, patch_items: &[Value]) -> Result<Value, Error> {
    let Value::Array(mut current) = current else {
        return Ok(Value::Array(patch_items.to_vec()));
    };
    if is_set_list(field) {
        for item in patch_items {
            if !current.contains(item) {
                current.push(item.clone());
            }
        }
        return Ok(Value::Array(current));
    }
    if patch_items
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        let kept = patch_items
            .iter()
            .filter(|i| i.get("$patch").is_none())
            .cloned()
            .collect();
        return Ok(Value::Array(kept));
    }
    let Some(key) = merge_key(field, patch_items) else {
        return Ok(Value::Array(patch_items.to_vec()));
    };
    for item in patch_items {
        let Some(id) = item.get(key) else {
            current.push(item.clone());
            continue;
        };
        let position = current.iter().position(|c| c.get(key) == Some(id));
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (position, delete) {
            (Some(i), true) => {
                current.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => strategic_merge(&mut current[i], item)?,
            (None, false) => {
                let mut fresh = Value::Null;
                strategic_merge(&mut fresh, item)?;
                current.push(fresh);
            }
        }
    }
    Ok(Value::Array(current))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_merges_maps_deletes_nulls_and_replaces_lists() {
        let mut v = json!({"a": {"b": 1, "c": 2}, "l": [1, 2], "x": 1});
        merge_patch(
            &mut v,
            &json!({"a": {"b": 9, "c": null}, "l": [3], "x": null}),
        );
        assert_eq!(v, json!({"a": {"b": 9}, "l": [3]}));
    }

    #[test]
    fn json_patch_adds_and_fails_on_missing_path() {
        let mut v = json!({"data": {}});
        json_patch(
            &mut v,
            &json!([{"op": "add", "path": "/data/j", "value": "2"}]),
        )
        .unwrap();
        assert_eq!(v["data"]["j"], "2");
        let err = json_patch(&mut v, &json!([{"op": "remove", "path": "/nope"}]));
        assert!(err.is_err());
        assert_eq!(v["data"]["j"], "2");
    }

    #[test]
    fn strategic_merge_merges_containers_by_name() {
        let mut d = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "web", "image": "nginx:1", "env": [{"name": "A", "value": "1"}]},
            {"name": "side", "image": "busybox"}
        ]}}}});
        let patch = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "web", "image": "nginx:2", "env": [{"name": "B", "value": "2"}]}
        ]}}}});
        strategic_merge(&mut d, &patch).unwrap();
        let containers = &d["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers.as_array().unwrap().len(), 2);
        assert_eq!(containers[0]["image"], "nginx:2");
        assert_eq!(containers[0]["env"].as_array().unwrap().len(), 2);
        assert_eq!(containers[1]["name"], "side");
    }

    #[test]
    fn strategic_merge_deletes_items_with_patch_directive() {
        let mut d = json!({"volumes": [{"name": "a"}, {"name": "b"}]});
        strategic_merge(
            &mut d,
            &json!({"volumes": [{"name": "a", "$patch": "delete"}]}),
        )
        .unwrap();
        assert_eq!(d, json!({"volumes": [{"name": "b"}]}));
    }

    #[test]
    fn strategic_merge_unions_finalizers_and_replaces_unkeyed_lists() {
        let mut d = json!({"metadata": {"finalizers": ["a"]}, "args": ["x"]});
        strategic_merge(
            &mut d,
            &json!({"metadata": {"finalizers": ["b"]}, "args": ["y"]}),
        )
        .unwrap();
        assert_eq!(
            d,
            json!({"metadata": {"finalizers": ["a", "b"]}, "args": ["y"]})
        );
    }
}
