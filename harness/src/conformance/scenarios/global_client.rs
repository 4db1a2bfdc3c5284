//! A client of a global name throughout a scenario: every answer, which site and version
//! gave it, and what a user would have seen.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::conformance::context::Context;
use crate::conformance::failure::Failure;
use crate::ensure;
use crate::quay::QuayVersion;

/// One request of a [`Client`] of a global name.
#[derive(Debug, Clone)]
pub struct Probe {
    /// When it was sent.
    pub at: Instant,
    /// The status (`None`: no answer at all).
    pub status: Option<u16>,
    /// The site that answered.
    pub site: Option<String>,
    /// The Quay version the answer reported.
    pub version: Option<String>,
}

impl Probe {
    /// Whether a site answered (any status but 503).
    #[must_use]
    pub fn answered(&self) -> bool {
        self.status.is_some_and(|s| s != 503)
    }
}

/// A client of a global name in the background: one request every 50 ms, as a user of the
/// registry would send them, until [`Client::stop`].
pub struct Client {
    task: tokio::task::JoinHandle<()>,
    probes: Arc<Mutex<Vec<Probe>>>,
}

impl Client {
    /// Starts asking `url` on `ctx`'s runtime.
    #[must_use]
    pub fn start(ctx: &Context<'_>, url: String) -> Self {
        let probes = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&probes);
        let task = ctx.runtime.spawn(async move {
            loop {
                let at = Instant::now();
                let probe = match crate::lb::get(&url).await {
                    Ok(answer) => Probe {
                        at,
                        status: Some(answer.status),
                        version: answer.json()["version"].as_str().map(str::to_owned),
                        site: answer.site,
                    },
                    Err(_) => Probe {
                        at,
                        status: None,
                        site: None,
                        version: None,
                    },
                };
                sink.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(probe);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        Self { task, probes }
    }

    /// Stops and returns every probe, in order.
    #[must_use]
    pub fn stop(self) -> Vec<Probe> {
        self.task.abort();
        self.probes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The outages in `probes`: runs of requests no site answered.
#[must_use]
pub fn outages(probes: &[Probe]) -> usize {
    probes
        .windows(2)
        .filter(|pair| pair[0].answered() && !pair[1].answered())
        .count()
        + usize::from(probes.first().is_some_and(|p| !p.answered()))
}

/// Fails unless a client of the global Quay name saw `from` first and `to` last, never `from`
/// again once `to` answered, never `from` after `migration_seen` (when the primary's migration
/// was first seen running), and one outage at most (the primary's migration).
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
    let answered: Vec<&Probe> = probes.iter().filter(|p| p.answered()).collect();
    let summary = || summarize(probes);
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
