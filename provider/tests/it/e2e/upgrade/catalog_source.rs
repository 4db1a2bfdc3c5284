//! An OLM upgrade from a mirrored CatalogSource, as on a disconnected cluster, through
//! Terraform against three OLM-managed sites: with `operator { source, source_namespace }`
//! preflight reads the channel from that catalog's PackageManifest, refusing a catalog that
//! serves no package before anything is scaled down, and the upgrade moves every Subscription
//! to the mirror with the channel.

use georep_harness::local::LocalEnv;
use kube::Api;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::json;

use super::{
    OLM, assert_mentions, assert_upgraded, errors, example, registries, three_sites_at, versions,
};
use crate::e2e::for_each_terraform;

const MIRROR: &str = "cs-redhat-operator-index";
const MIRROR_NAMESPACE: &str = "openshift-marketplace";

/// Every site's operator Subscription (`spec.source`, `spec.sourceNamespace`).
fn subscription_sources(
    runtime: &tokio::runtime::Runtime,
    env: &LocalEnv,
) -> Vec<(String, String)> {
    runtime.block_on(async {
        let mut sources = Vec::new();
        for site in env.sites() {
            let client = site.cluster.client().await.unwrap();
            let (namespace, subscription) = site.operator_install();
            let gvk = GroupVersionKind::gvk("operators.coreos.com", "v1alpha1", "Subscription");
            let subs: Api<DynamicObject> = Api::namespaced_with(
                client,
                namespace,
                &ApiResource::from_gvk_with_plural(&gvk, "subscriptions"),
            );
            let sub = subs.get(subscription).await.unwrap();
            let text = |key: &str| {
                sub.data["spec"][key]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            };
            sources.push((text("source"), text("sourceNamespace")));
        }
        sources
    })
}

#[test]
fn an_olm_upgrade_reads_its_channel_from_the_mirrored_catalog_it_names() {
    let (from, to) = versions();
    for_each_terraform(|tf| {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let state = tempfile::tempdir().unwrap();
        let (env, dir) = three_sites_at(
            &runtime,
            tf,
            "upgrade_catalog_source",
            state.path(),
            from,
            true,
        );
        let before = registries(&runtime, &env);
        runtime.block_on(async {
            for site in env.sites() {
                let (namespace, _) = site.operator_install();
                site.olm
                    .as_ref()
                    .expect("the sites are OLM-managed")
                    .serve_second_catalog(namespace, MIRROR, MIRROR_NAMESPACE)
                    .await
                    .unwrap();
            }
        });
        dir.write_file("upgrade.tf", &example("upgrade", "upgrade.tf"))
            .unwrap();
        let vars = |source: &str| {
            json!({
                "target_version": to.to_string(),
                "operator_method": OLM.0,
                "operator_namespace": OLM.1,
                "operator_source": source,
                "operator_source_namespace": MIRROR_NAMESPACE,
            })
            .to_string()
        };

        // A catalog that is not there: refused at preflight, nothing scaled down.
        dir.write_file("upgrade.auto.tfvars.json", &vars("absent-index"))
            .unwrap();
        let refused = dir.apply().unwrap();
        assert_mentions(
            &errors(&refused),
            &["openshift-marketplace/absent-index", "serves no package"],
        );
        assert_eq!(
            registries(&runtime, &env),
            before,
            "the refusal changed a site"
        );

        dir.write_file("upgrade.auto.tfvars.json", &vars(MIRROR))
            .unwrap();
        let upgraded = dir.apply().unwrap();
        assert!(upgraded.succeeded(), "{:#?}", upgraded.events);
        assert_upgraded(&runtime, &env, &before, to);
        let steps = dir.output_json().unwrap()["upgrade_steps"]
            .value
            .to_string();
        assert!(
            steps.contains(&format!("of CatalogSource {MIRROR_NAMESPACE}/{MIRROR}")),
            "{steps}"
        );
        for source in subscription_sources(&runtime, &env) {
            assert_eq!(source, (MIRROR.to_owned(), MIRROR_NAMESPACE.to_owned()));
        }
        assert_eq!(env.ledger().violations(), []);
        runtime.block_on(env.stop()).unwrap();
    });
}
