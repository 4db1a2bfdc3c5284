//! [`Timestamp`]: a point in time as whole seconds since the Unix epoch, UTC.
//!
//! The state machine never reads a clock: the caller passes `now` in, so runs are repeatable
//! and tests control time. Timestamps display as RFC 3339 (`2026-08-21T12:00:00Z`) for
//! messages and the progress record's readers. Not a calendar library: no time zones, no
//! parsing of text.

use std::fmt;
use std::time::Duration;

/// Whole seconds since 1970-01-01T00:00:00Z.
///
/// # Examples
///
/// ```
/// use terraform_provider_quay::georep::upgrade::Timestamp;
///
/// let t = Timestamp::from_unix_seconds(1_787_313_600);
/// assert_eq!(t.to_string(), "2026-08-21T12:00:00Z");
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The timestamp `seconds` after the Unix epoch.
    pub const fn from_unix_seconds(seconds: i64) -> Self {
        Self(seconds)
    }

    /// Seconds since the Unix epoch.
    pub const fn unix_seconds(self) -> i64 {
        self.0
    }

    /// This timestamp moved `duration` later (saturating).
    #[must_use]
    pub fn plus(self, duration: Duration) -> Self {
        let seconds = i64::try_from(duration.as_secs()).unwrap_or(i64::MAX);
        Self(self.0.saturating_add(seconds))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(86_400);
        let seconds = self.0.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        )
    }
}

/// The proleptic Gregorian date `days` after 1970-01-01: shift the epoch to 0000-03-01 so
/// leap days fall at the end of a year, then count 400-year eras of 146 097 days.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_rfc3339_utc_including_leap_days() {
        assert_eq!(
            Timestamp::from_unix_seconds(0).to_string(),
            "1970-01-01T00:00:00Z"
        );
        assert_eq!(
            Timestamp::from_unix_seconds(951_782_400).to_string(),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(
            Timestamp::from_unix_seconds(-1).to_string(),
            "1969-12-31T23:59:59Z"
        );
        assert_eq!(
            Timestamp::from_unix_seconds(1_787_313_600 + 3_661).to_string(),
            "2026-08-21T13:01:01Z"
        );
    }

    #[test]
    fn adds_durations_in_whole_seconds() {
        let t = Timestamp::from_unix_seconds(100);
        assert_eq!(t.plus(Duration::from_mins(10)).unix_seconds(), 700);
        assert_eq!(t.plus(Duration::MAX).unix_seconds(), i64::MAX);
    }
}
