//! OpenAPI v3 documents, good enough for kubectl's server-side field validation check,
//! client-side `apply` and `kubectl explain` of custom resources.
//!
//! Every item path gets a PATCH operation carrying `x-kubernetes-group-version-kind` and a
//! `fieldValidation` parameter (the check kubectl makes before `--validate=strict`). Schemas:
//! the CRD's `openAPIV3Schema` for custom resources, an open object for built-ins. OpenAPI v2
//! is not served (kubectl tolerates its 404).

use serde_json::{Map, Value, json};

use super::resources::Catalog;

fn gv_key(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `GET /openapi/v3`: one entry per served group-version.
pub fn root(catalog: &Catalog, hash: u64) -> Value {
    let mut paths = Map::new();
    for (group, versions) in catalog.groups() {
        for v in versions {
            let key = gv_key(&group, &v);
            paths.insert(
                key.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={hash:016X}")}),
            );
        }
    }
    json!({"paths": paths})
}

/// `GET /openapi/v3/<api/v1 | apis/g/v>`, if served.
pub fn group_version(catalog: &Catalog, group: &str, version: &str) -> Option<Value> {
    let types: Vec<_> = catalog
        .iter()
        .filter(|t| t.group == group && t.version == version)
        .collect();
    if types.is_empty() {
        return None;
    }
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for t in types {
        let gvk = json!({"group": t.group, "version": t.version, "kind": t.kind});
        let item = if t.namespaced {
            format!(
                "{}/namespaces/{{namespace}}/{}/{{name}}",
                t.gv_prefix(),
                t.plural
            )
        } else {
            format!("{}/{}/{{name}}", t.gv_prefix(), t.plural)
        };
        let op = json!({
            "x-kubernetes-group-version-kind": gvk,
            "parameters": [
                {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
                {"name": "fieldManager", "in": "query", "schema": {"type": "string"}},
                {"name": "dryRun", "in": "query", "schema": {"type": "string"}},
                {"name": "force", "in": "query", "schema": {"type": "boolean"}}
            ],
            "responses": {"200": {"description": "OK"}},
        });
        paths.insert(item.clone(), json!({"patch": op, "put": op}));
        for sub in ["status", "scale"] {
            let served = if sub == "status" {
                t.status
            } else {
                t.scale.is_some()
            };
            if served {
                paths.insert(format!("{item}/{sub}"), json!({"patch": op}));
            }
        }
        let name = format!("{}.{}.{}", reverse_group(&t.group), t.version, t.kind);
        let mut schema = match &t.schema {
            Some(s) => s.schema().clone(),
            None => json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                           "description": format!("{} is a built-in kind served by the simulated cluster.", t.kind)}),
        };
        schema["x-kubernetes-group-version-kind"] = json!([gvk]);
        schemas.insert(name, schema);
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (georep simulated cluster)", "version": "v1.32.4"},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

fn reverse_group(group: &str) -> String {
    if group.is_empty() {
        return "io.k8s.api.core".to_owned();
    }
    group.split('.').rev().collect::<Vec<_>>().join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_patch_operation_declares_field_validation() {
        let doc = group_version(&Catalog::builtin(), "", "v1").unwrap();
        let op = &doc["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]["patch"];
        assert_eq!(op["x-kubernetes-group-version-kind"]["kind"], "ConfigMap");
        assert!(
            op["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "fieldValidation")
        );
    }

    #[test]
    fn root_lists_core_and_group_documents() {
        let root = root(&Catalog::builtin(), 1);
        assert!(root["paths"].get("api/v1").is_some());
        assert!(root["paths"].get("apis/apps/v1").is_some());
    }
}
