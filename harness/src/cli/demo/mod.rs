//! `georep-harness demo`: the README's first command. Starts the local backend, applies
//! `examples/three-sites` to it with the real Terraform CLI and our provider, reports what
//! every site runs, what the global endpoint answers ([`crate::lb`]) and whether anything
//! unsafe happened, then destroys and stops everything
//! (or, with `--keep`, leaves it running until Ctrl-C or SIGTERM).
//!
//! It does not build the provider or install Terraform (`scripts/demo.sh` does), and prints
//! no secret: the passwords stay in `DIR/services.json` and `DIR/terraform/terraform.tfvars.json`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{DynamicObject, ListParams};
use serde_json::Value;

use crate::cli::up;
use crate::local::{self, LocalEnv, LocalOptions, LocalSite};
use crate::sim::operator::render::{COMPONENT_LABEL, CONFIG_HASH_ANNOTATION};
use crate::sim::operator::{api_resource, quay_registry_resource};
use crate::terraform::{self, DevOverride, PINNED_CACHE_PATH, TerraformBinary, Workdir};

/// The provider executable `--provider-dir` must hold.
pub const PROVIDER_EXE: &str = "terraform-provider-quay";
/// The example root module the demo applies, relative to the repository root.
pub const EXAMPLE: &str = "examples/three-sites";
/// How long one Terraform command of the demo may run.
const TERRAFORM_TIMEOUT: Duration = Duration::from_secs(600);

/// Arguments of `demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Directory for the kubeconfigs, credentials, ledger and `terraform/` (created if
    /// missing). Default: a new temporary directory, deleted at the end unless `--keep`.
    #[arg(long, env = "GEOREP_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Leave the backend and the applied sites running after the report, until Ctrl-C or
    /// SIGTERM, to explore them with kubectl and terraform.
    #[arg(long)]
    pub keep: bool,
    /// The Terraform executable. Default: `.cache/terraform/1.0.3/terraform` under the
    /// repository root, else `terraform` on PATH.
    #[arg(long)]
    pub terraform: Option<PathBuf>,
    /// The directory holding `terraform-provider-quay`. Default: this executable's directory
    /// if it holds one, else `<repo>/target/debug`.
    #[arg(long)]
    pub provider_dir: Option<PathBuf>,
}

/// `demo` could not run (a site that did not converge is a failed [`Report`], not an error).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No Terraform executable was found.
    #[error(
        "no terraform at {} nor on PATH: run scripts/install-terraform.sh or pass --terraform",
        tried.display()
    )]
    TerraformMissing {
        /// The pinned path looked at first.
        tried: PathBuf,
    },
    /// The provider executable is missing.
    #[error(
        "no {PROVIDER_EXE} in {}: run `cargo build -p terraform-provider-quay` or pass --provider-dir",
        dir.display()
    )]
    ProviderMissing {
        /// The directory looked in.
        dir: PathBuf,
    },
    /// The repository root (for the example and defaults) was not found.
    #[error("find the repository root")]
    RepoRoot(#[source] terraform::Error),
    /// The state directory could not be made.
    #[error("create state directory {}", path.display())]
    StateDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The local backend did not start.
    #[error("start the local backend")]
    Start(#[source] local::Error),
    /// The local backend did not stop cleanly.
    #[error("stop the local backend")]
    Stop(#[source] crate::services::Error),
    /// An example file could not be read.
    #[error("read example file {}", path.display())]
    Example {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The terraform variables could not be written.
    #[error("write terraform variables")]
    Tfvars(#[source] local::Error),
    /// A Terraform command could not run (not: it reported errors).
    #[error("terraform {step}")]
    Terraform {
        /// The step (`apply`, `destroy`, ...).
        step: &'static str,
        /// The cause.
        #[source]
        source: terraform::Error,
    },
    /// The Terraform thread panicked or was cancelled.
    #[error("terraform {step} did not finish")]
    TerraformTask {
        /// The step.
        step: &'static str,
        /// The cause.
        #[source]
        source: tokio::task::JoinError,
    },
    /// Waiting for a stop signal failed.
    #[error("wait for a stop signal")]
    Signal(#[source] up::Error),
}

/// One `status.conditions` entry of a `QuayRegistry`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// `Available`, `ComponentsCreated`, ...
    pub kind: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
}

/// What one site runs after the apply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SiteReport {
    /// The site name (kubectl context).
    pub site: String,
    /// Why the site could not be read, if it could not.
    pub error: Option<String>,
    /// Whether a `QuayRegistry` exists.
    pub registry_found: bool,
    /// Its conditions.
    pub conditions: Vec<Condition>,
    /// `status.currentVersion`.
    pub current_version: Option<String>,
    /// The hosts of the Routes in the registry's namespace.
    pub route_hosts: Vec<String>,
    /// `spec.configBundleSecret`.
    pub bundle_secret: Option<String>,
    /// Ready `quay-app` pods.
    pub ready_quay_pods: usize,
    /// The storage locations the quay component prefers, in order.
    pub storage_preference: Vec<String>,
    /// The `config.yaml` hash the `quay-app` pods run with.
    pub config_hash: Option<String>,
}

impl SiteReport {
    fn condition(&self, kind: &str) -> Option<&str> {
        self.conditions
            .iter()
            .find(|c| c.kind == kind)
            .map(|c| c.status.as_str())
    }

    /// Whether the operator reports the site converged: `Available=True`, a current version,
    /// no `RolloutBlocked=True`, and at least one ready quay pod.
    #[must_use]
    pub fn converged(&self) -> bool {
        self.error.is_none()
            && self.condition("Available") == Some("True")
            && self.condition("RolloutBlocked") != Some("True")
            && self.current_version.is_some()
            && self.ready_quay_pods > 0
    }
}

/// What the global Quay endpoint answered to `GET /health/instance` after the apply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GlobalAnswer {
    /// The endpoint (`http://127.0.0.1:PORT`).
    pub url: String,
    /// The sites it routed to when asked.
    pub routed_sites: Vec<String>,
    /// The HTTP status (`None`: no answer).
    pub status: Option<u16>,
    /// The site that answered.
    pub site: Option<String>,
    /// The version it reported.
    pub version: Option<String>,
    /// The `SERVER_HOSTNAME` it reported.
    pub server_hostname: Option<String>,
    /// The body's error, or why there was no answer.
    pub error: Option<String>,
}

impl fmt::Display for GlobalAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let routed = if self.routed_sites.is_empty() {
            "no site".to_owned()
        } else {
            self.routed_sites.join(", ")
        };
        write!(f, "global endpoint {} (routes to {routed}): ", self.url)?;
        match self.status {
            None => write!(f, "NO ANSWER")?,
            Some(200) => write!(
                f,
                "200 from site {}, version {}, SERVER_HOSTNAME {}",
                or_none(self.site.as_deref()),
                or_none(self.version.as_deref()),
                or_none(self.server_hostname.as_deref())
            )?,
            Some(status) => write!(f, "{status}")?,
        }
        if let Some(error) = &self.error {
            write!(f, " ({error})")?;
        }
        Ok(())
    }
}

/// Everything the demo found, and whether it passed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// Whether `terraform apply` succeeded.
    pub apply_succeeded: bool,
    /// The error diagnostics of a failed apply (summaries only).
    pub apply_errors: Vec<String>,
    /// The `config_hash` output of Terraform.
    pub terraform_config_hash: Option<String>,
    /// Per site, in order.
    pub sites: Vec<SiteReport>,
    /// The safety ledger's violations, one JSON object each.
    pub violations: Vec<String>,
    /// What the global Quay endpoint answered.
    pub global: Option<GlobalAnswer>,
}

impl Report {
    /// Whether every site runs with the same config hash (and at least one has one).
    #[must_use]
    pub fn same_config_everywhere(&self) -> bool {
        let mut hashes = self.sites.iter().map(|s| s.config_hash.as_deref());
        match hashes.next() {
            Some(Some(first)) => hashes.all(|h| h == Some(first)),
            _ => false,
        }
    }

    /// Apply succeeded, every site converged with the same config, the global endpoint
    /// answered 200, and the ledger is empty.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.global.as_ref().is_some_and(|g| g.status == Some(200))
            && self.apply_succeeded
            && !self.sites.is_empty()
            && self.sites.iter().all(SiteReport::converged)
            && self.same_config_everywhere()
            && self.violations.is_empty()
    }

    /// The one-line summary printed last.
    #[must_use]
    pub fn summary(&self, elapsed: Duration) -> String {
        let converged = self.sites.iter().filter(|s| s.converged()).count();
        format!(
            "demo {}: apply {}, {converged}/{} sites converged, config {}, {} safety violations ({:.1}s)",
            if self.passed() { "PASSED" } else { "FAILED" },
            if self.apply_succeeded { "ok" } else { "failed" },
            self.sites.len(),
            if self.same_config_everywhere() {
                "identical"
            } else {
                "differs"
            },
            self.violations.len(),
            elapsed.as_secs_f64()
        )
    }
}

/// The conditions, with the `Component<X>Ready` ones counted rather than listed unless one
/// is not `True`.
fn conditions_line(conditions: &[Condition]) -> String {
    let is_component =
        |c: &&Condition| c.kind.starts_with("Component") && c.kind.ends_with("Ready");
    let mut parts: Vec<String> = conditions
        .iter()
        .filter(|c| !is_component(c) || c.status != "True")
        .map(|c| format!("{}={}", c.kind, c.status))
        .collect();
    let components = conditions.iter().filter(is_component).count();
    if components > 0 {
        let ready = conditions
            .iter()
            .filter(is_component)
            .filter(|c| c.status == "True")
            .count();
        parts.push(format!("({ready}/{components} components ready)"));
    }
    parts.join(" ")
}

fn or_none(value: Option<&str>) -> &str {
    value.unwrap_or("-")
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.apply_succeeded {
            writeln!(f, "terraform apply: ok")?;
        } else {
            writeln!(f, "terraform apply: FAILED")?;
            for error in &self.apply_errors {
                writeln!(f, "  error: {error}")?;
            }
        }
        for s in &self.sites {
            let state = if s.converged() {
                "converged"
            } else {
                "NOT converged"
            };
            writeln!(f, "site {}: {state}", s.site)?;
            if let Some(error) = &s.error {
                writeln!(f, "  cannot read: {error}")?;
                continue;
            }
            if !s.registry_found {
                writeln!(f, "  no QuayRegistry")?;
                continue;
            }
            writeln!(
                f,
                "  conditions:         {}",
                conditions_line(&s.conditions)
            )?;
            writeln!(
                f,
                "  currentVersion:     {}",
                or_none(s.current_version.as_deref())
            )?;
            let hosts = if s.route_hosts.is_empty() {
                "-".to_owned()
            } else {
                s.route_hosts.join(", ")
            };
            writeln!(f, "  route host:         {hosts}")?;
            writeln!(
                f,
                "  bundle secret:      {}",
                or_none(s.bundle_secret.as_deref())
            )?;
            writeln!(f, "  ready quay pods:    {}", s.ready_quay_pods)?;
            writeln!(
                f,
                "  storage preference: {}",
                if s.storage_preference.is_empty() {
                    "-".to_owned()
                } else {
                    s.storage_preference.join(" > ")
                }
            )?;
        }
        if self.same_config_everywhere() {
            let hash = self
                .sites
                .first()
                .and_then(|s| s.config_hash.as_deref())
                .unwrap_or_default();
            writeln!(f, "config hash: {hash} on every site")?;
        } else {
            writeln!(f, "config hash: DIFFERS between sites")?;
            for s in &self.sites {
                writeln!(f, "  {}: {}", s.site, or_none(s.config_hash.as_deref()))?;
            }
        }
        if let Some(hash) = &self.terraform_config_hash {
            writeln!(f, "terraform config_hash output: {hash}")?;
        }
        if let Some(global) = &self.global {
            writeln!(f, "{global}")?;
        }
        if self.violations.is_empty() {
            writeln!(f, "safety ledger: no safety violations")?;
        } else {
            writeln!(f, "safety ledger: {} violations", self.violations.len())?;
            for v in &self.violations {
                writeln!(f, "  {v}")?;
            }
        }
        Ok(())
    }
}

/// Numbered progress lines with the time since the demo started.
#[derive(Debug)]
struct Progress {
    start: Instant,
    step: usize,
    total: usize,
}

impl Progress {
    fn step(&mut self, what: &str) {
        self.step += 1;
        println!(
            "[{}/{} +{:.1}s] {what}",
            self.step,
            self.total,
            self.start.elapsed().as_secs_f64()
        );
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

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
    if is_executable(&pinned) {
        return Ok(pinned);
    }
    on_path("terraform").ok_or(Error::TerraformMissing { tried: pinned })
}

/// The directory holding the provider: `explicit`, else the folder of `current_exe` if it
/// holds one, else `<repo>/target/debug`.
///
/// # Errors
/// [`Error::ProviderMissing`] when the chosen directory has no provider executable.
pub fn find_provider_dir(
    explicit: Option<&Path>,
    current_exe: Option<&Path>,
    repo: &Path,
) -> Result<PathBuf, Error> {
    let dir = match (explicit, current_exe.and_then(Path::parent)) {
        (Some(dir), _) => dir.to_owned(),
        (None, Some(exe_dir)) if is_executable(&exe_dir.join(PROVIDER_EXE)) => exe_dir.to_owned(),
        (None, _) => repo.join("target/debug"),
    };
    if is_executable(&dir.join(PROVIDER_EXE)) {
        Ok(dir)
    } else {
        Err(Error::ProviderMissing { dir })
    }
}

/// The repository root and the provider directory [`find_provider_dir`] picks for this
/// executable: how the `bench` commands find what they run.
///
/// # Errors
/// [`Error::RepoRoot`], or as [`find_provider_dir`].
pub fn repo_and_provider_dir(explicit: Option<&Path>) -> Result<(PathBuf, PathBuf), Error> {
    let repo = terraform::repo_root().map_err(Error::RepoRoot)?;
    let exe = std::env::current_exe().ok();
    let provider_dir = find_provider_dir(explicit, exe.as_deref(), &repo)?;
    Ok((repo, provider_dir))
}

async fn terraform<T, F>(workdir: &Arc<Workdir>, step: &'static str, f: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce(&Workdir) -> Result<T, terraform::Error> + Send + 'static,
{
    let workdir = Arc::clone(workdir);
    tokio::task::spawn_blocking(move || f(&workdir))
        .await
        .map_err(|source| Error::TerraformTask { step, source })?
        .map_err(|source| Error::Terraform { step, source })
}

fn str_at(value: &Value, pointer: &str) -> Option<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The storage preference of the `quay` component's env override, in order.
fn quay_storage_preference(registry: &Value) -> Vec<String> {
    registry["spec"]["components"]
        .as_array()
        .and_then(|components| components.iter().find(|c| c["kind"] == "quay"))
        .and_then(|c| c["overrides"]["env"].as_array())
        .and_then(|env| {
            env.iter()
                .find(|e| e["name"] == "QUAY_DISTRIBUTED_STORAGE_PREFERENCE")
        })
        .and_then(|e| e["value"].as_str())
        .map(|v| v.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

fn pod_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Reads what `site` runs; a failure to read becomes [`SiteReport::error`].
async fn inspect(site: &LocalSite) -> SiteReport {
    let mut report = SiteReport {
        site: site.name.clone(),
        ..SiteReport::default()
    };
    if let Err(error) = inspect_into(site, &mut report).await {
        report.error = Some(error);
    }
    report
}

async fn inspect_into(site: &LocalSite, report: &mut SiteReport) -> Result<(), String> {
    let client = site.cluster.client().await.map_err(|e| e.to_string())?;
    let registries: Api<DynamicObject> = Api::all_with(client.clone(), &quay_registry_resource());
    let list = registries
        .list(&ListParams::default())
        .await
        .map_err(|e| format!("list QuayRegistries: {e}"))?;
    let Some(registry) = list.items.into_iter().next() else {
        return Ok(());
    };
    report.registry_found = true;
    let namespace = registry.metadata.namespace.clone().unwrap_or_default();
    let data = &registry.data;
    report.conditions = data["status"]["conditions"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| Condition {
                    kind: c["type"].as_str().unwrap_or_default().to_owned(),
                    status: c["status"].as_str().unwrap_or_default().to_owned(),
                })
                .collect()
        })
        .unwrap_or_default();
    report.current_version = str_at(data, "/status/currentVersion");
    report.bundle_secret = str_at(data, "/spec/configBundleSecret");
    report.storage_preference = quay_storage_preference(data);

    let routes: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        &namespace,
        &api_resource("route.openshift.io/v1", "Route"),
    );
    if let Ok(list) = routes.list(&ListParams::default()).await {
        report.route_hosts = list
            .items
            .iter()
            .filter_map(|r| str_at(&r.data, "/spec/host"))
            .collect();
        report.route_hosts.sort();
        report.route_hosts.dedup();
    }
    let selector = format!("{COMPONENT_LABEL}=quay-app");
    let pods: Api<Pod> = Api::namespaced(client.clone(), &namespace);
    let pods = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| format!("list quay pods: {e}"))?;
    report.ready_quay_pods = pods.items.iter().filter(|p| pod_ready(p)).count();
    let deployments: Api<Deployment> = Api::namespaced(client, &namespace);
    let deployments = deployments
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| format!("list quay deployments: {e}"))?;
    report.config_hash = deployments.items.iter().find_map(|d| {
        d.spec
            .as_ref()?
            .template
            .metadata
            .as_ref()?
            .annotations
            .as_ref()?
            .get(CONFIG_HASH_ANNOTATION)
            .cloned()
    });
    Ok(())
}

/// Asks the global Quay endpoint once every converged site is routed (or after 10 s).
async fn ask_global(env: &LocalEnv, converged: usize) -> GlobalAnswer {
    let global = env.global_quay();
    let deadline = Instant::now() + Duration::from_secs(10);
    while global.routed_sites().len() < converged && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut answer = GlobalAnswer {
        url: global.url().to_owned(),
        routed_sites: global.routed_sites(),
        ..GlobalAnswer::default()
    };
    match crate::lb::get(&format!("{}/health/instance", global.url())).await {
        Ok(reply) => {
            let body = reply.json();
            answer.status = Some(reply.status);
            answer.site = reply.site;
            answer.version = str_at(&body, "/version");
            answer.server_hostname = str_at(&body, "/server_hostname");
            answer.error = str_at(&body, "/error");
        }
        Err(err) => answer.error = Some(crate::errors::chain(&err)),
    }
    answer
}

fn keep_usage(env: &LocalEnv, terraform_dir: &Path, terraform: &TerraformBinary) -> String {
    let mut text = format!(
        "\neverything keeps running; state in {}\n\n  export KUBECONFIG={}\n",
        env.state_dir().display(),
        env.kubeconfig().display()
    );
    for s in env.sites() {
        text.push_str(&format!(
            "  kubectl --context {} -n quay-enterprise get quayregistry,deploy,pods,routes\n",
            s.name
        ));
    }
    text.push_str(&format!(
        "\n  curl {}/health/instance    # the global name\n  georep-harness push --state-dir {} --wait\n",
        env.global_quay_url(),
        env.state_dir().display()
    ));
    text.push_str(&format!(
        "\n  cd {} && TF_CLI_CONFIG_FILE=$PWD/{} {} plan\n",
        terraform_dir.display(),
        terraform::CLI_CONFIG_FILE_NAME,
        terraform.path.display()
    ));
    text.push_str(&format!(
        "\ncredentials: {} (not printed)\nstop with Ctrl-C or SIGTERM\n",
        env.services_json().display()
    ));
    text
}

/// Run the demo and print its progress and report. Returns the report; the caller decides
/// the exit code with [`Report::passed`].
///
/// # Errors
/// Any [`Error`]: the demo could not run at all (missing tools, backend failed to start,
/// Terraform could not be executed).
pub async fn run(args: &DemoArgs) -> Result<Report, Error> {
    let start = Instant::now();
    let mut progress = Progress {
        start,
        step: 0,
        total: if args.keep { 6 } else { 7 },
    };
    let repo = terraform::repo_root().map_err(Error::RepoRoot)?;
    let terraform_path = find_terraform(args.terraform.as_deref(), &repo)?;
    let binary = TerraformBinary::probe(&terraform_path).map_err(|source| Error::Terraform {
        step: "version",
        source,
    })?;
    let exe = std::env::current_exe().ok();
    let provider_dir = find_provider_dir(args.provider_dir.as_deref(), exe.as_deref(), &repo)?;
    let (state_dir, _temp) = match &args.state_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|source| Error::StateDir {
                path: dir.clone(),
                source,
            })?;
            (dir.clone(), None)
        }
        None => {
            let mut temp = tempfile::Builder::new()
                .prefix("georep-demo-")
                .tempdir()
                .map_err(|source| Error::StateDir {
                    path: std::env::temp_dir(),
                    source,
                })?;
            if args.keep {
                temp.disable_cleanup(true);
            }
            (temp.path().to_owned(), Some(temp))
        }
    };
    println!(
        "{} with provider from {}; state in {}",
        binary,
        provider_dir.display(),
        state_dir.display()
    );

    progress.step("starting the local backend: PostgreSQL, Redis, S3 per site, 3 simulated OpenShift clusters, Quay Operator models");
    let env = LocalEnv::start(&LocalOptions::new(&state_dir))
        .await
        .map_err(Error::Start)?;

    let terraform_dir = state_dir.join("terraform");
    progress.step(&format!(
        "copying {EXAMPLE} and its variables into {}",
        terraform_dir.display()
    ));
    let workdir = Workdir::at(&binary, &terraform_dir, &[DevOverride::quay(&provider_dir)])
        .map_err(|source| Error::Terraform {
            step: "workdir",
            source,
        })?
        .with_timeout(TERRAFORM_TIMEOUT);
    for file in ["main.tf", "variables.tf", "outputs.tf"] {
        let path = repo.join(EXAMPLE).join(file);
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Example {
            path: path.clone(),
            source,
        })?;
        workdir
            .write_file(file, &text)
            .map_err(|source| Error::Terraform {
                step: "copy example",
                source,
            })?;
    }
    env.write_tfvars(&terraform_dir.join("terraform.tfvars.json"))
        .map_err(Error::Tfvars)?;
    let workdir = Arc::new(workdir);

    progress.step("terraform apply (sites one after the other, each waits until it converged)");
    let applied = terraform(&workdir, "apply", Workdir::apply).await?;
    let mut report = Report {
        apply_succeeded: applied.succeeded(),
        apply_errors: applied.events.errors().map(|d| d.summary.clone()).collect(),
        ..Report::default()
    };
    if applied.succeeded() {
        let outputs = terraform(&workdir, "output", Workdir::output_json).await?;
        report.terraform_config_hash = outputs
            .get("config_hash")
            .and_then(|o| o.value.as_str())
            .map(str::to_owned);
    }

    progress.step("reading every site and the safety ledger");
    for site in env.sites() {
        report.sites.push(inspect(site).await);
    }
    let converged = report.sites.iter().filter(|s| s.converged()).count();
    report.global = Some(ask_global(&env, converged).await);
    report.violations = env
        .ledger()
        .violations()
        .iter()
        .map(|v| serde_json::to_string(v).unwrap_or_else(|_| format!("{v:?}")))
        .collect();
    print!("{report}");

    if args.keep {
        print!("{}", keep_usage(&env, &terraform_dir, &binary));
        up::wait_for_stop().await.map_err(Error::Signal)?;
        progress.step("stopping the local backend (the sites go with it)");
        env.stop().await.map_err(Error::Stop)?;
    } else {
        progress.step("terraform destroy");
        let destroyed = terraform(&workdir, "destroy", Workdir::destroy).await?;
        if !destroyed.succeeded() {
            println!("terraform destroy: FAILED");
            for d in destroyed.events.errors() {
                println!("  error: {}", d.summary);
            }
        }
        progress.step("stopping the local backend");
        env.stop().await.map_err(Error::Stop)?;
    }
    progress.step("done");
    println!("{}", report.summary(start.elapsed()));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn converged_site(name: &str, hash: &str) -> SiteReport {
        SiteReport {
            site: name.into(),
            error: None,
            registry_found: true,
            conditions: vec![
                Condition {
                    kind: "Available".into(),
                    status: "True".into(),
                },
                Condition {
                    kind: "RolloutBlocked".into(),
                    status: "False".into(),
                },
            ],
            current_version: Some("3.15.2".into()),
            route_hosts: vec!["quay.global.example.test".into()],
            bundle_secret: Some("quay-config-abc123".into()),
            ready_quay_pods: 2,
            storage_preference: vec!["us_east".into(), "eu_west".into()],
            config_hash: Some(hash.into()),
        }
    }

    fn report(sites: Vec<SiteReport>) -> Report {
        Report {
            apply_succeeded: true,
            sites,
            global: Some(GlobalAnswer {
                url: "http://127.0.0.1:1".into(),
                routed_sites: vec!["us-east".into(), "eu-west".into()],
                status: Some(200),
                site: Some("eu-west".into()),
                version: Some("3.15.2".into()),
                server_hostname: Some("quay.global.example.test".into()),
                error: None,
            }),
            ..Report::default()
        }
    }

    #[test]
    fn shows_the_global_answer_and_fails_without_one() {
        let r = report(vec![converged_site("us-east", "h1")]);
        assert!(
            r.to_string().contains(
                "global endpoint http://127.0.0.1:1 (routes to us-east, eu-west): 200 from site \
                 eu-west, version 3.15.2, SERVER_HOSTNAME quay.global.example.test"
            ),
            "{r}"
        );
        let mut down = r.clone();
        down.global = Some(GlobalAnswer {
            url: "http://127.0.0.1:1".into(),
            status: Some(503),
            error: Some("no site is ready to serve quay".into()),
            ..GlobalAnswer::default()
        });
        assert!(!down.passed());
        assert!(
            down.to_string()
                .contains("(routes to no site): 503 (no site is ready to serve quay)"),
            "{down}"
        );
    }

    #[test]
    fn passes_when_every_site_converged_with_one_config_and_no_violations() {
        let r = report(vec![
            converged_site("us-east", "h1"),
            converged_site("eu-west", "h1"),
        ]);
        assert!(r.passed());
        let text = r.to_string();
        assert!(text.contains("site us-east: converged"), "{text}");
        assert!(
            text.contains("storage preference: us_east > eu_west"),
            "{text}"
        );
        assert!(text.contains("config hash: h1 on every site"), "{text}");
        assert!(text.contains("no safety violations"), "{text}");
        assert!(
            r.summary(Duration::ZERO)
                .starts_with("demo PASSED: apply ok, 2/2 sites converged")
        );
    }

    #[test]
    fn counts_ready_components_and_lists_the_unready_one() {
        let c = |kind: &str, status: &str| Condition {
            kind: kind.into(),
            status: status.into(),
        };
        let line = conditions_line(&[
            c("Available", "True"),
            c("ComponentQuayReady", "True"),
            c("ComponentRouteReady", "False"),
            c("RolloutBlocked", "False"),
        ]);
        assert_eq!(
            line,
            "Available=True ComponentRouteReady=False RolloutBlocked=False (1/2 components ready)"
        );
    }

    #[test]
    fn fails_when_a_site_runs_another_config() {
        let r = report(vec![
            converged_site("us-east", "h1"),
            converged_site("eu-west", "h2"),
        ]);
        assert!(!r.passed());
        assert!(r.to_string().contains("config hash: DIFFERS"));
        assert!(r.summary(Duration::ZERO).contains("config differs"));
    }

    #[test]
    fn fails_on_a_ledger_violation() {
        let mut r = report(vec![converged_site("us-east", "h1")]);
        r.violations
            .push(r#"{"kind":"concurrent_migrations"}"#.into());
        assert!(!r.passed());
        assert!(r.to_string().contains("safety ledger: 1 violations"));
    }

    #[test]
    fn a_blocked_rollout_is_not_converged() {
        let mut site = converged_site("us-east", "h1");
        site.conditions[1].status = "True".into();
        assert!(!site.converged());
        assert!(!report(vec![site]).passed());
    }

    #[test]
    fn a_failed_apply_fails_and_lists_its_errors() {
        let mut r = report(vec![converged_site("us-east", "h1")]);
        r.apply_succeeded = false;
        r.apply_errors.push("QuayRegistry did not converge".into());
        assert!(!r.passed());
        assert!(
            r.to_string()
                .contains("error: QuayRegistry did not converge")
        );
    }

    #[test]
    fn reads_the_quay_storage_preference_in_order() {
        let registry = serde_json::json!({"spec": {"components": [
            {"kind": "mirror", "overrides": {"env": [{"name": "QUAY_DISTRIBUTED_STORAGE_PREFERENCE", "value": "x"}]}},
            {"kind": "quay", "overrides": {"env": [{"name": "QUAY_DISTRIBUTED_STORAGE_PREFERENCE", "value": "eu_west us_east"}]}}
        ]}});
        assert_eq!(quay_storage_preference(&registry), ["eu_west", "us_east"]);
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
}
