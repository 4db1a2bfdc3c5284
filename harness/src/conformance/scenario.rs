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

/// Whether a scenario upgrades the target's Quay Operator (every site one minor up, which
/// cannot be undone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorUpgrade {
    /// Never.
    No,
    /// When the run allows it ([`Context::operator_upgrade_allowed`]); otherwise it checks
    /// the rest and says in its evidence what it left out.
    IfAllowed,
    /// Always: without `--allow-operator-upgrade` on the `existing` backend it is skipped.
    Required,
}

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
    /// Whether it upgrades the target's operator.
    pub operator_upgrade: OperatorUpgrade,
    /// Whether it migrates the shared database (an upgrade, or a migration it makes fail):
    /// such a scenario runs alone, never beside another one.
    pub migrates_database: bool,
    run: Arc<RunFn>,
}

impl fmt::Debug for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scenario")
            .field("id", &self.id)
            .field("needs", &self.needs)
            .field("operator_upgrade", &self.operator_upgrade)
            .field("migrates_database", &self.migrates_database)
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
            operator_upgrade: OperatorUpgrade::No,
            migrates_database: false,
            run: Arc::new(run),
        }
    }

    /// Marks it as upgrading the target's operator (`how`), and so migrating the shared
    /// database.
    #[must_use]
    pub fn upgrades_operator(mut self, how: OperatorUpgrade) -> Self {
        self.operator_upgrade = how;
        self.migrates_database |= how != OperatorUpgrade::No;
        self
    }

    /// Whether it must run alone: it migrates the shared database (every site of every
    /// scenario uses it), or changes the operators every other scenario's sites run under.
    #[must_use]
    pub fn runs_alone(&self) -> bool {
        self.migrates_database || self.operator_upgrade != OperatorUpgrade::No
    }

    /// Runs it.
    ///
    /// # Errors
    /// The first broken expectation.
    pub fn run(&self, ctx: &mut Context<'_>) -> Result<(), Failure> {
        (self.run)(ctx)
    }
}
