//! The HTTP `Retry-After` header, folded into the answer kube-rs reads.
//!
//! kube-rs turns a failed answer into a `Status` read from its body and drops the headers, so
//! a `Retry-After` sent by API Priority and Fairness, a proxy or a load balancer (often with a
//! plain-text body) would never reach [`super::retry`]. This client layer copies the header's
//! delay into the body's `Status` as `details.retryAfterSeconds` (making a `Status` of a body
//! that is not one, as kube-rs itself would), unless the body already asks for a delay.
//! Only the delta-seconds form of the header is read; an HTTP-date is ignored, as client-go
//! ignores it (`staging/src/k8s.io/client-go/rest/request.go`, `retryAfterSeconds`).

use bytes::Bytes;
use http::header::RETRY_AFTER;
use http::{HeaderMap, Response};
use http_body_util::{BodyExt as _, Either, Full};
use kube::client::DynBody;
use serde_json::{Value, json};

/// The error type of kube-rs's client stack.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A response whose body was rewritten, or left as it was.
pub type Folded = Response<Either<Box<DynBody>, Full<Bytes>>>;

/// Copies a 429 or 5xx answer's `Retry-After` into its `Status` body (see the module doc).
///
/// # Errors
///
/// The body's error, when it cannot be read.
pub async fn fold(response: Response<Box<DynBody>>) -> Result<Folded, BoxError> {
    let status = response.status();
    let asked = retry_after_seconds(response.headers())
        .filter(|_| status.as_u16() == 429 || status.is_server_error());
    let Some(seconds) = asked else {
        return Ok(response.map(Either::Left));
    };
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await?.to_bytes();
    let folded = with_retry_after(&bytes, status.as_u16(), seconds);
    Ok(Response::from_parts(
        parts,
        Either::Right(Full::new(folded)),
    ))
}

/// The header's delay in seconds, when it is a positive whole number.
fn retry_after_seconds(headers: &HeaderMap) -> Option<u32> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|s| *s > 0)
}

/// `body` as a `Status` with `details.retryAfterSeconds` set to `seconds` (kept when the
/// body asks for a delay itself).
fn with_retry_after(body: &[u8], code: u16, seconds: u32) -> Bytes {
    let mut status = match serde_json::from_slice::<Value>(body) {
        Ok(value) if value["kind"] == "Status" => value,
        _ => json!({
            "apiVersion": "v1",
            "kind": "Status",
            "status": "Failure",
            "code": code,
            "message": String::from_utf8_lossy(body).trim(),
            "reason": "Failed to parse error data",
        }),
    };
    // Indexing a JSON value for writing panics on anything but an object or null.
    if !status["details"].is_object() {
        status["details"] = json!({});
    }
    if status["details"]["retryAfterSeconds"].as_u64().unwrap_or(0) == 0 {
        status["details"]["retryAfterSeconds"] = seconds.into();
    }
    Bytes::from(serde_json::to_vec(&status).unwrap_or_else(|_| body.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(code: u16, retry_after: Option<&str>, body: &str) -> Response<Box<DynBody>> {
        let mut builder = Response::builder().status(code);
        if let Some(value) = retry_after {
            builder = builder.header(RETRY_AFTER, value);
        }
        let body =
            Full::new(Bytes::from(body.to_owned())).map_err(|never| -> BoxError { match never {} });
        builder.body(Box::new(body) as Box<DynBody>).unwrap()
    }

    async fn status_of(folded: Folded) -> Value {
        let bytes = folded.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn a_plain_text_throttle_carries_the_headers_delay() {
        let folded = fold(response(429, Some("7"), "Too many requests"))
            .await
            .unwrap();
        let status = status_of(folded).await;
        assert_eq!(status["details"]["retryAfterSeconds"], 7);
        assert_eq!(status["code"], 429);
        assert_eq!(status["message"], "Too many requests");
    }

    #[tokio::test]
    async fn a_status_that_asks_for_a_delay_keeps_it() {
        let body = r#"{"kind":"Status","code":429,"details":{"retryAfterSeconds":3}}"#;
        let status = status_of(fold(response(429, Some("9"), body)).await.unwrap()).await;
        assert_eq!(status["details"]["retryAfterSeconds"], 3);
    }

    #[tokio::test]
    async fn a_status_with_odd_details_is_mended_not_a_panic() {
        let body = r#"{"kind":"Status","code":503,"details":"odd"}"#;
        let status = status_of(fold(response(503, Some("2"), body)).await.unwrap()).await;
        assert_eq!(status["details"]["retryAfterSeconds"], 2);
    }

    #[tokio::test]
    async fn answers_without_the_header_or_that_are_not_failures_pass_through() {
        for (code, header) in [(429, None), (200, Some("5")), (404, Some("5"))] {
            let folded = fold(response(code, header, "body")).await.unwrap();
            assert!(matches!(folded.body(), Either::Left(_)), "{code}");
        }
    }

    #[tokio::test]
    async fn the_delay_reaches_the_retry_policy_through_kube() {
        // What kube-rs makes of the folded answer is what `retry::classify` reads.
        let folded = fold(response(503, Some("4"), "unavailable")).await.unwrap();
        let status: kube::core::Status = serde_json::from_value(status_of(folded).await).unwrap();
        let error = kube::Error::Api(Box::new(status));
        assert_eq!(
            super::super::retry::classify(&error),
            Some(Some(std::time::Duration::from_secs(4)))
        );
    }
}
