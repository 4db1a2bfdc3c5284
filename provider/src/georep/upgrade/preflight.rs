//! Preflight: the checks before anything changes, then the Lease and the recorded originals.
//!
//! Part of [`step`](super::step); see the module docs of `upgrade` for the rules. Every check
//! that fails is an [`UpgradeError`] and the decision carries no change.

use super::action::Action;
use super::channel::quay_plan;
use super::error::UpgradeError;
use super::names::{LEASE_NAME, PROGRESS_CONFIG_MAP};
use super::observation::{Approval, JobState, SiteObservation, SiteState};
use super::progress::{Milestone, Originals, Phase, Progress, SecondaryRecord};
use super::request::OperatorMethod;
use super::site::SiteId;
use super::step::{Ctx, Decision, condition_text};
use super::target::csv_name;
use super::versions::{QuayVersion, check_hop};
use crate::georep::site::Gap;

impl Ctx<'_> {
    /// Preflight, then the Lease, then the recorded originals: one of them per round.
    pub(super) fn preflight(&self) -> Result<Decision, UpgradeError> {
        let mut states = Vec::new();
        for site in self.request.sites() {
            match self.observation.sites.get(site) {
                Some(SiteObservation::Observed(state)) => states.push((site, &**state)),
                Some(SiteObservation::Unreachable { error }) => {
                    return Err(UpgradeError::SiteUnreachable {
                        site: site.clone(),
                        error: error.clone(),
                    });
                }
                None => return Err(UpgradeError::SiteNotObserved { site: site.clone() }),
            }
        }
        if let Some(wait) = self.foreign_lease()? {
            return Ok(Self::waiting(wait, None));
        }
        let mut versions = Vec::new();
        for (site, state) in &states {
            let version =
                Self::version(site, state)?.ok_or_else(|| UpgradeError::NotConverged {
                    site: (*site).clone(),
                    reason: "it reports no currentVersion yet".to_owned(),
                })?;
            versions.push(version);
        }
        // An exact target every site already runs is done without asking the channel (whose
        // head may have moved on since); a minor is resolved first.
        let at = |target: QuayVersion| versions.iter().all(|v| *v == target);
        let target = match self.request.target().exact() {
            Some(exact) if at(exact) => exact,
            _ => self.resolve_target(&states)?,
        };
        if at(target) {
            let mut actions = Vec::new();
            if self.lease_is_ours() {
                actions.push(Action::ReleaseLease {
                    holder: self.request.holder().to_owned(),
                });
            }
            return Ok(Decision {
                progress: None,
                actions,
                done: true,
                status: format!("every site runs Quay {target}"),
            });
        }
        let from = self.check_sites(&states, &versions, target)?;
        if !self.lease_is_ours() {
            let primary = self.request.primary();
            return Ok(Decision {
                progress: None,
                actions: vec![self.acquire()],
                done: false,
                status: format!(
                    "preflight passed ({from} to {target}); taking Lease {LEASE_NAME} in \
                     namespace {} on cluster {}",
                    primary.namespace(),
                    primary.cluster()
                ),
            });
        }
        let secondaries = states
            .iter()
            .filter(|(site, _)| *site != self.request.primary())
            .map(|(site, state)| SecondaryRecord {
                site: (*site).clone(),
                originals: Originals {
                    replicas: state
                        .managed_components()
                        .map(|(c, s)| (c, s.replicas))
                        .collect(),
                    hpa_managed: state.hpa_managed,
                },
            })
            .collect();
        let progress = Progress {
            phase: Phase::ScaleDownSecondaries,
            from,
            target,
            primary: self.request.primary().clone(),
            holder: self.request.holder().to_owned(),
            secondaries,
            started: self.now,
            history: Vec::new(),
        }
        .advanced(
            Phase::ScaleDownSecondaries,
            Milestone::OriginalsRecorded,
            self.now,
        );
        let mut actions: Vec<Action> = self.renewal().into_iter().collect();
        actions.push(Action::WriteProgress(Box::new(progress.clone())));
        Ok(Decision {
            status: format!(
                "recorded the original replicas and HPA settings of {} secondaries in \
                 ConfigMap {PROGRESS_CONFIG_MAP}",
                progress.secondaries.len()
            ),
            progress: Some(progress),
            actions,
            done: false,
        })
    }

    /// The checks on the sites themselves; returns the one version they all run.
    fn check_sites(
        &self,
        states: &[(&SiteId, &SiteState)],
        versions: &[QuayVersion],
        target: QuayVersion,
    ) -> Result<QuayVersion, UpgradeError> {
        for (site, state) in states {
            check_converged(state).map_err(|reason| UpgradeError::NotConverged {
                site: (*site).clone(),
                reason,
            })?;
        }
        let from = versions[0];
        if versions.iter().any(|v| *v != from) {
            return Err(UpgradeError::VersionMismatch {
                versions: list(states.iter().map(|(s, _)| *s).zip(versions)),
            });
        }
        let hashes: Vec<String> = states
            .iter()
            .map(|(_, s)| s.config_hash.clone().unwrap_or_else(|| "none".to_owned()))
            .collect();
        if states.iter().any(|(_, s)| s.config_hash.is_none())
            || hashes.iter().any(|h| *h != hashes[0])
        {
            return Err(UpgradeError::ConfigHashMismatch {
                hashes: list(states.iter().map(|(s, _)| *s).zip(&hashes)),
            });
        }
        check_hop(from, target).map_err(|source| UpgradeError::HopRefused {
            from,
            to: target,
            source,
        })?;
        for (site, state) in states {
            self.check_operator(site, state)?;
            if matches!(self.request.operator(), OperatorMethod::Olm { .. }) {
                quay_plan(site, state, &csv_name(target))?;
                if !state.operator.other_pending_csvs.is_empty() {
                    return Err(UpgradeError::OtherOperatorsPending {
                        site: (*site).clone(),
                        csvs: state.operator.other_pending_csvs.join(", "),
                    });
                }
            }
            if *site != self.request.primary()
                && !state.hpa_managed
                && let Some((component, _)) = state
                    .managed_components()
                    .find(|(_, c)| c.replicas.is_none())
            {
                return Err(UpgradeError::UnrestorableReplicas {
                    site: (*site).clone(),
                    component: component.kind(),
                });
            }
        }
        Ok(from)
    }

    pub(super) fn check_operator(
        &self,
        site: &SiteId,
        state: &SiteState,
    ) -> Result<(), UpgradeError> {
        match self.request.operator() {
            OperatorMethod::Olm {
                namespace,
                subscription,
                ..
            } => {
                let what = format!("Subscription {namespace}/{subscription}");
                if state.operator.subscription_channel.is_none() {
                    return Err(UpgradeError::OperatorNotFound {
                        site: site.clone(),
                        what,
                    });
                }
                if state.operator.approval == Some(Approval::Automatic) {
                    return Err(UpgradeError::AutomaticApproval {
                        site: site.clone(),
                        subscription: format!("{namespace}/{subscription}"),
                    });
                }
            }
            OperatorMethod::Deployment {
                namespace, name, ..
            } => {
                if state.operator.deployment_image.is_none() {
                    return Err(UpgradeError::OperatorNotFound {
                        site: site.clone(),
                        what: format!("operator Deployment {namespace}/{name}"),
                    });
                }
            }
        }
        Ok(())
    }
}

/// `Ok` when the site is converged (reference §1.5, decided by
/// [`RegistryStatus::gap`](crate::georep::site::RegistryStatus::gap)) and has nothing left to
/// migrate, else why not. The upgrade adds its own two rules: no migration Job running or
/// failed, and the operator's `QUAY_VERSION` equal to `currentVersion`.
fn check_converged(state: &SiteState) -> Result<(), String> {
    if let Some(job) = &state.migration_job {
        match &job.state {
            JobState::Active => return Err(format!("its migration Job {} is running", job.name)),
            JobState::Failed { message } => {
                return Err(format!("its migration Job {} failed: {message}", job.name));
            }
            JobState::Succeeded => {}
        }
    }
    if let Some(gap) = state.registry.gap() {
        return Err(match gap {
            Gap::RolloutBlocked(c) | Gap::MigrationFailed(c) => condition_text(state, &c.kind),
            Gap::NotTrue(kind) => condition_text(state, kind),
            Gap::GenerationNotObserved {
                generation,
                observed,
            } => format!(
                "the operator has not yet processed generation {generation} (observed {observed})"
            ),
            Gap::NoVersion => "it reports no currentVersion yet".to_owned(),
        });
    }
    let operator = state.operator.quay_version.as_deref().unwrap_or("unknown");
    let current = state.registry.current_version.as_deref().unwrap_or("none");
    let same = match (
        operator.parse::<QuayVersion>(),
        current.parse::<QuayVersion>(),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if !same {
        return Err(format!(
            "its operator runs Quay {operator} but currentVersion is {current}, so a migration \
             is pending"
        ));
    }
    Ok(())
}

/// `site: value, site: value`.
fn list<'a, T: std::fmt::Display + 'a>(items: impl Iterator<Item = (&'a SiteId, &'a T)>) -> String {
    items
        .map(|(site, value)| format!("{site}: {value}"))
        .collect::<Vec<_>>()
        .join(", ")
}
