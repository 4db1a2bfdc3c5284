//! `examples/upgrade` through the real Terraform CLI against the local backend, where it
//! is not one of the conformance suite's scenarios (`georep_harness::conformance`, run by
//! `tests/it/conformance.rs`: the upgrade itself, its refusals, kills and API faults are
//! there, written against a target rather than the simulator):
//! - upgrading every operator at once is shown by the safety ledger to be unsafe (the
//!   control that the ledger the scenarios rely on catches an unsafe upgrade);
//! - [`deployment`]: the `deployment` operator method on the Kubernetes flavour, and a
//!   changed site version planned as an upgrade again;
//! - [`channel_head`]: a minor as the target, reached at a channel head the provider never
//!   heard of (only the simulated OLM can publish one).

mod catalog_source;
mod channel_head;
mod deployment;

use std::path::Path;
use std::time::Duration;

use georep_harness::local::{LocalEnv, LocalOptions};
use georep_harness::quay::quay_registry_resource;
use georep_harness::quay::{Catalogue, QuayVersion};
use georep_harness::sim::Flavour;
use georep_harness::sim::ledger::Violation;
use georep_harness::sim::{FaultKind, FaultRule};
use georep_harness::terraform::{TerraformBinary, Workdir};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

use super::workdir;

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
    // The example's Kubernetes form: an unmanaged route and the `tls` block, here with the
    // certificate for the global hostname.
    let example_main = example("three-sites", "main.tf");
    for needle in [
        "managed = var.platform == \"openshift\"",
        "for_each = var.tls_certificate == null ? [] : [1]",
    ] {
        assert!(
            example_main.contains(needle),
            "examples/three-sites has no {needle:?}"
        );
    }
    let main = example_main
        .replace("managed = var.platform == \"openshift\"", "managed = false")
        .replace(
            "for_each = var.tls_certificate == null ? [] : [1]",
            "for_each = [1]",
        )
        .replace("var.tls_certificate", "file(\"global.crt\")")
        .replace("var.tls_private_key", "file(\"global.key\")");
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
    outcome
        .events
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

/// A rule that fails `verb` on `resource` until cleared: it holds the
/// operator model from writing back what a test wrote.
fn hold(verb: &str, resource: &str) -> FaultRule {
    FaultRule {
        verb: Some(verb.to_owned()),
        resource: Some(resource.to_owned()),
        name: None,
        count: u32::MAX,
        fault: FaultKind::InternalError,
    }
}
