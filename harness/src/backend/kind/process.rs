//! Commands as data and the one place that runs them ([`Runner`], `std::process`).
//!
//! A [`Cmd`] is a program, its arguments, optional standard input and a purpose; it prints
//! as a shell line ([`Cmd::shell`]) for `--dry-run`. The [`Runner`] looks programs up in the
//! `PATH` it was given (not the process's), so tests point it at a directory of fake `kind`
//! and `docker` scripts without touching the environment of other tests.

use std::ffi::{OsStr, OsString};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A command that failed to start, failed, or did not succeed in time.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The program is not on `PATH`.
    #[error("{program} is not on PATH")]
    NotFound {
        /// The program.
        program: String,
    },
    /// The program could not be started or its output read.
    #[error("run {command}")]
    Spawn {
        /// The command line.
        command: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The program exited unsuccessfully.
    #[error("{command} exited with {status}: {stderr}")]
    Failed {
        /// The command line.
        command: String,
        /// The exit status.
        status: String,
        /// The end of its standard error.
        stderr: String,
    },
    /// A polled command did not succeed before its deadline.
    #[error("{command} did not succeed within {seconds}s ({purpose}); last error: {last}")]
    Timeout {
        /// The command line.
        command: String,
        /// What it waited for.
        purpose: String,
        /// The deadline.
        seconds: u64,
        /// The last failure's standard error.
        last: String,
    },
}

/// One command: program, arguments, optional standard input, and why it runs. `Debug`
/// prints the arguments with every [secret](Cmd::secret) replaced and the length of the
/// standard input only.
#[derive(Clone, PartialEq, Eq)]
pub struct Cmd {
    /// The program, looked up on the runner's `PATH`.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Text written to its standard input (a manifest for `kubectl apply -f -`).
    pub stdin: Option<String>,
    /// Values in the arguments that `Debug` and [`Cmd::redacted`] must not show.
    pub secrets: Vec<String>,
}

/// What a secret is shown as.
pub const REDACTED: &str = "<redacted>";

impl std::fmt::Debug for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let args: Vec<String> = self.args.iter().map(|a| self.redact(a)).collect();
        f.debug_struct("Cmd")
            .field("program", &self.program)
            .field("args", &args)
            .field(
                "stdin",
                &self.stdin.as_ref().map(|s| format!("<{} bytes>", s.len())),
            )
            .finish_non_exhaustive()
    }
}

impl Cmd {
    /// `program args...`.
    pub fn new<I, S>(program: &str, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            program: program.to_owned(),
            args: args.into_iter().map(Into::into).collect(),
            stdin: None,
            secrets: Vec::new(),
        }
    }

    /// With `value` (a password, a key) hidden wherever it appears in an argument, in
    /// `Debug` and [`Cmd::redacted`]. An empty value hides nothing.
    #[must_use]
    pub fn secret(mut self, value: &str) -> Self {
        if !value.is_empty() && !self.secrets.iter().any(|s| s == value) {
            self.secrets.push(value.to_owned());
        }
        self
    }

    fn redact(&self, text: &str) -> String {
        self.secrets.iter().fold(text.to_owned(), |text, secret| {
            text.replace(secret.as_str(), REDACTED)
        })
    }

    /// [`Cmd::shell`] with every secret replaced.
    #[must_use]
    pub fn redacted(&self) -> String {
        self.redact(&self.shell())
    }

    /// With `text` on standard input.
    #[must_use]
    pub fn stdin(mut self, text: String) -> Self {
        self.stdin = Some(text);
        self
    }

    /// The command as one shell line, each word quoted when it needs it.
    #[must_use]
    pub fn shell(&self) -> String {
        std::iter::once(&self.program)
            .chain(&self.args)
            .map(|w| shell_quote(w))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// `word` as a POSIX shell word: unchanged when it is plain, else in single quotes.
#[must_use]
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@,+%{}".contains(&b) || b == b'$');
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Finds `program` in the directories of `path` (a `PATH` value): the first executable file.
#[must_use]
pub fn find_program(program: &str, path: &OsStr) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    std::env::split_paths(path)
        .map(|dir| dir.join(program))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Runs [`Cmd`]s with a given `PATH`.
#[derive(Debug, Clone)]
pub struct Runner {
    path: OsString,
}

impl Runner {
    /// A runner that looks programs up in `path` and passes it on to them.
    #[must_use]
    pub fn new(path: OsString) -> Self {
        Self { path }
    }

    /// A runner with this process's `PATH`.
    #[must_use]
    pub fn from_env() -> Self {
        Self::new(std::env::var_os("PATH").unwrap_or_default())
    }

    /// The `PATH` it uses.
    #[must_use]
    pub fn path(&self) -> &OsStr {
        &self.path
    }

    /// Runs `cmd` to completion and returns its standard output.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Spawn`] or [`Error::Failed`].
    pub fn output(&self, cmd: &Cmd) -> Result<String, Error> {
        let program = find_program(&cmd.program, &self.path).ok_or_else(|| Error::NotFound {
            program: cmd.program.clone(),
        })?;
        let spawn = |source| Error::Spawn {
            command: cmd.shell(),
            source,
        };
        let mut child = Command::new(program)
            .args(&cmd.args)
            .env("PATH", &self.path)
            .stdin(if cmd.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn)?;
        if let (Some(text), Some(mut stdin)) = (&cmd.stdin, child.stdin.take()) {
            stdin.write_all(text.as_bytes()).map_err(spawn)?;
        }
        let out = child.wait_with_output().map_err(spawn)?;
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.trim_end().lines().rev().take(5).collect();
        Err(Error::Failed {
            command: cmd.shell(),
            status: out.status.to_string(),
            stderr: tail.into_iter().rev().collect::<Vec<_>>().join(" | "),
        })
    }

    /// Runs `cmd` until it succeeds, every `interval`, for at most `timeout`.
    ///
    /// # Errors
    /// [`Error::NotFound`] or [`Error::Spawn`] at once; [`Error::Timeout`] with the last
    /// failure when the deadline passes.
    pub fn poll(
        &self,
        cmd: &Cmd,
        purpose: &str,
        timeout: Duration,
        interval: Duration,
    ) -> Result<String, Error> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.output(cmd) {
                Ok(out) => return Ok(out),
                Err(Error::Failed { .. }) if Instant::now() < deadline => {
                    // The command line may carry a password: log only what is awaited.
                    tracing::debug!(program = %cmd.program, "not yet: {purpose}");
                    std::thread::sleep(interval);
                }
                Err(Error::Failed { stderr, .. }) => {
                    return Err(Error::Timeout {
                        command: cmd.shell(),
                        purpose: purpose.to_owned(),
                        seconds: timeout.as_secs(),
                        last: stderr,
                    });
                }
                Err(other) => return Err(other),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_lines_quote_only_what_needs_it() {
        let cmd = Cmd::new(
            "kubectl",
            [
                "--context",
                "kind-georep-us-east",
                "apply",
                "-f",
                "-",
                "it's a b",
            ],
        );
        assert_eq!(
            cmd.shell(),
            r"kubectl --context kind-georep-us-east apply -f - 'it'\''s a b'"
        );
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn a_program_missing_from_the_path_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let runner = Runner::new(dir.path().as_os_str().to_owned());
        let err = runner.output(&Cmd::new("kind", ["version"])).unwrap_err();
        assert_eq!(err.to_string(), "kind is not on PATH");
    }
}
