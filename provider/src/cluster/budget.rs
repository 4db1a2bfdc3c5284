//! [`within`]: the deadline and stop signal every cluster request of an operation races.
//!
//! A Terraform operation (an apply of one resource, a refresh, a plan) has a deadline (its
//! `timeouts` block) and can be stopped (Ctrl-C, the `Stop` RPC). Rather than threading both
//! through every call, the operation runs inside [`within`], and every request of this module
//! (apply, read, list, delete, the reads of a wait, the retries' back-off sleeps) reads them
//! from the task and gives up when either fires: a cluster that accepts connections and never
//! answers cannot hold an apply past its `timeouts`, nor past Ctrl-C. Scopes nest: the
//! innermost wins. Outside any scope (tests, tools) requests are bounded by the client's read
//! timeout only.

use std::future::Future;

use tokio::time::Instant;

use crate::stop::StopToken;

tokio::task_local! {
    static BUDGET: Budget;
}

/// An operation's deadline and stop signal.
#[derive(Clone, Debug)]
pub struct Budget {
    /// When the operation runs out of time; `None`: no deadline of its own.
    pub deadline: Option<Instant>,
    /// Terraform's stop signal.
    pub stop: StopToken,
}

/// Runs `operation` with `deadline` and `stop` as the budget of every cluster request it
/// makes (on this task).
pub async fn within<F: Future>(
    deadline: Option<Instant>,
    stop: StopToken,
    operation: F,
) -> F::Output {
    BUDGET.scope(Budget { deadline, stop }, operation).await
}

/// The budget of the running operation, if it runs inside [`within`].
pub(super) fn current() -> Option<Budget> {
    BUDGET.try_with(Clone::clone).ok()
}

/// How a budgeted request ended early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interrupted {
    /// The deadline passed.
    Deadline,
    /// Terraform asked the provider to stop.
    Stopped,
}

/// Runs `request` under the current budget: its output, or why it was cut short.
///
/// # Cancel safety
///
/// As cancel safe as `request`: when the budget ends first, `request` is dropped.
pub(super) async fn race<T>(request: impl Future<Output = T>) -> Result<T, Interrupted> {
    let Some(budget) = current() else {
        return Ok(request.await);
    };
    let deadline = async {
        match budget.deadline {
            Some(deadline) => tokio::time::sleep_until(deadline).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        biased;
        () = budget.stop.stopped() => Err(Interrupted::Stopped),
        () = deadline => Err(Interrupted::Deadline),
        output = request => Ok(output),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_request_that_never_answers_ends_at_the_deadline() {
        let deadline = Instant::now() + Duration::from_secs(30);
        let ended = within(
            Some(deadline),
            StopToken::never(),
            race(std::future::pending::<()>()),
        )
        .await;
        assert_eq!(ended, Err(Interrupted::Deadline));
    }

    #[tokio::test]
    async fn a_request_that_never_answers_ends_on_stop() {
        let (tx, stop) = StopToken::new();
        tx.send(true).unwrap();
        let ended = within(None, stop, race(std::future::pending::<()>())).await;
        assert_eq!(ended, Err(Interrupted::Stopped));
    }

    #[tokio::test]
    async fn without_a_budget_a_request_runs_to_its_end() {
        assert_eq!(race(async { 7 }).await, Ok(7));
    }

    #[tokio::test(start_paused = true)]
    async fn the_innermost_scope_decides() {
        let far = Instant::now() + Duration::from_secs(3600);
        let near = Instant::now() + Duration::from_secs(1);
        let ended = within(Some(far), StopToken::never(), async {
            within(
                Some(near),
                StopToken::never(),
                race(std::future::pending::<()>()),
            )
            .await
        })
        .await;
        assert_eq!(ended, Err(Interrupted::Deadline));
        assert!(Instant::now() < far);
    }
}
