//! The run as Markdown, fit for a CI job summary (`$GITHUB_STEP_SUMMARY`): a heading with the
//! tally per suite, a table of id, result, time and claim, then each failed case's first
//! broken expectation and evidence in a collapsed block.

use std::fmt::Write as _;

use super::text::printable;
use crate::conformance::result::{Outcome, RunResult};

/// `text` for a table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    printable(text)
        .replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// `text` inside a fenced block: a fence longer than any backtick run in it.
fn fenced(text: &str) -> String {
    let text = printable(text);
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat((longest + 1).max(3));
    format!("{fence}text\n{}\n{fence}\n", text.trim_end())
}

/// The run as Markdown.
#[must_use]
pub fn markdown(run: &RunResult) -> String {
    let mut md = format!(
        "# Conformance: {}\n\n{}; wall time {:.1} s.\n",
        if run.passed() { "passed" } else { "FAILED" },
        run.tally(),
        run.wall_seconds
    );
    for suite in &run.suites {
        let _ = write!(
            md,
            "\n## {} (target {})\n\n{} passed, {} failed, {} skipped in {:.1} s, started {}.\n\n",
            cell(&suite.name()),
            cell(&suite.target),
            suite.count("passed"),
            suite.count("failed"),
            suite.count("skipped"),
            suite.seconds,
            cell(&suite.started_at)
        );
        md.push_str("| Scenario | Result | Time | Claim |\n| --- | --- | ---: | --- |\n");
        for case in &suite.cases {
            let result = match &case.outcome {
                Outcome::Passed => "passed".to_owned(),
                Outcome::Failed { .. } => "**FAILED**".to_owned(),
                Outcome::Skipped { reason } => format!("skipped: {}", cell(reason)),
            };
            let _ = writeln!(
                md,
                "| `{}` | {result} | {:.1} s | {} |",
                cell(&case.id).replace('`', "'"),
                case.seconds,
                cell(&case.claim)
            );
        }
        for case in &suite.cases {
            if let Outcome::Failed { message } = &case.outcome {
                let _ = write!(
                    md,
                    "\n### {} failed\n\n{}\n\n<details><summary>evidence</summary>\n\n{}\n</details>\n",
                    cell(&case.id),
                    cell(message),
                    fenced(&case.evidence)
                );
            }
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::result::tests::sample;

    #[test]
    fn lists_every_case_with_its_result_and_shows_failures_with_evidence() {
        let md = markdown(&sample());
        assert!(
            md.starts_with("# Conformance: FAILED\n\n1 passed, 1 failed, 1 skipped"),
            "{md}"
        );
        assert!(
            md.contains("| `SCEN-three-sites` | passed | 10.2 s |")
                || md.contains("| `SCEN-three-sites` | passed | 10.3 s |"),
            "{md}"
        );
        assert!(md.contains("| skipped: needs fault-injection |"), "{md}");
        assert!(
            md.contains("### BADINPUT-<odd> & \"quoted\" failed"),
            "{md}"
        );
        assert!(md.contains("```text\nplan stderr: ]]> red\n```"), "{md}");
    }

    #[test]
    fn a_backtick_run_in_evidence_gets_a_longer_fence() {
        assert_eq!(fenced("a ```` b"), "`````text\na ```` b\n`````\n");
    }
}
