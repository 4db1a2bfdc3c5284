//! The conformance suite (`georep_harness::conformance`), the harness's product, run by the
//! project's own tests with the provider cargo just built: on the local backend every
//! scenario must pass; through a target file against the clusters of a running
//! `georep-harness up`, the scenarios that need local-only capabilities are skipped and the
//! others pass. Both check that no secret of the run reaches a report or the terminal, and
//! that the JUnit report validates against Jenkins' schema.
//!
//! The suite lives here rather than among the harness's tests because only this crate's
//! tests get the freshly built `terraform-provider-quay` (`CARGO_BIN_EXE_*`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use georep_harness::conformance::{self, Backend, Options, Outcome, Output, RunResult, report};
use georep_harness::secrets::{SecretScanner, describe};
use georep_harness::terraform::{binaries_under_test, repo_root};

use crate::e2e::provider_dir;

/// What the suite printed, as a CI log would hold it.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The pinned Terraform (the first under test): the suite is the longest test, once is enough
/// for it; the protocol with other versions is covered by the provider's own e2e tests.
fn pinned_terraform() -> PathBuf {
    binaries_under_test().unwrap_or_else(|e| panic!("{e}"))[0]
        .path
        .clone()
}

/// Runs the suite with `opts` (with the pinned Terraform unless it names some) and writes the
/// three reports into `reports`; returns the result, the terminal output and the scanner of
/// the run's secrets.
fn run_suite(mut opts: Options, reports: &Path) -> (RunResult, String, SecretScanner) {
    if opts.terraform.is_empty() {
        opts.terraform = vec![pinned_terraform()];
    }
    opts.provider_dir = Some(provider_dir());
    let captured = Captured::default();
    let output = Arc::new(Output::plain(Box::new(captured.clone())));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let result = runtime
        .block_on(conformance::run(&opts, Arc::clone(&output)))
        .unwrap_or_else(|e| panic!("{}", georep_harness::errors::chain(&e)));
    report::write("JUnit", &reports.join("junit.xml"), &report::junit(&result)).unwrap();
    report::write(
        "Markdown",
        &reports.join("report.md"),
        &report::markdown(&result),
    )
    .unwrap();
    report::write("JSON", &reports.join("report.json"), &report::json(&result)).unwrap();
    println!("{}", captured.text());
    println!("wall time of the suite: {:.1} s", result.wall_seconds);
    (result, captured.text(), output.scanner())
}

/// Every failed case with its message and evidence, for an assertion.
fn failures(result: &RunResult) -> String {
    let mut text = String::new();
    for case in result.suites.iter().flat_map(|s| &s.cases) {
        if let Outcome::Failed { message } = &case.outcome {
            text.push_str(&format!("\n{}: {message}\n{}\n", case.id, case.evidence));
        }
    }
    text
}

/// Validates the JUnit report with xmllint against Jenkins' schema.
fn assert_valid_junit(path: &Path) {
    let xsd = repo_root()
        .unwrap()
        .join("harness/tests/fixtures/junit/junit-10.xsd");
    let out = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("run xmllint ({e}): scripts/install-services.sh installs it"));
    assert!(
        out.status.success(),
        "{} does not validate: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Asserts that no secret of `scanner` is in the reports under `reports` or in `terminal`,
/// and that the scan could have found one (the reports name the run's ids).
fn assert_no_secrets(scanner: &SecretScanner, reports: &Path, terminal: &str) {
    assert!(
        scanner.labels().len() >= 5,
        "the run used passwords, keys and URIs: {:?}",
        scanner.labels()
    );
    let mut findings = scanner.scan_dir(reports, &|_| false).unwrap();
    findings.extend(scanner.scan_text("terminal output", terminal));
    assert!(
        findings.is_empty(),
        "secrets leaked:\n{}",
        describe(&findings)
    );
}

#[test]
fn every_scenario_passes_on_the_local_backend() {
    let reports = tempfile::tempdir().unwrap();
    let opts = Options::new(Backend::Local);
    let (result, terminal, scanner) = run_suite(opts, reports.path());
    assert!(result.passed(), "failed scenarios:{}", failures(&result));
    let cases: Vec<_> = result.suites.iter().flat_map(|s| &s.cases).collect();
    assert_eq!(
        cases.len(),
        conformance::scenarios::catalogue().len(),
        "every scenario ran"
    );
    for case in &cases {
        assert_eq!(
            case.outcome,
            Outcome::Passed,
            "{}: {}",
            case.id,
            case.evidence
        );
    }
    assert_valid_junit(&reports.path().join("junit.xml"));
    let md = std::fs::read_to_string(reports.path().join("report.md")).unwrap();
    let json: RunResult =
        serde_json::from_str(&std::fs::read_to_string(reports.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(json.suites[0].cases.len(), cases.len());
    for case in &cases {
        assert!(
            md.contains(&format!("| `{}` | passed |", case.id)),
            "{}",
            case.id
        );
    }
    assert_no_secrets(&scanner, reports.path(), &terminal);
}

/// The upgrade through Terraform with every Terraform under test: the provider's resource
/// protocol for `quay_georep_upgrade` (its long create, its outputs) on both. The local
/// backend starts two minors below the newest, one hop per Terraform.
#[test]
fn the_upgrade_scenario_passes_with_every_terraform_under_test() {
    let reports = tempfile::tempdir().unwrap();
    let mut opts = Options::new(Backend::Local);
    opts.include = vec!["AC2-*".to_owned()];
    opts.terraform = binaries_under_test()
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|tf| tf.path)
        .collect();
    let (result, _, _) = run_suite(opts, reports.path());
    assert!(result.passed(), "failed scenarios:{}", failures(&result));
    assert!(result.suites.len() >= 2, "{result:#?}");
    for suite in &result.suites {
        assert_eq!(suite.cases.len(), 1, "{suite:#?}");
        assert_eq!(
            suite.cases[0].outcome,
            Outcome::Passed,
            "{}: {}",
            suite.terraform,
            suite.cases[0].evidence
        );
    }
}

/// The secrets of a target file, read from its fields here (not through the run's scanner
/// or `Target::secrets`): what a platform team would put in it.
fn target_secrets(target: &georep_harness::conformance::Target) -> SecretScanner {
    let services = &target.services;
    let mut scanner = SecretScanner::new()
        .with("the database password", &services.postgres.password)
        .with("the Redis password", &services.redis.password);
    for (name, uri) in &services.postgres.database_uris {
        scanner = scanner.with(&format!("the {name} database URI"), uri);
    }
    for (location, s3) in &services.sites {
        scanner = scanner
            .with(&format!("{location} access key"), &s3.access_key)
            .with(&format!("{location} secret key"), &s3.secret_key);
    }
    scanner
}

#[test]
fn the_suite_runs_through_a_target_file_on_the_clusters_of_up() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let state = tempfile::tempdir().unwrap();
    let args = georep_harness::cli::up::UpArgs {
        sites: georep_harness::local::DEFAULT_SITES
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        flavour: georep_harness::sim::Flavour::Openshift,
        state_dir: Some(state.path().to_owned()),
        ready_file: None,
        plain_http: false,
        quay_version: georep_harness::quay::Catalogue::builtin().newest().version,
        backend: georep_harness::backend::BackendArgs::default(),
    };
    let running = runtime
        .block_on(georep_harness::cli::up::start(&args))
        .unwrap();
    let target = georep_harness::conformance::Target::load(&running.target).unwrap();
    let reports = tempfile::tempdir().unwrap();
    let mut opts = Options::new(Backend::Existing);
    opts.target = Some(running.target.clone());
    // One scenario of each kind: a site install, one that needs a local-only capability, a
    // bad input (no write counters here: checked by the namespace), the global endpoints (not
    // through an upgrade: not allowed), and one that upgrades the operator (skipped).
    opts.include = [
        "SCEN-three-sites",
        "AC3-*",
        "BADINPUT-unknown_cluster",
        "GLB-*",
        "AC2-*",
    ]
    .map(str::to_owned)
    .to_vec();
    let (result, terminal, _) = run_suite(opts, reports.path());
    let cases: Vec<_> = result.suites.iter().flat_map(|s| &s.cases).collect();
    assert_eq!(cases.len(), 5, "{cases:#?}");
    for case in &cases {
        let expected = match case.id.as_str() {
            "AC3-storage-preference" => Outcome::Skipped {
                reason: "needs simulated-push".to_owned(),
            },
            "AC2-scale-down-for-upgrade" => Outcome::Skipped {
                reason: "needs --allow-operator-upgrade (it upgrades the operator of every \
                         site one minor)"
                    .to_owned(),
            },
            _ => Outcome::Passed,
        };
        assert_eq!(case.outcome, expected, "{}:\n{}", case.id, case.evidence);
    }
    let global = cases.iter().find(|c| c.id == "GLB-quay-and-clair").unwrap();
    assert!(
        global
            .evidence
            .contains("through an upgrade: not checked (needs --allow-operator-upgrade)"),
        "{}",
        global.evidence
    );
    assert_eq!(result.suites[0].backend, "existing");
    let bad = cases
        .iter()
        .find(|c| c.id.starts_with("BADINPUT-"))
        .unwrap();
    assert!(
        bad.evidence.contains("write counters: not available"),
        "{}",
        bad.evidence
    );
    assert_valid_junit(&reports.path().join("junit.xml"));
    assert_no_secrets(&target_secrets(&target), reports.path(), &terminal);
    runtime.block_on(running.env.stop()).unwrap();
}
