//! `georep-harness bench provider`: start-up, `terraform plan` and peak memory of
//! `terraform-provider-quay` beside HashiCorp's Go `terraform-provider-null` 2.1.2 (plugin SDK,
//! protocol 5), under the same Terraform.
//!
//! - **start-up**: from spawning the provider (with the magic cookie and an AutoMTLS client
//!   certificate, as Terraform launches it) to its handshake line on stdout;
//! - **plan**: wall time of `terraform plan` on a configuration of N objects: N
//!   `data "quay_georep_config"` (three storage locations each) for ours, N `null_resource`s
//!   for the Go provider, with every Terraform under test; no cluster is involved;
//! - **peak memory**: the largest `VmHWM` (peak resident set) of any process of the provider's
//!   executable that Terraform started during one more plan of one object (the process that
//!   plans is the largest of the three Terraform starts). Sampled from `/proc` every few
//!   milliseconds in a plan that is not timed, so the sampling never slows a timed one. Linux
//!   only; elsewhere the figure is absent.
//!
//! Prints figures; judges nothing (`bench all` sets them beside their targets).

use std::fmt;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::cli::bench_plan::{self, NULL_PROVIDER_DIR};
use crate::terraform::{self, DevOverride, TerraformBinary, Workdir};

/// The go-plugin handshake cookie Terraform sets for every provider it starts.
const COOKIE: (&str, &str) = (
    "TF_PLUGIN_MAGIC_COOKIE",
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2",
);
/// How long a provider may take to print its handshake line.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// The null provider's executable in its directory.
const NULL_EXE: &str = "terraform-provider-null_v2.1.2_x4";
/// How often the peak-memory sampler reads `/proc`.
const SAMPLE_EVERY: Duration = Duration::from_millis(3);

/// Arguments of `bench provider`.
#[derive(Debug, Clone, clap::Args)]
pub struct ProviderArgs {
    /// Start-ups to time per provider; plans per configuration are a third of it (at least 3,
    /// at most this). The report gives medians.
    #[arg(long, default_value_t = 15)]
    pub runs: usize,
    /// Objects per planned configuration, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1_usize, 10])]
    pub objects: Vec<usize>,
    /// A Terraform executable to measure (repeatable). Default: every Terraform under test
    /// (the pinned 1.0.3 and the `terraform` on PATH).
    #[arg(long = "terraform")]
    pub terraforms: Vec<PathBuf>,
    /// The directory holding `terraform-provider-quay`. Default: this executable's directory
    /// if it holds one, else `<repo>/target/debug`. Measure a release build for figures
    /// worth quoting.
    #[arg(long)]
    pub provider_dir: Option<PathBuf>,
    /// The directory holding `terraform-provider-null_v2.1.2_x4`. Default:
    /// `<repo>/.cache/null-provider/2.1.2` (`scripts/install-null-provider.sh` fills it).
    #[arg(long)]
    pub null_provider_dir: Option<PathBuf>,
}

/// The benchmark could not run (not: it was slow).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Zero runs or no sizes.
    #[error("nothing to measure: --runs and --objects must be positive")]
    NothingToMeasure,
    /// The provider or Terraform was not found.
    #[error("find the programs to benchmark")]
    Programs(#[source] terraform::Error),
    /// A `--terraform` could not be probed, or no Terraform under test was found.
    #[error("find the Terraform binaries to measure")]
    Terraforms(#[source] terraform::Error),
    /// The Go null provider is not installed.
    #[error(
        "the Go null provider is not in {dir}: run scripts/install-null-provider.sh or pass --null-provider-dir"
    )]
    NullProviderMissing {
        /// Where it was looked for.
        dir: PathBuf,
    },
    /// The AutoMTLS client certificate could not be made.
    #[error("make an AutoMTLS client certificate")]
    Certificate(#[source] rcgen::Error),
    /// A provider could not be started.
    #[error("start {binary}")]
    Spawn {
        /// The executable.
        binary: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A provider printed no handshake line in time, or something else.
    #[error(
        "{binary} printed no handshake line within {HANDSHAKE_TIMEOUT:?} (it printed {line:?})"
    )]
    Handshake {
        /// The executable.
        binary: PathBuf,
        /// What it printed instead, if anything.
        line: String,
    },
    /// A Terraform command failed.
    #[error("terraform plan of {what}")]
    Terraform {
        /// The configuration.
        what: String,
        /// The cause.
        #[source]
        source: terraform::Error,
    },
}

/// Durations of repeated runs of one measurement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Samples(Vec<Duration>);

impl Samples {
    /// Takes the samples in any order.
    #[must_use]
    pub fn new(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        Self(samples)
    }

    /// The nearest-rank percentile `q` (0..=1); zero when there are no samples.
    #[must_use]
    pub fn percentile(&self, q: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((self.0.len() as f64) * q).ceil() as usize;
        self.0[rank.clamp(1, self.0.len()) - 1]
    }

    /// The median.
    #[must_use]
    pub fn median(&self) -> Duration {
        self.percentile(0.5)
    }

    /// The fastest run.
    #[must_use]
    pub fn min(&self) -> Duration {
        self.0.first().copied().unwrap_or_default()
    }

    /// How many runs.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// No runs.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Ours beside the Go provider's, for one measurement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pair<T> {
    /// `terraform-provider-quay`.
    pub ours: T,
    /// `terraform-provider-null` 2.1.2.
    pub go: T,
}

/// Plans of one size under one Terraform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanFigure {
    /// `terraform 1.0.3`.
    pub terraform: String,
    /// Objects in each configuration.
    pub objects: usize,
    /// Plan wall times.
    pub plans: Pair<Samples>,
}

/// Peak memory of the providers' processes during one plan of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RssFigure {
    /// `terraform 1.0.3`.
    pub terraform: String,
    /// The largest `VmHWM` of any of the provider's processes, in KiB; `None` where `/proc`
    /// could not be read (not Linux) or no process was seen.
    pub peak_kib: Pair<Option<u64>>,
}

/// Everything measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderReport {
    /// Start-up to the handshake line.
    pub startup: Pair<Samples>,
    /// One per Terraform and size, Terraform by Terraform.
    pub plans: Vec<PlanFigure>,
    /// One per Terraform.
    pub rss: Vec<RssFigure>,
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn row(f: &mut fmt::Formatter<'_>, label: &str, samples: &Samples) -> fmt::Result {
    writeln!(
        f,
        "  {label:<36} {:>10} {:>10} {:>10} ({} runs)",
        ms(samples.median()),
        ms(samples.min()),
        ms(samples.percentile(0.9)),
        samples.len()
    )
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(
        || "n/a".to_owned(),
        |k| format!("{:.1} MiB", k as f64 / 1024.0),
    )
}

impl fmt::Display for ProviderReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "start-up to handshake line (AutoMTLS client certificate set)"
        )?;
        writeln!(
            f,
            "  {:<36} {:>10} {:>10} {:>10}",
            "provider", "median", "min", "p90"
        )?;
        row(f, "terraform-provider-quay (Rust)", &self.startup.ours)?;
        row(f, "terraform-provider-null 2.1.2 (Go)", &self.startup.go)?;
        let mut current = None;
        for plan in &self.plans {
            if current != Some(&plan.terraform) {
                writeln!(f, "terraform plan with {} (no state)", plan.terraform)?;
                current = Some(&plan.terraform);
            }
            let n = plan.objects;
            row(
                f,
                &format!("{n} x data.quay_georep_config"),
                &plan.plans.ours,
            )?;
            row(f, &format!("{n} x null_resource"), &plan.plans.go)?;
        }
        for rss in &self.rss {
            writeln!(
                f,
                "peak memory (VmHWM) during a plan of one object, {}: ours {}, Go {}",
                rss.terraform,
                mib(rss.peak_kib.ours),
                mib(rss.peak_kib.go)
            )?;
        }
        Ok(())
    }
}

/// A client certificate shaped like Terraform's AutoMTLS one (ECDSA P-521, self-signed CA).
fn client_certificate() -> Result<String, Error> {
    let key =
        rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).map_err(Error::Certificate)?;
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned()]).map_err(Error::Certificate)?;
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    Ok(params.self_signed(&key).map_err(Error::Certificate)?.pem())
}

/// Spawns a provider as Terraform does and times it until its handshake line.
fn startup(binary: &Path, client_cert: &str) -> Result<Duration, Error> {
    let started = Instant::now();
    let mut child = Command::new(binary)
        .env(COOKIE.0, COOKIE.1)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5")
        .env("PLUGIN_MIN_PORT", "10000")
        .env("PLUGIN_MAX_PORT", "25000")
        .env("PLUGIN_CLIENT_CERT", client_cert)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|source| Error::Spawn {
            binary: binary.to_owned(),
            source,
        })?;
    let (tx, rx) = mpsc::channel();
    if let Some(stdout) = child.stdout.take() {
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send((line, Instant::now()));
        });
    }
    let result = rx.recv_timeout(HANDSHAKE_TIMEOUT);
    // The provider waits for Terraform forever: it is killed once its line is read.
    let _ = child.kill();
    let _ = child.wait();
    match result {
        Ok((line, at)) if line.starts_with("1|5|") => Ok(at.duration_since(started)),
        Ok((line, _)) => Err(Error::Handshake {
            binary: binary.to_owned(),
            line: line.trim_end().chars().take(200).collect(),
        }),
        Err(_) => Err(Error::Handshake {
            binary: binary.to_owned(),
            line: String::new(),
        }),
    }
}

/// The `terraform` block requiring only `provider` (Terraform starts every required provider,
/// so requiring both would time both in each configuration).
fn header(provider: &str) -> String {
    let source = if provider == "quay" {
        "quay-georep/quay"
    } else {
        "hashicorp/null"
    };
    format!(
        "terraform {{\n  required_providers {{\n    {provider} = {{ source = \"{source}\" }}\n  }}\n}}\n"
    )
}

/// N config data sources of three storage locations each: ours does its whole validation and
/// rendering, and no cluster is needed.
#[must_use]
pub fn quay_config(objects: usize) -> String {
    let storage = |location: &str| {
        let host = location.replace('_', "-");
        format!(
            "  storage \"{location}\" {{\n    driver = \"radosgw\"\n    hostname = \"s3.{host}.example.com\"\n    bucket = \"quay-{host}\"\n    access_key = \"ak\"\n    secret_key = \"sk-0123456789\"\n  }}\n"
        )
    };
    let mut hcl = format!("{}provider \"quay\" {{}}\n", header("quay"));
    for i in 0..objects {
        hcl.push_str(&format!(
            "data \"quay_georep_config\" \"c{i}\" {{\n  server_hostname = \"quay{i}.example.com\"\n  secret_key = \"0123456789abcdef0123456789abcdef-s\"\n  database_secret_key = \"fedcba9876543210fedcba9876543210-d\"\n  database {{\n    uri = \"postgresql://quay:pw@db.example.com/quay\"\n  }}\n  redis {{\n    host = \"redis.example.com\"\n  }}\n{}{}{}}}\n",
            storage("us_east"),
            storage("eu_west"),
            storage("ap_south"),
        ));
    }
    hcl
}

/// N `null_resource`s, the anchor's configuration.
#[must_use]
pub fn null_config(objects: usize) -> String {
    let mut hcl = format!("{}provider \"null\" {{}}\n", header("null"));
    for i in 0..objects {
        hcl.push_str(&format!(
            "resource \"null_resource\" \"r{i}\" {{\n  triggers = {{ site = \"s{i}\" }}\n}}\n"
        ));
    }
    hcl
}

/// The peak resident set (`VmHWM`, KiB) of a process, from `/proc/<pid>/status`.
fn vm_hwm_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The largest `VmHWM` among the running processes of `exe`.
fn sample_peak(exe: &Path) -> Option<u64> {
    let entries = std::fs::read_dir("/proc").ok()?;
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| std::fs::read_link(e.path().join("exe")).is_ok_and(|p| p == exe))
        .filter_map(|e| std::fs::read_to_string(e.path().join("status")).ok())
        .filter_map(|status| vm_hwm_kib(&status))
        .max()
}

/// Runs `work` while sampling the peak memory of every process of `exe`; the largest seen.
fn peak_rss_during<T>(exe: &Path, work: impl FnOnce() -> T) -> (T, Option<u64>) {
    let exe = std::fs::canonicalize(exe).unwrap_or_else(|_| exe.to_owned());
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut peak: Option<u64> = None;
            while !stop.load(Ordering::Relaxed) {
                if let Some(kib) = sample_peak(&exe) {
                    peak = Some(peak.map_or(kib, |p| p.max(kib)));
                }
                std::thread::sleep(SAMPLE_EVERY);
            }
            peak
        })
    };
    let out = work();
    stop.store(true, Ordering::Relaxed);
    (out, sampler.join().ok().flatten())
}

fn plan_once(dir: &Workdir, what: &str) -> Result<Duration, Error> {
    let started = Instant::now();
    dir.plan()
        .and_then(terraform::PlanOutcome::require_success)
        .map_err(|source| Error::Terraform {
            what: what.to_owned(),
            source,
        })?;
    Ok(started.elapsed())
}

/// Where the programs are.
struct Programs {
    quay: PathBuf,
    null: PathBuf,
    overrides: Vec<DevOverride>,
    terraforms: Vec<TerraformBinary>,
}

fn programs(args: &ProviderArgs) -> Result<Programs, Error> {
    let (root, quay_dir) =
        terraform::repo_and_provider_dir(args.provider_dir.as_deref()).map_err(Error::Programs)?;
    let null_dir = args
        .null_provider_dir
        .clone()
        .unwrap_or_else(|| root.join(NULL_PROVIDER_DIR));
    if !null_dir.join(NULL_EXE).is_file() {
        return Err(Error::NullProviderMissing { dir: null_dir });
    }
    let terraforms =
        bench_plan::terraforms_to_measure(&args.terraforms).map_err(Error::Terraforms)?;
    Ok(Programs {
        quay: quay_dir.join(terraform::PROVIDER_EXE),
        null: null_dir.join(NULL_EXE),
        overrides: vec![
            DevOverride::quay(&quay_dir),
            DevOverride {
                source: "registry.terraform.io/hashicorp/null".to_owned(),
                dir: null_dir,
            },
        ],
        terraforms,
    })
}

/// Runs the benchmark (blocking: it runs processes one after another).
///
/// # Errors
/// [`Error`] when a program is missing or a run fails.
pub fn run(args: &ProviderArgs) -> Result<ProviderReport, Error> {
    if args.runs == 0 || args.objects.is_empty() || args.objects.contains(&0) {
        return Err(Error::NothingToMeasure);
    }
    let programs = programs(args)?;
    let client_cert = client_certificate()?;
    let startups = |binary: &Path| {
        (0..args.runs)
            .map(|_| startup(binary, &client_cert))
            .collect::<Result<Vec<_>, _>>()
            .map(Samples::new)
    };
    let startup = Pair {
        ours: startups(&programs.quay)?,
        go: startups(&programs.null)?,
    };
    let plan_runs = (args.runs / 3).clamp(3.min(args.runs), args.runs);
    let mut report = ProviderReport {
        startup,
        plans: Vec::new(),
        rss: Vec::new(),
    };
    for terraform in &programs.terraforms {
        let workdir = |name: &str, hcl: &str| {
            let dir = Workdir::new(terraform, name, &programs.overrides)
                .and_then(|dir| dir.write_main_tf(hcl).map(|_| dir))
                .map_err(|source| Error::Terraform {
                    what: name.to_owned(),
                    source,
                })?;
            Ok::<_, Error>(dir)
        };
        let timed = |dir: &Workdir, what: &str| {
            (0..plan_runs)
                .map(|_| plan_once(dir, what))
                .collect::<Result<Vec<_>, _>>()
                .map(Samples::new)
        };
        for &objects in &args.objects {
            let ours = workdir(&format!("bench-quay-{objects}"), &quay_config(objects))?;
            let go = workdir(&format!("bench-null-{objects}"), &null_config(objects))?;
            report.plans.push(PlanFigure {
                terraform: terraform.label(),
                objects,
                plans: Pair {
                    ours: timed(&ours, "the quay configuration")?,
                    go: timed(&go, "the null configuration")?,
                },
            });
        }
        let ours = workdir("bench-quay-rss", &quay_config(1))?;
        let go = workdir("bench-null-rss", &null_config(1))?;
        let (planned, ours_kib) = peak_rss_during(&programs.quay, || {
            plan_once(&ours, "the quay configuration")
        });
        planned?;
        let (planned, go_kib) =
            peak_rss_during(&programs.null, || plan_once(&go, "the null configuration"));
        planned?;
        report.rss.push(RssFigure {
            terraform: terraform.label(),
            peak_kib: Pair {
                ours: ours_kib,
                go: go_kib,
            },
        });
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples = Samples::new((1..=10).rev().map(Duration::from_millis).collect());
        assert_eq!(samples.median(), Duration::from_millis(5));
        assert_eq!(samples.min(), Duration::from_millis(1));
        assert_eq!(samples.percentile(0.9), Duration::from_millis(9));
        assert_eq!(Samples::default().median(), Duration::ZERO);
    }

    #[test]
    fn vm_hwm_is_read_in_kib() {
        let status =
            "Name:\tterraform-provi\nVmPeak:\t  900 kB\nVmHWM:\t   11876 kB\nVmRSS:\t 11000 kB\n";
        assert_eq!(vm_hwm_kib(status), Some(11_876));
        assert_eq!(vm_hwm_kib("Name: x\n"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_sampler_sees_only_processes_of_its_executable() {
        // A copy of `sleep` under a path of its own, so no other `sleep` on the machine counts.
        let Ok(dir) = tempfile::tempdir() else { return };
        let exe = dir.path().join("bench-sleep");
        if std::fs::copy("/bin/sleep", &exe).is_err() {
            return;
        }
        // A process of this test binary forking meanwhile may hold the copy open for a
        // moment (ETXTBSY, 26): try again.
        let run_copy = || {
            for _ in 0..20 {
                match Command::new(&exe).arg("0.2").status() {
                    Err(e) if e.raw_os_error() == Some(26) => {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    _ => return,
                }
            }
        };
        let ((), peak) = peak_rss_during(&exe, run_copy);
        assert!(peak.is_some_and(|kib| kib > 0), "{peak:?}");
        let ((), none) = peak_rss_during(&exe, || {
            let _ = Command::new("/bin/sleep").arg("0.1").status();
        });
        assert_eq!(none, None, "another executable's process was counted");
    }

    #[test]
    fn zero_runs_measure_nothing() {
        let args = ProviderArgs {
            runs: 0,
            objects: vec![1],
            terraforms: Vec::new(),
            provider_dir: None,
            null_provider_dir: None,
        };
        assert!(matches!(run(&args), Err(Error::NothingToMeasure)));
    }
}
