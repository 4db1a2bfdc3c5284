//! HTTP front of a simulated cluster: routing, authentication, faults and the admin API.
//!
//! Parses a request into a [`Route`], checks the bearer token (HTTPS only, as kubectl sends
//! no token over plain HTTP), applies injected faults, and hands the request to its verb
//! (the verbs module) or to a watch (the watch module). Connection handling and TLS are in
//! the cluster module, which calls [`handle`].

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, header};
use http_body_util::{BodyExt as _, Full};
use serde_json::{Value, json};

use super::discovery;
use super::faults::FaultRule;
use super::openapi;
use super::state::ClusterState;
use super::status::ApiError;
use super::verbs;
use super::watch;
use super::wire::{
    ApiRequest, Body, error_response, json_response, json_response_typed, parse_query,
};

/// Serve one request.
pub async fn handle(
    state: Arc<ClusterState>,
    req: Request<hyper::body::Incoming>,
) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let certified = parts
        .extensions
        .get::<VerifiedClientCertificate>()
        .is_some();
    // Before the body is read: an unauthenticated client cannot make the server buffer it.
    if !is_authorized(&state, parts.uri.path(), &parts.headers, certified) {
        return error_response(&ApiError::Unauthorized);
    }
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

/// Marks a request that came over a connection whose client presented a certificate the
/// cluster's CA signed (rustls verified it during the handshake): it needs no bearer token.
#[derive(Clone, Copy, Debug)]
pub struct VerifiedClientCertificate;

const ANONYMOUS_PATHS: [&str; 4] = ["/version", "/healthz", "/livez", "/readyz"];

/// Whether the request may proceed: no token is required, the client presented a
/// certificate the cluster's CA signed, the path is anonymous, or `Authorization` carries
/// the bearer token (compared in constant time, so timing does not reveal how much of a
/// guess was right).
fn is_authorized(
    state: &ClusterState,
    path: &str,
    headers: &http::HeaderMap,
    certified: bool,
) -> bool {
    let Some(token) = &state.token else {
        return true;
    };
    if certified || ANONYMOUS_PATHS.contains(&path) {
        return true;
    }
    let expected = format!("Bearer {token}");
    headers
        .get(header::AUTHORIZATION)
        .is_some_and(|sent| constant_time_eq(sent.as_bytes(), expected.as_bytes()))
}

/// Equality of two byte strings in time that depends on their lengths only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn dispatch(
    state: &Arc<ClusterState>,
    path: &str,
    req: ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let accept = req.header(header::ACCEPT).to_owned();
    match segments.as_slice() {
        ["version"] => Ok(json_response(200, &discovery::version())),
        ["healthz" | "livez" | "readyz"] => {
            Ok(Response::new(Full::new(Bytes::from_static(b"ok")).boxed()))
        }
        ["sim", rest @ ..] => admin(state, rest, &req),
        ["openapi", "v3"] => {
            let store = state.lock_store();
            Ok(json_response(
                200,
                &openapi::root(&store.catalog, store.resource_version()),
            ))
        }
        ["openapi", "v3", "api", v] => openapi::group_version(&state.lock_store().catalog, "", v)
            .map(|d| json_response(200, &d))
            .ok_or(ApiError::NoRoute),
        ["openapi", "v3", "apis", g, v] => {
            openapi::group_version(&state.lock_store().catalog, g, v)
                .map(|d| json_response(200, &d))
                .ok_or(ApiError::NoRoute)
        }
        ["api"] | ["apis"] => {
            let core = segments[0] == "api";
            let store = state.lock_store();
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
        ["api", v] => discovery::resource_list(&state.lock_store().catalog, "", v)
            .map(|d| json_response(200, &d))
            .ok_or(ApiError::NoRoute),
        ["apis", g] => discovery::group(&state.lock_store().catalog, g)
            .map(|d| json_response(200, &d))
            .ok_or(ApiError::NoRoute),
        ["apis", g, v] => discovery::resource_list(&state.lock_store().catalog, g, v)
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
    let t = state
        .lock_store()
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
        "get" => verbs::get(state, &t, &ns, &name, route.sub.as_deref(), &req),
        "list" => verbs::list(state, &t, route.namespace.as_deref(), &req),
        "watch" => return watch::start(state, &t, route.namespace.as_deref(), &req.query),
        "create" => verbs::create(state, &t, &ns, &req),
        "update" => verbs::update(state, &t, &ns, &name, route.sub.as_deref(), &req),
        "patch" => verbs::patch_verb(state, &t, &ns, &name, route.sub.as_deref(), &req),
        "delete" => verbs::delete(state, &t, &ns, &name, &req),
        _ => verbs::delete_collection(state, &t, route.namespace.as_deref(), &req),
    };
    if result.is_ok() && !matches!(verb, "get" | "list") && !req.write_options().dry_run {
        state.faults.count_write();
        if let Some(lost) =
            state
                .faults
                .lose_reply(verb, &t.plural, route.name.as_deref().unwrap_or(""))
        {
            return Err(lost);
        }
    }
    result
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
    fn tokens_compare_equal_only_when_every_byte_is() {
        assert!(constant_time_eq(b"Bearer abc", b"Bearer abc"));
        assert!(!constant_time_eq(b"Bearer abd", b"Bearer abc"));
        assert!(!constant_time_eq(b"Bearer ab", b"Bearer abc"));
        assert!(!constant_time_eq(b"", b"Bearer abc"));
    }

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
}
