//! What only some backends can observe or do, as optional capability objects of a run.
//!
//! A scenario lists the [`Capability`]s it cannot do without; on a backend that lacks one the
//! runner reports it as `skipped: needs <capability>` instead of running it. A scenario may
//! also use a capability when it is there and check less when it is not (the safety ledger
//! after a three-site install, for one), saying so in its evidence.
//!
//! The `local` backend has all of them ([`super::local::capabilities`]); a team's own
//! clusters (`existing`) have none.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One thing only some backends can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    /// The safety ledger: every unsafe moment a site's operator and pods went through (two
    /// migrations at once, an old version serving a migrated database, ...).
    SafetyLedger,
    /// API faults on demand: error answers, dropped watches, an unreachable cluster.
    FaultInjection,
    /// Counting each cluster's successful writes.
    WriteCounters,
    /// Migrations slow enough to be observed while they run.
    SlowMigrations,
    /// Pushing a blob the way a site's Quay stores it, without a registry API (the local
    /// backend's sites serve no registry API).
    SimulatedPush,
}

impl Capability {
    /// Every capability, in report order.
    pub const ALL: [Self; 5] = [
        Self::SafetyLedger,
        Self::FaultInjection,
        Self::WriteCounters,
        Self::SlowMigrations,
        Self::SimulatedPush,
    ];

    /// The kebab-case name reports use (`safety-ledger`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::SafetyLedger => "safety-ledger",
            Self::FaultInjection => "fault-injection",
            Self::WriteCounters => "write-counters",
            Self::SlowMigrations => "slow-migrations",
            Self::SimulatedPush => "simulated-push",
        }
    }

    /// Whether using it affects every scenario running at the time (injected faults and
    /// write counters are per cluster, not per namespace): a scenario that uses it runs
    /// alone under `--parallel`.
    #[must_use]
    pub fn is_backend_wide(self) -> bool {
        matches!(self, Self::FaultInjection | Self::WriteCounters)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The safety ledger of a backend.
pub trait SafetyLedger: Send + Sync {
    /// Every violation recorded so far, one line each (JSON).
    fn violations(&self) -> Vec<String>;
}

/// Write counters of a backend's clusters.
pub trait WriteCounters: Send + Sync {
    /// Sets every cluster's count back to zero.
    fn reset(&self);
    /// Each site's successful writes since the last reset, by site name.
    fn writes(&self) -> Vec<(String, u64)>;
}

/// API faults on a backend's clusters.
pub trait FaultInjection: Send + Sync {
    /// Makes the next `count` requests `verb` on `resource` (plural, e.g. `quayregistries`)
    /// to `site` fail with HTTP `status`.
    ///
    /// # Errors
    /// The site is unknown, or `status` is not one the backend can answer with.
    fn fail_requests(
        &self,
        site: &str,
        verb: &str,
        resource: &str,
        status: u16,
        count: u32,
    ) -> Result<(), String>;
    /// Cuts `site`'s cluster off (every connection refused or dropped) or brings it back.
    ///
    /// # Errors
    /// The site is unknown.
    fn set_unreachable(&self, site: &str, unreachable: bool) -> Result<(), String>;
    /// Delays every answer of `site`'s cluster by `latency` (zero: none).
    ///
    /// # Errors
    /// The site is unknown.
    fn set_latency(&self, site: &str, latency: Duration) -> Result<(), String>;
    /// Ends every watch open on `site`'s cluster now, as an API server restart or a
    /// load balancer's idle timeout does; clients must watch again.
    ///
    /// # Errors
    /// The site is unknown.
    fn drop_watches(&self, site: &str) -> Result<(), String>;
    /// How many more requests the faults set on `site` with
    /// [`fail_requests`](Self::fail_requests) will fail: each failed request counts one down,
    /// so a scenario can tell a client that retries from one that gave up.
    ///
    /// # Errors
    /// The site is unknown.
    fn remaining(&self, site: &str) -> Result<u64, String>;
    /// Removes the request faults and the latency of `site`'s cluster (not a cut-off).
    ///
    /// # Errors
    /// The site is unknown.
    fn clear_requests(&self, site: &str) -> Result<(), String>;
    /// Removes every fault of every cluster.
    fn clear(&self);
}

/// Migrations that take a known time per schema revision.
pub trait SlowMigrations: Send + Sync {
    /// How long each migration revision takes.
    fn time_per_revision(&self) -> Duration;
    /// Migrations that start from now on take `time` per revision (a scenario that must act
    /// while one runs slows them down, and sets [`time_per_revision`](Self::time_per_revision)
    /// back after).
    fn set_time_per_revision(&self, time: Duration);
}

/// A blob pushed through a site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// `sha256:<hex>`.
    pub digest: String,
    /// The storage location it was written to first.
    pub location: String,
    /// The object key in that bucket.
    pub key: String,
}

/// What [`SimulatedPush::push`] returns: a future, so a scenario can await it on the run's
/// runtime.
pub type PushFuture<'a> =
    std::pin::Pin<Box<dyn Future<Output = Result<Pushed, String>> + Send + 'a>>;

/// Pushing blobs through a site without a registry API.
pub trait SimulatedPush: Send + Sync {
    /// Pushes `bytes` through `site` (by name) into its preferred location, at Quay's key
    /// layout.
    ///
    /// # Errors
    /// The site is unknown or its storage could not be written; the message says why.
    fn push<'a>(&'a self, site: &'a str, bytes: Vec<u8>) -> PushFuture<'a>;
}

/// The capabilities of one run's backend; `None` where it lacks one.
#[derive(Clone, Default)]
pub struct Capabilities {
    /// [`Capability::SafetyLedger`].
    pub ledger: Option<Arc<dyn SafetyLedger>>,
    /// [`Capability::FaultInjection`].
    pub faults: Option<Arc<dyn FaultInjection>>,
    /// [`Capability::WriteCounters`].
    pub writes: Option<Arc<dyn WriteCounters>>,
    /// [`Capability::SlowMigrations`].
    pub migrations: Option<Arc<dyn SlowMigrations>>,
    /// [`Capability::SimulatedPush`].
    pub push: Option<Arc<dyn SimulatedPush>>,
}

impl fmt::Debug for Capabilities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.present()).finish()
    }
}

impl Capabilities {
    /// None at all: a team's own clusters.
    #[must_use]
    pub fn none() -> Self {
        Self::default()
    }

    /// Whether `capability` is there.
    #[must_use]
    pub fn has(&self, capability: Capability) -> bool {
        match capability {
            Capability::SafetyLedger => self.ledger.is_some(),
            Capability::FaultInjection => self.faults.is_some(),
            Capability::WriteCounters => self.writes.is_some(),
            Capability::SlowMigrations => self.migrations.is_some(),
            Capability::SimulatedPush => self.push.is_some(),
        }
    }

    /// The capabilities that are there.
    #[must_use]
    pub fn present(&self) -> Vec<Capability> {
        Capability::ALL
            .into_iter()
            .filter(|c| self.has(*c))
            .collect()
    }

    /// The first of `needs` that is missing.
    #[must_use]
    pub fn first_missing(&self, needs: &[Capability]) -> Option<Capability> {
        needs.iter().copied().find(|c| !self.has(*c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Ledger;
    impl SafetyLedger for Ledger {
        fn violations(&self) -> Vec<String> {
            Vec::new()
        }
    }

    #[test]
    fn the_first_missing_capability_is_named_in_kebab_case() {
        let caps = Capabilities {
            ledger: Some(Arc::new(Ledger)),
            ..Capabilities::none()
        };
        assert_eq!(caps.present(), [Capability::SafetyLedger]);
        let missing = caps.first_missing(&[Capability::SafetyLedger, Capability::WriteCounters]);
        assert_eq!(
            missing.map(|c| c.to_string()).as_deref(),
            Some("write-counters")
        );
        assert_eq!(Capabilities::none().first_missing(&[]), None);
    }
}
