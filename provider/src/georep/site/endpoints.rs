//! Where a global load balancer and DNS send one site's traffic, read from its live objects.
//!
//! Every site serves the one global name (`SERVER_HOSTNAME`), so a global load balancer needs,
//! per site, an address to send that name's traffic to and the URLs to check the site's
//! health with. [`SiteEndpoints::read`] works them out from what the cluster reports:
//!
//! - **Target** ([`SiteEndpoints::target`]): on OpenShift the router's canonical hostname,
//!   `status.ingress[].routerCanonicalHostname` of the managed Route once a router admitted it
//!   (openshift/router `pkg/router/controller/status.go`, `recordIngressCondition`, writes
//!   it with the `Admitted` condition; a DNS name that resolves to the router's addresses). On
//!   plain Kubernetes, where the Route is unmanaged and the user's own ingress serves the
//!   name, the `status.loadBalancer.ingress[0]` hostname or IP of an Ingress of the site's
//!   namespace whose rule host is `SERVER_HOSTNAME` or whose backend is the `<n>-quay-app`
//!   Service, else of a `LoadBalancer` Service of the namespace that selects the Quay pods.
//! - **Quay health** ([`SiteEndpoints::quay_health_url`]): `https://SERVER_HOSTNAME/health/instance`
//!   (the local instance's check, reference `quay-operator.md` §0 item 14), to be sent to the
//!   target with `SERVER_HOSTNAME` as Host and TLS server name, since the site's Route or
//!   Ingress serves only that name.
//! - **Clair health** ([`SiteEndpoints::clair_health_url`]): with a managed Clair, its
//!   introspection port's `/healthz` on the `<n>-clair-app` Service (port 8089 in quay-operator
//!   `kustomize/components/clair/clair.service.yaml`); an in-cluster address, for the global
//!   Clair endpoint's own per-site exposure to check.
//! - **Per-site host** ([`SiteEndpoints::site_hostname`]): the host the operator generates when
//!   `SERVER_HOSTNAME` is unset, `<n>-quay-<ns>.<apps domain>`, the apps domain being the
//!   canonical hostname without `router-<router name>.` (quay-operator `ensureRouteDiscovery`
//!   and `fillServerHostname`, reference §2). With the global `SERVER_HOSTNAME` no managed Route
//!   serves it (the operator has no per-site host): it is the name to give a per-site Route or
//!   DNS record of your own, known only on OpenShift.
//!
//! Pure: JSON objects in, text out. Which objects to read is the caller's business.

use serde_json::Value as Json;

/// The label the operator puts on every object with the component's name
/// (reference `quay-operator.md` §1.6).
const COMPONENT_LABEL: &str = "quay-component";

/// Clair's introspection port on the operator's `<n>-clair-app` Service.
const CLAIR_INTROSPECTION_PORT: u16 = 8089;

/// The live objects a site's endpoints are read from.
#[derive(Debug, Clone, Copy)]
pub struct EndpointObjects<'a> {
    /// The `QuayRegistry`.
    pub registry: &'a Json,
    /// The managed Route `<n>-quay`, when the cluster has one.
    pub route: Option<&'a Json>,
    /// The Ingresses of the site's namespace.
    pub ingresses: &'a [Json],
    /// The Services of the site's namespace.
    pub services: &'a [Json],
}

/// What a global load balancer and DNS need of one site; `None` where the cluster does not
/// say yet (no router has admitted the Route, no load balancer address, no endpoint).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteEndpoints {
    /// Where to send the global name's traffic for this site.
    pub target: Option<String>,
    /// Quay's health check URL.
    pub quay_health_url: Option<String>,
    /// Clair's health check URL, with a managed Clair.
    pub clair_health_url: Option<String>,
    /// The host the operator would generate for this site.
    pub site_hostname: Option<String>,
}

impl SiteEndpoints {
    /// Reads the endpoints of the site `objects` describe.
    #[must_use]
    pub fn read(objects: &EndpointObjects<'_>) -> Self {
        let registry = objects.registry;
        let name = registry["metadata"]["name"].as_str().unwrap_or_default();
        let namespace = registry["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default();
        let server = server_host(registry);
        let admitted = objects.route.and_then(admitted_ingress);
        let target = admitted
            .and_then(|i| text(&i["routerCanonicalHostname"]))
            .or_else(|| {
                let app = format!("{name}-quay-app");
                objects
                    .ingresses
                    .iter()
                    .filter(|i| serves(i, server.as_deref(), &app))
                    .find_map(load_balancer_address)
            })
            .or_else(|| {
                objects
                    .services
                    .iter()
                    .filter(|s| is_quay_load_balancer(s))
                    .find_map(load_balancer_address)
            });
        let site_hostname = admitted.and_then(|ingress| {
            let canonical = text(&ingress["routerCanonicalHostname"])?;
            let router = text(&ingress["routerName"])?;
            let domain = canonical.strip_prefix(&format!("router-{router}."))?;
            Some(format!("{name}-quay-{namespace}.{domain}"))
        });
        Self {
            target,
            quay_health_url: server.map(|host| format!("https://{host}/health/instance")),
            clair_health_url: is_clair_managed(registry).then(|| {
                format!(
                    "http://{name}-clair-app.{namespace}.svc.cluster.local:\
                     {CLAIR_INTROSPECTION_PORT}/healthz"
                )
            }),
            site_hostname,
        }
    }
}

fn text(value: &Json) -> Option<String> {
    value.as_str().filter(|v| !v.is_empty()).map(str::to_owned)
}

/// `SERVER_HOSTNAME` as the operator reports it: `status.registryEndpoint` without its scheme.
fn server_host(registry: &Json) -> Option<String> {
    let endpoint = text(&registry["status"]["registryEndpoint"])?;
    let host = endpoint
        .strip_prefix("https://")
        .or_else(|| endpoint.strip_prefix("http://"))
        .unwrap_or(&endpoint);
    Some(host.trim_end_matches('/').to_owned()).filter(|h| !h.is_empty())
}

/// The Route's ingress entry for its own host that a router admitted.
fn admitted_ingress(route: &Json) -> Option<&Json> {
    let host = route["spec"]["host"].as_str();
    route["status"]["ingress"]
        .as_array()?
        .iter()
        .filter(|i| host.is_none() || i["host"].as_str() == host)
        .find(|i| {
            i["conditions"].as_array().is_some_and(|conditions| {
                conditions
                    .iter()
                    .any(|c| c["type"] == "Admitted" && c["status"] == "True")
            })
        })
}

/// Whether an Ingress serves the site: a rule for `server` (without its port), or a backend
/// that is the Quay Service `app`.
fn serves(ingress: &Json, server: Option<&str>, app: &str) -> bool {
    let server_host = server.map(|s| s.split(':').next().unwrap_or(s));
    ingress["spec"]["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|rule| {
            let host_matches = server_host.is_some() && rule["host"].as_str() == server_host;
            let backend_matches = rule["http"]["paths"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["backend"]["service"]["name"] == app);
            host_matches || backend_matches
        })
}

/// Whether a Service is a `LoadBalancer` in front of the Quay pods.
fn is_quay_load_balancer(service: &Json) -> bool {
    service["spec"]["type"] == "LoadBalancer"
        && service["spec"]["selector"][COMPONENT_LABEL] == "quay-app"
}

/// The first `status.loadBalancer.ingress` hostname, else IP.
fn load_balancer_address(object: &Json) -> Option<String> {
    object["status"]["loadBalancer"]["ingress"]
        .as_array()?
        .iter()
        .find_map(|i| text(&i["hostname"]).or_else(|| text(&i["ip"])))
}

/// Whether the `QuayRegistry` declares a managed Clair (the operator writes every component
/// back into the spec, so an absent one is treated as not managed).
fn is_clair_managed(registry: &Json) -> bool {
    registry["spec"]["components"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["kind"] == "clair" && c["managed"] == true)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn registry(clair: bool) -> Json {
        json!({
            "metadata": {"name": "registry", "namespace": "quay"},
            "spec": {"components": [
                {"kind": "clair", "managed": clair},
                {"kind": "route", "managed": true},
            ]},
            "status": {"registryEndpoint": "https://quay.global.example.com"},
        })
    }

    fn route(admitted: &str) -> Json {
        json!({
            "spec": {"host": "quay.global.example.com"},
            "status": {"ingress": [{
                "host": "quay.global.example.com",
                "routerName": "default",
                "routerCanonicalHostname": "router-default.apps.east.example.com",
                "wildcardPolicy": "None",
                "conditions": [{"type": "Admitted", "status": admitted}],
            }]},
        })
    }

    fn read(
        registry: &Json,
        route: Option<&Json>,
        ingresses: &[Json],
        services: &[Json],
    ) -> SiteEndpoints {
        SiteEndpoints::read(&EndpointObjects {
            registry,
            route,
            ingresses,
            services,
        })
    }

    #[test]
    fn an_admitted_route_gives_the_router_as_target_and_the_generated_site_host() {
        let registry = registry(true);
        let route = route("True");
        let found = read(&registry, Some(&route), &[], &[]);
        assert_eq!(
            found,
            SiteEndpoints {
                target: Some("router-default.apps.east.example.com".into()),
                quay_health_url: Some("https://quay.global.example.com/health/instance".into()),
                clair_health_url: Some(
                    "http://registry-clair-app.quay.svc.cluster.local:8089/healthz".into()
                ),
                site_hostname: Some("registry-quay-quay.apps.east.example.com".into()),
            }
        );
    }

    #[test]
    fn a_route_no_router_admitted_gives_no_target_yet() {
        let registry = registry(false);
        let route = route("False");
        let found = read(&registry, Some(&route), &[], &[]);
        assert_eq!(found.target, None);
        assert_eq!(found.site_hostname, None);
        assert_eq!(found.clair_health_url, None);
        let unwritten = json!({"spec": {"host": "quay.global.example.com"}});
        assert_eq!(read(&registry, Some(&unwritten), &[], &[]).target, None);
    }

    #[test]
    fn on_kubernetes_the_ingress_for_the_global_name_gives_the_target() {
        let registry = registry(false);
        let other = json!({
            "spec": {"rules": [{"host": "other.example.com"}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.9"}]}},
        });
        let by_host = json!({
            "spec": {"rules": [{"host": "quay.global.example.com"}]},
            "status": {"loadBalancer": {"ingress": [{"hostname": "lb-east.example.net"}]}},
        });
        let found = read(&registry, None, &[other.clone(), by_host], &[]);
        assert_eq!(found.target.as_deref(), Some("lb-east.example.net"));
        assert_eq!(found.site_hostname, None);
        let by_backend = json!({
            "spec": {"rules": [{"http": {"paths": [
                {"backend": {"service": {"name": "registry-quay-app"}}},
            ]}}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.7"}]}},
        });
        let found = read(&registry, None, &[other, by_backend], &[]);
        assert_eq!(found.target.as_deref(), Some("192.0.2.7"));
    }

    #[test]
    fn on_kubernetes_a_load_balancer_service_for_quay_gives_the_target() {
        let registry = registry(false);
        let cluster_ip = json!({
            "spec": {"type": "ClusterIP", "selector": {"quay-component": "quay-app"}},
        });
        let other_pods = json!({
            "spec": {"type": "LoadBalancer", "selector": {"app": "other"}},
            "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}},
        });
        let quay = json!({
            "spec": {"type": "LoadBalancer", "selector": {"quay-component": "quay-app"}},
            "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.2"}]}},
        });
        let services = [cluster_ip, other_pods.clone()];
        assert_eq!(read(&registry, None, &[], &services).target, None);
        let services = [other_pods, quay];
        assert_eq!(
            read(&registry, None, &[], &services).target.as_deref(),
            Some("192.0.2.2")
        );
    }

    #[test]
    fn a_registry_without_an_endpoint_has_no_health_url() {
        let mut registry = registry(false);
        registry["status"] = json!({});
        assert_eq!(read(&registry, None, &[], &[]), SiteEndpoints::default());
    }
}
