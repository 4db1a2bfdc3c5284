//! [`Failure`]: the first broken expectation of a scenario, or why it cannot run on a
//! target, and [`ensure!`](crate::ensure), which returns one from a scenario in one line.

use std::fmt;

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
