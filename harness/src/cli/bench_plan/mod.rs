//! `georep-harness bench plan`: `terraform plan` of N `quay_georep_site` resources against
//! the simulated clusters of the local backend, beside N `null_resource`s of HashiCorp's Go
//! `terraform-provider-null` under the same Terraform, for every Terraform under test.
//!
//! For each size and Terraform it times plans with no state (nothing to read) and, after an
//! apply with that Terraform, plans that refresh every applied site (the realistic case), and
//! counts the connections the provider opened to each simulated API server during those
//! refresh plans (told from the cluster's own controllers' by their `User-Agent`), to show
//! that the provider keeps one client per cluster instead of reconnecting per resource. One extra refresh plan with `-parallelism=1` runs the provider
//! through a wrapper that counts the provider processes Terraform starts; its connection
//! counts show what one client with never-overlapping requests opens.
//!
//! The sites are spread round-robin over the clusters, each in its own namespace, applied
//! with `-parallelism=1` so the operator models' migration Jobs never race on the shared
//! database. Prints figures; judges nothing (no thresholds).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::local::{self, LocalEnv, LocalOptions};
use crate::services::process::write_executable;
use crate::sim::apiserver::{Counters, UNNAMED_CLIENT};
use crate::terraform::{
    self, DevOverride, PlanExit, TerraformBinary, Workdir, binaries_under_test,
};

/// Where `scripts/install-null-provider.sh` puts the Go null provider, under the repository.
pub const NULL_PROVIDER_DIR: &str = ".cache/null-provider/2.1.2";
/// The null provider's source address.
const NULL_SOURCE: &str = "registry.terraform.io/hashicorp/null";
/// How long one apply or destroy of the largest size may take.
const APPLY_TIMEOUT: Duration = Duration::from_secs(1200);

/// Arguments of `bench plan`.
#[derive(Debug, Clone, clap::Args)]
pub struct PlanArgs {
    /// Numbers of sites (and of null resources) to plan, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1_usize, 3, 10, 30])]
    pub sizes: Vec<usize>,
    /// Timed plans per configuration; the report gives their median.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// A Terraform executable to measure (repeatable). Default: every Terraform under test
    /// (the pinned 1.0.3 and the `terraform` on PATH).
    #[arg(long = "terraform")]
    pub terraforms: Vec<PathBuf>,
    /// The directory holding `terraform-provider-quay`. Default: this executable's directory
    /// if it holds one, else `<repo>/target/debug`.
    #[arg(long)]
    pub provider_dir: Option<PathBuf>,
    /// The directory holding `terraform-provider-null_v2.1.2_x4`. Default:
    /// `<repo>/.cache/null-provider/2.1.2` (`scripts/install-null-provider.sh` fills it).
    #[arg(long)]
    pub null_provider_dir: Option<PathBuf>,
    /// Milliseconds the simulated API servers wait before answering each request during the
    /// refresh plans: a cluster in another region (30 to 150 ms is common). 0: loopback.
    #[arg(long, default_value_t = 0)]
    pub latency: u64,
}

/// The benchmark could not run (not: it was slow).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The provider or Terraform was not found.
    #[error("find the programs to benchmark")]
    Programs(#[source] terraform::Error),
    /// The Terraform binaries under test were not found.
    #[error("find the Terraform binaries under test (or pass --terraform)")]
    Terraforms(#[source] terraform::Error),
    /// The Go null provider is missing.
    #[error(
        "no terraform-provider-null_v2.1.2_x4 in {}: run scripts/install-null-provider.sh or pass --null-provider-dir",
        dir.display()
    )]
    NullProviderMissing {
        /// The directory looked in.
        dir: PathBuf,
    },
    /// No size or no run was asked for.
    #[error("--sizes and --runs must each be at least 1")]
    NothingToMeasure,
    /// A file or directory could not be written.
    #[error("write {}", path.display())]
    Write {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A site's own bucket could not be created.
    #[error(transparent)]
    Bucket(#[from] locations::BucketError),
    /// The local backend did not start, or its variables could not be written.
    #[error("start the local backend")]
    Local(#[source] local::Error),
    /// The local backend did not stop cleanly.
    #[error("stop the local backend")]
    Stop(#[source] crate::services::Error),
    /// A Terraform command could not run or reported errors.
    #[error("terraform {step} of {what}")]
    Terraform {
        /// `plan`, `apply`, `destroy`.
        step: &'static str,
        /// The configuration, e.g. `10 x quay_georep_site`.
        what: String,
        /// The cause.
        #[source]
        source: terraform::Error,
    },
    /// A Terraform thread panicked.
    #[error("terraform thread")]
    Task(#[source] tokio::task::JoinError),
}

mod locations;
mod report;

pub use report::{ClusterConnections, PlanReport, PlanRow};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

/// The configuration of `size` sites spread over `clusters` (named after their locations),
/// each site with a storage location of its own (`locations::site_location`).
///
/// [`Endpoints::Plaintext`] is what the local backend serves (HTTP storage, Redis without
/// TLS), so the provider warns once per storage block and once for Redis; [`Endpoints::Tls`] is the same
/// configuration as a production one would be, without those warnings, for plans only.
#[must_use]
pub fn quay_config(size: usize, clusters: &[String], endpoints: Endpoints) -> String {
    let tls = endpoints == Endpoints::Tls;
    let locations: Vec<String> = (0..size.max(clusters.len()))
        .map(|i| locations::site_location(i, clusters))
        .collect();
    let mut hcl = String::from(
        "terraform {\n  required_providers {\n    quay = { source = \"quay-georep/quay\" }\n  }\n}\n\n",
    );
    for (name, sensitive) in [
        ("kubeconfig_paths", false),
        ("database_uri", true),
        ("redis", true),
        ("storage", true),
        ("secret_key", true),
        ("database_secret_key", true),
    ] {
        let _ = writeln!(hcl, "variable \"{name}\" {{ sensitive = {sensitive} }}");
    }
    hcl.push_str("\nprovider \"quay\" {\n");
    for location in clusters {
        let _ = writeln!(
            hcl,
            "  cluster \"{location}\" {{ kubeconfig_path = var.kubeconfig_paths[\"{location}\"] }}"
        );
    }
    hcl.push_str(
        "}\n\ndata \"quay_georep_config\" \"shared\" {\n  server_hostname     = \"quay.bench.example.test\"\n  secret_key          = var.secret_key\n  database_secret_key = var.database_secret_key\n  database { uri = var.database_uri }\n  redis {\n    host     = var.redis.host\n    port     = var.redis.port\n    password = var.redis.password\n",
    );
    let _ = writeln!(hcl, "    tls      = {tls}\n  }}");
    for location in &locations {
        let _ = writeln!(
            hcl,
            "  storage \"{location}\" {{\n    driver     = \"radosgw\"\n    hostname   = var.storage[\"{location}\"].hostname\n    port       = var.storage[\"{location}\"].port\n    is_secure  = {tls}\n    bucket     = var.storage[\"{location}\"].bucket\n    access_key = var.storage[\"{location}\"].access_key\n    secret_key = var.storage[\"{location}\"].secret_key\n    region     = var.storage[\"{location}\"].region\n  }}"
        );
    }
    hcl.push_str("}\n");
    for i in 0..size {
        let cluster = &clusters[i % clusters.len()];
        let location = &locations[i];
        let _ = write!(
            hcl,
            "\nresource \"quay_georep_site\" \"s{i}\" {{\n  cluster     = \"{cluster}\"\n  namespace   = \"bench-{i}\"\n  config_yaml = data.quay_georep_config.shared.config_yaml\n  location    = \"{location}\"\n  quay {{ replicas = 1 }}\n  mirror {{ enabled = false }}\n  clair {{ enabled = false }}\n}}\n"
        );
    }
    hcl
}

/// The endpoints a [`quay_config`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoints {
    /// The local backend's: plain HTTP storage, Redis without TLS.
    Plaintext,
    /// HTTPS storage and Redis over TLS, as in production.
    Tls,
}

/// The configuration of `size` null resources.
#[must_use]
pub fn null_config(size: usize) -> String {
    let mut hcl = String::from(
        "terraform {\n  required_providers {\n    null = { source = \"hashicorp/null\" }\n  }\n}\n\nprovider \"null\" {}\n",
    );
    for i in 0..size {
        let _ = write!(
            hcl,
            "\nresource \"null_resource\" \"r{i}\" {{\n  triggers = {{ site = \"s{i}\" }}\n}}\n"
        );
    }
    hcl
}

/// Runs `f` on a blocking thread, so the simulated clusters keep being served meanwhile.
async fn blocking<T, F>(f: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, Error> + Send + 'static,
{
    tokio::task::spawn_blocking(f).await.map_err(Error::Task)?
}

fn terraform_error(step: &'static str, what: &str) -> impl FnOnce(terraform::Error) -> Error {
    let what = what.to_owned();
    move |source| Error::Terraform { step, what, source }
}

/// One timed plan: how long it took and the changes it found (`address action`).
fn timed_plan(
    dir: &Workdir,
    what: &str,
    extra_args: &[&str],
) -> Result<(Duration, Vec<String>), Error> {
    let started = Instant::now();
    let outcome = dir
        .plan_with(extra_args)
        .and_then(terraform::PlanOutcome::require_success)
        .map_err(terraform_error("plan", what))?;
    let elapsed = started.elapsed();
    let mut changes: Vec<String> = outcome
        .events
        .planned_changes()
        .map(|c| format!("{} {:?}", c.address, c.action))
        .collect();
    if changes.is_empty() && outcome.exit != PlanExit::NoChanges {
        changes.push(format!(
            "plan exit {:?} without resource changes",
            outcome.exit
        ));
    }
    Ok((elapsed, changes))
}

/// A directory whose `terraform-provider-quay` logs each start into `starts.log`, then runs
/// the real provider: Terraform serves it through `dev_overrides` like the real one.
fn counting_provider_dir(root: &Path, provider_dir: &Path) -> Result<PathBuf, Error> {
    let dir = root.join("counting-provider");
    std::fs::create_dir_all(&dir).map_err(|source| Error::Write {
        path: dir.clone(),
        source,
    })?;
    let script = dir.join(terraform::PROVIDER_EXE);
    let log = dir.join("starts.log");
    let text = format!(
        "#!/bin/sh\necho start >> '{}'\nexec '{}' \"$@\"\n",
        log.display(),
        provider_dir.join(terraform::PROVIDER_EXE).display()
    );
    write_executable(&script, &text, 0o755).map_err(|source| Error::Write {
        path: script.clone(),
        source,
    })?;
    Ok(dir)
}

/// Every simulated API server answers each request `latency` late (the refresh plans'
/// clusters are as far away as the user asked; the applies around them are not slowed).
fn set_latency(env: &LocalEnv, latency: Duration) {
    for site in env.sites() {
        site.cluster.faults().set_latency(latency);
    }
}

fn snapshot(env: &LocalEnv) -> Vec<(String, Counters)> {
    env.sites()
        .iter()
        .map(|s| (s.name.clone(), s.cluster.faults().counters()))
        .collect()
}

fn connections_since(env: &LocalEnv, before: &[(String, Counters)]) -> Vec<ClusterConnections> {
    snapshot(env)
        .into_iter()
        .zip(before)
        .map(|((cluster, after), (_, before))| {
            let provider = after
                .connections_of(UNNAMED_CLIENT)
                .saturating_sub(before.connections_of(UNNAMED_CLIENT));
            let all = after.connections.saturating_sub(before.connections);
            ClusterConnections {
                cluster,
                connections: provider,
                other_clients: all.saturating_sub(provider),
            }
        })
        .collect()
}

/// The working directories of one size: ours and the null provider's, per Terraform.
struct SizeDirs {
    quay: Vec<Arc<Workdir>>,
    /// The same sites with TLS endpoints, for plans with no state only.
    quay_tls: Vec<Arc<Workdir>>,
    null: Vec<Arc<Workdir>>,
}

fn prepare_dirs(
    env: &LocalEnv,
    storage: &serde_json::Value,
    terraforms: &[TerraformBinary],
    size: usize,
    quay_dir: &Path,
    null_dir: &Path,
) -> Result<SizeDirs, Error> {
    let locations: Vec<String> = env.sites().iter().map(|s| s.location.clone()).collect();
    let mut dirs = SizeDirs {
        quay: Vec::new(),
        quay_tls: Vec::new(),
        null: Vec::new(),
    };
    for tf in terraforms {
        let what = format!("{size} x quay_georep_site");
        let mut vars = env.tfvars().map_err(Error::Local)?;
        vars["storage"] = storage.clone();
        let quay_dir_for = |endpoints: Endpoints| {
            let name = match endpoints {
                Endpoints::Plaintext => format!("bench-plan-quay-{size}"),
                Endpoints::Tls => format!("bench-plan-quay-tls-{size}"),
            };
            let quay = Workdir::new(tf, &name, &[DevOverride::quay(quay_dir)])
                .map_err(terraform_error("set-up", &what))?
                .with_timeout(APPLY_TIMEOUT);
            quay.write_main_tf(&quay_config(size, &locations, endpoints))
                .map_err(terraform_error("set-up", &what))?;
            let path = quay.path().join("terraform.tfvars.json");
            crate::secrets::write_private(&path, format!("{vars:#}\n").as_bytes())
                .map_err(|source| Error::Write { path, source })?;
            Ok::<_, Error>(Arc::new(quay))
        };
        let quay = quay_dir_for(Endpoints::Plaintext)?;
        let quay_tls = quay_dir_for(Endpoints::Tls)?;
        let null_override = DevOverride {
            source: NULL_SOURCE.to_owned(),
            dir: null_dir.to_owned(),
        };
        let null = Workdir::new(tf, &format!("bench-plan-null-{size}"), &[null_override])
            .map_err(terraform_error("set-up", "null"))?
            .with_timeout(APPLY_TIMEOUT);
        null.write_main_tf(&null_config(size))
            .map_err(terraform_error("set-up", "null"))?;
        dirs.quay.push(quay);
        dirs.quay_tls.push(quay_tls);
        dirs.null.push(Arc::new(null));
    }
    Ok(dirs)
}

/// The `storage` variable for up to `size` sites, each with its own location and bucket.
async fn site_storage(env: &LocalEnv, size: usize) -> Result<serde_json::Value, Error> {
    let vars = env.tfvars().map_err(Error::Local)?;
    let base = vars["storage"].as_object().cloned().unwrap_or_default();
    let clusters: Vec<String> = env.sites().iter().map(|s| s.location.clone()).collect();
    Ok(locations::storage(&base, &clusters, size).await?)
}

/// Median of `runs` plans in `dir`.
async fn plans(dir: &Arc<Workdir>, runs: usize, what: &str) -> Result<Duration, Error> {
    let dir = Arc::clone(dir);
    let what = what.to_owned();
    blocking(move || {
        let mut samples = Vec::new();
        for _ in 0..runs {
            samples.push(timed_plan(&dir, &what, &[])?.0);
        }
        Ok(median(samples))
    })
    .await
}

async fn apply_like(dir: &Arc<Workdir>, step: &'static str, what: &str) -> Result<(), Error> {
    let dir = Arc::clone(dir);
    let what = what.to_owned();
    blocking(move || {
        let outcome = match step {
            "destroy" => dir.destroy(),
            _ => dir.apply_with(&["-parallelism=1"]),
        };
        outcome
            .and_then(terraform::ApplyOutcome::require_success)
            .map(drop)
            .map_err(terraform_error(step, &what))
    })
    .await
}

/// The programs measured.
struct Programs {
    terraforms: Vec<TerraformBinary>,
    /// Holds `terraform-provider-quay`.
    quay_dir: PathBuf,
    /// Holds the wrapper that counts provider starts.
    counting_dir: PathBuf,
    /// Holds the Go null provider.
    null_dir: PathBuf,
}

/// Measures one size with every Terraform in turn (each applies and destroys its own
/// objects, as a user of that Terraform would); pushes one row per Terraform.
async fn measure_size(
    env: &LocalEnv,
    storage: &serde_json::Value,
    programs: &Programs,
    size: usize,
    runs: usize,
    report: &mut PlanReport,
) -> Result<(), Error> {
    let quay_what = format!("{size} x quay_georep_site");
    let null_what = format!("{size} x null_resource");
    let dirs = prepare_dirs(
        env,
        storage,
        &programs.terraforms,
        size,
        &programs.quay_dir,
        &programs.null_dir,
    )?;
    let per_terraform = dirs
        .quay
        .iter()
        .zip(&dirs.quay_tls)
        .zip(&dirs.null)
        .zip(&programs.terraforms);
    for (((quay, quay_tls), null), tf) in per_terraform {
        eprintln!(
            "bench plan: {size} sites, {}: plans with no state",
            tf.label()
        );
        let empty = (
            plans(quay, runs, &quay_what).await?,
            plans(null, runs, &null_what).await?,
        );
        let empty_tls = plans(quay_tls, runs, &format!("{quay_what} (TLS endpoints)")).await?;
        eprintln!("bench plan: {size} sites, {}: apply", tf.label());
        apply_like(quay, "apply", &quay_what).await?;
        apply_like(null, "apply", &null_what).await?;
        eprintln!("bench plan: {size} sites, {}: refresh plans", tf.label());
        // The latency is taken off again whatever happens: the destroy below, or the
        // backend's stop after an error, would crawl otherwise.
        set_latency(env, report.latency);
        let refreshed = async {
            let mut samples = Vec::new();
            let mut refresh_changes = Vec::new();
            let mut most: Vec<ClusterConnections> = Vec::new();
            for _ in 0..runs {
                let before = snapshot(env);
                let dir = Arc::clone(quay);
                let what = quay_what.clone();
                let (elapsed, changes) = blocking(move || timed_plan(&dir, &what, &[])).await?;
                let seen = connections_since(env, &before);
                if most.is_empty() {
                    most = seen;
                } else {
                    for (m, s) in most.iter_mut().zip(seen) {
                        m.connections = m.connections.max(s.connections);
                        m.other_clients = m.other_clients.max(s.other_clients);
                    }
                }
                if refresh_changes.is_empty() {
                    refresh_changes = changes;
                }
                samples.push(elapsed);
            }
            let null_refresh = plans(null, runs, &null_what).await?;
            let serial = serial_plan(env, quay, programs, &quay_what).await?;
            Ok::<_, Error>((samples, refresh_changes, most, null_refresh, serial))
        }
        .await;
        set_latency(env, Duration::ZERO);
        let (samples, refresh_changes, most, null_refresh, serial) = refreshed?;
        let (provider_processes, serial_connections) = serial;
        eprintln!("bench plan: {size} sites, {}: destroy", tf.label());
        apply_like(quay, "destroy", &quay_what).await?;
        apply_like(null, "destroy", &null_what).await?;
        report.rows.push(PlanRow {
            terraform: tf.label(),
            size,
            empty,
            empty_tls,
            refresh: (median(samples), null_refresh),
            refresh_changes,
            connections: most,
            serial_connections,
            provider_processes,
        });
    }
    Ok(())
}

/// One refresh plan with `-parallelism=1` through the counting wrapper: how many provider
/// processes Terraform starts, and the connections each cluster accepted when requests never
/// overlap. `dir`'s CLI config serves the real provider again afterwards.
async fn serial_plan(
    env: &LocalEnv,
    dir: &Arc<Workdir>,
    programs: &Programs,
    what: &str,
) -> Result<(usize, Vec<ClusterConnections>), Error> {
    let log = programs.counting_dir.join("starts.log");
    let _ = std::fs::remove_file(&log);
    let serve = |provider_dir: &Path| {
        Workdir::at(dir.binary(), dir.path(), &[DevOverride::quay(provider_dir)])
            .map(|d| d.with_timeout(APPLY_TIMEOUT))
            .map_err(terraform_error("set-up", what))
    };
    let counted = serve(&programs.counting_dir)?;
    let what_owned = what.to_owned();
    let before = snapshot(env);
    let planned = blocking(move || timed_plan(&counted, &what_owned, &["-parallelism=1"])).await;
    let connections = connections_since(env, &before);
    serve(&programs.quay_dir)?;
    planned?;
    let starts = std::fs::read_to_string(&log).unwrap_or_default();
    Ok((starts.lines().count(), connections))
}

/// The Terraform binaries a benchmark measures: those named with `--terraform`, else every
/// Terraform under test.
///
/// # Errors
/// A named binary cannot be probed, or no Terraform under test is found.
pub fn terraforms_to_measure(named: &[PathBuf]) -> Result<Vec<TerraformBinary>, terraform::Error> {
    if named.is_empty() {
        binaries_under_test()
    } else {
        named.iter().map(|p| TerraformBinary::probe(p)).collect()
    }
}

/// Runs the benchmark: starts the local backend, measures every size with every Terraform,
/// destroys what it applied and stops the backend.
///
/// # Errors
/// [`Error`] when a program is missing or a Terraform command fails.
pub async fn run(args: &PlanArgs) -> Result<PlanReport, Error> {
    if args.sizes.is_empty() || args.runs == 0 {
        return Err(Error::NothingToMeasure);
    }
    let (root, quay_dir) =
        terraform::repo_and_provider_dir(args.provider_dir.as_deref()).map_err(Error::Programs)?;
    let null_dir = args
        .null_provider_dir
        .clone()
        .unwrap_or_else(|| root.join(NULL_PROVIDER_DIR));
    if !null_dir.join("terraform-provider-null_v2.1.2_x4").is_file() {
        return Err(Error::NullProviderMissing { dir: null_dir });
    }
    let terraforms = terraforms_to_measure(&args.terraforms).map_err(Error::Terraforms)?;
    let state = tempfile::tempdir().map_err(|source| Error::Write {
        path: std::env::temp_dir(),
        source,
    })?;
    let programs = Programs {
        counting_dir: counting_provider_dir(state.path(), &quay_dir)?,
        terraforms,
        quay_dir,
        null_dir,
    };
    // Three clusters (the default sites); migrations fast, as only plans are timed.
    let mut opts = LocalOptions::new(state.path());
    opts.migration_time_per_revision = Duration::from_millis(1);
    let env = LocalEnv::start(&opts).await.map_err(Error::Local)?;
    let mut report = PlanReport {
        runs: args.runs,
        clusters: env.sites().len(),
        latency: Duration::from_millis(args.latency),
        rows: Vec::new(),
    };
    let mut sizes = args.sizes.clone();
    sizes.sort_unstable();
    sizes.dedup();
    // Every size's sites read the storage of the largest: its extra buckets are made once.
    let mut outcome = site_storage(&env, sizes.last().copied().unwrap_or(0)).await;
    for size in sizes {
        let Ok(storage) = &outcome else { break };
        let measured = measure_size(&env, storage, &programs, size, args.runs, &mut report).await;
        if let Err(e) = measured {
            outcome = Err(e);
        }
    }
    let stopped = env.stop().await.map_err(Error::Stop);
    outcome?;
    stopped?;
    report.rows.sort_by(|a, b| {
        let order = |t: &str| programs.terraforms.iter().position(|b| b.label() == t);
        order(&a.terraform)
            .cmp(&order(&b.terraform))
            .then(a.size.cmp(&b.size))
    });
    Ok(report)
}
