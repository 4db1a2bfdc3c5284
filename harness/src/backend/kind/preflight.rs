//! Preflight of the kind backend: `docker`, `kind` and `kubectl` on `PATH` with their
//! versions, and a Docker engine that answers.
//!
//! Every missing tool is named in one error with what to install, so a person fixes them all
//! at once. It checks presence and reachability only: the versions are reported, not
//! compared (kind itself refuses a node image it cannot run).

use super::process::{Cmd, Error as ProcessError, Runner, find_program};

/// The tools the backend drives, with what to install when one is missing.
pub const TOOLS: [(&str, &str); 3] = [
    (
        "docker",
        "Docker Engine 20.10 or newer (https://docs.docker.com/engine/install/)",
    ),
    (
        "kind",
        "kind v0.33.0 (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)",
    ),
    (
        "kubectl",
        "kubectl 1.29 or newer (https://kubernetes.io/docs/tasks/tools/)",
    ),
];

/// Why the preflight failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Tools are missing from `PATH`.
    #[error("the kind backend needs {}: install {}", names.join(", "), hints.join("; "))]
    Missing {
        /// The missing tools.
        names: Vec<String>,
        /// What to install for each.
        hints: Vec<String>,
    },
    /// A tool is there but does not report its version.
    #[error("{tool} is on PATH but `{tool} version` failed")]
    Version {
        /// The tool.
        tool: String,
        /// Why.
        #[source]
        source: ProcessError,
    },
    /// The Docker engine does not answer.
    #[error(
        "docker is installed but no Docker engine answers: start it (or set DOCKER_HOST) and check `docker info`"
    )]
    DockerUnreachable(#[source] ProcessError),
}

/// What the preflight found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versions {
    /// `docker` client version.
    pub docker_client: String,
    /// The Docker engine's version.
    pub docker_server: String,
    /// `kind version`.
    pub kind: String,
    /// `kubectl version --client`.
    pub kubectl: String,
}

impl std::fmt::Display for Versions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "docker {} (engine {}), {}, kubectl {}",
            self.docker_client, self.docker_server, self.kind, self.kubectl
        )
    }
}

/// The commands the preflight runs, in order, for `--dry-run`.
#[must_use]
pub fn commands() -> Vec<Cmd> {
    vec![
        Cmd::new("docker", ["version", "--format", "{{.Client.Version}}"]),
        Cmd::new("kind", ["version"]),
        Cmd::new("kubectl", ["version", "--client", "-o", "json"]),
        Cmd::new("docker", ["info", "--format", "{{.ServerVersion}}"]),
    ]
}

/// Checks the tools and the engine.
///
/// # Errors
/// [`Error::Missing`] naming every missing tool, else [`Error::Version`] or
/// [`Error::DockerUnreachable`].
pub fn check(runner: &Runner) -> Result<Versions, Error> {
    let missing: Vec<_> = TOOLS
        .iter()
        .filter(|(tool, _)| find_program(tool, runner.path()).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(Error::Missing {
            names: missing.iter().map(|(t, _)| (*t).to_owned()).collect(),
            hints: missing.iter().map(|(_, h)| (*h).to_owned()).collect(),
        });
    }
    let [docker_client, kind, kubectl, docker_info] = commands()
        .try_into()
        .expect("commands() lists four commands");
    let version = |cmd: &Cmd| {
        runner
            .output(cmd)
            .map_err(|source| Error::Version {
                tool: cmd.program.clone(),
                source,
            })
            .map(|out| out.trim().to_owned())
    };
    let docker_client = version(&docker_client)?;
    let kind = version(&kind)?;
    let kubectl_json = version(&kubectl)?;
    let kubectl = serde_json::from_str::<serde_json::Value>(&kubectl_json)
        .ok()
        .and_then(|v| v["clientVersion"]["gitVersion"].as_str().map(str::to_owned))
        .unwrap_or(kubectl_json);
    let docker_server = runner
        .output(&docker_info)
        .map_err(Error::DockerUnreachable)?
        .trim()
        .to_owned();
    Ok(Versions {
        docker_client,
        docker_server,
        kind,
        kubectl,
    })
}
