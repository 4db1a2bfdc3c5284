//! CustomResourceDefinitions: checking a CRD object and turning it into served types.
//!
//! [`admit`] validates the parts of a CRD we rely on and writes the status a real server
//! reports once the names are accepted (`NamesAccepted`, `Established`). [`serve`] registers
//! every served version in the catalog; removal happens in the store when the CRD is deleted.
//! Conversion webhooks and multiple stored versions are not modelled: every version shares
//! one bucket of objects.

use std::sync::Arc;

use serde_json::{Value, json};

use super::object;
use super::resources::{Catalog, ResourceType, ScaleSpec};
use super::status::{ApiError, Cause, Target};
use super::validation::CompiledSchema;

/// `(spec.group, spec.names.plural)` of a CRD object.
pub fn group_plural(crd: &Value) -> Option<(String, String)> {
    let group = crd.pointer("/spec/group")?.as_str()?;
    let plural = crd.pointer("/spec/names/plural")?.as_str()?;
    Some((group.to_owned(), plural.to_owned()))
}

/// Check a CRD and fill its status.
///
/// # Errors
/// [`ApiError::Invalid`] when group, names, scope or versions are missing, the name is not
/// `<plural>.<group>`, or the kind is already served by another CRD of the group.
pub fn admit(catalog: &Catalog, crd: &mut Value) -> Result<(), ApiError> {
    let name = object::name(crd).to_owned();
    let mut causes = Vec::new();
    let text = |p: &str| {
        crd.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let (group, plural, kind) = (
        text("/spec/group"),
        text("/spec/names/plural"),
        text("/spec/names/kind"),
    );
    for (field, value) in [
        ("spec.group", &group),
        ("spec.names.plural", &plural),
        ("spec.names.kind", &kind),
    ] {
        if value.is_empty() {
            causes.push(Cause::new("FieldValueRequired", field, "Required value"));
        }
    }
    let scope = text("/spec/scope");
    if scope != "Namespaced" && scope != "Cluster" {
        causes.push(Cause::new(
            "FieldValueNotSupported",
            "spec.scope",
            format!(
                "Unsupported value: \"{scope}\": supported values: \"Cluster\", \"Namespaced\""
            ),
        ));
    }
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if versions.is_empty() {
        causes.push(Cause::new(
            "FieldValueRequired",
            "spec.versions",
            "Required value: must have exactly one version marked as storage version",
        ));
    }
    if !group.is_empty() && !plural.is_empty() && name != format!("{plural}.{group}") {
        causes.push(Cause::new(
            "FieldValueInvalid",
            "metadata.name",
            format!("Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    if let Some(existing) = catalog.by_kind(&group, &kind)
        && existing.plural != plural
    {
        causes.push(Cause::new(
            "FieldValueInvalid",
            "spec.names.kind",
            format!(
                "Invalid value: \"{kind}\": is already in use by {}",
                existing.plural
            ),
        ));
    }
    if !causes.is_empty() {
        return Err(ApiError::Invalid {
            target: Target::new("apiextensions.k8s.io", "CustomResourceDefinition", &name),
            causes,
        });
    }
    let now = object::now_timestamp();
    let condition = |t: &str, reason: &str, message: &str| json!({"type": t, "status": "True", "lastTransitionTime": now, "reason": reason, "message": message});
    let stored: Vec<Value> = versions
        .iter()
        .filter(|v| v.get("storage") == Some(&Value::Bool(true)))
        .filter_map(|v| v.get("name").cloned())
        .collect();
    crd["status"] = json!({
        "acceptedNames": crd.pointer("/spec/names").cloned().unwrap_or(Value::Null),
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "storedVersions": stored,
    });
    Ok(())
}

/// Register every served version of an admitted CRD in the catalog.
pub fn serve(catalog: &mut Catalog, crd: &Value) {
    let Some((group, plural)) = group_plural(crd) else {
        return;
    };
    catalog.remove(&group, &plural);
    let names = crd.pointer("/spec/names").cloned().unwrap_or(Value::Null);
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let kind = text(&names, "kind");
    let singular = match text(&names, "singular") {
        s if s.is_empty() => kind.to_lowercase(),
        s => s,
    };
    let short_names: Vec<String> = names
        .get("shortNames")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let namespaced = crd.pointer("/spec/scope").and_then(Value::as_str) == Some("Namespaced");
    for version in crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if version.get("served") == Some(&Value::Bool(false)) {
            continue;
        }
        let subresources = version.get("subresources");
        let scale = subresources
            .and_then(|s| s.get("scale"))
            .map(|s| ScaleSpec {
                spec_replicas: text(s, "specReplicasPath")
                    .trim_start_matches('.')
                    .to_owned(),
                status_replicas: text(s, "statusReplicasPath")
                    .trim_start_matches('.')
                    .to_owned(),
            });
        let schema = version
            .pointer("/schema/openAPIV3Schema")
            .map(|s| Arc::new(CompiledSchema::new(&group, s.clone())));
        catalog.insert(ResourceType {
            group: group.clone(),
            version: text(version, "name"),
            plural: plural.clone(),
            singular: singular.clone(),
            kind: kind.clone(),
            namespaced,
            short_names: short_names.clone(),
            status: subresources.and_then(|s| s.get("status")).is_some(),
            scale,
            builtin: false,
            schema,
        });
    }
}
