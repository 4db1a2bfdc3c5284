//! Tests of reading what the clusters show.

use serde_json::json;

use super::*;

#[test]
fn registry_components_and_hpa_are_read_from_the_spec() {
    let qr = json!({
        "metadata": {"generation": 4},
        "spec": {"components": [
            {"kind": "quay", "managed": true, "overrides": {"replicas": 3}},
            {"kind": "clair", "managed": false},
            {"kind": "mirror", "managed": true},
            {"kind": "horizontalpodautoscaler", "managed": false},
        ]},
        "status": {"currentVersion": "3.14.0", "observedGeneration": 4,
                   "conditions": [{"type": "Available", "status": "True", "reason": "HealthChecksPassing"}]},
    });
    let state = registry_state(&qr);
    assert_eq!(state.registry.current_version.as_deref(), Some("3.14.0"));
    assert!(!state.hpa_managed);
    assert_eq!(state.components[&Component::Quay].replicas, Some(3));
    assert!(!state.components[&Component::Clair].managed);
    assert_eq!(state.components[&Component::Mirror].replicas, None);
    assert!(state.registry.is_available());
    assert!(state.registry.is_generation_observed());
}

#[test]
fn finished_pods_do_not_count_as_running() {
    let pod = |component: &str, phase: &str| json!({"metadata": {"labels": {COMPONENT_LABEL: component}}, "status": {"phase": phase}});
    let counts = pod_counts(&[
        pod("quay-app", "Running"),
        pod("quay-app", "Pending"),
        pod("quay-mirror", "Succeeded"),
        pod("clair-app", "Running"),
        pod("quay-database", "Running"),
    ]);
    assert_eq!(counts.get(&Component::Quay), Some(&2));
    assert_eq!(counts.get(&Component::Mirror), None);
    assert_eq!(counts.get(&Component::Clair), Some(&1));
}

#[test]
fn a_failed_migration_job_carries_its_message() {
    let job = json!({"metadata": {"name": "r-quay-app-upgrade"},
        "status": {"failed": 6, "conditions": [{"type": "Failed", "status": "True", "message": "alembic: Can't locate revision"}]}});
    let seen = job_observation(&job, &[], None);
    assert_eq!(
        seen.state,
        JobState::Failed {
            message: "alembic: Can't locate revision".into()
        }
    );
    let running = job_observation(
        &json!({"metadata": {"name": "j"}, "status": {"active": 1}}),
        &[],
        None,
    );
    assert_eq!(running.state, JobState::Active);
}

#[test]
fn a_job_that_gave_up_quotes_its_pod_for_the_cause() {
    let job = json!({"metadata": {"name": "r-quay-app-upgrade"},
        "status": {"failed": 1, "conditions": [{"type": "Failed", "status": "True",
            "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]}});
    let seen = job_observation(
        &job,
        &[],
        Some("Can't locate revision identified by 'ffff'"),
    );
    assert_eq!(
        seen.state,
        JobState::Failed {
            message: "Job has reached the specified backoff limit; the migration pod said: \
                      Can't locate revision identified by 'ffff'"
                .into()
        }
    );
}

#[test]
fn config_hash_matches_the_site_resource() {
    let yaml = "SERVER_HOSTNAME: quay.example.com\n";
    let secret =
        json!({"data": {"config.yaml": base64::engine::general_purpose::STANDARD.encode(yaml)}});
    let expected = format!("sha256:{}", hex::encode(Sha256::digest(yaml.as_bytes())));
    assert_eq!(config_hash(&secret), Some(expected));
}

#[test]
fn olm_operator_reads_channel_approval_plans_and_installed_version() {
    let sub = json!({"spec": {"channel": "stable-3.14", "installPlanApproval": "Manual"},
                     "status": {"installedCSV": "quay-operator.v3.14.0"}});
    let plans = [
        json!({"metadata": {"name": "install-a"}, "spec": {"approved": false, "clusterServiceVersionNames": ["quay-operator.v3.14.8"]}}),
        json!({"metadata": {"name": "install-b"}, "spec": {"approved": false, "clusterServiceVersionNames": ["other.v1"]}}),
    ];
    let op = olm_operator(&sub, &plans, None);
    assert_eq!(op.quay_version.as_deref(), Some("3.14.0"));
    assert_eq!(op.approval, Some(Approval::Manual));
    assert_eq!(op.install_plans.len(), 1);
    assert_eq!(op.install_plans[0].name, "install-a");
    let auto = olm_operator(&json!({"spec": {"channel": "c"}}), &[], None);
    assert_eq!(auto.approval, Some(Approval::Automatic));
}

#[test]
fn channel_offer_is_the_head_of_the_channel_in_the_subscriptions_catalog() {
    let sub = json!({"spec": {"name": "quay-operator", "source": "redhat-operators",
                              "sourceNamespace": "openshift-marketplace"}});
    let own = subscription_source(&sub);
    let manifest = json!({"metadata": {"name": "quay-operator"}, "status": {
    "packageName": "quay-operator",
    "channels": [
        {"name": "stable-3.17", "currentCSV": "quay-operator.v3.17.6",
         "currentCSVDesc": {"version": "3.17.6"}},
        {"name": "stable-3.18", "currentCSV": "quay-operator.v3.18.1",
         "currentCSVDesc": {"version": "3.18.1"}},
    ]}});
    assert_eq!(
        channel_offer(&sub, std::slice::from_ref(&manifest), "stable-3.17", &own),
        ChannelOffer::Head {
            csv: "quay-operator.v3.17.6".into(),
            version: "3.17.6".into()
        }
    );
    assert_eq!(
        channel_offer(&sub, std::slice::from_ref(&manifest), "stable-3.19", &own),
        ChannelOffer::NoChannel {
            channel: "stable-3.19".into(),
            channels: vec!["stable-3.17".into(), "stable-3.18".into()]
        }
    );
    assert!(matches!(
        channel_offer(&sub, &[], "stable-3.17", &own),
        ChannelOffer::NoPackage { catalog, .. } if catalog == "openshift-marketplace/redhat-operators"
    ));
    // A mirrored catalog the request names is the one a missing package is reported for.
    let mirror = CatalogSourceRef {
        name: "cs-redhat-operator-index".into(),
        namespace: "olm-mirror".into(),
    };
    assert!(matches!(
        channel_offer(&sub, &[], "stable-3.17", &mirror),
        ChannelOffer::NoPackage { catalog, .. } if catalog == "olm-mirror/cs-redhat-operator-index"
    ));
}

#[test]
fn the_subscriptions_catalog_is_observed_when_both_names_are_set() {
    let sub = json!({"spec": {"channel": "c", "source": "cs-mirror",
                              "sourceNamespace": "olm-mirror"}});
    let op = olm_operator(&sub, &[], None);
    assert_eq!(
        op.subscription_source.map(|c| c.to_string()).as_deref(),
        Some("olm-mirror/cs-mirror")
    );
    let bare = olm_operator(&json!({"spec": {"channel": "c"}}), &[], None);
    assert_eq!(bare.subscription_source, None);
}

#[test]
fn other_operators_pending_upgrades_are_their_current_csvs_not_installed_yet() {
    let subs = [
        json!({"metadata": {"name": "quay-operator"},
               "status": {"installedCSV": "quay-operator.v3.14.0", "currentCSV": "quay-operator.v3.14.8"}}),
        json!({"metadata": {"name": "etcd"},
               "status": {"installedCSV": "etcdoperator.v0.9.2", "currentCSV": "etcdoperator.v0.9.4"}}),
        json!({"metadata": {"name": "idle"},
               "status": {"installedCSV": "idle.v1", "currentCSV": "idle.v1"}}),
    ];
    assert_eq!(
        other_pending_csvs(&subs, "quay-operator"),
        ["etcdoperator.v0.9.4"]
    );
}

#[test]
fn the_operator_version_is_read_from_a_value_or_the_annotation_it_refers_to() {
    let plain = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "quay-operator", "image": "op:3.14.8", "env": [{"name": "QUAY_VERSION", "value": "3.14.8"}]},
    ]}}}});
    assert_eq!(
        deployment_operator(&plain).quay_version.as_deref(),
        Some("3.14.8")
    );
    // As the CSV's Deployment `quay-operator-tng` has it.
    let from_csv = json!({"spec": {"template": {
        "metadata": {"annotations": {"quay-version": "3.15.7"}},
        "spec": {"containers": [{"name": "quay-operator", "image": "op:3.15.7", "env": [
            {"name": "QUAY_VERSION", "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['quay-version']"}}},
        ]}]},
    }}});
    let seen = deployment_operator(&from_csv);
    assert_eq!(seen.quay_version.as_deref(), Some("3.15.7"));
    assert_eq!(seen.deployment_image.as_deref(), Some("op:3.15.7"));
    assert_eq!(annotation_key("metadata.annotations[\"a\"]"), Some("a"));
    assert_eq!(annotation_key("metadata.namespace"), None);
}

#[test]
fn the_last_status_request_and_its_answer_are_read_and_garbled_ones_are_none() {
    let with = |at: &str, number: Option<&str>, evaluated: &str| {
        let registry = json!({
            "metadata": {"annotations": {
                STATUS_REQUESTED_ANNOTATION: at,
                STATUS_REQUESTS_ANNOTATION: number,
            }},
            "spec": {"components": []},
            "status": {"conditions": [
                {"type": "ComponentQuayReady", "lastUpdateTime": "2026-08-21T11:00:00Z"},
                {"type": "Available", "status": "False", "lastUpdateTime": evaluated},
            ]},
        });
        let state = registry_state(&registry);
        (state.status_request, state.available_evaluated)
    };
    let noon = Timestamp::from_unix_seconds(1_787_313_600);
    assert_eq!(
        with("2026-08-21T12:00:00Z", Some("3"), "2026-08-21T12:00:01Z"),
        (
            Some(StatusRequest {
                at: noon,
                number: 3
            }),
            Some(Timestamp::from_unix_seconds(1_787_313_601))
        )
    );
    // Written by an earlier release (no number): the first of its series.
    assert_eq!(
        with("2026-08-21T12:00:00Z", None, "x").0,
        Some(StatusRequest {
            at: noon,
            number: 1
        })
    );
    // Written by hand or by someone else: read as never asked (or answered), so the upgrade
    // asks again.
    assert_eq!(with("yesterday", Some("3"), "soon"), (None, None));
    let bare = registry_state(&json!({"spec": {"components": []}}));
    assert_eq!(
        (bare.status_request, bare.available_evaluated),
        (None, None)
    );
}
