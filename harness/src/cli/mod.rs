//! The `georep-harness` command line: argument types and dispatch.
//!
//! Only parsing and wiring live here (the state directory `up` and `demo` share is made
//! in `state_dir`); `up` ([`up`]), `demo` ([`demo`]), `conformance` ([`conformance`]),
//! `push` ([`push`]), `s3-serve` ([`s3_serve`]), `bench sim` ([`mod@bench`]), `down` ([`kind`], with `up --backend kind`),
//! `bench plan` ([`bench_plan`]), `bench upgrade` ([`bench_upgrade`]), `bench provider`
//! ([`bench_provider`]) and `bench all` ([`bench_all`]) do the work and
//! return their own errors. `main.rs` turns those into exit codes with anyhow.

pub mod bench;
pub mod bench_all;
pub mod bench_plan;
pub mod bench_provider;
pub mod bench_upgrade;
pub mod conformance;
pub mod demo;
pub mod kind;
pub mod push;
pub mod s3_serve;
mod state_dir;
pub mod up;

use clap::{Parser, Subcommand};

pub use up::UpArgs;

/// Conformance harness for Quay geo-replication.
#[derive(Debug, Parser)]
#[command(name = "georep-harness", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses this process's arguments like [`Parser::parse`] (printing clap's message and
    /// exiting on an error), and also refuses an option the chosen backend would ignore.
    #[must_use]
    pub fn parse_checked() -> Self {
        Self::try_parse_checked_from(std::env::args_os()).unwrap_or_else(|e| e.exit())
    }

    /// [`Cli::parse_checked`] of `args`.
    ///
    /// # Errors
    /// A usage error, as clap reports it.
    pub fn try_parse_checked_from<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::{CommandFactory as _, FromArgMatches as _};
        let mut command = Self::command();
        let matches = command.try_get_matches_from_mut(args)?;
        let cli = Self::from_arg_matches(&matches)?;
        if let (Command::Up(up), Some(("up", up_matches))) = (&cli.command, matches.subcommand())
            && let Some(problem) = up::ignored_by_kind(up, up_matches)
        {
            return Err(command.error(clap::error::ErrorKind::ArgumentConflict, problem));
        }
        Ok(cli)
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the local backend (PostgreSQL, Redis, S3 per site, one simulated cluster and
    /// Quay Operator model per site) and serve it until Ctrl-C or SIGTERM.
    Up(UpArgs),
    /// Start the local backend, apply examples/three-sites to it with Terraform and our
    /// provider, report every site and the safety ledger, then destroy and stop everything.
    Demo(demo::DemoArgs),
    /// Remove what `up --backend kind` made: the sites' kind clusters and every container
    /// labelled by the kind backend.
    Down(kind::DownArgs),
    /// Run the conformance suite on the local backend or on the clusters of a target file,
    /// and write JUnit, Markdown and JSON reports; exits non-zero unless every selected
    /// scenario passed (skipped ones are listed with their reason).
    Conformance(conformance::ConformanceArgs),
    /// Push a blob through one site of a running local backend (into its preferred storage
    /// location, at Quay's key layout); with --wait, check every default location has it.
    Push(push::PushArgs),
    /// Serve one site's S3 endpoint (the local backend's S3 server) until Ctrl-C or SIGTERM:
    /// the storage of the container tests. Keys from GEOREP_S3_ACCESS_KEY and
    /// GEOREP_S3_SECRET_KEY.
    S3Serve(s3_serve::S3ServeArgs),
    /// Benchmarks.
    Bench {
        /// What to benchmark.
        #[command(subcommand)]
        target: BenchTarget,
    },
}

/// What `bench` measures.
#[derive(Debug, Subcommand)]
pub enum BenchTarget {
    /// The simulated API server: get, list, apply, watch fan-out, memory.
    Sim(bench::BenchArgs),
    /// `terraform plan` of N sites beside N `null_resource`s, per Terraform under test.
    Plan(bench_plan::PlanArgs),
    /// `quay_georep_upgrade` of three sites: its time against the critical path.
    Upgrade(bench_upgrade::UpgradeArgs),
    /// The provider's start-up, plans of data sources and peak memory beside the Go null
    /// provider's, per Terraform under test.
    Provider(bench_provider::ProviderArgs),
    /// Every benchmark at its default size, then one Markdown table: figure, ours, anchor,
    /// ratio, target, with the machine's load average.
    All(bench_all::AllArgs),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    use crate::sim::Flavour;

    #[test]
    fn up_defaults_to_three_openshift_sites() {
        let cli = Cli::try_parse_from(["georep-harness", "up"]).unwrap();
        let Command::Up(args) = cli.command else {
            panic!("not up")
        };
        assert_eq!(args.sites, ["us-east", "eu-west", "ap-south"]);
        assert_eq!(args.flavour, Flavour::Openshift);
    }

    #[test]
    fn demo_parses_its_options() {
        let cli = Cli::try_parse_from([
            "georep-harness",
            "demo",
            "--keep",
            "--state-dir",
            "/tmp/d",
            "--terraform",
            "/opt/tf",
            "--provider-dir",
            "/opt/p",
        ])
        .unwrap();
        let Command::Demo(args) = cli.command else {
            panic!("not demo")
        };
        assert!(args.keep);
        assert_eq!(args.state_dir, Some(PathBuf::from("/tmp/d")));
        assert_eq!(args.terraform, Some(PathBuf::from("/opt/tf")));
        assert_eq!(args.provider_dir, Some(PathBuf::from("/opt/p")));
    }

    #[test]
    fn demo_help_names_every_option() {
        let err = Cli::try_parse_from(["georep-harness", "demo", "--help"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::DisplayHelp);
        let help = err.to_string();
        for option in ["--state-dir", "--keep", "--terraform", "--provider-dir"] {
            assert!(help.contains(option), "{option} missing from {help}");
        }
    }

    #[test]
    fn push_defaults_to_the_first_site_and_a_minute_of_waiting() {
        let cli =
            Cli::try_parse_from(["georep-harness", "push", "--state-dir", "/tmp/d", "--wait"])
                .unwrap();
        let Command::Push(args) = cli.command else {
            panic!("not push")
        };
        assert_eq!(args.site, "us-east");
        assert!(args.wait);
        assert_eq!(args.timeout, 60);
        assert_eq!(args.file, None);
    }

    #[test]
    fn up_stays_local_unless_kind_is_asked_for() {
        let cli = Cli::try_parse_from(["georep-harness", "up"]).unwrap();
        let Command::Up(args) = cli.command else {
            panic!("not up")
        };
        assert_eq!(args.backend.backend, crate::backend::Backend::Local);
        let cli = Cli::try_parse_from([
            "georep-harness",
            "up",
            "--backend",
            "kind",
            "--dry-run",
            "--reuse",
            "--operator-bundle",
            "/b",
        ])
        .unwrap();
        let Command::Up(args) = cli.command else {
            panic!("not up")
        };
        assert_eq!(args.backend.backend, crate::backend::Backend::Kind);
        assert!(args.backend.dry_run && args.backend.reuse);
        assert_eq!(args.backend.operator_bundle, Some(PathBuf::from("/b")));
        let err = Cli::try_parse_from(["georep-harness", "up", "--backend", "k3d"]).unwrap_err();
        assert!(
            err.to_string().contains("possible values: local, kind"),
            "{err}"
        );
    }

    #[test]
    fn demo_and_down_take_the_backend_too() {
        let cli = Cli::try_parse_from(["georep-harness", "demo", "--backend", "kind"]).unwrap();
        let Command::Demo(args) = cli.command else {
            panic!("not demo")
        };
        assert_eq!(args.backend.backend, crate::backend::Backend::Kind);
        let cli = Cli::try_parse_from(["georep-harness", "down", "--backend", "kind"]).unwrap();
        let Command::Down(args) = cli.command else {
            panic!("not down")
        };
        assert_eq!(args.sites, ["us-east", "eu-west", "ap-south"]);
    }

    #[test]
    fn conformance_takes_repeated_globs_and_report_paths() {
        let cli = Cli::try_parse_from([
            "georep-harness",
            "conformance",
            "--backend",
            "existing",
            "--target",
            "/tmp/t.yaml",
            "--scenario",
            "BADINPUT-*",
            "--scenario",
            "SCEN-*",
            "--skip",
            "*timeout*",
            "--junit",
            "/tmp/j.xml",
            "--terraform",
            "/a/terraform",
            "--terraform",
            "/b/terraform",
            "--keep-on-failure",
        ])
        .unwrap();
        let Command::Conformance(args) = cli.command else {
            panic!("not conformance")
        };
        assert_eq!(args.backend, crate::conformance::Backend::Existing);
        assert_eq!(args.scenarios, ["BADINPUT-*", "SCEN-*"]);
        assert_eq!(args.skip, ["*timeout*"]);
        assert_eq!(args.terraform.len(), 2);
        assert_eq!(args.junit, Some(PathBuf::from("/tmp/j.xml")));
        assert!(args.keep_on_failure && !args.list);
    }

    #[test]
    fn conformance_list_names_each_selected_scenario_with_its_claim() {
        let cli = Cli::try_parse_from([
            "georep-harness",
            "conformance",
            "--list",
            "--scenario",
            "SCEN-*",
        ])
        .unwrap();
        let Command::Conformance(args) = cli.command else {
            panic!("not conformance")
        };
        let listed = conformance::list(&args);
        assert!(
            listed.starts_with("SCEN-three-sites\n    Three sites"),
            "{listed}"
        );
        assert!(!listed.contains("BADINPUT-"), "{listed}");
    }

    #[test]
    fn up_on_kind_refuses_what_only_the_local_backend_honours() {
        for (option, value, says) in [
            (
                "--flavour",
                Some("openshift"),
                "kind clusters are plain Kubernetes",
            ),
            ("--quay-version", Some("3.15.7"), "deploys Quay 3.16.5"),
            ("--plain-http", None, "kind clusters serve HTTPS"),
            (
                "--ready-file",
                Some("/tmp/r"),
                "returns once everything is ready",
            ),
        ] {
            let mut argv = vec!["georep-harness", "up", "--backend", "kind", option];
            argv.extend(value);
            let err = Cli::try_parse_checked_from(argv.clone()).unwrap_err();
            assert_eq!(
                err.kind(),
                clap::error::ErrorKind::ArgumentConflict,
                "{argv:?}"
            );
            assert!(err.to_string().contains(says), "{argv:?}: {err}");
            // The same options on the local backend are fine.
            let local: Vec<&str> = argv
                .iter()
                .copied()
                .filter(|a| *a != "--backend" && *a != "kind")
                .collect();
            assert!(
                Cli::try_parse_checked_from(local.clone()).is_ok(),
                "{local:?}"
            );
        }
        for fine in [
            vec!["georep-harness", "up", "--backend", "kind"],
            vec![
                "georep-harness",
                "up",
                "--backend",
                "kind",
                "--flavour",
                "kubernetes",
            ],
            vec![
                "georep-harness",
                "up",
                "--backend",
                "kind",
                "--quay-version",
                "3.16.5",
            ],
        ] {
            assert!(
                Cli::try_parse_checked_from(fine.clone()).is_ok(),
                "{fine:?}"
            );
        }
    }

    #[test]
    fn conformance_takes_parallel_dry_run_and_the_kind_backend() {
        let cli = Cli::try_parse_from([
            "georep-harness",
            "conformance",
            "--backend",
            "kind",
            "--parallel",
            "4",
            "--dry-run",
        ])
        .unwrap();
        let Command::Conformance(args) = cli.command else {
            panic!("not conformance")
        };
        assert_eq!(args.backend, crate::conformance::Backend::Kind);
        assert_eq!(args.parallel, 4);
        assert!(args.dry_run);
        let opts = conformance::options(&args);
        assert_eq!(opts.parallel, 4);
        assert!(opts.handle_interrupts, "the command handles Ctrl-C");
        let err =
            Cli::try_parse_from(["georep-harness", "conformance", "--parallel", "0"]).unwrap_err();
        assert!(err.to_string().contains("--parallel"), "{err}");
    }

    #[test]
    fn rejects_an_unknown_flavour() {
        let err = Cli::try_parse_from(["georep-harness", "up", "--flavour", "nomad"]).unwrap_err();
        assert!(err.to_string().contains("unknown cluster flavour"), "{err}");
    }
}
