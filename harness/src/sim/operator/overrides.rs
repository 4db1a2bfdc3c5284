//! `spec.components[].overrides` applied to the objects the operator renders.
//!
//! Follows upstream `pkg/middleware/middleware.go` (`Process`, run on every object `Inflate`
//! renders in `pkg/kustomize/kustomize.go`) with the getters of
//! `apis/quay/v1/quayregistry_types.go` (`Get*OverrideForComponent`, `ExceptionLabel`):
//!
//! | object | overrides applied |
//! |---|---|
//! | Deployment (its component from the `quay-component` annotation, dashes dropped) | `env` upserted into every container (`QUAY_VERSION` of quay-app stays the operator's); `affinity` replaces the pod's; `replicas` on quay-app, quay-mirror and clair-app when the HPA is unmanaged and the rendering left `spec.replicas` unset; `labels` on the Deployment and its pod template (not `quay-component`, `app`, `quay-operator/quayregistry`); `resources` replace the first container's requests and limits; `securityContext` on every container; `annotations` on the Deployment and its pod template; on clair-app, `volumeSize` and `storageClassName` in the claim template of the ephemeral volume `indexer-layer-storage` |
//! | Job (the migration) | quay's `env` and `securityContext` |
//! | Route | the `route` component's `labels` (same exceptions) and `annotations` |
//!
//! [`component_of`] finds an object's component the way upstream does, so a Deployment any
//! renderer adds (the managed databases: annotation `quay-component: postgres`,
//! `clair-postgres`, `redis`) gets its overrides by calling [`apply`].
//!
//! Not modelled here: the PVC overrides (`volumeSize`, `storageClassName` of `postgres` and
//! `clairpostgres`), the `skipres` trimming of resources, and the managed-field-groups
//! annotation. Pure: values in, values out.

use serde_json::{Map, Value, json};

use super::components::{ComponentKind, Components, Replicas, replicas_for};

/// The annotation (on Deployments, Routes, HPAs) naming the component an object belongs to.
pub const COMPONENT_ANNOTATION: &str = "quay-component";

/// The Clair volume the `clair` overrides `volumeSize` and `storageClassName` resize
/// (upstream `kustomize/components/clair/clair.deployment.yaml`).
pub const CLAIR_VOLUME: &str = "indexer-layer-storage";

/// Labels an override may not change (`ExceptionLabel`).
const EXCEPTION_LABELS: [&str; 3] = ["quay-component", "app", "quay-operator/quayregistry"];

/// The component whose overrides apply to `object`, found as upstream `Process` does: a
/// Deployment by its `quay-component` annotation with dashes dropped (`clair-postgres` is
/// `clairpostgres`), a Route is the `route` component's, a Job the `quay` component's.
/// `None` for other objects (Secrets, Services, HPAs) and unknown annotations.
#[must_use]
pub fn component_of(object: &Value) -> Option<ComponentKind> {
    match object["kind"].as_str()? {
        "Deployment" => object["metadata"]["annotations"][COMPONENT_ANNOTATION]
            .as_str()?
            .replace('-', "")
            .parse()
            .ok(),
        "Route" => Some(ComponentKind::Route),
        "Job" => Some(ComponentKind::Quay),
        _ => None,
    }
}

/// Applies the overrides of component `kind` in `components` to the rendered `object`
/// (a Deployment, Job or Route; other kinds are left alone). See the module doc for what
/// each override does to which object.
pub fn apply(components: &Components, kind: ComponentKind, object: &mut Value) {
    let overrides = components
        .get(kind)
        .and_then(|c| c.overrides.clone())
        .unwrap_or_default();
    match object["kind"].as_str() {
        Some("Deployment") => deployment(components, kind, &overrides, object),
        Some("Job") => {
            let containers = &mut object["spec"]["template"]["spec"]["containers"];
            upsert_env(containers, &overrides);
            set_security_context(containers, &overrides);
        }
        Some("Route") => {
            let meta = &mut object["metadata"];
            add_labels(meta, &overrides);
            add_annotations(meta, &overrides);
        }
        _ => {}
    }
}

fn deployment(
    components: &Components,
    kind: ComponentKind,
    overrides: &Map<String, Value>,
    object: &mut Value,
) {
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let template = &mut object["spec"]["template"];
    let quay_version = template
        .pointer("/spec/containers/0/env")
        .and_then(Value::as_array)
        .and_then(|env| env.iter().find(|e| e["name"] == "QUAY_VERSION"))
        .cloned();
    if components.is_managed(kind) {
        let containers = &mut template["spec"]["containers"];
        upsert_env(containers, overrides);
        // Upstream upserts the operator's QUAY_VERSION into quay-app after the user's env.
        if let (ComponentKind::Quay, Some(version)) = (kind, quay_version) {
            upsert(containers, &version);
        }
    }
    if let Some(affinity) = present(overrides, "affinity") {
        template["spec"]["affinity"] = affinity.clone();
    }
    let scalable = ["clair-app", "quay-mirror", "quay-app"]
        .iter()
        .any(|suffix| name.ends_with(suffix));
    if scalable
        && !components.is_managed(ComponentKind::Hpa)
        && object["spec"].get("replicas").is_none_or(Value::is_null)
        && let Replicas::Set(n) = replicas_for(components, kind)
    {
        object["spec"]["replicas"] = json!(n);
    }
    let template = &mut object["spec"]["template"];
    add_labels(&mut template["metadata"], overrides);
    if let Some(resources) = present(overrides, "resources")
        && let Some(container) = template
            .pointer_mut("/spec/containers/0")
            .filter(|c| c.is_object())
    {
        container["resources"] = json!({
            "requests": resources.get("requests").cloned().unwrap_or(Value::Null),
            "limits": resources.get("limits").cloned().unwrap_or(Value::Null),
        });
        strip_nulls(&mut container["resources"]);
    }
    set_security_context(&mut template["spec"]["containers"], overrides);
    add_annotations(&mut template["metadata"], overrides);
    if name.ends_with("clair-app") {
        clair_volume(components, &mut template["spec"]["volumes"]);
    }
    add_labels(&mut object["metadata"], overrides);
    add_annotations(&mut object["metadata"], overrides);
}

/// `overrides[key]` unless absent or null.
fn present<'a>(overrides: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    overrides.get(key).filter(|v| !v.is_null())
}

fn strip_nulls(value: &mut Value) {
    if let Some(map) = value.as_object_mut() {
        map.retain(|_, v| !v.is_null());
    }
}

/// `UpsertContainerEnv` of every `env` override into every container.
fn upsert_env(containers: &mut Value, overrides: &Map<String, Value>) {
    let Some(env) = present(overrides, "env").and_then(Value::as_array) else {
        return;
    };
    for var in env {
        upsert(containers, var);
    }
}

/// Replaces the variable of the same name in every container, or appends it.
fn upsert(containers: &mut Value, var: &Value) {
    let Some(containers) = containers.as_array_mut() else {
        return;
    };
    for container in containers {
        if !container["env"].is_array() {
            container["env"] = json!([]);
        }
        if let Some(env) = container["env"].as_array_mut() {
            match env.iter_mut().find(|e| e["name"] == var["name"]) {
                Some(existing) => *existing = var.clone(),
                None => env.push(var.clone()),
            }
        }
    }
}

fn set_security_context(containers: &mut Value, overrides: &Map<String, Value>) {
    let Some(context) = present(overrides, "securityContext") else {
        return;
    };
    for container in containers.as_array_mut().into_iter().flatten() {
        container["securityContext"] = context.clone();
    }
}

fn add_labels(meta: &mut Value, overrides: &Map<String, Value>) {
    let Some(labels) = present(overrides, "labels").and_then(Value::as_object) else {
        return;
    };
    for (key, value) in labels {
        if !EXCEPTION_LABELS.contains(&key.as_str()) {
            add(meta, "labels", key, value);
        }
    }
}

fn add_annotations(meta: &mut Value, overrides: &Map<String, Value>) {
    let Some(annotations) = present(overrides, "annotations").and_then(Value::as_object) else {
        return;
    };
    for (key, value) in annotations {
        add(meta, "annotations", key, value);
    }
}

fn add(meta: &mut Value, field: &str, key: &str, value: &Value) {
    if !meta.is_object() {
        *meta = json!({});
    }
    if !meta[field].is_object() {
        meta[field] = json!({});
    }
    meta[field][key] = value.clone();
}

/// `applyClairEphemeralVolumeOverrides`: `volumeSize` and `storageClassName` of `clair` into
/// the claim template of [`CLAIR_VOLUME`].
fn clair_volume(components: &Components, volumes: &mut Value) {
    let overrides = components
        .get(ComponentKind::Clair)
        .and_then(|c| c.overrides.clone())
        .unwrap_or_default();
    let size = present(&overrides, "volumeSize");
    let class = present(&overrides, "storageClassName");
    if size.is_none() && class.is_none() {
        return;
    }
    let Some(volume) = volumes
        .as_array_mut()
        .and_then(|v| v.iter_mut().find(|v| v["name"] == CLAIR_VOLUME))
    else {
        return;
    };
    let spec = &mut volume["ephemeral"]["volumeClaimTemplate"]["spec"];
    if !spec.is_object() {
        return;
    }
    if let Some(size) = size {
        spec["resources"]["requests"] = json!({ "storage": size });
    }
    if let Some(class) = class {
        spec["storageClassName"] = class.clone();
    }
}

#[cfg(test)]
mod tests;
