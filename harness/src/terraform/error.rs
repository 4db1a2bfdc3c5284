//! The one error type of the `terraform` module.
//!
//! Every failure names the command (binary version, subcommand and arguments) and, when
//! Terraform ran, its exit code and the tail of its stderr, so a failing test explains itself
//! without a rerun. Negative outcomes Terraform reports *as data* (an invalid configuration, a
//! plan with errors) are not errors here: they come back as outcomes with diagnostics.

use std::path::PathBuf;
use std::time::Duration;

use super::diagnostic::Diagnostic;

/// Why driving Terraform failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The pinned Terraform 1.0.3 is not where tests look for it.
    #[error(
        "terraform 1.0.3 not found at {path}: run scripts/install-terraform.sh \
         (or point TF_ACC_TERRAFORM at a Terraform 1.0.3 binary)"
    )]
    PinnedBinaryMissing {
        /// Where it was looked for.
        path: PathBuf,
    },

    /// A binary reports another version than the one it must be.
    #[error("{path} is terraform {found}, expected terraform {expected}")]
    UnexpectedVersion {
        /// The binary.
        path: PathBuf,
        /// The version it reported.
        found: String,
        /// The version it must have.
        expected: String,
    },

    /// `terraform version -json` printed something that is not a version.
    #[error("{path} printed no version in `version -json`: {output}")]
    UnreadableVersion {
        /// The binary.
        path: PathBuf,
        /// What it printed (truncated).
        output: String,
    },

    /// No Terraform executable was found (for the demo and the benchmarks).
    #[error(
        "no terraform at {} nor on PATH: run scripts/install-terraform.sh or pass --terraform",
        tried.display()
    )]
    TerraformMissing {
        /// The pinned path looked at first.
        tried: PathBuf,
    },

    /// The provider executable is missing from the provider directory.
    #[error(
        "no {}: run `cargo build -p terraform-provider-quay` or pass --provider-dir",
        exe.display()
    )]
    ProviderMissing {
        /// The executable looked for.
        exe: PathBuf,
    },

    /// No directory above the start holds the workspace `Cargo.toml`.
    #[error("no workspace Cargo.toml in {start} or any parent directory")]
    RepoRootNotFound {
        /// Where the search started.
        start: PathBuf,
    },

    /// The process could not be started.
    #[error("start `{command}`")]
    Spawn {
        /// The command line.
        command: String,
        /// Why it could not start.
        #[source]
        source: std::io::Error,
    },

    /// Waiting for the process to exit failed (it was killed to be sure it is gone).
    #[error("wait for `{command}` to exit")]
    Wait {
        /// The command line.
        command: String,
        /// Why waiting failed.
        #[source]
        source: std::io::Error,
    },

    /// The process ran longer than its timeout and was killed.
    #[error("`{command}` timed out after {timeout:?} and was killed; stderr: {stderr_tail}")]
    TimedOut {
        /// The command line.
        command: String,
        /// The timeout it exceeded.
        timeout: Duration,
        /// The end of what it wrote to stderr before it was killed.
        stderr_tail: String,
    },

    /// The process was ended by a signal we did not send.
    #[error("`{command}` was killed by signal {signal}; stderr: {stderr_tail}")]
    Signalled {
        /// The command line.
        command: String,
        /// The signal number.
        signal: i32,
        /// The end of its stderr.
        stderr_tail: String,
    },

    /// The process exited with a code the command does not expect.
    #[error("`{command}` exited with code {exit_code}; stderr: {stderr_tail}")]
    Failed {
        /// The command line.
        command: String,
        /// Its exit code.
        exit_code: i32,
        /// The end of its stderr.
        stderr_tail: String,
    },

    /// The process printed something that is not the JSON the command promises.
    #[error("read the JSON output of `{command}` (exit code {exit_code}); stderr: {stderr_tail}")]
    Parse {
        /// The command line.
        command: String,
        /// Its exit code.
        exit_code: i32,
        /// The end of its stderr.
        stderr_tail: String,
        /// What was wrong with stdout.
        #[source]
        source: serde_json::Error,
    },

    /// Terraform reported error diagnostics where success was required.
    #[error("`{command}` exited with code {exit_code} and reported: {}", summaries(.diagnostics))]
    Diagnostics {
        /// The command line.
        command: String,
        /// Its exit code.
        exit_code: i32,
        /// The error diagnostics it printed.
        diagnostics: Vec<Diagnostic>,
    },

    /// The temporary working directory could not be created.
    #[error("create a working directory for {test_name}")]
    CreateWorkdir {
        /// The test the directory is for.
        test_name: String,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },

    /// A file name given for the working directory would leave it.
    #[error("file name {name:?} must be a relative path without `..`")]
    FileOutsideWorkdir {
        /// The rejected name.
        name: PathBuf,
    },

    /// A file could not be written.
    #[error("write {path}")]
    WriteFile {
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
}

/// "summary (at main.tf:3 `highlighted`); summary" for an error message.
fn summaries(diagnostics: &[Diagnostic]) -> String {
    if diagnostics.is_empty() {
        return "no error diagnostics".to_owned();
    }
    diagnostics
        .iter()
        .map(|diagnostic| {
            let mut text = diagnostic.summary.clone();
            if let Some(range) = &diagnostic.range {
                text.push_str(&format!(" (at {}:{}", range.filename, range.start.line));
                if let Some(highlighted) = diagnostic.highlighted() {
                    text.push_str(&format!(" `{highlighted}`"));
                }
                text.push(')');
            }
            if !diagnostic.detail.is_empty() {
                text.push_str(": ");
                text.push_str(&diagnostic.detail);
            }
            text
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostics_error_names_each_problem_and_where_it_is() {
        let diagnostic: Diagnostic = serde_json::from_str(
            r#"{"severity":"error","summary":"Invalid port","detail":"Use 1-65535.",
                "range":{"filename":"main.tf","start":{"line":4,"column":10,"byte":40},
                         "end":{"line":4,"column":15,"byte":45}},
                "snippet":{"code":"  port = 99999","start_line":4,
                           "highlight_start_offset":9,"highlight_end_offset":14}}"#,
        )
        .unwrap();
        let error = Error::Diagnostics {
            command: "terraform 1.0.3 apply".to_owned(),
            exit_code: 1,
            diagnostics: vec![diagnostic],
        };
        assert_eq!(
            error.to_string(),
            "`terraform 1.0.3 apply` exited with code 1 and reported: \
             Invalid port (at main.tf:4 `99999`): Use 1-65535."
        );
    }
}
