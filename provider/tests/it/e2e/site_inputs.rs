//! What the site resource and the manifests data source share in their end-to-end tests:
//! the provider block and shared config they are planned with, and the checks on the
//! diagnostics. The table of bad inputs is the harness's one catalogue
//! (`georep_harness::conformance::bad_inputs`), which the conformance suite runs against
//! clusters as `BADINPUT-<name>`; these tests read it for what needs no cluster.

use georep_harness::conformance::bad_inputs::{self, kubeconfig_path};
pub use georep_harness::conformance::bad_inputs::{
    BLOCK, For, LOCATIONS, bad_inputs_for, site_body,
};
use georep_harness::terraform::{Diagnostic, Severity, Workdir};

/// The provider with one cluster per location, each reading `kubeconfig(location)`, and the
/// shared config (`config_extra` inserted in its body).
pub fn header(config_extra: &str, kubeconfig: &dyn Fn(&str) -> String) -> String {
    bad_inputs::header(config_extra, &|l| kubeconfig_path(&kubeconfig(l)))
}

/// `hcl` with each `(from, to)` applied once; `from` must occur (else the table is wrong).
pub fn replace_once(hcl: String, replace: &[(&str, &str)]) -> String {
    bad_inputs::replace_once(hcl, replace).unwrap_or_else(|e| panic!("test bug: {e}"))
}

/// Writes the certificates the TLS rows read with `file()`.
pub fn write_certificates(dir: &Workdir) {
    bad_inputs::write_certificates(dir).unwrap_or_else(|e| panic!("{e}"));
}

/// Asserts that exactly one error with `summary` was reported, pointing at source text
/// containing `source` and explaining itself with `detail`.
pub fn assert_reported(diags: &[Diagnostic], summary: &str, source: &str, detail: &str) {
    super::assert_diagnostic(diags, Severity::Error, summary, source, detail);
}
