//! `examples/upgrade` through the real Terraform CLI against the local backend with
//! OLM-managed operators: three sites installed one minor below the catalogue's newest Quay
//! are upgraded by one apply; every site ends on the target with its replicas and HPA
//! settings as before, the Lease released, the progress record gone, and the safety ledger
//! empty. Upgrading every operator at once instead is shown by the same ledger to be unsafe.
//!
//! The submodules:
//! - [`resume`]: Terraform and its provider killed at each step, then applied again (one
//!   test and one backend per case);
//! - [`faults`]: API faults at each step, a failing migration, a second concurrent apply
//!   (one test and one backend per case);
//! - [`deployment`]: the `deployment` operator method on the Kubernetes flavour, preflight
//!   errors that change nothing, and a changed site version planned as an upgrade again;
//! - [`channel_head`]: a minor as the target, reached at a channel head the provider never
//!   heard of.
//!
//! The long scenarios run with one Terraform binary only (the first under test): running them
//! with both would double the suite's longest tests for no coverage of the protocol that the
//! happy path and the validate tests do not already give with both.

mod catalog_source;
mod channel_head;
mod deployment;
mod faults;
mod resume;

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use georep_harness::lb::Probe;
use georep_harness::local::{LocalEnv, LocalOptions};
use georep_harness::quay::quay_registry_resource;
use georep_harness::quay::{Catalogue, QuayVersion};
use georep_harness::sim::Flavour;
use georep_harness::sim::apiserver::Faults;
use georep_harness::sim::ledger::Violation;
use georep_harness::sim::{FaultKind, FaultRule};
use georep_harness::terraform::{EventLog, PlanExit, TerraformBinary, Workdir};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

use super::{for_each_terraform, workdir};

const NAMESPACE: &str = "quay-enterprise";
const NAME: &str = "registry";
const LEASE: &str = "quay-georep-upgrade";
const PROGRESS: &str = "quay-georep-upgrade-progress";

fn example(name: &str, file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name)
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The catalogue's newest version and the one a minor below it.
fn versions() -> (QuayVersion, QuayVersion) {
    let releases = Catalogue::builtin().releases();
    let [.., from, to] = releases else {
        panic!("the catalogue lists fewer than two releases");
    };
    (from.version, to.version)
}

/// A local backend at `from` (OLM-managed operators when `olm`), with `examples/three-sites`
/// applied in a fresh working directory.
fn three_sites_at(
    runtime: &tokio::runtime::Runtime,
    tf: &TerraformBinary,
    test: &str,
    state: &Path,
    from: QuayVersion,
    olm: bool,
) -> (LocalEnv, Workdir) {
    let mut opts = LocalOptions::new(state);
    opts.quay_version = from;
    opts.olm = olm;
    three_sites(runtime, tf, test, &opts)
}

/// A local backend for one upgrade test, with `examples/three-sites` applied.
struct Backend {
    runtime: tokio::runtime::Runtime,
    /// The first Terraform under test, which applied the example.
    terraform: TerraformBinary,
    env: LocalEnv,
    dir: Workdir,
    /// The backend's state directory, removed when the test drops it.
    state: tempfile::TempDir,
}

/// Starts a backend at `from` and applies `examples/three-sites` to it in a working
/// directory named `test`, with migrations slow enough to act during one: nine revisions
/// (3.16 to 3.17) take over three seconds, time to see the primary's migration Job running.
fn slow_migration_backend(test: &str, from: QuayVersion) -> Backend {
    let terraform = georep_harness::terraform::binaries_under_test().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut opts = LocalOptions::new(state.path());
    opts.quay_version = from;
    opts.migration_time_per_revision = Duration::from_millis(400);
    let (env, dir) = three_sites(&runtime, &terraform[0], test, &opts);
    Backend {
        runtime,
        terraform: terraform[0].clone(),
        env,
        dir,
        state,
    }
}

/// Per site: the registry's `status.currentVersion` and its quay, clair, mirror and HPA
/// components as the spec holds them.
fn registries(runtime: &tokio::runtime::Runtime, env: &LocalEnv) -> Vec<(String, Value, Value)> {
    runtime.block_on(async {
        let mut out = Vec::new();
        for site in env.sites() {
            let client = site.cluster.client().await.unwrap();
            let api: Api<DynamicObject> =
                Api::namespaced_with(client, NAMESPACE, &quay_registry_resource());
            let registry = api.get(NAME).await.unwrap();
            let components: Vec<Value> = registry.data["spec"]["components"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| {
                    ["quay", "clair", "mirror", "horizontalpodautoscaler"]
                        .contains(&c["kind"].as_str().unwrap_or_default())
                })
                .cloned()
                .collect();
            out.push((
                site.name.clone(),
                registry.data["status"]["currentVersion"].clone(),
                json!(components),
            ));
        }
        out
    })
}

/// Every site runs `to` with the components of `before`, the Lease is released and the
/// progress record gone.
fn assert_upgraded(
    runtime: &tokio::runtime::Runtime,
    env: &LocalEnv,
    before: &[(String, Value, Value)],
    to: QuayVersion,
) {
    let after = registries(runtime, env);
    for ((site, version, components), (_, _, before)) in after.iter().zip(before) {
        assert_eq!(*version, json!(to.to_string()), "{site} after");
        assert_eq!(components, before, "{site}'s replicas and HPA settings");
    }
    for site in env.sites() {
        assert_eq!(site.operator.version(), to, "{} operator", site.name);
        // The pods run the operator's RELATED_IMAGE_COMPONENT_QUAY, not its QUAY_VERSION: an
        // operator upgraded in its version only would report the target and serve the old.
        let pods = site.operator.ready_quay_pods();
        assert!(
            !pods.is_empty() && pods.iter().all(|p| p.version == to),
            "{}'s quay pods do not all run {to}: {pods:#?}",
            site.name
        );
    }
    runtime.block_on(async {
        let primary = env.sites()[0].cluster.client().await.unwrap();
        let lease = Api::<Lease>::namespaced(primary.clone(), NAMESPACE)
            .get(LEASE)
            .await
            .unwrap();
        assert_eq!(lease.spec.unwrap().holder_identity, None, "Lease released");
        let progress = Api::<ConfigMap>::namespaced(primary, NAMESPACE)
            .get_opt(PROGRESS)
            .await
            .unwrap();
        assert!(progress.is_none(), "the progress record is left behind");
    });
}

#[test]
fn upgrade_takes_three_olm_sites_one_minor_up_without_an_unsafe_moment() {
    let (from, to) = versions();
    for_each_terraform(|tf| {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let state = tempfile::tempdir().unwrap();
        let (env, dir) = three_sites_at(&runtime, tf, "upgrade_olm", state.path(), from, true);
        let before = registries(&runtime, &env);
        for (site, version, _) in &before {
            assert_eq!(*version, json!(from.to_string()), "{site} before");
        }

        dir.write_file("upgrade.tf", &example("upgrade", "upgrade.tf"))
            .unwrap();
        dir.write_file(
            "upgrade.auto.tfvars.json",
            &json!({"target_version": to.to_string()}).to_string(),
        )
        .unwrap();
        // A client of the global name throughout the upgrade (see `assert_served_throughout`).
        let monitor =
            runtime.block_on(async { env.global_quay().monitor(Duration::from_millis(50)) });
        let upgraded = dir.apply().unwrap();
        assert!(upgraded.succeeded(), "{:#?}", upgraded.events);
        assert_served_throughout(&runtime.block_on(monitor.stop()), from, to);

        let outputs = dir.output_json().unwrap();
        assert_eq!(outputs["upgraded_version"].value, json!(to.to_string()));
        let steps: Vec<String> = outputs["upgrade_steps"]
            .value
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect();
        let last = steps.last().map(String::as_str).unwrap_or_default();
        assert!(
            last.ends_with(&format!("done: every site runs Quay {to}")),
            "{steps:#?}"
        );
        for site in ["us_east", "eu_west", "ap_south"] {
            assert!(
                steps
                    .iter()
                    .any(|s| s.contains("approved InstallPlan")
                        && s.contains(&format!(" on {site}/"))),
                "no approved InstallPlan for {site} in {steps:#?}"
            );
        }

        assert_upgraded(&runtime, &env, &before, to);
        assert_eq!(env.ledger().violations(), []);

        // The sites' current_version changed under them (that is the upgrade): the next plan
        // shows that as drift of the `versions` output, but changes no resource.
        let replan = dir.plan().unwrap();
        assert_eq!(
            replan.events.planned_changes().count(),
            0,
            "{:#?}",
            replan.events
        );
        let settled = dir.apply().unwrap();
        assert!(settled.succeeded(), "{:#?}", settled.events);
        assert_eq!(
            dir.output_json().unwrap()["versions"].value["eu_west"],
            json!(to.to_string())
        );
        let replan = dir.plan().unwrap();
        assert_eq!(replan.exit, PlanExit::NoChanges, "{:#?}", replan.events);
        assert_eq!(env.ledger().violations(), []);
        runtime.block_on(env.stop()).unwrap();
    });
}

/// What a client of the global Quay name saw during an upgrade from `from` to `to`: answers
/// from `from` first and from `to` at the end; once any site answered with `to`, no site
/// answered with `from` again (no old Quay served the migrated database); and one outage at
/// most, the primary's migration, when every other site is already at zero.
fn assert_served_throughout(probes: &[Probe], from: QuayVersion, to: QuayVersion) {
    let (from, to) = (from.to_string(), to.to_string());
    let versions: Vec<Option<&str>> = probes
        .iter()
        .filter(|p| p.is_answered())
        .map(|p| p.version.as_deref())
        .collect();
    assert_eq!(versions.first(), Some(&Some(from.as_str())), "{probes:#?}");
    assert_eq!(versions.last(), Some(&Some(to.as_str())), "{probes:#?}");
    let first_new = versions.iter().position(|v| *v == Some(to.as_str()));
    if let Some(first_new) = first_new {
        assert!(
            versions[first_new..]
                .iter()
                .all(|v| *v == Some(to.as_str())),
            "Quay {from} answered after {to} did: {probes:#?}"
        );
    }
    let outages = probes
        .windows(2)
        .filter(|pair| pair[0].is_answered() && !pair[1].is_answered())
        .count()
        + usize::from(probes.first().is_some_and(|p| !p.is_answered()));
    assert!(
        outages <= 1,
        "{outages} outages of the global name: {probes:#?}"
    );
}

/// Every site's operator Deployment switched to `to` at once, as an unattended OLM with
/// automatic approval would.
async fn upgrade_every_operator_at_once(env: &LocalEnv, to: QuayVersion) {
    let patches = env.sites().iter().map(|site| async move {
        let client = site.cluster.client().await.unwrap();
        let (namespace, name) = site.operator_deployment();
        let image = georep_harness::sim::olm::catalogue::operator_image(&to.to_string());
        let patch = json!({"spec": {"template": {"spec": {"containers": [{
            "name": "quay-operator", "image": image,
            "env": [{"name": "QUAY_VERSION", "value": to.to_string()}],
        }]}}}});
        Api::<Deployment>::namespaced(client, namespace)
            .patch(name, &PatchParams::default(), &Patch::Strategic(&patch))
            .await
            .unwrap();
    });
    futures_util::future::join_all(patches).await;
}

#[test]
fn upgrading_every_operator_at_once_is_caught_by_the_safety_ledger() {
    let (from, to) = versions();
    let terraform = georep_harness::terraform::binaries_under_test().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let state = tempfile::tempdir().unwrap();
    let (env, _dir) = three_sites_at(
        &runtime,
        &terraform[0],
        "upgrade_naive",
        state.path(),
        from,
        false,
    );
    assert_eq!(env.ledger().violations(), [], "unsafe before the upgrade");
    runtime.block_on(async {
        upgrade_every_operator_at_once(&env, to).await;
        // Bounded: the migrations take 50 ms per revision and the rollouts a moment.
        for _ in 0..300 {
            if !env.ledger().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let violations = env.ledger().violations();
    assert!(
        violations.iter().any(|v| matches!(
            v,
            Violation::ServingAgainstNewerSchema { .. } | Violation::ConcurrentMigrations { .. }
        )),
        "the naive upgrade left no trace: {violations:#?}"
    );
    runtime.block_on(env.stop()).unwrap();
}

// ---- shared by the submodules ----------------------------------------------------------

/// The site ids of `examples/three-sites`, primary first.
const SITES: [&str; 3] = [
    "us_east/quay-enterprise/registry",
    "eu_west/quay-enterprise/registry",
    "ap_south/quay-enterprise/registry",
];

/// The catalogue's releases from `from` on, oldest first.
fn releases_from(from: &str) -> Vec<QuayVersion> {
    let from: QuayVersion = from.parse().unwrap();
    Catalogue::builtin()
        .releases()
        .iter()
        .map(|r| r.version)
        .filter(|v| *v >= from)
        .collect()
}

/// A local backend started with `opts`, with `examples/three-sites` applied in a fresh
/// working directory.
fn three_sites(
    runtime: &tokio::runtime::Runtime,
    tf: &TerraformBinary,
    test: &str,
    opts: &LocalOptions,
) -> (LocalEnv, Workdir) {
    let env = runtime.block_on(LocalEnv::start(opts)).unwrap();
    let dir = workdir(tf, test);
    for file in ["main.tf", "variables.tf", "outputs.tf"] {
        dir.write_file(file, &example("three-sites", file)).unwrap();
    }
    if opts.flavour == Flavour::Kubernetes {
        without_routes(&dir);
    }
    env.write_tfvars(&dir.path().join("terraform.tfvars.json"))
        .unwrap();
    let applied = dir.apply().unwrap();
    assert!(applied.succeeded(), "{:#?}", applied.events);
    (env, dir)
}

/// Rewrites `examples/three-sites` for clusters without Routes: every site gets
/// `route { managed = false }` and a self-signed certificate for the global hostname.
fn without_routes(dir: &Workdir) {
    let pair =
        rcgen::generate_simple_self_signed(vec!["quay.global.example.test".to_owned()]).unwrap();
    dir.write_file("global.crt", &pair.cert.pem()).unwrap();
    dir.write_file("global.key", &pair.signing_key.serialize_pem())
        .unwrap();
    let mut main = example("three-sites", "main.tf");
    for location in ["us_east", "eu_west", "ap_south"] {
        let line = format!("  location    = \"{location}\"\n");
        assert!(main.contains(&line), "examples/three-sites has no {line:?}");
        main = main.replace(
            &line,
            &format!(
                "{line}\n  route {{\n    managed = false\n  }}\n\n  tls {{\n    \
                 certificate = file(\"global.crt\")\n    private_key = file(\"global.key\")\n  }}\n"
            ),
        );
    }
    dir.write_file("main.tf", &main).unwrap();
}

/// Points `dir` at an upgrade to `to` with `examples/upgrade`'s `upgrade.tf`, its `create`
/// and `update` timeouts set to `timeout`, and the operator `(method, namespace)`.
fn target(dir: &Workdir, to: QuayVersion, timeout: &str, operator: (&str, &str)) {
    let upgrade = example("upgrade", "upgrade.tf").replace("\"30m\"", &format!("\"{timeout}\""));
    dir.write_file("upgrade.tf", &upgrade).unwrap();
    let vars = json!({
        "target_version": to.to_string(),
        "operator_method": operator.0,
        "operator_namespace": operator.1,
    });
    dir.write_file("upgrade.auto.tfvars.json", &vars.to_string())
        .unwrap();
}

/// The OLM operator of the OpenShift flavour, as `target` takes it.
const OLM: (&str, &str) = ("olm", "openshift-operators");

/// The error diagnostics of a failed apply, summary and detail on one line each.
fn errors(outcome: &georep_harness::terraform::ApplyOutcome) -> String {
    assert!(
        !outcome.succeeded(),
        "the apply succeeded: {:#?}",
        outcome.events
    );
    error_text(&outcome.events)
}

/// The error diagnostics of `events`, summary and detail on one line each.
fn error_text(events: &EventLog) -> String {
    events
        .errors()
        .map(|d| format!("{}: {}", d.summary, d.detail))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Asserts that `text` contains every one of `needles`.
fn assert_mentions(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "{needle:?} is not in:\n{text}");
    }
}

/// A fault rule failing every `verb` on `resource` (any name) `count` times with `fault`.
fn rule(verb: &str, resource: &str, count: u32, fault: FaultKind) -> FaultRule {
    FaultRule {
        verb: Some(verb.to_owned()),
        resource: Some(resource.to_owned()),
        name: None,
        count,
        fault,
    }
}

/// A rule that fails `verb` on `resource` (named `name`, or any) until cleared: it holds the
/// upgrade at the step that needs that write.
fn hold(verb: &str, resource: &str, name: Option<&str>) -> FaultRule {
    FaultRule {
        name: name.map(str::to_owned),
        ..rule(verb, resource, u32::MAX, FaultKind::InternalError)
    }
}

/// How many requests the [`hold`] rule `rule` in `faults` has failed so far: a hold starts
/// at `u32::MAX` and counts down once per request it fails.
fn hold_hits(faults: &Faults, rule: &FaultRule) -> u32 {
    faults
        .rules()
        .iter()
        .find(|r| r.verb == rule.verb && r.resource == rule.resource && r.name == rule.name)
        .map_or(0, |r| u32::MAX - r.count)
}

/// The phase of the upgrade's progress record on the primary, if there is one.
async fn progress_phase(env: &LocalEnv) -> Option<String> {
    progress_data(env).await?.get("phase").cloned()
}

/// The progress record's data on the primary, if there is one.
async fn progress_data(env: &LocalEnv) -> Option<std::collections::BTreeMap<String, String>> {
    let client = env.sites()[0].cluster.client().await.ok()?;
    let progress = Api::<ConfigMap>::namespaced(client, NAMESPACE)
        .get_opt(PROGRESS)
        .await
        .ok()??;
    progress.data
}

/// The Lease's spec on the primary, if it exists.
async fn lease_spec(env: &LocalEnv) -> Option<Value> {
    let client = env.sites()[0].cluster.client().await.ok()?;
    let lease = Api::<Lease>::namespaced(client, NAMESPACE)
        .get_opt(LEASE)
        .await
        .ok()??;
    serde_json::to_value(lease.spec).ok()
}

/// Whether the migration Job on site `index` is running.
async fn migrating(env: &LocalEnv, index: usize) -> bool {
    let Ok(client) = env.sites()[index].cluster.client().await else {
        return false;
    };
    let job = Api::<Job>::namespaced(client, NAMESPACE)
        .get_opt("registry-quay-app-upgrade")
        .await
        .ok()
        .flatten();
    job.and_then(|j| j.status)
        .and_then(|s| s.active)
        .is_some_and(|a| a > 0)
}

/// Every secondary's managed quay, clair and mirror have `replicas: 0` and no pods run.
fn assert_secondaries_down(runtime: &tokio::runtime::Runtime, env: &LocalEnv) {
    for (site, _, components) in &registries(runtime, env)[1..] {
        for component in components.as_array().unwrap() {
            if ["quay", "clair", "mirror"].contains(&component["kind"].as_str().unwrap())
                && component["managed"] == json!(true)
            {
                assert_eq!(
                    component["overrides"]["replicas"],
                    json!(0),
                    "{site}: {component}"
                );
            }
        }
    }
    for site in &env.sites()[1..] {
        assert_eq!(site.operator.ready_quay_pods(), [], "{} serves", site.name);
    }
}

/// `terraform apply` running in its own process group, so that Terraform and the provider it
/// starts can be killed together; its output goes to `DIR/apply.log`.
struct Running {
    child: std::process::Child,
    log: std::path::PathBuf,
}

impl Running {
    fn spawn(dir: &Workdir) -> Self {
        Self::spawn_with_env(dir, &[])
    }

    /// [`Running::spawn`] with more environment variables, such as `TF_LOG_PROVIDER=info` to
    /// read the upgrade's status of every round in the output.
    fn spawn_with_env(dir: &Workdir, env: &[(&str, &str)]) -> Self {
        use std::os::unix::process::CommandExt as _;
        let log = dir.path().join("apply.log");
        let file = std::fs::File::create(&log).unwrap();
        let mut command = std::process::Command::new(&dir.binary().path);
        // The parent's TF_* settings are dropped first, as `Workdir::run` does.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("TF_") {
                command.env_remove(key);
            }
        }
        command
            // `-json` as `Workdir::apply`, so the test reads events, not screen text.
            .args(["apply", "-auto-approve", "-json", "-input=false"])
            .current_dir(dir.path())
            .env("TF_CLI_CONFIG_FILE", dir.cli_config_path())
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .envs(env.iter().copied())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .process_group(0);
        Self {
            child: command.spawn().unwrap(),
            log,
        }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls `check` every 10 ms until it holds; panics with the apply's output when the
    /// apply ends first or after a generous bound.
    fn wait_for<F, Fut>(&mut self, runtime: &tokio::runtime::Runtime, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        let reached = runtime.block_on(async {
            for _ in 0..12_000 {
                if check().await {
                    return true;
                }
                if self.child.try_wait().unwrap().is_some() {
                    return false;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            false
        });
        assert!(
            reached,
            "the apply ended or stalled before {what}:\n{}",
            self.output()
        );
    }

    /// SIGKILL to Terraform and every process it started (the provider).
    fn kill(mut self) {
        let killed = self.kill_group().unwrap();
        assert!(
            killed.success(),
            "kill of process group {} failed",
            self.child.id()
        );
        self.child.wait().unwrap();
    }

    fn kill_group(&self) -> std::io::Result<std::process::ExitStatus> {
        std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status()
    }

    /// Waits for the apply to end and returns its exit status and output.
    fn finish(mut self) -> (std::process::ExitStatus, String) {
        let status = self.child.wait().unwrap();
        (status, self.output())
    }
}

impl Drop for Running {
    /// A test that fails while the apply still runs (a wait that ran out, a failed assertion)
    /// kills it and its provider, so the test reports its failure instead of hanging in the
    /// backend's teardown behind a provider that keeps retrying.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.kill_group();
            let _ = self.child.wait();
        }
    }
}
