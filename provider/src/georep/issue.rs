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

/// `issues` with the warnings of one summary about the same attribute name (`is_secure` of
/// several storage blocks, say) folded into the first of them: its attribute and detail,
/// then the attributes of the others. The same summary about another attribute (a plain
/// `http://` `endpoint_url`) has another fix and stays apart. Errors stay one per attribute
/// (each must be fixed where it is), and the order of first appearance is kept.
///
/// Why: a configuration with plaintext endpoints on 30 storage blocks drew 30 warnings, which
/// Terraform reports from both its validate and its plan walk, and its `-json` output renders
/// each with a source snippet: noise for whoever reads the plan (a CI system reading `-json`
/// gets no folding of its own), and measured, half of the time of a 30-site plan.
#[must_use]
pub fn fold_alike_warnings(issues: Vec<Issue>) -> Vec<Issue> {
    let mut out: Vec<Issue> = Vec::with_capacity(issues.len());
    let mut also: Vec<Vec<String>> = Vec::with_capacity(issues.len());
    for issue in issues {
        let first = (issue.severity == Severity::Warning)
            .then(|| {
                out.iter().position(|o| {
                    o.severity == Severity::Warning
                        && o.summary == issue.summary
                        && attribute_name(&o.path) == attribute_name(&issue.path)
                })
            })
            .flatten();
        if let Some(i) = first {
            also[i].push(if issue.path.is_root() {
                "the configuration".to_owned()
            } else {
                issue.path.to_string()
            });
        } else {
            out.push(issue);
            also.push(Vec::new());
        }
    }
    for (issue, others) in out.iter_mut().zip(also) {
        if !others.is_empty() {
            issue.detail = format!(
                "{}\n\nThe same holds for {} more: {}",
                issue.detail,
                others.len(),
                others.join(", ")
            );
        }
    }
    out
}

/// The last attribute name of `path` (`is_secure` of `storage["a"].is_secure`).
fn attribute_name(path: &FieldPath) -> String {
    let text = path.to_string();
    text.rsplit('.').next().unwrap_or_default().to_owned()
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

    #[test]
    fn warnings_of_one_summary_and_attribute_fold_into_the_first_and_errors_do_not() {
        let tls = |name: &'static str| FieldPath::attr(name).field("tls");
        let folded = fold_alike_warnings(vec![
            Issue::warning(tls("a"), "Plaintext", "a is plain"),
            Issue::error(tls("x"), "Bad", "x is bad"),
            Issue::warning(tls("b"), "Plaintext", "b is plain"),
            Issue::warning(FieldPath::attr("r"), "Other", "r"),
            Issue::error(tls("y"), "Bad", "y is bad"),
            Issue::warning(tls("c"), "Plaintext", "c is plain"),
            Issue::warning(FieldPath::attr("s").field("url"), "Plaintext", "http"),
        ]);
        let shown: Vec<String> = folded.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "warning: Plaintext at a.tls: a is plain\n\nThe same holds for 2 more: b.tls, \
                 c.tls",
                "error: Bad at x.tls: x is bad",
                "warning: Other at r: r",
                "error: Bad at y.tls: y is bad",
                "warning: Plaintext at s.url: http",
            ]
        );
        let one = vec![Issue::warning(tls("a"), "Plaintext", "a is plain")];
        assert_eq!(fold_alike_warnings(one.clone()), one);
    }
}
