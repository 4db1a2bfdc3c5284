//! The one retry policy for API requests: bounded, exponential with jitter, honouring the
//! server's `Retry-After`, and never past the operation's deadline.
//!
//! Retried: 429 Too Many Requests, 5xx, and failures to reach the server. Everything else
//! (4xx answers, bad input) is returned at once. kube-rs's built-in retry layer is off in our
//! clients so that this is the only policy, and its bounds are ours: at most
//! [`MAX_ATTEMPTS`] tries, waits from [`FIRST_BACKOFF`] doubling up to [`MAX_BACKOFF`], each
//! drawn at random from its upper half so that many clients do not retry in step. A delay the
//! server asks for (the HTTP `Retry-After` header, which the client folds into the Status's
//! `details.retryAfterSeconds`, see `connect`) is waited in full, up to [`MAX_RETRY_AFTER`].
//!
//! Every attempt and every wait races the operation's budget ([`super::budget`]): when the
//! deadline would pass during a wait, the last error is returned at once instead of waiting
//! for nothing, and Terraform's stop signal ends the attempt or the wait.

use std::future::Future;
use std::hash::{BuildHasher as _, RandomState};
use std::time::Duration;

use tokio::time::Instant;
use tracing::warn;

use super::budget::{self, Interrupted};

/// Attempts per request, the first included.
pub const MAX_ATTEMPTS: u32 = 6;
/// Wait before the second attempt.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// Longest wait between two attempts of our own choosing.
pub const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// Longest wait the server may ask for; a longer `Retry-After` is cut to this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How a request with retries failed.
#[derive(Debug)]
pub enum Failure {
    /// The last attempt's error (not worth retrying, the attempts ran out, or the deadline
    /// would pass before the next one).
    Kube(kube::Error),
    /// The operation's deadline passed or Terraform asked to stop, while a request was
    /// unanswered or between attempts.
    Interrupted(Interrupted),
}

/// Whether an error is worth another attempt, and how long the server asked us to wait.
#[must_use]
pub fn classify(error: &kube::Error) -> Option<Option<Duration>> {
    match error {
        kube::Error::Api(status) => match status.code {
            429 | 500..=599 => Some(
                status
                    .details
                    .as_ref()
                    .map(|d| d.retry_after_seconds)
                    .filter(|s| *s > 0)
                    .map(|s| Duration::from_secs(u64::from(s))),
            ),
            _ => None,
        },
        kube::Error::HyperError(_) | kube::Error::Service(_) => Some(None),
        _ => None,
    }
}

/// The longest wait before attempt `attempt + 1` (attempts count from 1): the server's
/// `asked` delay (capped at [`MAX_RETRY_AFTER`]), else the exponential back-off (capped at
/// [`MAX_BACKOFF`]).
#[must_use]
pub fn backoff(attempt: u32, asked: Option<Duration>) -> Duration {
    if let Some(asked) = asked {
        return asked.min(MAX_RETRY_AFTER);
    }
    let exponential = FIRST_BACKOFF.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
    exponential.min(MAX_BACKOFF)
}

/// The wait actually taken: a server-asked delay in full, our own back-off drawn from its
/// upper half (`[ceiling / 2, ceiling]`), so that clients failing together spread out.
#[must_use]
pub fn jittered(attempt: u32, asked: Option<Duration>) -> Duration {
    let ceiling = backoff(attempt, asked);
    if asked.is_some() {
        return ceiling;
    }
    let half = ceiling / 2;
    let spread = u64::try_from(half.as_millis()).unwrap_or(u64::MAX).max(1);
    half + Duration::from_millis(RandomState::new().hash_one(attempt) % (spread + 1))
}

/// Runs `request` until it succeeds, fails with an error that is not retried, has had
/// [`MAX_ATTEMPTS`] tries, or the operation's budget ends. `what` names the request in the
/// logs.
///
/// # Errors
///
/// [`Failure::Kube`] with the last error of `request`; [`Failure::Interrupted`] when the
/// deadline passed or a stop came while a request or a wait was under way.
pub async fn with_retry<T, F, Fut>(what: &str, mut request: F) -> Result<T, Failure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let deadline = budget::current().and_then(|b| b.deadline);
    let mut attempt = 1;
    loop {
        match budget::race(request())
            .await
            .map_err(Failure::Interrupted)?
        {
            Ok(value) => return Ok(value),
            Err(error) => match classify(&error) {
                Some(asked) if attempt < MAX_ATTEMPTS => {
                    let delay = jittered(attempt, asked);
                    if deadline.is_some_and(|d| Instant::now() + delay >= d) {
                        // The next attempt would start after the deadline: the error we
                        // have says more than a timeout would.
                        return Err(Failure::Kube(error));
                    }
                    warn!(what, attempt, delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), %error, "retrying");
                    budget::race(tokio::time::sleep(delay))
                        .await
                        .map_err(Failure::Interrupted)?;
                    attempt += 1;
                }
                _ => return Err(Failure::Kube(error)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::stop::StopToken;

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
            classify(&api_error(503, 5)),
            Some(Some(Duration::from_secs(5)))
        );
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
        assert_eq!(backoff(1, Some(Duration::from_secs(600))), MAX_RETRY_AFTER);
    }

    #[test]
    fn our_own_waits_are_jittered_within_their_upper_half_but_a_servers_are_not() {
        for attempt in 1..10 {
            let ceiling = backoff(attempt, None);
            let wait = jittered(attempt, None);
            assert!(
                wait >= ceiling / 2 && wait <= ceiling,
                "{attempt}: {wait:?}"
            );
        }
        let asked = Some(Duration::from_secs(20));
        assert_eq!(jittered(1, asked), Duration::from_secs(20));
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
    async fn retries_stop_at_the_deadline_with_the_last_error() {
        let calls = AtomicU32::new(0);
        let deadline = Instant::now() + Duration::from_secs(1);
        let result: Result<(), _> = budget::within(Some(deadline), StopToken::never(), async {
            with_retry("test", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(api_error(429, 30))
            })
            .await
        })
        .await;
        assert!(
            matches!(&result, Err(Failure::Kube(kube::Error::Api(s))) if s.code == 429),
            "{result:?}"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_asked_delay_is_waited_in_full() {
        let calls = AtomicU32::new(0);
        let started = Instant::now();
        let result = with_retry("test", || async {
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                Err(api_error(429, 20))
            } else {
                Ok(())
            }
        })
        .await;
        assert!(result.is_ok());
        // Paused time: only the waits taken move the clock.
        assert!(Instant::now() - started >= Duration::from_secs(20));
    }

    #[tokio::test]
    async fn a_stop_ends_a_request_that_never_answers() {
        let (tx, stop) = StopToken::new();
        tx.send(true).unwrap();
        let result: Result<(), _> = budget::within(None, stop, async {
            with_retry("test", std::future::pending).await
        })
        .await;
        assert!(
            matches!(result, Err(Failure::Interrupted(Interrupted::Stopped))),
            "{result:?}"
        );
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
