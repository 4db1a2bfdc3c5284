//! `GLB-quay-and-clair`: the global Quay and Clair endpoints route only to sites that have
//! ready pods. Every site of the target is applied; the first two answer through the global
//! names; one is scaled
//! to zero by hand (as an upgrade scales a secondary down) and, once its pods are gone, every
//! answer comes from the other with no request refused; `terraform apply` restores it and it
//! answers again.
//!
//! When the run may upgrade the operator (`--allow-operator-upgrade`, or the local backend)
//! and a newer minor exists, every site is then upgraded with `quay_georep_upgrade` while a
//! client asks each global name throughout: every answer comes from a site that answers
//! (never from one scaled down), Quay never from the old version again once the new one
//! answered, one outage at most (the primary's migration), and every site answers after it.
//!
//! It needs global endpoints the suite can reach and that say which site answered (the
//! local backend's load balancer sets a header); on a target without them it is skipped.

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams};
use serde_json::json;

use super::common::{self, REGISTRY};
use super::upgrading;
use super::user_ingress;
use crate::conformance::context::Context;
use crate::conformance::failure::Failure;
use crate::conformance::scenario::{OperatorUpgrade, Scenario};
use crate::conformance::target::{Platform, SiteTarget};
use crate::ensure;
use crate::quay::COMPONENT_LABEL;

/// How long routing may take to follow a site's pods.
const ROUTING_TIMEOUT: Duration = Duration::from_secs(90);
/// Requests per sample.
const SAMPLE: usize = 12;

/// The scenario.
#[must_use]
pub fn scenario() -> Scenario {
    Scenario::new(
        "GLB-quay-and-clair",
        "The global Quay and Clair endpoints answer only from sites with ready pods while a \
         site is scaled down, through an upgrade, and from every site again once Terraform \
         restores it.",
        &[],
        run,
    )
    .namespaces(&["global"])
    // It scales a site the global endpoints route to: another scenario's sites would
    // answer through them meanwhile.
    .exclusive()
    .upgrades_operator(OperatorUpgrade::IfAllowed)
}

/// Asks `url` `SAMPLE` times: the sites that answered, and how many requests got no answer
/// from any site.
async fn sample(url: &str) -> Result<(BTreeSet<String>, usize), Failure> {
    let mut sites = BTreeSet::new();
    let mut refused = 0;
    for _ in 0..SAMPLE {
        match crate::lb::get(url).await {
            Ok(answer) if answer.status < 500 => {
                let site = answer
                    .site
                    .clone()
                    .or_else(|| answer.json()["site"].as_str().map(str::to_owned))
                    .ok_or_else(|| {
                        Failure::skip("the global endpoint does not say which site answered")
                    })?;
                sites.insert(site);
            }
            _ => refused += 1,
        }
    }
    Ok((sites, refused))
}

/// Whether `site` has no ready pod of `component` in `namespace`.
async fn has_no_ready(
    site: &SiteTarget,
    namespace: &str,
    component: &str,
) -> Result<bool, Failure> {
    let client = Context::client(site).await?;
    let api: Api<Deployment> = Api::namespaced(client, namespace);
    let list = api
        .list(&ListParams::default().labels(&format!("{COMPONENT_LABEL}={component}")))
        .await?;
    Ok(list.items.iter().all(|d| {
        d.status
            .as_ref()
            .and_then(|s| s.ready_replicas)
            .unwrap_or(0)
            == 0
    }))
}

fn run(ctx: &mut Context<'_>) -> Result<(), Failure> {
    let target = ctx.target().clone();
    let (Some(quay), Some(clair)) = (
        target.global.quay_endpoint.clone(),
        target.global.clair_endpoint.clone(),
    ) else {
        return Err(Failure::skip(
            "the target names no global Quay and Clair endpoints",
        ));
    };
    let endpoints = [
        ("quay", format!("{quay}/health/instance")),
        ("clair", format!("{clair}/healthz")),
    ];
    let (down, up) = (target.sites[0].clone(), target.sites[1].clone());
    let namespace = ctx.namespace("global");
    let dir = ctx.workdir("global")?;
    ctx.write_shared_config(&dir, "")?;
    let extra = user_ingress::site_lines(&target, &dir, &target.global.quay_hostname)?;
    dir.write_file(
        "main.tf",
        // Every site of the target: an upgrade takes every site's operator up, and a cluster
        // left behind would run an old operator against the migrated database.
        &common::sites_tf(
            &target
                .sites
                .iter()
                .map(|s| s.location.as_str())
                .collect::<Vec<_>>(),
            &namespace,
            &extra,
        ),
    )?;
    ctx.step(&format!(
        "terraform apply: {} and {} in {namespace}",
        down.name, up.name
    ));
    ctx.apply(&dir)?;
    if target.platform == Platform::Kubernetes {
        ctx.step("the user's Ingresses for the global names on every site (no Route API)");
        ctx.block_on(user_ingress::apply_global(
            &target,
            &target.sites,
            &namespace,
        ))?;
    }

    let both: BTreeSet<String> = [down.name.clone(), up.name.clone()].into();
    for (service, url) in &endpoints {
        ctx.step(&format!(
            "the global {service} endpoint answers from both sites"
        ));
        let seen = ctx.block_on(Context::until(
            &format!("{url} answering from {both:?}"),
            ROUTING_TIMEOUT,
            async || {
                let (sites, _) = sample(url).await?;
                Ok(both.is_subset(&sites).then_some(sites))
            },
        ))?;
        ctx.note(format!("global {service}: answered from {seen:?}"));
    }

    ctx.step(&format!(
        "scaling {}'s quay and clair to 0 by hand",
        down.name
    ));
    ctx.block_on(async {
        let client = Context::client(&down).await?;
        let api: Api<kube::api::DynamicObject> =
            Api::namespaced_with(client, &namespace, &crate::quay::quay_registry_resource());
        let registry = api.get(REGISTRY).await?;
        let mut components = registry.data["spec"]["components"].clone();
        for c in components.as_array_mut().into_iter().flatten() {
            if c["kind"] == "quay" || c["kind"] == "clair" {
                c["overrides"]["replicas"] = json!(0);
            }
        }
        api.patch(
            REGISTRY,
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"components": components}})),
        )
        .await?;
        for component in ["quay-app", "clair-app"] {
            Context::until(
                &format!("{}'s {component} pods gone", down.name),
                ROUTING_TIMEOUT,
                async || {
                    Ok(has_no_ready(&down, &namespace, component)
                        .await?
                        .then_some(()))
                },
            )
            .await?;
        }
        Ok::<_, Failure>(())
    })?;
    for (service, url) in &endpoints {
        // A real balancer notices within its health checks (the kind backend's: half a
        // second, plus the ingress's endpoint update); the simulated one at once. Routing
        // must settle within ROUTING_TIMEOUT, and then hold.
        let started = std::time::Instant::now();
        let _ = ctx.block_on(Context::until(
            &format!("{url} routing around {}", down.name),
            ROUTING_TIMEOUT,
            async || {
                let (sites, refused) = sample(url).await?;
                Ok((!sites.contains(&down.name) && refused == 0).then_some(()))
            },
        ));
        let settled = started.elapsed();
        let (sites, refused) = ctx.block_on(sample(url))?;
        ctx.note(format!(
            "global {service} with {} down: answered from {sites:?}, {refused} refused \
             (routing settled in {settled:.1?})",
            down.name
        ));
        ensure!(
            !sites.contains(&down.name),
            "the global {service} endpoint answered from {}, which has no ready pods",
            down.name
        );
        ensure!(
            refused == 0 && sites.contains(&up.name),
            "the global {service} endpoint refused {refused} of {SAMPLE} requests while {} was ready",
            up.name
        );
    }

    ctx.step(&format!("terraform apply restores {}", down.name));
    ctx.apply(&dir)?;
    for (service, url) in &endpoints {
        let seen = ctx.block_on(Context::until(
            &format!("{url} answering from {} again", down.name),
            ROUTING_TIMEOUT,
            async || {
                let (sites, _) = sample(url).await?;
                Ok(sites.contains(&down.name).then_some(sites))
            },
        ))?;
        ctx.note(format!(
            "global {service} after the restore: answered from {seen:?}"
        ));
    }
    if ctx.operator_upgrade_allowed() {
        let sites = upgrading::Sites {
            sites: target.sites.clone(),
            namespace,
            dir,
        };
        through_upgrade(ctx, &sites, &endpoints)?;
    } else {
        ctx.note("through an upgrade: not checked (needs --allow-operator-upgrade)");
    }
    common::ledger_is_empty(ctx)
}

/// Upgrades `sites` one minor while a client asks each of `endpoints`, then checks what
/// they saw.
fn through_upgrade(
    ctx: &mut Context<'_>,
    sites: &upgrading::Sites,
    endpoints: &[(&str, String)],
) -> Result<(), Failure> {
    let from = upgrading::running_version(ctx, sites)?;
    let Some(to) = upgrading::next_minor(from) else {
        ctx.note(format!(
            "through an upgrade: not checked (the sites run Quay {from}, the newest the \
             provider knows)"
        ));
        return Ok(());
    };
    upgrading::write_upgrade(ctx, sites, &to.to_string(), "30m")?;
    let clients: Vec<(&str, upgrading::Client)> = endpoints
        .iter()
        .map(|(service, url)| (*service, upgrading::Client::start(ctx, url.clone())))
        .collect();
    ctx.step(&format!(
        "terraform apply: every site upgraded to Quay {to}, each global name asked throughout"
    ));
    ctx.apply(&sites.dir)?;
    for (service, client) in clients {
        let probes = client.stop();
        ctx.note(format!(
            "global {service} through the upgrade: {}",
            upgrading::summarize(&probes)
        ));
        let anonymous = probes
            .iter()
            .filter(|p| p.is_answered() && p.site.is_none())
            .count();
        ensure!(
            anonymous == 0,
            "{anonymous} answers of the global {service} endpoint named no site"
        );
        if service == "quay" {
            upgrading::served_throughout(&probes, from, to, None)?;
        } else {
            let outages = upgrading::outages(&probes);
            ensure!(
                outages <= 1,
                "{outages} outages of the global {service} endpoint during the upgrade"
            );
        }
    }
    let both: BTreeSet<String> = sites.sites.iter().map(|s| s.name.clone()).collect();
    for (service, url) in endpoints {
        let seen = ctx.block_on(Context::until(
            &format!("{url} answering from {both:?} after the upgrade"),
            ROUTING_TIMEOUT,
            async || {
                let (seen, _) = sample(url).await?;
                Ok(both.is_subset(&seen).then_some(seen))
            },
        ))?;
        ctx.note(format!(
            "global {service} after the upgrade: answered from {seen:?}"
        ));
    }
    Ok(())
}
