//! The `terraform-provider-quay` binary: Terraform launches it; a person runs it only with
//! `--debug` (or `--version`).
//!
//! It parses the command line, installs the aws-lc-rs rustls crypto provider (AutoMTLS needs
//! its P-521 support), sets up the hclog logger and serves the provider until Terraform shuts
//! it down. Everything else lives in the library, [`terraform_provider_quay::plugin`].

use std::process::ExitCode;

use clap::Parser;
use terraform_provider_quay::plugin::{self, ServeError, ServeOptions};
use terraform_provider_quay::resources::QuayProvider;

/// Terraform provider for Red Hat Quay geo-replication. Terraform starts this binary; run it
/// by hand only with --debug.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Serve without Terraform's launch handshake and print the TF_REATTACH_PROVIDERS value
    /// to export, for debuggers and manual testing; Ctrl-C stops it.
    #[arg(long)]
    debug: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Another provider may already be installed (never in this binary); either way the
    // process-wide default is settled, and the TLS code names aws-lc-rs explicitly.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    if let Err(error) = plugin::logging::init() {
        eprintln!("warning: {:#}", anyhow::Error::new(error));
    }

    let provider = plugin::grpc_provider::service(QuayProvider);
    match plugin::serve(provider, ServeOptions { debug: cli.debug }).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(ServeError::NotLaunchedByTerraform) => {
            eprintln!("{}", plugin::handshake::RUN_BY_HAND_HELP);
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("error: {:#}", anyhow::Error::new(error));
            ExitCode::FAILURE
        }
    }
}
