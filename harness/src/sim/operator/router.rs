//! OpenShift's default router, as far as Route status goes: it admits every Route and records
//! itself in `status.ingress[]` (openshift/router `pkg/router/controller/status.go`,
//! `StatusAdmitter.HandleRoute` and `recordIngressCondition`): an entry with the Route's
//! `spec.host`, `routerName`, `routerCanonicalHostname`, `wildcardPolicy: None` and the
//! condition `Admitted=True` with its `lastTransitionTime`, written through the `/status`
//! subresource. The cluster-ingress-operator names the default router `default` and gives it
//! the canonical hostname `router-default.<apps domain>`, which is what the Quay Operator's
//! Route discovery reads back (reference `quay-operator.md` §2). The apps domain here is the
//! one [`super::render::route_host`] generates hosts under: `apps.<site>.example`.
//!
//! Started with the operator model on OpenShift-flavoured clusters. Not modelled: rejections
//! (host conflicts between namespaces, invalid TLS), several routers or shards, the writer
//! lease and contention tracking, serving traffic.

use std::sync::Arc;
use std::time::Duration;

use kube::ResourceExt as _;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use serde_json::{Value, json};

use super::context::Context;
use crate::quay::api_resource;

/// The default router's name.
pub const ROUTER_NAME: &str = "default";

/// The canonical hostname of site `site`'s default router.
#[must_use]
pub fn canonical_hostname(site: &str) -> String {
    format!(
        "router-{ROUTER_NAME}.apps.{}.example",
        site.replace('_', "-")
    )
}

/// Runs the router until the task is aborted.
pub async fn run(ctx: Arc<Context>) {
    let resource = api_resource("route.openshift.io/v1", "Route");
    let routes: Api<DynamicObject> = Api::all_with(ctx.client.clone(), &resource);
    let controller = Controller::new_with(routes, watcher::Config::default(), resource).run(
        reconcile,
        error_policy,
        Arc::clone(&ctx),
    );
    ctx.reconciles.drive("Route", controller).await;
}

fn error_policy(_obj: Arc<DynamicObject>, _err: &kube::Error, _ctx: Arc<Context>) -> Action {
    Action::requeue(Duration::from_millis(500))
}

/// Whether the Route's status already has this router's admitted entry for `host`.
fn is_admitted(route: &DynamicObject, host: &str) -> bool {
    route.data["status"]["ingress"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|i| {
            i["routerName"] == ROUTER_NAME
                && i["host"] == host
                && i["conditions"].as_array().is_some_and(|c| {
                    c.iter()
                        .any(|c| c["type"] == "Admitted" && c["status"] == "True")
                })
        })
}

async fn reconcile(route: Arc<DynamicObject>, ctx: Arc<Context>) -> Result<Action, kube::Error> {
    let host = route.data["spec"]["host"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if host.is_empty() || is_admitted(&route, &host) {
        return Ok(Action::await_change());
    }
    let namespace = route.namespace().unwrap_or_default();
    let resource = api_resource("route.openshift.io/v1", "Route");
    let routes: Api<DynamicObject> =
        Api::namespaced_with(ctx.client.clone(), &namespace, &resource);
    // Other routers' entries stay; this router's entry is replaced.
    let mut ingress: Vec<Value> = route.data["status"]["ingress"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["routerName"] != ROUTER_NAME)
        .cloned()
        .collect();
    // The router writes whole seconds (RFC 3339).
    let now = jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .unwrap_or_else(|_| jiff::Timestamp::now());
    ingress.push(json!({
        "host": host,
        "routerName": ROUTER_NAME,
        "routerCanonicalHostname": canonical_hostname(&ctx.site),
        "wildcardPolicy": "None",
        "conditions": [{
            "type": "Admitted",
            "status": "True",
            "lastTransitionTime": now.to_string(),
        }],
    }));
    routes
        .patch_status(
            &route.name_any(),
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"ingress": ingress}})),
        )
        .await?;
    Ok(Action::await_change())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canonical_hostname_strips_to_the_apps_domain_routes_are_generated_under() {
        let canonical = canonical_hostname("us_east");
        assert_eq!(canonical, "router-default.apps.us-east.example");
        let domain = canonical.strip_prefix("router-default.").unwrap();
        let bundle = crate::quay::Bundle {
            data: std::collections::BTreeMap::new(),
            config_yaml: Vec::new(),
            config: serde_json::Map::new(),
        };
        let generated = super::super::render::route_host(&bundle, "registry", "quay", "us_east");
        assert_eq!(generated, format!("registry-quay-quay.{domain}"));
    }
}
