//! What `up --backend kind` does, as data: sections of [`Step`]s built from the options,
//! what already exists ([`Existing`]) and the credentials. `--dry-run` prints the plan
//! ([`Plan::render`]); `run` executes it. Building it runs nothing, so the idempotence rules
//! live here and are tested without Docker:
//!
//! - a cluster or container that exists is an error without `--reuse`, and with it is
//!   reused: clusters are not created again, containers are started (`docker start` of a
//!   running one does nothing) and not set up again;
//! - everything applied with `kubectl apply` (ingress controller, operator) is applied again,
//!   which changes nothing when it is already there.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::balancer::GlobalLb;
use super::config::Cluster;
use super::container::Container;
use super::operator::{NAMESPACE as OPERATOR_NAMESPACE, OperatorManifests};
use super::process::Cmd;
use super::services::{self, Credentials, Images};
use crate::conformance::local::{GLOBAL_CLAIR_HOSTNAME, GLOBAL_QUAY_HOSTNAME};

/// What already exists on the Docker host: kind clusters, and containers with the backend's
/// label.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Existing {
    /// `kind get clusters`.
    pub clusters: BTreeSet<String>,
    /// `docker ps --all --filter label=io.quay-georep.backend=kind`.
    pub containers: BTreeSet<String>,
}

/// A cluster or container exists and `--reuse` was not given.
#[derive(Debug, thiserror::Error)]
#[error(
    "{what} already exists: pass --reuse to use it, or remove it with `georep-harness down --backend kind`"
)]
pub struct ExistsError {
    /// What exists (`kind cluster georep-us-east`, `container georep-redis`).
    pub what: String,
}

/// One thing to do. `Debug` shows commands with their secrets hidden ([`Cmd`]) and the
/// size of a written file, not its content (credentials, `services.json`, the target file).
#[derive(Clone, PartialEq, Eq)]
pub enum Step {
    /// Run a command; it must succeed.
    Run(Cmd),
    /// Run a command until it succeeds, at most `timeout`.
    Poll {
        /// The probe.
        cmd: Cmd,
        /// What it waits for.
        purpose: String,
        /// The deadline.
        timeout: Duration,
    },
    /// Run a command and keep its trimmed output as `${var}` for later arguments.
    Capture {
        /// The command.
        cmd: Cmd,
        /// The variable.
        var: String,
    },
    /// Write a file (mode 0600: several hold secrets).
    Write {
        /// The file.
        path: PathBuf,
        /// Its content.
        contents: String,
    },
    /// Write a file anyone may read (mode 0644): a container's configuration that an
    /// unprivileged user in the container reads, holding no secret.
    WritePublic {
        /// The file.
        path: PathBuf,
        /// Its content.
        contents: String,
    },
    /// `kind get kubeconfig` of `cluster`, renamed to context `site`, into `path`.
    Kubeconfig {
        /// The kind cluster.
        cluster: String,
        /// The site (the context name).
        site: String,
        /// The site's kubeconfig file.
        path: PathBuf,
    },
    /// Merge the sites' kubeconfigs into one file with a context per site.
    MergeKubeconfigs {
        /// The sites' files, in order.
        sites: Vec<PathBuf>,
        /// The merged file.
        path: PathBuf,
    },
    /// Nothing to do, and why.
    Skip(String),
}

impl std::fmt::Debug for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Run(cmd) => f.debug_tuple("Run").field(cmd).finish(),
            Self::Poll {
                cmd,
                purpose,
                timeout,
            } => f
                .debug_struct("Poll")
                .field("cmd", cmd)
                .field("purpose", purpose)
                .field("timeout", timeout)
                .finish(),
            Self::Capture { cmd, var } => f
                .debug_struct("Capture")
                .field("cmd", cmd)
                .field("var", var)
                .finish(),
            Self::Write { path, contents } => f
                .debug_struct("Write")
                .field("path", path)
                .field("contents", &format_args!("<{} bytes>", contents.len()))
                .finish(),
            Self::WritePublic { path, contents } => f
                .debug_struct("WritePublic")
                .field("path", path)
                .field("contents", &format_args!("<{} bytes>", contents.len()))
                .finish(),
            Self::Kubeconfig {
                cluster,
                site,
                path,
            } => f
                .debug_struct("Kubeconfig")
                .field("cluster", cluster)
                .field("site", site)
                .field("path", path)
                .finish(),
            Self::MergeKubeconfigs { sites, path } => f
                .debug_struct("MergeKubeconfigs")
                .field("sites", sites)
                .field("path", path)
                .finish(),
            Self::Skip(why) => f.debug_tuple("Skip").field(why).finish(),
        }
    }
}

/// A titled group of steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// What the steps achieve.
    pub title: String,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// Everything `up --backend kind` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The sections, in order.
    pub sections: Vec<Section>,
}

/// What the plan is built from.
#[derive(Debug)]
pub struct Inputs<'a> {
    /// Site names with their kind configs, in order.
    pub sites: &'a [(String, PathBuf, Cluster)],
    /// The state directory.
    pub state_dir: &'a Path,
    /// The container images.
    pub images: &'a Images,
    /// The ingress-nginx manifest to apply to every cluster (URL or file).
    pub ingress_manifest: &'a str,
    /// The operator's objects.
    pub operator: &'a OperatorManifests,
    /// The credentials.
    pub credentials: &'a Credentials,
    /// Reuse what exists.
    pub reuse: bool,
}

/// The global load balancers for Quay and Clair in front of `clusters` (`(site, kind
/// cluster)`), named by the local backend's global names.
#[must_use]
pub fn global_balancers(clusters: &[(String, String)]) -> [GlobalLb; 2] {
    [
        GlobalLb::quay(GLOBAL_QUAY_HOSTNAME, clusters),
        GlobalLb::clair(GLOBAL_CLAIR_HOSTNAME, clusters),
    ]
}

/// kind's own kubeconfig of the run (contexts `kind-<cluster>`), under the state dir.
#[must_use]
pub fn kind_kubeconfig(state_dir: &Path) -> PathBuf {
    state_dir.join("kind").join("kind.kubeconfig")
}

/// Builds the plan.
///
/// # Errors
/// [`ExistsError`] for the first cluster or container that exists without `--reuse`.
pub fn build(inputs: &Inputs<'_>, existing: &Existing) -> Result<Plan, ExistsError> {
    let kind_dir = inputs.state_dir.join("kind");
    let kind_kubeconfig = kind_kubeconfig(inputs.state_dir);
    let kc = kind_kubeconfig.display().to_string();
    let mut sections = Vec::new();
    let exists = |what: String| {
        if inputs.reuse {
            Ok(())
        } else {
            Err(ExistsError { what })
        }
    };

    let site_names: Vec<String> = inputs.sites.iter().map(|(s, _, _)| s.clone()).collect();
    for (site, config_path, cluster) in inputs.sites {
        let mut steps = Vec::new();
        if existing.clusters.contains(&cluster.name) {
            exists(format!("kind cluster {}", cluster.name))?;
            steps.push(Step::Skip(format!(
                "kind cluster {} exists: reused (--reuse)",
                cluster.name
            )));
        } else {
            steps.push(Step::Run(Cmd::new(
                "kind",
                [
                    "create",
                    "cluster",
                    "--config",
                    &config_path.display().to_string(),
                    "--kubeconfig",
                    &kc,
                    "--wait",
                    "180s",
                ],
            )));
        }
        steps.push(Step::Run(Cmd::new(
            "kind",
            [
                "export",
                "kubeconfig",
                "--name",
                &cluster.name,
                "--kubeconfig",
                &kc,
            ],
        )));
        let context = cluster.kind_context();
        let kubectl = |args: &[&str]| {
            let mut all = vec![
                "--kubeconfig".to_owned(),
                kc.clone(),
                "--context".to_owned(),
                context.clone(),
            ];
            all.extend(args.iter().map(|a| (*a).to_owned()));
            Cmd::new("kubectl", all)
        };
        steps.push(Step::Run(kubectl(&[
            "apply",
            "-f",
            inputs.ingress_manifest,
        ])));
        steps.push(Step::Run(kubectl(&[
            "--namespace",
            "ingress-nginx",
            "wait",
            "--for=condition=Available",
            "deployment/ingress-nginx-controller",
            "--timeout=300s",
        ])));
        for crd in &inputs.operator.crds {
            steps.push(Step::Run(kubectl(&[
                "apply",
                "--server-side",
                "--force-conflicts",
                "-f",
                &crd.display().to_string(),
            ])));
        }
        steps.push(Step::Run(
            kubectl(&["apply", "--server-side", "--force-conflicts", "-f", "-"])
                .stdin(inputs.operator.to_yaml()),
        ));
        steps.push(Step::Run(kubectl(&[
            "--namespace",
            OPERATOR_NAMESPACE,
            "rollout",
            "status",
            &format!("deployment/{}", inputs.operator.deployment),
            "--timeout=300s",
        ])));
        steps.push(Step::Kubeconfig {
            cluster: cluster.name.clone(),
            site: site.clone(),
            path: inputs.state_dir.join(format!("{site}.kubeconfig")),
        });
        sections.push(Section {
            title: format!(
                "cluster {} for site {site}: ingress-nginx, Quay Operator {}",
                cluster.name, inputs.operator.quay_version
            ),
            steps,
        });
    }

    let creds = inputs.credentials;
    let container_steps = |container: Container,
                           ready: Cmd,
                           purpose: &str,
                           setup: Vec<Step>|
     -> Result<Vec<Step>, ExistsError> {
        let mut steps = Vec::new();
        let reused = existing.containers.contains(&container.name);
        if reused {
            exists(format!("container {}", container.name))?;
            steps.push(Step::Run(Cmd::new("docker", ["start", &container.name])));
        } else {
            steps.push(Step::Run(container.run_cmd()));
        }
        steps.push(Step::Poll {
            cmd: ready,
            purpose: purpose.to_owned(),
            timeout: Duration::from_secs(120),
        });
        if reused {
            steps.push(Step::Skip(format!(
                "container {} exists: not set up again (--reuse)",
                container.name
            )));
        } else {
            steps.extend(setup);
        }
        Ok(steps)
    };
    let (pg, pg_ready, pg_setup) = services::postgres(&inputs.images.postgres, creds);
    sections.push(Section {
        title: "shared PostgreSQL: databases quay and clair with pg_trgm".to_owned(),
        steps: container_steps(
            pg,
            pg_ready,
            "PostgreSQL accepts connections",
            pg_setup.into_iter().map(Step::Run).collect(),
        )?,
    });
    let (redis, redis_ready) = services::redis(&inputs.images.redis, creds);
    sections.push(Section {
        title: "shared Redis with a password".to_owned(),
        steps: container_steps(redis, redis_ready, "Redis answers PING", Vec::new())?,
    });
    for (index, site) in site_names.iter().enumerate() {
        let Some(s3) = creds.s3.get(site) else {
            continue;
        };
        let config = kind_dir.join(format!("garage-{site}.toml"));
        let index = u16::try_from(index + 1).unwrap_or(u16::MAX);
        let (container, ready, node_id, setup) =
            services::garage(&inputs.images.s3, site, index, s3, &config);
        let mut steps = vec![Step::Write {
            path: config,
            contents: services::garage_toml(&s3.rpc_secret),
        }];
        let mut setup_steps = vec![Step::Capture {
            cmd: node_id,
            var: "GARAGE_NODE".to_owned(),
        }];
        setup_steps.extend(setup.into_iter().map(Step::Run));
        steps.extend(container_steps(
            container,
            ready,
            "Garage answers",
            setup_steps,
        )?);
        sections.push(Section {
            title: format!(
                "S3 storage of site {site}: Garage, bucket {}",
                services::bucket(site)
            ),
            steps,
        });
    }

    let clusters: Vec<(String, String)> = inputs
        .sites
        .iter()
        .map(|(site, _, cluster)| (site.clone(), cluster.name.clone()))
        .collect();
    let balancers = global_balancers(&clusters);
    for lb in &balancers {
        let config = kind_dir.join(format!("{}.cfg", lb.name));
        let mut steps = vec![Step::WritePublic {
            path: config.clone(),
            contents: lb.haproxy_cfg(),
        }];
        steps.extend(container_steps(
            lb.container(&inputs.images.haproxy, &config),
            lb.ready_cmd(),
            "HAProxy accepts its configuration",
            Vec::new(),
        )?);
        if existing.containers.contains(&lb.name) {
            // `docker start` leaves a running HAProxy on its old configuration.
            steps.push(Step::Run(lb.reload_cmd()));
        }
        sections.push(Section {
            title: format!(
                "global load balancer for {} at {}: HAProxy, health-checking {}",
                lb.hostname,
                lb.endpoint(),
                lb.backends
                    .iter()
                    .map(|b| b.site.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            steps,
        });
    }

    let kubeconfigs: Vec<PathBuf> = site_names
        .iter()
        .map(|s| inputs.state_dir.join(format!("{s}.kubeconfig")))
        .collect();
    let file = services::services_file(&site_names, creds);
    let kubeconfig_paths = site_names
        .iter()
        .zip(&kubeconfigs)
        .map(|(s, p)| (s.clone(), p.display().to_string()))
        .collect();
    let tfvars = services::tfvars(&site_names, &kubeconfig_paths, creds);
    let target = super::target::conformance_target(
        &site_names,
        &balancers,
        inputs.state_dir,
        creds,
        inputs.operator,
    );
    sections.push(Section {
        title: "outputs: kubeconfig (a context per site), services.json, terraform.tfvars.json, \
                conformance-target.yaml"
            .to_owned(),
        steps: vec![
            Step::MergeKubeconfigs {
                sites: kubeconfigs,
                path: inputs.state_dir.join("kubeconfig"),
            },
            Step::Write {
                path: inputs.state_dir.join(crate::services::SERVICES_JSON),
                contents: format!(
                    "{}\n",
                    serde_json::to_string_pretty(&file)
                        .expect("services.json is plain strings, numbers and maps")
                ),
            },
            Step::Write {
                path: inputs.state_dir.join(crate::services::TFVARS),
                contents: format!("{tfvars:#}\n"),
            },
            Step::Write {
                path: inputs
                    .state_dir
                    .join(crate::conformance::local::TARGET_FILE),
                contents: target
                    .to_yaml()
                    .expect("the target is plain strings, numbers and maps"),
            },
        ],
    });
    Ok(Plan { sections })
}

impl Plan {
    /// The plan as text: every command as a shell line, every file and manifest in full.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (i, section) in self.sections.iter().enumerate() {
            let _ = writeln!(out, "# {}. {}", i + 1, section.title);
            for step in &section.steps {
                render_step(&mut out, step);
            }
            out.push('\n');
        }
        out
    }

    /// Every command of the plan, in order.
    pub fn commands(&self) -> impl Iterator<Item = &Cmd> {
        self.sections
            .iter()
            .flat_map(|s| &s.steps)
            .filter_map(|step| match step {
                Step::Run(cmd) | Step::Poll { cmd, .. } | Step::Capture { cmd, .. } => Some(cmd),
                _ => None,
            })
    }
}

fn render_step(out: &mut String, step: &Step) {
    match step {
        Step::Run(cmd) => match &cmd.stdin {
            Some(stdin) => {
                let _ = write!(out, "{} <<'EOF'\n{stdin}EOF\n", cmd.shell());
            }
            None => {
                let _ = writeln!(out, "{}", cmd.shell());
            }
        },
        Step::Poll {
            cmd,
            purpose,
            timeout,
        } => {
            let _ = writeln!(
                out,
                "{}    # repeated until it succeeds, at most {}s: {purpose}",
                cmd.shell(),
                timeout.as_secs()
            );
        }
        Step::Capture { cmd, var } => {
            let _ = writeln!(out, "{var}=$({})", cmd.shell());
        }
        Step::Write { path, contents } => {
            let _ = write!(
                out,
                "write {} (mode 0600) <<'EOF'\n{contents}EOF\n",
                path.display()
            );
        }
        Step::WritePublic { path, contents } => {
            let _ = write!(
                out,
                "write {} (mode 0644) <<'EOF'\n{contents}EOF\n",
                path.display()
            );
        }
        Step::Kubeconfig {
            cluster,
            site,
            path,
        } => {
            let _ = writeln!(
                out,
                "kind get kubeconfig --name {cluster}    # context renamed to {site}, written to {}",
                path.display()
            );
        }
        Step::MergeKubeconfigs { sites, path } => {
            let names: Vec<_> = sites.iter().map(|p| p.display().to_string()).collect();
            let _ = writeln!(out, "merge {} into {}", names.join(" "), path.display());
        }
        Step::Skip(why) => {
            let _ = writeln!(out, "# skipped: {why}");
        }
    }
}

#[cfg(test)]
mod tests;
