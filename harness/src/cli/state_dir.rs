//! The state directory of `up` and `demo`: the one the user named, or a temporary one.
//!
//! A module of its own so that `up` and `demo` share it without depending on `cli/mod.rs`,
//! which depends on them.

use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// The state directory `up` and `demo` could not make.
#[derive(Debug, thiserror::Error)]
#[error("create state directory {}", path.display())]
pub(crate) struct StateDirError {
    /// The directory.
    pub(crate) path: PathBuf,
    /// The cause.
    #[source]
    pub(crate) source: std::io::Error,
}

/// The state directory of `up` and `demo`: `dir` when given (made if missing, and kept),
/// else a fresh temporary directory named `{prefix}XXXXXX`, returned with the guard that
/// removes it when dropped (unless `keep`, for `demo --keep`). Either way it is mode `0700`
/// (a given one that others could read is tightened, and a line says so): Terraform's state
/// and `services.json`, with every password of the run, land there.
///
/// # Errors
/// [`StateDirError`] naming the directory that could not be made (the system's temporary
/// directory when no `dir` was given).
pub(crate) fn create(
    dir: Option<&Path>,
    prefix: &str,
    keep: bool,
) -> Result<(PathBuf, Option<tempfile::TempDir>), StateDirError> {
    if let Some(dir) = dir {
        let error = |source| StateDirError {
            path: dir.to_owned(),
            source,
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(error)?;
        let mode = std::fs::metadata(dir).map_err(error)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(error)?;
            eprintln!(
                "state directory {}: mode {:o} tightened to 700 (it holds Terraform state and \
                 passwords)",
                dir.display(),
                mode & 0o777
            );
        }
        return Ok((dir.to_owned(), None));
    }
    let mut temp = tempfile::Builder::new()
        .prefix(prefix)
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir()
        .map_err(|source| StateDirError {
            path: std::env::temp_dir(),
            source,
        })?;
    if keep {
        temp.disable_cleanup(true);
    }
    Ok((temp.path().to_owned(), Some(temp)))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::create;

    fn mode(path: &std::path::Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_a_named_and_an_open_state_dir_all_end_up_0700() {
        let (temp, guard) = create(None, "georep-state-test-", false).unwrap();
        assert_eq!(mode(&temp), 0o700);
        drop(guard);
        assert!(
            !temp.exists(),
            "the temporary one is removed with its guard"
        );

        let parent = tempfile::tempdir().unwrap();
        let named = parent.path().join("a/b");
        let (dir, guard) = create(Some(&named), "unused", false).unwrap();
        assert!(guard.is_none());
        assert_eq!(mode(&dir), 0o700);

        let open = parent.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        create(Some(&open), "unused", false).unwrap();
        assert_eq!(
            mode(&open),
            0o700,
            "a directory others could read is tightened"
        );
    }
}
