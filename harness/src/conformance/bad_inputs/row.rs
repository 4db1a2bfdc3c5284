//! One row of the catalogue of bad inputs ([`BadInput`]) and the check of a plan's
//! diagnostics against it.

use crate::terraform::{Diagnostic, Severity};

/// Which Terraform types a bad input applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum For {
    /// `data "quay_georep_config"`: the shared config itself is wrong.
    Config,
    /// `resource "quay_georep_site"` and `data "quay_georep_site_manifests"`.
    Both,
    /// Only the resource (it alone has `timeouts`).
    Resource,
    /// Only the data source (it alone has `secret_mode`).
    Manifests,
}

/// One bad input: how to break the configuration, and what the plan must say about it.
#[derive(Debug)]
pub struct BadInput {
    /// Its name: `BADINPUT-<name>` in the suite, and the test's working directory.
    pub name: &'static str,
    /// Which types have the attribute this row breaks.
    pub applies_to: For,
    /// Lines added to the shared config's body.
    pub config_extra: &'static str,
    /// Lines added to the `us_east` site's body.
    pub extra: &'static str,
    /// Text replacements, each applied once to the whole configuration.
    pub replace: &'static [(&'static str, &'static str)],
    /// The diagnostic's summary.
    pub summary: &'static str,
    /// Text of the source the diagnostic points at; [`BLOCK`] stands for the site block's
    /// type.
    pub source: &'static str,
    /// Text the detail must contain.
    pub detail: &'static str,
}

/// In [`BadInput::source`]: the site block's type name (its header is what is pointed at).
pub const BLOCK: &str = "<block type>";

impl BadInput {
    /// Whether exactly one error with this row's summary is among `diags`, pointing at this
    /// row's source (with [`BLOCK`] read as `block_type`) and explaining itself with its
    /// detail.
    ///
    /// # Errors
    /// What is wrong, in one sentence with what was seen.
    pub fn check(&self, diags: &[Diagnostic], block_type: &str) -> Result<(), String> {
        let source = self.source.replace(BLOCK, block_type);
        let found: Vec<&Diagnostic> = diags.iter().filter(|d| d.summary == self.summary).collect();
        let [diag] = found.as_slice() else {
            let seen: Vec<&str> = diags.iter().map(|d| d.summary.as_str()).collect();
            return Err(format!(
                "expected one {:?} diagnostic, got {} among {seen:?}",
                self.summary,
                found.len()
            ));
        };
        if diag.severity != Severity::Error {
            return Err(format!(
                "{:?} is a {:?}, not an error",
                self.summary, diag.severity
            ));
        }
        let Some(snippet) = &diag.snippet else {
            return Err(format!("{:?} has no source snippet", self.summary));
        };
        if !snippet.code.contains(&source) {
            return Err(format!(
                "{:?} should point at {source:?}, but points at {:?} ({:?})",
                self.summary,
                snippet.code,
                diag.highlighted()
            ));
        }
        if !diag.detail.contains(self.detail) {
            return Err(format!(
                "the detail of {:?} lacks {:?}: {}",
                self.summary, self.detail, diag.detail
            ));
        }
        Ok(())
    }
}
