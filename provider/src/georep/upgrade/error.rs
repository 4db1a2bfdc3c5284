//! [`UpgradeError`]: why the upgrade stops. Every message names the site or object at fault
//! and says what to do; preflight errors add that nothing was changed.

use super::names::{LEASE_NAME, PROGRESS_CONFIG_MAP};
use super::progress::{Phase, ProgressError};
use super::site::SiteId;
use super::target::TargetVersion;
use super::time::Timestamp;
use super::versions::{HopError, QuayVersion, VersionError};

/// Why the upgrade cannot go on. Each message names the site and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum UpgradeError {
    /// The I/O layer did not report a requested site: a bug in the provider.
    #[error("site {site} was not observed: this is a bug in the provider, please report it")]
    SiteNotObserved {
        /// The missing site.
        site: SiteId,
    },
    /// A site could not be reached at preflight.
    #[error(
        "site {site} cannot be reached ({error}): check cluster {} in the provider \
         block and its network, then apply again; nothing was changed",
        .site.cluster()
    )]
    SiteUnreachable {
        /// The site.
        site: SiteId,
        /// What the I/O layer saw.
        error: String,
    },
    /// A site is not converged at preflight.
    #[error(
        "site {site} is not converged: {reason}; wait for it or fix it, then apply again; \
         nothing was changed"
    )]
    NotConverged {
        /// The site.
        site: SiteId,
        /// What is not as it should be.
        reason: String,
    },
    /// A site reports a version that is not a Quay version.
    #[error("site {site} reports currentVersion `{version}`, which cannot be read")]
    VersionUnparsable {
        /// The site.
        site: SiteId,
        /// What it reported.
        version: String,
        /// Why it is not a version.
        #[source]
        source: VersionError,
    },
    /// The sites do not all run the same version, and no progress record explains it.
    #[error(
        "the sites run different Quay versions ({versions}) and no upgrade is recorded in \
         progress: bring them to one version by hand (or restore the progress record), then \
         apply again; nothing was changed"
    )]
    VersionMismatch {
        /// `site: version` for every site.
        versions: String,
    },
    /// The sites do not share one config bundle.
    #[error(
        "the sites do not use the same config.yaml ({hashes}): apply the quay_georep_site \
         resources with one quay_georep_config first; nothing was changed"
    )]
    ConfigHashMismatch {
        /// `site: hash` for every site.
        hashes: String,
    },
    /// The target is not an allowed hop from the sites' version.
    #[error("cannot upgrade the sites to {to}; nothing was changed")]
    HopRefused {
        /// The sites' version.
        from: QuayVersion,
        /// The target.
        to: QuayVersion,
        /// Why the hop is refused.
        #[source]
        source: HopError,
    },
    /// The OLM channel cannot be read on a site.
    #[error(
        "OLM channel {channel} cannot be used on site {site}: {reason}; check operator.channel \
         and the Subscription's catalog, then apply again; nothing was changed"
    )]
    ChannelUnusable {
        /// The site.
        site: SiteId,
        /// The channel.
        channel: String,
        /// What is wrong.
        reason: String,
    },
    /// The channel's head is not the requested target.
    #[error(
        "OLM channel {channel} on site {site} offers {csv} (Quay {offered}), not Quay \
         {requested}: OLM installs only a channel's head, so set target_version = \"{offered}\" \
         (or \"{}\" to follow the channel's head), then apply again; nothing was changed",
        .requested.series()
    )]
    OfferMismatch {
        /// The site (as text: keeps the error small).
        site: String,
        /// The channel.
        channel: String,
        /// The CSV it offers.
        csv: String,
        /// The version it offers.
        offered: QuayVersion,
        /// The requested target.
        requested: TargetVersion,
    },
    /// The channel's head is a version the provider cannot upgrade to.
    #[error(
        "OLM channel {channel} on site {site} offers {csv}, which this upgrade cannot \
         install; nothing was changed"
    )]
    OfferRefused {
        /// The site (as text: keeps the error small).
        site: String,
        /// The channel.
        channel: String,
        /// The CSV it offers.
        csv: String,
        /// Why it cannot be installed.
        #[source]
        source: Box<HopError>,
    },
    /// The sites' catalogs offer different heads of the channel.
    #[error(
        "the sites' catalogs offer different heads of channel {channel} ({offers}): every site \
         must install the same version against the shared database; bring their catalogs to \
         the same content, then apply again; nothing was changed"
    )]
    ChannelsDisagree {
        /// The channel.
        channel: String,
        /// `site: csv` for every site.
        offers: String,
    },
    /// The InstallPlan of the Quay CSV also installs other operators.
    #[error(
        "InstallPlan {plan} on site {site} installs {others} together with {csv}: OLM resolves \
         every Subscription of a namespace into one plan, so approving it would upgrade those \
         operators too; upgrade or remove their Subscriptions first, or install the Quay \
         Operator in a namespace of its own, then apply again; the plan was not approved"
    )]
    SharedInstallPlan {
        /// The site (as text: keeps the error small).
        site: String,
        /// The InstallPlan's name.
        plan: String,
        /// The Quay CSV.
        csv: String,
        /// The other CSVs, comma separated.
        others: String,
    },
    /// Other operators of the namespace have upgrades OLM would install with the Quay CSV.
    #[error(
        "Subscriptions beside the Quay Operator's on site {site} have upgrades pending ({csvs}): \
         OLM resolves every Subscription of a namespace into one InstallPlan, so the Quay \
         upgrade's plan would install them too; approve or remove those upgrades first, or \
         install the Quay Operator in a namespace of its own, then apply again; nothing was \
         changed"
    )]
    OtherOperatorsPending {
        /// The site.
        site: SiteId,
        /// The other CSVs pending, comma separated.
        csvs: String,
    },
    /// The operator named in the `operator` block was not found on a site.
    #[error(
        "{what} was not found on site {site}: check the operator block (method, namespace, \
         name); nothing was changed"
    )]
    OperatorNotFound {
        /// The site.
        site: SiteId,
        /// The object looked for.
        what: String,
    },
    /// An OLM Subscription approves InstallPlans automatically.
    #[error(
        "Subscription {subscription} on site {site} has installPlanApproval: Automatic, so OLM \
         would upgrade every site at once against the shared database: set it to Manual, then \
         apply again; nothing was changed"
    )]
    AutomaticApproval {
        /// The site.
        site: SiteId,
        /// `namespace/name` of the Subscription.
        subscription: String,
    },
    /// A secondary's component has no replicas override while its HPA is unmanaged, so its
    /// replica count could not be restored after scaling to 0 (reference §0, item 6).
    #[error(
        "component {component} of site {site} has no replicas override and an unmanaged HPA, \
         so its replica count cannot be restored after the upgrade: set explicit replicas \
         (quay_georep_site does), then apply again; nothing was changed"
    )]
    UnrestorableReplicas {
        /// The site.
        site: SiteId,
        /// The component kind.
        component: &'static str,
    },
    /// Another holder has the Lease.
    #[error(
        "Lease {LEASE_NAME} is held by {holder} until {expires}: another upgrade is running; \
         wait for it, or if it was killed, apply again after {expires}"
    )]
    LeaseHeld {
        /// The holder identity.
        holder: String,
        /// When the Lease expires unless renewed.
        expires: Timestamp,
    },
    /// The progress record cannot be read.
    #[error("cannot resume the upgrade")]
    CorruptProgress {
        /// What is wrong with it and what to do.
        #[source]
        source: ProgressError,
    },
    /// A recorded upgrade has another target.
    #[error(
        "an upgrade from {from} to {stored} is in progress (phase {phase}): set \
         target_version = \"{stored}\" and apply to finish it, then upgrade to {requested}; to \
         abandon it instead, restore the replicas and HPA settings recorded in ConfigMap \
         {PROGRESS_CONFIG_MAP} on the primary and delete it"
    )]
    ProgressForOtherTarget {
        /// The recorded from-version.
        from: QuayVersion,
        /// The recorded target.
        stored: QuayVersion,
        /// The requested target.
        requested: TargetVersion,
        /// The recorded phase.
        phase: Phase,
    },
    /// A recorded upgrade has another primary or other secondaries.
    #[error(
        "an upgrade recorded for primary {stored_primary} and secondaries [{stored_secondaries}] \
         is in progress: set primary and sites back to those and apply to finish it first"
    )]
    ProgressForOtherSites {
        /// The recorded primary.
        stored_primary: SiteId,
        /// The recorded secondaries, comma separated.
        stored_secondaries: String,
    },
    /// A migration Job failed.
    #[error(
        "the migration Job {} on site {site} ({from} to {to}) failed: {message}; the \
         secondaries stay scaled to 0; read the Job's logs (namespace {} on cluster {}), fix \
         the cause (database reachable and at a revision this version knows, config valid), \
         delete the Job so the operator runs it again, and apply again to resume; do not scale \
         the secondaries up by hand",
        .site.migration_job_name(),
        .site.namespace(),
        .site.cluster()
    )]
    MigrationFailed {
        /// The site.
        site: SiteId,
        /// The version migrated from.
        from: QuayVersion,
        /// The version migrated to.
        to: QuayVersion,
        /// The Job's failure message.
        message: String,
    },
    /// A site reports a version that fits neither side of the recorded upgrade.
    #[error(
        "site {site} reports currentVersion {found} but {expected} was expected at this point \
         of the upgrade: someone changed it outside this run; inspect the site and its operator \
         before applying again"
    )]
    UnexpectedVersion {
        /// The site.
        site: SiteId,
        /// What the upgrade expected.
        expected: String,
        /// What the site reports.
        found: String,
    },
    /// The safety guard caught an action the state machine should never produce.
    #[error("refusing {action}: {reason}; this is a bug in the provider, please report it")]
    SafetyGuard {
        /// The refused action.
        action: String,
        /// The invariant it breaks.
        reason: String,
    },
}
