//! One container of the backend as data ([`Container`]), where it runs ([`Placement`]), and
//! the `docker` commands that start it and find and remove every container of a placement.
//!
//! Every container carries the label [`BACKEND_LABEL`] (and [`SITE_LABEL`] for a site's own
//! one), which is how `down` finds exactly what `up` made. The kind backend places its
//! containers on kind's network with the label value `kind` and fixed loopback ports
//! ([`Placement::kind`]); the container tests place the same containers on a network of
//! their own, with their own label value and ports Docker picks, so their clean-up removes
//! only their own containers. They keep the backend's container names (the probes and setup
//! commands name them), so they do not run beside a kind run on the same Docker host:
//! `docker run` refuses the second container of a name.

use super::process::{Cmd, Runner};

/// The label every container of the backend carries (`=kind` for the kind backend).
pub const BACKEND_LABEL: &str = "io.quay-georep.backend";
/// The label naming the site a container belongs to.
pub const SITE_LABEL: &str = "io.quay-georep.site";
/// The Docker network kind puts its nodes on.
pub const NETWORK: &str = "kind";

/// Where containers run and how they are found again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The Docker network; containers reach each other by name on it.
    pub network: String,
    /// The value of [`BACKEND_LABEL`].
    pub backend: String,
    /// Publish on the containers' fixed loopback ports (`true`), or on ports Docker picks
    /// (read back with [`Container::host_port_cmd`]).
    pub fixed_ports: bool,
}

impl Placement {
    /// The kind backend's: kind's network, label `kind`, fixed ports.
    #[must_use]
    pub fn kind() -> Self {
        Self {
            network: NETWORK.to_owned(),
            backend: "kind".to_owned(),
            fixed_ports: true,
        }
    }

    /// `docker ps` of every container with this placement's label, one name a line.
    #[must_use]
    pub fn list_cmd(&self) -> Cmd {
        Cmd::new(
            "docker",
            [
                "ps",
                "--all",
                "--filter",
                &format!("label={BACKEND_LABEL}={}", self.backend),
                "--format",
                "{{.Names}}",
            ],
        )
    }

    /// Removes every container with this placement's label (and their anonymous volumes);
    /// returns their names. Others are left alone.
    ///
    /// # Errors
    /// The first failing `docker` command.
    pub fn remove_all(&self, runner: &Runner) -> Result<Vec<String>, super::process::Error> {
        let names: Vec<String> = runner
            .output(&self.list_cmd())?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        if let Some(cmd) = remove_cmd(&names) {
            runner.output(&cmd)?;
        }
        Ok(names)
    }
}

/// `docker rm --force --volumes` of `names`, when there are any.
#[must_use]
pub fn remove_cmd(names: &[String]) -> Option<Cmd> {
    if names.is_empty() {
        return None;
    }
    let mut args = vec![
        "rm".to_owned(),
        "--force".to_owned(),
        "--volumes".to_owned(),
    ];
    args.extend(names.iter().cloned());
    Some(Cmd::new("docker", args))
}

/// One container to run. `Debug` hides its [`secrets`](Container::secrets).
#[derive(Clone, PartialEq, Eq)]
pub struct Container {
    /// Its name, which is also its host name on the network.
    pub name: String,
    /// The image.
    pub image: String,
    /// The site it serves, for [`SITE_LABEL`].
    pub site: Option<String>,
    /// Environment variables.
    pub env: Vec<(String, String)>,
    /// `(host port on 127.0.0.1, container port)`; the host port is used only with
    /// [`Placement::fixed_ports`].
    pub ports: Vec<(u16, u16)>,
    /// `(host file, container file)`, read-only.
    pub mounts: Vec<(String, String)>,
    /// Arguments after the image.
    pub args: Vec<String>,
    /// Values in `env` and `args` that must not be printed (passwords).
    pub secrets: Vec<String>,
    /// Where it runs ([`Placement::kind`] unless [`Container::placed`] says otherwise).
    pub placement: Placement,
}

impl std::fmt::Debug for Container {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Container")
            .field("name", &self.name)
            .field("image", &self.image)
            .field("site", &self.site)
            .field("command", &self.run_cmd())
            .finish_non_exhaustive()
    }
}

impl Container {
    /// The same container at `placement`.
    #[must_use]
    pub fn placed(mut self, placement: &Placement) -> Self {
        placement.clone_into(&mut self.placement);
        self
    }

    /// `docker run -d ...` for it, on its network with its placement's labels.
    #[must_use]
    pub fn run_cmd(&self) -> Cmd {
        let mut args: Vec<String> = vec![
            "run".into(),
            "--detach".into(),
            "--name".into(),
            self.name.clone(),
            "--network".into(),
            self.placement.network.clone(),
            "--label".into(),
            format!("{BACKEND_LABEL}={}", self.placement.backend),
        ];
        if let Some(site) = &self.site {
            args.extend(["--label".into(), format!("{SITE_LABEL}={site}")]);
        }
        for (key, value) in &self.env {
            args.extend(["--env".into(), format!("{key}={value}")]);
        }
        for (host, container) in &self.ports {
            let published = if self.placement.fixed_ports {
                format!("127.0.0.1:{host}:{container}")
            } else {
                format!("127.0.0.1::{container}")
            };
            args.extend(["--publish".into(), published]);
        }
        for (host, container) in &self.mounts {
            args.extend(["--volume".into(), format!("{host}:{container}:ro")]);
        }
        args.push(self.image.clone());
        args.extend(self.args.iter().cloned());
        self.secrets
            .iter()
            .fold(Cmd::new("docker", args), |cmd, secret| cmd.secret(secret))
    }

    /// `docker port NAME PORT`: prints the loopback address `container_port` is published
    /// on (`127.0.0.1:32768`), for a placement without fixed ports.
    #[must_use]
    pub fn host_port_cmd(&self, container_port: u16) -> Cmd {
        Cmd::new(
            "docker",
            ["port", &self.name, &format!("{container_port}/tcp")],
        )
    }
}
