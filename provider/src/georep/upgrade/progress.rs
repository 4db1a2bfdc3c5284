//! [`Progress`]: the record of a running upgrade, kept in a ConfigMap on the primary cluster
//! so that a killed apply resumes where it stopped.
//!
//! It holds the [`Phase`] to continue with, the versions, the primary, the Lease holder, each
//! secondary's [`Originals`] (replicas of quay, clair and mirror and whether the HPA was
//! managed, recorded before anything is scaled) and a timestamp per reached [`Milestone`].
//!
//! # ConfigMap format (version 1)
//!
//! Exactly three keys:
//! - `format`: `quay-georep.upgrade-progress/v1`;
//! - `phase`: the phase name, for people reading it with `kubectl` (must match the JSON);
//! - `progress.json`: the record as JSON.
//!
//! Parsing is strict: an unknown format, a missing or extra key, unknown JSON fields or a
//! record that contradicts itself is a [`ProgressError`] whose message says what to do. A
//! corrupt record is never ignored: it is the only copy of the original replica counts.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::observation::Component;
use super::site::SiteId;
use super::time::Timestamp;
use super::versions::QuayVersion;

/// The `format` value this module writes and reads.
pub const PROGRESS_FORMAT: &str = "quay-georep.upgrade-progress/v1";

const KEY_FORMAT: &str = "format";
const KEY_PHASE: &str = "phase";
const KEY_JSON: &str = "progress.json";

/// What to do about a record that cannot be read; appended to every [`ProgressError`].
const FIX: &str = "inspect ConfigMap quay-georep-upgrade-progress in the primary site's \
    namespace; repair it, or delete it after restoring each secondary's quay, clair and mirror \
    replicas and HPA setting by hand (deleting it forgets the recorded originals)";

/// Why a progress record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProgressError {
    /// A required key is missing.
    #[error("the upgrade progress record has no key `{key}`: {FIX}")]
    MissingKey {
        /// The missing key.
        key: &'static str,
    },
    /// A key this format does not have.
    #[error("the upgrade progress record has an unknown key `{key}`: {FIX}")]
    UnknownKey {
        /// The unexpected key.
        key: String,
    },
    /// A format this provider does not know (perhaps written by a newer provider).
    #[error(
        "the upgrade progress record has format `{found}`, this provider reads \
         `{PROGRESS_FORMAT}`: finish the upgrade with the provider version that started it, or {FIX}"
    )]
    UnsupportedFormat {
        /// The format found.
        found: String,
    },
    /// `progress.json` is not a valid record.
    #[error("the upgrade progress record's progress.json cannot be read: {FIX}")]
    Json {
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The record contradicts itself.
    #[error("the upgrade progress record is inconsistent ({reason}): {FIX}")]
    Inconsistent {
        /// What contradicts what.
        reason: String,
    },
}

/// What the upgrade does next. Stored in [`Progress`]; there is no stored phase before the
/// originals are recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Scale every secondary's quay, clair and mirror to 0 and wait for their pods to go.
    ScaleDownSecondaries,
    /// Upgrade the primary's operator.
    UpgradePrimaryOperator,
    /// Wait for the primary's migration Job, `currentVersion == target` and Available.
    WaitPrimaryMigrated,
    /// Upgrade each secondary's operator in turn, while it is at 0.
    UpgradeSecondaryOperators,
    /// Restore each secondary's replicas and HPA setting and wait for Available.
    RestoreSecondaries,
    /// Release the Lease and clear this record.
    Release,
}

impl Phase {
    /// The kebab-case name used in the ConfigMap, such as `scale-down-secondaries`.
    pub fn name(self) -> &'static str {
        match self {
            Phase::ScaleDownSecondaries => "scale-down-secondaries",
            Phase::UpgradePrimaryOperator => "upgrade-primary-operator",
            Phase::WaitPrimaryMigrated => "wait-primary-migrated",
            Phase::UpgradeSecondaryOperators => "upgrade-secondary-operators",
            Phase::RestoreSecondaries => "restore-secondaries",
            Phase::Release => "release",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A point the upgrade reached; [`Progress::history`] records when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Milestone {
    /// Preflight passed, the Lease was held and the originals were recorded.
    OriginalsRecorded,
    /// Every secondary's pods were gone.
    SecondariesScaledDown,
    /// The primary's operator ran the target version.
    PrimaryOperatorUpgraded,
    /// The primary reported `currentVersion == target` and Available.
    PrimaryMigrated,
    /// Every secondary reported `currentVersion == target`.
    SecondariesUpgraded,
    /// Every secondary was back at its original replicas and Available.
    SecondariesRestored,
}

impl Milestone {
    /// A sentence fragment for step lists, such as `primary migrated`.
    pub fn describe(self) -> &'static str {
        match self {
            Milestone::OriginalsRecorded => "original replicas and HPA settings recorded",
            Milestone::SecondariesScaledDown => "secondaries scaled to 0",
            Milestone::PrimaryOperatorUpgraded => "primary operator upgraded",
            Milestone::PrimaryMigrated => "primary migrated",
            Milestone::SecondariesUpgraded => "secondaries upgraded",
            Milestone::SecondariesRestored => "secondaries restored",
        }
    }
}

/// A secondary's settings before the upgrade touched it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Originals {
    /// `overrides.replicas` of each managed component among quay, clair and mirror (`None`:
    /// no replicas override). Unmanaged components are absent and never touched.
    pub replicas: BTreeMap<Component, Option<u32>>,
    /// Whether the `horizontalpodautoscaler` component was managed.
    pub hpa_managed: bool,
}

/// One secondary and its originals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecondaryRecord {
    /// The site.
    pub site: SiteId,
    /// Its settings before the upgrade.
    pub originals: Originals,
}

/// When a milestone was reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MilestoneRecord {
    /// The milestone.
    pub milestone: Milestone,
    /// When the step that reached it observed it.
    pub at: Timestamp,
}

/// The record of a running upgrade. Built by [`step`](super::step) only; read back with
/// [`Progress::from_configmap_data`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Progress {
    pub(super) phase: Phase,
    pub(super) from: QuayVersion,
    pub(super) target: QuayVersion,
    pub(super) primary: SiteId,
    pub(super) holder: String,
    pub(super) secondaries: Vec<SecondaryRecord>,
    pub(super) started: Timestamp,
    pub(super) history: Vec<MilestoneRecord>,
}

impl Progress {
    /// The phase to continue with.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The version every site ends at.
    pub fn target(&self) -> QuayVersion {
        self.target
    }

    /// The site that migrates the database.
    pub fn primary(&self) -> &SiteId {
        &self.primary
    }

    /// The Lease holder that last advanced the record.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Each secondary with its originals, in request order.
    pub fn secondaries(&self) -> &[SecondaryRecord] {
        &self.secondaries
    }

    /// The originals of `site`, if it is a recorded secondary.
    pub fn originals(&self, site: &SiteId) -> Option<&Originals> {
        self.secondaries
            .iter()
            .find(|s| s.site == *site)
            .map(|s| &s.originals)
    }

    /// When the originals were recorded.
    pub fn started(&self) -> Timestamp {
        self.started
    }

    /// Milestones reached, oldest first.
    pub fn history(&self) -> &[MilestoneRecord] {
        &self.history
    }

    /// This record moved to `phase`, with `milestone` reached at `now`.
    pub(super) fn advanced(&self, phase: Phase, milestone: Milestone, now: Timestamp) -> Self {
        let mut next = self.clone();
        next.phase = phase;
        next.history.push(MilestoneRecord { milestone, at: now });
        next
    }

    /// The ConfigMap `data` for this record (see the module docs).
    ///
    /// # Panics
    ///
    /// Never: the record has only string map keys and integers, which JSON always encodes.
    pub fn to_configmap_data(&self) -> BTreeMap<String, String> {
        let json = serde_json::to_string_pretty(self)
            .expect("a Progress has string keys and no non-finite numbers, so it serializes");
        BTreeMap::from([
            (KEY_FORMAT.to_owned(), PROGRESS_FORMAT.to_owned()),
            (KEY_PHASE.to_owned(), self.phase.name().to_owned()),
            (KEY_JSON.to_owned(), json),
        ])
    }

    /// Reads a record written by [`Self::to_configmap_data`].
    ///
    /// # Errors
    ///
    /// [`ProgressError`] for a missing or unknown key, another format, JSON that is not a
    /// record, or a record that contradicts itself (phase key differs, primary listed as a
    /// secondary, a secondary listed twice, target not newer than the from-version).
    pub fn from_configmap_data(data: &BTreeMap<String, String>) -> Result<Self, ProgressError> {
        if let Some(key) = data
            .keys()
            .find(|k| ![KEY_FORMAT, KEY_PHASE, KEY_JSON].contains(&k.as_str()))
        {
            return Err(ProgressError::UnknownKey { key: key.clone() });
        }
        let get = |key: &'static str| data.get(key).ok_or(ProgressError::MissingKey { key });
        let format = get(KEY_FORMAT)?;
        if format != PROGRESS_FORMAT {
            return Err(ProgressError::UnsupportedFormat {
                found: format.clone(),
            });
        }
        let phase = get(KEY_PHASE)?;
        let progress: Progress = serde_json::from_str(get(KEY_JSON)?)
            .map_err(|source| ProgressError::Json { source })?;
        let inconsistent = |reason: String| Err(ProgressError::Inconsistent { reason });
        if progress.phase.name() != phase {
            return inconsistent(format!(
                "key phase is `{phase}` but progress.json has `{}`",
                progress.phase
            ));
        }
        if progress.target <= progress.from {
            return inconsistent(format!(
                "target {} is not newer than {}",
                progress.target, progress.from
            ));
        }
        for (i, record) in progress.secondaries.iter().enumerate() {
            if record.site == progress.primary {
                return inconsistent(format!("primary {} is also a secondary", record.site));
            }
            if progress.secondaries[..i]
                .iter()
                .any(|r| r.site == record.site)
            {
                return inconsistent(format!("secondary {} is listed twice", record.site));
            }
        }
        Ok(progress)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Progress {
        Progress {
            phase: Phase::WaitPrimaryMigrated,
            from: "3.13.11".parse().unwrap(),
            target: "3.14.8".parse().unwrap(),
            primary: "us_east/quay/registry".parse().unwrap(),
            holder: "run-1".into(),
            secondaries: vec![SecondaryRecord {
                site: "eu_west/quay/registry".parse().unwrap(),
                originals: Originals {
                    replicas: BTreeMap::from([
                        (Component::Quay, Some(3)),
                        (Component::Clair, None),
                        (Component::Mirror, Some(1)),
                    ]),
                    hpa_managed: true,
                },
            }],
            started: Timestamp::from_unix_seconds(1000),
            history: vec![MilestoneRecord {
                milestone: Milestone::OriginalsRecorded,
                at: Timestamp::from_unix_seconds(1000),
            }],
        }
    }

    #[test]
    fn corruption_advice_names_the_configmap_the_cluster_layer_uses() {
        assert!(FIX.contains(crate::georep::upgrade::PROGRESS_CONFIG_MAP));
    }

    #[test]
    fn round_trips_through_configmap_data() {
        let progress = sample();
        let data = progress.to_configmap_data();
        assert_eq!(data["format"], PROGRESS_FORMAT);
        assert_eq!(data["phase"], "wait-primary-migrated");
        assert_eq!(Progress::from_configmap_data(&data).unwrap(), progress);
    }

    #[test]
    fn rejects_records_of_another_format_with_what_to_do() {
        let mut data = sample().to_configmap_data();
        data.insert("format".into(), "quay-georep.upgrade-progress/v2".into());
        let err = Progress::from_configmap_data(&data).unwrap_err();
        assert!(matches!(err, ProgressError::UnsupportedFormat { .. }));
        assert!(err.to_string().contains("provider version that started it"));
    }

    #[test]
    fn rejects_missing_and_unknown_keys() {
        let mut data = sample().to_configmap_data();
        data.remove("progress.json");
        assert!(matches!(
            Progress::from_configmap_data(&data),
            Err(ProgressError::MissingKey {
                key: "progress.json"
            })
        ));
        let mut data = sample().to_configmap_data();
        data.insert("note".into(), "hello".into());
        assert!(matches!(
            Progress::from_configmap_data(&data),
            Err(ProgressError::UnknownKey { .. })
        ));
    }

    #[test]
    fn rejects_corrupt_json_and_unknown_fields_instead_of_ignoring_them() {
        let mut data = sample().to_configmap_data();
        data.insert("progress.json".into(), "{\"phase\": \"release\"".into());
        let err = Progress::from_configmap_data(&data).unwrap_err();
        assert!(matches!(err, ProgressError::Json { .. }));
        assert!(err.to_string().contains("delete it after restoring"));

        let mut data = sample().to_configmap_data();
        let with_extra = data["progress.json"].replacen('{', "{\"extra\": 1,", 1);
        data.insert("progress.json".into(), with_extra);
        assert!(matches!(
            Progress::from_configmap_data(&data),
            Err(ProgressError::Json { .. })
        ));
    }

    #[test]
    fn rejects_records_that_contradict_themselves() {
        let mut data = sample().to_configmap_data();
        data.insert("phase".into(), "release".into());
        assert!(matches!(
            Progress::from_configmap_data(&data),
            Err(ProgressError::Inconsistent { .. })
        ));

        let mut progress = sample();
        progress.secondaries[0].site = progress.primary.clone();
        assert!(matches!(
            Progress::from_configmap_data(&progress.to_configmap_data()),
            Err(ProgressError::Inconsistent { .. })
        ));

        let mut progress = sample();
        progress.target = progress.from;
        assert!(matches!(
            Progress::from_configmap_data(&progress.to_configmap_data()),
            Err(ProgressError::Inconsistent { .. })
        ));
    }

    #[test]
    fn rejects_a_corrupt_site_id_inside_the_record() {
        let mut data = sample().to_configmap_data();
        let json = data["progress.json"].replace("eu_west/quay/registry", "eu_west/quay");
        data.insert("progress.json".into(), json);
        assert!(matches!(
            Progress::from_configmap_data(&data),
            Err(ProgressError::Json { .. })
        ));
    }
}
