//! [`TargetVersion`]: what `target_version` asks for, a release or the head of a minor.
//!
//! An OLM channel offers only its head, and the head moves with every patch release, so a
//! user may name the minor alone (`"3.18"`: whatever patch the channel `stable-3.18` offers
//! when the upgrade starts) or an exact release (`"3.18.2"`: only if the channel offers
//! exactly that). Preflight resolves it to one [`QuayVersion`] against what the channel
//! offers and records that in the progress record, so a resumed apply keeps it even if the
//! channel moved meanwhile; Terraform state keeps `target_version` as written.

use std::fmt;
use std::str::FromStr;

use super::versions::QuayVersion;

/// Why a string is not a [`TargetVersion`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{input}` is not a Quay version: use major.minor.patch such as 3.14.8, or major.minor \
     such as 3.14 for the newest patch the OLM channel offers"
)]
pub struct TargetError {
    /// The string given.
    pub input: String,
}

/// A requested target: one release, or the head of a minor's channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetVersion {
    /// Exactly this release (`3.14.8`).
    Exact(QuayVersion),
    /// Whatever patch of `major.minor` the channel offers (`3.14`).
    Series {
        /// The major number.
        major: u32,
        /// The minor number.
        minor: u32,
    },
}

impl TargetVersion {
    /// Whether `version` satisfies this target.
    pub fn accepts(self, version: QuayVersion) -> bool {
        match self {
            TargetVersion::Exact(v) => v == version,
            TargetVersion::Series { major, minor } => {
                (version.major(), version.minor()) == (major, minor)
            }
        }
    }

    /// The exact release, if one was named.
    pub fn exact(self) -> Option<QuayVersion> {
        match self {
            TargetVersion::Exact(v) => Some(v),
            TargetVersion::Series { .. } => None,
        }
    }

    /// A version of the target's minor for catalogue look-ups: the exact release, or `x.y.0`.
    pub fn in_series(self) -> QuayVersion {
        match self {
            TargetVersion::Exact(v) => v,
            TargetVersion::Series { major, minor } => QuayVersion::new(major, minor, 0),
        }
    }

    /// The minor series as text, such as `3.14`.
    pub fn series(self) -> String {
        let v = self.in_series();
        format!("{}.{}", v.major(), v.minor())
    }
}

impl FromStr for TargetVersion {
    type Err = TargetError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if let Ok(version) = input.parse::<QuayVersion>() {
            return Ok(TargetVersion::Exact(version));
        }
        let error = || TargetError {
            input: input.to_owned(),
        };
        let digits = input.strip_prefix('v').unwrap_or(input);
        let (major, minor) = digits.split_once('.').ok_or_else(error)?;
        let number = |part: &str| -> Result<u32, TargetError> {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(error());
            }
            part.parse().map_err(|_| error())
        };
        Ok(TargetVersion::Series {
            major: number(major)?,
            minor: number(minor)?,
        })
    }
}

impl fmt::Display for TargetVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetVersion::Exact(v) => write!(f, "{v}"),
            TargetVersion::Series { major, minor } => write!(f, "{major}.{minor}"),
        }
    }
}

/// The CSV name OLM uses for Quay `version`: `quay-operator.v<version>`, the release template
/// of the operator's `hack/prepare-upstream.sh`.
pub fn csv_name(version: QuayVersion) -> String {
    format!("quay-operator.v{version}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_release_or_a_minor_and_shows_it_as_written() {
        let exact: TargetVersion = "3.14.8".parse().unwrap();
        assert_eq!(exact, TargetVersion::Exact(QuayVersion::new(3, 14, 8)));
        let series: TargetVersion = "3.18".parse().unwrap();
        assert_eq!(series.to_string(), "3.18");
        assert!(series.accepts(QuayVersion::new(3, 18, 7)));
        assert!(!series.accepts(QuayVersion::new(3, 19, 0)));
        assert!(!exact.accepts(QuayVersion::new(3, 14, 9)));
        for bad in ["3", "3.", ".18", "3.x", "3.18.", "three"] {
            assert!(bad.parse::<TargetVersion>().is_err(), "{bad:?}");
        }
    }
}
