//! `georep-harness demo`: the README's first command. Starts the local backend, applies
//! `examples/three-sites` to it with the real Terraform CLI and our provider, reports what
//! every site runs, what the global endpoint answers ([`crate::lb`]) and whether anything
//! unsafe happened, then destroys and stops everything
//! (or, with `--keep`, leaves it running until Ctrl-C or SIGTERM).
//!
//! It does not build the provider or install Terraform (`scripts/demo.sh` does), and prints
//! no secret: the passwords stay in `DIR/services.json` and `DIR/terraform/terraform.tfvars.json`.

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
use crate::quay::{COMPONENT_LABEL, api_resource, is_pod_ready, quay_registry_resource};
use crate::terraform::{self, DevOverride, TerraformBinary, Workdir};

pub mod kind;
mod report;

pub use report::{Condition, GlobalAnswer, Report, SiteReport};

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
    /// The backend (`--backend kind` for real clusters) and the kind backend's options.
    #[command(flatten)]
    pub backend: crate::backend::BackendArgs,
}

/// `demo` could not run (a site that did not converge is a failed [`Report`], not an error).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The repository root, Terraform or the provider was not found.
    #[error("find the repository, terraform and the provider")]
    Programs(#[source] terraform::Error),
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
    let client = site
        .cluster
        .client_for(local::HARNESS_CLIENT)
        .await
        .map_err(|e| e.to_string())?;
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
    report.storage_preference = crate::quay::storage_preference(data, "quay");

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
    report.ready_quay_pods = pods.items.iter().filter(|p| is_pod_ready(p)).count();
    let deployments: Api<Deployment> = Api::namespaced(client, &namespace);
    let deployments = deployments
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| format!("list quay deployments: {e}"))?;
    report.config_hash = crate::quay::config_hash(&deployments.items);
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
    let repo = terraform::repo_root().map_err(Error::Programs)?;
    let terraform_path =
        terraform::find_terraform(args.terraform.as_deref(), &repo).map_err(Error::Programs)?;
    let binary = TerraformBinary::probe(&terraform_path).map_err(|source| Error::Terraform {
        step: "version",
        source,
    })?;
    let exe = std::env::current_exe().ok();
    let provider_dir =
        terraform::find_provider_dir(args.provider_dir.as_deref(), exe.as_deref(), &repo)
            .map_err(Error::Programs)?;
    let (state_dir, _temp) =
        crate::cli::state_dir::create(args.state_dir.as_deref(), "georep-demo-", args.keep)
            .map_err(
                |crate::cli::state_dir::StateDirError { path, source }| Error::StateDir {
                    path,
                    source,
                },
            )?;
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
