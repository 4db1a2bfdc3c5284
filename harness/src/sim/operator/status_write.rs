//! [`StatusWrite`]: how one status write of the `QuayRegistry` controller model treats the
//! operator's two reconcilers (the main one and the status one) and its version.

use std::fmt::Write as _;
use std::time::Duration;

use kube::api::DynamicObject;
use kube::{Resource as _, ResourceExt as _};

use super::context::Context;

/// The conditions only the main reconcile writes; every other condition (`Available` and the
/// components') is the status reconciler's.
pub(super) const MAIN_RECONCILE_CONDITIONS: [&str; 2] = ["ComponentsCreated", "RolloutBlocked"];

/// How one status write treats the operator's two reconcilers and its version.
///
/// Upstream, `controllers/quay/quayregistry_controller.go` writes `currentVersion`,
/// `ComponentsCreated` and `RolloutBlocked` (and, from 3.17, `observedGeneration`), while
/// `controllers/quay/quayregistry_status_controller.go` recomputes `Available` and the
/// component conditions (`pkg/cmpstatus`) once a minute and when the `QuayRegistry` changes.
/// The model recomputes them when what the main reconcile writes (generation,
/// `currentVersion`, `ComponentsCreated`, `RolloutBlocked`) or the object's labels and
/// annotations changed since it last did, or
/// [`super::OperatorOptions::status_interval`] has passed; otherwise they keep their last
/// value, stale as on a cluster (pods becoming ready, or going, change none of those).
pub(super) struct StatusWrite {
    /// Recompute `Available` and the component conditions now.
    pub(super) refresh: bool,
    /// Write `observedGeneration` (the operator is 3.17 or newer).
    pub(super) observed_generation: bool,
    /// The generation changed since the last write: write (and so move `lastUpdated`, which
    /// every full reconcile upstream rewrites) even if nothing else changed.
    pub(super) new_generation: bool,
    /// When the held conditions are due.
    due: Duration,
}

impl StatusWrite {
    pub(super) fn now(ctx: &Context, reg: &DynamicObject) -> Self {
        let version = ctx.version();
        let key = (reg.namespace().unwrap_or_default(), reg.name_any());
        let status = &reg.data["status"];
        let mut main = status["currentVersion"].to_string();
        // Upstream's status controller watches the `QuayRegistry` with no predicate: a change
        // of its labels or annotations (which leaves the generation alone) makes it evaluate
        // again too.
        let _ = write!(
            main,
            "|{:?}|{:?}",
            reg.metadata.labels, reg.metadata.annotations
        );
        for kind in MAIN_RECONCILE_CONDITIONS {
            let condition = status["conditions"]
                .as_array()
                .and_then(|c| c.iter().find(|c| c["type"] == kind));
            if let Some(c) = condition {
                let _ = write!(main, "|{}{}{}", c["status"], c["reason"], c["message"]);
            }
        }
        let seen = (reg.meta().generation, Some(main));
        let mut evaluated = Context::lock(&ctx.status_evaluated);
        let now = tokio::time::Instant::now();
        let new_generation = evaluated.get(&key).is_none_or(|(_, last)| last.0 != seen.0);
        let due = match evaluated.get(&key) {
            Some((at, last)) if *last == seen => ctx.opts.status_interval.saturating_sub(now - *at),
            _ => Duration::ZERO,
        };
        let refresh = due.is_zero();
        if refresh {
            evaluated.insert(key, (now, seen));
        }
        Self {
            refresh,
            observed_generation: (version.major, version.minor) >= (3, 17),
            new_generation,
            due: if refresh {
                ctx.opts.status_interval
            } else {
                due
            },
        }
    }

    /// The requeue after a write: `next`, or sooner when conditions were held back.
    pub(super) fn requeue(&self, ctx: &Context, held: bool, next: Duration) -> Duration {
        if held {
            next.min(self.due.max(Duration::from_millis(10)))
        } else {
            next.min(ctx.opts.resync)
        }
    }
}
