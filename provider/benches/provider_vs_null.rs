//! Start-up, `terraform plan` and peak memory of `terraform-provider-quay` beside HashiCorp's
//! Go `terraform-provider-null` 2.1.2, under every Terraform under test: the harness's
//! `bench provider` (what it measures is documented there), run on this build's binary.
//!
//! Run with `cargo bench -p terraform-provider-quay --bench provider_vs_null`. It prints
//! figures and asserts nothing about time. `GEOREP_BENCH_RUNS` sets the start-up repetitions
//! (default 15; plans run a third of it). `georep-harness bench all` sets these figures beside
//! the others and their targets.

use std::path::PathBuf;
use std::process::ExitCode;

use georep_harness::cli::bench_provider::{self, ProviderArgs};

fn main() -> ExitCode {
    let runs = std::env::var("GEOREP_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let quay_binary = PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-quay"));
    let args = ProviderArgs {
        runs,
        objects: vec![1, 10],
        terraforms: Vec::new(),
        provider_dir: quay_binary.parent().map(PathBuf::from),
        null_provider_dir: None,
    };
    match bench_provider::run(&args) {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!(
                "benchmark failed: {}",
                georep_harness::errors::chain(&error)
            );
            ExitCode::FAILURE
        }
    }
}
