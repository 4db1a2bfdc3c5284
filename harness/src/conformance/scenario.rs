//! A [`Scenario`]: a stable id, a one-sentence claim, the [`Capability`]s it cannot do
//! without, and the function that checks the claim against a [`Context`].
//!
//! A scenario returns at its first broken expectation with a [`Failure`] that says what was
//! expected and what was seen ([`ensure!`](crate::ensure) writes that in one line); what it saw
//! on the way goes into its evidence ([`Context::note`], [`Context::step`]). It never cleans
//! up by hand: what it applied with [`Context::apply`] is destroyed by the runner after it,
//! and the namespaces it named with [`Context::namespace`] are deleted, also when it failed
//! (unless `--keep-on-failure`).
//!
//! Properties tell the runner what a scenario shares with others. Under `--parallel` only
//! [`plan-only`](Scenario::plan_only) scenarios run beside each other: every site a scenario
//! installs runs its migration Job against the one shared database and joins the one
//! deployment whose config hashes the safety ledger compares, so two scenarios installing
//! sites at once are two migrations and two configs on one database (the ledger records both
//! as violations). [`Scenario::exclusive`] marks what changes things every scenario sees even
//! without installing; [`Scenario::namespaces`] declares the namespace suffixes it names, for
//! `--dry-run`.

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
    /// What it uses when the backend has it, and checks less without.
    pub uses: Vec<Capability>,
    /// Runs alone, never beside another scenario, even with `--parallel`.
    pub exclusive: bool,
    /// The suffixes of the namespaces it names ([`Context::namespace`]), for `--dry-run`;
    /// empty: not declared (the dry run says they are named when it runs).
    pub namespaces: Vec<String>,
    /// Whether it upgrades the target's operator.
    pub operator_upgrade: OperatorUpgrade,
    /// Whether it migrates the shared database (an upgrade, or a migration it makes fail):
    /// such a scenario runs alone, never beside another one.
    pub migrates_database: bool,
    /// Whether it only plans (installs no site): the only kind that runs beside others.
    pub plan_only: bool,
    run: Arc<RunFn>,
}

impl fmt::Debug for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scenario")
            .field("id", &self.id)
            .field("needs", &self.needs)
            .field("uses", &self.uses)
            .field("exclusive", &self.exclusive)
            .field("namespaces", &self.namespaces)
            .field("operator_upgrade", &self.operator_upgrade)
            .field("migrates_database", &self.migrates_database)
            .field("plan_only", &self.plan_only)
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
            uses: Vec::new(),
            exclusive: false,
            namespaces: Vec::new(),
            operator_upgrade: OperatorUpgrade::No,
            migrates_database: false,
            plan_only: false,
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

    /// The same scenario, run alone: nothing else runs while it does, also with
    /// `--parallel` (it migrates a database, changes an operator, or changes what every
    /// scenario's sites are reached through).
    #[must_use]
    pub fn exclusive(mut self) -> Self {
        self.exclusive = true;
        self
    }

    /// The same scenario, marked as only planning: it installs no site, so it may run beside
    /// other plan-only scenarios under `--parallel`.
    #[must_use]
    pub fn plan_only(mut self) -> Self {
        self.plan_only = true;
        self
    }

    /// The same scenario, using `capabilities` when the backend has them.
    #[must_use]
    pub fn uses(mut self, capabilities: &[Capability]) -> Self {
        self.uses.extend_from_slice(capabilities);
        self
    }

    /// The same scenario, declaring the suffixes of the namespaces it names (`--dry-run`
    /// prints them with the run's prefix).
    #[must_use]
    pub fn namespaces(mut self, suffixes: &[&str]) -> Self {
        self.namespaces
            .extend(suffixes.iter().map(|s| (*s).to_owned()));
        self
    }

    /// Whether it must run alone on a backend that has the capabilities `present`: it
    /// installs sites (it is not [`plan_only`](Self::plan_only)), is
    /// [`exclusive`](Self::exclusive), migrates the shared database, changes the operators
    /// every other scenario's sites run under, or it needs or uses a capability whose effect
    /// is backend-wide (injected faults, write counters) and the backend has it.
    #[must_use]
    pub fn runs_alone(&self, present: &[Capability]) -> bool {
        !self.plan_only
            || self.exclusive
            || self.migrates_database
            || self.operator_upgrade != OperatorUpgrade::No
            || self
                .needs
                .iter()
                .chain(&self.uses)
                .any(|c| c.is_backend_wide() && present.contains(c))
    }

    /// Runs it.
    ///
    /// # Errors
    /// The first broken expectation.
    pub fn run(&self, ctx: &mut Context<'_>) -> Result<(), Failure> {
        (self.run)(ctx)
    }
}
