//! `GITOPS-parity`: what `data "quay_georep_site_manifests"` renders is what
//! `resource "quay_georep_site"` applies. One site is applied by the resource; the data
//! source renders the same site's manifests, and `kubectl apply --server-side
//! --dry-run=server` of them against that site's cluster must give back, field by field, the
//! Namespace, bundle Secret and `QuayRegistry` the resource made. Only what the API server or
//! a controller sets is left out (uid, resourceVersion, managedFields, creationTimestamp,
//! generation, status).
//!
//! The site exercises the YAML: every bundle key (config.yaml, clair-config.yaml, ssl.cert,
//! ssl.key), env values a YAML 1.1 reader would turn into booleans, numbers or null unless
//! quoted, and a component scaled to 0.

use std::process::{Command, Stdio};

use kube::Api;
use kube::api::DynamicObject;
use serde_json::{Value, json};

use super::common;
use crate::conformance::context::Context;
use crate::conformance::failure::Failure;
use crate::conformance::scenario::Scenario;
use crate::ensure;
use crate::quay::{api_resource, quay_registry_resource};

/// The site's extra arguments: TLS, tricky env values, a mirror scaled to 0.
const EXTRA: &str = r#"  quay {
    replicas = 1
  }
  mirror {
    replicas = 0
  }
  env = {
    DEBUGLOG      = "true"
    FEATURE_FLAG  = "yes"
    UMASK         = "0755"
    WORKERS       = "4"
    NOTHING       = "null"
    EMPTY         = ""
  }
"#;

/// The scenario.
#[must_use]
pub fn scenario() -> Scenario {
    Scenario::new(
        "GITOPS-parity",
        "The manifests quay_georep_site_manifests renders, applied with kubectl apply \
         --server-side, equal field by field what quay_georep_site applies.",
        &[],
        run,
    )
    .namespaces(&["gitops"])
}

/// `object` without what the API server or controllers set (server metadata and status)
/// and without the labels the runner puts on the run's namespaces.
fn ours(object: &Value) -> Value {
    let mut value = object.clone();
    crate::conformance::namespaces::strip_labels(&mut value);
    let metadata = value["metadata"].clone();
    value["metadata"] = json!({
        "name": metadata["name"],
        "namespace": metadata["namespace"],
        "labels": metadata["labels"],
        "annotations": metadata["annotations"],
    });
    if let Some(fields) = value.as_object_mut() {
        fields.remove("status");
    }
    value
}

/// The first path where `left` and `right` differ, with both values.
fn first_difference(path: &str, left: &Value, right: &Value) -> Option<String> {
    match (left, right) {
        (Value::Object(l), Value::Object(r)) => {
            let mut keys: Vec<&String> = l.keys().chain(r.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| {
                first_difference(
                    &format!("{path}.{k}"),
                    l.get(k).unwrap_or(&Value::Null),
                    r.get(k).unwrap_or(&Value::Null),
                )
            })
        }
        (Value::Array(l), Value::Array(r)) if l.len() == r.len() => l
            .iter()
            .zip(r)
            .enumerate()
            .find_map(|(i, (l, r))| first_difference(&format!("{path}[{i}]"), l, r)),
        _ if left == right => None,
        _ => Some(format!(
            "{path}: {left} by the resource, {right} by kubectl"
        )),
    }
}

fn run(ctx: &mut Context<'_>) -> Result<(), Failure> {
    let target = ctx.target().clone();
    let site = target.sites[0].clone();
    let namespace = ctx.namespace("gitops");
    let dir = ctx.workdir("gitops")?;
    ctx.write_shared_config(&dir, "")?;
    common::write_certificate(&dir, &target.global.quay_hostname)?;
    let body = Context::site_body(
        &site.location,
        &namespace,
        &format!("{EXTRA}{}", common::USER_TLS),
    );
    dir.write_file(
        "main.tf",
        &format!(
            r#"resource "quay_georep_site" "site" {{
{body}}}

data "quay_georep_site_manifests" "site" {{
{body}}}

output "yaml" {{
  value     = data.quay_georep_site_manifests.site.yaml
  sensitive = true
}}

output "bundle" {{
  value = quay_georep_site.site.bundle_secret_name
}}
"#
        ),
    )?;
    ctx.step(&format!(
        "terraform apply: the resource on {}, the manifests rendered",
        site.name
    ));
    ctx.apply(&dir)?;
    let outputs = dir.output_json()?;
    let yaml = common::output(&outputs, "yaml")?
        .as_str()
        .ok_or_else(|| Failure::new("the manifests output is not a string"))?
        .to_owned();
    let bundle = common::output(&outputs, "bundle")?
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let manifests = dir.write_file("site.yaml", &yaml)?;

    ctx.step("kubectl apply --server-side --dry-run=server of the manifests");
    let kubectl = crate::kubectl::find().map_err(|e| Failure::new(e.to_string()))?;
    let out = Command::new(&kubectl)
        .arg("--kubeconfig")
        .arg(&site.kubeconfig)
        .args(["--context", &site.context])
        .arg("--cache-dir")
        .arg(dir.path().join("kubectl-cache"))
        .args([
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager",
            "georep-conformance",
            "--dry-run=server",
            "-o",
            "json",
            "-f",
        ])
        .arg(&manifests)
        .env_remove("KUBECONFIG")
        .env("HOME", dir.path())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Failure::new(format!("run {}: {e}", kubectl.display())))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.success(),
        "kubectl apply --dry-run=server failed: {stderr}"
    );
    let applied: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| Failure::new(format!("kubectl printed no JSON: {e}")))?;
    let objects: Vec<Value> = match applied["kind"].as_str() {
        Some("List") => applied["items"].as_array().cloned().unwrap_or_default(),
        _ => vec![applied],
    };
    let kinds: Vec<String> = objects
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap_or("?"),
                o["metadata"]["name"].as_str().unwrap_or("?")
            )
        })
        .collect();
    ctx.note(format!("kubectl would apply: {}", kinds.join(", ")));

    for (resource, namespaced, name) in [
        (api_resource("v1", "Namespace"), false, namespace.clone()),
        (api_resource("v1", "Secret"), true, bundle.clone()),
        (quay_registry_resource(), true, common::REGISTRY.to_owned()),
    ] {
        let by_kubectl = objects
            .iter()
            .find(|o| o["kind"] == resource.kind.as_str() && o["metadata"]["name"] == name.as_str())
            .ok_or_else(|| {
                Failure::new(format!(
                    "the manifests hold no {} {name}: {}",
                    resource.kind,
                    kinds.join(", ")
                ))
            })?;
        let live = ctx.block_on(async {
            let client = Context::client(&site).await?;
            let api: Api<DynamicObject> = if namespaced {
                Api::namespaced_with(client, &namespace, &resource)
            } else {
                Api::all_with(client, &resource)
            };
            let object = api.get_opt(&name).await?.ok_or_else(|| {
                Failure::new(format!("the resource made no {} {name}", resource.kind))
            })?;
            serde_json::to_value(&object).map_err(|e| Failure::new(e.to_string()))
        })?;
        if let Some(difference) = first_difference(&resource.kind, &ours(&live), &ours(by_kubectl))
        {
            return Err(Failure::new(format!(
                "{} {name} differs between the resource and the manifests at {difference}",
                resource.kind
            )));
        }
        ctx.note(format!("{} {name}: equal", resource.kind));
    }
    let secret = objects
        .iter()
        .find(|o| o["kind"] == "Secret")
        .cloned()
        .unwrap_or_default();
    let mut keys: Vec<&str> = secret["data"]
        .as_object()
        .map(|d| d.keys().map(String::as_str).collect())
        .unwrap_or_default();
    keys.sort_unstable();
    ensure!(
        keys == ["clair-config.yaml", "config.yaml", "ssl.cert", "ssl.key"],
        "the bundle holds {keys:?}, expected every key"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_difference_names_its_path_and_both_values() {
        let left =
            json!({"spec": {"components": [{"kind": "quay"}, {"kind": "mirror", "replicas": 0}]}});
        let right = json!({"spec": {"components": [{"kind": "quay"}, {"kind": "mirror", "replicas": "0"}]}});
        assert_eq!(
            first_difference("QuayRegistry", &left, &right).as_deref(),
            Some("QuayRegistry.spec.components[1].replicas: 0 by the resource, \"0\" by kubectl")
        );
        assert_eq!(first_difference("x", &left, &left), None);
    }
}
