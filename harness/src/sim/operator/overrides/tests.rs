use serde_json::{Value, json};

use super::*;
use crate::sim::operator::case_fixtures::{components, documents, find, mismatch, render};

fn container<'a>(deployment: &'a Value, name: &str) -> &'a Value {
    deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no container {name} in {deployment:#}"))
}

fn env<'a>(container: &'a Value, name: &str) -> Option<&'a Value> {
    container["env"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["name"] == name))
}

#[test]
fn resource_overrides_case_gets_its_requests_and_limits_on_each_workload() {
    // tests/fixtures/chainsaw/resource_overrides: the script's verify_resources lines.
    let c = components("resource_overrides", "00-create-quay-registry.yaml");
    let objects = render("resource-override", &c, "{}", false);
    for (deployment, name, limits, requests) in [
        ("quay-app", "quay-app", ("3", "9Gi"), ("2100m", "8100Mi")),
        (
            "clair-app",
            "clair-app",
            ("4100m", "17Gi"),
            ("2100m", "2100Mi"),
        ),
        (
            "quay-mirror",
            "quay-mirror",
            ("2", "5Gi"),
            ("500m", "512Mi"),
        ),
    ] {
        let d = find(
            &objects,
            "Deployment",
            &format!("resource-override-{deployment}"),
        );
        let resources = &container(d, name)["resources"];
        assert_eq!(
            resources,
            &json!({
                "limits": {"cpu": limits.0, "memory": limits.1},
                "requests": {"cpu": requests.0, "memory": requests.1},
            }),
            "{deployment}"
        );
    }
}

#[test]
fn reconcile_case_overrides_match_its_assert_file() {
    // tests/fixtures/chainsaw/reconcile/00-assert-overrides.yaml, for the Deployments the
    // model renders (the database and Redis are the managed components' renderer's).
    let c = components("reconcile", "00-create-quay-registry.yaml");
    let objects = render("reconcile", &c, "{}", false);
    let mut checked = 0;
    for expected in documents("reconcile", "00-assert-overrides.yaml") {
        let name = expected["metadata"]["name"].as_str().unwrap();
        let Some(actual) = objects
            .iter()
            .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == name)
        else {
            continue;
        };
        assert_eq!(mismatch(&expected, actual), None, "{name}: {actual:#}");
        assert_eq!(
            env(container(actual, &name["reconcile-".len()..]), "TESTING"),
            Some(&json!({"name": "TESTING", "value": "TESTING"})),
            "{name}"
        );
        checked += 1;
    }
    assert_eq!(checked, 3, "quay-app, clair-app and quay-mirror asserted");
}

#[test]
fn route_gets_the_route_components_labels_and_annotations_and_keeps_its_own() {
    // reconcile's assert-route-overrides step, with values-openshift.yaml's routeComponent.
    let c = components("reconcile", "00-create-quay-registry.yaml");
    let objects = render("reconcile", &c, "{}", false);
    let route = find(&objects, "Route", "reconcile-quay");
    let meta = &route["metadata"];
    assert_eq!(meta["labels"]["l1"], "TESTING");
    assert_eq!(meta["annotations"]["a1"], "TESTING");
    assert_eq!(
        meta["annotations"]["haproxy.router.openshift.io/timeout"],
        "30m"
    );
}

#[test]
fn an_affinity_override_replaces_the_base_anti_affinity() {
    // The hpa case's overrides repeat the base's rule; a node affinity shows the replacement.
    let c = components("hpa", "00-create-quay-registry.yaml");
    let expected = documents("hpa", "00-create-quay-registry.yaml")[0]["spec"]["components"][0]
        ["overrides"]["affinity"]
        .clone();
    let objects = render("hpa", &c, "{}", false);
    let quay = find(&objects, "Deployment", "hpa-quay-app");
    assert_eq!(quay["spec"]["template"]["spec"]["affinity"], expected);
    let node = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [
            {"key": "zone", "operator": "In", "values": ["a"]}]}]}}});
    let c = comps(json!([{"kind": "mirror", "managed": true, "overrides": {"affinity": node}}]));
    let objects = render("r", &c, "{}", false);
    let mirror = find(&objects, "Deployment", "r-quay-mirror");
    assert_eq!(mirror["spec"]["template"]["spec"]["affinity"], node);
}

#[test]
fn clair_volume_size_override_resizes_its_ephemeral_scratch_volume() {
    // tests/fixtures/chainsaw/clair_ephemeral_volume: the verify step's two jsonpaths.
    let c = components("clair_ephemeral_volume", "00-create-quay-registry.yaml");
    let objects = render("clair-vol", &c, "{}", false);
    let clair = find(&objects, "Deployment", "clair-vol-clair-app");
    let volume = clair["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "indexer-layer-storage")
        .unwrap();
    assert_eq!(
        volume["ephemeral"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"],
        "50Gi"
    );
    let mount = container(clair, "clair-app")["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "indexer-layer-storage")
        .unwrap();
    assert_eq!(mount["mountPath"], "/var/tmp");
    let plain = render(
        "clair-vol",
        &comps(json!([{"kind": "clair", "managed": true}])),
        "{}",
        false,
    );
    let default = find(&plain, "Deployment", "clair-vol-clair-app");
    assert!(default.to_string().contains(r#""storage":"20Gi""#));
}

fn comps(list: Value) -> Components {
    Components::from_spec(&json!({ "components": list }))
}

#[test]
fn labels_the_operator_relies_on_cannot_be_overridden() {
    let c = comps(json!([
        {"kind": "quay", "managed": true, "overrides": {"labels": {
            "quay-component": "x", "app": "x", "quay-operator/quayregistry": "x", "team": "a"}}},
        {"kind": "horizontalpodautoscaler", "managed": false},
    ]));
    let objects = render("r", &c, "{}", false);
    let quay = find(&objects, "Deployment", "r-quay-app");
    for meta in [&quay["metadata"], &quay["spec"]["template"]["metadata"]] {
        assert_eq!(meta["labels"]["team"], "a");
        assert_eq!(meta["labels"]["quay-component"], "quay-app");
        assert_eq!(meta["labels"]["quay-operator/quayregistry"], "r");
        assert!(meta["labels"].get("app").is_none(), "{meta:#}");
    }
}

#[test]
fn env_overrides_reach_the_migration_job_but_not_quays_version() {
    let c = comps(json!([
        {"kind": "quay", "managed": true, "overrides": {
            "env": [{"name": "QUAY_VERSION", "value": "1.0.0"},
                    {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
            "securityContext": {"runAsNonRoot": true}}},
    ]));
    let objects = render("r", &c, "{}", false);
    let quay = container(find(&objects, "Deployment", "r-quay-app"), "quay-app");
    assert_eq!(env(quay, "QUAY_VERSION").unwrap()["value"], "3.16.5");
    assert_eq!(
        env(quay, "FROM_SECRET").unwrap()["valueFrom"]["secretKeyRef"]["key"],
        "k"
    );
    assert_eq!(quay["securityContext"]["runAsNonRoot"], true);
    let kept = std::collections::BTreeMap::new();
    let bundle = crate::quay::Bundle::parse(
        "b",
        std::collections::BTreeMap::from([("config.yaml".to_owned(), b"{}".to_vec())]),
    )
    .unwrap();
    let inputs = crate::sim::operator::render::Inputs {
        name: "r",
        namespace: "ns",
        uid: "u",
        version: crate::quay::QuayVersion::new(3, 16, 5),
        components: &c,
        bundle: &bundle,
        flavour: crate::sim::Flavour::Openshift,
        site: "s",
        upgrading: true,
        kept: &kept,
    };
    let job = crate::sim::operator::render::job(&inputs);
    let job_container = &job["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        env(job_container, "QUAY_VERSION").unwrap()["value"],
        "1.0.0"
    );
    assert!(env(job_container, "FROM_SECRET").is_some());
    assert_eq!(job_container["securityContext"]["runAsNonRoot"], true);
}

#[test]
fn a_database_deployment_finds_its_component_by_annotation_and_gets_its_overrides() {
    let c = comps(json!([
        {"kind": "clairpostgres", "managed": true, "overrides": {
            "resources": {"limits": {"cpu": "1"}},
            "labels": {"l1": "TESTING"},
            "env": [{"name": "TESTING", "value": "TESTING"}]}},
    ]));
    let mut db = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "r-clair-postgres", "annotations": {"quay-component": "clair-postgres"}},
        "spec": {"replicas": 1, "template": {"metadata": {}, "spec": {"containers": [
            {"name": "clair-postgres", "resources": {"requests": {"cpu": "500m"}}}]}}},
    });
    let kind = component_of(&db).unwrap();
    assert_eq!(kind, ComponentKind::ClairPostgres);
    apply(&c, kind, &mut db);
    let container = &db["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["resources"], json!({"limits": {"cpu": "1"}}));
    assert_eq!(container["env"][0]["value"], "TESTING");
    assert_eq!(
        db["spec"]["template"]["metadata"]["labels"]["l1"],
        "TESTING"
    );
    assert_eq!(db["spec"]["replicas"], 1);
}

#[test]
fn replicas_override_applies_only_without_a_managed_hpa_and_a_set_count() {
    let c = comps(json!([
        {"kind": "quay", "managed": true, "overrides": {"replicas": 5}},
        {"kind": "horizontalpodautoscaler", "managed": false},
    ]));
    let objects = render("r", &c, "{}", false);
    assert_eq!(
        find(&objects, "Deployment", "r-quay-app")["spec"]["replicas"],
        5
    );
    let mut held = json!({"kind": "Deployment", "metadata": {"name": "r-quay-app"},
                          "spec": {"replicas": 0, "template": {}}});
    apply(&c, ComponentKind::Quay, &mut held);
    assert_eq!(held["spec"]["replicas"], 0, "an upgrade's 0 is kept");
}

#[test]
fn overrides_a_kind_does_not_support_block_the_rollout() {
    for (kind, key, value) in [
        ("postgres", "affinity", json!({})),
        ("quay", "volumeSize", json!("1Gi")),
        ("clair", "securityContext", json!({})),
        ("route", "env", json!([{"name": "A", "value": "b"}])),
        ("redis", "storageClassName", json!("fast")),
    ] {
        let c = comps(json!([{"kind": kind, "managed": true, "overrides": { key: value }}]));
        let blocked = super::super::components::validate_overrides(
            &c,
            &crate::quay::Catalogue::builtin().newest().version,
        )
        .unwrap_err();
        assert_eq!(
            blocked.message,
            format!("invalid overrides: component {kind} does not support {key} overrides")
        );
    }
    let fine = comps(json!([
        {"kind": "route", "managed": true, "overrides": {"labels": {"a": "b"}, "annotations": {"a": "b"}}},
        {"kind": "clair", "managed": true, "overrides": {"volumeSize": "50Gi", "resources": {}}},
        {"kind": "route", "managed": true, "overrides": {"env": []}},
    ]));
    assert!(
        super::super::components::validate_overrides(
            &fine,
            &crate::quay::Catalogue::builtin().newest().version
        )
        .is_ok()
    );
}
