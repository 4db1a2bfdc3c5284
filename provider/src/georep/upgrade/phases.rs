//! The phase handlers after preflight: scale down, upgrade the primary, wait for its
//! migration, upgrade the secondaries, restore them.
//!
//! Part of [`step`](super::step). Each handler reads the observation and the recorded
//! [`Progress`] and returns an [`Outcome`]: stay (with actions or waits) or advance to the
//! next phase. Handlers never skip the checks of an earlier phase that still matter: every
//! phase before restore first keeps the secondaries at 0.

use std::fmt::Write as _;

use super::action::{Action, OperatorUpgrade};
use super::channel::quay_plan;
use super::error::UpgradeError;
use super::observation::{Component, JobState, SiteState};
use super::progress::{Milestone, Originals, Phase, Progress};
use super::request::OperatorMethod;
use super::site::SiteId;
use super::step::{Ctx, Outcome, condition_text};
use super::target::csv_name;
use super::versions::{RELATED_IMAGE_QUAY, catalogue};
use crate::georep::site::StatusRequest;

impl Ctx<'_> {
    /// The request for a fresh status of `site`, whose `Available` is the one thing the
    /// upgrade still waits for, when one is due ([`StatusRequest::due`]).
    ///
    /// Why: the operator computes `Available` when the `QuayRegistry` changes and otherwise
    /// once a minute, so the value read after a restore or a migration was computed when the
    /// pods were not back yet, and would hold the upgrade up to a minute after they are.
    fn status_request(&self, site: &SiteId, state: &SiteState) -> Option<Action> {
        StatusRequest::due(state.status_request, state.available_evaluated, self.now).map(
            |request| Action::RequestStatus {
                site: site.clone(),
                request,
            },
        )
    }

    /// Scale-downs and waits that keep every secondary at 0 pods; `None` when they all are.
    pub(super) fn keep_secondaries_down(&self, progress: &Progress) -> Option<Vec<Action>> {
        let mut actions = Vec::new();
        let mut waits = Vec::new();
        for record in &progress.secondaries {
            let site = &record.site;
            let state = match self.state(site) {
                Ok(state) => state,
                Err(wait) => {
                    waits.push(wait);
                    continue;
                }
            };
            let components: Vec<Component> = record.originals.replicas.keys().copied().collect();
            let scaled = !state.hpa_managed
                && components.iter().all(|c| {
                    state
                        .components
                        .get(c)
                        .is_some_and(|s| s.replicas == Some(0))
                });
            if !scaled {
                actions.push(Action::ScaleDown {
                    site: site.clone(),
                    components,
                });
            } else if state.running_pods() > 0 {
                waits.push(Action::Wait {
                    what: format!(
                        "waiting until the quay, clair and mirror pods of {site} are gone \
                         ({} still running)",
                        state.running_pods()
                    ),
                    site: Some(site.clone()),
                });
            }
        }
        if actions.is_empty() && waits.is_empty() {
            None
        } else {
            actions.append(&mut waits);
            Some(actions)
        }
    }

    pub(super) fn scale_down(&self, progress: &Progress) -> Outcome {
        match self.keep_secondaries_down(progress) {
            Some(actions) => Outcome::Stay(actions),
            None => Outcome::Advance(progress.advanced(
                Phase::UpgradePrimaryOperator,
                Milestone::SecondariesScaledDown,
                self.now,
            )),
        }
    }

    /// A wait for a migration Job running on any site other than `except`.
    fn other_migration(&self, except: &SiteId) -> Option<Action> {
        self.request
            .sites()
            .iter()
            .filter(|s| *s != except)
            .find(|s| self.state(s).is_ok_and(SiteState::is_migrating))
            .map(|busy| Action::Wait {
                what: format!(
                    "waiting for the migration Job {} on {busy} to finish before upgrading \
                     the operator of {except}",
                    busy.migration_job_name()
                ),
                site: Some(busy.clone()),
            })
    }

    pub(super) fn upgrade_primary(&self, progress: &Progress) -> Result<Outcome, UpgradeError> {
        if let Some(actions) = self.keep_secondaries_down(progress) {
            return Ok(Outcome::Stay(actions));
        }
        let primary = self.request.primary();
        let state = match self.state(primary) {
            Ok(state) => state,
            Err(wait) => return Ok(Outcome::Stay(vec![wait])),
        };
        if Self::operator_version(state) == Some(progress.target) {
            return Ok(Outcome::Advance(progress.advanced(
                Phase::WaitPrimaryMigrated,
                Milestone::PrimaryOperatorUpgraded,
                self.now,
            )));
        }
        if let Some(wait) = self.other_migration(primary) {
            return Ok(Outcome::Stay(vec![wait]));
        }
        Ok(Outcome::Stay(vec![
            self.operator_action(primary, state, progress)?,
        ]))
    }

    /// The next operator change on `site`, or a wait for OLM. The version is the recorded
    /// one (what the channel offered at preflight), never re-resolved.
    fn operator_action(
        &self,
        site: &SiteId,
        state: &SiteState,
        progress: &Progress,
    ) -> Result<Action, UpgradeError> {
        let target = progress.target;
        let upgrade = |how| Action::UpgradeOperator {
            site: site.clone(),
            how,
        };
        match self.request.operator() {
            OperatorMethod::Olm {
                namespace,
                subscription,
                channel,
                catalog,
            } => {
                let csv = csv_name(target);
                let other_catalog = catalog
                    .as_ref()
                    .is_some_and(|c| state.operator.subscription_source.as_ref() != Some(c));
                if state.operator.subscription_channel.as_deref() != Some(channel) || other_catalog
                {
                    return Ok(upgrade(OperatorUpgrade::SetSubscriptionChannel {
                        namespace: namespace.clone(),
                        subscription: subscription.clone(),
                        channel: channel.clone(),
                        catalog: catalog.clone(),
                    }));
                }
                Ok(match quay_plan(site, state, &csv)? {
                    Some(plan) if !plan.approved => upgrade(OperatorUpgrade::ApproveInstallPlan {
                        namespace: namespace.clone(),
                        name: plan.name.clone(),
                        csv,
                    }),
                    Some(plan) => Action::Wait {
                        what: format!(
                            "InstallPlan {} is approved; waiting for OLM to install {csv} on {site}",
                            plan.name
                        ),
                        site: Some(site.clone()),
                    },
                    None => {
                        let mut what = format!(
                            "waiting for OLM to offer {csv} in channel {channel} on {site}"
                        );
                        if !state.operator.install_plans.is_empty() {
                            let seen: Vec<String> = state
                                .operator
                                .install_plans
                                .iter()
                                .map(|p| format!("{} ({})", p.name, p.csvs.join(", ")))
                                .collect();
                            let _ = write!(what, "; InstallPlans seen: {}", seen.join("; "));
                        }
                        Action::Wait {
                            what,
                            site: Some(site.clone()),
                        }
                    }
                })
            }
            OperatorMethod::Deployment {
                namespace,
                name,
                image,
            } => Ok(upgrade(OperatorUpgrade::PatchDeployment {
                namespace: namespace.clone(),
                name: name.clone(),
                image: image.clone(),
                quay_version: target.to_string(),
                // Validation refuses a deployment target whose images are unknown.
                related_images: catalogue()
                    .release(target)
                    .ok()
                    .and_then(|r| r.related_images().cloned())
                    .unwrap_or_default(),
            })),
        }
    }

    /// Waits for `site`'s migration to `target`, or the error of a failed one; `None` once
    /// `site` reports `currentVersion == target` with no Job running.
    fn migration_wait(
        site: &SiteId,
        state: &SiteState,
        progress: &Progress,
    ) -> Result<Option<Action>, UpgradeError> {
        let version = Self::version(site, state)?;
        let job = site.migration_job_name();
        let wait = |what: String| {
            Ok(Some(Action::Wait {
                what,
                site: Some(site.clone()),
            }))
        };
        match &state.migration_job {
            Some(j) if j.state == JobState::Active => {
                return wait(format!(
                    "waiting for the migration Job {job} on {site} ({} → {})",
                    progress.from, progress.target
                ));
            }
            Some(j) if version != Some(progress.target) => {
                if let JobState::Failed { message } = &j.state {
                    return Err(UpgradeError::MigrationFailed {
                        site: site.clone(),
                        from: progress.from,
                        to: progress.target,
                        message: message.clone(),
                    });
                }
            }
            _ => {}
        }
        if version == Some(progress.target) {
            Ok(None)
        } else {
            wait(format!(
                "waiting for the operator on {site} to migrate to {} (Job {job}; currentVersion \
                 is still {})",
                progress.target, progress.from
            ))
        }
    }

    pub(super) fn wait_primary(&self, progress: &Progress) -> Result<Outcome, UpgradeError> {
        if let Some(actions) = self.keep_secondaries_down(progress) {
            return Ok(Outcome::Stay(actions));
        }
        let primary = self.request.primary();
        let state = match self.state(primary) {
            Ok(state) => state,
            Err(wait) => return Ok(Outcome::Stay(vec![wait])),
        };
        if let Some(wait) = Self::migration_wait(primary, state, progress)? {
            return Ok(Outcome::Stay(vec![wait]));
        }
        let unfinished = state.unfinished_rollout(self.quay_image(progress).as_deref());
        if !state.registry.is_available() {
            // Rolled out: the pods are back, and only a status from before they were holds
            // the upgrade.
            let request = unfinished
                .is_none()
                .then(|| self.status_request(primary, state))
                .flatten();
            let wait = Action::Wait {
                what: format!(
                    "waiting for {primary} to become Available on {} ({})",
                    progress.target,
                    condition_text(state, "Available")
                ),
                site: Some(primary.clone()),
            };
            return Ok(Outcome::Stay(request.into_iter().chain([wait]).collect()));
        }
        if let Some(unfinished) = unfinished {
            return Ok(Outcome::Stay(vec![Action::Wait {
                what: format!(
                    "waiting for {primary} to roll out {}: {unfinished}",
                    progress.target
                ),
                site: Some(primary.clone()),
            }]));
        }
        Ok(Outcome::Advance(progress.advanced(
            Phase::UpgradeSecondaryOperators,
            Milestone::PrimaryMigrated,
            self.now,
        )))
    }

    /// The Quay image the sites must run at the target, when this provider sets it (the
    /// `deployment` method sets `RELATED_IMAGE_COMPONENT_QUAY`; through OLM the CSV does).
    fn quay_image(&self, progress: &Progress) -> Option<String> {
        match self.request.operator() {
            OperatorMethod::Deployment { .. } => catalogue()
                .release(progress.target)
                .ok()?
                .related_images()?
                .get(RELATED_IMAGE_QUAY)
                .cloned(),
            OperatorMethod::Olm { .. } => None,
        }
    }

    pub(super) fn upgrade_secondaries(&self, progress: &Progress) -> Result<Outcome, UpgradeError> {
        if let Some(actions) = self.keep_secondaries_down(progress) {
            return Ok(Outcome::Stay(actions));
        }
        for record in &progress.secondaries {
            let site = &record.site;
            let state = match self.state(site) {
                Ok(state) => state,
                Err(wait) => return Ok(Outcome::Stay(vec![wait])),
            };
            let at_target = Self::version(site, state)? == Some(progress.target);
            if at_target && !state.is_migrating() {
                continue;
            }
            if Self::operator_version(state) == Some(progress.target) {
                if let Some(wait) = Self::migration_wait(site, state, progress)? {
                    return Ok(Outcome::Stay(vec![wait]));
                }
                continue;
            }
            if let Some(wait) = self.other_migration(site) {
                return Ok(Outcome::Stay(vec![wait]));
            }
            return Ok(Outcome::Stay(vec![
                self.operator_action(site, state, progress)?,
            ]));
        }
        Ok(Outcome::Advance(progress.advanced(
            Phase::RestoreSecondaries,
            Milestone::SecondariesUpgraded,
            self.now,
        )))
    }

    pub(super) fn restore(&self, progress: &Progress) -> Result<Outcome, UpgradeError> {
        let mut actions = Vec::new();
        let mut waits = Vec::new();
        for record in &progress.secondaries {
            let site = &record.site;
            let state = match self.state(site) {
                Ok(state) => state,
                Err(wait) => {
                    waits.push(wait);
                    continue;
                }
            };
            let version = Self::version(site, state)?;
            if version != Some(progress.target) {
                return Err(UpgradeError::UnexpectedVersion {
                    site: site.clone(),
                    expected: progress.target.to_string(),
                    found: version.map_or_else(|| "none".to_owned(), |v| v.to_string()),
                });
            }
            let originals = &record.originals;
            let restored = state.hpa_managed == originals.hpa_managed
                && originals
                    .replicas
                    .iter()
                    .all(|(c, r)| state.components.get(c).is_some_and(|s| s.replicas == *r));
            if !restored {
                actions.push(Action::Restore {
                    site: site.clone(),
                    replicas: originals.replicas.clone(),
                    hpa_managed: originals.hpa_managed,
                });
                continue;
            }
            let mut missing = not_back(state, originals, self.quay_image(progress).as_deref());
            if !state.registry.is_available() {
                if missing.is_empty() {
                    actions.extend(self.status_request(site, state));
                }
                missing.push(condition_text(state, "Available"));
            }
            if !missing.is_empty() {
                waits.push(Action::Wait {
                    what: format!("waiting for {site} to come back: {}", missing.join(", ")),
                    site: Some(site.clone()),
                });
            }
        }
        if actions.is_empty() && waits.is_empty() {
            return Ok(Outcome::Advance(progress.advanced(
                Phase::Release,
                Milestone::SecondariesRestored,
                self.now,
            )));
        }
        actions.append(&mut waits);
        Ok(Outcome::Stay(actions))
    }
}

/// What is still missing before a restored site counts as back, `Available` aside (the caller
/// asks for a fresh one when it is all that is missing).
fn not_back(state: &SiteState, originals: &Originals, quay_image: Option<&str>) -> Vec<String> {
    let mut missing = Vec::new();
    for (component, replicas) in &originals.replicas {
        let running = state
            .components
            .get(component)
            .map_or(0, |c| c.running_pods);
        match replicas {
            Some(n) if running != *n => {
                missing.push(format!("{} {running}/{n} pods", component.kind()));
            }
            None if running == 0 => missing.push(format!("{} 0 pods", component.kind())),
            _ => {}
        }
    }
    if !state.registry.is_generation_observed() {
        missing.push("the operator has not processed the restore yet".to_owned());
    }
    // `Available` can be a minute old: the Deployments say whether the pods rolled out.
    if let Some(unfinished) = state.unfinished_rollout(quay_image) {
        missing.push(unfinished);
    }
    missing
}
