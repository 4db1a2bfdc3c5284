//! The Quay version catalogue: which Quay versions the operator model can deploy and the
//! alembic revisions each one's migration Job applies.
//!
//! The data is `quay-versions.json` beside this file, compiled in. It is derived from the
//! project fixture `shared/fixtures/quay-versions.json` (github.com/quay/quay tags v3.10.25 to
//! v3.18.0, `data/migrations/versions/*.py`): per minor, the newest patch tag and the
//! revisions from the previous minor's head to its own head, oldest first. The revision
//! history is linear, so the whole history up to a version is the concatenation of the
//! chains up to and including its minor.
//!
//! What it is not: a complete alembic history. The first release (3.10.25) starts from an
//! empty database but lists only the three revisions the fixture names (its base, the
//! v3.10.0 head, the v3.10.1 head); 3.19 is left out (no tag, no revisions after 3.18.0).
//! Any patch version of a listed minor is accepted and migrates to that minor's head.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::Deserialize;

/// Why a version could not be parsed or a migration path not be found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The text is not `MAJOR.MINOR.PATCH` (an optional leading `v` is accepted).
    #[error("invalid quay version {text:?}: expected MAJOR.MINOR.PATCH such as 3.13.11")]
    InvalidVersion {
        /// The text given.
        text: String,
    },
    /// The version's minor is not in the catalogue.
    #[error("quay version {version} is not in the catalogue (known minors: {known})")]
    UnknownVersion {
        /// The version.
        version: QuayVersion,
        /// The known minors, comma-separated.
        known: String,
    },
    /// The database is at a revision the version's history does not contain: alembic's
    /// "Can't locate revision" failure.
    #[error("Can't locate revision identified by '{revision}'")]
    UnknownRevision {
        /// The revision found in `alembic_version`.
        revision: String,
    },
}

/// A Quay release version, `MAJOR.MINOR.PATCH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QuayVersion {
    /// Major (3).
    pub major: u16,
    /// Minor.
    pub minor: u16,
    /// Patch.
    pub patch: u16,
}

impl QuayVersion {
    /// A version from its parts.
    #[must_use]
    pub const fn new(major: u16, minor: u16, patch: u16) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }

    /// The tag of the Quay images quay/quay's `cut-release.yml` publishes: `v3.13.11` (the
    /// operator image's tag has no `v`: see `sim::olm::catalogue::operator_image`).
    #[must_use]
    pub fn image_tag(&self) -> String {
        format!("v{self}")
    }

    /// Whether this version refuses to start with replication on and no
    /// `QUAY_DISTRIBUTED_STORAGE_PREFERENCE` env (3.8 to 3.17; 3.18+ also accept the
    /// config's `DISTRIBUTED_STORAGE_PREFERENCE`).
    #[must_use]
    pub fn requires_preference_env(&self) -> bool {
        (self.major, self.minor) >= (3, 8) && (self.major, self.minor) <= (3, 17)
    }
}

impl fmt::Display for QuayVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl FromStr for QuayVersion {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        let invalid = || Error::InvalidVersion {
            text: text.to_owned(),
        };
        let trimmed = text.strip_prefix('v').unwrap_or(text);
        let mut parts = trimmed
            .split('.')
            .map(|p| p.parse::<u16>().map_err(|_| invalid()));
        let (Some(major), Some(minor), Some(patch), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        Ok(Self::new(major?, minor?, patch?))
    }
}

impl<'de> Deserialize<'de> for QuayVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One release of the catalogue.
#[derive(Debug, Clone, Deserialize)]
pub struct Release {
    /// The newest patch version of the minor.
    pub version: QuayVersion,
    /// Its alembic head revision.
    pub head: String,
    /// The revisions after the previous release's head up to [`Release::head`], oldest first.
    pub chain: Vec<String>,
}

/// The releases the operator model knows, oldest first.
#[derive(Debug, Clone, Deserialize)]
pub struct Catalogue {
    releases: Vec<Release>,
}

const DATA: &str = include_str!("quay-versions.json");

impl Catalogue {
    /// The compiled-in catalogue.
    #[must_use]
    pub fn builtin() -> &'static Catalogue {
        static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
        CATALOGUE.get_or_init(|| {
            // The file is compiled in and checked by `builtin_catalogue_is_consistent`.
            serde_json::from_str(DATA).expect("quay-versions.json is valid (tested)")
        })
    }

    /// Every release, oldest first.
    #[must_use]
    pub fn releases(&self) -> &[Release] {
        &self.releases
    }

    /// The newest release.
    #[must_use]
    pub fn newest(&self) -> &Release {
        self.releases
            .last()
            .expect("the catalogue has at least one release (tested)")
    }

    /// The release of `version`'s minor.
    ///
    /// # Errors
    /// [`Error::UnknownVersion`] when the minor is not in the catalogue.
    pub fn release(&self, version: &QuayVersion) -> Result<&Release, Error> {
        self.position_of_minor(version)
            .map(|i| &self.releases[i])
            .ok_or_else(|| Error::UnknownVersion {
                version: *version,
                known: self
                    .releases
                    .iter()
                    .map(|r| format!("{}.{}", r.version.major, r.version.minor))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    fn position_of_minor(&self, version: &QuayVersion) -> Option<usize> {
        self.releases
            .iter()
            .position(|r| (r.version.major, r.version.minor) == (version.major, version.minor))
    }

    /// The alembic head of `version`.
    ///
    /// # Errors
    /// [`Error::UnknownVersion`].
    pub fn head(&self, version: &QuayVersion) -> Result<&str, Error> {
        self.release(version).map(|r| r.head.as_str())
    }

    /// The whole revision history of `version`, from an empty database to its head.
    ///
    /// # Errors
    /// [`Error::UnknownVersion`].
    pub fn history(&self, version: &QuayVersion) -> Result<Vec<&str>, Error> {
        self.release(version)?;
        let end = self
            .position_of_minor(version)
            .expect("release() found the minor");
        Ok(self.releases[..=end]
            .iter()
            .flat_map(|r| r.chain.iter().map(String::as_str))
            .collect())
    }

    /// The revisions `alembic upgrade head` of `version` applies to a database at
    /// `current` (`None`: no `alembic_version` row), oldest first; empty at head.
    ///
    /// # Errors
    /// [`Error::UnknownVersion`], or [`Error::UnknownRevision`] when `current` is not in the
    /// version's history (a newer database, or one from elsewhere).
    pub fn upgrade_path(
        &self,
        current: Option<&str>,
        version: &QuayVersion,
    ) -> Result<Vec<String>, Error> {
        let history = self.history(version)?;
        let start =
            match current {
                None => 0,
                Some(rev) => {
                    history.iter().position(|r| *r == rev).ok_or_else(|| {
                        Error::UnknownRevision {
                            revision: rev.to_owned(),
                        }
                    })? + 1
                }
            };
        Ok(history[start..].iter().map(|r| (*r).to_owned()).collect())
    }

    /// Where `revision` sits in the full catalogue history (0 = first), if known.
    #[must_use]
    pub fn position(&self, revision: &str) -> Option<usize> {
        self.releases
            .iter()
            .flat_map(|r| r.chain.iter())
            .position(|r| r == revision)
    }

    /// Whether the database revision `revision` is newer than `version`'s head: a Quay of
    /// `version` serving against it runs on a schema it does not know. Unknown revisions or
    /// versions count as newer: the serving version cannot know them either.
    #[must_use]
    pub fn is_newer_than_head(&self, revision: &str, version: &QuayVersion) -> bool {
        let head = self.head(version).ok().and_then(|h| self.position(h));
        match (self.position(revision), head) {
            (Some(rev), Some(head)) => rev > head,
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> QuayVersion {
        text.parse().unwrap()
    }

    #[test]
    fn builtin_catalogue_is_consistent() {
        let catalogue: Catalogue = serde_json::from_str(DATA).unwrap();
        assert!(catalogue.releases.len() >= 9);
        let mut seen = std::collections::HashSet::new();
        for pair in catalogue.releases.windows(2) {
            assert!(pair[0].version < pair[1].version);
        }
        for release in &catalogue.releases {
            assert_eq!(release.chain.last(), Some(&release.head), "{release:?}");
            for rev in &release.chain {
                assert!(seen.insert(rev.clone()), "revision {rev} listed twice");
            }
        }
        assert_eq!(Catalogue::builtin().newest().version, v("3.18.0"));
    }

    #[test]
    fn parses_versions_with_or_without_v_and_rejects_others() {
        assert_eq!(v("v3.13.11"), QuayVersion::new(3, 13, 11));
        assert_eq!(v("3.13.11").image_tag(), "v3.13.11");
        for bad in ["3.13", "3.13.x", "", "3.13.1.2"] {
            assert!(bad.parse::<QuayVersion>().is_err(), "{bad}");
        }
    }

    #[test]
    fn empty_database_migrates_through_every_earlier_release() {
        let c = Catalogue::builtin();
        let path = c.upgrade_path(None, &v("3.11.2")).unwrap();
        assert_eq!(path.first().map(String::as_str), Some("c156deb8845d"));
        assert_eq!(path.last().map(String::as_str), Some("cead4183265c"));
        assert_eq!(path.len(), 3 + 5);
    }

    #[test]
    fn upgrade_by_one_minor_applies_only_its_chain() {
        let c = Catalogue::builtin();
        let path = c.upgrade_path(Some("8e97c2cfee57"), &v("3.15.7")).unwrap();
        assert_eq!(path.len(), 1 + 2);
        assert_eq!(path.last().map(String::as_str), Some("1623f40582ed"));
        assert!(
            c.upgrade_path(Some("1623f40582ed"), &v("3.15.7"))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn older_version_cannot_locate_a_newer_revision() {
        let c = Catalogue::builtin();
        let err = c
            .upgrade_path(Some("1623f40582ed"), &v("3.13.11"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Can't locate revision identified by '1623f40582ed'"
        );
        assert!(c.is_newer_than_head("1623f40582ed", &v("3.13.11")));
        assert!(!c.is_newer_than_head("8e97c2cfee57", &v("3.13.11")));
        assert!(!c.is_newer_than_head("c156deb8845d", &v("3.13.11")));
    }

    #[test]
    fn preference_env_is_required_from_3_8_to_3_17_only() {
        assert!(v("3.17.4").requires_preference_env());
        assert!(v("3.8.0").requires_preference_env());
        assert!(!v("3.18.0").requires_preference_env());
        assert!(!v("3.7.9").requires_preference_env());
    }

    #[test]
    fn unknown_minor_is_named_with_the_known_ones() {
        let err = Catalogue::builtin().release(&v("3.9.1")).unwrap_err();
        assert!(err.to_string().contains("3.10, 3.11"), "{err}");
    }
}
