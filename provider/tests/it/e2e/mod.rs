//! End-to-end tests: the real Terraform CLI runs the freshly built provider binary.
//!
//! Each test runs once per Terraform binary under test (the pinned 1.0.3 and the `terraform` on
//! `PATH`, see `georep_harness::terraform::binaries_under_test`), in its own temporary working
//! directory whose CLI config points `dev_overrides` at the directory cargo built
//! `terraform-provider-quay` into, so no `terraform init` and no network are needed. The
//! helpers here only set that up; what a test checks is in the test modules.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::PathBuf;
use std::process::Command;

use georep_harness::secrets::{Finding, SecretScanner};
use georep_harness::terraform::{
    DevOverride, Diagnostic, PlanExit, Severity, TerraformBinary, Workdir, binaries_under_test,
    repo_root,
};

/// The secret values of the shared configuration the e2e tests write (the two secret keys,
/// the database password, each location's access and secret key), for a [`SecretScanner`];
/// a test adds the secrets of its own.
pub fn shared_config_secrets(locations: &[&str]) -> SecretScanner {
    let mut scanner = SecretScanner::new()
        .with("secret_key", "0123456789abcdef0123456789abcdef-secret")
        .with(
            "database_secret_key",
            "fedcba9876543210fedcba9876543210-dbkey",
        )
        .with("the database password", "db-password");
    for location in locations {
        scanner = scanner
            .with(&format!("{location} access_key"), &format!("ak-{location}"))
            .with(
                &format!("{location} secret_key"),
                &format!("sk-{location}-0123456789"),
            );
    }
    scanner
}

mod add_location;
mod bench;
mod cluster_access;
mod data_sources;
mod day_two;
mod deadlines;
mod examples;
mod georep_config;
mod georep_upgrade;
mod install;
mod kubernetes_flavour;
mod local_backend;
mod no_secrets;
mod pod_overrides;
mod remove_location;
mod site_inputs;
mod site_manifests;
mod site_resource;
mod site_takeover;
mod smoke;
mod stale_status;
mod storage_drivers;
mod upgrade;
mod write_only;

/// The directory holding the `terraform-provider-quay` binary cargo built for these tests.
pub fn provider_dir() -> PathBuf {
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-quay"));
    binary
        .parent()
        .expect("cargo names the test binary by an absolute file path")
        .to_owned()
}

/// The Go null provider's folder (`terraform-provider-null_v2.1.2_x4`), installed by
/// `scripts/install-null-provider.sh` if missing.
pub fn null_provider_dir() -> PathBuf {
    let script = repo_root()
        .unwrap()
        .join("scripts/install-null-provider.sh");
    let output = Command::new("bash").arg(&script).output().unwrap();
    assert!(
        output.status.success(),
        "{}: {}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
}

/// A fresh working directory for `test_name` run by `terraform`, serving our provider.
pub fn workdir(terraform: &TerraformBinary, test_name: &str) -> Workdir {
    let name = format!("{test_name}-tf{}", terraform.version);
    Workdir::new(terraform, &name, &[DevOverride::quay(provider_dir())])
        .unwrap_or_else(|error| panic!("{terraform}: {error}"))
}

/// `terraform apply -json` in the background, in its own process group.
pub fn spawn_apply(dir: &Workdir) -> (std::process::Child, std::path::PathBuf) {
    use std::os::unix::process::CommandExt as _;
    let log = dir.path().join("apply.log");
    let file = std::fs::File::create(&log).unwrap();
    let mut command = std::process::Command::new(&dir.binary().path);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("TF_") {
            command.env_remove(key);
        }
    }
    command
        .args(["apply", "-auto-approve", "-json", "-input=false"])
        .current_dir(dir.path())
        .env("TF_CLI_CONFIG_FILE", dir.cli_config_path())
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_IN_AUTOMATION", "1")
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .process_group(0);
    (command.spawn().unwrap(), log)
}

/// Asserts that exactly one diagnostic with `summary` was reported, with `severity`, pointing
/// at source text containing `source` and explaining itself with `detail`.
pub fn assert_diagnostic(
    diags: &[Diagnostic],
    severity: Severity,
    summary: &str,
    source: &str,
    detail: &str,
) {
    let found: Vec<&Diagnostic> = diags.iter().filter(|d| d.summary == summary).collect();
    assert_eq!(
        found.len(),
        1,
        "expected one {summary:?} diagnostic, got {diags:#?}"
    );
    let diag = found[0];
    assert_eq!(diag.severity, severity, "{diag:#?}");
    let snippet = diag
        .snippet
        .as_ref()
        .unwrap_or_else(|| panic!("no source snippet: {diag:#?}"));
    assert!(
        snippet.code.contains(source),
        "{summary:?} should point at {source:?}, but points at {:?} ({:?})",
        snippet.code,
        diag.highlighted()
    );
    assert!(
        diag.detail.contains(detail),
        "detail of {summary:?} lacks {detail:?}: {}",
        diag.detail
    );
}

/// Asserts that Terraform refuses, at plan time, an `output "shown"` that shows each of
/// `attributes` of `object` (such as `data.quay_georep_config.shared`) without
/// `sensitive = true`: the schema marks them sensitive. `hcl` is the rest of the
/// configuration; each attribute gets its own working directory named `{test}_{attribute}`.
pub fn assert_outputs_refused_unless_sensitive(
    terraform: &TerraformBinary,
    test: &str,
    hcl: &str,
    object: &str,
    attributes: &[&str],
) {
    for attribute in attributes {
        let hcl = format!("{hcl}\noutput \"shown\" {{\n  value = {object}.{attribute}\n}}\n");
        let dir = workdir(terraform, &format!("{test}_{attribute}"));
        dir.write_main_tf(&hcl).unwrap();
        let plan = dir.plan().unwrap();
        assert_eq!(
            plan.exit,
            PlanExit::Error,
            "{attribute}: {:#?}",
            plan.events
        );
        let diags: Vec<Diagnostic> = plan.events.diagnostics().cloned().collect();
        assert_diagnostic(
            &diags,
            Severity::Error,
            "Output refers to sensitive values",
            "output \"shown\"",
            "sensitive = true",
        );
    }
}

/// Runs `test` once per Terraform binary under test, and says which one failed.
///
/// Fails (never skips) when the pinned Terraform 1.0.3 is missing: run
/// `scripts/install-terraform.sh`, or `scripts/test.sh` which does.
pub fn for_each_terraform(test: impl Fn(&TerraformBinary)) {
    let binaries = binaries_under_test().unwrap_or_else(|error| panic!("{error}"));
    for terraform in &binaries {
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| test(terraform))) {
            eprintln!("the failure above is with {terraform}");
            resume_unwind(panic);
        }
    }
}

/// Plans and applies `hcl` in a fresh working directory with `TF_LOG=trace` (written to
/// `terraform.log` there), requires both to succeed, and returns where any of `scanner`'s
/// secrets appeared: in plan's and apply's stdout and stderr, in the log, and in every file
/// of the directory except `main.tf` (the input that holds them) and the state files
/// (Terraform keeps sensitive values there in plain text by design).
pub fn secret_findings(
    terraform: &TerraformBinary,
    test_name: &str,
    hcl: &str,
    scanner: &SecretScanner,
) -> Vec<Finding> {
    let dir = workdir(terraform, test_name);
    let log = dir.path().join("terraform.log");
    let dir = dir.with_tf_log("trace").with_env("TF_LOG_PATH", &log);
    dir.write_main_tf(hcl).unwrap();
    let plan = dir
        .run(["plan", "-no-color", "-input=false", "-detailed-exitcode"])
        .unwrap();
    assert!(
        matches!(
            PlanExit::from_exit_code(plan.exit_code),
            Some(PlanExit::NoChanges | PlanExit::Changes)
        ),
        "the plan failed, so it proves nothing about secrets: {}",
        plan.stderr_tail()
    );
    let apply = dir
        .run(["apply", "-auto-approve", "-no-color", "-input=false"])
        .unwrap()
        .require_success()
        .unwrap_or_else(|error| panic!("{error}"));
    let trace = std::fs::read_to_string(&log).unwrap();
    assert!(
        trace.contains("provider.terraform-provider-quay"),
        "TF_LOG=trace did not log the provider's lines to {}",
        log.display()
    );
    let mut findings = Vec::new();
    for (place, text) in [
        ("plan stdout", &plan.stdout),
        ("plan stderr", &plan.stderr),
        ("apply stdout", &apply.stdout),
        ("apply stderr", &apply.stderr),
    ] {
        findings.extend(scanner.scan_text(place, text));
    }
    let by_design = |path: &std::path::Path| {
        ["main.tf", "terraform.tfstate", "terraform.tfstate.backup"]
            .iter()
            .any(|name| path == std::path::Path::new(name))
    };
    findings.extend(scanner.scan_dir(dir.path(), &by_design).unwrap());
    findings
}
