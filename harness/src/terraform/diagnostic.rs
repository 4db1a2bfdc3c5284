//! Terraform's JSON diagnostic: the shape `validate -json` lists and `-json` streams embed.
//!
//! This is the *reader's* model of a diagnostic as the Terraform CLI prints it, for tests and
//! the harness to assert on. It is not the provider's diagnostic type (that lives in the
//! provider's `tfvalue` module and travels over gRPC); it is what a user ends up seeing.
//! Every field Terraform may leave out is optional, and unknown fields are ignored, so newer
//! releases still parse.

use serde::Deserialize;

/// How serious a diagnostic is.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
pub enum Severity {
    /// The operation failed.
    Error,
    /// The operation went on; the user should still look.
    Warning,
    /// A severity this module does not know yet, kept verbatim.
    Other(String),
}

impl From<String> for Severity {
    fn from(value: String) -> Self {
        match value.as_str() {
            "error" => Self::Error,
            "warning" => Self::Warning,
            _ => Self::Other(value),
        }
    }
}

/// One diagnostic as Terraform prints it with `-json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The one-line title, e.g. "Missing required argument".
    pub summary: String,
    /// The explanation; empty when Terraform printed none.
    #[serde(default)]
    pub detail: String,
    /// The resource instance the diagnostic is about, when Terraform knows it (newer releases).
    #[serde(default)]
    pub address: Option<String>,
    /// Where in the configuration the problem is, when it is about configuration.
    #[serde(default)]
    pub range: Option<Range>,
    /// The source lines around [`Diagnostic::range`], when Terraform could read them.
    #[serde(default)]
    pub snippet: Option<Snippet>,
}

impl Diagnostic {
    /// Whether this diagnostic is an error.
    #[must_use]
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The exact source text Terraform underlines, e.g. `var.missing` or `"not-a-number"`.
    ///
    /// Tests use it to check *which* attribute a diagnostic points at. `None` when the
    /// diagnostic has no snippet, or its offsets do not fall on character boundaries of the
    /// snippet's code (Terraform would not print such a snippet, but the input is not ours).
    #[must_use]
    pub fn highlighted(&self) -> Option<&str> {
        let snippet = self.snippet.as_ref()?;
        snippet
            .code
            .get(snippet.highlight_start_offset..snippet.highlight_end_offset)
    }
}

/// A span of a configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Range {
    /// The file, relative to the working directory (e.g. `main.tf`).
    pub filename: String,
    /// The first character of the span.
    pub start: Pos,
    /// Just after the last character of the span.
    pub end: Pos,
}

/// A position in a configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// 0-based byte offset from the start of the file.
    pub byte: usize,
}

/// The source text around a diagnostic's range.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Snippet {
    /// The enclosing block header, e.g. `output "greeting"`, when there is one.
    #[serde(default)]
    pub context: Option<String>,
    /// The source line(s) containing the range.
    pub code: String,
    /// The 1-based line number of the first line of [`Snippet::code`].
    pub start_line: usize,
    /// Byte offset into [`Snippet::code`] where the highlighted text starts.
    pub highlight_start_offset: usize,
    /// Byte offset into [`Snippet::code`] just after the highlighted text.
    pub highlight_end_offset: usize,
    /// Values of the expressions in the range, as Terraform describes them.
    #[serde(default)]
    pub values: Vec<ExpressionValue>,
}

/// One expression value Terraform shows below a snippet, e.g. `var.port is "eighty"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ExpressionValue {
    /// The expression, e.g. `var.port`.
    pub traversal: String,
    /// The description of its value, e.g. `is "eighty"`.
    pub statement: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Verbatim from `terraform validate -json` (1.0.3 and 1.11.4 print the same).
    const UNDECLARED_VARIABLE: &str = r#"{
      "severity": "error",
      "summary": "Reference to undeclared input variable",
      "detail": "An input variable with the name \"missing\" has not been declared.",
      "range": {
        "filename": "main.tf",
        "start": {"line": 2, "column": 20, "byte": 39},
        "end": {"line": 2, "column": 31, "byte": 50}
      },
      "snippet": {
        "context": "output \"greeting\"",
        "code": "  value = \"hello ${var.missing}\"",
        "start_line": 2,
        "highlight_start_offset": 19,
        "highlight_end_offset": 30,
        "values": []
      }
    }"#;

    #[test]
    fn highlighted_returns_the_underlined_expression() {
        let diagnostic: Diagnostic = serde_json::from_str(UNDECLARED_VARIABLE).unwrap();
        assert_eq!(diagnostic.highlighted(), Some("var.missing"));
        assert!(diagnostic.is_error());
        let range = diagnostic.range.unwrap();
        assert_eq!((range.filename.as_str(), range.start.line), ("main.tf", 2));
    }

    #[test]
    fn highlighted_is_none_without_a_snippet() {
        let diagnostic: Diagnostic = serde_json::from_str(
            r#"{"severity":"warning","summary":"Provider development overrides are in effect"}"#,
        )
        .unwrap();
        assert_eq!(diagnostic.severity, Severity::Warning);
        assert_eq!(diagnostic.detail, "");
        assert_eq!(diagnostic.highlighted(), None);
    }

    #[test]
    fn highlighted_is_none_when_offsets_split_a_character() {
        let diagnostic: Diagnostic = serde_json::from_str(
            r#"{"severity":"error","summary":"s","snippet":{"code":"a = \"é\"","start_line":1,
                "highlight_start_offset":5,"highlight_end_offset":6}}"#,
        )
        .unwrap();
        assert_eq!(diagnostic.highlighted(), None);
    }

    #[test]
    fn keeps_unknown_severities_and_ignores_unknown_fields() {
        let diagnostic: Diagnostic = serde_json::from_str(
            r#"{"severity":"notice","summary":"s","address":"quay_x.a","new_field":1}"#,
        )
        .unwrap();
        assert_eq!(diagnostic.severity, Severity::Other("notice".to_owned()));
        assert_eq!(diagnostic.address.as_deref(), Some("quay_x.a"));
    }
}
