//! Diagnostics: the errors and warnings a provider reports to Terraform.
//!
//! A [`Diagnostic`] is the protocol's `Diagnostic` without the protobuf: a severity, a summary
//! written as a title ("Missing Storage Location"), a detail that says what to change, and an
//! optional [`AttributePath`] so Terraform points at the offending expression. [`Diagnostics`]
//! accumulates them: validation collects every problem instead of stopping at the first.
//!
//! This module does not convert to protobuf (the plugin layer does) and does not log.

use std::fmt;

use super::path::AttributePath;

/// How bad a diagnostic is. The protocol's `INVALID` severity is deliberately absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The operation failed; Terraform stops.
    Error,
    /// Something the user should know; the operation continues.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Error => "error",
            Self::Warning => "warning",
        })
    }
}

/// One error or warning for Terraform to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// A short title, e.g. "Invalid Storage Preference".
    pub summary: String,
    /// What was seen and what to change.
    pub detail: String,
    /// The attribute at fault, if the configuration is; `None` points at the whole block.
    pub attribute: Option<AttributePath>,
}

impl Diagnostic {
    /// An error diagnostic without an attribute.
    pub fn error(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            summary: summary.into(),
            detail: detail.into(),
            attribute: None,
        }
    }

    /// A warning diagnostic without an attribute.
    pub fn warning(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            summary: summary.into(),
            detail: detail.into(),
            attribute: None,
        }
    }

    /// This diagnostic pointing at `path`.
    #[must_use]
    pub fn with_attribute(mut self, path: AttributePath) -> Self {
        self.attribute = Some(path);
        self
    }

    /// Whether this is an error (not a warning).
    #[must_use]
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// `error: summary: detail (at path)`, for logs and test failure messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.severity, self.summary)?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        if let Some(path) = &self.attribute {
            write!(f, " (at {path})")?;
        }
        Ok(())
    }
}

/// An ordered collection of diagnostics.
///
/// # Examples
///
/// ```
/// use terraform_provider_quay::tfvalue::{AttributePath, Diagnostics};
///
/// let mut diags = Diagnostics::default();
/// diags.warning("Deprecated Attribute", "use `storage` instead");
/// assert!(!diags.has_errors());
/// diags.error_at(
///     AttributePath::root().attr("hostname"),
///     "Missing Hostname",
///     "set `hostname` to the global load balancer's FQDN",
/// );
/// assert!(diags.has_errors());
/// assert_eq!(diags.len(), 2);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    /// An empty collection.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a diagnostic.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    /// Appends an error without an attribute and returns it, so a caller can still set fields.
    pub fn error(
        &mut self,
        summary: impl Into<String>,
        detail: impl Into<String>,
    ) -> &mut Diagnostic {
        self.push_last(Diagnostic::error(summary, detail))
    }

    /// Appends an error pointing at `path` and returns it.
    pub fn error_at(
        &mut self,
        path: AttributePath,
        summary: impl Into<String>,
        detail: impl Into<String>,
    ) -> &mut Diagnostic {
        self.push_last(Diagnostic::error(summary, detail).with_attribute(path))
    }

    /// Appends a warning without an attribute and returns it.
    pub fn warning(
        &mut self,
        summary: impl Into<String>,
        detail: impl Into<String>,
    ) -> &mut Diagnostic {
        self.push_last(Diagnostic::warning(summary, detail))
    }

    fn push_last(&mut self, diagnostic: Diagnostic) -> &mut Diagnostic {
        self.0.push(diagnostic);
        self.0
            .last_mut()
            .expect("a diagnostic was pushed on the line above")
    }

    /// Whether any diagnostic is an error.
    #[must_use]
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    /// Whether there are no diagnostics at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many diagnostics there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The diagnostics in the order they were added.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// Only the errors.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.is_error())
    }

    /// Nests every attribute path under `prefix`; diagnostics without a path get `prefix`.
    ///
    /// For diagnostics produced against a nested value (one `storage` block, say) that must
    /// point into the whole configuration.
    #[must_use]
    pub fn under(mut self, prefix: &AttributePath) -> Self {
        for diagnostic in &mut self.0 {
            diagnostic.attribute = Some(match diagnostic.attribute.take() {
                Some(path) => path.under(prefix),
                None => prefix.clone(),
            });
        }
        self
    }

    /// The diagnostics as a slice.
    #[must_use]
    pub fn as_slice(&self) -> &[Diagnostic] {
        &self.0
    }

    /// The diagnostics as a vector.
    #[must_use]
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.0
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(diagnostic: Diagnostic) -> Self {
        Self(vec![diagnostic])
    }
}

impl From<Vec<Diagnostic>> for Diagnostics {
    fn from(diagnostics: Vec<Diagnostic>) -> Self {
        Self(diagnostics)
    }
}

impl Extend<Diagnostic> for Diagnostics {
    fn extend<I: IntoIterator<Item = Diagnostic>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl FromIterator<Diagnostic> for Diagnostics {
    fn from_iter<I: IntoIterator<Item = Diagnostic>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for Diagnostics {
    /// One diagnostic per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, diagnostic) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_alone_are_not_errors() {
        let mut diags = Diagnostics::new();
        diags.warning("Deprecated", "use something else");
        assert!(!diags.has_errors());
        assert!(!diags.is_empty());
        assert_eq!(diags.errors().count(), 0);
    }

    #[test]
    fn one_error_among_warnings_is_an_error() {
        let mut diags = Diagnostics::new();
        diags.warning("Deprecated", "");
        diags.error("Broken", "fix it");
        assert!(diags.has_errors());
        assert_eq!(diags.errors().count(), 1);
    }

    #[test]
    fn error_returns_the_pushed_diagnostic_for_further_fields() {
        let mut diags = Diagnostics::new();
        diags.error("Broken", "fix it").attribute = Some(AttributePath::root().attr("name"));
        assert_eq!(
            diags.iter().next().and_then(|d| d.attribute.clone()),
            Some(AttributePath::root().attr("name"))
        );
    }

    #[test]
    fn under_nests_paths_and_fills_missing_ones() {
        let mut diags = Diagnostics::new();
        diags.error_at(AttributePath::root().attr("bucket"), "Missing Bucket", "");
        diags.error("Broken", "");
        let prefix = AttributePath::root().attr("storage").key("eu");
        let paths: Vec<String> = diags
            .under(&prefix)
            .iter()
            .filter_map(|d| d.attribute.as_ref().map(ToString::to_string))
            .collect();
        assert_eq!(paths, [r#"storage["eu"].bucket"#, r#"storage["eu"]"#]);
    }

    #[test]
    fn displays_severity_summary_detail_and_path() {
        let diag = Diagnostic::error("Missing Bucket", "set `bucket`")
            .with_attribute(AttributePath::root().attr("storage").key("eu"));
        assert_eq!(
            diag.to_string(),
            r#"error: Missing Bucket: set `bucket` (at storage["eu"])"#
        );
    }

    #[test]
    fn collects_and_extends_in_order() {
        let mut diags: Diagnostics = vec![Diagnostic::error("a", "")].into();
        diags.extend([Diagnostic::warning("b", ""), Diagnostic::error("c", "")]);
        let summaries: Vec<_> = diags.into_iter().map(|d| d.summary).collect();
        assert_eq!(summaries, ["a", "b", "c"]);
    }
}
