//! `georep-harness conformance`: runs the conformance suite ([`crate::conformance`]) on the
//! local backend (started for the run) or on the clusters of a target file, prints progress
//! and a line per scenario, writes the JUnit, Markdown and JSON reports asked for, and ends
//! with the tally and the wall time. `--list` prints every scenario's id and claim instead,
//! `--dry-run` what a run would create where.

use std::path::PathBuf;
use std::sync::Arc;

use crate::conformance::scenario::OperatorUpgrade;
use crate::conformance::{self, Backend, Options, Output, RunResult, report};

/// Arguments of `conformance`.
#[derive(Debug, Clone, clap::Args)]
pub struct ConformanceArgs {
    /// `local`: start simulated clusters with real PostgreSQL, Redis and S3 for the run;
    /// `existing`: the clusters named by `--target`; `kind`: the clusters of
    /// `up --backend kind` (its `conformance-target.yaml`, in `--state-dir`).
    #[arg(long, value_enum, default_value = "local")]
    pub backend: Backend,
    /// The target file (YAML) of the `existing` backend; `georep-harness up` writes one
    /// into its state dir (`conformance-target.yaml`).
    #[arg(long)]
    pub target: Option<PathBuf>,
    /// Run only the scenarios whose id matches one of these globs (`*`, `?`).
    #[arg(long = "scenario", value_name = "GLOB")]
    pub scenarios: Vec<String>,
    /// Leave out the scenarios whose id matches one of these globs.
    #[arg(long = "skip", value_name = "GLOB")]
    pub skip: Vec<String>,
    /// Print each selected scenario's id, claim and needed capabilities, and run nothing.
    #[arg(long)]
    pub list: bool,
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Write a Markdown report here (for a CI job summary).
    #[arg(long, value_name = "PATH")]
    pub markdown: Option<PathBuf>,
    /// Write a JSON report here.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// A Terraform executable; repeat to run the suite once per version. Default: the
    /// target's, else `.cache/terraform/1.0.3/terraform` under the repository, else PATH.
    #[arg(long = "terraform", value_name = "PATH")]
    pub terraform: Vec<PathBuf>,
    /// The directory holding `terraform-provider-quay`. Default: the target's, else this
    /// executable's directory if it holds one, else `<repo>/target/debug`.
    #[arg(long)]
    pub provider_dir: Option<PathBuf>,
    /// Leave what a failed scenario made (its namespace, its Terraform directory) for
    /// inspection; also after Ctrl-C.
    #[arg(long)]
    pub keep_on_failure: bool,
    /// Run up to N plan-only scenarios (the BADINPUT rows) at once; every scenario that
    /// installs a site still runs alone (its migration Job runs against the one shared
    /// database, and the safety ledger checks all sites as one deployment).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
    /// Print what the run would create where (contexts, namespaces, objects, labels,
    /// directories) and run nothing: no backend, no Terraform, no cluster contacted.
    #[arg(long)]
    pub dry_run: bool,
    /// Let the scenarios that upgrade the target's Quay Operator (and migrate its shared
    /// database) run on the `existing` backend: they take every site one minor up, which
    /// cannot be undone. Without it they are skipped there; the `local` backend, started for
    /// the run and thrown away after, always allows them.
    #[arg(long)]
    pub allow_operator_upgrade: bool,
    /// Where the local backend and the Terraform directories go (with `--backend kind`: the
    /// state dir of `up --backend kind`, default `<repo>/.cache/georep-kind`). Default: a
    /// new temporary directory.
    #[arg(long, env = "GEOREP_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

/// `conformance` could not run or write a report.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The run could not happen.
    #[error("run the conformance suite")]
    Run(#[from] conformance::Error),
    /// A report could not be written.
    #[error("write a report")]
    Report(#[from] report::Error),
}

/// The lines of `--list`.
#[must_use]
pub fn list(args: &ConformanceArgs) -> String {
    let mut text = String::new();
    for scenario in conformance::scenarios::catalogue() {
        if !conformance::select::is_selected(&scenario.id, &args.scenarios, &args.skip) {
            continue;
        }
        let needs = if scenario.needs.is_empty() {
            String::new()
        } else {
            let names: Vec<&str> = scenario.needs.iter().map(|c| c.name()).collect();
            format!(" [needs {}]", names.join(", "))
        };
        let needs = match (scenario.operator_upgrade, scenario.migrates_database) {
            (OperatorUpgrade::Required, _) => format!("{needs} [upgrades the operator]"),
            (OperatorUpgrade::IfAllowed, _) => {
                format!("{needs} [upgrades the operator if allowed]")
            }
            (OperatorUpgrade::No, true) => format!("{needs} [migrates the database]"),
            (OperatorUpgrade::No, false) => needs,
        };
        text.push_str(&format!("{}{needs}\n    {}\n", scenario.id, scenario.claim));
    }
    text
}

/// Runs the suite (or lists it), writes the reports and prints the tally and wall time.
/// The caller turns [`RunResult::passed`] into the exit status.
///
/// # Errors
/// Any [`Error`].
pub async fn run(args: &ConformanceArgs, output: Arc<Output>) -> Result<Option<RunResult>, Error> {
    if args.list {
        output.line(list(args).trim_end());
        return Ok(None);
    }
    let opts = options(args);
    if args.dry_run {
        output.line(conformance::dry_run::dry_run(&opts)?.trim_end());
        return Ok(None);
    }
    let result = conformance::run(&opts, Arc::clone(&output)).await?;
    finish(args, &output, &result)?;
    Ok(Some(result))
}

/// The run's options from the command line.
#[must_use]
pub fn options(args: &ConformanceArgs) -> Options {
    Options {
        backend: args.backend,
        target: args.target.clone(),
        include: args.scenarios.clone(),
        skip: args.skip.clone(),
        terraform: args.terraform.clone(),
        provider_dir: args.provider_dir.clone(),
        keep_on_failure: args.keep_on_failure,
        parallel: usize::from(args.parallel),
        handle_interrupts: true,
        allow_operator_upgrade: args.allow_operator_upgrade,
        state_dir: args.state_dir.clone(),
    }
}

/// Writes the reports asked for and prints the skips, the tally and the wall time.
fn finish(args: &ConformanceArgs, output: &Output, result: &RunResult) -> Result<(), Error> {
    for (kind, path, text) in [
        (
            "JUnit",
            &args.junit,
            report::junit as fn(&RunResult) -> String,
        ),
        ("Markdown", &args.markdown, report::markdown),
        ("JSON", &args.json, report::json),
    ] {
        if let Some(path) = path {
            report::write(kind, path, &text(result))?;
            output.line(&format!("{kind} report: {}", path.display()));
        }
    }
    for suite in &result.suites {
        for case in &suite.cases {
            if let conformance::Outcome::Skipped { reason } = &case.outcome {
                output.line(&format!("skipped: {} ({reason})", case.id));
            }
        }
    }
    output.line(&format!(
        "conformance {}: {}; wall time {:.1} s",
        if conformance::interrupt::requested() {
            "INTERRUPTED"
        } else if result.passed() {
            "passed"
        } else {
            "FAILED"
        },
        result.tally(),
        result.wall_seconds
    ));
    Ok(())
}
