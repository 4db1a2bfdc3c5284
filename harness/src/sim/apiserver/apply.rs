//! Server-side apply and field ownership (`metadata.managedFields`, `FieldsV1`).
//!
//! Every write records which manager set which fields: [`record_update`] for ordinary
//! writes (operation `Update`: changed fields move to the writer without conflict) and
//! [`apply`] for server-side apply (operation `Apply`: fields another manager owns with a
//! different value conflict unless forced; fields the manager stops applying are removed
//! when nobody else owns them). Lists are associative (merged by key) for the built-in merge
//! keys of [`crate::sim::apiserver::patch::merge_key`] and for CRD lists with
//! `x-kubernetes-list-type: map`; `finalizers` is a set; other lists are atomic.
//! Not modelled: per-version field sets, `x-kubernetes-map-type: atomic`, unions.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::object;
use super::patch;
use super::resources::ResourceType;
use super::status::{ApiError, Cause, Target};

/// One field path in `FieldsV1` key form: `f:spec`, `k:{"name":"web"}`, `v:"x"`, `.`.
pub type FieldPath = Vec<String>;

/// A set of owned field paths (leaves only).
pub type FieldSet = BTreeSet<FieldPath>;

/// Which part of an object a manager writes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Everything but status (when the type has a status subresource).
    Main,
    /// Only status.
    Status,
    /// Everything (types without a status subresource).
    All,
}

fn part(t: &ResourceType, sub: Option<&str>) -> Part {
    match (sub, t.status) {
        (Some("status"), _) => Part::Status,
        (_, true) => Part::Main,
        (_, false) => Part::All,
    }
}

/// The field set an object (or applied configuration) sets, limited to `part`.
fn fields_of(object: &Value, part: Part) -> FieldSet {
    let mut out = FieldSet::new();
    let Some(map) = object.as_object() else {
        return out;
    };
    for (key, value) in map {
        let take = match key.as_str() {
            "apiVersion" | "kind" => false,
            "status" => part != Part::Main,
            "metadata" => part != Part::Status,
            _ => part != Part::Status,
        };
        if !take {
            continue;
        }
        if key == "metadata" {
            for m in ["labels", "annotations", "finalizers", "ownerReferences"] {
                if let Some(v) = value.get(m) {
                    collect(
                        v,
                        m,
                        &mut vec!["f:metadata".to_owned(), format!("f:{m}")],
                        &mut out,
                    );
                }
            }
            continue;
        }
        collect(value, key, &mut vec![format!("f:{key}")], &mut out);
    }
    out
}

fn key_of(item: &Value, key: &str) -> Option<String> {
    let id = item.get(key)?;
    Some(format!("k:{}", json!({ key: id })))
}

fn collect(value: &Value, field: &str, path: &mut FieldPath, out: &mut FieldSet) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                path.push(format!("f:{k}"));
                collect(v, k, path, out);
                path.pop();
            }
        }
        Value::Array(items) if field == "finalizers" => {
            for item in items {
                path.push(format!("v:{item}"));
                out.insert(path.clone());
                path.pop();
            }
        }
        Value::Array(items) => match patch::merge_key(field, items) {
            Some(key) if items.iter().all(|i| i.get(key).is_some()) => {
                for item in items {
                    let Some(k) = key_of(item, key) else { continue };
                    path.push(k);
                    path.push(".".to_owned());
                    out.insert(path.clone());
                    path.pop();
                    collect(item, "", path, out);
                    path.pop();
                }
            }
            _ => {
                out.insert(path.clone());
            }
        },
        _ => {
            out.insert(path.clone());
        }
    }
}

/// The value at a field path, if present.
fn value_at<'a>(object: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut current = object;
    for element in path {
        current = if let Some(name) = element.strip_prefix("f:") {
            current.get(name)?
        } else if let Some(key) = element.strip_prefix("k:") {
            let key: Map<String, Value> = serde_json::from_str(key).ok()?;
            current
                .as_array()?
                .iter()
                .find(|item| key.iter().all(|(k, v)| item.get(k) == Some(v)))?
        } else if let Some(v) = element.strip_prefix("v:") {
            let v: Value = serde_json::from_str(v).ok()?;
            current.as_array()?.iter().find(|item| **item == v)?
        } else {
            current
        };
    }
    Some(current)
}

/// Remove the value at a field path (no-op when absent).
fn remove_at(object: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    if last == "." {
        // The list item itself: `parents` ends with its k: element.
        let Some((item, list_path)) = parents.split_last() else {
            return;
        };
        let Some(key) = item.strip_prefix("k:") else {
            return;
        };
        let Ok(key) = serde_json::from_str::<Map<String, Value>>(key) else {
            return;
        };
        if let Some(list) = value_at_mut(object, list_path).and_then(Value::as_array_mut) {
            list.retain(|i| !key.iter().all(|(k, v)| i.get(k) == Some(v)));
        }
        return;
    }
    let Some(parent) = value_at_mut(object, parents) else {
        return;
    };
    if let Some(name) = last.strip_prefix("f:") {
        if let Some(map) = parent.as_object_mut() {
            map.remove(name);
        }
    } else if let Some(v) = last.strip_prefix("v:")
        && let (Ok(v), Some(list)) = (serde_json::from_str::<Value>(v), parent.as_array_mut())
    {
        list.retain(|i| *i != v);
    }
}

fn value_at_mut<'a>(object: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    let mut current = object;
    for element in path {
        current = if let Some(name) = element.strip_prefix("f:") {
            current.get_mut(name)?
        } else if let Some(key) = element.strip_prefix("k:") {
            let key: Map<String, Value> = serde_json::from_str(key).ok()?;
            current
                .as_array_mut()?
                .iter_mut()
                .find(|item| key.iter().all(|(k, v)| item.get(k) == Some(v)))?
        } else if let Some(v) = element.strip_prefix("v:") {
            let v: Value = serde_json::from_str(v).ok()?;
            current
                .as_array_mut()?
                .iter_mut()
                .find(|item| **item == v)?
        } else {
            current
        };
    }
    Some(current)
}

/// Render a field set as `FieldsV1` JSON.
pub fn to_fields_v1(set: &FieldSet) -> Value {
    let mut root = Map::new();
    for path in set {
        let mut current = &mut root;
        for element in path {
            let entry = current
                .entry(element.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            current = match entry {
                Value::Object(m) => m,
                other => {
                    *other = Value::Object(Map::new());
                    other.as_object_mut().expect("entry was just made a map")
                }
            };
        }
    }
    Value::Object(root)
}

/// Parse `FieldsV1` JSON into a field set.
pub fn from_fields_v1(fields: &Value) -> FieldSet {
    fn walk(v: &Value, path: &mut FieldPath, out: &mut FieldSet) {
        let Some(map) = v.as_object() else { return };
        if map.is_empty() && !path.is_empty() {
            out.insert(path.clone());
            return;
        }
        for (k, child) in map {
            path.push(k.clone());
            walk(child, path, out);
            path.pop();
        }
    }
    let mut out = FieldSet::new();
    walk(fields, &mut Vec::new(), &mut out);
    out
}

#[derive(Debug, Clone)]
struct Entry {
    manager: String,
    operation: String,
    api_version: String,
    time: String,
    subresource: Option<String>,
    set: FieldSet,
}

impl Entry {
    fn parse(v: &Value) -> Option<Self> {
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        Some(Self {
            manager: text("manager")?,
            operation: text("operation").unwrap_or_else(|| "Update".to_owned()),
            api_version: text("apiVersion").unwrap_or_default(),
            time: text("time").unwrap_or_default(),
            subresource: text("subresource"),
            set: v.get("fieldsV1").map(from_fields_v1).unwrap_or_default(),
        })
    }

    fn render(&self) -> Value {
        let mut v = json!({
            "manager": self.manager, "operation": self.operation, "apiVersion": self.api_version,
            "time": self.time, "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(&self.set),
        });
        if let Some(s) = &self.subresource {
            v["subresource"] = json!(s);
        }
        v
    }
}

fn entries(object: Option<&Value>) -> Vec<Entry> {
    object
        .and_then(|o| o.pointer("/metadata/managedFields"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Entry::parse).collect())
        .unwrap_or_default()
}

fn store_entries(object: &mut Value, entries: &[Entry]) {
    let list: Vec<Value> = entries
        .iter()
        .filter(|e| !e.set.is_empty())
        .map(Entry::render)
        .collect();
    let meta = object::metadata_mut(object);
    if list.is_empty() {
        meta.remove("managedFields");
    } else {
        meta.insert("managedFields".into(), Value::Array(list));
    }
}

/// Whether two paths overlap (equal, or one is a prefix of the other), ignoring `.` markers.
fn overlaps(a: &[String], b: &[String]) -> bool {
    let strip = |p: &[String]| -> usize {
        if p.last().is_some_and(|l| l == ".") {
            p.len() - 1
        } else {
            p.len()
        }
    };
    let (a, b) = (&a[..strip(a)], &b[..strip(b)]);
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

fn display_path(path: &[String]) -> String {
    let mut out = String::new();
    for element in path {
        if let Some(f) = element.strip_prefix("f:") {
            out.push('.');
            out.push_str(f);
        } else if let Some(k) = element.strip_prefix("k:") {
            out.push_str(&format!("[{k}]"));
        } else if let Some(v) = element.strip_prefix("v:") {
            out.push_str(&format!("[{v}]"));
        }
    }
    out
}

/// Record that `manager` wrote `new` over `old` (operation `Update`) in `new`'s managedFields.
///
/// Changed fields move to `manager`; removed fields leave every owner. Client-sent
/// managedFields are replaced by the server's bookkeeping.
pub fn record_update(
    t: &ResourceType,
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    sub: Option<&str>,
) {
    let which = part(t, sub);
    let new_set = fields_of(new, which);
    let old_set = old.map(|o| fields_of(o, which)).unwrap_or_default();
    let changed: FieldSet = new_set
        .iter()
        .filter(|p| old.is_none_or(|o| value_at(o, p) != value_at(new, p)) || !old_set.contains(*p))
        .cloned()
        .collect();
    let removed: FieldSet = old_set.difference(&new_set).cloned().collect();
    let mut list = entries(old);
    if changed.is_empty() && removed.is_empty() {
        store_entries(new, &list);
        return;
    }
    for e in &mut list {
        e.set
            .retain(|p| !changed.contains(p) && !removed.contains(p));
    }
    let subresource = sub
        .filter(|s| *s == "status" || *s == "scale")
        .map(str::to_owned);
    let position = list.iter().position(|e| {
        e.manager == manager && e.operation == "Update" && e.subresource == subresource
    });
    let entry = match position {
        Some(i) => &mut list[i],
        None => {
            list.push(Entry {
                manager: manager.to_owned(),
                operation: "Update".to_owned(),
                api_version: t.api_version(),
                time: String::new(),
                subresource,
                set: FieldSet::new(),
            });
            list.last_mut().expect("an entry was just pushed")
        }
    };
    entry.set.extend(changed);
    entry.time = object::now_timestamp();
    store_entries(new, &list);
}

/// Merge an applied configuration into an object (maps deep, associative lists by key,
/// `finalizers` as a set, other lists replaced).
fn merge_applied(target: &mut Value, applied: &Value, field: &str) {
    match applied {
        Value::Object(map) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            let t = target.as_object_mut().expect("target was just made a map");
            for (k, v) in map {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_applied(t.entry(k.clone()).or_insert(Value::Null), v, k);
                }
            }
        }
        Value::Array(items) if field == "finalizers" => {
            let mut list = target.as_array().cloned().unwrap_or_default();
            for i in items {
                if !list.contains(i) {
                    list.push(i.clone());
                }
            }
            *target = Value::Array(list);
        }
        Value::Array(items) => match patch::merge_key(field, items) {
            Some(key) if items.iter().all(|i| i.get(key).is_some()) && target.is_array() => {
                let mut list = target.as_array().cloned().unwrap_or_default();
                for item in items {
                    match list.iter().position(|c| c.get(key) == item.get(key)) {
                        Some(i) => merge_applied(&mut list[i], item, ""),
                        None => list.push(item.clone()),
                    }
                }
                *target = Value::Array(list);
            }
            _ => *target = applied.clone(),
        },
        other => *target = other.clone(),
    }
}

/// Apply `applied` as `manager` onto `live` (absent: create), returning the new object.
///
/// # Errors
/// [`ApiError::ApplyConflict`] when another manager owns an applied field with a different
/// value and `force` is off; [`ApiError::BadRequest`] when `applied` lacks apiVersion/kind.
pub fn apply(
    t: &ResourceType,
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    sub: Option<&str>,
) -> Result<Value, ApiError> {
    if applied.get("apiVersion").is_none() || applied.get("kind").is_none() {
        return Err(ApiError::BadRequest(
            "apply configuration must set apiVersion and kind".into(),
        ));
    }
    let which = part(t, sub);
    let applied_set = fields_of(applied, which);
    let mut list = entries(live);
    let subresource = sub.filter(|s| *s == "status").map(str::to_owned);
    let is_mine =
        |e: &Entry| e.manager == manager && e.operation == "Apply" && e.subresource == subresource;
    let previous: FieldSet = list
        .iter()
        .filter(|e| is_mine(e))
        .flat_map(|e| e.set.iter().cloned())
        .collect();

    let mut object = live.cloned().unwrap_or_else(|| json!({}));
    if let Some(live) = live {
        let mut causes = Vec::new();
        let mut taken: Vec<(usize, FieldPath)> = Vec::new();
        for (i, e) in list.iter().enumerate() {
            if is_mine(e) {
                continue;
            }
            for owned in &e.set {
                for p in applied_set.iter().filter(|p| overlaps(p, owned)) {
                    let shorter = if p.len() <= owned.len() {
                        p.as_slice()
                    } else {
                        owned.as_slice()
                    };
                    let shorter: Vec<String> =
                        shorter.iter().filter(|s| *s != ".").cloned().collect();
                    if value_at(live, &shorter) != value_at(applied, &shorter) {
                        taken.push((i, owned.clone()));
                        causes.push(Cause::new(
                            "FieldManagerConflict",
                            display_path(owned),
                            format!(
                                "conflict with \"{}\"{}: {}",
                                e.manager,
                                if e.operation == "Apply" {
                                    String::new()
                                } else {
                                    format!(" using {}", e.api_version)
                                },
                                display_path(owned)
                            ),
                        ));
                    }
                }
            }
        }
        causes.dedup();
        if !causes.is_empty() && !force {
            return Err(ApiError::ApplyConflict {
                target: Target::new(&t.group, &t.plural, object::name(live)),
                causes,
            });
        }
        for (i, owned) in taken {
            list[i].set.remove(&owned);
        }
        // Fields this manager applied before and no longer applies, owned by nobody else.
        let others: FieldSet = list
            .iter()
            .filter(|e| !is_mine(e))
            .flat_map(|e| e.set.iter().cloned())
            .collect();
        let mut dropped: Vec<&FieldPath> = previous
            .difference(&applied_set)
            .filter(|p| {
                !others.iter().any(|o| overlaps(o, p))
                    && !applied_set
                        .iter()
                        .any(|a| overlaps(a, p) && a.len() > p.len())
            })
            .collect();
        // Fields before whole list items.
        dropped.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for p in dropped {
            remove_at(&mut object, p);
        }
    }
    let mut applied_body = applied.clone();
    if let Some(meta) = applied_body
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
    {
        for k in [
            "managedFields",
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "generation",
        ] {
            meta.remove(k);
        }
    }
    if which == Part::Main
        && let Some(map) = applied_body.as_object_mut()
    {
        map.remove("status");
    }
    merge_applied(&mut object, &applied_body, "");
    list.retain(|e| !is_mine(e));
    list.push(Entry {
        manager: manager.to_owned(),
        operation: "Apply".to_owned(),
        api_version: t.api_version(),
        time: object::now_timestamp(),
        subresource: subresource.clone(),
        set: applied_set,
    });
    // Keep the previous time when nothing about this manager's ownership changed, so a
    // repeated identical apply is a no-op.
    if let Some(live) = live
        && let Some(old) = entries(Some(live)).into_iter().find(|e| is_mine(e))
        && let Some(new) = list.last_mut()
        && old.set == new.set
    {
        new.time = old.time;
    }
    store_entries(&mut object, &list);
    Ok(object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::apiserver::resources::Catalog;

    fn cm_type() -> ResourceType {
        Catalog::builtin()
            .get("", "v1", "configmaps")
            .unwrap()
            .as_ref()
            .clone()
    }

    fn cm(data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": data})
    }

    #[test]
    fn fields_v1_round_trips_keyed_list_items() {
        let d = json!({"spec": {"containers": [{"name": "web", "image": "x"}]}, "metadata": {"labels": {"a": "1"}}});
        let set = fields_of(&d, Part::All);
        let v1 = to_fields_v1(&set);
        assert!(
            v1["f:spec"]["f:containers"]["k:{\"name\":\"web\"}"]["f:image"].is_object(),
            "{v1}"
        );
        assert_eq!(from_fields_v1(&v1), set);
    }

    #[test]
    fn apply_conflicts_with_another_managers_different_value_unless_forced() {
        let t = cm_type();
        let live = apply(&t, None, &cm(json!({"a": "1"})), "alice", false, None).unwrap();
        let err = apply(&t, Some(&live), &cm(json!({"a": "2"})), "bob", false, None).unwrap_err();
        let ApiError::ApplyConflict { causes, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(causes[0].field, ".data.a");
        assert!(err.to_string().contains("conflict with \"alice\""), "{err}");
        let forced = apply(&t, Some(&live), &cm(json!({"a": "2"})), "bob", true, None).unwrap();
        assert_eq!(forced["data"]["a"], "2");
        let managers: Vec<_> = entries(Some(&forced))
            .into_iter()
            .map(|e| e.manager)
            .collect();
        assert_eq!(managers, ["bob"], "alice lost her only field");
    }

    #[test]
    fn applying_the_same_value_shares_ownership_without_conflict() {
        let t = cm_type();
        let live = apply(&t, None, &cm(json!({"a": "1"})), "alice", false, None).unwrap();
        let shared = apply(&t, Some(&live), &cm(json!({"a": "1"})), "bob", false, None).unwrap();
        assert_eq!(entries(Some(&shared)).len(), 2);
    }

    #[test]
    fn fields_a_manager_stops_applying_are_removed_unless_someone_else_owns_them() {
        let t = cm_type();
        let live = apply(
            &t,
            None,
            &cm(json!({"a": "1", "b": "2"})),
            "alice",
            false,
            None,
        )
        .unwrap();
        let mut updated = live.clone();
        updated["data"]["c"] = json!("3");
        record_update(&t, Some(&live), &mut updated, "kubectl-edit", None);
        let shrunk = apply(
            &t,
            Some(&updated),
            &cm(json!({"a": "1"})),
            "alice",
            false,
            None,
        )
        .unwrap();
        assert_eq!(shrunk["data"], json!({"a": "1", "c": "3"}));
    }

    #[test]
    fn updates_take_ownership_of_changed_fields_without_conflict() {
        let t = cm_type();
        let live = apply(&t, None, &cm(json!({"a": "1"})), "alice", false, None).unwrap();
        let mut edited = live.clone();
        edited["data"]["a"] = json!("9");
        record_update(&t, Some(&live), &mut edited, "editor", None);
        let owners: Vec<_> = entries(Some(&edited))
            .into_iter()
            .map(|e| (e.manager, e.set.len()))
            .collect();
        assert_eq!(owners, [("editor".to_owned(), 1)]);
    }

    #[test]
    fn identical_reapply_leaves_the_object_unchanged() {
        let t = cm_type();
        let live = apply(&t, None, &cm(json!({"a": "1"})), "alice", false, None).unwrap();
        let again = apply(
            &t,
            Some(&live),
            &cm(json!({"a": "1"})),
            "alice",
            false,
            None,
        )
        .unwrap();
        assert_eq!(again, live);
    }
}
