//! The wall clock and Kubernetes time text, for the upgrade driver.
//!
//! [`Timestamp`] deliberately has no clock and no parser (the state machine is pure); this is
//! the edge where both happen. Only the RFC 3339 UTC forms Kubernetes writes are read
//! (`2026-08-21T12:00:00Z`, optionally with a fraction): offsets other than `Z` are refused.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::georep::upgrade::Timestamp;

/// Now, to the second.
#[must_use]
pub fn now() -> Timestamp {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    Timestamp::from_unix_seconds(seconds)
}

/// `t` as a Kubernetes `MicroTime` (`2026-08-21T12:00:00.000000Z`), as Lease times are written.
#[must_use]
pub fn micro_time(t: Timestamp) -> String {
    let text = t.to_string();
    match text.strip_suffix('Z') {
        Some(base) => format!("{base}.000000Z"),
        None => text,
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction]Z`; the fraction is dropped.
#[must_use]
pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let time = time.split('.').next()?;
    let num = |s: &str| s.parse::<i64>().ok();
    let mut d = date.split('-');
    let (year, month, day) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    let mut t = time.split(':');
    let (hour, minute, second) = (num(t.next()?)?, num(t.next()?)?, num(t.next()?)?);
    if d.next().is_some()
        || t.next().is_some()
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(Timestamp::from_unix_seconds(
        days * 86_400 + hour * 3600 + minute * 60 + second,
    ))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the inverse of the calendar in
/// `georep::upgrade::time`): shift to years starting in March, count 400-year eras.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_index = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_times_round_trip_through_timestamps() {
        for seconds in [0, 951_782_400, 1_787_313_600, 4_107_542_399] {
            let t = Timestamp::from_unix_seconds(seconds);
            assert_eq!(parse_rfc3339(&t.to_string()), Some(t), "{t}");
            assert_eq!(parse_rfc3339(&micro_time(t)), Some(t), "{t}");
        }
        assert_eq!(
            micro_time(Timestamp::from_unix_seconds(1_787_313_600)),
            "2026-08-21T12:00:00.000000Z"
        );
    }

    #[test]
    fn rejects_times_that_are_not_utc_rfc3339() {
        for bad in [
            "",
            "2026-08-21",
            "2026-08-21T12:00:00+02:00",
            "2026-13-01T00:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
        }
    }
}
