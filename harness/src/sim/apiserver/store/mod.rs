//! The object store of one simulated cluster.
//!
//! Objects are `serde_json::Value`s filed by resource type, namespace and name. The store
//! assigns `resourceVersion` (one counter per cluster), `uid`, `creationTimestamp` and
//! `generation`; enforces optimistic concurrency, namespace existence, finalizers and
//! garbage collection; keeps a bounded event history for watches and broadcasts new events.
//! It is synchronous and lock-free by itself: [`crate::sim::apiserver::ClusterState`] holds it
//! under a mutex so that read-modify-write verbs (patch, apply) are atomic. It does not parse
//! HTTP.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::sim::apiserver::crd;
use crate::sim::apiserver::object::{self, metadata_mut};
use crate::sim::apiserver::resources::{Catalog, ResourceId, ResourceType};
use crate::sim::apiserver::selectors::{FieldSelector, LabelSelector};
use crate::sim::apiserver::status::{ApiError, Target};

mod delete;
#[cfg(test)]
mod tests;

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Created.
    Added,
    /// Changed.
    Modified,
    /// Removed for good.
    Deleted,
}

impl EventType {
    /// The watch wire name (`ADDED`, `MODIFIED`, `DELETED`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One change, as kept in the history and sent to watchers.
#[derive(Debug, Clone)]
pub struct Event {
    /// The resourceVersion the change produced.
    pub rv: u64,
    /// The type of the object.
    pub resource: ResourceId,
    /// What happened.
    pub kind: EventType,
    /// The object after the change (before removal for `Deleted`).
    pub object: Value,
}

/// Filters and paging of a list or watch.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// `labelSelector`.
    pub labels: LabelSelector,
    /// `fieldSelector`.
    pub fields: FieldSelector,
    /// `limit` (0 = no limit).
    pub limit: usize,
    /// `continue` token from a previous page.
    pub continue_token: Option<String>,
}

impl ListOptions {
    /// Whether an object passes both selectors and the namespace scope.
    pub fn matches(&self, namespace: Option<&str>, object: &Value) -> bool {
        namespace.is_none_or(|ns| object::namespace(object) == ns)
            && self.labels.matches(object)
            && self.fields.matches(object)
    }
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct ListPage {
    /// The matching objects, ordered by namespace then name.
    pub items: Vec<Value>,
    /// The list resourceVersion (the cluster's current one).
    pub resource_version: u64,
    /// Token for the next page, if any remain.
    pub continue_token: Option<String>,
    /// How many matching objects remain after this page.
    pub remaining: usize,
}

/// Preconditions and propagation of a delete (the `DeleteOptions` body).
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    /// `preconditions.uid`.
    pub uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub resource_version: Option<String>,
    /// `propagationPolicy: Orphan` keeps dependents (their ownerReferences are removed).
    pub orphan: bool,
}

/// Options of a write (`dryRun`, `fieldValidation`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// `dryRun=All`: compute the result, store nothing.
    pub dry_run: bool,
    /// `fieldValidation=Strict`: unknown fields are an error instead of a warning.
    pub strict: bool,
}

/// Whether a write goes to the main resource or the `/status` subresource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subresource {
    /// The object itself (status changes are ignored when a status subresource exists).
    Main,
    /// `/status`: only status changes are taken.
    Status,
}

/// Objects of one type: `(namespace, name) -> object`.
type Bucket = BTreeMap<(String, String), Value>;

/// The state of one simulated cluster's API.
#[derive(Debug)]
pub struct Store {
    site: String,
    rv: u64,
    next_uid: u64,
    /// Served types (built-ins plus CRD-defined ones).
    pub catalog: Catalog,
    objects: BTreeMap<ResourceId, Bucket>,
    history: VecDeque<Arc<Event>>,
    history_limit: usize,
    /// Events with `rv > compacted` are all still in the history.
    compacted: u64,
    events: broadcast::Sender<Arc<Event>>,
    gc_pending: bool,
    warnings: Vec<String>,
}

impl Store {
    /// An empty store for `site` with the built-in types and namespace `default`.
    pub fn new(site: &str, history_limit: usize) -> Self {
        let (events, _) = broadcast::channel(4096);
        let mut store = Self {
            site: site.to_owned(),
            rv: 0,
            next_uid: 0,
            catalog: Catalog::builtin(),
            objects: BTreeMap::new(),
            history: VecDeque::new(),
            history_limit: history_limit.max(1),
            compacted: 0,
            events,
            gc_pending: false,
            warnings: Vec::new(),
        };
        let ns = store
            .catalog
            .get("", "v1", "namespaces")
            .expect("built-in namespaces type");
        for name in ["default", "kube-system", "kube-public"] {
            let body = json!({"metadata": {"name": name}});
            store
                .create(&ns, "", body, &WriteOptions::default())
                .expect("fresh store accepts built-in namespaces");
        }
        store
    }

    /// The cluster's current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    /// A receiver of every future event.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.events.subscribe()
    }

    /// Events after `rv` still in the history, oldest first.
    ///
    /// # Errors
    /// [`ApiError::Gone`] when events after `rv` were already dropped from the history.
    pub fn events_since(&self, rv: u64) -> Result<Vec<Arc<Event>>, ApiError> {
        if rv < self.compacted {
            return Err(ApiError::Gone {
                requested: rv,
                oldest: self.compacted,
            });
        }
        Ok(self.history.iter().filter(|e| e.rv > rv).cloned().collect())
    }

    fn target(t: &ResourceType, name: &str) -> Target {
        Target::new(&t.group, &t.plural, name)
    }

    fn key(t: &ResourceType, ns: &str) -> String {
        if t.namespaced {
            ns.to_owned()
        } else {
            String::new()
        }
    }

    /// The object `name` (in `ns` for namespaced types).
    ///
    /// # Errors
    /// [`ApiError::NotFound`] when it does not exist.
    pub fn get(&self, t: &ResourceType, ns: &str, name: &str) -> Result<Value, ApiError> {
        self.objects
            .get(&t.id())
            .and_then(|b| b.get(&(Self::key(t, ns), name.to_owned())))
            .cloned()
            .ok_or_else(|| ApiError::NotFound(Self::target(t, name)))
    }

    /// Objects of type `t` (in `ns`, or all namespaces when `None`) passing `opts`.
    ///
    /// # Errors
    /// [`ApiError::BadRequest`] for an unreadable continue token.
    pub fn list(
        &self,
        t: &ResourceType,
        ns: Option<&str>,
        opts: &ListOptions,
    ) -> Result<ListPage, ApiError> {
        let after = match &opts.continue_token {
            Some(token) => Some(decode_continue(token)?),
            None => None,
        };
        let empty = Bucket::new();
        let bucket = self.objects.get(&t.id()).unwrap_or(&empty);
        let matching: Vec<(&(String, String), &Value)> = bucket
            .iter()
            .filter(|(k, _)| after.as_ref().is_none_or(|a| *k > a))
            .filter(|(_, o)| opts.matches(ns.filter(|_| t.namespaced), o))
            .collect();
        let take = if opts.limit == 0 {
            matching.len()
        } else {
            opts.limit.min(matching.len())
        };
        let remaining = matching.len() - take;
        let continue_token =
            (remaining > 0 && take > 0).then(|| encode_continue(self.rv, matching[take - 1].0));
        Ok(ListPage {
            items: matching[..take].iter().map(|(_, o)| (*o).clone()).collect(),
            resource_version: self.rv,
            continue_token,
            remaining,
        })
    }

    /// Warnings (unknown fields) from the last write, emptied by reading.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    fn unknown_fields(&mut self, fields: Vec<String>, opts: &WriteOptions) -> Result<(), ApiError> {
        if fields.is_empty() {
            return Ok(());
        }
        if opts.strict {
            let list: Vec<String> = fields
                .iter()
                .map(|f| format!("unknown field \"{f}\""))
                .collect();
            return Err(ApiError::BadRequest(format!(
                "strict decoding error: {}",
                list.join(", ")
            )));
        }
        self.warnings.extend(fields);
        Ok(())
    }

    fn bump(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    fn record(&mut self, t: &ResourceType, kind: EventType, object: &Value) {
        let event = Arc::new(Event {
            rv: self.rv,
            resource: t.id(),
            kind,
            object: object.clone(),
        });
        self.history.push_back(Arc::clone(&event));
        while self.history.len() > self.history_limit {
            if let Some(old) = self.history.pop_front() {
                self.compacted = old.rv;
            }
        }
        // No receivers is fine: nobody is watching.
        let _ = self.events.send(event);
    }

    fn check_namespace(&self, t: &ResourceType, ns: &str, creating: bool) -> Result<(), ApiError> {
        if !t.namespaced {
            return Ok(());
        }
        if ns.is_empty() {
            return Err(ApiError::BadRequest(
                "the namespace of the object must be set".into(),
            ));
        }
        let ns_type = ResourceId {
            group: String::new(),
            plural: "namespaces".into(),
        };
        let namespace = self
            .objects
            .get(&ns_type)
            .and_then(|b| b.get(&(String::new(), ns.to_owned())))
            .ok_or_else(|| ApiError::NotFound(Target::new("", "namespaces", ns)))?;
        if creating && object::is_terminating(namespace) {
            return Err(ApiError::Forbidden(format!(
                "unable to create new content in namespace {ns} because it is being terminated"
            )));
        }
        Ok(())
    }

    fn new_uid(&mut self) -> String {
        self.next_uid += 1;
        let site: u32 = self.site.bytes().fold(0x811c_9dc5_u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        });
        format!(
            "{site:08x}-{:04x}-4000-8000-{:012x}",
            (self.next_uid >> 48) & 0xffff,
            self.next_uid & 0xffff_ffff_ffff
        )
    }

    /// Create an object of type `t` in `ns` from `body`.
    ///
    /// Server-owned metadata is set; `status` is dropped when a status subresource exists.
    /// With `dry_run` the result is computed but nothing is stored.
    ///
    /// # Errors
    /// `BadRequest` (no name, namespace mismatch), `NotFound` (namespace), `Forbidden`
    /// (terminating namespace), `AlreadyExists`, `Invalid` (schema).
    pub fn create(
        &mut self,
        t: &ResourceType,
        ns: &str,
        mut body: Value,
        opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        if !body.is_object() {
            return Err(ApiError::BadRequest(
                "the body of the request must be an object".into(),
            ));
        }
        let body_ns = object::namespace(&body).to_owned();
        if t.namespaced && !body_ns.is_empty() && !ns.is_empty() && body_ns != ns {
            return Err(ApiError::BadRequest(
                "the namespace of the provided object does not match the namespace sent on the request"
                    .into(),
            ));
        }
        let ns = if ns.is_empty() { body_ns.as_str() } else { ns }.to_owned();
        self.check_namespace(t, &ns, true)?;
        let mut name = object::name(&body).to_owned();
        if name.is_empty() {
            let prefix = body
                .pointer("/metadata/generateName")
                .and_then(Value::as_str);
            match prefix {
                Some(prefix) => name = format!("{prefix}{:05x}", (self.rv * 7919 + 13) % 0xfffff),
                None => {
                    return Err(ApiError::Invalid {
                        target: Target::new(&t.group, &t.kind, ""),
                        causes: vec![crate::sim::apiserver::status::Cause::new(
                            "FieldValueRequired",
                            "metadata.name",
                            "Required value: name or generateName is required",
                        )],
                    });
                }
            }
        }
        let key = (Self::key(t, &ns), name.clone());
        if self
            .objects
            .get(&t.id())
            .is_some_and(|b| b.contains_key(&key))
        {
            return Err(ApiError::AlreadyExists(Self::target(t, &name)));
        }
        if t.status
            && t.plural != "namespaces"
            && let Some(map) = body.as_object_mut()
        {
            map.remove("status");
        }
        body["apiVersion"] = json!(t.api_version());
        body["kind"] = json!(t.kind);
        builtin_defaults(t, &mut body);
        if let Some(schema) = &t.schema {
            let pruned = schema.admit(&t.kind, &mut body, None)?;
            self.unknown_fields(pruned.fields, opts)?;
        }
        let uid = self.new_uid();
        let rv = self.rv + 1;
        {
            let meta = metadata_mut(&mut body);
            meta.insert("name".into(), json!(name));
            if t.namespaced {
                meta.insert("namespace".into(), json!(ns));
            } else {
                meta.remove("namespace");
            }
            meta.insert("uid".into(), json!(uid));
            meta.insert("resourceVersion".into(), json!(rv.to_string()));
            meta.insert("creationTimestamp".into(), json!(object::now_timestamp()));
            meta.insert("generation".into(), json!(1));
            meta.remove("deletionTimestamp");
            meta.remove("deletionGracePeriodSeconds");
            meta.remove("selfLink");
        }
        if t.group == "apiextensions.k8s.io" && t.plural == "customresourcedefinitions" {
            crd::admit(&self.catalog, &mut body)?;
        }
        if opts.dry_run {
            return Ok(body);
        }
        self.bump();
        if t.group == "apiextensions.k8s.io" && t.plural == "customresourcedefinitions" {
            crd::serve(&mut self.catalog, &body);
        }
        self.objects
            .entry(t.id())
            .or_default()
            .insert(key, body.clone());
        self.record(t, EventType::Added, &body);
        if !object::owner_uids(&body).is_empty() {
            // Created for owners that may all be gone (a controller acting on a stale
            // cache): the collector removes such an object, as a real cluster's does.
            self.gc_pending = true;
            self.collect_garbage();
        }
        Ok(body)
    }

    /// Replace object `name` with `body` (PUT, and the last step of every patch).
    ///
    /// Returns the stored object and whether anything changed (a no-op keeps the
    /// resourceVersion). A stale `metadata.resourceVersion` in `body` is a conflict.
    ///
    /// # Errors
    /// `NotFound`, `Conflict`, `BadRequest` (name mismatch), `Invalid` (schema).
    pub fn replace(
        &mut self,
        t: &ResourceType,
        ns: &str,
        name: &str,
        mut body: Value,
        sub: Subresource,
        opts: &WriteOptions,
    ) -> Result<(Value, bool), ApiError> {
        self.check_namespace(t, ns, false)?;
        let old = self.get(t, ns, name)?;
        let body_rv = object::resource_version(&body);
        if !body_rv.is_empty() && body_rv != object::resource_version(&old) {
            return Err(ApiError::Conflict(Self::target(t, name)));
        }
        let body_name = object::name(&body);
        if !body_name.is_empty() && body_name != name {
            return Err(ApiError::BadRequest(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        if !body.is_object() {
            return Err(ApiError::BadRequest(
                "the body of the request must be an object".into(),
            ));
        }
        let mut new = match sub {
            Subresource::Status => {
                let mut new = old.clone();
                new["status"] = body.get("status").cloned().unwrap_or(Value::Null);
                if new["status"].is_null()
                    && let Some(m) = new.as_object_mut()
                {
                    m.remove("status");
                }
                if let Some(mf) = body.pointer("/metadata/managedFields") {
                    metadata_mut(&mut new).insert("managedFields".into(), mf.clone());
                }
                new
            }
            Subresource::Main => {
                if t.status {
                    match old.get("status") {
                        Some(s) => body["status"] = s.clone(),
                        None => {
                            if let Some(m) = body.as_object_mut() {
                                m.remove("status");
                            }
                        }
                    }
                }
                body["apiVersion"] = json!(t.api_version());
                body["kind"] = json!(t.kind);
                let old_meta = old.get("metadata").cloned().unwrap_or_else(|| json!({}));
                let meta = metadata_mut(&mut body);
                for k in [
                    "name",
                    "namespace",
                    "uid",
                    "creationTimestamp",
                    "deletionTimestamp",
                    "deletionGracePeriodSeconds",
                    "generation",
                ] {
                    match old_meta.get(k) {
                        Some(v) => meta.insert(k.into(), v.clone()),
                        None => meta.remove(k),
                    };
                }
                if !meta.contains_key("managedFields")
                    && let Some(mf) = old_meta.get("managedFields")
                {
                    meta.insert("managedFields".into(), mf.clone());
                }
                builtin_defaults(t, &mut body);
                body
            }
        };
        if let Some(schema) = &t.schema {
            let pruned = schema.admit(&t.kind, &mut new, Some(&old))?;
            self.unknown_fields(pruned.fields, opts)?;
        }
        // An object being deleted may not gain finalizers it did not have? (allowed upstream;
        // we only block new finalizers after deletion started, as the apiserver does)
        if object::is_terminating(&old) {
            let before: BTreeSet<_> = object::finalizers(&old).into_iter().collect();
            if object::finalizers(&new).iter().any(|f| !before.contains(f)) {
                return Err(ApiError::Forbidden(format!(
                    "no new finalizers can be added if the object is being deleted, {} \"{name}\"",
                    t.plural
                )));
            }
        }
        metadata_mut(&mut new).insert(
            "resourceVersion".into(),
            json!(object::resource_version(&old)),
        );
        if new == old {
            return Ok((old, false));
        }
        if object::spec_differs(&old, &new) {
            let generation = old
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            metadata_mut(&mut new).insert("generation".into(), json!(generation + 1));
        }
        if t.group == "apiextensions.k8s.io" && t.plural == "customresourcedefinitions" {
            crd::admit(&self.catalog, &mut new)?;
        }
        metadata_mut(&mut new).insert("resourceVersion".into(), json!((self.rv + 1).to_string()));
        if opts.dry_run {
            return Ok((new, true));
        }
        self.bump();
        if object::is_terminating(&new) && object::finalizers(&new).is_empty() {
            self.remove(t, ns, name, new.clone());
            // Its dependents go now, not at some later unrelated write.
            self.collect_garbage();
            return Ok((new, true));
        }
        if object::owner_uids(&new) != object::owner_uids(&old)
            && !object::owner_uids(&new).is_empty()
        {
            self.gc_pending = true;
        }
        if t.group == "apiextensions.k8s.io" && t.plural == "customresourcedefinitions" {
            crd::serve(&mut self.catalog, &new);
        }
        self.objects
            .entry(t.id())
            .or_default()
            .insert((Self::key(t, ns), name.to_owned()), new.clone());
        self.record(t, EventType::Modified, &new);
        self.collect_garbage();
        Ok((new, true))
    }
}

/// Defaults a real API server applies to the built-in kinds we serve.
fn builtin_defaults(t: &ResourceType, body: &mut Value) {
    match (t.group.as_str(), t.plural.as_str()) {
        ("", "namespaces") if object::get_path(body, "status.phase").is_none() => {
            object::set_path(body, "status.phase", json!("Active"));
        }
        ("", "secrets") => {
            let needs_type = body
                .get("type")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty);
            if needs_type {
                body["type"] = json!("Opaque");
            }
            if let Some(string_data) = body.as_object_mut().and_then(|m| m.remove("stringData"))
                && let Some(entries) = string_data.as_object()
            {
                // Keys are plain keys ("config.yaml"), not paths: a dot must not nest.
                if !body.get("data").is_some_and(Value::is_object) {
                    body["data"] = json!({});
                }
                for (k, v) in entries {
                    let encoded = base64::engine::general_purpose::STANDARD
                        .encode(v.as_str().unwrap_or_default());
                    body["data"][k.as_str()] = json!(encoded);
                }
            }
        }
        ("apps", "deployments") if object::get_path(body, "spec.replicas").is_none() => {
            object::set_path(body, "spec.replicas", json!(1));
        }
        _ => {}
    }
}

fn encode_continue(rv: u64, key: &(String, String)) -> String {
    let raw = json!({"rv": rv, "ns": key.0, "name": key.1}).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn decode_continue(token: &str) -> Result<(String, String), ApiError> {
    let bad = || ApiError::BadRequest(format!("invalid continue token {token:?}"));
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    let ns = v.get("ns").and_then(Value::as_str).ok_or_else(bad)?;
    let name = v.get("name").and_then(Value::as_str).ok_or_else(bad)?;
    Ok((ns.to_owned(), name.to_owned()))
}
