//! `AC1-custom-hostname`: `SERVER_HOSTNAME` is the global name, not the name the operator
//! would give the site's Route (`<registry>-quay-<namespace>.<cluster domain>`). After one
//! site is applied, the site's Route host (on OpenShift) and the endpoint it reports are the
//! global name, and the global endpoint, when the suite can reach it, answers as that name.

use std::time::Duration;

use kube::Api;
use kube::api::DynamicObject;

use super::common;
use super::user_ingress;
use crate::conformance::context::Context;
use crate::conformance::failure::Failure;
use crate::conformance::scenario::Scenario;
use crate::conformance::target::Platform;
use crate::ensure;
use crate::quay::api_resource;

/// How long the global endpoint may take to route to a new site.
const ROUTED_TIMEOUT: Duration = Duration::from_secs(60);

/// The scenario.
#[must_use]
pub fn scenario() -> Scenario {
    Scenario::new(
        "AC1-custom-hostname",
        "A site whose SERVER_HOSTNAME is the global name, not the name its Route would get, \
         serves and reports itself as that global name.",
        &[],
        run,
    )
    .namespaces(&["hostname"])
}

fn run(ctx: &mut Context<'_>) -> Result<(), Failure> {
    let target = ctx.target().clone();
    let site = target.sites[0].clone();
    let hostname = target.global.quay_hostname.clone();
    let namespace = ctx.namespace("hostname");
    let default_host = format!("{}-quay-{namespace}", common::REGISTRY);
    ensure!(
        !hostname.starts_with(&default_host),
        "the target's global name {hostname} is the Route's default name: nothing to prove"
    );
    let dir = ctx.workdir("hostname")?;
    ctx.write_shared_config(&dir, "")?;
    // On Kubernetes (no Route API) the user's own ingress serves the name.
    let extra = user_ingress::site_lines(&target, &dir, &hostname)?;
    dir.write_file(
        "main.tf",
        &common::sites_tf(&[&site.location], &namespace, &extra),
    )?;
    ctx.step(&format!("terraform apply: {} in {namespace}", site.name));
    ctx.apply(&dir)?;
    let outputs = dir.output_json()?;
    let endpoint = &common::output(&outputs, "endpoints")?[&site.location];
    ensure!(
        *endpoint == format!("https://{hostname}").as_str(),
        "the site reports endpoint {endpoint}, expected https://{hostname}"
    );
    let registry = ctx.block_on(common::registry(&site, &namespace))?;
    let reported = registry.data["status"]["registryEndpoint"].clone();
    ctx.note(format!("status.registryEndpoint: {reported}"));
    ensure!(
        reported == format!("https://{hostname}").as_str(),
        "the operator reports registryEndpoint {reported}, expected https://{hostname}"
    );
    if target.platform == Platform::Openshift {
        let hosts = ctx.block_on(async {
            let client = Context::client(&site).await?;
            let routes: Api<DynamicObject> = Api::namespaced_with(
                client,
                &namespace,
                &api_resource("route.openshift.io/v1", "Route"),
            );
            let list = routes.list(&Default::default()).await?;
            Ok::<_, Failure>(
                list.items
                    .iter()
                    .map(|r| {
                        (
                            r.metadata.name.clone().unwrap_or_default(),
                            r.data["spec"]["host"]
                                .as_str()
                                .unwrap_or_default()
                                .to_owned(),
                        )
                    })
                    .collect::<Vec<_>>(),
            )
        })?;
        ctx.note(format!("routes: {hosts:?}"));
        let quay = hosts
            .iter()
            .find(|(name, _)| name.ends_with("-quay"))
            .ok_or_else(|| Failure::new(format!("no quay Route in {namespace}: {hosts:?}")))?;
        ensure!(
            quay.1 == hostname,
            "the quay Route serves {}, expected the global name {hostname}",
            quay.1
        );
    }
    match target.global.quay_endpoint.clone() {
        Some(url) => {
            if target.platform == Platform::Kubernetes {
                ctx.step("the user's Ingress for the global name (no Route API)");
                ctx.block_on(user_ingress::apply_global(
                    &target,
                    std::slice::from_ref(&site),
                    &namespace,
                ))?;
            }
            ctx.step("asking the global endpoint who it is");
            let health = format!("{url}/health/instance");
            let body = ctx.block_on(Context::until(
                &format!("{health} answering 200"),
                ROUTED_TIMEOUT,
                async || {
                    Ok(crate::lb::get(&health)
                        .await
                        .ok()
                        .filter(|a| a.status == 200)
                        .map(|a| (a.json(), a.site.clone())))
                },
            ))?;
            let (body, answering) = body;
            ensure!(
                answering.as_deref().is_none_or(|a| a == site.name),
                "the global endpoint answered from {answering:?}, but only {} runs a site here",
                site.name
            );
            // The local backend's sites report the name they serve as; Quay's own
            // `/health/instance` does not, and there a 200 for the global name is the answer.
            let answered = body["server_hostname"].clone();
            if answered.is_null() {
                ctx.note("global endpoint: 200 (the site does not report server_hostname)");
            } else {
                ctx.note(format!("global endpoint: server_hostname {answered}"));
                ensure!(
                    answered == hostname.as_str(),
                    "the global endpoint answers as {answered}, expected {hostname}"
                );
            }
        }
        None => ctx.note("the target names no global Quay endpoint: not asked"),
    }
    Ok(())
}
