//! Test support: quay-operator's Chainsaw case files (`harness/tests/fixtures/chainsaw/`) read
//! into the model's pure functions, so a unit test holds what the model renders against what
//! a case asserts, without a cluster.
//!
//! [`documents`] templates `($values.x)` from `values-openshift.yaml`, as the cases run on
//! the simulated OpenShift; [`mismatch`] is Chainsaw's partial match (every key of an
//! expected map must match, lists match position by position with equal lengths, scalars
//! equal), the rule the integration runner (`tests/it/chainsaw/matching.rs`) applies.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Map, Value, json};

use super::components::{ClusterSupport, Components, ensure_defaults};
use super::render::{self, Inputs};
use crate::quay::{Bundle, QuayVersion};
use crate::sim::Flavour;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/chainsaw")
}

fn template(doc: &Value, values: &Value) -> Value {
    match doc {
        Value::String(s) if s.starts_with("($values.") && s.ends_with(')') => {
            let path = &s["($values.".len()..s.len() - 1];
            path.split('.').fold(values, |v, part| &v[part]).clone()
        }
        Value::Array(items) => Value::Array(items.iter().map(|i| template(i, values)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), template(v, values)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The documents of `case/file`, templated with `values-openshift.yaml`.
///
/// # Panics
/// When the file is missing or not YAML (a test's own mistake).
#[must_use]
pub fn documents(case: &str, file: &str) -> Vec<Value> {
    let read = |path: PathBuf| std::fs::read_to_string(&path).expect("fixture file exists");
    let values: Value =
        serde_saphyr::from_str(&read(dir().join("values-openshift.yaml"))).expect("values");
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(&read(dir().join(case).join(file))).expect("yaml");
    docs.iter()
        .filter(|d| !d.is_null())
        .map(|d| template(d, &values))
        .collect()
}

/// The `spec.components` of the `QuayRegistry` in `case/file` after the operator's defaults
/// on an OpenShift cluster with monitoring.
///
/// # Panics
/// When the file holds no `QuayRegistry`.
#[must_use]
pub fn components(case: &str, file: &str) -> Components {
    let registry = documents(case, file)
        .into_iter()
        .find(|d| d["kind"] == "QuayRegistry")
        .expect("a QuayRegistry");
    let mut spec = registry["spec"].clone();
    let support = ClusterSupport {
        flavour: Flavour::Openshift,
        monitoring: true,
    };
    if let Some(list) = ensure_defaults(&spec, support, false) {
        spec["components"] = list;
    }
    Components::from_spec(&spec)
}

/// What the model renders for registry `name` with `components` and a bundle of `config`
/// (plus `ssl.cert`/`ssl.key` when `certs`).
#[must_use]
pub fn render(name: &str, components: &Components, config: &str, certs: bool) -> Vec<Value> {
    let mut data = BTreeMap::from([("config.yaml".to_owned(), config.as_bytes().to_vec())]);
    if certs {
        data.insert("ssl.cert".to_owned(), b"cert".to_vec());
        data.insert("ssl.key".to_owned(), b"key".to_vec());
    }
    let bundle = Bundle::parse("bundle", data).expect("a valid bundle");
    let kept = BTreeMap::new();
    let inputs = Inputs {
        name,
        namespace: "chainsaw",
        uid: "u1",
        version: QuayVersion::new(3, 16, 5),
        components,
        bundle: &bundle,
        flavour: Flavour::Openshift,
        site: "chainsaw",
        upgrading: false,
        kept: &kept,
    };
    render::objects(&inputs, &json!({}), false)
}

/// The rendered object of `kind` named `name`.
///
/// # Panics
/// When there is none.
#[must_use]
pub fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} rendered"))
}

/// Where `actual` fails Chainsaw's partial match of `expected`, or `None`.
#[must_use]
pub fn mismatch(expected: &Value, actual: &Value) -> Option<String> {
    at(expected, actual, "")
}

fn at(expected: &Value, actual: &Value, path: &str) -> Option<String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => object(e, a, path),
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => e
            .iter()
            .zip(a)
            .enumerate()
            .find_map(|(i, (e, a))| at(e, a, &format!("{path}[{i}]"))),
        (Value::Number(e), Value::Number(a)) if e.as_f64() == a.as_f64() => None,
        (e, a) if e == a => None,
        (e, a) => Some(format!("{path}: expected {e}, found {a}")),
    }
}

fn object(e: &Map<String, Value>, a: &Map<String, Value>, path: &str) -> Option<String> {
    e.iter().find_map(|(k, ev)| match a.get(k) {
        Some(av) => at(ev, av, &format!("{path}.{k}")),
        None => Some(format!("{path}.{k}: missing")),
    })
}
