//! What a run prints while it runs: on a terminal an indicatif progress bar (scenario and
//! step) with a line per finished scenario above it; elsewhere (CI, a pipe, a test) plain
//! lines with the time since the start. Every line passes through the run's
//! [`SecretScanner::redact`] first.

use std::io::{IsTerminal as _, Write};
use std::sync::Mutex;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::secrets::SecretScanner;

/// The run's terminal output.
pub struct Output {
    scanner: Mutex<SecretScanner>,
    sink: Mutex<Box<dyn Write + Send>>,
    bar: Option<ProgressBar>,
    start: Instant,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Output")
            .field("terminal", &self.bar.is_some())
            .finish_non_exhaustive()
    }
}

impl Output {
    /// To stdout: a progress bar when stdout is a terminal, plain lines otherwise.
    #[must_use]
    pub fn stdout() -> Self {
        let terminal = std::io::stdout().is_terminal();
        let bar = terminal.then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stdout());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{pos}/{len}] {elapsed_precise} {wide_msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            bar
        });
        Self {
            scanner: Mutex::new(SecretScanner::new()),
            sink: Mutex::new(Box::new(std::io::stdout())),
            bar,
            start: Instant::now(),
        }
    }

    /// Plain lines into `sink` (tests read what a CI log would show).
    #[must_use]
    pub fn plain(sink: Box<dyn Write + Send>) -> Self {
        Self {
            scanner: Mutex::new(SecretScanner::new()),
            sink: Mutex::new(sink),
            bar: None,
            start: Instant::now(),
        }
    }

    /// Uses `scanner` to redact from now on (the run's secrets are known once its target is).
    pub fn set_scanner(&self, scanner: SecretScanner) {
        *self
            .scanner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = scanner;
    }

    /// The scanner in use: every secret of the run, once the run knows its target.
    #[must_use]
    pub fn scanner(&self) -> SecretScanner {
        self.scanner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn redact(&self, text: &str) -> String {
        self.scanner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .redact(text)
    }

    /// Prints a line (above the bar on a terminal).
    pub fn line(&self, text: &str) {
        let text = self.redact(text);
        if let Some(bar) = &self.bar {
            bar.println(text);
        } else {
            let mut sink = self
                .sink
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // A closed stdout must not fail the run; the reports still get written.
            let _ = writeln!(sink, "{text}");
            let _ = sink.flush();
        }
    }

    /// Sets how many scenarios the bar counts.
    pub fn set_total(&self, total: usize) {
        if let Some(bar) = &self.bar {
            bar.set_length(total as u64);
            bar.set_position(0);
        }
    }

    /// Shows the step `step` of scenario `index` (1-based) of `total`, `id`.
    pub fn step(&self, index: usize, total: usize, id: &str, step: &str) {
        let text = self.redact(&format!("{id}: {step}"));
        if let Some(bar) = &self.bar {
            bar.set_message(text);
        } else {
            self.line(&format!(
                "[{index}/{total} +{:.1}s] {text}",
                self.start.elapsed().as_secs_f64()
            ));
        }
    }

    /// Counts one scenario as done.
    pub fn advance(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// Removes the bar (before the summary).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
