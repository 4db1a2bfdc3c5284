//! `examples/upgrade` through the real Terraform CLI against the local backend with
//! OLM-managed operators: three sites installed one minor below the catalogue's newest Quay
//! are upgraded by one apply; every site ends on the target with its replicas and HPA
//! settings as before, the Lease released, the progress record gone, and the safety ledger
//! empty. Upgrading every operator at once instead is shown by the same ledger to be unsafe.
//!
//! A Terraform killed (with its provider) mid-upgrade is resumed by the next apply; that test
//! once showed a real unsafe moment: the resumed apply let `quay_georep_site` restore the
//! secondaries' replicas before the upgrade resumed; sites held for an upgrade are now left alone.
//!
//! Not covered here: the `deployment` method through Terraform (see `tests/it/upgrade.rs`).

use std::path::Path;
use std::time::Duration;

use georep_harness::local::{LocalEnv, LocalOptions};
use georep_harness::sim::ledger::Violation;
use georep_harness::sim::operator::catalogue::{Catalogue, QuayVersion};
use georep_harness::sim::operator::quay_registry_resource;
use georep_harness::terraform::{PlanExit, TerraformBinary, Workdir};
use k8s_openapi::api::apps::v1::Deployment;
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
    let env = runtime.block_on(LocalEnv::start(&opts)).unwrap();
    let dir = workdir(tf, test);
    for file in ["main.tf", "variables.tf", "outputs.tf"] {
        dir.write_file(file, &example("three-sites", file)).unwrap();
    }
    env.write_tfvars(&dir.path().join("terraform.tfvars.json"))
        .unwrap();
    let applied = dir.apply().unwrap();
    assert!(applied.succeeded(), "{:#?}", applied.events);
    (env, dir)
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
        let upgraded = dir.apply().unwrap();
        assert!(upgraded.succeeded(), "{:#?}", upgraded.events);

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

/// Every site's operator Deployment switched to `to` at once, as an unattended OLM with
/// automatic approval would.
async fn upgrade_every_operator_at_once(env: &LocalEnv, to: QuayVersion) {
    let patches = env.sites().iter().map(|site| async move {
        let client = site.cluster.client().await.unwrap();
        let (namespace, name) = site.operator_install();
        let image = format!("quay.io/projectquay/quay-operator:{}", to.image_tag());
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

/// The phase of the upgrade's progress record on the primary, if there is one.
async fn progress_phase(env: &LocalEnv) -> Option<String> {
    let client = env.sites()[0].cluster.client().await.ok()?;
    let progress = Api::<ConfigMap>::namespaced(client, NAMESPACE)
        .get_opt(PROGRESS)
        .await
        .ok()??;
    progress.data?.get("phase").cloned()
}

/// `terraform apply` in `dir` in its own process group, so Terraform and the provider it
/// starts can be killed together; its output goes to `DIR/apply.log`.
fn spawn_apply(dir: &Workdir) -> std::process::Child {
    use std::os::unix::process::CommandExt as _;
    let log = std::fs::File::create(dir.path().join("apply.log")).unwrap();
    let mut command = std::process::Command::new(&dir.binary().path);
    // The parent's TF_* settings are dropped first, as `Workdir::run` does.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("TF_") {
            command.env_remove(key);
        }
    }
    command
        .args(["apply", "-auto-approve", "-input=false", "-no-color"])
        .current_dir(dir.path())
        .env("TF_CLI_CONFIG_FILE", dir.cli_config_path())
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_IN_AUTOMATION", "1")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .process_group(0);
    command.spawn().unwrap()
}

#[test]
fn an_upgrade_killed_after_the_primary_migrated_completes_on_the_next_apply() {
    let (from, to) = versions();
    let terraform = georep_harness::terraform::binaries_under_test().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let state = tempfile::tempdir().unwrap();
    let (env, dir) = three_sites_at(
        &runtime,
        &terraform[0],
        "upgrade_killed",
        state.path(),
        from,
        true,
    );
    let before = registries(&runtime, &env);
    dir.write_file("upgrade.tf", &example("upgrade", "upgrade.tf"))
        .unwrap();
    dir.write_file(
        "upgrade.auto.tfvars.json",
        &json!({"target_version": to.to_string()}).to_string(),
    )
    .unwrap();

    let mut apply = spawn_apply(&dir);
    let group = apply.id();
    let killed_at = runtime.block_on(async {
        // Bounded: the whole upgrade takes seconds on the local backend.
        for _ in 0..3000 {
            let phase = progress_phase(&env).await;
            if matches!(
                phase.as_deref(),
                Some("wait-primary-migrated" | "upgrade-secondary-operators")
            ) {
                return phase;
            }
            if apply.try_wait().unwrap().is_some() {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        None
    });
    let killed = std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{group}")])
        .status()
        .unwrap();
    let status = apply.wait().unwrap();
    let phase = killed_at.unwrap_or_else(|| {
        let log = std::fs::read_to_string(dir.path().join("apply.log")).unwrap_or_default();
        panic!("apply ended ({status}) before the primary's operator was upgraded:\n{log}")
    });
    assert!(killed.success(), "kill of process group {group} failed");
    assert!(
        runtime.block_on(progress_phase(&env)).is_some(),
        "killed in phase {phase}, yet no progress record is left to resume from"
    );

    let resumed = dir.apply().unwrap();
    assert!(resumed.succeeded(), "{:#?}", resumed.events);
    assert_eq!(
        dir.output_json().unwrap()["upgraded_version"].value,
        json!(to.to_string())
    );
    assert_upgraded(&runtime, &env, &before, to);
    assert_eq!(env.ledger().violations(), []);
    runtime.block_on(env.stop()).unwrap();
}
