//! The state directory of `up` and `demo`: the one the user named, or a temporary one.
//!
//! A module of its own so that `up` and `demo` share it without depending on `cli/mod.rs`,
//! which depends on them.

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
/// removes it when dropped (unless `keep`, for `demo --keep`).
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
        std::fs::create_dir_all(dir).map_err(|source| StateDirError {
            path: dir.to_owned(),
            source,
        })?;
        return Ok((dir.to_owned(), None));
    }
    let mut temp = tempfile::Builder::new()
        .prefix(prefix)
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
