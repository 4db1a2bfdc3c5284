//! End-to-end tests: the real Terraform CLI runs the freshly built provider binary.
//!
//! Each test runs once per Terraform binary under test (the pinned 1.0.3 and the `terraform` on
//! `PATH`, see `georep_harness::terraform::binaries_under_test`), in its own temporary working
//! directory whose CLI config points `dev_overrides` at the directory cargo built
//! `terraform-provider-quay` into, so no `terraform init` and no network are needed. The
//! helpers here only set that up; what a test checks is in the test modules.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::PathBuf;

use georep_harness::terraform::{
    DevOverride, Diagnostic, Severity, TerraformBinary, Workdir, binaries_under_test,
};

mod bench;
mod examples;
mod georep_config;
mod georep_upgrade;
mod kubernetes_flavour;
mod manifests_parity;
mod site_inputs;
mod site_manifests;
mod site_resource;
mod smoke;
mod three_sites;
mod upgrade;

/// The directory holding the `terraform-provider-quay` binary cargo built for these tests.
pub fn provider_dir() -> PathBuf {
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-quay"));
    binary
        .parent()
        .expect("cargo names the test binary by an absolute file path")
        .to_owned()
}

/// A fresh working directory for `test_name` run by `terraform`, serving our provider.
pub fn workdir(terraform: &TerraformBinary, test_name: &str) -> Workdir {
    let name = format!("{test_name}-tf{}", terraform.version);
    Workdir::new(terraform, &name, &[DevOverride::quay(provider_dir())])
        .unwrap_or_else(|error| panic!("{terraform}: {error}"))
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
