//! The one retry policy for API requests: bounded, exponential, and honouring the server's
//! `Retry-After`.
//!
//! Retried: 429 Too Many Requests, 5xx, and failures to reach the server. Everything else
//! (4xx answers, bad input) is returned at once. kube-rs's built-in retry layer is off in our
//! clients so that this is the only policy, and its bounds are ours: at most
//! [`MAX_ATTEMPTS`] tries, waits from [`FIRST_BACKOFF`] doubling up to [`MAX_BACKOFF`], and a
//! server-asked delay is capped at [`MAX_BACKOFF`] too, so one request never blocks longer
//! than about half a minute before its error reaches the user.

use std::future::Future;
use std::time::Duration;

use tracing::warn;

/// Attempts per request, the first included.
pub const MAX_ATTEMPTS: u32 = 6;
/// Wait before the second attempt.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// Longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// Whether an error is worth another attempt, and how long the server asked us to wait.
#[must_use]
pub fn classify(error: &kube::Error) -> Option<Option<Duration>> {
    match error {
        kube::Error::Api(status) => match status.code {
            429 => Some(
                status
                    .details
                    .as_ref()
                    .map(|d| d.retry_after_seconds)
                    .filter(|s| *s > 0)
                    .map(|s| Duration::from_secs(u64::from(s))),
            ),
            500..=599 => Some(None),
            _ => None,
        },
        kube::Error::HyperError(_) | kube::Error::Service(_) => Some(None),
        _ => None,
    }
}

/// The wait before attempt `attempt + 1` (attempts count from 1).
#[must_use]
pub fn backoff(attempt: u32, asked: Option<Duration>) -> Duration {
    let exponential = FIRST_BACKOFF.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
    asked.unwrap_or(exponential).min(MAX_BACKOFF)
}

/// Runs `request` until it succeeds, fails with an error that is not retried, or has had
/// [`MAX_ATTEMPTS`] tries. `what` names the request in the logs.
///
/// # Errors
///
/// The last error of `request`.
pub async fn with_retry<T, F, Fut>(what: &str, mut request: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let mut attempt = 1;
    loop {
        match request().await {
            Ok(value) => return Ok(value),
            Err(error) => match classify(&error) {
                Some(asked) if attempt < MAX_ATTEMPTS => {
                    let delay = backoff(attempt, asked);
                    warn!(what, attempt, delay_ms = delay.as_millis() as u64, %error, "retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                _ => return Err(error),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn api_error(code: u16, retry_after: u32) -> kube::Error {
        let mut status = kube::core::Status::failure("injected", "Injected").with_code(code);
        if retry_after > 0 {
            status.details = Some(kube::core::response::StatusDetails {
                name: String::new(),
                group: String::new(),
                kind: String::new(),
                uid: String::new(),
                causes: Vec::new(),
                retry_after_seconds: retry_after,
            });
        }
        kube::Error::Api(Box::new(status))
    }

    #[test]
    fn client_errors_are_not_retried_but_throttling_and_server_errors_are() {
        assert_eq!(classify(&api_error(404, 0)), None);
        assert_eq!(classify(&api_error(422, 0)), None);
        assert_eq!(classify(&api_error(500, 0)), Some(None));
        assert_eq!(
            classify(&api_error(429, 3)),
            Some(Some(Duration::from_secs(3)))
        );
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1, None), FIRST_BACKOFF);
        assert_eq!(backoff(2, None), FIRST_BACKOFF * 2);
        assert_eq!(backoff(30, None), MAX_BACKOFF);
        assert_eq!(
            backoff(1, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(backoff(1, Some(Duration::from_secs(600))), MAX_BACKOFF);
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_until_success() {
        let calls = AtomicU32::new(0);
        let result = with_retry("test", || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(api_error(500, 0))
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_are_bounded() {
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = with_retry("test", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(api_error(503, 0))
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), MAX_ATTEMPTS);
    }

    #[tokio::test(start_paused = true)]
    async fn a_conflict_is_returned_at_once() {
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = with_retry("test", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(api_error(409, 0))
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
