//! [`LeaseClock`]: the upgrade Lease's expiry measured on this process's clock.
//!
//! A Lease's `renewTime` is written on its holder's clock, which may be minutes off ours.
//! Trusting it lets a holder whose clock runs behind look expired while it still renews (two
//! runs at once), or one whose clock runs ahead hold the Lease long after it died. So, as
//! client-go's leader election does (`tools/leaderelection/leaderelection.go`, its
//! `observedTime`), expiry counts from when *this* process saw the Lease's current renewal
//! (its holder, `renewTime` and `resourceVersion`) for the first time, plus
//! `leaseDurationSeconds`. Our own writes count from just before we sent them.
//!
//! The writer's times only say whether to wait ([`LeaseObservation::looks_abandoned`]): a
//! Lease whose `renewTime` is long past (or far in the future) is watched for a whole
//! duration before it is taken over, and refused as soon as it is renewed meanwhile.

use serde_json::Value;

use super::clock::parse_rfc3339;
use crate::georep::upgrade::{CLOCK_TOLERANCE, LeaseObservation, Timestamp};

/// What identifies one renewal of a Lease: holder, `renewTime`, `resourceVersion`.
type Renewal = (Option<String>, Option<String>, Option<String>);

/// Remembers when this process first saw the Lease's current renewal.
#[derive(Debug, Default, Clone)]
pub struct LeaseClock {
    seen: Option<Seen>,
}

#[derive(Debug, Clone)]
struct Seen {
    renewal: Renewal,
    since: Timestamp,
    renewal_seen: bool,
}

fn renewal_of(lease: &Value) -> Renewal {
    let text = |v: &Value| v.as_str().map(str::to_owned);
    (
        text(&lease["spec"]["holderIdentity"]).filter(|h| !h.is_empty()),
        text(&lease["spec"]["renewTime"]),
        text(&lease["metadata"]["resourceVersion"]),
    )
}

impl LeaseClock {
    /// The Lease `lease` (`None`: absent) as seen at `now` on this process's clock.
    pub fn observe(&mut self, lease: Option<&Value>, now: Timestamp) -> Option<LeaseObservation> {
        let Some(lease) = lease else {
            self.seen = None;
            return None;
        };
        let renewal = renewal_of(lease);
        let seen = match self.seen.take() {
            Some(seen) if seen.renewal == renewal => seen,
            previous => Seen {
                // The same holder with a new renewTime or resourceVersion renewed it.
                renewal_seen: renewal.0.is_some()
                    && previous.as_ref().is_some_and(|p| p.renewal.0 == renewal.0),
                renewal: renewal.clone(),
                since: now,
            },
        };
        let spec = &lease["spec"];
        let duration = spec["leaseDurationSeconds"]
            .as_u64()
            .map(std::time::Duration::from_secs);
        let written = spec["renewTime"]
            .as_str()
            .or_else(|| spec["acquireTime"].as_str())
            .and_then(parse_rfc3339);
        let looks_abandoned = match (written, duration) {
            (Some(written), Some(duration)) => {
                written.plus(duration) <= now || written > now.plus(CLOCK_TOLERANCE)
            }
            _ => true,
        };
        let observation = LeaseObservation {
            holder: renewal.0.clone(),
            expires: duration.map(|d| seen.since.plus(d)),
            renewal_seen: seen.renewal_seen,
            looks_abandoned,
        };
        self.seen = Some(seen);
        Some(observation)
    }

    /// Our own write of the Lease, stored as `stored`, sent at `sent`: its expiry counts
    /// from then, not from when we next read it.
    pub fn wrote(&mut self, stored: &Value, sent: Timestamp) {
        self.seen = Some(Seen {
            renewal: renewal_of(stored),
            since: sent,
            renewal_seen: false,
        });
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::orchestrate::clock::micro_time;

    const DURATION: i64 = 600;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix_seconds(1_800_000_000 + seconds)
    }

    fn lease(holder: &str, renewed: Timestamp, version: &str) -> Value {
        json!({
            "metadata": {"name": "quay-georep-upgrade", "resourceVersion": version},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": DURATION,
                     "renewTime": micro_time(renewed)},
        })
    }

    #[test]
    fn a_live_lease_written_on_a_clock_an_hour_behind_is_not_taken_as_expired() {
        let mut clock = LeaseClock::default();
        // The writer renewed it just now, by its clock an hour ago.
        let seen = clock
            .observe(Some(&lease("other", at(-3600), "1")), at(0))
            .unwrap();
        assert_eq!(seen.live_holder(at(0)), Some("other"));
        assert_eq!(seen.expires, Some(at(DURATION)));
        assert!(seen.looks_abandoned && !seen.renewal_seen);
        // It renews (by its clock, still an hour back): seen renewed, expiry moves on.
        let renewed = clock
            .observe(Some(&lease("other", at(-3300), "2")), at(300))
            .unwrap();
        assert!(renewed.renewal_seen);
        assert_eq!(renewed.live_holder(at(800)), Some("other"));
    }

    #[test]
    fn a_dead_lease_written_on_a_clock_an_hour_ahead_expires_one_duration_after_it_was_seen() {
        let mut clock = LeaseClock::default();
        let object = lease("other", at(3600), "1");
        let seen = clock.observe(Some(&object), at(0)).unwrap();
        assert!(seen.looks_abandoned, "a renewTime an hour ahead is suspect");
        let later = clock.observe(Some(&object), at(DURATION)).unwrap();
        assert!(!later.renewal_seen);
        assert_eq!(later.live_holder(at(DURATION)), None);
    }

    #[test]
    fn a_lease_renewed_on_a_sane_clock_is_not_suspect() {
        let mut clock = LeaseClock::default();
        let seen = clock
            .observe(Some(&lease("other", at(-5), "1")), at(0))
            .unwrap();
        assert!(!seen.looks_abandoned);
        assert_eq!(seen.live_holder(at(DURATION - 1)), Some("other"));
    }

    #[test]
    fn a_new_holder_is_not_a_renewal_and_our_writes_count_from_when_they_were_sent() {
        let mut clock = LeaseClock::default();
        clock.observe(Some(&lease("old", at(0), "1")), at(0));
        let taken = clock
            .observe(Some(&lease("new", at(10), "2")), at(10))
            .unwrap();
        assert!(!taken.renewal_seen);
        let ours = lease("us", at(20), "3");
        clock.wrote(&ours, at(20));
        let read = clock.observe(Some(&ours), at(25)).unwrap();
        assert_eq!(read.expires, Some(at(20 + DURATION)));
        assert_eq!(clock.observe(None, at(30)), None);
    }
}
