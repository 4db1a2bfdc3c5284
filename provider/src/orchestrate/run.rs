//! [`run`]: the upgrade loop: observe, [`step`], perform, pause; until done, an error, the
//! deadline or Terraform's stop.
//!
//! The pause ends early when a watched object changes ([`Wakeups`]), and is skipped after a
//! round that recorded a new phase; its timer ([`next_pause`]) is the fall-back for what is
//! not watched and for broken watches.
//!
//! Every change it performs and every milestone of the progress record is kept as a
//! [`StepRecord`] with its time, for the resource's `steps`. Actions that fail with a
//! retryable error (the cluster unreachable, 409, 429, 5xx after the cluster layer's own
//! retries) end the round; the next round observes again and the state machine decides anew.
//! Anything else stops the run. A read or action that the deadline or Terraform's stop cuts
//! short ends the run at once, with the status of the last round judged (what the run was
//! waiting for) and the cut request after it: a round cut short is not judged, since every
//! read after the cut fails without an answer and would make the cluster read last (the
//! primary's Lease) look unreachable.

use std::time::Duration;

use tokio::time::Instant;
use tracing::{info, warn};

use super::clock;
use super::lease::LeaseClock;
use super::observe::{CutShort, observe_with};
use super::perform::{self, check_lease, perform};
use super::wake::Wakeups;
use crate::cluster::Clusters;
use crate::georep::errors;
use crate::georep::upgrade::{
    Action, OperatorUpgrade, Progress, Timestamp, UpgradeError, UpgradeRequest, step,
};
use crate::stop::StopToken;

/// The longest pause between two rounds, reached when rounds keep only waiting.
pub const PAUSE: Duration = Duration::from_millis(500);

/// The least time between the starts of two rounds when a watch event ends the pause:
/// nothing after a round that changed something (what follows a change is what the run waits
/// for), then 10 ms, doubling with each round that only waited, up to [`PAUSE`].
///
/// Why: a busy namespace (a crash-looping pod, an operator namespace many operators share)
/// sends events that change nothing the run waits for. Each would start a round of reads;
/// this brings such rounds down to the polling rate within a few of them, while the first
/// event after a change is acted on at once (`georep-harness bench upgrade`: a flat 50 ms
/// floor doubled the overhead, 0.19 s to 0.36 s).
#[must_use]
pub fn next_wake_floor(previous: Duration, changed: bool) -> Duration {
    if changed {
        Duration::ZERO
    } else {
        (previous * 2).clamp(Duration::from_millis(10), PAUSE)
    }
}

/// The pause before the next round: `PAUSE / 10` after a round that changed something, then
/// doubling with each round that only waited, up to [`PAUSE`].
///
/// Why: what follows a change often comes within a few hundred milliseconds (a Job that
/// finds nothing to migrate, pods starting after a restore), and a flat [`PAUSE`] added up
/// to about a second and a half of idle waiting per upgrade (`georep-harness bench
/// upgrade`); long waits (a migration) still poll only every [`PAUSE`].
#[must_use]
pub fn next_pause(previous: Duration, changed: bool) -> Duration {
    if changed {
        PAUSE / 10
    } else {
        (previous * 2).min(PAUSE)
    }
}

/// One thing the run did, with when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRecord {
    /// When it was done.
    pub at: Timestamp,
    /// What was done, in words.
    pub what: String,
}

impl std::fmt::Display for StepRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.at, self.what)
    }
}

/// Why a run stopped before the upgrade was done. Every variant carries the steps done so far.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The state machine stopped the upgrade (preflight, Lease, progress record, migration).
    #[error("the upgrade stopped")]
    Upgrade {
        /// What it said.
        #[source]
        source: UpgradeError,
        /// Steps done before.
        steps: Vec<StepRecord>,
    },
    /// An action failed in a way another round cannot fix.
    #[error("the upgrade could not {action}")]
    Perform {
        /// The action, in words.
        action: String,
        /// Why.
        #[source]
        source: perform::Error,
        /// Steps done before.
        steps: Vec<StepRecord>,
    },
    /// The deadline passed.
    #[error("the upgrade timed out after {}s; last status: {status}", waited.as_secs())]
    Timeout {
        /// How long it ran.
        waited: Duration,
        /// The last status.
        status: String,
        /// Steps done before.
        steps: Vec<StepRecord>,
    },
    /// Terraform asked the provider to stop.
    #[error("the upgrade was interrupted; last status: {status}")]
    Stopped {
        /// The last status.
        status: String,
        /// Steps done before.
        steps: Vec<StepRecord>,
    },
}

impl RunError {
    /// The steps done before the run stopped.
    #[must_use]
    pub fn steps(&self) -> &[StepRecord] {
        match self {
            Self::Upgrade { steps, .. }
            | Self::Perform { steps, .. }
            | Self::Timeout { steps, .. }
            | Self::Stopped { steps, .. } => steps,
        }
    }

    /// What to do about it, in one sentence.
    #[must_use]
    pub fn hint(&self) -> &'static str {
        match self {
            Self::Upgrade {
                source: UpgradeError::LeaseHeld { .. },
                ..
            } => {
                "another upgrade run holds the Lease, so this one changed nothing: wait for it \
                 to finish (or for the Lease to expire) and apply again"
            }
            Self::Perform {
                source: perform::Error::LeaseHeld { .. },
                ..
            } => {
                "another upgrade run holds the Lease: wait for it to finish (or for the Lease to \
                 expire) and apply again"
            }
            Self::Upgrade { .. } => {
                "fix what the message names and run terraform apply again: the upgrade resumes \
                 from its recorded progress"
            }
            Self::Perform { .. } => {
                "fix the cause named above and apply again: the upgrade resumes from its \
                 recorded progress"
            }
            Self::Timeout { .. } => {
                "the upgrade is still recorded on the primary cluster: look at the status above, \
                 raise the timeouts block if it was only slow, and apply again to resume"
            }
            Self::Stopped { .. } => {
                "the upgrade is recorded on the primary cluster: run terraform apply again to resume"
            }
        }
    }
}

/// Runs the upgrade until it is done, and returns what it did.
///
/// `on_status` hears each round's status sentence (for logs and progress).
///
/// # Errors
///
/// [`RunError`] when the state machine stops the upgrade, an action fails for good, the
/// deadline passes or `stop` trips; each carries the steps done so far.
///
/// # Cancel safety
///
/// Dropping the future stops between or inside requests; the recorded progress on the
/// primary cluster is what a later run resumes from.
pub async fn run(
    clusters: &Clusters,
    request: &UpgradeRequest,
    deadline: Instant,
    stop: &StopToken,
    mut on_status: impl FnMut(&str) + Send,
) -> Result<Vec<StepRecord>, RunError> {
    let started = Instant::now();
    // A killed run of the same origin continues under the holder identity it recorded.
    let mut request = request.clone();
    let mut lease_clock = LeaseClock::default();
    let mut steps: Vec<StepRecord> = Vec::new();
    let mut milestones = 0usize;
    // The version the run goes to: what preflight resolved and recorded (a minor's channel
    // head), else the exact target.
    let mut resolved = request.target().to_string();
    let mut status = "starting".to_owned();
    let mut pause = PAUSE / 10;
    let mut wake_floor = Duration::ZERO;
    let wakeups = Wakeups::start(clusters, &request).await;
    loop {
        if stop.is_stopped() {
            return Err(RunError::Stopped { status, steps });
        }
        if Instant::now() >= deadline {
            return Err(RunError::Timeout {
                waited: started.elapsed(),
                status,
                steps,
            });
        }
        let round_started = Instant::now();
        let now = clock::now();
        let (observation, cut) = observe_with(clusters, &request, &mut lease_clock, now).await;
        if let Some(cut) = cut {
            return Err(cut_short(stop, started, &status, &cut, steps));
        }
        if let Some(recorded) = request.holder_to_resume(&observation) {
            info!(holder = %recorded, "resuming the run recorded by this working directory and workspace");
            request = request.with_holder(recorded);
        }
        let request = &request;
        let decision = match step(request, &observation, now) {
            Ok(decision) => decision,
            Err(source) => return Err(RunError::Upgrade { source, steps }),
        };
        status.clone_from(&decision.status);
        on_status(&status);
        let mut changed = false;
        let mut advanced = false;
        for action in &decision.actions {
            if !action.is_change() {
                continue;
            }
            let checked = if needs_lease(action) {
                check_lease(clusters, request, &mut lease_clock, clock::now()).await
            } else {
                Ok(())
            };
            let performed = match checked {
                Ok(()) => perform(clusters, request, action, now, &mut lease_clock).await,
                Err(e) => Err(e),
            };
            if let Err(source) = &performed
                && let Some(cut) = source.cut_short()
            {
                return Err(cut_short(stop, started, &status, &cut, steps));
            }
            match performed {
                Ok(()) => {
                    changed = true;
                    advanced |= matches!(action, Action::WriteProgress(_));
                    if let Some(what) = describe(action) {
                        info!(%what, "upgrade step");
                        steps.push(StepRecord { at: now, what });
                    }
                }
                Err(source) if source.is_retryable() => {
                    warn!(error = %errors::chain(&source), "upgrade action failed; observing again");
                    status = format!("retrying after: {}", errors::chain(&source));
                    break;
                }
                // Only a way to hear sooner: refused, the operator's own minute answers.
                Err(source) if matches!(action, Action::RequestStatus { .. }) => {
                    warn!(
                        error = %errors::chain(&source),
                        "could not ask the operator for a fresh status; waiting for its own"
                    );
                }
                Err(source) => {
                    return Err(RunError::Perform {
                        action: describe(action).unwrap_or_else(|| "act".to_owned()),
                        source,
                        steps,
                    });
                }
            }
        }
        if let Some(progress) = &decision.progress {
            resolved = progress.target().to_string();
            record_milestones(progress, &mut milestones, &mut steps);
        }
        if decision.done {
            steps.push(StepRecord {
                at: clock::now(),
                what: format!("done: every site runs Quay {resolved}"),
            });
            return Ok(steps);
        }
        pause = next_pause(pause, changed);
        wake_floor = next_wake_floor(wake_floor, changed);
        if advanced {
            // The progress record (a new phase, or this run taking it over) is on the
            // cluster, which is all the one-phase-per-round rule asks before the next phase
            // acts: go on at once, no pause.
            continue;
        }
        tokio::select! {
            () = stop.stopped() => return Err(RunError::Stopped { status, steps }),
            () = wakeups.changed() => {
                tokio::select! {
                    () = stop.stopped() => return Err(RunError::Stopped { status, steps }),
                    () = tokio::time::sleep_until((round_started + wake_floor).min(deadline)) => {}
                }
            }
            () = tokio::time::sleep(pause.min(deadline.saturating_duration_since(Instant::now()))) => {}
        }
    }
}

/// How a run ends when the deadline or Terraform's stop cut a request short: with the status
/// of the last round it judged (what it was waiting for), then the request that was cut.
fn cut_short(
    stop: &StopToken,
    started: Instant,
    status: &str,
    cut: &CutShort,
    steps: Vec<StepRecord>,
) -> RunError {
    let status = cut.after(status);
    if stop.is_stopped() {
        RunError::Stopped { status, steps }
    } else {
        RunError::Timeout {
            waited: started.elapsed(),
            status,
            steps,
        }
    }
}

/// Whether `action` changes the sites or the record, and so may only be performed while
/// this run holds the Lease. The Lease's own actions and waits need no check; neither does
/// clearing the record, which happens once the upgrade is complete (after the release, or
/// when a run finds a finished record without a Lease).
fn needs_lease(action: &Action) -> bool {
    matches!(
        action,
        Action::WriteProgress(_)
            | Action::ScaleDown { .. }
            | Action::Restore { .. }
            | Action::RequestStatus { .. }
            | Action::UpgradeOperator { .. }
    )
}

/// Adds the progress record's milestones not seen yet.
fn record_milestones(progress: &Progress, seen: &mut usize, steps: &mut Vec<StepRecord>) {
    let history = progress.history();
    if history.len() < *seen {
        *seen = 0;
    }
    for record in &history[*seen..] {
        steps.push(StepRecord {
            at: record.at,
            what: record.milestone.describe().to_owned(),
        });
    }
    *seen = history.len();
}

/// What a performed change did, in words; `None` for bookkeeping (renewals, progress writes).
fn describe(action: &Action) -> Option<String> {
    Some(match action {
        Action::AcquireLease { holder, .. } => format!("took Lease as {holder}"),
        Action::RenewLease { .. }
        | Action::WriteProgress(_)
        | Action::RequestStatus { .. }
        | Action::Wait { .. } => return None,
        Action::ScaleDown { site, components } => format!(
            "scaled {} of {site} to 0 with the HPA unmanaged",
            components
                .iter()
                .map(|c| c.kind())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Action::UpgradeOperator { site, how } => match how {
            OperatorUpgrade::SetSubscriptionChannel {
                channel, catalog, ..
            } => match catalog {
                Some(catalog) => format!(
                    "set the operator Subscription of {site} to channel {channel} of \
                     CatalogSource {catalog}"
                ),
                None => format!("set the operator Subscription of {site} to channel {channel}"),
            },
            OperatorUpgrade::ApproveInstallPlan { name, csv, .. } => {
                format!("approved InstallPlan {name} ({csv}) on {site}")
            }
            OperatorUpgrade::PatchDeployment { image, .. } => {
                format!("set the operator image of {site} to {image}")
            }
        },
        Action::Restore {
            site, hpa_managed, ..
        } => format!(
            "restored the original replicas of {site} (HPA {})",
            if *hpa_managed { "managed" } else { "unmanaged" }
        ),
        Action::ReleaseLease { .. } => "released the Lease".to_owned(),
        Action::ClearProgress => "cleared the progress record".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_held_at_preflight_is_not_told_to_resume_from_its_own_progress() {
        let err = RunError::Upgrade {
            source: UpgradeError::LeaseHeld {
                holder: "terraform@host:/other".to_owned(),
                expires: Timestamp::from_unix_seconds(0),
            },
            steps: Vec::new(),
        };
        assert!(err.hint().contains("another upgrade run holds the Lease"));
        assert!(!err.hint().contains("recorded progress"));
    }

    #[test]
    fn rounds_woken_by_events_that_change_nothing_slow_down_to_the_polling_rate() {
        let mut floor = next_wake_floor(Duration::from_millis(300), true);
        assert_eq!(floor, Duration::ZERO);
        let mut floors = Vec::new();
        for _ in 0..8 {
            floor = next_wake_floor(floor, false);
            floors.push(floor.as_millis());
        }
        assert_eq!(floors, [10, 20, 40, 80, 160, 320, 500, 500]);
    }

    #[test]
    fn pauses_are_short_after_a_change_and_back_off_to_the_longest_while_waiting() {
        let mut pause = next_pause(PAUSE, true);
        assert_eq!(pause, Duration::from_millis(50));
        let mut waits = Vec::new();
        for _ in 0..6 {
            pause = next_pause(pause, false);
            waits.push(pause.as_millis());
        }
        assert_eq!(waits, [100, 200, 400, 500, 500, 500]);
        assert_eq!(
            next_pause(PAUSE, true),
            PAUSE / 10,
            "a change resets the back-off"
        );
    }
}
