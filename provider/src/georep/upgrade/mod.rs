//! The `quay_georep_upgrade` state machine: the documented geo-replication upgrade as pure
//! decisions. Values in, decisions out: no Kubernetes client, no async runtime, no clock, no
//! filesystem or environment. `cluster/` performs the [`Action`]s; `resources/` maps the
//! Terraform attributes onto [`UpgradeInput`].
//!
//! # Why
//!
//! Every geo-replicated Quay site runs its own operator, and every operator runs its own
//! migration Job (`alembic upgrade head`) against the one shared database (reference
//! `quay-operator.md` §3.2, §5.4). Two migrations at once, or an old-version site serving
//! against a migrated schema, break every region at once. The documented procedure (§3.3) is
//! to scale every other site to 0, upgrade one site, wait for its migration, then upgrade the
//! rest and restore them. This module is that procedure as a state machine that survives
//! being killed at any point.
//!
//! # The loop
//!
//! The I/O layer repeats: read an [`Observation`] (every site, the Lease and the progress
//! ConfigMap on the primary), call [`step`], perform the [`Decision`]'s actions in order
//! (stopping at the first failure), and, unless [`Decision::done`], wait a little. It stops
//! at an [`UpgradeError`] or when its Terraform timeout passes. `step` holds no state between
//! calls: everything it needs to continue is on the clusters, in [`Progress`].
//!
//! # The procedure
//!
//! 1. **Preflight** (no progress recorded): every site reachable and converged (`Available`
//!    and `ComponentsCreated` True, `RolloutBlocked` not True, generation observed, no migration
//!    Job running or failed, the operator's `QUAY_VERSION` equal to `currentVersion`); one
//!    `currentVersion` and one config hash everywhere; for OLM, the target resolved to what
//!    the channel offers (its head, from the package's PackageManifest: the same on every
//!    site, of a minor the catalogue knows, accepted by `target_version`), recorded as the
//!    progress record's target so a resumed run keeps it; `from → target` an
//!    [allowed hop](check_hop); the operator found on every site (an OLM Subscription
//!    must use manual approval; an InstallPlan for the target must install nothing else, and
//!    no other Subscription of the namespace may have an upgrade pending); every secondary's replicas restorable (explicit `replicas`
//!    on each managed component, or a managed HPA); no live Lease of another holder. Any
//!    failure is an error that names the site and the fix, and nothing is changed. If every
//!    site already runs the target, the upgrade is done.
//! 2. **Take the Lease** ([`LEASE_NAME`] in the primary's namespace).
//! 3. **Record the originals**: a [`Progress`] in ConfigMap [`PROGRESS_CONFIG_MAP`] with each
//!    secondary's replicas of quay, clair and mirror and HPA setting, before anything changes.
//! 4. **Scale down the secondaries** ([`Phase::ScaleDownSecondaries`]): HPA unmanaged and
//!    `replicas: 0` on their managed quay, clair and mirror; wait until their pods are gone.
//! 5. **Upgrade the primary's operator** ([`Phase::UpgradePrimaryOperator`]): OLM: set the
//!    Subscription channel, then approve the InstallPlan for the target CSV only if it
//!    installs nothing else (one plan per namespace upgrades every operator in it);
//!    Deployment: set the image and `QUAY_VERSION`.
//! 6. **Wait for the primary's migration** ([`Phase::WaitPrimaryMigrated`]): the Job, then
//!    `currentVersion == target` and Available. A failed Job is
//!    [`UpgradeError::MigrationFailed`] with the Job's message; the secondaries stay at 0 and
//!    the next apply resumes here.
//! 7. **Upgrade the secondaries' operators** ([`Phase::UpgradeSecondaryOperators`]), one at a
//!    time, each while still at 0, waiting for its `currentVersion == target`.
//! 8. **Restore the secondaries** ([`Phase::RestoreSecondaries`]): original replicas and HPA
//!    setting; wait until their pods are back and they are Available.
//! 9. **Release** ([`Phase::Release`]): release the Lease, delete the progress record, done.
//!
//! Each phase change is written to the progress record before the next phase acts, one phase
//! per [`step`].
//!
//! # Safety invariants
//!
//! Each has a test in the fake-world tests (`fake_world_tests.rs`), checked on every
//! transition of a fake world, and [`step`] re-checks the first two against its own output
//! before returning.
//! - **One migration at a time, primary first.** No [`Action::UpgradeOperator`] while any
//!   site's migration Job runs, and none for a secondary before the primary reports
//!   `currentVersion == target`; the primary's only once every secondary has 0 pods.
//! - **No old site serves a migrated database.** No [`Action::Restore`] for a site whose
//!   `currentVersion` is not the target; until restore, every secondary is kept at 0 (a
//!   scale-up by someone else is undone and waited for).
//! - **Originals are never lost.** They are in the progress record before the first
//!   [`Action::ScaleDown`]; a resumed run restores the recorded values, never the zeros it
//!   observes. A corrupt record is an error, never ignored.
//! - **Resumable.** A run killed at any point continues from the recorded phase on the next
//!   apply. A record for another target or other sites is an error that says how to finish or
//!   abandon it.
//! - **Exclusive.** A live Lease of another holder is [`UpgradeError::LeaseHeld`] with the
//!   holder and expiry; an expired one is taken over. Expiry is measured on the observer's
//!   clock ([`LeaseObservation`]): a Lease whose writer's times look lapsed or skewed is
//!   watched for a whole duration, refused as soon as it is renewed, taken over only if it
//!   is not. The I/O layer re-reads the Lease before every change it makes.
//!
//! # Brief overview
//!
//! - [`versions`]: [`QuayVersion`], the embedded [`catalogue()`], [`check_hop`].
//! - [`SiteId`], [`UpgradeInput`] → [`validate`] → [`UpgradeRequest`] with a
//!   [`TargetVersion`] (a release, or a minor's channel head).
//! - [`Observation`] in, [`step`] → [`Decision`] with [`Action`]s out; [`Progress`] is the
//!   record on the cluster.
//! - [`plan_steps`]: the steps in words for `terraform plan`.

mod action;
mod catalog;
mod channel;
mod error;
mod names;
mod next_hop;
mod observation;
mod phases;
mod plan;
mod preflight;
mod progress;
mod request;
mod site;
mod step;
mod target;
mod time;
pub mod versions;

#[cfg(test)]
mod fake_world_tests;

pub use crate::georep::site::{
    Condition, ConditionStatus, RegistryStatus, SCALED_DOWN_ANNOTATION,
    STATUS_REQUESTED_ANNOTATION, STATUS_REQUESTS_ANNOTATION, StatusRequest,
};
pub use action::{Action, OperatorUpgrade};
pub use catalog::CatalogSourceRef;
pub use error::UpgradeError;
pub use names::{LEASE_NAME, PROGRESS_CONFIG_MAP};
pub use next_hop::{next_target, upgrade_path};
pub use observation::{
    Approval, CLOCK_TOLERANCE, ChannelOffer, Component, ComponentState, InstallPlan,
    JobObservation, JobState, LeaseObservation, Observation, OperatorObservation, SiteObservation,
    SiteState,
};
pub use plan::{SiteObservationSummary, plan_steps};
pub use progress::{
    Milestone, MilestoneRecord, Originals, PROGRESS_FORMAT, Phase, Progress, ProgressError,
    SecondaryRecord,
};
pub(crate) use request::check_sites;
pub use request::{
    DEFAULT_LEASE_DURATION, MAX_LEASE_DURATION, MIN_LEASE_DURATION, NONCE_SEPARATOR, OperatorInput,
    OperatorMethod, RequestError, UpgradeInput, UpgradeRequest, holder_origin, parse_duration,
    validate,
};
pub use site::{SiteId, SiteIdError};
pub use step::{Decision, step};
pub use target::{TargetError, TargetVersion, csv_name};
pub use time::Timestamp;
pub use versions::{
    HopError, QuayVersion, RELATED_IMAGE_QUAY, RelatedImages, VersionError, catalogue, check_hop,
};
