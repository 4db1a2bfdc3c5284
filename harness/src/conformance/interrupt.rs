//! Ctrl-C (SIGINT) and SIGTERM during a run: the first stops the Terraform commands that run
//! ([`crate::terraform::interrupt_running`]: they stop as on Ctrl-C at a terminal and save
//! their state), makes every wait of a scenario give up, and lets the runner clean up as
//! after a failure (destroy what was applied, delete the run's namespaces, unless
//! `--keep-on-failure`) and skip the scenarios not started; a second one exits at once,
//! printing how to delete what is left by the run's label.
//!
//! The flag is process-wide: only the `conformance` command sets it (through
//! [`watch`]), never a test of the library.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::namespaces::RUN_LABEL;
use super::output::Output;

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Asks the run to stop: sets the flag and interrupts the running Terraform commands.
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
    crate::terraform::interrupt_running();
}

/// Whether the run was asked to stop.
#[must_use]
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Waits for SIGINT or SIGTERM for the rest of the process: the first calls [`request`],
/// the second exits with status 130. `run` is the run's prefix (its label value).
///
/// # Errors
/// The signal handlers could not be installed.
pub fn watch(output: Arc<Output>, run: String) -> std::io::Result<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(tokio::spawn(async move {
        let mut count = 0;
        loop {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            count += 1;
            if count == 1 {
                output.line(
                    "interrupted: stopping Terraform, then destroying what the run applied and \
                     deleting its namespaces (interrupt again to exit at once)",
                );
                request();
            } else {
                output.line(&format!(
                    "interrupted again: exiting now; what is left on each site is in the \
                     namespaces named {run}-*, most labelled {RUN_LABEL}={run} \
                     (`kubectl delete namespace -l {RUN_LABEL}={run}`)"
                ));
                output.finish();
                std::process::exit(130);
            }
        }
    }))
}
