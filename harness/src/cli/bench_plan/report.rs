//! What `bench plan` reports: per Terraform and size the median plan times of ours and the
//! null provider's, the cost per object between sizes, and the connections the provider
//! opened; printed as a table.

use std::fmt;
use std::time::Duration;

/// Connections one simulated API server accepted during one plan, by who opened them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConnections {
    /// The cluster (site) name.
    pub cluster: String,
    /// Connections the provider opened (each with its own TLS handshake): those of the
    /// clients without a `User-Agent`, as kube-rs sends none
    /// ([`UNNAMED_CLIENT`](crate::sim::apiserver::UNNAMED_CLIENT)).
    pub connections: u64,
    /// Connections every other client opened meanwhile: the operator and OLM models and the
    /// replication workers, which name themselves.
    pub other_clients: u64,
}

/// Everything measured for one Terraform and one size.
#[derive(Debug, Clone)]
pub struct PlanRow {
    /// `terraform 1.0.3`.
    pub terraform: String,
    /// Sites (and null resources).
    pub size: usize,
    /// Median plan with no state: ours, then the null provider's.
    pub empty: (Duration, Duration),
    /// Median plan with no state of ours with TLS endpoints: no plaintext warnings, which
    /// Terraform's `-json` output renders one by one (one per storage block and one for
    /// Redis, from both the validate and the plan walk).
    pub empty_tls: Duration,
    /// Median plan refreshing the applied objects: ours, then the null provider's.
    pub refresh: (Duration, Duration),
    /// The changes the first refresh plan of ours that found any planned (`address action`):
    /// empty, as it must be after an apply.
    pub refresh_changes: Vec<String>,
    /// Per cluster, the most connections any one refresh plan of ours opened.
    pub connections: Vec<ClusterConnections>,
    /// Per cluster, the connections of one refresh plan with `-parallelism=1`.
    pub serial_connections: Vec<ClusterConnections>,
    /// Provider processes Terraform started for one refresh plan of ours.
    pub provider_processes: usize,
}

/// The whole benchmark.
#[derive(Debug, Clone, Default)]
pub struct PlanReport {
    /// Timed plans per configuration.
    pub runs: usize,
    /// Simulated clusters the sites are spread over.
    pub clusters: usize,
    /// What each request to a simulated cluster waited during the refresh plans.
    pub latency: Duration,
    /// One row per Terraform and size, Terraform by Terraform.
    pub rows: Vec<PlanRow>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Milliseconds per object between two rows (`None` when the sizes are equal).
fn per_object(a: &PlanRow, b: &PlanRow, pick: impl Fn(&PlanRow) -> Duration) -> Option<f64> {
    let objects = b.size.checked_sub(a.size).filter(|n| *n > 0)?;
    Some((ms(pick(b)) - ms(pick(a))) / objects as f64)
}

impl PlanReport {
    /// The rows of one Terraform, smallest size first.
    fn rows_of<'a>(&'a self, terraform: &'a str) -> impl Iterator<Item = &'a PlanRow> + 'a {
        self.rows.iter().filter(move |r| r.terraform == terraform)
    }

    fn terraforms(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for row in &self.rows {
            if !out.contains(&row.terraform.as_str()) {
                out.push(&row.terraform);
            }
        }
        out
    }
}

/// Prints the cost per object over the whole range and the linearity check: the cost per
/// object between the last two sizes against that between the first and the second-last
/// (e.g. 10->30 against 1->10); about 1 means linear, clearly above means growing faster.
fn write_slopes(
    f: &mut fmt::Formatter<'_>,
    rows: &[&PlanRow],
    label: &str,
    pick: &dyn Fn(&PlanRow) -> Duration,
) -> fmt::Result {
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Ok(());
    };
    let Some(overall) = per_object(first, last, pick) else {
        return Ok(());
    };
    write!(
        f,
        "  {label:<18} {overall:+7.1} ms per object ({}->{})",
        first.size, last.size
    )?;
    if rows.len() >= 3 {
        let middle = rows[rows.len() - 2];
        if let (Some(low), Some(high)) = (
            per_object(first, middle, pick),
            per_object(middle, last, pick),
        ) {
            write!(
                f,
                "; {}->{}: {low:+.1} ms, {}->{}: {high:+.1} ms per object",
                first.size, middle.size, middle.size, last.size
            )?;
        }
    }
    writeln!(f)
}

impl fmt::Display for PlanReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "terraform plan: N quay_georep_site over {} simulated clusters (one namespace each) beside N null_resource (Go, 2.1.2); median of {} plans",
            self.clusters, self.runs
        )?;
        if !self.latency.is_zero() {
            writeln!(
                f,
                "refresh plans with {} ms of API latency per request (the plans with no state have none)",
                self.latency.as_millis()
            )?;
        }
        for terraform in self.terraforms() {
            let rows: Vec<&PlanRow> = self.rows_of(terraform).collect();
            writeln!(f, "\n{terraform}")?;
            writeln!(
                f,
                "  {:>5} {:>12} {:>12} {:>12} {:>14} {:>14} {:>6} {:>6}  connections of the provider/other clients per cluster in one refresh plan (with -parallelism=1)",
                "N",
                "quay empty",
                "TLS empty",
                "null empty",
                "quay refresh",
                "null refresh",
                "clean",
                "procs"
            )?;
            for r in &rows {
                let conns: Vec<String> = r
                    .connections
                    .iter()
                    .zip(&r.serial_connections)
                    .map(|(c, s)| {
                        format!(
                            "{} {}/{} ({}/{})",
                            c.cluster,
                            c.connections,
                            c.other_clients,
                            s.connections,
                            s.other_clients
                        )
                    })
                    .collect();
                writeln!(
                    f,
                    "  {:>5} {:>9.1} ms {:>9.1} ms {:>9.1} ms {:>11.1} ms {:>11.1} ms {:>6} {:>6}  {}",
                    r.size,
                    ms(r.empty.0),
                    ms(r.empty_tls),
                    ms(r.empty.1),
                    ms(r.refresh.0),
                    ms(r.refresh.1),
                    if r.refresh_changes.is_empty() {
                        "yes"
                    } else {
                        "NO"
                    },
                    r.provider_processes,
                    conns.join(", ")
                )?;
            }
            for r in rows.iter().filter(|r| !r.refresh_changes.is_empty()) {
                writeln!(
                    f,
                    "  N={}: the refresh plan found changes: {}",
                    r.size,
                    r.refresh_changes.join(", ")
                )?;
            }
            write_slopes(f, &rows, "quay refresh plan", &|r| r.refresh.0)?;
            write_slopes(f, &rows, "null refresh plan", &|r| r.refresh.1)?;
            write_slopes(f, &rows, "quay empty plan", &|r| r.empty.0)?;
            write_slopes(f, &rows, "TLS empty plan", &|r| r.empty_tls)?;
            write_slopes(f, &rows, "null empty plan", &|r| r.empty.1)?;
        }
        writeln!(
            f,
            "\nTLS: the same sites with HTTPS storage and Redis over TLS, so without the local backend's plaintext warnings (rendered one by one in Terraform's -json output);\nclean: the refresh plans of the applied sites found no change; procs: provider processes Terraform started for one refresh plan of ours;\nlinearity: the cost per object between the last two sizes against that between the first and the second-last (linear: about equal)."
        )
    }
}
