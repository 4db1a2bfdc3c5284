//! `examples/three-sites` through the real Terraform CLI against the local backend
//! (`georep_harness::local::LocalEnv`: shared services, three simulated OpenShift clusters and
//! Quay Operator models): apply converges every site with the same bundle and the site's own
//! storage preference first, and the safety ledger stays empty; drift (replicas scaled by
//! hand, a storage preference removed) is shown in the JSON and the human plan and restored; a
//! deleted QuayRegistry is planned again and re-created; destroy leaves no QuayRegistry and no
//! bundle Secret or namespace of ours behind; a fresh working directory imports a live site
//! with the same identity, config hash and bundle. The manifests data source is covered
//! elsewhere.

use std::path::Path;

use georep_harness::local::{LocalEnv, LocalOptions};
use georep_harness::quay::{api_resource, quay_registry_resource};
use georep_harness::sim::ledger::Violation;
use georep_harness::terraform::{Action, PlanExit};
use kube::Api;
use kube::api::{DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

use super::{for_each_terraform, workdir};

const NAMESPACE: &str = "quay-enterprise";
const NAME: &str = "registry";

fn example_dir() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/three-sites"
    ))
}

/// The `env` of the `kind` component's overrides in a QuayRegistry.
fn component<'a>(registry: &'a DynamicObject, kind: &str) -> &'a Value {
    registry.data["spec"]["components"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["kind"] == kind))
        .unwrap_or_else(|| panic!("no {kind} component in {:#}", registry.data))
}

fn preference(component: &Value) -> String {
    component["overrides"]["env"]
        .as_array()
        .and_then(|env| {
            env.iter()
                .find(|e| e["name"] == "QUAY_DISTRIBUTED_STORAGE_PREFERENCE")
        })
        .and_then(|e| e["value"].as_str())
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn three_sites_converge_stay_safe_restore_drift_and_clean_up() {
    for_each_terraform(|tf| {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let state = tempfile::tempdir().unwrap();
        let env = runtime
            .block_on(LocalEnv::start(&LocalOptions::new(state.path())))
            .unwrap();
        let dir = workdir(tf, "three_sites");
        for file in ["main.tf", "variables.tf", "outputs.tf"] {
            let text = std::fs::read_to_string(example_dir().join(file)).unwrap();
            dir.write_file(file, &text).unwrap();
        }
        env.write_tfvars(&dir.path().join("terraform.tfvars.json"))
            .unwrap();

        let applied = dir.apply().unwrap();
        assert!(applied.succeeded(), "{:#?}", applied.events);
        let outputs = dir.output_json().unwrap();
        let bundles = outputs["bundle_secrets"].value.as_object().unwrap().clone();
        let bundle = bundles["us_east"].clone();
        assert!(bundles.values().all(|b| *b == bundle), "{bundles:?}");
        for site in ["us_east", "eu_west", "ap_south"] {
            assert_eq!(
                outputs["endpoints"].value[site],
                "https://quay.global.example.test"
            );
            assert!(
                outputs["versions"].value[site].is_string(),
                "{site} has no version"
            );
        }

        runtime.block_on(async {
            let mut bundle_hashes = Vec::new();
            for site in env.sites() {
                let client = site.cluster.client().await.unwrap();
                let registries: Api<DynamicObject> =
                    Api::namespaced_with(client.clone(), NAMESPACE, &quay_registry_resource());
                let registry = registries.get(NAME).await.unwrap();
                for kind in ["quay", "mirror"] {
                    let first = preference(component(&registry, kind));
                    assert!(
                        first.split_whitespace().next() == Some(site.location.as_str()),
                        "{} {kind} prefers {first:?}",
                        site.name
                    );
                }
                let secrets: Api<k8s_openapi::api::core::v1::Secret> =
                    Api::namespaced(client.clone(), NAMESPACE);
                let secret = secrets.get(bundle.as_str().unwrap()).await.unwrap();
                bundle_hashes.push(format!("{:?}", secret.data));
                let routes: Api<DynamicObject> = Api::namespaced_with(
                    client,
                    NAMESPACE,
                    &api_resource("route.openshift.io/v1", "Route"),
                );
                let hosts: Vec<Value> = routes
                    .list(&Default::default())
                    .await
                    .unwrap()
                    .items
                    .iter()
                    .map(|r| r.data["spec"]["host"].clone())
                    .collect();
                assert!(
                    hosts.contains(&json!("quay.global.example.test")),
                    "{} routes: {hosts:?}",
                    site.name
                );
            }
            assert!(
                bundle_hashes.iter().all(|h| *h == bundle_hashes[0]),
                "bundle contents differ between sites"
            );
        });
        assert_eq!(env.ledger().violations(), []);
        let replan = dir.plan().unwrap();
        assert_eq!(replan.exit, PlanExit::NoChanges, "{:#?}", replan.events);

        // Drift: someone scales quay on eu-west by hand, and someone removes us-east's storage
        // preference from its quay component.
        let edit = |site: usize, change: fn(&mut Value)| {
            runtime.block_on(async {
                let client = env.sites()[site].cluster.client().await.unwrap();
                let registries: Api<DynamicObject> =
                    Api::namespaced_with(client, NAMESPACE, &quay_registry_resource());
                let registry = registries.get(NAME).await.unwrap();
                let mut components = registry.data["spec"]["components"].clone();
                for c in components.as_array_mut().unwrap() {
                    if c["kind"] == "quay" {
                        change(c);
                    }
                }
                let patch = json!({"spec": {"components": components}});
                registries
                    .patch(NAME, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .unwrap();
            });
        };
        edit(1, |quay| quay["overrides"]["replicas"] = json!(5));
        edit(0, |quay| quay["overrides"]["env"] = json!([]));
        let drifted = dir.plan().unwrap();
        assert_eq!(drifted.exit, PlanExit::Changes, "{:#?}", drifted.events);
        let mut updated: Vec<_> = drifted
            .events
            .planned_changes()
            .filter(|c| c.action != Action::Noop)
            .map(|c| (c.address.as_str(), c.action.clone()))
            .collect();
        updated.sort_by_key(|(address, _)| *address);
        assert_eq!(
            updated,
            [
                ("quay_georep_site.eu_west", Action::Update),
                ("quay_georep_site.us_east", Action::Update)
            ],
            "{:#?}",
            drifted.events
        );
        // The same plan as a person reads it: Terraform 1.0 crashed rendering it while the
        // sensitive Clair URI sat in a single-nested block.
        let human = dir.run(["plan", "-no-color", "-input=false"]).unwrap();
        assert!(
            human.succeeded() && !human.stdout.contains("TERRAFORM CRASH"),
            "{human:#?}"
        );
        for expected in [
            "quay_georep_site.eu_west has",
            "expected 2, found 5",
            "quay_georep_site.eu_west will be updated in-place",
            "overrides.env[QUAY_DISTRIBUTED_STORAGE_PREFERENCE]: expected",
            "quay_georep_site.us_east will be updated in-place",
        ] {
            assert!(
                human.stdout.contains(expected),
                "{expected:?} missing: {human:#?}"
            );
        }
        let restored = dir.apply().unwrap();
        assert!(restored.succeeded(), "{:#?}", restored.events);
        // While us-east ran without its preference, its pods served preferring another
        // location: the ledger may have caught that (how often depends on timing), and nothing
        // else. Later steps must add nothing.
        let by_hand = env.ledger().violations();
        assert!(
            by_hand.iter().all(|v| matches!(
                v,
                Violation::ServingWithoutOwnStoragePreference { site, .. } if site == "us-east"
            )),
            "{by_hand:#?}"
        );
        runtime.block_on(async {
            let client = env.sites()[0].cluster.client().await.unwrap();
            let registries: Api<DynamicObject> =
                Api::namespaced_with(client, NAMESPACE, &quay_registry_resource());
            let registry = registries.get(NAME).await.unwrap();
            assert!(
                preference(component(&registry, "quay")).starts_with("us_east "),
                "the preference was not restored: {:#}",
                registry.data
            );
        });
        let replan = dir.plan().unwrap();
        assert_eq!(replan.exit, PlanExit::NoChanges, "{:#?}", replan.events);

        // Someone deletes ap-south's QuayRegistry: the plan creates it again, apply restores it.
        let ap_south = &env.sites()[2];
        runtime.block_on(async {
            let client = ap_south.cluster.client().await.unwrap();
            let registries: Api<DynamicObject> =
                Api::namespaced_with(client, NAMESPACE, &quay_registry_resource());
            registries.delete(NAME, &Default::default()).await.unwrap();
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
            while registries.get_opt(NAME).await.unwrap().is_some() {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the operator kept its finalizer"
                );
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        });
        let deleted = dir.plan().unwrap();
        assert_eq!(deleted.exit, PlanExit::Changes, "{:#?}", deleted.events);
        let planned: Vec<_> = deleted
            .events
            .planned_changes()
            .filter(|c| c.action != Action::Noop)
            .collect();
        assert_eq!(planned.len(), 1, "{planned:#?}");
        assert_eq!(planned[0].address, "quay_georep_site.ap_south");
        assert_eq!(planned[0].action, Action::Create);
        let recreated = dir.apply().unwrap();
        assert!(recreated.succeeded(), "{:#?}", recreated.events);
        let outputs = dir.output_json().unwrap();
        assert!(
            outputs["versions"].value["ap_south"]
                .as_str()
                .is_some_and(|v| !v.is_empty()),
            "the re-created site reports no version"
        );
        let replan = dir.plan().unwrap();
        assert_eq!(replan.exit, PlanExit::NoChanges, "{:#?}", replan.events);

        // Import: a fresh working directory adopts the live us_east site.
        let imported_dir = workdir(tf, "three_sites_import");
        for file in ["main.tf", "variables.tf", "outputs.tf"] {
            let text = std::fs::read_to_string(example_dir().join(file)).unwrap();
            imported_dir.write_file(file, &text).unwrap();
        }
        env.write_tfvars(&imported_dir.path().join("terraform.tfvars.json"))
            .unwrap();
        let id = format!("us_east/{NAMESPACE}/{NAME}");
        let import = imported_dir
            .import("quay_georep_site.us_east", &id)
            .unwrap();
        assert!(import.succeeded(), "{}\n{}", import.stdout, import.stderr);
        let original = dir.show_json().unwrap();
        let adopted = imported_dir.show_json().unwrap();
        let before = original
            .resource_values("quay_georep_site.us_east")
            .unwrap();
        let after = adopted.resource_values("quay_georep_site.us_east").unwrap();
        for attribute in [
            "id",
            "location",
            "namespace",
            "config_hash",
            "bundle_secret_name",
            "current_version",
        ] {
            assert_eq!(after[attribute], before[attribute], "imported {attribute}");
        }

        let destroyed = dir.destroy().unwrap();
        assert!(destroyed.succeeded(), "{:#?}", destroyed.events);
        runtime.block_on(async {
            for site in env.sites() {
                let client = site.cluster.client().await.unwrap();
                let secrets: Api<DynamicObject> = Api::all_with(
                    client,
                    &kube::api::ApiResource::erase::<k8s_openapi::api::core::v1::Secret>(&()),
                );
                let ours = secrets
                    .list(
                        &kube::api::ListParams::default()
                            .labels("app.kubernetes.io/managed-by=terraform-provider-quay"),
                    )
                    .await
                    .unwrap()
                    .items;
                assert!(
                    ours.is_empty(),
                    "{} keeps {} bundle Secrets",
                    site.name,
                    ours.len()
                );
            }
        });
        runtime.block_on(async {
            for site in env.sites() {
                let client = site.cluster.client().await.unwrap();
                let registries: Api<DynamicObject> =
                    Api::all_with(client.clone(), &quay_registry_resource());
                let left = registries.list(&Default::default()).await.unwrap().items;
                assert!(
                    left.is_empty(),
                    "{} keeps {} registries",
                    site.name,
                    left.len()
                );
                // Each site created the namespace, ap-south's again after its registry was
                // deleted outside Terraform: destroy removes every one.
                let namespaces: Api<DynamicObject> =
                    Api::all_with(client, &api_resource("v1", "Namespace"));
                assert!(
                    namespaces.get_opt(NAMESPACE).await.unwrap().is_none(),
                    "{} keeps namespace {NAMESPACE}",
                    site.name
                );
            }
        });
        assert_eq!(env.ledger().violations(), by_hand);
        runtime.block_on(env.stop()).unwrap();
    });
}
