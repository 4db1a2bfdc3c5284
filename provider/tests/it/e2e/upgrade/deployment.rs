//! The `deployment` operator method through Terraform on the Kubernetes flavour, where the
//! Quay Operator is a plain Deployment upgraded by its image, on one local backend (the
//! conformance suite's local backend is OpenShift with OLM; its `UPGRADE-*` scenarios cover
//! preflight refusals with either method):
//! - the happy path upgrades three sites, every operator image set in `steps`;
//! - a site whose version changes under the finished upgrade makes the plan show the upgrade
//!   again, and stops doing so once it is back.

use std::time::Duration;

use georep_harness::local::{LocalEnv, LocalOptions};
use georep_harness::quay::quay_registry_resource;
use georep_harness::sim::Flavour;
use georep_harness::terraform::{Action, binaries_under_test};
use kube::Api;
use kube::api::{DynamicObject, PostParams};
use serde_json::{Value, json};

use super::{NAMESPACE, assert_upgraded, hold, registries, releases_from, target, three_sites};

/// The operator of the Kubernetes flavour, as `target` takes it.
const KUBERNETES: (&str, &str) = ("deployment", "quay-operator");

/// The upgrade resource's address in `examples/upgrade`.
const UPGRADE: &str = "quay_georep_upgrade.all[0]";

/// One test on one backend on purpose: the drift check needs the upgraded sites and the
/// finished upgrade in state.
#[test]
fn deployment_operators_upgrade_on_kubernetes_and_a_changed_site_version_is_planned_again() {
    let chain = releases_from("3.15.7");
    let [from, next, ..] = chain[1..] else {
        panic!("too few releases: {chain:?}");
    };
    let terraform = binaries_under_test().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut opts = LocalOptions::new(state.path());
    opts.flavour = Flavour::Kubernetes;
    opts.quay_version = from;
    let (env, dir) = three_sites(&runtime, &terraform[0], "upgrade_deployment", &opts);
    let before = registries(&runtime, &env);

    target(&dir, next, "30m", KUBERNETES);
    let upgraded = dir.apply().unwrap();
    assert!(upgraded.succeeded(), "{:#?}", upgraded.events);
    let steps = dir.output_json().unwrap()["upgrade_steps"].value.clone();
    for site in ["us_east", "eu_west", "ap_south"] {
        let image = format!("set the operator image of {site}/quay-enterprise/registry to ");
        assert!(
            steps.as_array().unwrap().iter().any(|s| {
                let s = s.as_str().unwrap();
                s.contains(&image) && s.ends_with(&next.to_string())
            }),
            "no {image:?}... {next} in {steps:#}"
        );
    }
    assert_upgraded(&runtime, &env, &before, next);
    assert_eq!(env.ledger().violations(), []);

    // A site reporting another version (its operator kept from correcting it) is an
    // upgrade to do again; back on the target, it is not.
    let status = set_registry_status(&runtime, &env, 1, |status| {
        status["currentVersion"] = json!(from.to_string());
    });
    let plan = dir.plan().unwrap();
    assert!(
        plan.events
            .planned_changes()
            .any(|c| c.address == UPGRADE && c.action == Action::Update),
        "{:#?}",
        plan.events
    );
    release_registry_status(
        &runtime,
        &env,
        1,
        &status,
        "currentVersion",
        &json!(next.to_string()),
    );
    let plan = dir.plan().unwrap();
    assert!(
        !plan.events.planned_changes().any(|c| c.address == UPGRADE),
        "{:#?}",
        plan.events
    );
    runtime.block_on(env.stop()).unwrap();
}

fn registry_api(
    runtime: &tokio::runtime::Runtime,
    env: &LocalEnv,
    index: usize,
) -> Api<DynamicObject> {
    let client = runtime
        .block_on(env.sites()[index].cluster.client())
        .unwrap();
    Api::namespaced_with(client, NAMESPACE, &quay_registry_resource())
}

/// Rewrites site `index`'s `QuayRegistry` status with `edit` while its operator model is
/// kept from writing it back (its status patches fail); returns the status written.
fn set_registry_status(
    runtime: &tokio::runtime::Runtime,
    env: &LocalEnv,
    index: usize,
    edit: impl FnOnce(&mut Value),
) -> Value {
    env.sites()[index]
        .cluster
        .faults()
        .inject(hold("patch", "quayregistries"));
    let api = registry_api(runtime, env, index);
    runtime.block_on(async {
        let mut registry = api.get("registry").await.unwrap();
        edit(&mut registry.data["status"]);
        let written = api
            .replace_status("registry", &PostParams::default(), &registry)
            .await
            .unwrap();
        written.data["status"].clone()
    })
}

/// Lets site `index`'s operator model write its status again and waits until `field` of it
/// is `value` (the operator's own word again).
fn release_registry_status(
    runtime: &tokio::runtime::Runtime,
    env: &LocalEnv,
    index: usize,
    written: &Value,
    field: &str,
    value: &Value,
) {
    env.sites()[index].cluster.faults().clear();
    let api = registry_api(runtime, env, index);
    runtime.block_on(async {
        // Bounded: the operator model retries a failed reconcile after half a second.
        for _ in 0..600 {
            let status = api.get("registry").await.unwrap().data["status"].clone();
            let current = if field == "currentVersion" {
                status[field].clone()
            } else {
                status["conditions"]
                    .as_array()
                    .and_then(|c| c.iter().find(|c| c["type"] == field))
                    .map_or(Value::Null, |c| c["status"].clone())
            };
            if status != *written && current == *value {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the operator model never wrote {field} = {value} back");
    });
}
