//! Which Terraform binaries the tests run against, and what version each one is.
//!
//! Two binaries are under test: the pinned oldest supported release (Terraform 1.0.3, installed
//! by `scripts/install-terraform.sh` into `.cache/`, or named by `TF_ACC_TERRAFORM`), and
//! whatever `terraform` is on `PATH` when its version differs. A missing pinned binary is an
//! error, never a reason to skip: CI must fail loudly rather than pass without testing. This
//! module does not download anything; the install script does.

use std::cmp::Ordering;
use std::ffi::OsString;
use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

use super::error::Error;
use super::process;

/// The oldest Terraform release the provider supports, always under test.
pub const PINNED_VERSION: Version = Version {
    major: 1,
    minor: 0,
    patch: 3,
    pre: None,
};

/// The environment variable that overrides where the pinned Terraform is.
pub const PINNED_ENV: &str = "TF_ACC_TERRAFORM";

/// Where `scripts/install-terraform.sh` puts the pinned Terraform, relative to the repository.
pub const PINNED_CACHE_PATH: &str = ".cache/terraform/1.0.3/terraform";

/// `terraform version` answers quickly; anything slower is stuck.
const VERSION_TIMEOUT: Duration = Duration::from_secs(30);

/// A Terraform release number such as `1.0.3` or `1.6.0-beta1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version {
    /// Major number.
    pub major: u64,
    /// Minor number.
    pub minor: u64,
    /// Patch number.
    pub patch: u64,
    /// Pre-release suffix after `-`, e.g. `beta1`.
    pub pre: Option<String>,
}

impl Version {
    /// A release version (no pre-release suffix).
    #[must_use]
    pub const fn new(major: u64, minor: u64, patch: u64) -> Self {
        Self {
            major,
            minor,
            patch,
            pre: None,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if let Some(pre) = &self.pre {
            write!(f, "-{pre}")?;
        }
        Ok(())
    }
}

/// The input is not `MAJOR.MINOR.PATCH[-PRE]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a version of the form MAJOR.MINOR.PATCH[-PRE]")]
pub struct ParseVersionError {
    /// The rejected text.
    pub input: String,
}

impl FromStr for Version {
    type Err = ParseVersionError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let invalid = || ParseVersionError {
            input: input.to_owned(),
        };
        let text = input.strip_prefix('v').unwrap_or(input);
        let (numbers, pre) = match text.split_once('-') {
            Some((numbers, pre)) if !pre.is_empty() => (numbers, Some(pre.to_owned())),
            Some(_) => return Err(invalid()),
            None => (text, None),
        };
        let mut parts = numbers.split('.').map(str::parse::<u64>);
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(Ok(major)), Some(Ok(minor)), Some(Ok(patch)), None) => Ok(Self {
                major,
                minor,
                patch,
                pre,
            }),
            _ => Err(invalid()),
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    /// Numeric order; a pre-release sorts before its release (`1.6.0-beta1 < 1.6.0`).
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (&self.pre, &other.pre) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(a), Some(b)) => a.cmp(b),
            })
    }
}

/// A Terraform executable and the version it reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerraformBinary {
    /// The executable.
    pub path: PathBuf,
    /// What `terraform version -json` reports.
    pub version: Version,
}

impl TerraformBinary {
    /// Asks the binary at `path` for its version.
    ///
    /// # Errors
    ///
    /// [`Error::Spawn`] when it cannot run, [`Error::Failed`] when `version -json` fails,
    /// [`Error::UnreadableVersion`] when it prints no version.
    pub fn probe(path: &Path) -> Result<Self, Error> {
        let path = &runnable_anywhere(path);
        let mut command = Command::new(path);
        command
            .args(["version", "-json"])
            // An empty CLI config: the inherited TF_CLI_CONFIG_FILE may name a missing file.
            .env("TF_CLI_CONFIG_FILE", "/dev/null")
            .env("CHECKPOINT_DISABLE", "1");
        let display = format!("{} version -json", path.display());
        let output = process::run(command, display, VERSION_TIMEOUT)?.require_success()?;

        #[derive(Deserialize)]
        struct VersionJson {
            terraform_version: String,
        }
        let unreadable = || Error::UnreadableVersion {
            path: path.to_owned(),
            output: output.stdout.chars().take(200).collect(),
        };
        let json: VersionJson = serde_json::from_str(&output.stdout).map_err(|_| unreadable())?;
        let version = json.terraform_version.parse().map_err(|_| unreadable())?;
        Ok(Self {
            path: path.to_owned(),
            version,
        })
    }

    /// A short name for messages and test labels: `terraform 1.0.3`.
    #[must_use]
    pub fn label(&self) -> String {
        format!("terraform {}", self.version)
    }
}

impl fmt::Display for TerraformBinary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.label(), self.path.display())
    }
}

/// The Terraform binaries every end-to-end test runs against, pinned 1.0.3 first.
///
/// The pinned binary is `$TF_ACC_TERRAFORM` when set, else [`PINNED_CACHE_PATH`] under the
/// repository root; then the first `terraform` on `PATH`, unless it is the same version.
///
/// # Errors
///
/// [`Error::PinnedBinaryMissing`] when there is no pinned binary (run
/// `scripts/install-terraform.sh`), [`Error::UnexpectedVersion`] when it is not 1.0.3, and
/// any error of [`TerraformBinary::probe`] for either binary.
pub fn binaries_under_test() -> Result<Vec<TerraformBinary>, Error> {
    let pinned_path = match std::env::var_os(PINNED_ENV).filter(|value| !value.is_empty()) {
        Some(path) => PathBuf::from(path),
        None => repo_root()?.join(PINNED_CACHE_PATH),
    };
    if !is_executable_file(&pinned_path) {
        return Err(Error::PinnedBinaryMissing { path: pinned_path });
    }
    let pinned = TerraformBinary::probe(&pinned_path)?;
    if pinned.version != PINNED_VERSION {
        return Err(Error::UnexpectedVersion {
            path: pinned.path,
            found: pinned.version.to_string(),
            expected: PINNED_VERSION.to_string(),
        });
    }
    let mut binaries = vec![pinned];
    if let Some(on_path) = find_on_path("terraform", std::env::var_os("PATH")) {
        let other = TerraformBinary::probe(&on_path)?;
        if other.version != PINNED_VERSION {
            binaries.push(other);
        }
    }
    Ok(binaries)
}

/// The provider executable a provider directory must hold.
pub const PROVIDER_EXE: &str = "terraform-provider-quay";

/// The Terraform executable to use: `explicit`, else the pinned one under `repo`, else
/// `terraform` on PATH.
///
/// # Errors
/// [`Error::TerraformMissing`] when none exists.
pub fn find_terraform(explicit: Option<&Path>, repo: &Path) -> Result<PathBuf, Error> {
    if let Some(path) = explicit {
        return Ok(path.to_owned());
    }
    let pinned = repo.join(PINNED_CACHE_PATH);
    if is_executable_file(&pinned) {
        return Ok(pinned);
    }
    find_on_path("terraform", std::env::var_os("PATH"))
        .ok_or(Error::TerraformMissing { tried: pinned })
}

/// The directory holding the provider, absolute: `explicit`, else the folder of
/// `current_exe` if it holds one, else `<repo>/target/debug`.
///
/// # Errors
/// [`Error::ProviderMissing`] when the chosen directory has no provider executable.
pub fn find_provider_dir(
    explicit: Option<&Path>,
    current_exe: Option<&Path>,
    repo: &Path,
) -> Result<PathBuf, Error> {
    let dir = match (explicit, current_exe.and_then(Path::parent)) {
        // Absolute: the directory goes into Terraform's CLI configuration, read by Terraform
        // in working directories of its own.
        (Some(dir), _) => std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned()),
        (None, Some(exe_dir)) if is_executable_file(&exe_dir.join(PROVIDER_EXE)) => {
            exe_dir.to_owned()
        }
        (None, _) => repo.join("target/debug"),
    };
    if is_executable_file(&dir.join(PROVIDER_EXE)) {
        Ok(dir)
    } else {
        Err(Error::ProviderMissing {
            exe: dir.join(PROVIDER_EXE),
        })
    }
}

/// The repository root and the provider directory [`find_provider_dir`] picks for this
/// executable: how the `bench` commands find what they run.
///
/// # Errors
/// [`Error::RepoRootNotFound`], or as [`find_provider_dir`].
pub fn repo_and_provider_dir(explicit: Option<&Path>) -> Result<(PathBuf, PathBuf), Error> {
    let repo = repo_root()?;
    let exe = std::env::current_exe().ok();
    let provider_dir = find_provider_dir(explicit, exe.as_deref(), &repo)?;
    Ok((repo, provider_dir))
}

/// The repository (Cargo workspace) root: the nearest directory holding a `Cargo.toml` with
/// a `[workspace]` table, searched upwards from `$CARGO_MANIFEST_DIR` (set by `cargo test`
/// for the crate under test) or, without it, from this crate's own directory.
///
/// # Errors
///
/// [`Error::RepoRootNotFound`] when no such directory exists above the start.
pub fn repo_root() -> Result<PathBuf, Error> {
    let start = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    start
        .ancestors()
        .find(|dir| is_workspace_root(dir))
        .map(Path::to_owned)
        .ok_or(Error::RepoRootNotFound { start })
}

fn is_workspace_root(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("Cargo.toml"))
        .is_ok_and(|manifest| manifest.lines().any(|line| line.trim() == "[workspace]"))
}

/// The first executable called `name` in the directories of `path_var`.
fn find_on_path(name: &str, path_var: Option<OsString>) -> Option<PathBuf> {
    std::env::split_paths(&path_var?)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable_file(candidate))
}

fn is_executable_file(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// `path` made absolute when it is relative and names a directory (`./terraform`,
/// `.cache/terraform/1.0.3/terraform`): Terraform runs in working directories of its own, where
/// such a path names nothing. A bare name (`terraform`) stays, to be looked up on `PATH`.
fn runnable_anywhere(path: &Path) -> PathBuf {
    if path.is_relative() && path.components().count() > 1 {
        std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
    } else {
        path.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_path_with_a_directory_works_from_any_working_directory() {
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            runnable_anywhere(Path::new(".cache/terraform/1.0.3/terraform")),
            cwd.join(".cache/terraform/1.0.3/terraform")
        );
        assert_eq!(
            runnable_anywhere(Path::new("./terraform")),
            cwd.join("terraform")
        );
        assert_eq!(
            runnable_anywhere(Path::new("terraform")),
            Path::new("terraform"),
            "a bare name is looked up on PATH"
        );
        assert_eq!(
            runnable_anywhere(Path::new("/usr/bin/terraform")),
            Path::new("/usr/bin/terraform")
        );
    }

    #[test]
    fn parses_release_and_pre_release_versions() {
        assert_eq!("1.0.3".parse(), Ok(Version::new(1, 0, 3)));
        let beta: Version = "v1.6.0-beta1".parse().unwrap();
        assert_eq!(beta.pre.as_deref(), Some("beta1"));
        assert_eq!(beta.to_string(), "1.6.0-beta1");
    }

    #[test]
    fn rejects_versions_that_are_not_three_numbers() {
        for input in ["1.0", "1.0.3.4", "1.x.3", "", "1.0.3-"] {
            assert!(input.parse::<Version>().is_err(), "{input:?} was accepted");
        }
    }

    #[test]
    fn orders_versions_numerically_with_pre_releases_first() {
        let version = |text: &str| text.parse::<Version>().unwrap();
        assert!(version("1.0.3") < version("1.11.4"));
        assert!(version("1.6.0-beta1") < version("1.6.0"));
        assert!(version("1.5.7") < version("1.6.0-alpha"));
    }

    #[test]
    fn finds_the_first_executable_on_path() {
        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        // Not executable: must be skipped.
        std::fs::write(first.path().join("terraform"), "").unwrap();
        let wanted = second.path().join("terraform");
        std::fs::write(&wanted, "").unwrap();
        std::fs::set_permissions(&wanted, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path_var = std::env::join_paths([first.path(), second.path()]).unwrap();
        assert_eq!(find_on_path("terraform", Some(path_var)), Some(wanted));
        assert_eq!(find_on_path("terraform", None), None);
    }

    /// `--provider-dir target/release`, as the benchmarks' docs say: Terraform reads the
    /// directory from its CLI configuration in a working directory of its own.
    #[test]
    fn an_explicit_relative_provider_dir_is_made_absolute() {
        let cwd = std::env::current_dir().unwrap();
        let holder = tempfile::tempdir_in(&cwd).unwrap();
        let exe = holder.path().join(PROVIDER_EXE);
        std::fs::write(&exe, "").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let relative = Path::new(holder.path().file_name().unwrap());
        let found = find_provider_dir(Some(relative), None, &cwd).unwrap();
        assert!(found.is_absolute(), "{}", found.display());
        assert_eq!(found, holder.path());
    }

    #[test]
    fn names_the_build_command_when_the_provider_is_missing() {
        let repo = tempfile::tempdir().unwrap();
        let err = find_provider_dir(None, None, repo.path()).unwrap_err();
        assert!(
            err.to_string()
                .contains("cargo build -p terraform-provider-quay"),
            "{err}"
        );
    }

    #[test]
    fn repo_root_holds_the_workspace_manifest() {
        let root = repo_root().unwrap();
        assert!(
            root.join("harness").join("Cargo.toml").is_file(),
            "{}",
            root.display()
        );
    }
}
