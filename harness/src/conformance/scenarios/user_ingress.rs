//! What a user of a plain Kubernetes target (no Route API) does for the global names: the
//! site's `route` unmanaged with the user's certificate (the provider's documented
//! Kubernetes set-up), and an Ingress per site that serves the global Quay name on the
//! `quay-app` Service's HTTPS port and the global Clair name on the `clair-app` Service, so
//! the global load balancer's health checks find every site (the kind backend's HAProxy
//! balancers reach each site's ingress-nginx with the global name as `Host`).
//!
//! The Service names and ports are the operator's (`kustomize/base/quay.service.yaml` and
//! `kustomize/components/clair/clair.service.yaml` in quay/quay-operator: `quay-app` 443 for
//! HTTPS, `clair-app` 80 for the API and 8089 for introspection, where `/healthz` is), each
//! prefixed with the `QuayRegistry`'s name.

use k8s_openapi::api::networking::v1::Ingress;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::json;

use super::common::{self, REGISTRY};
use crate::conformance::context::Context;
use crate::conformance::failure::Failure;
use crate::conformance::target::{Platform, SiteTarget, Target};
use crate::terraform::Workdir;

/// The field manager of the Ingresses the suite applies.
const MANAGER: &str = "georep-conformance";

/// The lines a site block needs on `target` to serve `hostname`: none on OpenShift (the
/// operator's Route serves it); on Kubernetes the route unmanaged and the user's certificate
/// for `hostname`, written into `dir`.
///
/// # Errors
/// The certificate could not be made or written.
pub fn site_lines(target: &Target, dir: &Workdir, hostname: &str) -> Result<String, Failure> {
    if target.platform != Platform::Kubernetes {
        return Ok(String::new());
    }
    common::write_certificate(dir, hostname)?;
    Ok(common::USER_TLS.to_owned() + "  route {\n    managed = false\n  }\n")
}

/// The user's Ingresses of `site` in `namespace` for the global names: `georep-global-quay`
/// (HTTPS to the Quay Service) and, with a Clair name, `georep-global-clair`.
///
/// # Errors
/// An object does not parse as an Ingress (a bug of the suite).
pub fn ingresses(
    namespace: &str,
    quay_host: &str,
    clair_host: Option<&str>,
) -> Result<Vec<Ingress>, Failure> {
    let rule =
        |host: &str, paths: serde_json::Value| json!({"host": host, "http": {"paths": paths}});
    let path = |path: &str, kind: &str, service: &str, port: u16| {
        json!({
            "path": path,
            "pathType": kind,
            "backend": {"service": {"name": format!("{REGISTRY}-{service}"), "port": {"number": port}}},
        })
    };
    let mut all = vec![json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": "georep-global-quay",
            "namespace": namespace,
            // Quay serves TLS itself (its own certificate for the global name).
            "annotations": {"nginx.ingress.kubernetes.io/backend-protocol": "HTTPS"},
        },
        "spec": {
            "ingressClassName": "nginx",
            "rules": [rule(quay_host, json!([path("/", "Prefix", "quay-app", 443)]))],
        },
    })];
    if let Some(clair_host) = clair_host {
        all.push(json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "georep-global-clair", "namespace": namespace},
            "spec": {
                "ingressClassName": "nginx",
                "rules": [rule(clair_host, json!([
                    path("/healthz", "Exact", "clair-app", 8089),
                    path("/", "Prefix", "clair-app", 80),
                ]))],
            },
        }));
    }
    all.into_iter()
        .map(|value| {
            serde_json::from_value(value)
                .map_err(|e| Failure::new(format!("the suite's Ingress does not parse: {e}")))
        })
        .collect()
}

/// Applies [`ingresses`] to `sites` (sites of `target` that run a registry in `namespace`)
/// when the target is Kubernetes; nothing on OpenShift.
///
/// # Errors
/// An Ingress could not be applied.
pub async fn apply_global(
    target: &Target,
    sites: &[SiteTarget],
    namespace: &str,
) -> Result<(), Failure> {
    if target.platform != Platform::Kubernetes {
        return Ok(());
    }
    for site in sites {
        apply(site, namespace, target).await?;
    }
    Ok(())
}

async fn apply(site: &SiteTarget, namespace: &str, target: &Target) -> Result<(), Failure> {
    let client = Context::client(site).await?;
    let api: Api<Ingress> = Api::namespaced(client, namespace);
    for ingress in ingresses(
        namespace,
        &target.global.quay_hostname,
        target.global.clair_hostname.as_deref(),
    )? {
        let name = ingress.metadata.name.clone().unwrap_or_default();
        api.patch(
            &name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&ingress),
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quay_goes_to_the_https_port_and_clair_health_to_introspection() {
        let all = ingresses("global", "quay.example.com", Some("clair.example.com")).unwrap();
        assert_eq!(all.len(), 2, "both parse as Ingresses");
        let quay = serde_json::to_value(&all[0]).unwrap();
        assert_eq!(quay["spec"]["rules"][0]["host"], "quay.example.com");
        let backend = &quay["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"];
        assert_eq!(backend["name"], "registry-quay-app");
        assert_eq!(backend["port"]["number"], 443);
        let clair = serde_json::to_value(&all[1]).unwrap();
        let paths = &clair["spec"]["rules"][0]["http"]["paths"];
        assert_eq!(paths[0]["path"], "/healthz");
        assert_eq!(paths[0]["backend"]["service"]["port"]["number"], 8089);
        assert_eq!(paths[1]["backend"]["service"]["port"]["number"], 80);
        assert_eq!(ingresses("global", "q", None).unwrap().len(), 1);
    }
}
