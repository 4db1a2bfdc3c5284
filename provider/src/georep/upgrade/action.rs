//! [`Action`]: what the I/O layer must do after a [`step`](super::step).
//!
//! Actions are declarative and idempotent: performing one twice, or performing one whose
//! effect is already there, is harmless. The I/O layer performs a decision's actions in order
//! and stops at the first failure (so a failed [`Action::WriteProgress`] is never followed by
//! the scale-down it protects), then observes again. Nothing here performs anything.

use std::collections::BTreeMap;
use std::time::Duration;

use super::StatusRequest;
use super::catalog::CatalogSourceRef;
use super::observation::Component;
use super::progress::Progress;
use super::site::SiteId;
use super::versions::RelatedImages;

/// One thing to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Create or take over the Lease on the primary cluster for `holder`, for `duration`.
    /// Must be a compare-and-swap on the observed Lease (resourceVersion), so two runs cannot
    /// both win it.
    AcquireLease {
        /// The holder identity to write.
        holder: String,
        /// `spec.leaseDurationSeconds`.
        duration: Duration,
    },
    /// Set the Lease's `renewTime` to now; the Lease is held by `holder`.
    RenewLease {
        /// The current holder (this run).
        holder: String,
        /// `spec.leaseDurationSeconds`.
        duration: Duration,
    },
    /// Write this record to the progress ConfigMap (create or replace) with
    /// [`Progress::to_configmap_data`].
    WriteProgress(Box<Progress>),
    /// On `site`'s `QuayRegistry`: set `horizontalpodautoscaler` to `managed: false` and
    /// `overrides.replicas: 0` on each of `components` (keeping every other override).
    ScaleDown {
        /// The site to scale down.
        site: SiteId,
        /// The managed components among quay, clair and mirror.
        components: Vec<Component>,
    },
    /// Upgrade the operator of `site`.
    UpgradeOperator {
        /// The site whose operator changes.
        site: SiteId,
        /// What to change.
        how: OperatorUpgrade,
    },
    /// On `site`'s `QuayRegistry`: set `overrides.replicas` of each component to the value
    /// given (`None`: remove the replicas field) and `horizontalpodautoscaler` to
    /// `managed: hpa_managed`.
    Restore {
        /// The site to restore.
        site: SiteId,
        /// The original replicas per component.
        replicas: BTreeMap<Component, Option<u32>>,
        /// The original HPA setting.
        hpa_managed: bool,
    },
    /// On `site`'s `QuayRegistry`: set the annotations of `request`
    /// ([`StatusRequest::annotations`]), so that the operator evaluates its status
    /// (`Available`) again at once instead of within the minute.
    RequestStatus {
        /// The site whose status is stale.
        site: SiteId,
        /// When, and its number in its series.
        request: StatusRequest,
    },
    /// Release the Lease held by `holder` (clear `holderIdentity`), if it still holds it.
    ReleaseLease {
        /// The holder releasing it (this run).
        holder: String,
    },
    /// Delete the progress ConfigMap.
    ClearProgress,
    /// Nothing to do but wait a little and observe again.
    Wait {
        /// A sentence a person reads, saying what is awaited.
        what: String,
        /// The site awaited, when there is one.
        site: Option<SiteId>,
    },
}

/// How to upgrade one site's operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorUpgrade {
    /// OLM: set the Subscription's `spec.channel`, so OLM offers the target CSV.
    SetSubscriptionChannel {
        /// Namespace of the Subscription.
        namespace: String,
        /// Name of the Subscription.
        subscription: String,
        /// The channel to set.
        channel: String,
        /// The CatalogSource to set with it (`spec.source`, `spec.sourceNamespace`); `None`
        /// keeps the Subscription's own.
        catalog: Option<CatalogSourceRef>,
    },
    /// OLM: set `spec.approved: true` on exactly this InstallPlan (it installs the target CSV).
    ApproveInstallPlan {
        /// Namespace of the InstallPlan.
        namespace: String,
        /// Name of the InstallPlan.
        name: String,
        /// The target CSV it installs, for logs.
        csv: String,
    },
    /// Deployment: set the operator container's image, its `QUAY_VERSION` (the env var's
    /// value, or the pod template annotation its `valueFrom.fieldRef` names, as a CSV-built
    /// Deployment has it) and every `RELATED_IMAGE_COMPONENT_*` env var: the operator deploys
    /// Quay, Clair and the databases from those, not from its own version.
    PatchDeployment {
        /// Namespace of the Deployment.
        namespace: String,
        /// Name of the Deployment.
        name: String,
        /// The target operator image.
        image: String,
        /// The target version, for `QUAY_VERSION`.
        quay_version: String,
        /// The target's component images by env var name.
        related_images: RelatedImages,
    },
}

impl Action {
    /// The site the action changes or waits for, if any.
    pub fn site(&self) -> Option<&SiteId> {
        match self {
            Action::ScaleDown { site, .. }
            | Action::UpgradeOperator { site, .. }
            | Action::Restore { site, .. }
            | Action::RequestStatus { site, .. } => Some(site),
            Action::Wait { site, .. } => site.as_ref(),
            Action::AcquireLease { .. }
            | Action::RenewLease { .. }
            | Action::WriteProgress(_)
            | Action::ReleaseLease { .. }
            | Action::ClearProgress => None,
        }
    }

    /// Whether the action changes something (everything but [`Action::Wait`]).
    pub fn is_change(&self) -> bool {
        !matches!(self, Action::Wait { .. })
    }
}
