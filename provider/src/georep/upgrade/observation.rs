//! [`Observation`]: what the I/O layer reads from the clusters before each [`step`].
//!
//! One round of reads gives, per requested site, either [`SiteObservation::Unreachable`] or a
//! [`SiteState`]: the `QuayRegistry` status (currentVersion, conditions, generations), its
//! component overrides (replicas, HPA managed), running pod counts for quay, clair and mirror,
//! the operator (QUAY_VERSION, Deployment image, Subscription channel and approval, InstallPlans,
//! what the target channel offers),
//! the migration Job and the config hash. From the primary cluster it also gives the Lease and
//! the progress ConfigMap's data. Plain data: nothing here reads a cluster, and the strings
//! are kept as read (for example the version text) so that [`step`] decides what is wrong
//! with them.
//!
//! [`step`]: super::step

use std::collections::BTreeMap;

use super::catalog::CatalogSourceRef;
use super::site::SiteId;
use super::time::Timestamp;
use crate::georep::site::{RegistryStatus, Rollout, StatusRequest};

/// The three components the upgrade scales: the ones with a `replicas` override.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Component {
    /// `quay` (Deployment `<name>-quay-app`).
    Quay,
    /// `clair` (Deployment `<name>-clair-app`).
    Clair,
    /// `mirror` (Deployment `<name>-quay-mirror`).
    Mirror,
}

impl Component {
    /// All three, in the order messages list them.
    pub const ALL: [Component; 3] = [Component::Quay, Component::Clair, Component::Mirror];

    /// The `QuayRegistry` component kind: `quay`, `clair` or `mirror`.
    pub fn kind(self) -> &'static str {
        match self {
            Component::Quay => "quay",
            Component::Clair => "clair",
            Component::Mirror => "mirror",
        }
    }
}

/// Everything read in one round.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Observation {
    /// Every requested site, by id. A requested site missing here is a bug in the I/O layer.
    pub sites: BTreeMap<SiteId, SiteObservation>,
    /// The coordination Lease on the primary cluster; `None` when it does not exist. Ignored
    /// while the primary is unreachable.
    pub lease: Option<LeaseObservation>,
    /// The `data` of the progress ConfigMap on the primary cluster; `None` when it does not
    /// exist. Ignored while the primary is unreachable.
    pub progress: Option<BTreeMap<String, String>>,
}

/// One site, as far as it could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteObservation {
    /// The cluster could not be reached (or the reads failed); `error` says how.
    Unreachable {
        /// What went wrong, for messages.
        error: String,
    },
    /// The site was read.
    Observed(Box<SiteState>),
}

/// What one site looks like.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SiteState {
    /// The `QuayRegistry`'s status (version, conditions, generations), read once by
    /// [`RegistryStatus::read`]: convergence and availability are its questions, not the
    /// upgrade's.
    pub registry: RegistryStatus,
    /// The quay, clair and mirror components of the spec; a component missing here is treated
    /// as unmanaged and left alone.
    pub components: BTreeMap<Component, ComponentState>,
    /// Whether the `horizontalpodautoscaler` component is managed.
    pub hpa_managed: bool,
    /// The site's Quay Operator.
    pub operator: OperatorObservation,
    /// The Job `<name>-quay-app-upgrade`, if it exists.
    pub migration_job: Option<JobObservation>,
    /// The content hash of the site's config bundle (the rendered `config.yaml`).
    pub config_hash: Option<String>,
    /// The Deployments the operator made for the site: whether they have rolled out, and to
    /// which image (`Available` alone can be a minute old).
    pub rollouts: Vec<Rollout>,
    /// The last request for a fresh status on the `QuayRegistry`
    /// ([`crate::georep::site::STATUS_REQUESTED_ANNOTATION`]), if any was made.
    pub status_request: Option<StatusRequest>,
    /// When the operator last evaluated `Available` (its `lastUpdateTime`), if it has: a
    /// request older than this was answered.
    pub available_evaluated: Option<Timestamp>,
}

/// One component of the spec and its pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ComponentState {
    /// `managed` in the spec. Unmanaged components are not scaled.
    pub managed: bool,
    /// `overrides.replicas`; `None` when absent.
    pub replicas: Option<u32>,
    /// Pods of the component's Deployment that exist and are not terminated (running,
    /// starting or terminating): the upgrade waits until this is 0.
    pub running_pods: u32,
}

/// The site's Quay Operator, as far as the method in use exposes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OperatorObservation {
    /// The `QUAY_VERSION` the operator runs with (Deployment env or the installed CSV's
    /// `quay-version` annotation); `None` when the operator was not found.
    pub quay_version: Option<String>,
    /// Deployment method: the operator Deployment's image.
    pub deployment_image: Option<String>,
    /// OLM: the Subscription's `spec.channel`; `None` when the Subscription was not found.
    pub subscription_channel: Option<String>,
    /// OLM: the Subscription's `spec.source` and `spec.sourceNamespace`, when both are set.
    pub subscription_source: Option<CatalogSourceRef>,
    /// OLM: the Subscription's `installPlanApproval`.
    pub approval: Option<Approval>,
    /// OLM: the Subscription's installed CSV (`status.installedCSV`).
    pub installed_csv: Option<String>,
    /// OLM: InstallPlans in the Subscription's namespace that install the operator.
    pub install_plans: Vec<InstallPlan>,
    /// OLM: what the request's channel offers, from the package's PackageManifest; `None`
    /// when it was not read (the deployment method, or no Subscription).
    pub channel_offer: Option<ChannelOffer>,
    /// OLM: the `status.currentCSV` of every other Subscription in the namespace that is not
    /// installed yet (`installedCSV` differs): OLM resolves a namespace as a whole, so these
    /// go into the Quay CSV's InstallPlan too.
    pub other_pending_csvs: Vec<String>,
}

/// What an OLM channel offers: its head, as the catalog serves it. OLM only ever offers a
/// channel's head (`status.channels[].currentCSV` of the PackageManifest), which moves with
/// every patch release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelOffer {
    /// The Subscription's catalog does not serve its package.
    NoPackage {
        /// The package, `spec.name` of the Subscription.
        package: String,
        /// The catalog, `namespace/name` of the CatalogSource.
        catalog: String,
    },
    /// The package has no such channel.
    NoChannel {
        /// The channel asked for.
        channel: String,
        /// The channels it has.
        channels: Vec<String>,
    },
    /// The channel's head.
    Head {
        /// `currentCSV`, such as `quay-operator.v3.14.8`.
        csv: String,
        /// `currentCSVDesc.version` as served (empty when absent).
        version: String,
    },
}

/// A Subscription's `installPlanApproval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approval {
    /// Every InstallPlan waits for approval (what a controlled upgrade needs).
    Manual,
    /// OLM installs every new CSV at once.
    Automatic,
}

/// An OLM InstallPlan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallPlan {
    /// `metadata.name`.
    pub name: String,
    /// The CSV names in `spec.clusterServiceVersionNames`.
    pub csvs: Vec<String>,
    /// `spec.approved`.
    pub approved: bool,
}

/// The migration Job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobObservation {
    /// `metadata.name`.
    pub name: String,
    /// Where it is.
    pub state: JobState,
}

/// A Job's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    /// Pods are running or about to be retried.
    Active,
    /// It succeeded.
    Succeeded,
    /// It failed for good; `message` is the Job's failure message or the operator's
    /// `MigrationsFailed` condition message.
    Failed {
        /// Why, as the Job or the operator said it.
        message: String,
    },
}

/// The coordination Lease, as this process has watched it.
///
/// Its expiry is measured on the observer's clock, never the writer's: from when the
/// observer first saw the Lease's current renewal (its `renewTime` or `resourceVersion`
/// changing), plus `spec.leaseDurationSeconds`, as client-go's leader election does. A
/// writer whose clock runs behind therefore cannot look expired while it still renews, and
/// one whose clock runs ahead cannot hold the Lease past its duration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeaseObservation {
    /// `spec.holderIdentity`; `None` when released.
    pub holder: Option<String>,
    /// When the current renewal was first observed plus `spec.leaseDurationSeconds`, on the
    /// observer's clock; `None` when the duration is unset (treated as expired).
    pub expires: Option<Timestamp>,
    /// Whether the observer saw the holder renew it (the same holder, a new `renewTime` or
    /// `resourceVersion`): the holder is alive.
    pub renewal_seen: bool,
    /// Whether the writer's own times say it lapsed (`renewTime + leaseDurationSeconds` is
    /// past) or lie in the future by more than [`CLOCK_TOLERANCE`]. Either the holder is
    /// gone or its clock is off: the observer watches it for a whole duration (taking it
    /// over only if it is not renewed meanwhile) instead of refusing at once.
    pub looks_abandoned: bool,
}

/// How far ahead of the observer a writer's `renewTime` may be before its clock counts as
/// off (see [`LeaseObservation::looks_abandoned`]).
pub const CLOCK_TOLERANCE: std::time::Duration = std::time::Duration::from_mins(1);

impl LeaseObservation {
    /// The holder, if the Lease is held by someone and has not expired at `now`.
    pub fn live_holder(&self, now: Timestamp) -> Option<&str> {
        match (&self.holder, self.expires) {
            (Some(holder), Some(expires)) if expires > now => Some(holder),
            _ => None,
        }
    }
}

impl SiteState {
    /// The managed components among quay, clair and mirror.
    pub fn managed_components(&self) -> impl Iterator<Item = (Component, &ComponentState)> {
        self.components
            .iter()
            .filter(|(_, c)| c.managed)
            .map(|(k, c)| (*k, c))
    }

    /// Pods still running for quay, clair and mirror together.
    pub fn running_pods(&self) -> u32 {
        self.components.values().map(|c| c.running_pods).sum()
    }

    /// What keeps the site's Deployments from counting as rolled out, if anything: an
    /// unfinished rollout, or (with `quay_image`) a Quay Deployment on another image.
    pub fn unfinished_rollout(&self, quay_image: Option<&str>) -> Option<String> {
        let unfinished: Vec<String> = self
            .rollouts
            .iter()
            .filter_map(|r| r.unfinished(quay_image))
            .collect();
        (!unfinished.is_empty()).then(|| unfinished.join("; "))
    }

    /// Whether the migration Job exists and is active.
    pub fn is_migrating(&self) -> bool {
        self.migration_job
            .as_ref()
            .is_some_and(|j| j.state == JobState::Active)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_counts_as_held_only_until_it_expires() {
        let lease = LeaseObservation {
            holder: Some("a".into()),
            expires: Some(Timestamp::from_unix_seconds(100)),
            ..LeaseObservation::default()
        };
        assert_eq!(
            lease.live_holder(Timestamp::from_unix_seconds(99)),
            Some("a")
        );
        assert_eq!(lease.live_holder(Timestamp::from_unix_seconds(100)), None);
        let released = LeaseObservation {
            holder: None,
            ..lease
        };
        assert_eq!(released.live_holder(Timestamp::from_unix_seconds(0)), None);
    }

    #[test]
    fn generation_counts_as_observed_when_the_operator_does_not_report_it() {
        let mut site = SiteState::default();
        site.registry.generation = Some(3);
        assert!(site.registry.is_generation_observed());
        site.registry.observed_generation = Some(2);
        assert!(!site.registry.is_generation_observed());
        site.registry.observed_generation = Some(3);
        assert!(site.registry.is_generation_observed());
    }
}
