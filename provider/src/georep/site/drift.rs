//! [`Drift`]: where a live `QuayRegistry` spec differs from what the site renders.
//!
//! The site resource's Read compares the live object with [`Site::manifests`] so that a
//! `kubectl edit` shows in the next plan. Only the fields this provider sets are compared:
//! `spec.configBundleSecret`, and for every component kind its `managed` flag,
//! `overrides.replicas`, `overrides.env` (as a name → value map, so order does not matter) and
//! the pod overrides the site sets ([`super::pods::POD_OVERRIDE_FIELDS`]: resources, affinity,
//! labels, annotations, Clair's volume), compared as JSON values. Fields someone else sets
//! (other overrides such as `securityContext`, `secretRef`) are not ours and not reported.
//! Pure comparison of JSON values.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use super::model::Site;
use super::pods::{POD_OVERRIDE_FIELDS, Quantity};

/// One difference between the rendered and the live spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// Where, such as `spec.components[kind=quay].overrides.replicas` or
    /// `spec.components[kind=quay].overrides.env[QUAY_DISTRIBUTED_STORAGE_PREFERENCE]`.
    pub path: String,
    /// The rendered value (`null` when we set none).
    pub expected: Value,
    /// The live value (`null` when absent).
    pub actual: Value,
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A user's env often carries credentials: its values are not shown, only that they
        // differ (the storage preference, which the site sets itself, is shown).
        let preference = format!(".overrides.env[{}]", super::render::PREFERENCE_ENV);
        if self.path.contains(".overrides.env[") && !self.path.ends_with(&preference) {
            return write!(f, "{}: differs (value not shown)", self.path);
        }
        write!(
            f,
            "{}: expected {}, found {}",
            self.path, self.expected, self.actual
        )
    }
}

impl Site {
    /// Compares a live `QuayRegistry` `spec` with the rendered one; empty means no drift.
    pub fn expected_spec_matches(&self, live_spec: &Value) -> Vec<Drift> {
        let rendered = self.manifests().quay_registry;
        let expected_spec = &rendered["spec"];
        let mut drifts = Vec::new();
        let mut compare = |path: String, expected: &Value, actual: &Value| {
            if expected != actual {
                drifts.push(Drift {
                    path,
                    expected: expected.clone(),
                    actual: actual.clone(),
                });
            }
        };
        compare(
            "spec.configBundleSecret".into(),
            &expected_spec["configBundleSecret"],
            &live_spec["configBundleSecret"],
        );
        let live_components = live_spec["components"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        for expected in expected_spec["components"].as_array().into_iter().flatten() {
            let kind = expected["kind"].as_str().unwrap_or_default();
            let path = format!("spec.components[kind={kind}]");
            let Some(live) = live_components
                .iter()
                .find(|c| c["kind"].as_str() == Some(kind))
            else {
                compare(path, expected, &Value::Null);
                continue;
            };
            compare(
                format!("{path}.managed"),
                &expected["managed"],
                &live["managed"],
            );
            compare(
                format!("{path}.overrides.replicas"),
                &expected["overrides"]["replicas"],
                &live["overrides"]["replicas"],
            );
            for field in POD_OVERRIDE_FIELDS {
                let (want, have) = (&expected["overrides"][field], &live["overrides"][field]);
                if !same_amounts(field, want, have) {
                    compare(format!("{path}.overrides.{field}"), want, have);
                }
            }
            let (expected_env, live_env) = (
                env_map(&expected["overrides"]["env"]),
                env_map(&live["overrides"]["env"]),
            );
            let names: std::collections::BTreeSet<&str> = expected_env
                .keys()
                .chain(live_env.keys())
                .copied()
                .collect();
            for name in names {
                compare(
                    format!("{path}.overrides.env[{name}]"),
                    expected_env.get(name).copied().unwrap_or(&Value::Null),
                    live_env.get(name).copied().unwrap_or(&Value::Null),
                );
            }
        }
        drifts
    }
}

/// Whether `field` (`resources` or `volumeSize`) holds the same quantities on both sides
/// however written: the operator writes its spec back with each quantity in Kubernetes'
/// canonical form (`0.5` becomes `500m`, `1.5Gi` becomes `1536Mi`). False for other fields,
/// which compare as JSON.
fn same_amounts(field: &str, expected: &Value, actual: &Value) -> bool {
    let same = |a: &Value, b: &Value| match (Quantity::from_json(a), Quantity::from_json(b)) {
        (Some(a), Some(b)) => a.same_amount(&b),
        _ => a == b,
    };
    let same_maps = |a: &Value, b: &Value| match (a.as_object(), b.as_object()) {
        (Some(a), Some(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(name, q)| b.get(name).is_some_and(|other| same(q, other)))
        }
        _ => a == b,
    };
    match field {
        "volumeSize" => same(expected, actual),
        "resources" => {
            same_maps(&expected["requests"], &actual["requests"])
                && same_maps(&expected["limits"], &actual["limits"])
                && expected
                    .as_object()
                    .zip(actual.as_object())
                    .is_some_and(|(a, b)| a.len() == b.len())
        }
        _ => false,
    }
}

/// An `env` list as name → value (`value` is `null` when absent, e.g. a `valueFrom` entry).
fn env_map(env: &Value) -> BTreeMap<&str, &Value> {
    env.as_array()
        .into_iter()
        .flatten()
        .filter_map(|entry| Some((entry["name"].as_str()?, &entry["value"])))
        .collect()
}
