//! Discovery documents: `/version`, legacy (`/api`, `/apis`, `APIResourceList`) and
//! aggregated (`APIGroupDiscoveryList`, apidiscovery.k8s.io/v2).
//!
//! Rendered from the catalog on every request, so CRDs appear and disappear at once. The
//! content-type choice for aggregated discovery lives in [`crate::sim::apiserver::http`].

use serde_json::{Value, json};

use super::resources::{Catalog, ResourceType};

/// The version we report; kubectl's dispatcher picks its 1.32 binary from it.
pub const GIT_VERSION: &str = "v1.32.4";

/// The content type of aggregated discovery.
pub const AGGREGATED_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// `/version`.
pub fn version() -> Value {
    json!({
        "major": "1", "minor": "32", "gitVersion": GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23.8", "compiler": "gc",
        "platform": "linux/amd64"
    })
}

const VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
const SUB_VERBS: [&str; 3] = ["get", "patch", "update"];

/// Legacy `/api`.
pub fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions", "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]
    })
}

fn group_entry(group: &str, versions: &[String]) -> Value {
    let list: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    json!({"name": group, "versions": list, "preferredVersion": list.first().cloned().unwrap_or(Value::Null)})
}

/// Legacy `/apis`.
pub fn group_list(catalog: &Catalog) -> Value {
    let groups: Vec<Value> = catalog
        .groups()
        .iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, vs)| group_entry(g, vs))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/<group>`, if the group is served.
pub fn group(catalog: &Catalog, group: &str) -> Option<Value> {
    let groups = catalog.groups();
    let versions = groups.get(group).filter(|_| !group.is_empty())?;
    let mut entry = group_entry(group, versions);
    entry["kind"] = json!("APIGroup");
    entry["apiVersion"] = json!("v1");
    Some(entry)
}

/// `APIResourceList` of one group-version, if served.
pub fn resource_list(catalog: &Catalog, group: &str, version: &str) -> Option<Value> {
    let types: Vec<_> = catalog
        .iter()
        .filter(|t| t.group == group && t.version == version)
        .collect();
    if types.is_empty() {
        return None;
    }
    let mut resources = Vec::new();
    for t in &types {
        resources.push(json!({
            "name": t.plural, "singularName": t.singular, "namespaced": t.namespaced,
            "kind": t.kind, "verbs": VERBS, "shortNames": t.short_names,
        }));
        if t.status {
            resources.push(json!({
                "name": format!("{}/status", t.plural), "singularName": "", "namespaced": t.namespaced,
                "kind": t.kind, "verbs": SUB_VERBS,
            }));
        }
        if t.scale.is_some() {
            resources.push(json!({
                "name": format!("{}/scale", t.plural), "singularName": "", "namespaced": t.namespaced,
                "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": SUB_VERBS,
            }));
        }
    }
    let gv = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}

fn aggregated_resource(t: &ResourceType) -> Value {
    let mut subresources = Vec::new();
    if t.status {
        subresources.push(json!({
            "subresource": "status",
            "responseKind": {"group": t.group, "version": t.version, "kind": t.kind},
            "verbs": SUB_VERBS,
        }));
    }
    if t.scale.is_some() {
        subresources.push(json!({
            "subresource": "scale",
            "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
            "verbs": SUB_VERBS,
        }));
    }
    json!({
        "resource": t.plural,
        "responseKind": {"group": t.group, "version": t.version, "kind": t.kind},
        "scope": if t.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": t.singular,
        "shortNames": t.short_names,
        "verbs": VERBS,
        "subresources": subresources,
    })
}

/// Aggregated discovery for `/api` (`core = true`) or `/apis`.
pub fn aggregated(catalog: &Catalog, core: bool) -> Value {
    let mut items = Vec::new();
    for (group, versions) in catalog.groups() {
        if group.is_empty() != core {
            continue;
        }
        let versions: Vec<Value> = versions
            .iter()
            .map(|v| {
                let resources: Vec<Value> = catalog
                    .iter()
                    .filter(|t| t.group == group && &t.version == v)
                    .map(|t| aggregated_resource(t))
                    .collect();
                json!({"version": v, "freshness": "Current", "resources": resources})
            })
            .collect();
        items.push(json!({"metadata": {"name": group}, "versions": versions}));
    }
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}

/// Whether an `Accept` header asks for aggregated discovery.
pub fn wants_aggregated(accept: &str) -> bool {
    accept.split(',').any(|part| {
        part.contains("g=apidiscovery.k8s.io")
            && part.contains("as=APIGroupDiscoveryList")
            && part.contains("v=v2")
            && !part.contains("v=v2beta1")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_list_advertises_scale_in_the_autoscaling_group() {
        let list = resource_list(&Catalog::builtin(), "apps", "v1").unwrap();
        let scale = list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "deployments/scale")
            .unwrap();
        assert_eq!(scale["group"], "autoscaling");
        assert_eq!(scale["kind"], "Scale");
    }

    #[test]
    fn aggregated_core_discovery_has_short_names() {
        let doc = aggregated(&Catalog::builtin(), true);
        let resources = doc["items"][0]["versions"][0]["resources"]
            .as_array()
            .unwrap();
        let cm = resources
            .iter()
            .find(|r| r["resource"] == "configmaps")
            .unwrap();
        assert_eq!(cm["shortNames"][0], "cm");
    }

    #[test]
    fn kubectl_accept_header_selects_aggregated_discovery() {
        let accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert!(wants_aggregated(accept));
        assert!(!wants_aggregated("application/json, */*"));
    }
}
