//! The pod overrides: what each renders, and what the API server or the operator would
//! refuse or drop, refused at plan.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::*;
use crate::georep::issue::Issue;

fn map(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
    entries
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn summaries(issues: &[Issue]) -> Vec<(String, &str)> {
    issues
        .iter()
        .map(|i| (i.path.to_string(), i.summary.as_str()))
        .collect()
}

#[test]
fn quantities_parse_as_kubernetes_reads_them() {
    for (text, value) in [
        ("500m", 0.5),
        ("2", 2.0),
        ("2Gi", 2.0 * 1024f64.powi(3)),
        ("1e3", 1000.0),
        ("1.5k", 1500.0),
        (".5", 0.5),
        ("-1", -1.0),
    ] {
        let q = Quantity::parse(text).unwrap();
        assert!((q.value - value).abs() < 1e-9, "{text}");
    }
    for bad in ["", "2GB", "m", "1.2.3", "1e", "two", "1 Gi", "."] {
        assert!(Quantity::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn resources_render_with_the_crd_names_and_a_request_may_not_exceed_its_limit() {
    let requests = map(&[("cpu", "500m"), ("memory", "2Gi")]);
    let limits = map(&[("memory", "4Gi")]);
    let input = PodsInput {
        requests: Some(&requests),
        limits: Some(&limits),
        ..PodsInput::default()
    };
    let (overrides, issues) = check("quay", input, true, false);
    assert!(issues.is_empty(), "{issues:?}");
    let mut rendered = Map::new();
    overrides.unwrap().render_into(&mut rendered);
    assert_eq!(
        Value::Object(rendered),
        serde_json::json!({"resources": {
            "requests": {"cpu": "500m", "memory": "2Gi"},
            "limits": {"memory": "4Gi"},
        }})
    );

    let requests = map(&[("memory", "8Gi"), ("nvidia.com/gpu", "1"), ("gpus", "1")]);
    let input = PodsInput {
        requests: Some(&requests),
        limits: Some(&limits),
        ..PodsInput::default()
    };
    let (overrides, issues) = check("quay", input, true, false);
    assert!(overrides.is_none());
    assert_eq!(
        summaries(&issues),
        [
            (
                r#"quay.requests["gpus"]"#.to_owned(),
                "Unknown Resource Name"
            ),
            (
                r#"quay.requests["memory"]"#.to_owned(),
                "Request Above Limit"
            ),
            (
                r#"quay.requests["nvidia.com/gpu"]"#.to_owned(),
                "Request Differs From Limit"
            ),
        ]
    );
}

#[test]
fn an_affinity_field_the_api_server_would_drop_or_a_missing_required_one_is_refused() {
    let good = r#"{"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution":
        [{"weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
          "labelSelector": {"matchLabels": {"quay-component": "quay-app"}}}}]}}"#;
    let (overrides, issues) = check(
        "quay",
        PodsInput {
            affinity: Some(good),
            ..PodsInput::default()
        },
        true,
        false,
    );
    assert!(issues.is_empty(), "{issues:?}");
    assert!(!overrides.unwrap().is_empty());
    for (bad, says) in [
        (r#"{"nodeAfinity": {}}"#, "`nodeAfinity`"),
        (
            r#"{"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {}}}"#,
            "nodeSelectorTerms is required",
        ),
        (
            r#"{"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 0, "podAffinityTerm": {"topologyKey": "zone"}}]}}"#,
            "weight must be a whole number from 1 to 100",
        ),
        (r#"["nodeAffinity"]"#, "not a JSON object"),
    ] {
        let (_, issues) = check(
            "clair",
            PodsInput {
                affinity: Some(bad),
                ..PodsInput::default()
            },
            true,
            true,
        );
        assert_eq!(issues.len(), 1, "{bad}: {issues:?}");
        assert_eq!(issues[0].path.to_string(), "clair.affinity");
        assert!(issues[0].detail.contains(says), "{}", issues[0].detail);
    }
}

#[test]
fn labels_follow_kubernetes_rules_and_the_operators_own_are_refused() {
    let labels = map(&[
        ("team", "registry"),
        ("app", "quay"),
        ("example.com/tier", "gold"),
        ("bad key", "x"),
        ("ok", "not ok!"),
    ]);
    let annotations = map(&[("example.com/owner", "Platform Team <platform@example.com>")]);
    let (_, issues) = check(
        "mirror",
        PodsInput {
            labels: Some(&labels),
            annotations: Some(&annotations),
            ..PodsInput::default()
        },
        true,
        false,
    );
    assert_eq!(
        summaries(&issues),
        [
            (r#"mirror.labels["app"]"#.to_owned(), "Reserved Label"),
            (r#"mirror.labels["bad key"]"#.to_owned(), "Invalid Label"),
            (r#"mirror.labels["ok"]"#.to_owned(), "Invalid Label"),
        ]
    );
}

#[test]
fn overrides_on_an_unmanaged_component_and_volumes_outside_clair_are_refused() {
    let labels = map(&[("team", "registry")]);
    let (_, issues) = check(
        "mirror",
        PodsInput {
            labels: Some(&labels),
            ..PodsInput::default()
        },
        false,
        false,
    );
    assert_eq!(
        summaries(&issues),
        [(
            "mirror.labels".to_owned(),
            "Override On Unmanaged Component"
        )]
    );
    assert!(
        issues[0]
            .detail
            .contains("cannot set overrides on unmanaged component")
    );
    let (_, issues) = check(
        "quay",
        PodsInput {
            volume_size: Some("50Gi"),
            ..PodsInput::default()
        },
        true,
        false,
    );
    assert_eq!(
        summaries(&issues),
        [("quay.volume_size".to_owned(), "Override Not Supported")]
    );
    let (overrides, issues) = check(
        "clair",
        PodsInput {
            volume_size: Some("50Gi"),
            storage_class_name: Some("fast-ssd"),
            ..PodsInput::default()
        },
        true,
        true,
    );
    assert!(issues.is_empty(), "{issues:?}");
    let overrides = overrides.unwrap();
    assert_eq!(
        overrides.needs_operator(),
        [("volume_size", (3, 18)), ("storage_class_name", (3, 18))]
    );
    let mut rendered = Map::new();
    overrides.render_into(&mut rendered);
    assert_eq!(rendered["volumeSize"], "50Gi");
    assert_eq!(rendered["storageClassName"], "fast-ssd");

    let pods = crate::georep::site::ComponentPods {
        clair: overrides,
        ..Default::default()
    };
    let issues = check_operator_support(&pods, "3.17.4");
    assert_eq!(
        summaries(&issues),
        [
            (
                "clair.volume_size".to_owned(),
                "Override Needs A Newer Operator"
            ),
            (
                "clair.storage_class_name".to_owned(),
                "Override Needs A Newer Operator"
            )
        ]
    );
    assert!(issues[0].detail.contains("3.18") && issues[0].detail.contains("3.17.4"));
    assert!(check_operator_support(&pods, "3.18.0").is_empty());
    assert!(check_operator_support(&pods, "not a version").is_empty());
}

/// Name and value pairs.
type Pairs = &'static [(&'static str, &'static str)];

#[test]
fn resources_kubernetes_cannot_overcommit_need_a_limit_equal_to_the_request() {
    let cases: [(Pairs, Pairs, Pairs); 4] = [
        // An extended resource requested with no limits attribute at all.
        (
            &[("nvidia.com/gpu", "1")],
            &[],
            &[(
                r#"quay.requests["nvidia.com/gpu"]"#,
                "Request Differs From Limit",
            )],
        ),
        // Half a GPU.
        (
            &[("nvidia.com/gpu", "500m")],
            &[("nvidia.com/gpu", "500m")],
            &[
                (
                    r#"quay.limits["nvidia.com/gpu"]"#,
                    "Fractional Extended Resource",
                ),
                (
                    r#"quay.requests["nvidia.com/gpu"]"#,
                    "Fractional Extended Resource",
                ),
            ],
        ),
        // Hugepages overcommitted, and alone.
        (
            &[("hugepages-2Mi", "100Mi")],
            &[("hugepages-2Mi", "200Mi")],
            &[
                (
                    r#"quay.requests["hugepages-2Mi"]"#,
                    "Hugepages Without CPU Or Memory",
                ),
                (
                    r#"quay.requests["hugepages-2Mi"]"#,
                    "Request Differs From Limit",
                ),
            ],
        ),
        // Hugepages as Kubernetes takes them.
        (
            &[("hugepages-2Mi", "100Mi"), ("memory", "1Gi")],
            &[("hugepages-2Mi", "100Mi")],
            &[],
        ),
    ];
    for (requests, limits, expected) in cases {
        let (requests, limits) = (map(requests), map(limits));
        let input = PodsInput {
            requests: Some(&requests),
            limits: (!limits.is_empty()).then_some(&limits),
            ..PodsInput::default()
        };
        let (_, issues) = check("quay", input, true, false);
        let mut found = summaries(&issues);
        found.sort();
        let mut expected: Vec<(String, &str)> = expected
            .iter()
            .map(|(p, s)| ((*p).to_owned(), *s))
            .collect();
        expected.sort();
        assert_eq!(found, expected, "{requests:?} {limits:?}");
    }
}

#[test]
fn a_selector_field_the_crd_lacks_is_refused_not_dropped() {
    for (affinity, says) in [
        (
            r#"{"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "zone", "matchLabelKeys": ["app"]}]}}"#,
            "`matchLabelKeys`",
        ),
        (
            r#"{"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "zone", "labelSelector": {"matchLabel": {"app": "quay"}}}]}}"#,
            "`matchLabel`",
        ),
        (
            r#"{"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "zone"}]}]}}}"#,
            "operator is required",
        ),
    ] {
        let (_, issues) = check(
            "quay",
            PodsInput {
                affinity: Some(affinity),
                ..PodsInput::default()
            },
            true,
            false,
        );
        assert_eq!(issues.len(), 1, "{affinity}: {issues:?}");
        assert!(issues[0].detail.contains(says), "{}", issues[0].detail);
    }
}

#[test]
fn annotation_keys_are_checked_as_kubernetes_does_lowercased() {
    let annotations = map(&[("Example.COM/Owner", "platform")]);
    let (_, issues) = check(
        "quay",
        PodsInput {
            annotations: Some(&annotations),
            ..PodsInput::default()
        },
        true,
        false,
    );
    assert!(issues.is_empty(), "{issues:?}");
}
