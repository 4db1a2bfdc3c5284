//! HTTP front of a simulated cluster: routing, authentication, verbs and responses.
//!
//! Parses a request into a [`Route`], checks the bearer token (HTTPS only, as kubectl sends
//! no token over plain HTTP), applies injected faults, and runs the verb against the store
//! under its lock so read-modify-write verbs are atomic. Watch streams are in
//! [`crate::sim::watch`]; connection handling and TLS are in [`crate::sim::cluster`].

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt as _, Full, combinators::BoxBody};
use serde_json::{Value, json};

use crate::sim::apply;
use crate::sim::cluster::ClusterState;
use crate::sim::discovery;
use crate::sim::faults::FaultRule;
use crate::sim::object;
use crate::sim::openapi;
use crate::sim::patch;
use crate::sim::protobuf;
use crate::sim::resources::ResourceType;
use crate::sim::selectors::{FieldSelector, LabelSelector};
use crate::sim::status::{ApiError, Target};
use crate::sim::store::{DeleteOptions, ListOptions, Store, Subresource, WriteOptions};
use crate::sim::watch;

/// Response body type of the simulated server (full bodies and watch streams).
pub type Body = BoxBody<Bytes, Infallible>;

/// A parsed request: what the handlers need, with the body already read.
#[derive(Debug)]
pub struct ApiRequest {
    /// HTTP method.
    pub method: Method,
    /// Decoded query parameters (last value wins).
    pub query: BTreeMap<String, String>,
    /// Request headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl ApiRequest {
    fn param(&self, key: &str) -> Option<&str> {
        self.query.get(key).map(String::as_str)
    }

    fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn write_options(&self) -> WriteOptions {
        WriteOptions {
            dry_run: self.param("dryRun") == Some("All"),
            strict: self.param("fieldValidation") == Some("Strict"),
        }
    }

    fn field_manager(&self) -> String {
        match self.param("fieldManager") {
            Some(m) if !m.is_empty() => m.to_owned(),
            _ => {
                let agent = self.header(header::USER_AGENT);
                let prefix = agent.split('/').next().unwrap_or("");
                if prefix.is_empty() {
                    "unknown".to_owned()
                } else {
                    prefix.to_owned()
                }
            }
        }
    }
}

/// Serve one request.
pub async fn handle(
    state: Arc<ClusterState>,
    req: Request<hyper::body::Incoming>,
) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return error_response(&ApiError::BadRequest("unreadable request body".into())),
    };
    let request = ApiRequest {
        method: parts.method,
        query: parse_query(parts.uri.query().unwrap_or("")),
        headers: parts.headers,
        body,
    };
    match dispatch(&state, parts.uri.path(), request).await {
        Ok(response) => response,
        Err(err) => error_response(&err),
    }
}

fn parse_query(query: &str) -> BTreeMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A JSON response with the given status.
pub fn json_response(status: u16, value: &Value) -> Response<Body> {
    json_response_typed(status, value, "application/json")
}

fn json_response_typed(status: u16, value: &Value, content_type: &str) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(value.to_string())).boxed());
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(ct) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    response
}

/// The `Status` response of an error (with Retry-After for 429).
pub fn error_response(err: &ApiError) -> Response<Body> {
    let mut response = json_response(err.code(), &err.to_status());
    if let ApiError::TooManyRequests {
        retry_after_seconds,
    } = err
    {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_seconds));
    }
    response
}

fn with_warnings(mut response: Response<Body>, warnings: &[String]) -> Response<Body> {
    for w in warnings {
        let text = format!("299 - \"unknown field \\\"{w}\\\"\"");
        if let Ok(v) = HeaderValue::from_str(&text) {
            response.headers_mut().append(header::WARNING, v);
        }
    }
    response
}

fn lock(state: &ClusterState) -> std::sync::MutexGuard<'_, Store> {
    state
        .store
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

const ANONYMOUS_PATHS: [&str; 4] = ["/version", "/healthz", "/livez", "/readyz"];

async fn dispatch(
    state: &Arc<ClusterState>,
    path: &str,
    req: ApiRequest,
) -> Result<Response<Body>, ApiError> {
    if let Some(token) = &state.token {
        let expected = format!("Bearer {token}");
        if !ANONYMOUS_PATHS.contains(&path) && req.header(header::AUTHORIZATION) != expected {
            return Err(ApiError::Unauthorized);
        }
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let accept = req.header(header::ACCEPT).to_owned();
    match segments.as_slice() {
        ["version"] => Ok(json_response(200, &discovery::version())),
        ["healthz" | "livez" | "readyz"] => {
            Ok(Response::new(Full::new(Bytes::from_static(b"ok")).boxed()))
        }
        ["sim", rest @ ..] => admin(state, rest, &req),
        ["openapi", "v3"] => {
            let store = lock(state);
            Ok(json_response(
                200,
                &openapi::root(&store.catalog, store.resource_version()),
            ))
        }
        ["openapi", "v3", "api", v] => openapi::group_version(&lock(state).catalog, "", v)
            .map(|d| json_response(200, &d))
            .ok_or(ApiError::NoRoute),
        ["openapi", "v3", "apis", g, v] => openapi::group_version(&lock(state).catalog, g, v)
            .map(|d| json_response(200, &d))
            .ok_or(ApiError::NoRoute),
        ["api"] | ["apis"] => {
            let core = segments[0] == "api";
            let store = lock(state);
            if discovery::wants_aggregated(&accept) {
                let doc = discovery::aggregated(&store.catalog, core);
                Ok(json_response_typed(
                    200,
                    &doc,
                    discovery::AGGREGATED_CONTENT_TYPE,
                ))
            } else if core {
                Ok(json_response(
                    200,
                    &discovery::core_versions(&state.server_address),
                ))
            } else {
                Ok(json_response(200, &discovery::group_list(&store.catalog)))
            }
        }
        ["api", v] => discovery::resource_list(&lock(state).catalog, "", v)
            .map(|d| json_response(200, &d))
            .ok_or(ApiError::NoRoute),
        ["apis", g] => discovery::group(&lock(state).catalog, g)
            .map(|d| json_response(200, &d))
            .ok_or(ApiError::NoRoute),
        ["apis", g, v] => discovery::resource_list(&lock(state).catalog, g, v)
            .map(|d| json_response(200, &d))
            .ok_or(ApiError::NoRoute),
        ["api", v, rest @ ..] => resource(state, "", v, rest, req).await,
        ["apis", g, v, rest @ ..] => resource(state, g, v, rest, req).await,
        _ => Err(ApiError::NoRoute),
    }
}

/// A request aimed at a resource: collection, item or subresource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Namespace from the path, if any.
    pub namespace: Option<String>,
    /// Resource plural.
    pub plural: String,
    /// Object name, if an item.
    pub name: Option<String>,
    /// Subresource (`status`, `scale`), if any.
    pub sub: Option<String>,
}

/// Parse the path segments after `/api/v1` or `/apis/g/v`.
pub fn parse_route(rest: &[&str]) -> Option<Route> {
    let own = |s: &str| s.to_owned();
    let route = |ns: Option<&str>, plural: &str, name: Option<&str>, sub: Option<&str>| Route {
        namespace: ns.map(own),
        plural: own(plural),
        name: name.map(own),
        sub: sub.map(own),
    };
    Some(match rest {
        [plural] => route(None, plural, None, None),
        [plural, name] => route(None, plural, Some(name), None),
        ["namespaces", name, sub @ ("status" | "finalize")] => {
            route(None, "namespaces", Some(name), Some(sub))
        }
        ["namespaces", ns, plural] => route(Some(ns), plural, None, None),
        [plural, name, sub] => route(None, plural, Some(name), Some(sub)),
        ["namespaces", ns, plural, name] => route(Some(ns), plural, Some(name), None),
        ["namespaces", ns, plural, name, sub] => route(Some(ns), plural, Some(name), Some(sub)),
        _ => return None,
    })
}

fn verb_of(method: &Method, route: &Route, watch: bool) -> Result<&'static str, ApiError> {
    Ok(match (method.as_str(), route.name.is_some()) {
        ("GET", true) => "get",
        ("GET", false) if watch => "watch",
        ("GET", false) => "list",
        ("POST", false) => "create",
        ("PUT", true) => "update",
        ("PATCH", true) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => return Err(ApiError::MethodNotAllowed),
    })
}

async fn resource(
    state: &Arc<ClusterState>,
    group: &str,
    version: &str,
    rest: &[&str],
    req: ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let route = parse_route(rest).ok_or(ApiError::NoRoute)?;
    let t = lock(state)
        .catalog
        .get(group, version, &route.plural)
        .ok_or(ApiError::NoRoute)?;
    if route.namespace.is_some() && !t.namespaced {
        return Err(ApiError::NoRoute);
    }
    if route.name.is_some() && t.namespaced && route.namespace.is_none() {
        return Err(ApiError::NoRoute);
    }
    match route.sub.as_deref() {
        None => {}
        Some("status") if t.status => {}
        Some("scale") if t.scale.is_some() => {}
        Some(_) => return Err(ApiError::NoRoute),
    }
    let watching = matches!(req.param("watch"), Some("true" | "1"));
    let verb = verb_of(&req.method, &route, watching)?;
    if let Some(fault) = state
        .faults
        .check(verb, &t.plural, route.name.as_deref().unwrap_or(""))
    {
        return Err(fault);
    }
    let latency = state.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let ns = route.namespace.clone().unwrap_or_default();
    let name = route.name.clone().unwrap_or_default();
    let result = match verb {
        "get" => get(state, &t, &ns, &name, route.sub.as_deref()),
        "list" => list(state, &t, route.namespace.as_deref(), &req),
        "watch" => return watch::start(state, &t, route.namespace.as_deref(), &req.query),
        "create" => create(state, &t, &ns, &req),
        "update" => update(state, &t, &ns, &name, route.sub.as_deref(), &req),
        "patch" => patch_verb(state, &t, &ns, &name, route.sub.as_deref(), &req),
        "delete" => delete(state, &t, &ns, &name, &req),
        _ => delete_collection(state, &t, route.namespace.as_deref(), &req),
    };
    if result.is_ok() && !matches!(verb, "get" | "list") && !req.write_options().dry_run {
        state.faults.count_write();
    }
    result
}

fn get(
    state: &ClusterState,
    t: &ResourceType,
    ns: &str,
    name: &str,
    sub: Option<&str>,
) -> Result<Response<Body>, ApiError> {
    let object = lock(state).get(t, ns, name)?;
    if sub == Some("scale") {
        return Ok(json_response(200, &to_scale(t, &object)));
    }
    Ok(json_response(200, &object))
}

/// List options from query parameters.
///
/// # Errors
/// `BadRequest` for malformed selectors or limit.
pub fn list_options(query: &BTreeMap<String, String>) -> Result<ListOptions, ApiError> {
    let bad = |e: crate::sim::selectors::Error| ApiError::BadRequest(e.to_string());
    Ok(ListOptions {
        labels: LabelSelector::parse(query.get("labelSelector").map_or("", String::as_str))
            .map_err(bad)?,
        fields: FieldSelector::parse(query.get("fieldSelector").map_or("", String::as_str))
            .map_err(bad)?,
        limit: match query.get("limit") {
            Some(l) => l
                .parse()
                .map_err(|_| ApiError::BadRequest(format!("invalid limit {l:?}")))?,
            None => 0,
        },
        continue_token: query.get("continue").filter(|c| !c.is_empty()).cloned(),
    })
}

fn list(
    state: &ClusterState,
    t: &ResourceType,
    ns: Option<&str>,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let opts = list_options(&req.query)?;
    let page = lock(state).list(t, ns, &opts)?;
    let mut metadata = json!({"resourceVersion": page.resource_version.to_string()});
    if let Some(token) = page.continue_token {
        metadata["continue"] = json!(token);
        metadata["remainingItemCount"] = json!(page.remaining);
    }
    Ok(json_response(
        200,
        &json!({
            "kind": format!("{}List", t.kind),
            "apiVersion": t.api_version(),
            "metadata": metadata,
            "items": page.items,
        }),
    ))
}

fn parse_body(t: &ResourceType, req: &ApiRequest) -> Result<Value, ApiError> {
    let content_type = req.header(header::CONTENT_TYPE);
    if content_type.starts_with("application/vnd.kubernetes.protobuf") {
        return protobuf::decode(&t.kind, &req.body).map_err(|e| match e {
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

fn create(
    state: &ClusterState,
    t: &ResourceType,
    ns: &str,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let mut body = parse_body(t, req)?;
    apply::record_update(t, None, &mut body, &req.field_manager(), None);
    let mut store = lock(state);
    let created = store.create(t, ns, body, &req.write_options())?;
    let warnings = store.take_warnings();
    Ok(with_warnings(json_response(201, &created), &warnings))
}

fn update(
    state: &ClusterState,
    t: &ResourceType,
    ns: &str,
    name: &str,
    sub: Option<&str>,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let body = parse_body(t, req)?;
    let mut store = lock(state);
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
    let old = store.get(t, ns, name)?;
    let mut body = body;
    apply::record_update(t, Some(&old), &mut body, &req.field_manager(), sub);
    let (updated, _) = store.replace(t, ns, name, body, subresource, &req.write_options())?;
    let warnings = store.take_warnings();
    Ok(with_warnings(json_response(200, &updated), &warnings))
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

fn patch_verb(
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
    let mut store = lock(state);
    let current = match store.get(t, ns, name) {
        Ok(c) => Some(c),
        Err(ApiError::NotFound(_)) if kind == PatchKind::Apply && sub.is_none() => None,
        Err(e) => return Err(e),
    };
    let force = req.param("force") == Some("true");
    let Some(current) = current else {
        // Server-side apply of a missing object creates it.
        let mut created = apply::apply(t, None, &body, &manager, force, None)?;
        metadata_name_default(&mut created, name);
        let created = store.create(t, ns, created, &opts)?;
        let warnings = store.take_warnings();
        return Ok(with_warnings(json_response(201, &created), &warnings));
    };
    let patch_err = |e: patch::Error| ApiError::Invalid {
        target: Target::new(&t.group, &t.kind, name),
        causes: vec![crate::sim::status::Cause::new(
            "FieldValueInvalid",
            "",
            e.to_string(),
        )],
    };
    let base = if sub == Some("scale") {
        to_scale(t, &current)
    } else {
        current.clone()
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
    if kind != PatchKind::Apply {
        apply::record_update(t, Some(&current), &mut new, &manager, sub);
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
    let (updated, _) = store.replace(t, ns, name, new, subresource, &opts)?;
    let warnings = store.take_warnings();
    Ok(with_warnings(json_response(200, &updated), &warnings))
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

fn delete(
    state: &ClusterState,
    t: &ResourceType,
    ns: &str,
    name: &str,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let opts = delete_options(req)?;
    let deleted = lock(state).delete(t, ns, name, &opts, req.write_options().dry_run)?;
    Ok(json_response(200, &deleted))
}

fn delete_collection(
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
    let mut store = lock(state);
    let page = store.list(t, ns, &list_opts)?;
    let mut deleted = Vec::new();
    for item in page.items {
        let (item_ns, item_name) = (
            object::namespace(&item).to_owned(),
            object::name(&item).to_owned(),
        );
        match store.delete(t, &item_ns, &item_name, &opts, req.write_options().dry_run) {
            Ok(obj) => deleted.push(obj),
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

fn admin(
    state: &Arc<ClusterState>,
    rest: &[&str],
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let body = || -> Result<Value, ApiError> {
        if req.body.is_empty() {
            return Ok(json!({}));
        }
        serde_json::from_slice(&req.body)
            .map_err(|e| ApiError::BadRequest(format!("invalid json body: {e}")))
    };
    let ok = || {
        json_response(
            200,
            &json!({"kind": "Status", "apiVersion": "v1", "status": "Success"}),
        )
    };
    match (req.method.as_str(), rest) {
        ("GET", ["counters"]) => Ok(json_response(
            200,
            &serde_json::to_value(state.faults.counters()).unwrap_or_default(),
        )),
        ("GET", ["watches"]) => Ok(json_response(200, &json!(state.watches.snapshot()))),
        ("POST", ["counters", "reset"]) => {
            state.faults.reset_counters();
            Ok(ok())
        }
        ("POST", ["faults"]) => {
            let rule: FaultRule = serde_json::from_value(body()?)
                .map_err(|e| ApiError::BadRequest(format!("invalid fault rule: {e}")))?;
            state.faults.inject(rule);
            Ok(json_response(
                201,
                &json!({"kind": "Status", "apiVersion": "v1", "status": "Success"}),
            ))
        }
        ("DELETE", ["faults"]) => {
            state.faults.clear();
            Ok(ok())
        }
        ("POST", ["latency"]) => {
            let millis = body()?.get("millis").and_then(Value::as_u64).unwrap_or(0);
            state.faults.set_latency(Duration::from_millis(millis));
            Ok(ok())
        }
        ("POST", ["close-watches"]) => {
            state.faults.close_watches();
            Ok(ok())
        }
        ("POST", ["unreachable"]) => {
            let seconds = body()?.get("seconds").and_then(Value::as_u64).unwrap_or(1);
            let state = Arc::clone(state);
            state.faults.set_unreachable(true);
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(seconds)).await;
                state.faults.set_unreachable(false);
            });
            Ok(ok())
        }
        _ => Err(ApiError::NoRoute),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_namespaced_items_and_namespace_subresources() {
        assert_eq!(
            parse_route(&["namespaces", "default", "configmaps", "x"]).unwrap(),
            Route {
                namespace: Some("default".into()),
                plural: "configmaps".into(),
                name: Some("x".into()),
                sub: None
            }
        );
        let ns_status = parse_route(&["namespaces", "foo", "status"]).unwrap();
        assert_eq!(
            (ns_status.plural.as_str(), ns_status.sub.as_deref()),
            ("namespaces", Some("status"))
        );
        let coll = parse_route(&["namespaces", "foo", "secrets"]).unwrap();
        assert_eq!((coll.namespace.as_deref(), coll.name), (Some("foo"), None));
        assert!(parse_route(&["a", "b", "c", "d"]).is_none());
    }

    #[test]
    fn too_many_requests_response_carries_retry_after() {
        let response = error_response(&ApiError::TooManyRequests {
            retry_after_seconds: 7,
        });
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()[header::RETRY_AFTER], "7");
    }

    #[test]
    fn query_values_are_percent_decoded() {
        let q = parse_query("fieldSelector=metadata.name%3Dx&labelSelector=a+in+(b)&limit=5");
        assert_eq!(q["fieldSelector"], "metadata.name=x");
        assert_eq!(q["labelSelector"], "a in (b)");
        assert_eq!(q["limit"], "5");
    }

    #[test]
    fn strategic_merge_is_refused_for_custom_resources() {
        let mut t = crate::sim::resources::Catalog::builtin()
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
