//! Tests of `quay_georep_upgrade`'s plan: the predicted steps as a warning, and what stays unknown.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::tests::set;
use super::*;
use crate::cluster::{ClusterSpec, Clusters, KubeconfigSource};

#[tokio::test]
async fn a_plan_that_upgrades_warns_with_the_predicted_steps_and_leaves_steps_unknown() {
    let missing = KubeconfigSource::Path("/nonexistent/georep/kubeconfig".into());
    let clusters = ["us_east", "eu_west"]
        .into_iter()
        .map(|key| {
            let spec = ClusterSpec {
                kubeconfig: missing.clone(),
                context: None,
            };
            (key.to_owned(), spec)
        })
        .collect::<BTreeMap<_, _>>();
    let data = ProviderData {
        clusters: Arc::new(Clusters::new(clusters)),
        ..ProviderData::default()
    };
    let config = tests_config();
    let mut planned = config.clone();
    let request = PlanRequest {
        prior: &Value::Null,
        config: &config,
        planned: &mut planned,
        stop: &StopToken::never(),
    };
    let mut diags = Diagnostics::default();
    GeoRepUpgradeResource
        .modify_plan(Some(&data), request, &mut diags)
        .await;
    // Known here, the applied steps (with their times) could never equal it.
    assert_eq!(planned.get("steps"), Some(&Value::Unknown));
    let warning = format!("{diags:?}");
    assert!(
        warning.contains(UPGRADE_PLANNED) && warning.contains("1. "),
        "{diags:?}"
    );
    assert_eq!(diags.errors().count(), 0, "{diags:?}");
}

#[tokio::test]
async fn a_changed_argument_plans_new_steps_even_when_every_site_runs_the_target() {
    let config = tests_config();
    let mut prior = finished_at_3_15_7(&config);
    set(&mut prior, "lease_duration", Value::string("5m"));
    let mut planned = prior.clone();
    set(&mut planned, "lease_duration", Value::Null);
    let planned = plan_without_provider_data(&prior, &config, planned).await;
    // Update runs the loop, whose steps and status differ from the prior ones.
    assert_eq!(planned.get("steps"), Some(&Value::Unknown));
    assert_eq!(planned.get("status"), Some(&Value::Unknown));
}

#[tokio::test]
async fn a_finished_upgrade_to_a_v_prefixed_target_plans_nothing() {
    let mut config = tests_config();
    set(&mut config, "target_version", Value::string("v3.15.7"));
    let prior = finished_at_3_15_7(&config);
    let planned = plan_without_provider_data(&prior, &config, prior.clone()).await;
    assert_eq!(planned, prior);
}

/// The state an upgrade to 3.15.7 with `config` leaves behind.
fn finished_at_3_15_7(config: &Value) -> Value {
    let mut prior = config.clone();
    for (name, value) in [
        ("id", Value::string("us_east/quay/registry")),
        ("completed_version", Value::string("3.15.7")),
        ("steps", Value::List(vec![Value::string("earlier")])),
        ("status", Value::string("every site runs Quay 3.15.7")),
    ] {
        set(&mut prior, name, value);
    }
    prior
}

/// `planned` as `modify_plan` leaves it for an update from `prior` to `config`, before
/// the provider is configured (no clusters to look at).
async fn plan_without_provider_data(prior: &Value, config: &Value, mut planned: Value) -> Value {
    let request = PlanRequest {
        prior,
        config,
        planned: &mut planned,
        stop: &StopToken::never(),
    };
    let mut diags = Diagnostics::default();
    GeoRepUpgradeResource
        .modify_plan(None, request, &mut diags)
        .await;
    planned
}

fn tests_config() -> Value {
    let operator = Value::object([
        ("method", Value::string("olm")),
        ("namespace", Value::string("openshift-operators")),
        ("name", Value::string("quay-operator")),
        ("channel", Value::Null),
        ("image", Value::Null),
    ]);
    Value::object([
        (
            "sites",
            Value::List(vec![
                Value::string("us_east/quay/registry"),
                Value::string("eu_west/quay/registry"),
            ]),
        ),
        ("primary", Value::Null),
        ("target_version", Value::string("3.15.7")),
        ("lease_duration", Value::Null),
        ("operator", operator),
        ("timeouts", Value::Null),
        ("id", Value::Null),
        ("completed_version", Value::Null),
        ("steps", Value::Null),
        ("status", Value::Null),
    ])
}
