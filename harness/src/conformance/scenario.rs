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

/// The first broken expectation of a scenario, or why it cannot run on this target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    message: String,
    skip: bool,
}

impl Failure {
    /// A failure saying `message`.
    #[must_use]
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            skip: false,
        }
    }

    /// Not a failure: the target lacks what the scenario needs (a global endpoint the suite
    /// can reach, say), which the report shows as skipped with `reason`.
    #[must_use]
    pub fn skip(reason: impl Into<String>) -> Self {
        Self {
            message: reason.into(),
            skip: true,
        }
    }

    /// Whether this is a [`Failure::skip`].
    #[must_use]
    pub fn is_skip(&self) -> bool {
        self.skip
    }

    /// The message.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<crate::terraform::Error> for Failure {
    fn from(error: crate::terraform::Error) -> Self {
        Self::new(crate::errors::chain(&error))
    }
}

impl From<kube::Error> for Failure {
    fn from(error: kube::Error) -> Self {
        Self::new(format!("kubernetes API: {}", crate::errors::chain(&error)))
    }
}

/// Returns a [`Failure`] from the enclosing function unless `cond` holds; the message is
/// `format!`'s arguments.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err($crate::conformance::Failure::new(format!($($arg)+)));
        }
    };
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
