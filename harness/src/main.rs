//! The `georep-harness` binary: parses arguments and reports errors with their causes.
//!
//! All work is in the library ([`georep_harness::cli`]); this file only owns the runtime,
//! logging and the exit code.

use georep_harness::cli::{BenchTarget, Cli, Command};

/// The log filter when `GEOREP_LOG` is unset or invalid.
const DEFAULT_LOG: &str = "error,kube_client::client::builder=off";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Without GEOREP_LOG: errors only, and not kube's own line for each failed request (the
    // harness reports what failed, with its context; a scenario that cuts a cluster off would
    // otherwise fill the terminal with them).
    let filter = tracing_subscriber::EnvFilter::try_from_env("GEOREP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    georep_harness::sim::install_crypto_provider();
    let cli = Cli::parse_checked();
    match cli.command {
        Command::Up(args) => georep_harness::cli::up::run(&args).await?,
        Command::Demo(args) if args.backend.backend == georep_harness::backend::Backend::Kind => {
            if !georep_harness::cli::demo::kind::run(&args).await? {
                anyhow::bail!("the kind demo failed: see the output above");
            }
        }
        Command::Demo(args) => {
            let report = georep_harness::cli::demo::run(&args).await?;
            if !report.passed() {
                anyhow::bail!("the demo failed: see the report above");
            }
        }
        Command::Down(args) => georep_harness::cli::kind::down(&args).await?,
        Command::Conformance(args) => {
            let output = std::sync::Arc::new(georep_harness::conformance::Output::stdout());
            let result = georep_harness::cli::conformance::run(&args, output).await?;
            if georep_harness::conformance::interrupt::requested() {
                anyhow::bail!("the conformance suite was interrupted");
            }
            if result.is_some_and(|r| !r.passed()) {
                anyhow::bail!("the conformance suite failed: see the scenarios above");
            }
        }
        Command::Push(args) => {
            let pushed = georep_harness::cli::push::run(&args).await?;
            print!("{pushed}");
        }
        Command::S3Serve(args) => georep_harness::cli::s3_serve::run(&args).await?,
        Command::Bench {
            target: BenchTarget::Sim(args),
        } => {
            let report = georep_harness::cli::bench::run(&args).await?;
            print!("{report}");
        }
        Command::Bench {
            target: BenchTarget::Plan(args),
        } => {
            let report = georep_harness::cli::bench_plan::run(&args).await?;
            print!("{report}");
        }
        Command::Bench {
            target: BenchTarget::Upgrade(args),
        } => {
            let report = georep_harness::cli::bench_upgrade::run(&args).await?;
            print!("{report}");
        }
        Command::Bench {
            target: BenchTarget::Provider(args),
        } => {
            let report = tokio::task::spawn_blocking(move || {
                georep_harness::cli::bench_provider::run(&args)
            })
            .await??;
            print!("{report}");
        }
        Command::Bench {
            target: BenchTarget::All(args),
        } => {
            let report = georep_harness::cli::bench_all::run(&args).await?;
            print!("{report}");
        }
    }
    Ok(())
}
