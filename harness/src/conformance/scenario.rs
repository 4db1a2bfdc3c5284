//! A [`Scenario`]: a stable id, a one-sentence claim, the [`Capability`]s it cannot do
//! without, and the function that checks the claim against a [`Context`].
//!
//! A scenario returns at its first broken expectation with a [`Failure`] that says what was
//! expected and what was seen ([`ensure!`](crate::ensure) writes that in one line); what it saw
//! on the way goes into its evidence ([`Context::note`], [`Context::step`]). It never cleans
//! up by hand: what it applied with [`Context::apply`] is destroyed by the runner after it,
//! and the namespaces it named with [`Context::namespace`] are deleted, also when it failed
//! (unless `--keep-on-failure`).

use std::fmt;
use std::sync::Arc;

use super::capability::Capability;
use super::context::Context;
use super::failure::Failure;

/// What a scenario runs.
pub type RunFn = dyn Fn(&mut Context<'_>) -> Result<(), Failure> + Send + Sync;

/// One end-to-end scenario.
#[derive(Clone)]
pub struct Scenario {
    /// The stable id (`SCEN-three-sites`, `BADINPUT-weak_secret_key`): reports, `--scenario`.
    pub id: String,
    /// What a pass proves, in one sentence.
    pub claim: String,
    /// What the backend must be able to do for it to run at all.
    pub needs: Vec<Capability>,
    run: Arc<RunFn>,
}

impl fmt::Debug for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scenario")
            .field("id", &self.id)
            .field("needs", &self.needs)
            .finish_non_exhaustive()
    }
}

impl Scenario {
    /// A scenario.
    pub fn new(
        id: impl Into<String>,
        claim: impl Into<String>,
        needs: &[Capability],
        run: impl Fn(&mut Context<'_>) -> Result<(), Failure> + Send + Sync + 'static,
    ) -> Self {
        Self {
            id: id.into(),
            claim: claim.into(),
            needs: needs.to_vec(),
            run: Arc::new(run),
        }
    }

    /// Runs it.
    ///
    /// # Errors
    /// The first broken expectation.
    pub fn run(&self, ctx: &mut Context<'_>) -> Result<(), Failure> {
        (self.run)(ctx)
    }
}
