//! Requests for a fresh `Available`: when the upgrade and the site resource's wait ask the
//! operator to evaluate a site's status again, and how often.
//!
//! The operator's status controller (quay-operator
//! `controllers/quay/quayregistry_status_controller.go`) evaluates `Available` when the
//! `QuayRegistry` changes and otherwise once a minute, so the value read after the pods came
//! back can be from before they did. A wait whose only gap is `Available` changes the object
//! (the two annotations below), and the controller evaluates again at once. It reads the
//! Deployments from its informer cache, which can lag the API server the wait read them from
//! by an instant, so the answer can still be `False`.
//!
//! Each evaluation stamps every condition it computes with `lastUpdateTime` (`metav1.Time`:
//! whole seconds; `overwriteConditions` there and `pkg/cmpstatus`). That tells an answered
//! request from one the operator has not seen yet:
//! - not answered: ask again after [`STATUS_REQUEST_EVERY`] (the operator may be restarting,
//!   or the write may have landed before its watch resumed);
//! - answered and still not `Available`: ask again at once the first time (the race above),
//!   then after 1, 2, 4 and 8 s, then every [`STATUS_REQUEST_EVERY`]: a lasting disagreement
//!   costs one metadata write every 10 s, as before answers were told apart.
//!
//! An evaluation in the same second as the request, but before it, counts as its answer:
//! the second granularity cannot tell them apart, and the cost is one request more.
//!
//! The rule compares the operator's clock (`lastUpdateTime`) with the provider's (the
//! request's time), which NTP keeps within milliseconds of each other. With the provider's
//! clock a second or more ahead, no answer is seen and every request waits
//! [`STATUS_REQUEST_EVERY`], as before answers were told apart; a second or more behind, an
//! older evaluation passes for the answer and the series goes faster, still backing off.
//!
//! Pure: timestamps in, the next request out.

use std::time::Duration;

use crate::georep::upgrade::Timestamp;

/// Annotation the upgrade and the site resource's wait set (to the time, RFC 3339) on a
/// `QuayRegistry` whose pods are back but whose `Available` was computed before they were.
/// It stays on the object afterwards (a merge patch's field, which the site's server-side
/// apply neither owns nor compares). The operator's status controller watches the
/// `QuayRegistry` with no predicate, so any change of the object, this one included, makes it
/// evaluate at once. Its main controller ignores it (it reconciles on a new generation only),
/// so nothing but the status is evaluated again.
pub const STATUS_REQUESTED_ANNOTATION: &str = "quay-georep/status-requested-at";

/// Annotation set with [`STATUS_REQUESTED_ANNOTATION`]: the request's number in its series.
/// It makes every request a change of the object, also two in the same second.
pub const STATUS_REQUESTS_ANNOTATION: &str = "quay-georep/status-requests";

/// How long a wait gives the operator to answer a request before it asks again, and the
/// longest pause between the requests of a series. The status controller answers within a
/// second; the next request costs one metadata write.
pub const STATUS_REQUEST_EVERY: Duration = Duration::from_secs(10);

/// A request older than this starts a new series: the wait it belonged to is over.
const SERIES_ENDS: Duration = Duration::from_secs(30);

/// One request for a fresh status, as the two annotations record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusRequest {
    /// When it was made.
    pub at: Timestamp,
    /// Its number in its series, from 1.
    pub number: u32,
}

impl StatusRequest {
    /// The request the annotations record: `at` parsed from [`STATUS_REQUESTED_ANNOTATION`]
    /// by the caller, `number` the text of [`STATUS_REQUESTS_ANNOTATION`] (1 when absent or
    /// not a number, as a request of an earlier release of this provider is).
    #[must_use]
    pub fn read(at: Option<Timestamp>, number: Option<&str>) -> Option<Self> {
        Some(Self {
            at: at?,
            number: number
                .and_then(|n| n.parse().ok())
                .filter(|n| *n > 0)
                .unwrap_or(1),
        })
    }

    /// The request to make at `now`, if one is due: `last` is the one on the object, and
    /// `evaluated` when the operator last evaluated `Available` (its `lastUpdateTime`).
    /// Only for a site whose one gap is `Available`.
    #[must_use]
    pub fn due(last: Option<Self>, evaluated: Option<Timestamp>, now: Timestamp) -> Option<Self> {
        let Some(last) = last else {
            return Some(Self { at: now, number: 1 });
        };
        if now >= last.at.plus(SERIES_ENDS) || now < last.at {
            return Some(Self { at: now, number: 1 });
        }
        let answered = evaluated.is_some_and(|e| e >= last.at);
        let pause = if answered {
            Self::pause_after_answer(last.number)
        } else {
            STATUS_REQUEST_EVERY
        };
        (now >= last.at.plus(pause)).then_some(Self {
            at: now,
            number: last.number.saturating_add(1),
        })
    }

    /// The pause after the answer to request `number`: none after the first, then 1, 2, 4
    /// and 8 s, then [`STATUS_REQUEST_EVERY`].
    fn pause_after_answer(number: u32) -> Duration {
        match number {
            0 | 1 => Duration::ZERO,
            n => Duration::from_secs(1u64 << (n - 2).min(4)).min(STATUS_REQUEST_EVERY),
        }
    }

    /// The annotations to set, as name and value.
    #[must_use]
    pub fn annotations(self) -> [(&'static str, String); 2] {
        [
            (STATUS_REQUESTED_ANNOTATION, self.at.to_string()),
            (STATUS_REQUESTS_ANNOTATION, self.number.to_string()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix_seconds(1_000 + seconds)
    }

    fn request(seconds: i64, number: u32) -> StatusRequest {
        StatusRequest {
            at: at(seconds),
            number,
        }
    }

    #[test]
    fn the_first_request_is_made_at_once() {
        assert_eq!(StatusRequest::due(None, None, at(0)), Some(request(0, 1)));
    }

    #[test]
    fn an_unanswered_request_is_repeated_only_after_ten_seconds() {
        let last = Some(request(0, 1));
        // The operator last evaluated before the request.
        let evaluated = Some(at(-1));
        assert_eq!(StatusRequest::due(last, evaluated, at(9)), None);
        assert_eq!(StatusRequest::due(last, None, at(9)), None);
        assert_eq!(
            StatusRequest::due(last, evaluated, at(10)),
            Some(request(10, 2))
        );
    }

    #[test]
    fn answered_requests_are_repeated_at_once_then_backing_off_to_ten_seconds() {
        // Each request answered in its own second: the pauses between them.
        let mut last = request(0, 1);
        let mut pauses = Vec::new();
        let mut now = 0;
        while pauses.len() < 7 {
            match StatusRequest::due(Some(last), Some(at(now)), at(now)) {
                Some(next) => {
                    pauses.push(now - last.at.unix_seconds() + 1_000);
                    last = next;
                }
                None => now += 1,
            }
        }
        assert_eq!(pauses, [0, 1, 2, 4, 8, 10, 10]);
        assert_eq!(last.number, 8);
    }

    #[test]
    fn an_old_request_starts_a_new_series() {
        let last = Some(request(0, 7));
        assert_eq!(
            StatusRequest::due(last, Some(at(29)), at(29)),
            Some(request(29, 8))
        );
        assert_eq!(
            StatusRequest::due(last, Some(at(1)), at(30)),
            Some(request(30, 1))
        );
        // A request from the future (a clock that went back) is not waited for either.
        assert_eq!(StatusRequest::due(last, None, at(-5)), Some(request(-5, 1)));
    }

    #[test]
    fn the_annotations_round_trip_and_an_old_request_counts_as_the_first() {
        let [(at_key, at_text), (n_key, n_text)] = request(3, 4).annotations();
        assert_eq!(at_key, STATUS_REQUESTED_ANNOTATION);
        assert_eq!(n_key, STATUS_REQUESTS_ANNOTATION);
        assert_eq!(at_text, "1970-01-01T00:16:43Z");
        assert_eq!(
            StatusRequest::read(Some(at(3)), Some(&n_text)),
            Some(request(3, 4))
        );
        assert_eq!(StatusRequest::read(Some(at(3)), None), Some(request(3, 1)));
        assert_eq!(
            StatusRequest::read(Some(at(3)), Some("zero")),
            Some(request(3, 1))
        );
        assert_eq!(StatusRequest::read(None, Some("4")), None);
    }
}
