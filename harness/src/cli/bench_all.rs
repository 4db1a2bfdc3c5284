//! `georep-harness bench all`: every benchmark at its default size, then one Markdown table of
//! each figure beside its anchor measured in the same run on the same machine (the Go null
//! provider, `null_resource`s, the upgrade's critical path), their ratio and the target.
//!
//! Figures only: a missed target is shown, never failed on. The machine's load average before
//! and after the run is printed with the table, since other work on the machine moves every
//! figure.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::bench::{self, BenchArgs};
use crate::cli::bench_plan::{self, PlanArgs, PlanReport};
use crate::cli::bench_provider::{self, ProviderArgs, ProviderReport};
use crate::cli::bench_upgrade::{self, OperatorMethod, UpgradeArgs, UpgradeReport};

/// Arguments of `bench all`; each part's sizes default to that benchmark's own defaults.
#[derive(Debug, Clone, clap::Args)]
pub struct AllArgs {
    /// Provider start-ups to time (`bench provider --runs`).
    #[arg(long, default_value_t = 15)]
    pub startup_runs: usize,
    /// Site counts for the N-site plans (`bench plan --sizes`).
    #[arg(long, value_delimiter = ',', default_values_t = [1_usize, 3, 10, 30])]
    pub plan_sizes: Vec<usize>,
    /// Timed plans per configuration (`bench plan --runs`).
    #[arg(long, default_value_t = 5)]
    pub plan_runs: usize,
    /// Upgrades to run (`bench upgrade --runs`).
    #[arg(long, default_value_t = 5)]
    pub upgrade_runs: usize,
    /// Simulated migration time per alembic revision, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub migration_ms_per_revision: u64,
    /// A Terraform executable to measure (repeatable). Default: every Terraform under test.
    /// The upgrade runs with the first.
    #[arg(long = "terraform")]
    pub terraforms: Vec<PathBuf>,
    /// The directory holding `terraform-provider-quay` (a release build for figures worth
    /// quoting: `cargo build --release`).
    #[arg(long)]
    pub provider_dir: Option<PathBuf>,
    /// The directory holding the Go null provider.
    #[arg(long)]
    pub null_provider_dir: Option<PathBuf>,
    /// The simulated API server's benchmark.
    #[command(flatten)]
    pub sim: BenchArgs,
}

/// One benchmark of the set failed to run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `bench provider`.
    #[error("bench provider")]
    Provider(#[source] bench_provider::Error),
    /// `bench plan`.
    #[error("bench plan")]
    Plan(#[source] bench_plan::Error),
    /// `bench upgrade`.
    #[error("bench upgrade")]
    Upgrade(#[source] bench_upgrade::Error),
    /// `bench sim`.
    #[error("bench sim")]
    Sim(#[source] bench::Error),
    /// The blocking provider benchmark's thread died.
    #[error("the provider benchmark's thread failed")]
    Join(#[source] tokio::task::JoinError),
}

/// Everything measured, with the load around it.
#[derive(Debug, Clone)]
pub struct AllReport {
    /// Start-up, plans of data sources, peak memory.
    pub provider: ProviderReport,
    /// N-site plans against the local backend.
    pub plan: PlanReport,
    /// The upgrade against its critical path.
    pub upgrade: UpgradeReport,
    /// The simulated API server.
    pub sim: bench::Report,
    /// `/proc/loadavg`'s first three fields before the run, if readable.
    pub load_before: Option<String>,
    /// The same after.
    pub load_after: Option<String>,
}

/// What a figure should be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// Ours over the anchor at most this.
    RatioAtMost(f64),
    /// Ours over the anchor below this.
    RatioBelow(f64),
    /// Ours, in milliseconds, at most this.
    MillisAtMost(f64),
    /// No target: the figure is for reference.
    None,
}

/// One line of the summary table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// What was measured.
    pub figure: String,
    /// Ours, in `unit`.
    pub ours: f64,
    /// The anchor, in `unit`, where there is one.
    pub anchor: Option<f64>,
    /// `ms`, `MiB`, `req/s`, ...
    pub unit: &'static str,
    /// The target.
    pub target: Target,
}

impl Row {
    /// Ours over the anchor.
    #[must_use]
    pub fn ratio(&self) -> Option<f64> {
        self.anchor
            .filter(|a| *a > 0.0)
            .map(|anchor| self.ours / anchor)
    }

    /// Whether the target is met; `None` without a target (or without the anchor it needs).
    #[must_use]
    pub fn met(&self) -> Option<bool> {
        match self.target {
            Target::RatioAtMost(max) => self.ratio().map(|r| r <= max),
            Target::RatioBelow(max) => self.ratio().map(|r| r < max),
            Target::MillisAtMost(max) => Some(self.ours <= max),
            Target::None => None,
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied()
}

fn provider_rows(report: &ProviderReport, rows: &mut Vec<Row>) {
    rows.push(Row {
        figure: "start-up to handshake line (AutoMTLS), vs Go null provider".to_owned(),
        ours: ms(report.startup.ours.median()),
        anchor: Some(ms(report.startup.go.median())),
        unit: "ms",
        target: Target::RatioAtMost(0.1),
    });
    for plan in &report.plans {
        rows.push(Row {
            figure: format!(
                "plan, {} object(s), no state, {}, vs Go null provider",
                plan.objects, plan.terraform
            ),
            ours: ms(plan.plans.ours.median()),
            anchor: Some(ms(plan.plans.go.median())),
            unit: "ms",
            target: if plan.objects == 1 {
                Target::RatioAtMost(0.7)
            } else {
                Target::None
            },
        });
    }
    for rss in &report.rss {
        if let (Some(ours), go) = (rss.peak_kib.ours, rss.peak_kib.go) {
            rows.push(Row {
                figure: format!(
                    "peak memory (VmHWM) of a plan, {}, vs Go null provider",
                    rss.terraform
                ),
                ours: ours as f64 / 1024.0,
                anchor: go.map(|kib| kib as f64 / 1024.0),
                unit: "MiB",
                target: Target::RatioBelow(1.0),
            });
        }
    }
}

fn plan_rows(report: &PlanReport, rows: &mut Vec<Row>) {
    let mut terraforms: Vec<&str> = Vec::new();
    for row in &report.rows {
        if !terraforms.contains(&row.terraform.as_str()) {
            terraforms.push(&row.terraform);
        }
    }
    for terraform in terraforms {
        let of: Vec<_> = report
            .rows
            .iter()
            .filter(|r| r.terraform == terraform)
            .collect();
        let (Some(first), Some(last)) = (
            of.iter().min_by_key(|r| r.size),
            of.iter().max_by_key(|r| r.size),
        ) else {
            continue;
        };
        rows.push(Row {
            figure: format!(
                "plan, {n} sites, no state, TLS endpoints (no warnings), vs {n} null_resource, \
                 {terraform}",
                n = last.size
            ),
            ours: ms(last.empty_tls),
            anchor: Some(ms(last.empty.1)),
            unit: "ms",
            target: Target::None,
        });
        rows.push(Row {
            figure: format!(
                "refresh plan, {n} sites vs {n} null_resource, {terraform}",
                n = last.size
            ),
            ours: ms(last.refresh.0),
            anchor: Some(ms(last.refresh.1)),
            unit: "ms",
            target: Target::RatioAtMost(1.2),
        });
        if let Some(more) = last.size.checked_sub(first.size).filter(|n| *n > 0) {
            let slope = |pick: fn(&(Duration, Duration)) -> Duration| {
                (ms(pick(&last.refresh)) - ms(pick(&first.refresh))) / more as f64
            };
            let ours = slope(|r| r.0);
            let null = slope(|r| r.1);
            rows.push(Row {
                figure: format!(
                    "refresh plan, extra cost per site over a null_resource ({}->{}), {terraform}",
                    first.size, last.size
                ),
                ours: ours - null,
                anchor: None,
                unit: "ms",
                target: Target::MillisAtMost(3.0),
            });
        }
    }
}

fn upgrade_rows(report: &UpgradeReport, rows: &mut Vec<Row>) {
    let overheads = report
        .runs
        .iter()
        .map(|r| ms(r.upgrade.saturating_sub(r.critical_path())))
        .collect();
    let critical = report.runs.iter().map(|r| ms(r.critical_path())).collect();
    if let (Some(overhead), Some(critical)) = (median(overheads), median(critical)) {
        rows.push(Row {
            figure: format!(
                "upgrade of 3 sites, overhead over its critical path (median of {}), {}",
                report.runs.len(),
                report.terraform
            ),
            ours: overhead,
            anchor: Some(critical),
            unit: "ms",
            target: Target::MillisAtMost(300.0),
        });
    }
}

fn sim_rows(report: &bench::Report, rows: &mut Vec<Row>) {
    for m in &report.measurements {
        rows.push(Row {
            figure: format!("simulated API server: {}", m.name),
            ours: m.count as f64 / m.elapsed.as_secs_f64().max(f64::EPSILON),
            anchor: None,
            unit: match m.unit {
                "events" => "events/s",
                _ => "req/s",
            },
            target: Target::None,
        });
    }
}

impl AllReport {
    /// The summary table's rows, in the order printed.
    #[must_use]
    pub fn rows(&self) -> Vec<Row> {
        let mut rows = Vec::new();
        provider_rows(&self.provider, &mut rows);
        plan_rows(&self.plan, &mut rows);
        upgrade_rows(&self.upgrade, &mut rows);
        sim_rows(&self.sim, &mut rows);
        rows
    }
}

fn number(value: f64) -> String {
    if value.abs() >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RatioAtMost(r) => write!(f, "ratio <= {r}"),
            Self::RatioBelow(r) => write!(f, "ratio < {r}"),
            Self::MillisAtMost(m) => write!(f, "<= {} ms", number(*m)),
            Self::None => f.write_str("-"),
        }
    }
}

impl fmt::Display for AllReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let load = |l: &Option<String>| l.clone().unwrap_or_else(|| "unknown".to_owned());
        writeln!(
            f,
            "Load average (1, 5, 15 min): {} before, {} after.\n",
            load(&self.load_before),
            load(&self.load_after)
        )?;
        writeln!(f, "| figure | ours | anchor | ratio | target | met |")?;
        writeln!(f, "|---|---|---|---|---|---|")?;
        for row in self.rows() {
            writeln!(
                f,
                "| {} | {} {} | {} | {} | {} | {} |",
                row.figure,
                number(row.ours),
                row.unit,
                row.anchor
                    .map_or_else(|| "-".to_owned(), |a| format!("{} {}", number(a), row.unit)),
                row.ratio()
                    .map_or_else(|| "-".to_owned(), |r| format!("{r:.2}")),
                row.target,
                match row.met() {
                    Some(true) => "yes",
                    Some(false) => "**no**",
                    None => "-",
                }
            )?;
        }
        writeln!(f, "\nDetails:\n\n```text")?;
        write!(
            f,
            "{}{}{}{}",
            self.provider, self.plan, self.upgrade, self.sim
        )?;
        writeln!(f, "```")
    }
}

fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let fields: Vec<&str> = text.split_whitespace().take(3).collect();
    (fields.len() == 3).then(|| fields.join(", "))
}

/// Runs every benchmark, one after another, so none disturbs another.
///
/// # Errors
/// [`Error`] naming the benchmark that could not run.
pub async fn run(args: &AllArgs) -> Result<AllReport, Error> {
    let load_before = load_average();
    let provider_args = ProviderArgs {
        runs: args.startup_runs,
        objects: vec![1, 10],
        terraforms: args.terraforms.clone(),
        provider_dir: args.provider_dir.clone(),
        null_provider_dir: args.null_provider_dir.clone(),
    };
    let provider = tokio::task::spawn_blocking(move || bench_provider::run(&provider_args))
        .await
        .map_err(Error::Join)?
        .map_err(Error::Provider)?;
    let plan = bench_plan::run(&PlanArgs {
        sizes: args.plan_sizes.clone(),
        runs: args.plan_runs,
        terraforms: args.terraforms.clone(),
        provider_dir: args.provider_dir.clone(),
        null_provider_dir: args.null_provider_dir.clone(),
        // The targets are against the null provider on loopback.
        latency: 0,
    })
    .await
    .map_err(Error::Plan)?;
    let upgrade = bench_upgrade::run(&UpgradeArgs {
        migration_ms_per_revision: args.migration_ms_per_revision,
        runs: args.upgrade_runs,
        operator: OperatorMethod::Olm,
        terraform: args.terraforms.first().cloned(),
        provider_dir: args.provider_dir.clone(),
    })
    .await
    .map_err(Error::Upgrade)?;
    let sim = bench::run(&args.sim).await.map_err(Error::Sim)?;
    Ok(AllReport {
        provider,
        plan,
        upgrade,
        sim,
        load_before,
        load_after: load_average(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::bench_plan::PlanRow;
    use crate::cli::bench_provider::{Pair, PlanFigure, RssFigure, Samples};
    use crate::cli::bench_upgrade::timeline::UpgradeRun;
    use crate::quay::QuayVersion;

    fn millis(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    fn samples(ms: u64) -> Samples {
        Samples::new(vec![millis(ms)])
    }

    fn plan_row(size: usize, ours: u64, null: u64) -> PlanRow {
        PlanRow {
            terraform: "terraform 1.0.3".to_owned(),
            size,
            empty: (millis(ours), millis(null)),
            empty_tls: millis(ours),
            refresh: (millis(ours), millis(null)),
            refresh_changes: Vec::new(),
            connections: Vec::new(),
            serial_connections: Vec::new(),
            provider_processes: 3,
        }
    }

    fn report() -> AllReport {
        AllReport {
            provider: ProviderReport {
                startup: Pair {
                    ours: samples(3),
                    go: samples(30),
                },
                plans: vec![PlanFigure {
                    terraform: "terraform 1.0.3".to_owned(),
                    objects: 1,
                    plans: Pair {
                        ours: samples(300),
                        go: samples(400),
                    },
                }],
                rss: vec![RssFigure {
                    terraform: "terraform 1.0.3".to_owned(),
                    peak_kib: Pair {
                        ours: Some(12 * 1024),
                        go: Some(20 * 1024),
                    },
                }],
            },
            plan: PlanReport {
                runs: 1,
                clusters: 3,
                latency: Duration::ZERO,
                rows: vec![plan_row(1, 110, 100), plan_row(30, 400, 200)],
            },
            upgrade: UpgradeReport {
                terraform: "terraform 1.0.3".to_owned(),
                from: QuayVersion::new(3, 15, 0),
                to: QuayVersion::new(3, 16, 0),
                revisions: 1,
                per_revision: millis(1000),
                operator: OperatorMethod::Olm,
                runs: vec![UpgradeRun {
                    apply: millis(11_000),
                    upgrade: millis(10_200),
                    scale_down: millis(1_000),
                    primary: millis(5_000),
                    migration: Some(millis(1_000)),
                    secondaries: vec![millis(1_500), millis(1_500)],
                    restore: millis(1_000),
                    approval_waits: Duration::ZERO,
                    gaps: Vec::new(),
                }],
            },
            sim: bench::Report::default(),
            load_before: Some("1.00, 2.00, 3.00".to_owned()),
            load_after: None,
        }
    }

    fn find<'a>(rows: &'a [Row], prefix: &str) -> &'a Row {
        rows.iter()
            .find(|r| r.figure.starts_with(prefix))
            .unwrap_or_else(|| panic!("no row {prefix:?} in {rows:#?}"))
    }

    #[test]
    fn each_figure_is_set_beside_its_anchor_and_target() {
        let rows = report().rows();
        let startup = find(&rows, "start-up");
        assert_eq!(startup.ratio(), Some(0.1));
        assert_eq!(startup.met(), Some(true), "0.1 is within <= 0.1");
        let plan = find(&rows, "plan, 1 object");
        assert_eq!(plan.ratio(), Some(0.75));
        assert_eq!(plan.met(), Some(false), "0.75 misses <= 0.7");
        let rss = find(&rows, "peak memory");
        assert_eq!(rss.ratio(), Some(0.6));
        assert_eq!(rss.met(), Some(true));
        let refresh = find(&rows, "refresh plan, 30 sites");
        assert_eq!(refresh.ratio(), Some(2.0));
        assert_eq!(refresh.met(), Some(false));
        // (400 - 110) - (200 - 100) over 29 more sites.
        let extra = find(&rows, "refresh plan, extra cost per site");
        assert!((extra.ours - 190.0 / 29.0).abs() < 1e-9, "{extra:?}");
        assert_eq!(extra.met(), Some(false), "6.6 ms misses <= 3 ms");
        // 10.2 s against a 10 s critical path.
        let upgrade = find(&rows, "upgrade of 3 sites");
        assert!((upgrade.ours - 200.0).abs() < 1e-9, "{upgrade:?}");
        assert_eq!(upgrade.met(), Some(true));
    }

    #[test]
    fn the_table_is_markdown_with_the_load_and_every_row() {
        let report = report();
        let text = report.to_string();
        assert!(
            text.starts_with(
                "Load average (1, 5, 15 min): 1.00, 2.00, 3.00 before, unknown after."
            ),
            "{text}"
        );
        assert!(
            text.contains("| figure | ours | anchor | ratio | target | met |"),
            "{text}"
        );
        let table_rows = text
            .lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| figure"))
            .count();
        assert_eq!(table_rows, report.rows().len(), "{text}");
        assert!(
            text.contains("| **no** |"),
            "a missed target stands out: {text}"
        );
    }
}
