//! The one result model every report is written from: a run holds one suite per backend and
//! Terraform version, a suite one case per selected scenario. Every text in it (failure
//! messages, evidence) has had the run's secrets redacted by the runner before it got here,
//! so a report can print any of it.

use serde::{Deserialize, Serialize};

/// What became of one scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "lowercase")]
pub enum Outcome {
    /// Every expectation held.
    Passed,
    /// An expectation broke (or the scenario could not run).
    Failed {
        /// The first broken expectation.
        message: String,
    },
    /// Not run.
    Skipped {
        /// Why, e.g. `needs safety-ledger`.
        reason: String,
    },
}

impl Outcome {
    /// `passed`, `failed` or `skipped`.
    #[must_use]
    pub fn word(&self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::Failed { .. } => "failed",
            Self::Skipped { .. } => "skipped",
        }
    }
}

/// One scenario's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    /// The scenario's stable id.
    pub id: String,
    /// Its claim, one sentence.
    pub claim: String,
    /// What became of it.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// How long it ran, in seconds.
    pub seconds: f64,
    /// What it saw: steps, Terraform output, conditions, ledger lines (secrets redacted).
    pub evidence: String,
}

/// The cases of one backend and one Terraform version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteResult {
    /// `local` or `existing`.
    pub backend: String,
    /// The target's name.
    pub target: String,
    /// The Terraform version the cases ran with.
    pub terraform: String,
    /// When the suite started (RFC 3339, UTC).
    pub started_at: String,
    /// How long the suite ran, in seconds.
    pub seconds: f64,
    /// One case per selected scenario, in catalogue order.
    pub cases: Vec<CaseResult>,
}

impl SuiteResult {
    /// The suite's name in reports: `conformance <backend> terraform <version>`.
    #[must_use]
    pub fn name(&self) -> String {
        format!("conformance {} terraform {}", self.backend, self.terraform)
    }

    /// How many cases had `word` (`passed`, `failed`, `skipped`) as outcome.
    #[must_use]
    pub fn count(&self, word: &str) -> usize {
        self.cases
            .iter()
            .filter(|c| c.outcome.word() == word)
            .count()
    }
}

/// A whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// One suite per Terraform version.
    pub suites: Vec<SuiteResult>,
    /// The run's wall time, in seconds (backend start and stop included).
    pub wall_seconds: f64,
}

impl RunResult {
    /// Whether no selected scenario failed and at least one ran.
    #[must_use]
    pub fn passed(&self) -> bool {
        let cases = || self.suites.iter().flat_map(|s| &s.cases);
        cases().all(|c| !matches!(c.outcome, Outcome::Failed { .. }))
            && cases().any(|c| c.outcome == Outcome::Passed)
    }

    /// How many cases had `word` as outcome, over every suite.
    #[must_use]
    pub fn count(&self, word: &str) -> usize {
        self.suites.iter().map(|s| s.count(word)).sum()
    }

    /// `N passed, N failed, N skipped`: the closing line of the terminal output.
    #[must_use]
    pub fn tally(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped",
            self.count("passed"),
            self.count("failed"),
            self.count("skipped")
        )
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A run with a passed, a failed and a skipped case, whose texts need escaping.
    pub(crate) fn sample() -> RunResult {
        RunResult {
            suites: vec![SuiteResult {
                backend: "local".to_owned(),
                target: "local".to_owned(),
                terraform: "1.0.3".to_owned(),
                started_at: "2026-12-06T15:00:00Z".to_owned(),
                seconds: 12.5,
                cases: vec![
                    CaseResult {
                        id: "SCEN-three-sites".to_owned(),
                        claim: "Three sites converge with the same config hash.".to_owned(),
                        outcome: Outcome::Passed,
                        seconds: 10.25,
                        evidence: "apply: 3 added\nhash sha256:ab".to_owned(),
                    },
                    CaseResult {
                        id: "BADINPUT-<odd> & \"quoted\"".to_owned(),
                        claim: "A bad input is refused.".to_owned(),
                        outcome: Outcome::Failed {
                            message: "expected one \"Invalid\" <diagnostic> & got 0".to_owned(),
                        },
                        seconds: 1.0,
                        evidence: "plan stderr: ]]> \u{1b}[31mred\u{1b}[0m\u{7}".to_owned(),
                    },
                    CaseResult {
                        id: "FAULT-api-500".to_owned(),
                        claim: "API errors are survived.".to_owned(),
                        outcome: Outcome::Skipped {
                            reason: "needs fault-injection".to_owned(),
                        },
                        seconds: 0.0,
                        evidence: String::new(),
                    },
                ],
            }],
            wall_seconds: 20.0,
        }
    }

    #[test]
    fn a_failed_case_fails_the_run_and_a_skipped_one_does_not() {
        let mut run = sample();
        assert!(!run.passed());
        assert_eq!(run.tally(), "1 passed, 1 failed, 1 skipped");
        run.suites[0].cases.remove(1);
        assert!(run.passed());
        run.suites[0].cases.remove(0);
        assert!(!run.passed(), "a run that passed nothing proves nothing");
    }
}
