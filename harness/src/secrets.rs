//! The secret scanner: given every secret value a run used, it searches the run's outputs,
//! logs and files and reports where each one appears, without ever printing the value.
//!
//! Tests that claim "no secret leaks" need something that could see a leak: a scan of
//! everything the run wrote (stdout, stderr, `TF_LOG` output, the working directory), not
//! a look at the one output the test itself marked sensitive. Each secret is searched as
//! written and base64-encoded (as a Kubernetes Secret's `data` would carry it). Files where
//! secrets belong by design (the inputs that hold them, `terraform.tfstate`) are left out by
//! the caller, who says why.
//!
//! The same scanner redacts ([`SecretScanner::redact`]): the conformance suite passes every
//! text it reports or prints through it, so one list of a run's secrets serves both the
//! redaction and the test that looks for leaks.
//!
//! # Examples
//!
//! ```
//! use georep_harness::secrets::SecretScanner;
//!
//! let scanner = SecretScanner::new().with("database password", "s3cr3t-db-pw");
//! let mut findings = scanner.scan_text("plan stdout", "DB_URI: (sensitive value)\n");
//! findings.extend(scanner.scan_text("apply stderr", "connecting with s3cr3t-db-pw\n"));
//! assert_eq!(findings.len(), 1);
//! assert_eq!(findings[0].to_string(), "database password in apply stderr, line 1");
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;

/// Values shorter than this are refused: they would be found by chance.
pub const MIN_SECRET_LEN: usize = 6;

/// Why a scan could not read what it was given.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read.
    #[error("read {path} for the secret scan")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Every secret of one run, each under a label that names it in findings.
#[derive(Clone, Default)]
pub struct SecretScanner {
    secrets: Vec<(String, String)>,
}

impl fmt::Debug for SecretScanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The labels only: the values must not reach a test's failure message.
        f.debug_struct("SecretScanner")
            .field(
                "labels",
                &self.secrets.iter().map(|(l, _)| l).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Where one secret was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The secret's label.
    pub secret: String,
    /// Where: the name given to the text, or the file's path.
    pub place: String,
    /// The 1-based line.
    pub line: usize,
    /// Whether it was found base64-encoded rather than as written.
    pub base64: bool,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} in {}, line {}", self.secret, self.place, self.line)?;
        if self.base64 {
            f.write_str(" (base64-encoded)")?;
        }
        Ok(())
    }
}

/// The findings as one line each, for an assertion's message.
#[must_use]
pub fn describe(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| format!("  {f}\n"))
        .collect::<String>()
}

impl SecretScanner {
    /// A scanner with no secrets yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the secret `value`, named `label` in findings.
    ///
    /// # Panics
    /// When `value` is shorter than [`MIN_SECRET_LEN`]: a test bug, since such a value is
    /// found by chance and proves nothing.
    #[must_use]
    pub fn with(mut self, label: &str, value: &str) -> Self {
        assert!(
            value.len() >= MIN_SECRET_LEN,
            "secret {label} is shorter than {MIN_SECRET_LEN} characters: use a longer test value"
        );
        self.secrets.push((label.to_owned(), value.to_owned()));
        self
    }

    /// Adds the secret `value` named `label` when it is at least [`MIN_SECRET_LEN`]
    /// characters long, and says whether it did: for secrets that come from a user's files,
    /// where a short one is the user's choice, not a test bug.
    pub fn add(&mut self, label: &str, value: &str) -> bool {
        if value.len() < MIN_SECRET_LEN {
            return false;
        }
        if !self.secrets.iter().any(|(_, v)| v == value) {
            self.secrets.push((label.to_owned(), value.to_owned()));
        }
        true
    }

    /// The labels of the secrets, in the order added.
    #[must_use]
    pub fn labels(&self) -> Vec<&str> {
        self.secrets.iter().map(|(l, _)| l.as_str()).collect()
    }

    /// `text` with every secret, as written and base64-encoded, replaced by
    /// `[redacted: <label>]`. Longer secrets go first, so a secret that contains another
    /// (a database URI holding its password) is replaced whole.
    #[must_use]
    pub fn redact(&self, text: &str) -> String {
        let mut needles: Vec<(String, &str)> = Vec::new();
        for (label, value) in &self.secrets {
            needles.push((value.clone(), label));
            needles.push((
                base64::engine::general_purpose::STANDARD.encode(value),
                label,
            ));
        }
        needles.sort_by_key(|(needle, _)| std::cmp::Reverse(needle.len()));
        let mut out = text.to_owned();
        for (needle, label) in needles {
            if out.contains(&needle) {
                out = out.replace(&needle, &format!("[redacted: {label}]"));
            }
        }
        out
    }

    /// Where each secret appears in `text`, which is called `place` in findings.
    #[must_use]
    pub fn scan_text(&self, place: &str, text: &str) -> Vec<Finding> {
        let mut findings = Vec::new();
        for (label, value) in &self.secrets {
            let encoded = base64::engine::general_purpose::STANDARD.encode(value);
            for (index, line) in text.lines().enumerate() {
                for (needle, base64) in [(value.as_str(), false), (encoded.as_str(), true)] {
                    if line.contains(needle) {
                        findings.push(Finding {
                            secret: label.clone(),
                            place: place.to_owned(),
                            line: index + 1,
                            base64,
                        });
                    }
                }
            }
        }
        findings
    }

    /// Where each secret appears in the file at `path` (read lossily as UTF-8).
    ///
    /// # Errors
    /// [`Error::Read`] when it cannot be read.
    pub fn scan_file(&self, path: &Path) -> Result<Vec<Finding>, Error> {
        let bytes = std::fs::read(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        Ok(self.scan_text(
            &path.display().to_string(),
            &String::from_utf8_lossy(&bytes),
        ))
    }

    /// Where each secret appears in the files under `dir`, recursively, except those for
    /// which `skip` (given the path relative to `dir`) is true.
    ///
    /// # Errors
    /// [`Error::Read`] when a directory or file cannot be read.
    pub fn scan_dir(
        &self,
        dir: &Path,
        skip: &dyn Fn(&Path) -> bool,
    ) -> Result<Vec<Finding>, Error> {
        let mut findings = Vec::new();
        let mut pending = vec![dir.to_owned()];
        while let Some(current) = pending.pop() {
            let entries = std::fs::read_dir(&current).map_err(|source| Error::Read {
                path: current.clone(),
                source,
            })?;
            for entry in entries {
                let path = entry
                    .map_err(|source| Error::Read {
                        path: current.clone(),
                        source,
                    })?
                    .path();
                let relative = path.strip_prefix(dir).unwrap_or(&path);
                if skip(relative) {
                    continue;
                }
                if path.is_dir() {
                    pending.push(path);
                } else if path.is_file() {
                    findings.extend(self.scan_file(&path)?);
                }
            }
        }
        Ok(findings)
    }
}

/// Writes `contents` to `path`, replacing what was there, readable and writable by its owner
/// only (mode 0600): for every file the harness writes that holds a password or key
/// (the conformance target, Terraform variables, the kind backend's service credentials).
///
/// # Errors
/// The file could not be opened or written.
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?
        .write_all(contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanner() -> SecretScanner {
        SecretScanner::new()
            .with("redis password", "redis-password")
            .with("secret key", "0123456789abcdef")
    }

    #[test]
    fn finds_a_secret_as_written_and_base64_encoded_with_its_line() {
        let text = "first\nREDIS: redis-password\nkey: MDEyMzQ1Njc4OWFiY2RlZg==\n";
        let findings = scanner().scan_text("stdout", text);
        assert_eq!(
            describe(&findings),
            "  redis password in stdout, line 2\n  secret key in stdout, line 3 (base64-encoded)\n"
        );
    }

    #[test]
    fn clean_text_has_no_findings() {
        assert_eq!(
            scanner().scan_text("stdout", "password = (sensitive value)"),
            []
        );
    }

    #[test]
    fn a_directory_scan_skips_what_the_caller_excludes_and_never_prints_values() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("logs")).unwrap();
        std::fs::write(dir.path().join("logs/trace.log"), "x\nredis-password\n").unwrap();
        std::fs::write(dir.path().join("terraform.tfstate"), "redis-password").unwrap();
        let findings = scanner()
            .scan_dir(dir.path(), &|p| p == Path::new("terraform.tfstate"))
            .unwrap();
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(findings[0].place.ends_with("logs/trace.log"));
        let text = format!("{}{:?}{:?}", describe(&findings), findings, scanner());
        assert!(!text.contains("redis-password"), "{text}");
    }

    #[test]
    fn redact_replaces_every_secret_and_its_base64_form_and_the_longest_first() {
        let mut scanner = scanner();
        assert!(scanner.add("database URI", "postgresql://quay:redis-password@db/quay"));
        assert!(!scanner.add("pin", "1234"), "too short to redact reliably");
        let text = "uri postgresql://quay:redis-password@db/quay\nraw redis-password\nb64 MDEyMzQ1Njc4OWFiY2RlZg==\n";
        let redacted = scanner.redact(text);
        assert_eq!(
            redacted,
            "uri [redacted: database URI]\nraw [redacted: redis password]\nb64 [redacted: secret key]\n"
        );
        assert!(scanner.scan_text("redacted", &redacted).is_empty());
        assert_eq!(
            scanner.labels(),
            ["redis password", "secret key", "database URI"]
        );
    }

    #[test]
    #[should_panic(expected = "shorter than")]
    fn a_short_secret_is_a_test_bug() {
        let _ = SecretScanner::new().with("pin", "1234");
    }
}
