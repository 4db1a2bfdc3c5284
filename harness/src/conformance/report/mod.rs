//! The reports of a run, all written from one [`RunResult`]: JUnit XML for CI test views
//! ([`junit`]), Markdown for a CI job summary ([`markdown`]), and JSON for tools ([`json`]).
//! None of them adds text of its own that could hold a secret: what they print was redacted
//! when the result was made.

mod junit;
mod markdown;
mod text;

pub use junit::junit;
pub use markdown::markdown;
pub use text::printable;

use std::path::{Path, PathBuf};

use super::result::RunResult;

/// A report could not be written.
#[derive(Debug, thiserror::Error)]
#[error("write the {kind} report to {}", path.display())]
pub struct Error {
    /// `JUnit`, `Markdown` or `JSON`.
    pub kind: &'static str,
    /// The file.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

/// The run as pretty JSON (the [`RunResult`] itself).
#[must_use]
pub fn json(run: &RunResult) -> String {
    // Plain strings and numbers: serialising cannot fail.
    serde_json::to_string_pretty(run).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// Writes `text` to `path`, creating its directory.
///
/// # Errors
/// [`Error`] naming the report `kind` and the file.
pub fn write(kind: &'static str, path: &Path, text: &str) -> Result<(), Error> {
    let error = |source| Error {
        kind,
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(error)?;
    }
    std::fs::write(path, text).map_err(error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::result::tests::sample;

    #[test]
    fn printable_drops_colours_and_control_characters() {
        assert_eq!(printable("a\u{1b}[31mred\u{1b}[0m\u{7}\tb\n"), "ared\tb\n");
    }

    #[test]
    fn json_carries_every_case_with_its_result_and_reason() {
        let value: serde_json::Value = serde_json::from_str(&json(&sample())).unwrap();
        let cases = &value["suites"][0]["cases"];
        assert_eq!(cases[0]["result"], "passed");
        assert_eq!(cases[1]["result"], "failed");
        assert_eq!(
            cases[1]["message"],
            "expected one \"Invalid\" <diagnostic> & got 0"
        );
        assert_eq!(cases[2]["reason"], "needs fault-injection");
        let back: RunResult = serde_json::from_value(value).unwrap();
        assert_eq!(back, sample());
    }
}
