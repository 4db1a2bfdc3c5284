//! [`step`]: one round of the upgrade state machine: an [`Observation`] in, a [`Decision`] out.
//!
//! Without a progress record, `step` runs preflight and, once the Lease is held, records the
//! originals. With one, it checks the record belongs to this request, holds the Lease, and
//! hands over to the handler of the recorded [`Phase`]. A handler either stays in its phase
//! (actions to perform, or a wait) or advances: it returns the next record, which becomes an
//! [`Action::WriteProgress`]. One phase advances per round, so every change of phase is on the
//! cluster before anything of the next phase happens. A final guard re-checks the safety
//! invariants of the module docs against the actions about to be returned. Preflight is in
//! `preflight.rs`, the phase handlers in `phases.rs`, the errors in `error.rs`.

use std::collections::BTreeSet;

use super::action::{Action, OperatorUpgrade};
use super::error::UpgradeError;
use super::names::LEASE_NAME;
use super::observation::{Observation, SiteObservation, SiteState};
use super::progress::{Phase, Progress};
use super::request::UpgradeRequest;
use super::site::SiteId;
use super::time::Timestamp;
use super::versions::QuayVersion;
use crate::georep::site::describe_condition;

/// What to do after one round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The progress record once `actions` are performed: the one last written, the one
    /// observed, or `None` (no record, or the primary could not be read).
    pub progress: Option<Progress>,
    /// What to perform, in order, stopping at the first failure.
    pub actions: Vec<Action>,
    /// Whether the upgrade is complete once `actions` are performed: stop looping.
    pub done: bool,
    /// One sentence for logs and the resource's `status`.
    pub status: String,
}

/// One round: decides what to do from what was observed.
///
/// The I/O layer loops: observe, `step`, perform the actions in order (stopping at the first
/// failure), wait until something it watches changes or a little while passes (not at all
/// after a written progress record) unless `done`, repeat; it gives up when its Terraform
/// timeout passes, reporting the last [`Decision::status`].
///
/// # Errors
///
/// [`UpgradeError`] when the upgrade must stop: a preflight check failed (nothing was
/// changed), another holder has the Lease, the progress record is corrupt or belongs to
/// another request, a migration failed, or a site changed outside the run. Each message says
/// what to do.
pub fn step(
    request: &UpgradeRequest,
    observation: &Observation,
    now: Timestamp,
) -> Result<Decision, UpgradeError> {
    for site in request.sites() {
        if !observation.sites.contains_key(site) {
            return Err(UpgradeError::SiteNotObserved { site: site.clone() });
        }
    }
    let ctx = Ctx {
        request,
        observation,
        now,
    };
    if let Err(wait) = ctx.state(request.primary()) {
        return Ok(Decision {
            progress: None,
            status: describe(&wait),
            actions: vec![wait],
            done: false,
        });
    }
    let decision = match &observation.progress {
        None => ctx.preflight()?,
        Some(data) => {
            let progress = Progress::from_configmap_data(data)
                .map_err(|source| UpgradeError::CorruptProgress { source })?;
            ctx.resume(progress)?
        }
    };
    ctx.guard(&decision.actions, decision.progress.as_ref())?;
    Ok(decision)
}

/// What a phase handler decided.
pub(super) enum Outcome {
    /// Stay in the phase and perform these actions (possibly only waits).
    Stay(Vec<Action>),
    /// Move on: write this record.
    Advance(Progress),
}

pub(super) struct Ctx<'a> {
    pub(super) request: &'a UpgradeRequest,
    pub(super) observation: &'a Observation,
    pub(super) now: Timestamp,
}

impl Ctx<'_> {
    /// The site's state, or a wait for its cluster.
    #[allow(
        clippy::result_large_err,
        reason = "the error is the wait the caller returns; boxing it buys nothing here"
    )]
    pub(super) fn state(&self, site: &SiteId) -> Result<&SiteState, Action> {
        match self.observation.sites.get(site) {
            Some(SiteObservation::Observed(state)) => Ok(state),
            Some(SiteObservation::Unreachable { error }) => Err(Action::Wait {
                what: format!(
                    "waiting for cluster {} of {site} to become reachable ({error})",
                    site.cluster()
                ),
                site: Some(site.clone()),
            }),
            None => Err(Action::Wait {
                what: format!("waiting for {site} to be observed"),
                site: Some(site.clone()),
            }),
        }
    }

    pub(super) fn version(
        site: &SiteId,
        state: &SiteState,
    ) -> Result<Option<QuayVersion>, UpgradeError> {
        state
            .registry
            .current_version
            .as_deref()
            .map(|text| {
                text.parse()
                    .map_err(|source| UpgradeError::VersionUnparsable {
                        site: site.clone(),
                        version: text.to_owned(),
                        source,
                    })
            })
            .transpose()
    }

    pub(super) fn operator_version(state: &SiteState) -> Option<QuayVersion> {
        state.operator.quay_version.as_deref()?.parse().ok()
    }

    /// A live Lease of another holder: [`UpgradeError::LeaseHeld`], or a wait while a Lease
    /// that looks abandoned (or written on a skewed clock) is watched for a whole duration
    /// without being renewed; `None` when the Lease is free or ours.
    pub(super) fn foreign_lease(&self) -> Result<Option<Action>, UpgradeError> {
        let Some(lease) = &self.observation.lease else {
            return Ok(None);
        };
        match lease.live_holder(self.now) {
            Some(holder) if holder != self.request.holder() => {
                let expires = lease.expires.unwrap_or(self.now);
                if lease.looks_abandoned && !lease.renewal_seen {
                    return Ok(Some(Action::Wait {
                        what: format!(
                            "Lease {LEASE_NAME} is held by {holder}, whose own times say it \
                             lapsed (or whose clock is off): taking it over at {expires} if \
                             it is not renewed before"
                        ),
                        site: Some(self.request.primary().clone()),
                    }));
                }
                Err(UpgradeError::LeaseHeld {
                    holder: holder.to_owned(),
                    expires,
                })
            }
            _ => Ok(None),
        }
    }

    /// A decision that only waits.
    pub(super) fn waiting(wait: Action, progress: Option<Progress>) -> Decision {
        Decision {
            status: describe(&wait),
            progress,
            actions: vec![wait],
            done: false,
        }
    }

    pub(super) fn lease_is_ours(&self) -> bool {
        self.observation
            .lease
            .as_ref()
            .and_then(|l| l.live_holder(self.now))
            .is_some_and(|h| h == self.request.holder())
    }

    /// A renewal when less than half the Lease duration is left.
    pub(super) fn renewal(&self) -> Option<Action> {
        let expires = self.observation.lease.as_ref()?.expires?;
        let half = self.request.lease_duration() / 2;
        (self.lease_is_ours() && expires <= self.now.plus(half)).then(|| Action::RenewLease {
            holder: self.request.holder().to_owned(),
            duration: self.request.lease_duration(),
        })
    }

    pub(super) fn acquire(&self) -> Action {
        Action::AcquireLease {
            holder: self.request.holder().to_owned(),
            duration: self.request.lease_duration(),
        }
    }
    // ---- resume ----------------------------------------------------------------------

    fn resume(&self, progress: Progress) -> Result<Decision, UpgradeError> {
        let request = self.request;
        // The recorded target is what the channel offered when the upgrade started: it is
        // kept, even if the channel has moved on since, as long as the request still accepts it.
        if !request.target().accepts(progress.target) {
            return Err(UpgradeError::ProgressForOtherTarget {
                from: progress.from,
                stored: progress.target,
                requested: request.target(),
                phase: progress.phase,
            });
        }
        let progress = match self.claim(progress)? {
            Ok(progress) => progress,
            Err(decision) => return Ok(*decision),
        };
        self.check_versions(&progress)?;
        let mut actions: Vec<Action> = self.renewal().into_iter().collect();
        if progress.phase == Phase::Release {
            actions.push(Action::ReleaseLease {
                holder: request.holder().to_owned(),
            });
            actions.push(Action::ClearProgress);
            return Ok(Decision {
                progress: None,
                actions,
                done: true,
                status: format!(
                    "upgraded every site from {} to {}; released the Lease and cleared the \
                     progress record",
                    progress.from, progress.target
                ),
            });
        }
        let outcome = match progress.phase {
            Phase::ScaleDownSecondaries => self.scale_down(&progress),
            Phase::UpgradePrimaryOperator => self.upgrade_primary(&progress)?,
            Phase::WaitPrimaryMigrated => self.wait_primary(&progress)?,
            Phase::UpgradeSecondaryOperators => self.upgrade_secondaries(&progress)?,
            Phase::RestoreSecondaries => self.restore(&progress)?,
            Phase::Release => unreachable!("handled above"),
        };
        Ok(match outcome {
            Outcome::Stay(mut more) => {
                // Every action and wait, so that a timeout's last status names each site
                // still holding the upgrade up, not only the first.
                let status = if more.is_empty() {
                    format!("phase {}", progress.phase)
                } else {
                    more.iter().map(describe).collect::<Vec<_>>().join("; ")
                };
                actions.append(&mut more);
                Decision {
                    progress: Some(progress),
                    actions,
                    done: false,
                    status,
                }
            }
            Outcome::Advance(next) => {
                let reached = next
                    .history
                    .last()
                    .map_or("phase complete", |m| m.milestone.describe());
                let status = format!("{reached}; next: {}", next.phase);
                actions.push(Action::WriteProgress(Box::new(next.clone())));
                Decision {
                    progress: Some(next),
                    actions,
                    done: false,
                    status,
                }
            }
        })
    }

    /// Checks that the record belongs to this request and that this run holds the Lease and
    /// the record; `Err` carries the decision that gets there first.
    fn claim(&self, progress: Progress) -> Result<Result<Progress, Box<Decision>>, UpgradeError> {
        let request = self.request;
        let stored: BTreeSet<&SiteId> = progress.secondaries.iter().map(|s| &s.site).collect();
        let requested: BTreeSet<&SiteId> = request.secondaries().collect();
        if progress.primary != *request.primary() || stored != requested {
            return Err(UpgradeError::ProgressForOtherSites {
                stored_primary: progress.primary.clone(),
                stored_secondaries: progress
                    .secondaries
                    .iter()
                    .map(|s| s.site.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        if let Some(wait) = self.foreign_lease()? {
            return Ok(Err(Box::new(Self::waiting(wait, Some(progress)))));
        }
        if !self.lease_is_ours() {
            if progress.phase == Phase::Release {
                return Ok(Err(Box::new(Decision {
                    progress: None,
                    actions: vec![Action::ClearProgress],
                    done: true,
                    status: format!(
                        "upgrade to {} complete; clearing the progress record",
                        progress.target
                    ),
                })));
            }
            return Ok(Err(Box::new(Decision {
                status: format!(
                    "resuming the upgrade to {} at phase {}; taking Lease {LEASE_NAME}",
                    progress.target, progress.phase
                ),
                progress: Some(progress),
                actions: vec![self.acquire()],
                done: false,
            })));
        }
        if progress.holder != request.holder() {
            let previous = progress.holder.clone();
            let mut next = progress;
            request.holder().clone_into(&mut next.holder);
            return Ok(Err(Box::new(Decision {
                status: format!("taking over the upgrade recorded by {previous}"),
                actions: vec![Action::WriteProgress(Box::new(next.clone()))],
                progress: Some(next),
                done: false,
            })));
        }
        Ok(Ok(progress))
    }

    /// Every reachable site is on the recorded from- or target version.
    fn check_versions(&self, progress: &Progress) -> Result<(), UpgradeError> {
        for site in self.request.sites() {
            let Ok(state) = self.state(site) else {
                continue;
            };
            let version = Self::version(site, state)?;
            if version != Some(progress.from) && version != Some(progress.target) {
                return Err(UpgradeError::UnexpectedVersion {
                    site: site.clone(),
                    expected: format!("{} or {}", progress.from, progress.target),
                    found: version.map_or_else(|| "none".to_owned(), |v| v.to_string()),
                });
            }
        }
        Ok(())
    }

    // ---- guard -----------------------------------------------------------------------

    /// Re-checks the safety invariants against the actions about to be returned.
    fn guard(&self, actions: &[Action], progress: Option<&Progress>) -> Result<(), UpgradeError> {
        let Some(target) = progress.map(Progress::target) else {
            return match actions
                .iter()
                .find(|a| matches!(a, Action::UpgradeOperator { .. } | Action::Restore { .. }))
            {
                Some(action) => Err(UpgradeError::SafetyGuard {
                    action: format!("{action:?}"),
                    reason: "no upgrade is recorded".to_owned(),
                }),
                None => Ok(()),
            };
        };
        let primary = self.request.primary();
        let refuse = |action: &Action, reason: String| {
            Err(UpgradeError::SafetyGuard {
                action: format!("{action:?}"),
                reason,
            })
        };
        for action in actions {
            match action {
                Action::UpgradeOperator { site, .. } => {
                    if let Some(busy) = self
                        .request
                        .sites()
                        .iter()
                        .find(|s| self.state(s).is_ok_and(SiteState::is_migrating))
                    {
                        return refuse(action, format!("a migration Job is running on {busy}"));
                    }
                    let primary_version = self
                        .state(primary)
                        .ok()
                        .and_then(|s| Self::version(primary, s).ok().flatten());
                    if site != primary && primary_version != Some(target) {
                        return refuse(action, format!("{primary} has not migrated to {target}"));
                    }
                    for other in self.request.secondaries() {
                        let idle = self.state(other).is_ok_and(|s| s.running_pods() == 0);
                        if !idle {
                            return refuse(action, format!("{other} may still run pods"));
                        }
                    }
                }
                Action::Restore { site, .. } => {
                    let version = self
                        .state(site)
                        .ok()
                        .and_then(|s| Self::version(site, s).ok().flatten());
                    if version != Some(target) {
                        return refuse(action, format!("{site} does not run {target}"));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// `Available is False (ComponentNotReady: ...)`, or that the condition is missing.
pub(super) fn condition_text(state: &SiteState, kind: &str) -> String {
    describe_condition(&state.registry.conditions, kind)
}

/// A status sentence for one action.
fn describe(action: &Action) -> String {
    match action {
        Action::Wait { what, .. } => what.clone(),
        Action::AcquireLease { holder, .. } => format!("taking Lease {LEASE_NAME} as {holder}"),
        Action::RenewLease { .. } => format!("renewing Lease {LEASE_NAME}"),
        Action::WriteProgress(p) => format!("recording phase {}", p.phase),
        Action::ScaleDown { site, .. } => {
            format!("scaling quay, clair and mirror of {site} to 0 (HPA unmanaged)")
        }
        Action::UpgradeOperator { site, how } => match how {
            OperatorUpgrade::SetSubscriptionChannel { channel, .. } => {
                format!("switching the operator Subscription of {site} to channel {channel}")
            }
            OperatorUpgrade::ApproveInstallPlan { name, csv, .. } => {
                format!("approving InstallPlan {name} ({csv}) on {site}")
            }
            OperatorUpgrade::PatchDeployment { image, .. } => {
                format!("setting the operator image of {site} to {image}")
            }
        },
        Action::Restore { site, .. } => {
            format!("restoring the original replicas and HPA setting of {site}")
        }
        Action::RequestStatus { site, .. } => {
            format!("asking the operator of {site} to evaluate its status again")
        }
        Action::ReleaseLease { .. } => format!("releasing Lease {LEASE_NAME}"),
        Action::ClearProgress => "clearing the progress record".to_owned(),
    }
}
