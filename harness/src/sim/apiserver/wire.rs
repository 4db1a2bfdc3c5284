//! The wire format of the simulated API server: the response body type, JSON and `Status`
//! responses, `Warning` headers, query strings, and list options read from a query.
//!
//! Every other HTTP-facing module builds its answers with these, so they depend on this
//! module and not on each other. It knows no routes and touches no state.

use std::collections::BTreeMap;
use std::convert::Infallible;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use http_body_util::{BodyExt as _, Full, combinators::BoxBody};
use serde_json::Value;

use super::selectors::{self, FieldSelector, LabelSelector};
use super::status::ApiError;
use super::store::{ListOptions, WriteOptions};

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
    pub(super) fn param(&self, key: &str) -> Option<&str> {
        self.query.get(key).map(String::as_str)
    }

    pub(super) fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub(super) fn write_options(&self) -> WriteOptions {
        WriteOptions {
            dry_run: self.param("dryRun") == Some("All"),
            strict: self.param("fieldValidation") == Some("Strict"),
        }
    }

    pub(super) fn field_manager(&self) -> String {
        match self.param("fieldManager") {
            Some(m) if !m.is_empty() => m.to_owned(),
            _ => user_agent_product(&self.headers)
                .unwrap_or("unknown")
                .to_owned(),
        }
    }
}

/// The client name counters use for a request without a `User-Agent`. kube-rs sends none
/// unless told to, so this is the provider (and any kube-rs client not built with
/// `SimCluster::client_for`).
pub const UNNAMED_CLIENT: &str = "unnamed";

/// The product of the request's `User-Agent` (`kubectl` of `kubectl/v1.32.4 (linux/amd64)`),
/// as a real API server names the default field manager.
pub fn user_agent_product(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .and_then(|agent| agent.split('/').next())
        .map(str::trim)
        .filter(|product| !product.is_empty())
}

/// The client a request comes from, for the per-client counters: its `User-Agent` product,
/// else [`UNNAMED_CLIENT`].
pub fn client_name(headers: &HeaderMap) -> &str {
    user_agent_product(headers).unwrap_or(UNNAMED_CLIENT)
}

/// Decode a query string: `+` is a space, `%XX` a byte; the last value of a key wins.
pub fn parse_query(query: &str) -> BTreeMap<String, String> {
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

/// A JSON response with the given status and content type.
pub fn json_response_typed(status: u16, value: &Value, content_type: &str) -> Response<Body> {
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

/// `response` with one `Warning` header per unknown field that was pruned.
pub fn with_warnings(mut response: Response<Body>, warnings: &[String]) -> Response<Body> {
    for w in warnings {
        let text = format!("299 - \"unknown field \\\"{w}\\\"\"");
        if let Ok(v) = HeaderValue::from_str(&text) {
            response.headers_mut().append(header::WARNING, v);
        }
    }
    response
}

/// List options from query parameters.
///
/// # Errors
/// `BadRequest` for malformed selectors or limit.
pub fn list_options(query: &BTreeMap<String, String>) -> Result<ListOptions, ApiError> {
    let bad = |e: selectors::Error| ApiError::BadRequest(e.to_string());
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
