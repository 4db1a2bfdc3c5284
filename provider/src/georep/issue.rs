//! [`Issue`]: one validation finding, an error or a warning, about the user's input.
//!
//! Issues are plain data: a [`Severity`], a [`FieldPath`] to the attribute at fault, a Title
//! Case summary and a detail sentence that says what was seen and what to change. Details never
//! contain secret values. The resources layer turns issues into Terraform diagnostics; this
//! module knows nothing about Terraform.

use std::fmt;

use super::path::FieldPath;

/// How serious an [`Issue`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// The input cannot be used; nothing is rendered.
    Error,
    /// The input works but is probably not what the user wants.
    Warning,
}

/// A validation finding about one attribute of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Whether this blocks the plan.
    pub severity: Severity,
    /// The attribute at fault.
    pub path: FieldPath,
    /// A short title in Title Case, such as `Invalid Server Hostname`.
    pub summary: String,
    /// What was seen (never a secret value) and the change to make.
    pub detail: String,
}

impl Issue {
    /// An [`Severity::Error`] issue.
    pub fn error(path: FieldPath, summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            path,
            summary: summary.into(),
            detail: detail.into(),
        }
    }

    /// A [`Severity::Warning`] issue.
    pub fn warning(path: FieldPath, summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            path,
            summary: summary.into(),
            detail: detail.into(),
        }
    }

    /// Whether this issue blocks the plan.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        if self.path.is_root() {
            write!(f, "{severity}: {}: {}", self.summary, self.detail)
        } else {
            write!(
                f,
                "{severity}: {} at {}: {}",
                self.summary, self.path, self.detail
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_severity_summary_path_and_detail() {
        let issue = Issue::warning(
            FieldPath::attr("storage"),
            "Single Storage Location",
            "add a second storage block",
        );
        assert_eq!(
            issue.to_string(),
            "warning: Single Storage Location at storage: add a second storage block"
        );
        assert!(!issue.is_error());
        assert!(Issue::error(FieldPath::root(), "A", "b").is_error());
    }
}
