//! The one error of the kind backend, in a module of its own so that the backend's
//! modules and its root can both name it.

use std::path::PathBuf;

use super::{config, operator, plan, preflight, process};

/// Why the kind backend failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The tools or the engine are missing.
    #[error("preflight")]
    Preflight(#[from] preflight::Error),
    /// A kind config is unreadable or breaks a rule.
    #[error("kind configs")]
    Config(#[from] config::Error),
    /// The operator bundle could not be rendered.
    #[error("quay operator bundle")]
    Operator(#[from] operator::Error),
    /// Something exists that `--reuse` was not given for.
    #[error(transparent)]
    Exists(#[from] plan::ExistsError),
    /// A command failed.
    #[error("command")]
    Process(#[from] process::Error),
    /// A command of the plan failed (its text with every secret redacted).
    #[error("{message}")]
    Step {
        /// The failure.
        message: String,
    },
    /// A file could not be written.
    #[error("write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A kubeconfig from kind could not be rewritten.
    #[error("kubeconfig {}: {message}", path.display())]
    Kubeconfig {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The credentials file of a previous run could not be read.
    #[error(
        "read {}: --reuse needs the credentials the containers were started with",
        path.display()
    )]
    Credentials {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The credentials file is not JSON of the expected shape.
    #[error("parse credentials {}", path.display())]
    CredentialsFormat {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// No random bytes for the credentials.
    #[error("draw random credentials")]
    Random(#[source] getrandom::Error),
}
