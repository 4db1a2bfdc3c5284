//! Runs the selected scenarios against one target, once per Terraform binary, and turns what
//! happened into [`SuiteResult`]s: skips a scenario whose capabilities the backend lacks
//! or that would upgrade the operator without `allow_operator_upgrade`,
//! runs up to `parallel` scenarios at once (one that [runs alone](Scenario::runs_alone) waits
//! for the others and runs by itself), cleans up after each one (destroys what it applied,
//! deletes the run's namespaces it named; with `keep_on_failure` not after a failure),
//! catches a panicking scenario as a failure, skips what has not started once the run is
//! interrupted, and redacts every secret of the run from messages and evidence.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::capability::{Capabilities, Capability};
use super::context::{self, Context};
use super::interrupt;
use super::namespaces;
use super::output::Output;
use super::result::{CaseResult, Outcome, SuiteResult};
use super::scenario::{OperatorUpgrade, Scenario};
use super::select::is_selected;
use super::target::Target;
use crate::secrets::SecretScanner;
use crate::terraform::TerraformBinary;

/// How long the runner waits for a namespace it deletes to go.
pub const NAMESPACE_TIMEOUT: Duration = Duration::from_secs(120);

/// What one run of the suite uses, besides the scenarios.
pub struct Runner<'a> {
    /// `local` or `existing`.
    pub backend: &'a str,
    /// The clusters.
    pub target: &'a Target,
    /// What the backend can do besides.
    pub capabilities: &'a Capabilities,
    /// The provider's directory.
    pub provider_dir: &'a Path,
    /// Where each scenario gets a directory (`<dir>/<terraform>/<scenario id>`).
    pub work_dir: &'a Path,
    /// The run's namespace prefix (`cf-1a2b3c`).
    pub prefix: &'a str,
    /// `--scenario` globs.
    pub include: &'a [String],
    /// `--skip` globs.
    pub skip: &'a [String],
    /// Leave what a failed scenario made.
    pub keep_on_failure: bool,
    /// How many scenarios may run at once (at least one).
    pub parallel: usize,
    /// Whether scenarios may upgrade the target's operator (`--allow-operator-upgrade`;
    /// always on the local backend).
    pub allow_operator_upgrade: bool,
    /// The run's `SECRET_KEY` and `DATABASE_SECRET_KEY`.
    pub secret_keys: (&'a str, &'a str),
    /// Every secret of the run.
    pub scanner: &'a SecretScanner,
    /// The terminal.
    pub output: &'a Output,
    /// The runtime kube-rs and HTTP calls run on.
    pub runtime: &'a tokio::runtime::Handle,
}

impl Runner<'_> {
    /// The selected scenarios of `catalogue`, in order.
    #[must_use]
    pub fn selected<'s>(&self, catalogue: &'s [Scenario]) -> Vec<&'s Scenario> {
        catalogue
            .iter()
            .filter(|s| is_selected(&s.id, self.include, self.skip))
            .collect()
    }

    /// Runs the selected scenarios with `terraform`. Blocking: call it off the runtime's
    /// worker threads (`spawn_blocking`).
    #[must_use]
    pub fn run(&self, catalogue: &[Scenario], terraform: &TerraformBinary) -> SuiteResult {
        let started = Instant::now();
        let started_at = jiff::Timestamp::now()
            .round(jiff::Unit::Second)
            .map_or_else(|_| jiff::Timestamp::now().to_string(), |t| t.to_string());
        let selected = self.selected(catalogue);
        let total = selected.len();
        self.output.set_total(total);
        self.output.line(&format!(
            "{} scenarios on {} ({}) with {terraform}{}",
            total,
            self.target.name,
            self.backend,
            if self.parallel > 1 {
                format!(", up to {} at once", self.parallel)
            } else {
                String::new()
            }
        ));
        let slots: Vec<Mutex<Option<CaseResult>>> = (0..total).map(|_| Mutex::new(None)).collect();
        let finish = |i: usize, case: CaseResult| {
            self.output.line(&case_line(&case));
            self.output.advance();
            *slots[i].lock().unwrap_or_else(PoisonError::into_inner) = Some(case);
        };
        for batch in batches(&selected, &self.capabilities.present()) {
            let workers = self.parallel.clamp(1, batch.len().max(1));
            if workers == 1 {
                for i in batch {
                    finish(i, self.run_one(selected[i], terraform, i + 1, total));
                }
                continue;
            }
            let next = AtomicUsize::new(0);
            std::thread::scope(|scope| {
                for _ in 0..workers {
                    scope.spawn(|| {
                        while let Some(&i) = batch.get(next.fetch_add(1, Ordering::SeqCst)) {
                            finish(i, self.run_one(selected[i], terraform, i + 1, total));
                        }
                    });
                }
            });
        }
        let cases = slots
            .into_iter()
            .filter_map(|slot| slot.into_inner().unwrap_or_else(PoisonError::into_inner))
            .collect();
        SuiteResult {
            backend: self.backend.to_owned(),
            target: self.target.name.clone(),
            terraform: terraform.version.to_string(),
            started_at,
            seconds: started.elapsed().as_secs_f64(),
            cases,
        }
    }

    fn run_one(
        &self,
        scenario: &Scenario,
        terraform: &TerraformBinary,
        index: usize,
        total: usize,
    ) -> CaseResult {
        let redact = |text: &str| self.scanner.redact(text);
        let mut case = CaseResult {
            id: scenario.id.clone(),
            claim: scenario.claim.clone(),
            outcome: Outcome::Passed,
            seconds: 0.0,
            evidence: String::new(),
        };
        if let Some(missing) = self.capabilities.first_missing(&scenario.needs) {
            case.outcome = Outcome::Skipped {
                reason: format!("needs {missing}"),
            };
            return case;
        }
        if interrupt::requested() {
            case.outcome = Outcome::Skipped {
                reason: INTERRUPTED.to_owned(),
            };
            return case;
        }
        if scenario.operator_upgrade == OperatorUpgrade::Required && !self.allow_operator_upgrade {
            case.outcome = Outcome::Skipped {
                reason: "needs --allow-operator-upgrade (it upgrades the operator of every site \
                         one minor)"
                    .to_owned(),
            };
            return case;
        }
        let start = Instant::now();
        let dir = self
            .work_dir
            .join(terraform.version.to_string())
            .join(&scenario.id);
        let progress = |step: &str| self.output.step(index, total, &scenario.id, step);
        let mut ctx = Context {
            target: self.target,
            capabilities: self.capabilities,
            terraform,
            provider_dir: self.provider_dir,
            runtime: self.runtime,
            dir: dir.clone(),
            prefix: self.prefix,
            scenario: &scenario.id,
            progress: &progress,
            evidence: Vec::new(),
            applied: Vec::new(),
            namespaces: Vec::new(),
            operator_upgrade_allowed: self.allow_operator_upgrade,
            secret_key: self.secret_keys.0,
            database_secret_key: self.secret_keys.1,
            ledger_baseline: self
                .capabilities
                .ledger
                .as_ref()
                .map_or(0, |l| l.violations().len()),
        };
        progress("starting");
        let mut skipped = None;
        let result = match catch_unwind(AssertUnwindSafe(|| scenario.run(&mut ctx))) {
            Ok(Err(failure)) if failure.is_skip() => {
                skipped = Some(failure.message().to_owned());
                Ok(())
            }
            Ok(result) => result.map_err(|f| f.message().to_owned()),
            Err(panic) => Err(format!(
                "the scenario panicked (a bug of the suite): {}",
                panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("no message")
            )),
        };
        let failed = result.is_err();
        let undeclared: Vec<&String> = ctx
            .namespaces
            .iter()
            .filter(|n| {
                !scenario
                    .namespaces
                    .iter()
                    .any(|s| **n == format!("{}-{s}", self.prefix))
            })
            .collect();
        if !scenario.namespaces.is_empty() && !undeclared.is_empty() {
            ctx.evidence.push(format!(
                "named namespaces it does not declare (--dry-run does not show them): {undeclared:?}"
            ));
        }
        if failed && self.keep_on_failure {
            ctx.evidence.push(format!(
                "kept for inspection: {} and namespaces {:?}",
                dir.display(),
                ctx.namespaces
            ));
        } else {
            progress("cleaning up");
            let problems = cleanup(&mut ctx);
            if !problems.is_empty() {
                ctx.evidence
                    .push(format!("cleanup problems: {}", problems.join("; ")));
            }
            match std::fs::remove_dir_all(&dir) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    ctx.evidence.push(format!("remove {}: {e}", dir.display()));
                }
                _ => {}
            }
            if !failed && !problems.is_empty() {
                case.outcome = Outcome::Failed {
                    message: redact(&format!("cleanup failed: {}", problems[0])),
                };
            }
        }
        if let Err(message) = result {
            case.outcome = Outcome::Failed {
                message: redact(&message),
            };
        } else if let Some(reason) = skipped.filter(|_| case.outcome == Outcome::Passed) {
            case.outcome = Outcome::Skipped {
                reason: redact(&reason),
            };
        }
        case.evidence = redact(&ctx.evidence.join("\n"));
        case.seconds = start.elapsed().as_secs_f64();
        case
    }
}

/// Destroys what `ctx` applied (last first) and deletes the namespaces it named; returns
/// what went wrong.
fn cleanup(ctx: &mut Context<'_>) -> Vec<String> {
    let mut problems = Vec::new();
    while let Some(dir) = ctx.applied.pop() {
        match dir.destroy() {
            Ok(outcome) if outcome.succeeded() => {}
            Ok(outcome) => problems.push(format!(
                "terraform destroy in {}: {}",
                dir.path().display(),
                context::first_error(&outcome.events)
            )),
            Err(e) => problems.push(crate::errors::chain(&e)),
        }
    }
    let namespaces = std::mem::take(&mut ctx.namespaces);
    problems.extend(ctx.block_on(namespaces::delete(
        ctx.target,
        &namespaces,
        ctx.prefix,
        NAMESPACE_TIMEOUT,
    )));
    problems
}

/// Why a scenario did not start: the run was interrupted.
pub const INTERRUPTED: &str = "the run was interrupted before it started";

/// The line printed when a scenario is done.
fn case_line(case: &CaseResult) -> String {
    match &case.outcome {
        Outcome::Passed => format!("PASS {} ({:.1} s)", case.id, case.seconds),
        Outcome::Failed { message } => {
            format!("FAIL {} ({:.1} s): {message}", case.id, case.seconds)
        }
        Outcome::Skipped { reason } => format!("SKIP {}: {reason}", case.id),
    }
}

/// The selected scenarios (indexes into `selected`) in groups that may run side by side, in
/// order: a scenario that runs alone on this backend is a group of its own.
#[must_use]
pub fn batches(selected: &[&Scenario], present: &[Capability]) -> Vec<Vec<usize>> {
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let mut current = Vec::new();
    for (i, scenario) in selected.iter().enumerate() {
        if scenario.runs_alone(present) {
            if !current.is_empty() {
                batches.push(std::mem::take(&mut current));
            }
            batches.push(vec![i]);
        } else {
            current.push(i);
        }
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// A fresh run prefix: `cf-` and six random hex digits.
///
/// # Errors
/// No random bytes are available.
pub fn new_prefix() -> Result<String, getrandom::Error> {
    let mut bytes = [0_u8; 3];
    getrandom::fill(&mut bytes)?;
    Ok(format!("cf-{}", hex::encode(bytes)))
}

/// 48 random hex characters: a `SECRET_KEY` or `DATABASE_SECRET_KEY`.
///
/// # Errors
/// No random bytes are available.
pub fn random_key() -> Result<String, getrandom::Error> {
    let mut bytes = [0_u8; 24];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

/// Where scenarios put their directories when the caller names none.
#[must_use]
pub fn default_work_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("conformance")
}

#[cfg(test)]
mod tests;
