//! An upgrade to a minor whose OLM channel has moved on to a patch the provider never heard
//! of, through Terraform against three OLM-managed sites: with `target_version = "<minor>"`
//! every site ends at the channel's head, state keeps `target_version` as written, and the
//! next plan is empty.
//!
//! A real channel's head moves with every patch release (the simulated OLM publishes one with
//! `OlmModel::publish`), so the provider's built-in catalogue cannot be what it installs.

use std::time::Duration;

use georep_harness::local::LocalEnv;
use georep_harness::quay::QuayVersion;
use georep_harness::sim::olm::catalogue::{Entry, PACKAGE};
use georep_harness::terraform::PlanExit;
use kube::Api;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::json;

use super::{OLM, assert_upgraded, example, registries, three_sites_at, versions};
use crate::e2e::for_each_terraform;

/// The upgrade resource's address in `examples/upgrade`.
const UPGRADE: &str = "quay_georep_upgrade.all[0]";

/// Publishes `head` as the new head of `channel` on every site's OLM, and waits until each
/// site's PackageManifest (what preflight reads) shows it.
fn publish_everywhere(
    runtime: &tokio::runtime::Runtime,
    env: &LocalEnv,
    channel: &str,
    head: QuayVersion,
) {
    for site in env.sites() {
        site.olm
            .as_ref()
            .expect("the sites are OLM-managed")
            .publish(channel, Entry::release(&head.to_string()))
            .unwrap();
    }
    let wanted = json!(format!("quay-operator.v{head}"));
    runtime.block_on(async {
        for site in env.sites() {
            let client = site.cluster.client().await.unwrap();
            let (namespace, _) = site.operator_install();
            let gvk =
                GroupVersionKind::gvk("packages.operators.coreos.com", "v1", "PackageManifest");
            let manifests: Api<DynamicObject> = Api::namespaced_with(
                client,
                namespace,
                &ApiResource::from_gvk_with_plural(&gvk, "packagemanifests"),
            );
            // Bounded: the OLM controllers look again every half second.
            let mut shown = None;
            for _ in 0..200 {
                shown = manifests.get_opt(PACKAGE).await.unwrap().and_then(|m| {
                    m.data["status"]["channels"]
                        .as_array()?
                        .iter()
                        .find(|c| c["name"] == channel)
                        .map(|c| c["currentCSV"].clone())
                });
                if shown.as_ref() == Some(&wanted) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert_eq!(
                shown.as_ref(),
                Some(&wanted),
                "{}'s PackageManifest",
                site.name
            );
        }
    });
}

#[test]
fn a_minor_target_upgrades_every_olm_site_to_a_channel_head_the_provider_never_heard_of() {
    let (from, known) = versions();
    let minor = format!("{}.{}", known.major, known.minor);
    let head = QuayVersion::new(known.major, known.minor, known.patch + 7);
    assert!(
        terraform_provider_quay::georep::upgrade::catalogue()
            .release(head.to_string().parse().unwrap())
            .is_err(),
        "the provider must not know {head}"
    );
    for_each_terraform(|tf| {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let state = tempfile::tempdir().unwrap();
        let (env, dir) = three_sites_at(
            &runtime,
            tf,
            "upgrade_channel_head",
            state.path(),
            from,
            true,
        );
        let before = registries(&runtime, &env);
        publish_everywhere(&runtime, &env, &format!("stable-{minor}"), head);

        dir.write_file("upgrade.tf", &example("upgrade", "upgrade.tf"))
            .unwrap();
        let vars = json!({
            "target_version": minor,
            "operator_method": OLM.0,
            "operator_namespace": OLM.1,
        });
        dir.write_file("upgrade.auto.tfvars.json", &vars.to_string())
            .unwrap();
        let upgraded = dir.apply().unwrap();
        assert!(upgraded.succeeded(), "{:#?}", upgraded.events);

        assert_upgraded(&runtime, &env, &before, head);
        let outputs = dir.output_json().unwrap();
        assert_eq!(outputs["upgraded_version"].value, json!(head.to_string()));
        let steps = outputs["upgrade_steps"].value.to_string();
        assert!(
            steps.contains(&format!("(quay-operator.v{head}) on us_east/")),
            "no InstallPlan for {head} approved on the primary: {steps}"
        );
        let state = dir.show_json().unwrap();
        let upgrade = state.resource_values(UPGRADE).unwrap();
        assert_eq!(
            upgrade["target_version"],
            json!(minor),
            "state keeps target_version as written"
        );
        assert_eq!(upgrade["completed_version"], json!(head.to_string()));
        assert_eq!(env.ledger().violations(), []);

        // As after any upgrade, the sites' current_version changed under them: the next plan
        // changes no resource (it shows the `versions` output's drift), and once that is
        // applied the plan is empty.
        let replan = dir.plan().unwrap();
        assert_eq!(
            replan.events.planned_changes().count(),
            0,
            "{:#?}",
            replan.events
        );
        let settled = dir.apply().unwrap();
        assert!(settled.succeeded(), "{:#?}", settled.events);
        let replan = dir.plan().unwrap();
        assert_eq!(replan.exit, PlanExit::NoChanges, "{:#?}", replan.events);
        assert_eq!(env.ledger().violations(), []);
        runtime.block_on(env.stop()).unwrap();
    });
}
