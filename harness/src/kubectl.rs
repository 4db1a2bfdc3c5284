//! Finding the kubectl the tests run as the independent client of the simulated API server.
//!
//! Both test binaries (the harness's `kubectl` tests and the provider's manifests parity test)
//! and `scripts/check-kubectl.sh` apply the same rule: `KUBECTL`, else the `kubectl` on `PATH`,
//! and it must be kubectl 1.29 or newer. Older releases fetch `/openapi/v2` for `apply` and
//! `explain`, which the simulator does not serve (it serves v3). This module only finds and
//! checks the binary; running it is the caller's business.

use std::path::PathBuf;

/// The oldest kubectl minor release (1.x) the simulator works with.
pub const MIN_MINOR: u32 = 29;

/// What to do about a missing or old kubectl, the tail of every [`Error`] message.
const INSTALL: &str = "install kubectl 1.29 or newer from https://kubernetes.io/docs/tasks/tools/ \
    and put it on PATH or set KUBECTL to it (Debian's kubernetes-client, kubectl 1.20, is too old)";

/// Why no usable kubectl was found.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `KUBECTL` is unset and no `kubectl` file is on `PATH`.
    #[error("kubectl is not on PATH and KUBECTL is not set; {INSTALL}")]
    NotFound,
    /// The binary could not be started.
    #[error("{} does not run; {INSTALL}", path.display())]
    DoesNotRun {
        /// The kubectl that was tried.
        path: PathBuf,
        /// Why it did not start.
        #[source]
        source: std::io::Error,
    },
    /// `kubectl version --client -o json` did not report 1.29 or newer.
    #[error("{} is kubectl {version}; {INSTALL}", path.display())]
    TooOld {
        /// The kubectl that was tried.
        path: PathBuf,
        /// The version it reported as `major.minor`, or what it printed when that was not JSON.
        version: String,
    },
}

/// The kubectl to run: `KUBECTL`, else the first `kubectl` file on `PATH`, checked to be
/// kubectl 1.29 or newer.
///
/// # Errors
///
/// [`Error::NotFound`] when there is none, [`Error::DoesNotRun`] when it cannot be started,
/// [`Error::TooOld`] when it reports an older (or no readable) version.
pub fn find() -> Result<PathBuf, Error> {
    let path = match std::env::var_os("KUBECTL") {
        Some(path) => PathBuf::from(path),
        None => std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|dir| dir.join("kubectl"))
            .find(|path| path.is_file())
            .ok_or(Error::NotFound)?,
    };
    let out = std::process::Command::new(&path)
        .args(["version", "--client", "-o", "json"])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|source| Error::DoesNotRun {
            path: path.clone(),
            source,
        })?;
    let Some((major, minor)) = client_version(&out.stdout) else {
        return Err(Error::TooOld {
            version: String::from_utf8_lossy(&out.stdout).trim().to_owned(),
            path,
        });
    };
    if major != 1 || minor < MIN_MINOR {
        return Err(Error::TooOld {
            path,
            version: format!("{major}.{minor}"),
        });
    }
    Ok(path)
}

/// `(major, minor)` from `kubectl version --client -o json`; GKE-style minors such as `"29+"`
/// count as 29.
fn client_version(json: &[u8]) -> Option<(u32, u32)> {
    let version: serde_json::Value = serde_json::from_slice(json).ok()?;
    let number = |key: &str| {
        version["clientVersion"][key]
            .as_str()?
            .trim_end_matches('+')
            .parse::<u32>()
            .ok()
    };
    Some((number("major")?, number("minor")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_version_reads_major_and_minor_with_a_plus() {
        let json = br#"{"clientVersion":{"major":"1","minor":"30+"}}"#;
        assert_eq!(client_version(json), Some((1, 30)));
    }

    #[test]
    fn client_version_is_none_for_text_that_is_not_json() {
        assert_eq!(client_version(b"Client Version: v1.20.0"), None);
    }
}
