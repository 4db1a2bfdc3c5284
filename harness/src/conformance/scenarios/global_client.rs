//! A client of a global name throughout a scenario: every answer, which site and version
//! gave it, and what a user would have seen.

use std::time::{Duration, Instant};

use crate::conformance::context::Context;
use crate::conformance::failure::Failure;
use crate::ensure;
use crate::lb::Monitor;
use crate::quay::QuayVersion;

pub use crate::lb::Probe;

/// A client of a global name in the background: one request every 50 ms, as a user of the
/// registry would send them, until [`Client::stop`] (a [`Monitor`] on the scenario's runtime).
pub struct Client {
    monitor: Monitor,
}

impl Client {
    /// Starts asking `url` on `ctx`'s runtime.
    #[must_use]
    pub fn start(ctx: &Context<'_>, url: String) -> Self {
        let _runtime = ctx.runtime.enter();
        Self {
            monitor: Monitor::start(url, Duration::from_millis(50)),
        }
    }

    /// Stops and returns every probe, in order.
    #[must_use]
    pub fn stop(self) -> Vec<Probe> {
        // Dropping the monitor stops it.
        self.monitor.probes()
    }
}

/// The outages in `probes`: runs of requests no site answered.
#[must_use]
pub fn outages(probes: &[Probe]) -> usize {
    probes
        .windows(2)
        .filter(|pair| pair[0].is_answered() && !pair[1].is_answered())
        .count()
        + usize::from(probes.first().is_some_and(|p| !p.is_answered()))
}

/// Fails unless a client of the global Quay name saw `from` first and `to` last, never `from`
/// again once `to` answered, never `from` after `migration_seen` (when the primary's migration
/// was first seen running), and one outage at most (the primary's migration).
///
/// The versions come from the answers' `version` field, which the local backend's sites set;
/// Quay's own `/health/instance` has none, so against real sites (no answer with a version)
/// only the outages are checked.
///
/// # Errors
/// The first broken expectation, with a summary of the probes.
pub fn served_throughout(
    probes: &[Probe],
    from: QuayVersion,
    to: QuayVersion,
    migration_seen: Option<Instant>,
) -> Result<(), Failure> {
    let (from, to) = (from.to_string(), to.to_string());
    let answered: Vec<&Probe> = probes.iter().filter(|p| p.is_answered()).collect();
    let summary = || summarize(probes);
    if answered.iter().all(|p| p.version.is_none()) {
        let outages = outages(probes);
        ensure!(
            outages <= 1,
            "{outages} outages of the global name: {}",
            summary()
        );
        return Ok(());
    }
    ensure!(
        answered.first().and_then(|p| p.version.as_deref()) == Some(from.as_str()),
        "the global name did not answer from Quay {from} first: {}",
        summary()
    );
    ensure!(
        answered.last().and_then(|p| p.version.as_deref()) == Some(to.as_str()),
        "the global name did not answer from Quay {to} last: {}",
        summary()
    );
    if let Some(first_new) = answered
        .iter()
        .position(|p| p.version.as_deref() == Some(to.as_str()))
    {
        ensure!(
            answered[first_new..]
                .iter()
                .all(|p| p.version.as_deref() == Some(to.as_str())),
            "Quay {from} answered after {to} did: {}",
            summary()
        );
    }
    if let Some(seen) = migration_seen {
        let old = answered
            .iter()
            .filter(|p| p.at >= seen && p.version.as_deref() != Some(to.as_str()))
            .count();
        ensure!(
            old == 0,
            "{old} answers of the global name came from an old version after the primary's \
             migration had started: {}",
            summary()
        );
    }
    let outages = outages(probes);
    ensure!(
        outages <= 1,
        "{outages} outages of the global name: {}",
        summary()
    );
    Ok(())
}

/// `probes` as runs of equal answers: `3x us-east 3.17.4, 5x none, ...`.
#[must_use]
pub fn summarize(probes: &[Probe]) -> String {
    let mut runs: Vec<(String, usize)> = Vec::new();
    for p in probes {
        let label = match (&p.status, &p.site, &p.version) {
            (Some(status), Some(site), version) if *status != 503 => {
                format!("{site} {}", version.as_deref().unwrap_or("(no version)"))
            }
            (Some(status), _, _) => format!("status {status}"),
            (None, _, _) => "no answer".to_owned(),
        };
        match runs.last_mut() {
            Some((last, n)) if *last == label => *n += 1,
            _ => runs.push((label, 1)),
        }
    }
    runs.iter()
        .map(|(label, n)| format!("{n}x {label}"))
        .collect::<Vec<_>>()
        .join(", ")
}
