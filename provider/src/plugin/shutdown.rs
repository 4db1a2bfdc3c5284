//! When the server stops: a one-shot shutdown trigger and the process signal handlers.
//!
//! Three things end a provider process: Terraform's `GRPCController.Shutdown` call (the
//! normal end of every phase), SIGTERM, and, in `--debug` mode only, Ctrl-C. Launched by
//! Terraform, SIGINT is ignored like go-plugin servers do: the whole process group receives
//! Ctrl-C, and Terraform answers it by calling the `Stop` RPC, which cancels work without
//! killing the process.
//!
//! This file does not serve anything: [`crate::plugin::serve()`] waits on [`ShutdownSignal`].

use std::fmt;

use tokio::sync::watch;

/// Why the server is shutting down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownReason {
    /// Terraform called `plugin.GRPCController/Shutdown`.
    ControllerShutdown,
    /// The process received SIGTERM.
    Terminated,
    /// The process received Ctrl-C (SIGINT) in `--debug` mode.
    Interrupted,
}

impl fmt::Display for ShutdownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ControllerShutdown => "GRPCController.Shutdown called",
            Self::Terminated => "SIGTERM received",
            Self::Interrupted => "interrupted",
        })
    }
}

/// Starts a shutdown; cheap to clone. The first trigger wins, later ones are ignored.
#[derive(Debug, Clone)]
pub struct ShutdownTrigger {
    sender: watch::Sender<Option<ShutdownReason>>,
}

/// Completes once a [`ShutdownTrigger`] has fired.
#[derive(Debug, Clone)]
pub struct ShutdownSignal {
    receiver: watch::Receiver<Option<ShutdownReason>>,
}

/// A connected trigger and signal.
#[must_use]
pub fn channel() -> (ShutdownTrigger, ShutdownSignal) {
    let (sender, receiver) = watch::channel(None);
    (ShutdownTrigger { sender }, ShutdownSignal { receiver })
}

impl ShutdownTrigger {
    /// Requests a shutdown for `reason`, unless one was already requested.
    pub fn trigger(&self, reason: ShutdownReason) {
        self.sender.send_if_modified(|current| {
            if current.is_some() {
                return false;
            }
            *current = Some(reason);
            true
        });
    }
}

impl ShutdownSignal {
    /// The reason of the shutdown, if one was requested.
    #[must_use]
    pub fn reason(&self) -> Option<ShutdownReason> {
        *self.receiver.borrow()
    }

    /// Waits until a shutdown is requested and returns its reason.
    ///
    /// If every [`ShutdownTrigger`] is dropped without firing, this waits forever: nothing
    /// can stop the server any more except the process ending.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future loses nothing.
    pub async fn wait(mut self) -> ShutdownReason {
        let reason = match self.receiver.wait_for(Option::is_some).await {
            Ok(reason) => *reason,
            Err(_closed) => None,
        };
        match reason {
            Some(reason) => reason,
            None => std::future::pending().await,
        }
    }
}

/// What Ctrl-C (SIGINT) does to the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnInterrupt {
    /// Ignore it: Terraform sends the `Stop` RPC instead (launched by Terraform).
    Ignore,
    /// Shut down (`--debug` mode, where a person runs the process).
    Shutdown,
}

/// Installs the SIGINT and SIGTERM handlers on the current tokio runtime.
///
/// Once installed, SIGINT no longer kills the process; what it does is `on_interrupt`.
/// SIGTERM always triggers a graceful shutdown.
///
/// # Errors
///
/// When the runtime cannot register a signal handler.
pub fn install_signal_handlers(
    trigger: &ShutdownTrigger,
    on_interrupt: OnInterrupt,
) -> std::io::Result<()> {
    imp::install(trigger, on_interrupt)
}

#[cfg(unix)]
mod imp {
    use tokio::signal::unix::{SignalKind, signal};

    use crate::plugin::shutdown::{OnInterrupt, ShutdownReason, ShutdownTrigger};

    pub(super) fn install(
        trigger: &ShutdownTrigger,
        on_interrupt: OnInterrupt,
    ) -> std::io::Result<()> {
        let mut interrupts = signal(SignalKind::interrupt())?;
        let mut terminations = signal(SignalKind::terminate())?;
        let on_int = trigger.clone();
        tokio::spawn(async move {
            while interrupts.recv().await.is_some() {
                match on_interrupt {
                    OnInterrupt::Ignore => {
                        tracing::debug!("ignoring SIGINT: Terraform cancels work with Stop");
                    }
                    OnInterrupt::Shutdown => on_int.trigger(ShutdownReason::Interrupted),
                }
            }
        });
        let on_term = trigger.clone();
        tokio::spawn(async move {
            if terminations.recv().await.is_some() {
                on_term.trigger(ShutdownReason::Terminated);
            }
        });
        Ok(())
    }
}

#[cfg(not(unix))]
mod imp {
    use crate::plugin::shutdown::{OnInterrupt, ShutdownReason, ShutdownTrigger};

    pub(super) fn install(
        trigger: &ShutdownTrigger,
        on_interrupt: OnInterrupt,
    ) -> std::io::Result<()> {
        let trigger = trigger.clone();
        tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                if on_interrupt == OnInterrupt::Shutdown {
                    trigger.trigger(ShutdownReason::Interrupted);
                }
            }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_no_reason_before_a_trigger() {
        let (_trigger, signal) = channel();
        assert_eq!(signal.reason(), None);
    }

    #[tokio::test]
    async fn first_trigger_wins() {
        let (trigger, signal) = channel();
        trigger.clone().trigger(ShutdownReason::ControllerShutdown);
        trigger.trigger(ShutdownReason::Terminated);
        assert_eq!(signal.reason(), Some(ShutdownReason::ControllerShutdown));
        assert_eq!(signal.wait().await, ShutdownReason::ControllerShutdown);
    }

    #[tokio::test]
    async fn wakes_a_waiter_that_started_before_the_trigger() {
        let (trigger, signal) = channel();
        let waiter = tokio::spawn(signal.wait());
        tokio::task::yield_now().await;
        trigger.trigger(ShutdownReason::Terminated);
        assert_eq!(waiter.await.unwrap(), ShutdownReason::Terminated);
    }
}
