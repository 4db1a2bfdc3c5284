//! Quay versions: [`QuayVersion`], the embedded release [`catalogue`] and the upgrade-hop rule
//! [`check_hop`].
//!
//! The catalogue is `versions.json` beside this file, compiled into the provider. It is derived
//! from `shared/fixtures/quay-versions.json`: per Quay minor 3.10 to 3.19 the newest patch
//! release, its OLM channel (`stable-3.x`), CSV name, operator image and the alembic head
//! revision its migration Job ends at. The operator fields are derived from the operator's
//! release templates (`quay-operator.v<version>`, `quay.io/projectquay/quay-operator:<version>`),
//! as the fixture marks them; [`Release`] applies the same templates to older patches of a
//! minor. 3.19 has no release tag yet, so it is listed but cannot be a target.
//!
//! Each newest patch also lists the component images its released CSV gives the operator in
//! `RELATED_IMAGE_COMPONENT_*` env vars (quay-operator `pkg/kustomize/kustomize.go`,
//! `ComponentImageFor`, reads them; `hack/prepare-upstream.sh` writes them at release time),
//! taken from the released bundles in community-operators. The `deployment` upgrade method
//! sets them, so [`Release::related_images`] is known only for those patches: the Clair and
//! database images of an older patch are not recorded anywhere this provider can read.
//!
//! # The hop rule
//!
//! Neither the Quay nor the Quay Operator repository states which minors may be skipped. Red
//! Hat's product documentation says that in general only an upgrade from the prior (N-1) minor
//! is supported, so that database migrations run in order; the direct N-2/N-3 paths it lists
//! all start below 3.10 (the oldest minor here), and lists for 3.12 and later were not checked.
//! So this module allows only:
//! - a newer patch of the same minor (`3.13.4 → 3.13.11`);
//! - any patch of the next minor (`3.13.11 → 3.14.2`).
//!
//! A patch newer than the catalogue's newest of a known minor is allowed on either side: an
//! OLM channel's head moves on with every patch release, and patches of a minor do not reorder
//! its migrations. Everything else is refused with a [`HopError`] that says why and what to
//! do: a downgrade (the shared database cannot migrate back), a skipped minor (upgrade one
//! minor at a time), a minor this provider does not know (a newer provider release does) or
//! one without a release. This module does no I/O.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::Deserialize;

/// Why a string is not a [`QuayVersion`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// The string is not `X.Y.Z` or `vX.Y.Z` with decimal numbers.
    #[error("`{input}` is not a Quay version: use major.minor.patch such as 3.13.4")]
    Malformed {
        /// The string given.
        input: String,
    },
}

/// A Quay release version such as `3.13.4`; parsed from `3.13.4` or `v3.13.4`, displayed
/// without the `v`, ordered by major, minor, then patch.
///
/// # Examples
///
/// ```
/// use terraform_provider_quay::georep::upgrade::QuayVersion;
///
/// let old: QuayVersion = "v3.13.4".parse().unwrap();
/// let new: QuayVersion = "3.14.0".parse().unwrap();
/// assert!(old < new);
/// assert_eq!(old.to_string(), "3.13.4");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QuayVersion {
    major: u32,
    minor: u32,
    patch: u32,
}

impl QuayVersion {
    /// The version `major.minor.patch`.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }

    /// The major number (`3` in `3.13.4`).
    pub const fn major(self) -> u32 {
        self.major
    }

    /// The minor number (`13` in `3.13.4`).
    pub const fn minor(self) -> u32 {
        self.minor
    }

    /// The patch number (`4` in `3.13.4`).
    pub const fn patch(self) -> u32 {
        self.patch
    }
}

impl FromStr for QuayVersion {
    type Err = VersionError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let malformed = || VersionError::Malformed {
            input: input.to_owned(),
        };
        let digits = input.strip_prefix('v').unwrap_or(input);
        let mut parts = digits.split('.');
        let mut number = || -> Result<u32, VersionError> {
            let part = parts.next().ok_or_else(malformed)?;
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(malformed());
            }
            part.parse().map_err(|_| malformed())
        };
        let version = Self::new(number()?, number()?, number()?);
        if parts.next().is_some() {
            return Err(malformed());
        }
        Ok(version)
    }
}

impl fmt::Display for QuayVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl TryFrom<String> for QuayVersion {
    type Error = VersionError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<QuayVersion> for String {
    fn from(value: QuayVersion) -> Self {
        value.to_string()
    }
}

/// One minor series of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinorSeries {
    major: u32,
    minor: u32,
    alembic_head: String,
    released: Option<NewestRelease>,
}

/// The newest release of a minor, as listed in `versions.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NewestRelease {
    newest_patch: QuayVersion,
    head_unchanged_since: QuayVersion,
    olm_channel: String,
    csv: String,
    operator_image: String,
    related_images: RelatedImages,
}

/// The operator's component images by env var name (`RELATED_IMAGE_COMPONENT_QUAY` and the
/// others), as a released CSV sets them.
pub type RelatedImages = BTreeMap<String, String>;

/// The env var naming the Quay image among [`RelatedImages`].
pub const RELATED_IMAGE_QUAY: &str = "RELATED_IMAGE_COMPONENT_QUAY";

impl MinorSeries {
    /// The series as text, such as `3.14`.
    pub fn series(&self) -> String {
        format!("{}.{}", self.major, self.minor)
    }

    /// The newest patch release, or `None` when the minor has no release yet (3.19).
    pub fn newest_patch(&self) -> Option<QuayVersion> {
        self.released.as_ref().map(|r| r.newest_patch)
    }

    /// The alembic head revision of the newest patch (or of the branch head, unreleased).
    pub fn alembic_head(&self) -> &str {
        &self.alembic_head
    }
}

/// What the provider knows about one Quay release: its OLM channel, CSV and operator image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    version: QuayVersion,
    olm_channel: String,
    csv: String,
    operator_image: String,
    alembic_head: Option<String>,
    related_images: Option<RelatedImages>,
}

impl Release {
    /// The release version.
    pub fn version(&self) -> QuayVersion {
        self.version
    }

    /// The OLM channel that offers it, such as `stable-3.14`.
    pub fn olm_channel(&self) -> &str {
        &self.olm_channel
    }

    /// The operator's ClusterServiceVersion name, such as `quay-operator.v3.14.8`.
    pub fn csv(&self) -> &str {
        &self.csv
    }

    /// The operator image, such as `quay.io/projectquay/quay-operator:3.14.8`.
    pub fn operator_image(&self) -> &str {
        &self.operator_image
    }

    /// The alembic head revision its migration Job ends at, when known: the newest patch of a
    /// minor and the patches since the head last changed. `None` for older patches.
    pub fn alembic_head(&self) -> Option<&str> {
        self.alembic_head.as_deref()
    }

    /// The `RELATED_IMAGE_COMPONENT_*` env vars the operator of this release runs with, when
    /// known: for the newest patch of a minor only (see the module docs).
    pub fn related_images(&self) -> Option<&RelatedImages> {
        self.related_images.as_ref()
    }
}

/// The embedded release catalogue, oldest minor first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalogue {
    minors: Vec<MinorSeries>,
}

impl Catalogue {
    /// Every minor series, oldest first.
    pub fn minors(&self) -> &[MinorSeries] {
        &self.minors
    }

    /// The minor series of `version`, if the catalogue lists it.
    pub fn minor(&self, version: QuayVersion) -> Option<&MinorSeries> {
        self.minors
            .iter()
            .find(|m| m.major == version.major && m.minor == version.minor)
    }

    /// The release `version`: a patch of a released minor no newer than its newest patch.
    ///
    /// # Errors
    ///
    /// [`HopError::UnknownVersion`] when the minor is not listed or the patch is newer than
    /// the newest known one; [`HopError::Unreleased`] for a minor without a release.
    pub fn release(&self, version: QuayVersion) -> Result<Release, HopError> {
        let unknown = || HopError::UnknownVersion {
            version,
            known: self.newest_patches(),
        };
        let minor = self.minor(version).ok_or_else(unknown)?;
        let newest = minor
            .released
            .as_ref()
            .ok_or_else(|| HopError::Unreleased {
                version,
                series: minor.series(),
            })?;
        match version.cmp(&newest.newest_patch) {
            Ordering::Greater => Err(unknown()),
            Ordering::Equal => Ok(Release {
                version,
                olm_channel: newest.olm_channel.clone(),
                csv: newest.csv.clone(),
                operator_image: newest.operator_image.clone(),
                alembic_head: Some(minor.alembic_head.clone()),
                related_images: Some(newest.related_images.clone()),
            }),
            Ordering::Less => Ok(Release {
                version,
                olm_channel: newest.olm_channel.clone(),
                // The operator's release templates (hack/prepare-upstream.sh), as the
                // fixture derives them for the newest patch.
                csv: format!("quay-operator.v{version}"),
                operator_image: format!("quay.io/projectquay/quay-operator:{version}"),
                alembic_head: (version >= newest.head_unchanged_since)
                    .then(|| minor.alembic_head.clone()),
                related_images: None,
            }),
        }
    }

    /// The released minor of `version`, whatever its patch: an OLM channel moves on with
    /// every patch release, so a patch newer than the catalogue's newest is still a release
    /// of a minor whose migrations this provider knows the order of.
    ///
    /// # Errors
    ///
    /// [`HopError::UnknownMinor`] for a minor newer than every listed one (a newer provider
    /// release lists it), [`HopError::UnknownVersion`] for one older than every listed one,
    /// [`HopError::Unreleased`] for a minor without a release.
    pub fn known(&self, version: QuayVersion) -> Result<&MinorSeries, HopError> {
        let Some(minor) = self.minor(version) else {
            let newest = self.minors.last().map(|m| (m.major, m.minor));
            return Err(
                if newest.is_some_and(|n| (version.major, version.minor) > n) {
                    HopError::UnknownMinor {
                        version,
                        known: self.newest_patches(),
                    }
                } else {
                    HopError::UnknownVersion {
                        version,
                        known: self.newest_patches(),
                    }
                },
            );
        };
        if minor.released.is_none() {
            return Err(HopError::Unreleased {
                version,
                series: minor.series(),
            });
        }
        Ok(minor)
    }

    /// The OLM channel of `version`'s minor, such as `stable-3.14`, if the minor is released.
    pub fn channel(&self, version: QuayVersion) -> Option<&str> {
        self.minor(version)?
            .released
            .as_ref()
            .map(|r| r.olm_channel.as_str())
    }

    /// The newest patch of every released minor, as text for messages (`3.10.25, 3.11.13, …`).
    pub fn newest_patches(&self) -> String {
        self.minors
            .iter()
            .filter_map(MinorSeries::newest_patch)
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The catalogue compiled into the provider from `versions.json`.
///
/// # Panics
///
/// Never in a build that passed its tests: the file is part of the source and
/// `embedded_catalogue_parses_and_lists_every_minor_in_order` parses it.
pub fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        parse_catalogue(include_str!("versions.json"))
            .expect("versions.json is part of the source and checked by a unit test")
    })
}

/// Why a hop from one version to another is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HopError {
    /// The version is not in the catalogue.
    #[error("Quay {version} is not a version this provider knows; known newest patches: {known}")]
    UnknownVersion {
        /// The version given.
        version: QuayVersion,
        /// The newest patch of every known minor.
        known: String,
    },
    /// The minor is newer than every minor the catalogue lists.
    #[error(
        "Quay {version} is of a minor this provider does not know yet (it knows {known}): a \
         newer release of the provider knows it and its upgrade path; upgrade the provider, \
         then apply again"
    )]
    UnknownMinor {
        /// The version given.
        version: QuayVersion,
        /// The newest patch of every known minor.
        known: String,
    },
    /// The minor is listed but has no release yet.
    #[error("Quay {series} has no release yet, so {version} cannot be installed")]
    Unreleased {
        /// The version given.
        version: QuayVersion,
        /// Its minor series.
        series: String,
    },
    /// The target equals the current version.
    #[error("the sites already run Quay {version}: there is nothing to upgrade")]
    SameVersion {
        /// The version both sides name.
        version: QuayVersion,
    },
    /// The target is older than the current version.
    #[error(
        "{from} to {to} is a downgrade: the shared database schema cannot be migrated back; \
         restore a database backup taken before the upgrade instead"
    )]
    Downgrade {
        /// The current version.
        from: QuayVersion,
        /// The target given.
        to: QuayVersion,
    },
    /// The target skips at least one minor series.
    #[error("{from} to {to} skips Quay {skipped}: upgrade one minor at a time, first to {next}")]
    SkipsMinor {
        /// The current version.
        from: QuayVersion,
        /// The target given.
        to: QuayVersion,
        /// The first skipped minor series.
        skipped: String,
        /// The newest patch of the next minor, the hop to make first.
        next: String,
    },
}

/// Whether the sites may be upgraded from `from` to `to` in one run.
///
/// # Errors
///
/// [`HopError`] when either version's minor is unknown or unreleased, the versions are equal,
/// `to` is older, or `to` skips a minor series. A patch newer than the catalogue's newest of
/// a known minor is allowed (see [`Catalogue::known`]). See the module docs for the rule and its sources.
///
/// # Examples
///
/// ```
/// use terraform_provider_quay::georep::upgrade::{check_hop, QuayVersion};
///
/// let v = |s: &str| s.parse::<QuayVersion>().unwrap();
/// assert!(check_hop(v("3.13.4"), v("3.13.11")).is_ok());
/// assert!(check_hop(v("3.13.11"), v("3.14.8")).is_ok());
/// assert!(check_hop(v("3.13.11"), v("3.15.7")).is_err());
/// assert!(check_hop(v("3.14.8"), v("3.13.11")).is_err());
/// ```
pub fn check_hop(from: QuayVersion, to: QuayVersion) -> Result<(), HopError> {
    let catalogue = catalogue();
    match to.cmp(&from) {
        Ordering::Equal => return Err(HopError::SameVersion { version: to }),
        Ordering::Less => return Err(HopError::Downgrade { from, to }),
        Ordering::Greater => {}
    }
    catalogue.known(from)?;
    catalogue.known(to)?;
    if to.major != from.major || to.minor > from.minor + 1 {
        let position = catalogue
            .minors
            .iter()
            .position(|m| m.major == from.major && m.minor == from.minor);
        let next_minor = position.and_then(|i| catalogue.minors.get(i + 1));
        return Err(HopError::SkipsMinor {
            from,
            to,
            skipped: next_minor.map_or_else(|| "a minor".to_owned(), MinorSeries::series),
            next: next_minor
                .and_then(MinorSeries::newest_patch)
                .map_or_else(|| "the next minor".to_owned(), |v| v.to_string()),
        });
    }
    Ok(())
}

/// `versions.json` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    format: String,
    #[allow(dead_code, reason = "provenance for readers of the file")]
    source: String,
    minors: Vec<MinorEntry>,
}

/// One minor of `versions.json`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MinorEntry {
    minor: String,
    alembic_head: String,
    newest_patch: Option<QuayVersion>,
    head_unchanged_since: Option<QuayVersion>,
    olm_channel: Option<String>,
    csv: Option<String>,
    operator_image: Option<String>,
    #[allow(
        dead_code,
        reason = "kept for readers; the operator picks the Quay image"
    )]
    quay_image: Option<String>,
    related_images: Option<RelatedImages>,
}

impl<'de> Deserialize<'de> for QuayVersion {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for QuayVersion {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Parses and checks a catalogue file: known format, minors in order, consistent fields.
fn parse_catalogue(text: &str) -> Result<Catalogue, String> {
    let file: CatalogueFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if file.format != "quay-georep.versions/v1" {
        return Err(format!("unknown format {}", file.format));
    }
    let mut minors = Vec::with_capacity(file.minors.len());
    for entry in file.minors {
        let (major, minor) = entry
            .minor
            .split_once('.')
            .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
            .ok_or_else(|| format!("bad minor {}", entry.minor))?;
        let released = match (
            entry.newest_patch,
            entry.head_unchanged_since,
            entry.olm_channel,
            entry.csv,
            entry.operator_image,
            entry.related_images,
        ) {
            (None, None, None, None, None, None) => None,
            (
                Some(newest_patch),
                Some(since),
                Some(olm_channel),
                Some(csv),
                Some(image),
                Some(related_images),
            ) => {
                if (newest_patch.major, newest_patch.minor) != (major, minor)
                    || (since.major, since.minor) != (major, minor)
                    || since > newest_patch
                {
                    return Err(format!(
                        "minor {} has versions of another minor",
                        entry.minor
                    ));
                }
                let quay = related_images.get(RELATED_IMAGE_QUAY);
                if !quay.is_some_and(|i| i.ends_with(&format!(":{newest_patch}"))) {
                    return Err(format!(
                        "minor {}: {RELATED_IMAGE_QUAY} is not the image of {newest_patch}",
                        entry.minor
                    ));
                }
                Some(NewestRelease {
                    newest_patch,
                    head_unchanged_since: since,
                    olm_channel,
                    csv,
                    operator_image: image,
                    related_images,
                })
            }
            _ => return Err(format!("minor {} is partly released", entry.minor)),
        };
        let this = MinorSeries {
            major,
            minor,
            alembic_head: entry.alembic_head,
            released,
        };
        if let Some(previous) = minors.last().map(|m: &MinorSeries| (m.major, m.minor))
            && previous >= (major, minor)
        {
            return Err(format!("minor {} is out of order", this.series()));
        }
        minors.push(this);
    }
    Ok(Catalogue { minors })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> QuayVersion {
        s.parse().unwrap()
    }

    #[test]
    fn embedded_catalogue_parses_and_lists_every_minor_in_order() {
        let series: Vec<String> = catalogue()
            .minors()
            .iter()
            .map(MinorSeries::series)
            .collect();
        assert_eq!(
            series,
            [
                "3.10", "3.11", "3.12", "3.13", "3.14", "3.15", "3.16", "3.17", "3.18", "3.19"
            ]
        );
        let minor = catalogue().minor(v("3.14.0")).unwrap();
        assert_eq!(minor.newest_patch(), Some(v("3.14.8")));
        assert_eq!(minor.alembic_head(), "3634f2df3c5b");
    }

    #[test]
    fn parses_versions_with_or_without_a_leading_v() {
        assert_eq!(v("v3.13.4"), QuayVersion::new(3, 13, 4));
        assert_eq!(v("3.13.4").to_string(), "3.13.4");
        for bad in [
            "", "3.13", "3.13.4.1", "v", "3.x.1", "3.13.-1", "V3.13.4", " 3.13.4",
        ] {
            assert!(bad.parse::<QuayVersion>().is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn orders_by_number_not_by_text() {
        assert!(v("3.9.0") < v("3.10.0"));
        assert!(v("3.13.9") < v("3.13.11"));
    }

    #[test]
    fn newest_patch_release_carries_fixture_operator_facts() {
        let release = catalogue().release(v("3.14.8")).unwrap();
        assert_eq!(release.olm_channel(), "stable-3.14");
        assert_eq!(release.csv(), "quay-operator.v3.14.8");
        assert_eq!(
            release.operator_image(),
            "quay.io/projectquay/quay-operator:3.14.8"
        );
        assert_eq!(release.alembic_head(), Some("3634f2df3c5b"));
    }

    #[test]
    fn older_patch_release_uses_the_release_templates() {
        let release = catalogue().release(v("3.13.4")).unwrap();
        assert_eq!(release.csv(), "quay-operator.v3.13.4");
        assert_eq!(
            release.operator_image(),
            "quay.io/projectquay/quay-operator:3.13.4"
        );
        assert_eq!(release.alembic_head(), Some("8e97c2cfee57"));
        // 3.10.0 predates the last 3.10 migration, so its head is not the minor's head.
        assert_eq!(
            catalogue().release(v("3.10.0")).unwrap().alembic_head(),
            None
        );
    }

    #[test]
    fn newest_patch_release_lists_the_component_images_of_its_released_csv() {
        let release = catalogue().release(v("3.17.4")).unwrap();
        let images = release.related_images().unwrap();
        assert_eq!(
            images[RELATED_IMAGE_QUAY],
            "quay.io/projectquay/quay:3.17.4"
        );
        assert_eq!(
            images["RELATED_IMAGE_COMPONENT_CLAIR"],
            "quay.io/projectquay/clair:4.9.0"
        );
        for minor in catalogue().minors() {
            let Some(newest) = minor.newest_patch() else {
                continue;
            };
            let images = catalogue()
                .release(newest)
                .unwrap()
                .related_images()
                .cloned();
            let images = images.unwrap_or_else(|| panic!("{newest} has no images"));
            for key in ["QUAY", "CLAIR", "BUILDER", "POSTGRES", "REDIS"] {
                let key = format!("RELATED_IMAGE_COMPONENT_{key}");
                assert!(images.contains_key(&key), "{newest} lacks {key}");
            }
        }
        // Older patches' Clair and database images are not recorded: unknown, not guessed.
        assert_eq!(
            catalogue().release(v("3.17.0")).unwrap().related_images(),
            None
        );
    }

    #[test]
    fn allows_patch_and_next_minor_hops() {
        assert_eq!(check_hop(v("3.13.4"), v("3.13.11")), Ok(()));
        assert_eq!(check_hop(v("3.13.4"), v("3.14.2")), Ok(()));
        assert_eq!(check_hop(v("3.17.4"), v("3.18.0")), Ok(()));
    }

    #[test]
    fn refuses_downgrades_with_the_reason() {
        let err = check_hop(v("3.14.8"), v("3.13.11")).unwrap_err();
        assert!(matches!(err, HopError::Downgrade { .. }));
        assert!(err.to_string().contains("cannot be migrated back"));
        assert!(matches!(
            check_hop(v("3.13.11"), v("3.13.4")),
            Err(HopError::Downgrade { .. })
        ));
    }

    #[test]
    fn refuses_skipped_minors_and_names_the_hop_to_make_first() {
        let err = check_hop(v("3.13.11"), v("3.15.7")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "3.13.11 to 3.15.7 skips Quay 3.14: upgrade one minor at a time, first to 3.14.8"
        );
    }

    #[test]
    fn refuses_unknown_unreleased_and_equal_versions() {
        // A patch newer than the catalogue's is still of a known minor.
        assert_eq!(check_hop(v("3.14.8"), v("3.14.99")), Ok(()));
        assert_eq!(check_hop(v("3.17.6"), v("3.18.0")), Ok(()));
        let newer_minor = check_hop(v("3.18.0"), v("3.20.0")).unwrap_err();
        assert!(matches!(newer_minor, HopError::UnknownMinor { .. }));
        assert!(
            newer_minor
                .to_string()
                .contains("newer release of the provider")
        );
        assert!(matches!(
            check_hop(v("3.9.5"), v("3.10.25")),
            Err(HopError::UnknownVersion { .. })
        ));
        assert!(matches!(
            check_hop(v("3.18.0"), v("3.19.0")),
            Err(HopError::Unreleased { .. })
        ));
        assert!(matches!(
            check_hop(v("3.18.0"), v("3.18.0")),
            Err(HopError::SameVersion { .. })
        ));
    }

    #[test]
    fn rejects_catalogue_files_that_contradict_themselves() {
        let out_of_order = r#"{"format":"quay-georep.versions/v1","source":"t","minors":[
            {"minor":"3.11","alembic_head":"a","newest_patch":null,"head_unchanged_since":null,
             "olm_channel":null,"csv":null,"operator_image":null,"quay_image":null,"related_images":null},
            {"minor":"3.10","alembic_head":"b","newest_patch":null,"head_unchanged_since":null,
             "olm_channel":null,"csv":null,"operator_image":null,"quay_image":null,"related_images":null}]}"#;
        assert!(
            parse_catalogue(out_of_order)
                .unwrap_err()
                .contains("out of order")
        );
        let partly = r#"{"format":"quay-georep.versions/v1","source":"t","minors":[
            {"minor":"3.10","alembic_head":"a","newest_patch":"3.10.1","head_unchanged_since":null,
             "olm_channel":null,"csv":null,"operator_image":null,"quay_image":null,"related_images":null}]}"#;
        assert!(parse_catalogue(partly).unwrap_err().contains("partly"));
    }
}
