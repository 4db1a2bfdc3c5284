//! The verbs of the simulated API server on one resource: get, list, create, update, patch
//! (merge, JSON, strategic, server-side apply), delete and deletecollection, and the `/scale`
//! view of an object.
//!
//! Each verb runs against the store under its lock, so a read-modify-write is atomic. Routing,
//! authentication and faults happen before a verb runs, in the HTTP module; watches have their
//! own module.

use std::sync::Arc;

use http::{Response, header};
use serde_json::{Value, json};

use super::apply;
use super::conversion::{self, from_storage, to_storage};
use super::object;
use super::patch;
use super::protobuf;
use super::resources::ResourceType;
use super::state::ClusterState;
use super::status::{ApiError, Cause, Target};
use super::store::{DeleteOptions, ListOptions, Store, Subresource};
use super::wire::{ApiRequest, Body, json_response, list_options, with_warnings};

/// The type objects of `t` are stored as, when `t` is served by conversion from another
/// version ([`conversion`]); the verbs use it with the store and convert at the edge.
fn stored(store: &Store, t: &ResourceType) -> Option<Arc<ResourceType>> {
    conversion::stored(&store.catalog, t)
}

/// How the client asked the objects to be served: whole, or as their metadata alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Served {
    /// The objects themselves.
    Whole,
    /// `meta.k8s.io` `PartialObjectMetadata` (or its list) of this version (`v1`, `v1beta1`).
    Metadata(&'static str),
}

/// How to answer a get (`list = false`) or a list, from `Accept`, as kube-apiserver
/// negotiates it (kubernetes `staging/src/k8s.io/apiserver/pkg/endpoints/handlers/response.go`,
/// `transformObject`, and `.../handlers/negotiation`): the first media type it can serve wins;
/// `application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1` (`...MetadataList` for a
/// list) asks for metadata only, so a client that reads a Secret to know it exists never
/// receives its data; a form it cannot serve (a list asked for as one object, another group or
/// version) is skipped, and with nothing left the answer is 406. Other media types (protobuf,
/// tables) are left to the rest of the server, which answers JSON: they change nothing here.
fn served_as(req: &ApiRequest, list: bool) -> Result<Served, ApiError> {
    let accept = req.header(header::ACCEPT);
    if accept.trim().is_empty() {
        return Ok(Served::Whole);
    }
    let wanted = if list {
        "PartialObjectMetadataList"
    } else {
        "PartialObjectMetadata"
    };
    let mut asked_partial = false;
    for media in accept.split(',') {
        let mut parts = media.split(';').map(str::trim);
        let base = parts.next().unwrap_or_default();
        let params: Vec<(&str, &str)> = parts.filter_map(|p| p.split_once('=')).collect();
        let param = |name: &str| params.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        if !matches!(base, "application/json" | "application/*" | "*/*") {
            continue;
        }
        let Some(as_kind) = param("as") else {
            return Ok(Served::Whole);
        };
        if !as_kind.starts_with("PartialObjectMetadata") {
            continue;
        }
        asked_partial = true;
        let version = match param("v") {
            Some("v1") => "v1",
            Some("v1beta1") => "v1beta1",
            _ => continue,
        };
        if as_kind == wanted && param("g") == Some("meta.k8s.io") {
            return Ok(Served::Metadata(version));
        }
    }
    if !asked_partial {
        return Ok(Served::Whole);
    }
    Err(ApiError::NotAcceptable(format!(
        "application/json, application/json;as={wanted};g=meta.k8s.io;v=v1"
    )))
}

/// `object` (as served) as a `meta.k8s.io` `PartialObjectMetadata` of `version`.
fn partial_metadata(object: &Value, version: &str) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": format!("meta.k8s.io/{version}"),
        "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// The `get` verb.
pub(super) fn get(
    state: &ClusterState,
    t: &ResourceType,
    ns: &str,
    name: &str,
    sub: Option<&str>,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let store = state.lock_store();
    let st = stored(&store, t);
    let object = store.get(st.as_deref().unwrap_or(t), ns, name)?;
    if sub == Some("scale") {
        return Ok(json_response(200, &to_scale(t, &object)));
    }
    let served = from_storage(t, object);
    // A subresource is served whole (kube-apiserver would negotiate there too).
    if sub.is_none()
        && let Served::Metadata(version) = served_as(req, false)?
    {
        return Ok(json_response(200, &partial_metadata(&served, version)));
    }
    state.faults.count_whole_objects(&t.plural, 1);
    Ok(json_response(200, &served))
}

/// The `list` verb.
pub(super) fn list(
    state: &ClusterState,
    t: &ResourceType,
    ns: Option<&str>,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let opts = list_options(&req.query)?;
    let page = {
        let store = state.lock_store();
        let st = stored(&store, t);
        store.list(st.as_deref().unwrap_or(t), ns, &opts)?
    };
    let served = served_as(req, true)?;
    if served == Served::Whole {
        state
            .faults
            .count_whole_objects(&t.plural, page.items.len() as u64);
    }
    let items: Vec<Value> = page
        .items
        .into_iter()
        .map(|o| {
            let object = from_storage(t, o);
            match served {
                Served::Whole => object,
                Served::Metadata(version) => partial_metadata(&object, version),
            }
        })
        .collect();
    let mut metadata = json!({"resourceVersion": page.resource_version.to_string()});
    if let Some(token) = page.continue_token {
        metadata["continue"] = json!(token);
        metadata["remainingItemCount"] = json!(page.remaining);
    }
    let (kind, api_version) = match served {
        Served::Metadata(version) => (
            "PartialObjectMetadataList".to_owned(),
            format!("meta.k8s.io/{version}"),
        ),
        Served::Whole => (format!("{}List", t.kind), t.api_version()),
    };
    Ok(json_response(
        200,
        &json!({
            "kind": kind,
            "apiVersion": api_version,
            "metadata": metadata,
            "items": items,
        }),
    ))
}

fn parse_body(t: &ResourceType, req: &ApiRequest) -> Result<Value, ApiError> {
    let content_type = req.header(header::CONTENT_TYPE);
    if content_type.starts_with("application/vnd.kubernetes.protobuf") {
        return protobuf::decode(&t.api_version(), &t.kind, &req.body).map_err(|e| match e {
            protobuf::Error::UnsupportedKind { .. } => {
                ApiError::UnsupportedMediaType("application/json, application/yaml".into())
            }
            other => ApiError::BadRequest(other.to_string()),
        });
    }
    if content_type.contains("yaml") {
        let text = std::str::from_utf8(&req.body)
            .map_err(|_| ApiError::BadRequest("body is not utf-8".into()))?;
        return serde_saphyr::from_str(text)
            .map_err(|e| ApiError::BadRequest(format!("invalid yaml body: {e}")));
    }
    serde_json::from_slice(&req.body)
        .map_err(|e| ApiError::BadRequest(format!("invalid json body: {e}")))
}

/// The `create` verb.
pub(super) fn create(
    state: &ClusterState,
    t: &ResourceType,
    ns: &str,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let mut store = state.lock_store();
    let st = stored(&store, t);
    let st = st.as_deref().unwrap_or(t);
    let mut body = to_storage(t, parse_body(t, req)?);
    apply::record_update(st, None, &mut body, &req.field_manager(), None);
    let created = store.create(st, ns, body, &req.write_options())?;
    let warnings = store.take_warnings();
    Ok(with_warnings(
        json_response(201, &from_storage(t, created)),
        &warnings,
    ))
}

/// The `update` verb.
pub(super) fn update(
    state: &ClusterState,
    t: &ResourceType,
    ns: &str,
    name: &str,
    sub: Option<&str>,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let body = parse_body(t, req)?;
    let mut store = state.lock_store();
    let converted = stored(&store, t);
    if sub == Some("scale") {
        let current = store.get(t, ns, name)?;
        let wanted_rv = object::resource_version(&body);
        if !wanted_rv.is_empty() && wanted_rv != object::resource_version(&current) {
            return Err(ApiError::Conflict(Target::new(&t.group, &t.plural, name)));
        }
        let updated = write_scale(&mut store, t, ns, name, current, &body, req)?;
        return Ok(json_response(200, &to_scale(t, &updated)));
    }
    let subresource = if sub == Some("status") {
        Subresource::Status
    } else {
        Subresource::Main
    };
    let st = converted.as_deref().unwrap_or(t);
    let old = store.get(st, ns, name)?;
    let mut body = to_storage(t, body);
    apply::record_update(st, Some(&old), &mut body, &req.field_manager(), sub);
    let (updated, _) = store.replace(st, ns, name, body, subresource, &req.write_options())?;
    let warnings = store.take_warnings();
    Ok(with_warnings(
        json_response(200, &from_storage(t, updated)),
        &warnings,
    ))
}

fn write_scale(
    store: &mut Store,
    t: &ResourceType,
    ns: &str,
    name: &str,
    current: Value,
    scale: &Value,
    req: &ApiRequest,
) -> Result<Value, ApiError> {
    let spec = t.scale.as_ref().ok_or(ApiError::NoRoute)?;
    let replicas = scale.pointer("/spec/replicas").cloned().unwrap_or(json!(0));
    let mut new = current.clone();
    object::set_path(&mut new, &spec.spec_replicas, replicas);
    apply::record_update(
        t,
        Some(&current),
        &mut new,
        &req.field_manager(),
        Some("scale"),
    );
    Ok(store
        .replace(t, ns, name, new, Subresource::Main, &req.write_options())?
        .0)
}

/// The `autoscaling/v1` `Scale` view of an object.
pub fn to_scale(t: &ResourceType, object: &Value) -> Value {
    let spec = t.scale.as_ref();
    let replicas = spec
        .and_then(|s| object::get_path(object, &s.spec_replicas))
        .cloned()
        .unwrap_or(json!(0));
    let observed = spec
        .and_then(|s| object::get_path(object, &s.status_replicas))
        .cloned()
        .unwrap_or(json!(0));
    let selector = object
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let meta = object.get("metadata").cloned().unwrap_or(json!({}));
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta.get("name"), "namespace": meta.get("namespace"), "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"), "creationTimestamp": meta.get("creationTimestamp"),
        },
        "spec": {"replicas": replicas},
        "status": {"replicas": observed, "selector": selector},
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PatchKind {
    Merge,
    Json,
    Strategic,
    Apply,
}

fn patch_kind(content_type: &str, t: &ResourceType) -> Result<PatchKind, ApiError> {
    let media = content_type.split(';').next().unwrap_or("").trim();
    let accepted =
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";
    match media {
        "application/merge-patch+json" => Ok(PatchKind::Merge),
        "application/json-patch+json" => Ok(PatchKind::Json),
        "application/strategic-merge-patch+json" if t.builtin => Ok(PatchKind::Strategic),
        "application/apply-patch+yaml" | "application/apply-patch+json" => Ok(PatchKind::Apply),
        _ => Err(ApiError::UnsupportedMediaType(if t.builtin {
            format!("{accepted}, application/strategic-merge-patch+json")
        } else {
            accepted.to_owned()
        })),
    }
}

/// The `patch` verb.
pub(super) fn patch_verb(
    state: &ClusterState,
    t: &ResourceType,
    ns: &str,
    name: &str,
    sub: Option<&str>,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let kind = patch_kind(req.header(header::CONTENT_TYPE), t)?;
    let body: Value = if kind == PatchKind::Apply {
        parse_body(t, req)?
    } else {
        serde_json::from_slice(&req.body)
            .map_err(|e| ApiError::BadRequest(format!("invalid patch body: {e}")))?
    };
    let manager = req.field_manager();
    let opts = req.write_options();
    let mut store = state.lock_store();
    let converted = stored(&store, t);
    let st = converted.as_deref().unwrap_or(t);
    let current = match store.get(st, ns, name) {
        Ok(c) => Some(c),
        Err(ApiError::NotFound(_)) if kind == PatchKind::Apply && sub.is_none() => None,
        Err(e) => return Err(e),
    };
    let force = req.param("force") == Some("true");
    let Some(current) = current else {
        // Server-side apply of a missing object creates it.
        let mut created = apply::apply(t, None, &body, &manager, force, None)?;
        metadata_name_default(&mut created, name);
        let created = store.create(st, ns, to_storage(t, created), &opts)?;
        let warnings = store.take_warnings();
        return Ok(with_warnings(
            json_response(201, &from_storage(t, created)),
            &warnings,
        ));
    };
    let patch_err = |e: patch::Error| ApiError::Invalid {
        target: Target::new(&t.group, &t.kind, name),
        causes: vec![Cause::new("FieldValueInvalid", "", e.to_string())],
    };
    let base = if sub == Some("scale") {
        to_scale(t, &current)
    } else {
        from_storage(t, current.clone())
    };
    let mut new = base.clone();
    match kind {
        PatchKind::Merge => patch::merge_patch(&mut new, &body),
        PatchKind::Json => patch::json_patch(&mut new, &body).map_err(patch_err)?,
        PatchKind::Strategic => patch::strategic_merge(&mut new, &body).map_err(patch_err)?,
        PatchKind::Apply => new = apply::apply(t, Some(&base), &body, &manager, force, sub)?,
    }
    if sub == Some("scale") {
        let updated = write_scale(&mut store, t, ns, name, current, &new, req)?;
        return Ok(json_response(200, &to_scale(t, &updated)));
    }
    let mut new = to_storage(t, new);
    if kind != PatchKind::Apply {
        apply::record_update(st, Some(&current), &mut new, &manager, sub);
    }
    // A patch never carries a precondition unless it sets resourceVersion explicitly.
    let patched_rv = object::resource_version(&new).to_owned();
    let body_rv = body
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str);
    if body_rv.is_none() && patched_rv != object::resource_version(&current) {
        object::metadata_mut(&mut new).remove("resourceVersion");
    }
    let subresource = if sub == Some("status") {
        Subresource::Status
    } else {
        Subresource::Main
    };
    let (updated, _) = store.replace(st, ns, name, new, subresource, &opts)?;
    let warnings = store.take_warnings();
    Ok(with_warnings(
        json_response(200, &from_storage(t, updated)),
        &warnings,
    ))
}

fn metadata_name_default(object: &mut Value, name: &str) {
    let meta = object::metadata_mut(object);
    if meta
        .get("name")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        meta.insert("name".into(), json!(name));
    }
}

fn delete_options(req: &ApiRequest) -> Result<DeleteOptions, ApiError> {
    let body: Value = if req.body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&req.body)
            .map_err(|e| ApiError::BadRequest(format!("invalid delete options: {e}")))?
    };
    let policy = body
        .get("propagationPolicy")
        .and_then(Value::as_str)
        .or_else(|| req.param("propagationPolicy"))
        .unwrap_or("Background");
    Ok(DeleteOptions {
        uid: body
            .pointer("/preconditions/uid")
            .and_then(Value::as_str)
            .map(str::to_owned),
        resource_version: body
            .pointer("/preconditions/resourceVersion")
            .and_then(Value::as_str)
            .map(str::to_owned),
        orphan: policy == "Orphan" || body.get("orphanDependents") == Some(&Value::Bool(true)),
    })
}

/// The `delete` verb.
pub(super) fn delete(
    state: &ClusterState,
    t: &ResourceType,
    ns: &str,
    name: &str,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let opts = delete_options(req)?;
    let mut store = state.lock_store();
    let converted = stored(&store, t);
    let deleted = store.delete(
        converted.as_deref().unwrap_or(t),
        ns,
        name,
        &opts,
        req.write_options().dry_run,
    )?;
    Ok(json_response(200, &from_storage(t, deleted)))
}

/// The `deletecollection` verb.
pub(super) fn delete_collection(
    state: &ClusterState,
    t: &ResourceType,
    ns: Option<&str>,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let opts = delete_options(req)?;
    let list_opts = ListOptions {
        limit: 0,
        continue_token: None,
        ..list_options(&req.query)?
    };
    let mut store = state.lock_store();
    let converted = stored(&store, t);
    let st = converted.as_deref().unwrap_or(t);
    let page = store.list(st, ns, &list_opts)?;
    let mut deleted = Vec::new();
    for item in page.items {
        let (item_ns, item_name) = (
            object::namespace(&item).to_owned(),
            object::name(&item).to_owned(),
        );
        match store.delete(st, &item_ns, &item_name, &opts, req.write_options().dry_run) {
            Ok(obj) => deleted.push(from_storage(t, obj)),
            Err(ApiError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(json_response(
        200,
        &json!({
            "kind": format!("{}List", t.kind),
            "apiVersion": t.api_version(),
            "metadata": {"resourceVersion": store.resource_version().to_string()},
            "items": deleted,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::apiserver::resources::Catalog;

    #[test]
    fn strategic_merge_is_refused_for_custom_resources() {
        let mut t = Catalog::builtin()
            .get("", "v1", "configmaps")
            .unwrap()
            .as_ref()
            .clone();
        assert_eq!(
            patch_kind("application/strategic-merge-patch+json", &t).unwrap(),
            PatchKind::Strategic
        );
        t.builtin = false;
        assert_eq!(
            patch_kind("application/strategic-merge-patch+json", &t)
                .unwrap_err()
                .code(),
            415
        );
    }
}
