//! A site created where the operator recomputes `Available` only when the `QuayRegistry`
//! changes (its status controller's once-a-minute resync made to never come): the create's
//! wait, seeing only a stale `Available` left, asks for a fresh one and settles.

use std::time::Duration;

use georep_harness::quay::quay_registry_resource;
use georep_harness::sim::Flavour;
use kube::Api;
use kube::api::DynamicObject;

use super::for_each_terraform;
use super::local_backend::{LocalRun, one_site_tf};

fn main_tf() -> String {
    one_site_tf(
        r#"  timeouts {
    create = "2m"
  }
"#,
    )
}

#[test]
fn a_site_settles_though_its_available_was_computed_before_its_pods_were_ready() {
    for_each_terraform(|tf| {
        let local = LocalRun::start_with(&["us-east"], Flavour::Openshift, |options| {
            options.status_interval = Duration::from_secs(3600);
            // The status written with currentVersion then finds no pod ready yet.
            options.pod_start_delay = Duration::from_secs(2);
        });
        let (runtime, env) = (&local.runtime, &local.env);
        let dir = local.workdir(tf, "stale_status");
        dir.write_main_tf(&main_tf()).unwrap();
        let applied = dir.apply().unwrap();
        assert!(applied.succeeded(), "{:#?}", applied.events);
        let client = runtime.block_on(env.sites()[0].cluster.client()).unwrap();
        let registry = runtime
            .block_on(async {
                Api::<DynamicObject>::namespaced_with(
                    client,
                    "quay-enterprise",
                    &quay_registry_resource(),
                )
                .get("registry")
                .await
            })
            .unwrap();
        assert!(
            registry
                .metadata
                .annotations
                .unwrap_or_default()
                .contains_key("quay-georep/status-requested-at"),
            "the wait settled without asking for a fresh status: was Available ever stale?"
        );
        assert_eq!(env.ledger().violations(), []);
        local.stop();
    });
}
