//! What the suite may touch on a cluster, and how it finds it again: the namespaces of one
//! run. Their names start with the run's prefix (`cf-1a2b3c-`); the provider creates them
//! for a scenario's sites (labelled `app.kubernetes.io/managed-by=terraform-provider-quay`,
//! a label the provider owns and reads), and after every apply the runner labels them with
//! the run ([`RUN_LABEL`]), the scenario ([`SCENARIO_LABEL`]) and [`PART_OF_LABEL`]` =
//! georep-conformance`. Everything a scenario's Terraform creates lives in them.
//!
//! A namespace is the run's ([`is_ours`]) when its name has the run's prefix and it carries
//! the run's label or the provider's: the runner deletes nothing else. A namespace that has
//! the run's name but not one of those labels was made by someone else and is left alone.
//! No `QuayRegistry` is ever deleted or changed by name: the ones of the run go with their
//! namespace.

use std::collections::BTreeMap;
use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::{Value, json};

use super::target::Target;
use crate::quay::api_resource;

/// The label naming the run (its prefix) on what the suite made.
pub const RUN_LABEL: &str = "conformance.quay-georep.io/run";
/// The label naming the scenario (its id, shortened to 63 characters).
pub const SCENARIO_LABEL: &str = "conformance.quay-georep.io/scenario";
/// `app.kubernetes.io/part-of`, set to [`PART_OF`] (`app.kubernetes.io/managed-by` stays the
/// provider's: it recognises the namespaces it created by it).
pub const PART_OF_LABEL: &str = "app.kubernetes.io/part-of";
/// The value of [`PART_OF_LABEL`].
pub const PART_OF: &str = "georep-conformance";
/// The provider's label on the namespaces it creates.
const PROVIDER_MANAGED_BY: (&str, &str) =
    ("app.kubernetes.io/managed-by", "terraform-provider-quay");

/// The labels the runner puts on a namespace of scenario `scenario` of run `run`.
#[must_use]
pub fn labels(run: &str, scenario: &str) -> BTreeMap<String, String> {
    let mut value: String = scenario
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    while value.ends_with(['-', '_', '.']) {
        value.pop();
    }
    BTreeMap::from([
        (RUN_LABEL.to_owned(), run.to_owned()),
        (SCENARIO_LABEL.to_owned(), value),
        (PART_OF_LABEL.to_owned(), PART_OF.to_owned()),
    ])
}

/// Whether `namespace` (a Namespace object as JSON) belongs to run `run`: its name starts
/// with `<run>-` and it carries the run's label or the provider's.
#[must_use]
pub fn is_ours(namespace: &Value, run: &str) -> bool {
    let metadata = &namespace["metadata"];
    let named = metadata["name"]
        .as_str()
        .is_some_and(|n| n.starts_with(&format!("{run}-")));
    let label = |key: &str| metadata["labels"][key].as_str();
    named
        && (label(RUN_LABEL) == Some(run)
            || label(PROVIDER_MANAGED_BY.0) == Some(PROVIDER_MANAGED_BY.1))
}

/// `metadata.labels` of `object` without the runner's labels (what a scenario compares
/// with what Terraform or kubectl applied).
pub fn strip_labels(object: &mut Value) {
    if let Some(labels) = object
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(RUN_LABEL);
        labels.remove(SCENARIO_LABEL);
        if labels.get(PART_OF_LABEL).and_then(Value::as_str) == Some(PART_OF) {
            labels.remove(PART_OF_LABEL);
        }
        if labels.is_empty()
            && let Some(metadata) = object
                .pointer_mut("/metadata")
                .and_then(Value::as_object_mut)
        {
            metadata.remove("labels");
        }
    }
}

fn namespaces_api(client: kube::Client) -> Api<DynamicObject> {
    Api::all_with(client, &api_resource("v1", "Namespace"))
}

fn as_json(object: &DynamicObject) -> Value {
    serde_json::to_value(object).unwrap_or(Value::Null)
}

/// Labels each of `names` that exists on a site of `target` and is the run's ([`is_ours`])
/// with [`labels`]; returns what went wrong (a namespace not yet created is not a problem).
pub async fn label(target: &Target, names: &[String], run: &str, scenario: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if names.is_empty() {
        return problems;
    }
    let patch = json!({"metadata": {"labels": labels(run, scenario)}});
    for site in &target.sites {
        let api = match site.client().await {
            Ok(client) => namespaces_api(client),
            Err(e) => {
                problems.push(e.to_string());
                continue;
            }
        };
        for name in names {
            match api.get_opt(name).await {
                Ok(Some(ns)) if is_ours(&as_json(&ns), run) => {
                    if let Err(e) = api
                        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                        .await
                    {
                        problems.push(format!(
                            "label namespace {name} on {}: {}",
                            site.name,
                            crate::errors::chain(&e)
                        ));
                    }
                }
                Ok(_) => {}
                Err(e) => problems.push(format!(
                    "read namespace {name} on {}: {}",
                    site.name,
                    crate::errors::chain(&e)
                )),
            }
        }
    }
    problems
}

/// Deletes each of `names` on every site of `target` where it exists and is the run's, and
/// waits until they are gone, at most `timeout`. Returns what it could not delete, and each
/// namespace it left alone because it is not the run's.
pub async fn delete(
    target: &Target,
    names: &[String],
    run: &str,
    timeout: Duration,
) -> Vec<String> {
    let mut problems = Vec::new();
    if names.is_empty() {
        return problems;
    }
    for site in &target.sites {
        let api = match site.client().await {
            Ok(client) => namespaces_api(client),
            Err(e) => {
                problems.push(e.to_string());
                continue;
            }
        };
        for name in names {
            match api.get_opt(name).await {
                Ok(None) => continue,
                Ok(Some(ns)) if !is_ours(&as_json(&ns), run) => {
                    problems.push(format!(
                        "namespace {name} on {} is not labelled as this run's: left alone",
                        site.name
                    ));
                    continue;
                }
                Ok(Some(_)) => {}
                Err(e) => {
                    problems.push(format!(
                        "read namespace {name} on {}: {}",
                        site.name,
                        crate::errors::chain(&e)
                    ));
                    continue;
                }
            }
            match api.delete(name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.code == 404 => continue,
                Err(e) => {
                    problems.push(format!(
                        "delete namespace {name} on {}: {}",
                        site.name,
                        crate::errors::chain(&e)
                    ));
                    continue;
                }
            }
            // Not `Context::until`: clean-up waits also after Ctrl-C, which ends those waits.
            let deadline = tokio::time::Instant::now() + timeout;
            loop {
                if matches!(api.get_opt(name).await, Ok(None)) {
                    break;
                }
                if tokio::time::Instant::now() >= deadline {
                    problems.push(format!(
                        "namespace {name} on {} not deleted within {} s",
                        site.name,
                        timeout.as_secs()
                    ));
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    problems
}

/// Every namespace of run `run` on the sites of `target`, by site name.
///
/// # Errors
/// A site could not be listed.
pub async fn list(target: &Target, run: &str) -> Result<BTreeMap<String, Vec<String>>, String> {
    let mut found = BTreeMap::new();
    for site in &target.sites {
        let api = namespaces_api(site.client().await.map_err(|e| e.to_string())?);
        let all = api.list(&ListParams::default()).await.map_err(|e| {
            format!(
                "list namespaces on {}: {}",
                site.name,
                crate::errors::chain(&e)
            )
        })?;
        let names: Vec<String> = all
            .items
            .iter()
            .filter(|ns| is_ours(&as_json(ns), run))
            .filter_map(|ns| ns.metadata.name.clone())
            .collect();
        found.insert(site.name.clone(), names);
    }
    Ok(found)
}

/// Deletes every namespace of run `run` left on the sites of `target` (after Ctrl-C, or
/// when a scenario's own clean-up failed); returns the names it deleted and the problems.
pub async fn sweep(target: &Target, run: &str, timeout: Duration) -> (Vec<String>, Vec<String>) {
    let found = match list(target, run).await {
        Ok(found) => found,
        Err(problem) => return (Vec::new(), vec![problem]),
    };
    let mut names: Vec<String> = found.into_values().flatten().collect();
    names.sort();
    names.dedup();
    let problems = delete(target, &names, run, timeout).await;
    (names, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn namespace(name: &str, labels: Value) -> Value {
        json!({"metadata": {"name": name, "labels": labels}})
    }

    #[test]
    fn only_a_namespace_with_the_runs_name_and_label_is_ours() {
        let run = "cf-1a2b3c";
        let provider = json!({"app.kubernetes.io/managed-by": "terraform-provider-quay"});
        let runner = json!({RUN_LABEL: run});
        assert!(is_ours(
            &namespace("cf-1a2b3c-three-sites", provider.clone()),
            run
        ));
        assert!(is_ours(
            &namespace("cf-1a2b3c-three-sites", runner.clone()),
            run
        ));
        assert!(
            !is_ours(&namespace("cf-1a2b3c-three-sites", json!({})), run),
            "made by someone else under our name"
        );
        assert!(
            !is_ours(&namespace("quay", provider.clone()), run),
            "another site's"
        );
        assert!(
            !is_ours(&namespace("cf-ffffff-three-sites", runner), run),
            "another run's"
        );
        assert!(
            !is_ours(&namespace("cf-1a2b3c", provider), run),
            "no scenario suffix"
        );
        assert!(
            !is_ours(
                &namespace("cf-1a2b3c-x", json!({RUN_LABEL: "cf-ffffff"})),
                run
            ),
            "labelled by another run"
        );
    }

    #[test]
    fn labels_name_the_run_and_a_valid_scenario_value() {
        let long = format!("BADINPUT-{}", "x".repeat(80));
        let labels = labels("cf-1a2b3c", &long);
        assert_eq!(labels[RUN_LABEL], "cf-1a2b3c");
        assert_eq!(labels[PART_OF_LABEL], "georep-conformance");
        assert_eq!(labels[SCENARIO_LABEL].len(), 63);
        let odd = super::labels("cf-1a2b3c", "A B/c-");
        assert_eq!(odd[SCENARIO_LABEL], "A-B-c");
    }

    #[test]
    fn strip_labels_leaves_what_terraform_applied() {
        let mut object = namespace(
            "cf-1a2b3c-gitops",
            json!({
                "app.kubernetes.io/managed-by": "terraform-provider-quay",
                RUN_LABEL: "cf-1a2b3c",
                SCENARIO_LABEL: "GITOPS-parity",
                PART_OF_LABEL: PART_OF,
            }),
        );
        strip_labels(&mut object);
        assert_eq!(
            object["metadata"]["labels"],
            json!({"app.kubernetes.io/managed-by": "terraform-provider-quay"})
        );
        let mut only_ours = namespace("n", json!({RUN_LABEL: "cf-1a2b3c"}));
        strip_labels(&mut only_ours);
        assert_eq!(only_ours, json!({"metadata": {"name": "n"}}));
    }
}
