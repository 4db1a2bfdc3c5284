//! Deleting from the store: finalizers and `deletionTimestamp`, orphaning, and the garbage
//! collection of dependents and of terminating namespaces' contents.
//!
//! Split from the store's reads and writes because it is the one part with its own
//! lifecycle rules; it shares the store's private fields as a child module.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{Value, json};

use super::{DeleteOptions, Event, EventType, Store};
use crate::sim::apiserver::crd;
use crate::sim::apiserver::object::{self, metadata_mut};
use crate::sim::apiserver::resources::{ResourceId, ResourceType};
use crate::sim::apiserver::status::ApiError;

impl Store {
    /// Remove for good (the rv is already bumped) and emit `DELETED`.
    pub(super) fn remove(&mut self, t: &ResourceType, ns: &str, name: &str, mut last: Value) {
        if let Some(b) = self.objects.get_mut(&t.id()) {
            b.remove(&(Self::key(t, ns), name.to_owned()));
        }
        metadata_mut(&mut last).insert("resourceVersion".into(), json!(self.rv.to_string()));
        self.record(t, EventType::Deleted, &last);
        if t.group == "apiextensions.k8s.io"
            && t.plural == "customresourcedefinitions"
            && let Some((group, plural)) = crd::group_plural(&last)
        {
            self.catalog.remove(&group, &plural);
            let id = ResourceId { group, plural };
            if let Some(bucket) = self.objects.remove(&id) {
                for (_, obj) in bucket {
                    self.rv += 1;
                    let event = Arc::new(Event {
                        rv: self.rv,
                        resource: id.clone(),
                        kind: EventType::Deleted,
                        object: obj,
                    });
                    self.history.push_back(Arc::clone(&event));
                    let _ = self.events.send(event);
                }
            }
        }
        self.gc_pending = true;
    }

    /// Delete object `name`: mark it terminating when it has finalizers (or is a namespace),
    /// remove it otherwise. Returns the object as last seen.
    ///
    /// # Errors
    /// `NotFound`, `Conflict` (failed precondition).
    pub fn delete(
        &mut self,
        t: &ResourceType,
        ns: &str,
        name: &str,
        opts: &DeleteOptions,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let old = self.get(t, ns, name)?;
        if opts.uid.as_deref().is_some_and(|u| u != object::uid(&old))
            || opts
                .resource_version
                .as_deref()
                .is_some_and(|rv| rv != object::resource_version(&old))
        {
            return Err(ApiError::Conflict(Self::target(t, name)));
        }
        if dry_run {
            return Ok(old);
        }
        let uid = object::uid(&old).to_owned();
        if opts.orphan {
            self.orphan_dependents(&uid);
        }
        let is_namespace = t.group.is_empty() && t.plural == "namespaces";
        if !object::finalizers(&old).is_empty() || is_namespace {
            if object::is_terminating(&old) {
                return Ok(old);
            }
            let mut new = old;
            let rv = self.bump();
            {
                let meta = metadata_mut(&mut new);
                meta.insert("deletionTimestamp".into(), json!(object::now_timestamp()));
                meta.insert("deletionGracePeriodSeconds".into(), json!(0));
                meta.insert("resourceVersion".into(), json!(rv.to_string()));
            }
            if is_namespace {
                object::set_path(&mut new, "status.phase", json!("Terminating"));
            }
            self.objects
                .entry(t.id())
                .or_default()
                .insert((Self::key(t, ns), name.to_owned()), new.clone());
            self.record(t, EventType::Modified, &new);
            self.gc_pending = true;
            self.collect_garbage();
            return Ok(self.get(t, ns, name).unwrap_or(new));
        }
        self.bump();
        self.remove(t, ns, name, old.clone());
        self.collect_garbage();
        let mut last = old;
        metadata_mut(&mut last).insert("resourceVersion".into(), json!(self.rv.to_string()));
        Ok(last)
    }

    fn orphan_dependents(&mut self, owner_uid: &str) {
        let mut changed = Vec::new();
        for (id, bucket) in &mut self.objects {
            for obj in bucket.values_mut() {
                let Some(refs) = obj
                    .pointer_mut("/metadata/ownerReferences")
                    .and_then(Value::as_array_mut)
                else {
                    continue;
                };
                let before = refs.len();
                refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(owner_uid));
                if refs.len() != before {
                    changed.push((id.clone(), obj.clone()));
                }
            }
        }
        for (id, mut obj) in changed {
            self.rv += 1;
            metadata_mut(&mut obj).insert("resourceVersion".into(), json!(self.rv.to_string()));
            let key = (
                object::namespace(&obj).to_owned(),
                object::name(&obj).to_owned(),
            );
            if let Some(b) = self.objects.get_mut(&id) {
                b.insert(key, obj.clone());
            }
            let event = Arc::new(Event {
                rv: self.rv,
                resource: id,
                kind: EventType::Modified,
                object: obj,
            });
            self.history.push_back(Arc::clone(&event));
            let _ = self.events.send(event);
        }
    }

    /// Background garbage collection and namespace finalisation, run after removals and
    /// after writes of objects with owners.
    ///
    /// Dependents whose owners (by uid) are all gone are deleted, also when they were
    /// created after their owners went; objects in terminating
    /// namespaces are deleted; a terminating namespace with nothing left in it is removed.
    /// Real clusters do this asynchronously in controllers; here it happens before the
    /// request that caused it returns.
    pub fn collect_garbage(&mut self) {
        while self.gc_pending {
            self.gc_pending = false;
            let uids: BTreeSet<String> = self
                .objects
                .values()
                .flat_map(|b| b.values().map(|o| object::uid(o).to_owned()))
                .collect();
            let terminating_ns: BTreeSet<String> = self
                .objects
                .get(&ResourceId {
                    group: String::new(),
                    plural: "namespaces".into(),
                })
                .map(|b| {
                    b.values()
                        .filter(|o| object::is_terminating(o))
                        .map(|o| object::name(o).to_owned())
                        .collect()
                })
                .unwrap_or_default();
            let mut doomed = Vec::new();
            let mut occupied: BTreeSet<String> = BTreeSet::new();
            for (id, bucket) in &self.objects {
                for ((ns, name), obj) in bucket {
                    if !ns.is_empty() && terminating_ns.contains(ns) {
                        occupied.insert(ns.clone());
                        if !object::is_terminating(obj) {
                            doomed.push((id.clone(), ns.clone(), name.clone()));
                        }
                        continue;
                    }
                    let owners = object::owner_uids(obj);
                    if !owners.is_empty()
                        && owners.iter().all(|u| !uids.contains(*u))
                        && !object::is_terminating(obj)
                    {
                        doomed.push((id.clone(), ns.clone(), name.clone()));
                    }
                }
            }
            for ns in terminating_ns.difference(&occupied) {
                let ns_type = self
                    .catalog
                    .get("", "v1", "namespaces")
                    .expect("built-in namespaces");
                if let Ok(obj) = self.get(&ns_type, "", ns)
                    && object::finalizers(&obj).is_empty()
                {
                    self.bump();
                    self.remove(&ns_type, "", ns, obj);
                }
            }
            for (id, ns, name) in doomed {
                let Some(t) = self.type_of(&id) else { continue };
                // Errors mean it vanished meanwhile: nothing to collect.
                let _ = self.delete(&t, &ns, &name, &DeleteOptions::default(), false);
            }
        }
    }

    /// The type objects of `id` are stored as (not a version served by conversion).
    fn type_of(&self, id: &ResourceId) -> Option<Arc<ResourceType>> {
        self.catalog
            .iter()
            .find(|t| {
                t.group == id.group
                    && t.plural == id.plural
                    && crate::sim::apiserver::conversion::stored(&self.catalog, t).is_none()
            })
            .cloned()
    }
}
