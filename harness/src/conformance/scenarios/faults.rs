//! The provider while the Kubernetes API misbehaves (faults only a backend with
//! [`Capability::FaultInjection`] can make): every fault is survived, or reported with the
//! cluster and what to do and the next apply completes, and the safety ledger stays empty.
//! - `FAULT-api-500` and `FAULT-api-429`: errors and throttling during an upgrade are
//!   retried by the same apply (one minor up);
//! - `FAULT-api-409`: a conflict on a site's `QuayRegistry` is reported with what to do, and
//!   the next apply writes it;
//! - `FAULT-watches-dropped`: a site applied while its cluster keeps ending every watch
//!   becomes ready all the same;
//! - `FAULT-cluster-unreachable`: during an upgrade (one minor up) the primary is cut off
//!   while it migrates and a secondary while the secondaries upgrade, and the apply waits for
//!   each; a secondary cut off in the restore for longer than the apply's timeout fails it
//!   with the cluster and "apply again", and the next apply completes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::upgrading::{self, Background, SLOW_MIGRATION, SlowedMigrations, errors, mentions};
use crate::conformance::capability::{Capability, FaultInjection};
use crate::conformance::context::Context;
use crate::conformance::failure::Failure;
use crate::conformance::scenario::{OperatorUpgrade, Scenario};
use crate::ensure;
use crate::terraform::PlanExit;

/// The scenarios.
#[must_use]
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new(
            "FAULT-api-409",
            "A conflict answered to a site's QuayRegistry write is reported with the cluster \
             and what to do, and the next apply writes the site.",
            &[Capability::FaultInjection],
            conflict,
        ),
        Scenario::new(
            "FAULT-watches-dropped",
            "A site whose cluster ends every watch again and again while it is applied \
             becomes ready all the same, and the next plan is empty.",
            &[Capability::FaultInjection],
            watches_dropped,
        ),
        Scenario::new(
            "FAULT-api-500",
            "Internal errors from a secondary's API while the upgrade scales it down are \
             retried by the same apply, which completes the upgrade.",
            &[Capability::FaultInjection],
            internal_errors,
        )
        .upgrades_operator(OperatorUpgrade::Required),
        Scenario::new(
            "FAULT-api-429",
            "Throttling with Retry-After while the upgrade upgrades the primary's operator is \
             waited out by the same apply, which completes the upgrade.",
            &[Capability::FaultInjection],
            too_many_requests,
        )
        .upgrades_operator(OperatorUpgrade::Required),
        Scenario::new(
            "FAULT-cluster-unreachable",
            "An upgrade waits for a primary or secondary cluster cut off for a while, fails \
             with the cluster and how to resume when one stays cut off past its timeout, and \
             completes on the next apply.",
            &[Capability::FaultInjection, Capability::SlowMigrations],
            unreachable,
        )
        .upgrades_operator(OperatorUpgrade::Required),
    ]
}

fn faults(ctx: &Context<'_>) -> Result<Arc<dyn FaultInjection>, Failure> {
    ctx.capabilities()
        .faults
        .clone()
        .ok_or_else(|| Failure::skip("needs fault-injection"))
}

/// Runs `body` and removes every fault after it, whatever it returned.
fn with_faults<T>(
    ctx: &mut Context<'_>,
    body: impl FnOnce(&mut Context<'_>, &dyn FaultInjection) -> Result<T, Failure>,
) -> Result<T, Failure> {
    let faults = faults(ctx)?;
    let result = body(ctx, faults.as_ref());
    faults.clear();
    result
}

fn conflict(ctx: &mut Context<'_>) -> Result<(), Failure> {
    with_faults(ctx, |ctx, faults| {
        let site = ctx.target().sites[0].clone();
        let namespace = ctx.namespace("conflict");
        let dir = ctx.workdir("conflict")?;
        ctx.write_shared_config(&dir, "")?;
        dir.write_file(
            "main.tf",
            &super::common::sites_tf(&[&site.location], &namespace, ""),
        )?;
        faults
            .fail_requests(&site.name, "patch", "quayregistries", 409, 1)
            .map_err(Failure::new)?;
        ctx.step(&format!(
            "terraform apply: {} in {namespace}, its QuayRegistry write answered 409",
            site.name
        ));
        // Registered for clean-up: what the failed apply did create is destroyed after.
        let failed = match ctx.apply(&dir) {
            Ok(_) => return Err(Failure::new("the apply succeeded despite the conflict")),
            Err(failure) => failure,
        };
        let text = failed.message().to_owned();
        ctx.note(format!("reported: {text}"));
        mentions(&text, &[&site.location, "another client", "apply again"])?;
        let left = faults.remaining(&site.name).map_err(Failure::new)?;
        ensure!(left == 0, "the conflict was never answered ({left} left)");
        ctx.step("terraform apply again");
        ctx.apply(&dir)?;
        let plan = ctx.plan(&dir)?;
        ensure!(
            plan.exit == PlanExit::NoChanges,
            "the plan after the second apply wants changes"
        );
        Ok(())
    })?;
    super::common::ledger_is_empty(ctx)
}

fn watches_dropped(ctx: &mut Context<'_>) -> Result<(), Failure> {
    with_faults(ctx, |ctx, faults| {
        let site = ctx.target().sites[0].clone();
        let namespace = ctx.namespace("watches");
        let dir = ctx.workdir("watches")?;
        ctx.write_shared_config(&dir, "")?;
        dir.write_file(
            "main.tf",
            &super::common::sites_tf(&[&site.location], &namespace, ""),
        )?;
        ctx.step(&format!(
            "terraform apply: {} in {namespace}, every watch of its cluster ended every 200 ms",
            site.name
        ));
        let stop = AtomicBool::new(false);
        let dropped = std::thread::scope(|scope| {
            let dropper = scope.spawn(|| {
                let mut dropped = 0_u32;
                while !stop.load(Ordering::Relaxed) {
                    if faults.drop_watches(&site.name).is_ok() {
                        dropped += 1;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                dropped
            });
            let applied = ctx.apply(&dir);
            stop.store(true, Ordering::Relaxed);
            let dropped = dropper.join().unwrap_or(0);
            applied.map(|_| dropped)
        })?;
        ctx.note(format!(
            "every watch was ended {dropped} times during the apply"
        ));
        ensure!(dropped > 0, "no watch was ended during the apply");
        let registry = ctx.block_on(super::common::registry(&site, &namespace))?;
        let conditions = super::common::conditions(&registry.data);
        ensure!(
            conditions.contains(&"Available=True".to_owned()),
            "the site is not available after the apply: {conditions:?}"
        );
        let plan = ctx.plan(&dir)?;
        ensure!(
            plan.exit == PlanExit::NoChanges,
            "the plan after the apply wants changes"
        );
        Ok(())
    })?;
    super::common::ledger_is_empty(ctx)
}

fn internal_errors(ctx: &mut Context<'_>) -> Result<(), Failure> {
    let sites = upgrading::install(ctx, "api-500", None)?;
    let (_, to) = upgrading::hop(ctx, &sites)?;
    let before = ctx.block_on(upgrading::registries(&sites))?;
    upgrading::write_upgrade(ctx, &sites, &to.to_string(), "30m")?;
    with_faults(ctx, |ctx, faults| {
        let last = sites.last().name.clone();
        faults
            .fail_requests(&last, "patch", "quayregistries", 500, u32::MAX)
            .map_err(Failure::new)?;
        ctx.step(&format!(
            "terraform apply: the upgrade to Quay {to}, {last}'s QuayRegistry writes answered 500"
        ));
        let mut apply = Background::apply(&sites.dir, "upgrade", &[])?;
        apply.wait_for(ctx, "scale-down-secondaries", async || {
            upgrading::phase(&sites).await.as_deref() == Some("scale-down-secondaries")
        })?;
        let start = faults.remaining(&last).map_err(Failure::new)?;
        apply.wait_for(ctx, "three more 500s", async || {
            faults
                .remaining(&last)
                .is_ok_and(|left| left.saturating_add(3) <= start)
        })?;
        let phase = ctx.block_on(upgrading::phase(&sites));
        ensure!(
            phase.as_deref() == Some("scale-down-secondaries"),
            "the upgrade moved on to {phase:?} while {last} could not be scaled down"
        );
        ctx.note(format!(
            "{} requests answered 500 while scaling down; the apply kept retrying",
            u64::from(u32::MAX) - faults.remaining(&last).unwrap_or(0)
        ));
        faults.clear();
        apply.finish()?;
        Ok(())
    })?;
    upgrading::upgraded(ctx, &sites, &before, to)?;
    super::common::ledger_is_empty(ctx)
}

fn too_many_requests(ctx: &mut Context<'_>) -> Result<(), Failure> {
    let sites = upgrading::install(ctx, "api-429", None)?;
    let (_, to) = upgrading::hop(ctx, &sites)?;
    let before = ctx.block_on(upgrading::registries(&sites))?;
    upgrading::write_upgrade(ctx, &sites, &to.to_string(), "30m")?;
    let resource = upgrading::operator_resource(ctx);
    with_faults(ctx, |ctx, faults| {
        let primary = sites.primary().name.clone();
        faults
            .fail_requests(&primary, "patch", resource, 429, 3)
            .map_err(Failure::new)?;
        ctx.step(&format!(
            "terraform apply: the upgrade to Quay {to}, three writes of {primary}'s {resource} \
             answered 429 with Retry-After"
        ));
        ctx.apply(&sites.dir)?;
        let left = faults.remaining(&primary).map_err(Failure::new)?;
        ensure!(left == 0, "the 429s were never met ({left} left)");
        Ok(())
    })?;
    upgrading::upgraded(ctx, &sites, &before, to)?;
    super::common::ledger_is_empty(ctx)
}

/// How many times the provider's log (`TF_LOG_PROVIDER=info`) at `log` says it waits for
/// `site`.
fn waits_for(log: &std::path::Path, sites: &upgrading::Sites, site: usize) -> usize {
    let site = &sites.sites[site];
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .matches(&format!(
            "waiting for cluster {} of {} to become reachable",
            site.location,
            sites.id(site)
        ))
        .count()
}

fn unreachable(ctx: &mut Context<'_>) -> Result<(), Failure> {
    let sites = upgrading::install(ctx, "unreachable", None)?;
    ensure!(
        sites.sites.len() >= 3,
        "needs a primary and two secondaries; the target has {} sites",
        sites.sites.len()
    );
    let (_, to) = upgrading::hop(ctx, &sites)?;
    let before = ctx.block_on(upgrading::registries(&sites))?;
    let slowed = SlowedMigrations::new(ctx, SLOW_MIGRATION);
    upgrading::write_upgrade(ctx, &sites, &to.to_string(), "30m")?;
    let resource = upgrading::operator_resource(ctx);
    let last_index = sites.sites.len() - 1;
    with_faults(ctx, |ctx, faults| {
        let (primary, last) = (sites.primary().name.clone(), sites.last().name.clone());
        let all: Vec<String> = sites.sites.iter().map(|s| s.name.clone()).collect();
        let drop_all = || {
            for site in &all {
                let _ = faults.drop_watches(site);
            }
        };
        // Keeps the secondaries' step open until the secondary is cut off.
        faults
            .fail_requests(&last, "patch", resource, 500, u32::MAX)
            .map_err(Failure::new)?;
        ctx.step(&format!("terraform apply: the upgrade to Quay {to}"));
        // The provider logs each round's status at info: the log tells when the apply has met
        // a cut-off cluster.
        let mut apply = Background::apply(&sites.dir, "upgrade", &[("TF_LOG_PROVIDER", "info")])?;
        let log = apply.log().to_owned();
        apply.wait_for(ctx, "the primary's migration", async || {
            upgrading::phase(&sites).await.as_deref() == Some("wait-primary-migrated")
                && upgrading::migrating(&sites).await
        })?;
        ctx.step(&format!(
            "{primary} cut off while it migrates, every watch ended"
        ));
        faults
            .set_unreachable(&primary, true)
            .map_err(Failure::new)?;
        drop_all();
        apply.wait_for(
            ctx,
            &format!("a round that saw {primary} cut off"),
            async || waits_for(&log, &sites, 0) > 0,
        )?;
        faults
            .set_unreachable(&primary, false)
            .map_err(Failure::new)?;
        drop_all();

        apply.wait_for(ctx, "upgrade-secondary-operators", async || {
            upgrading::phase(&sites).await.as_deref() == Some("upgrade-secondary-operators")
        })?;
        ctx.step(&format!(
            "{last} cut off while the secondaries upgrade, every watch ended"
        ));
        faults.set_unreachable(&last, true).map_err(Failure::new)?;
        faults.clear_requests(&last).map_err(Failure::new)?;
        drop_all();
        apply.wait_for(
            ctx,
            &format!("two rounds that saw {last} cut off"),
            async || waits_for(&log, &sites, last_index) >= 2,
        )?;
        // Upgraded or not, no secondary serves before every secondary runs the target.
        ctx.block_on(async {
            for site in &sites.sites[1..last_index] {
                let replicas = upgrading::quay_replicas(site, &sites.namespace).await?;
                ensure!(
                    replicas == Some(0),
                    "{} was restored ({replicas:?} quay replicas) while {last} was cut off",
                    site.name
                );
                let ready = upgrading::ready_pods(site, &sites.namespace, "quay-app").await?;
                ensure!(ready == 0, "{} serves while {last} is cut off", site.name);
            }
            Ok::<_, Failure>(())
        })?;
        faults
            .set_latency(&last, Duration::from_millis(100))
            .map_err(Failure::new)?;
        faults.set_unreachable(&last, false).map_err(Failure::new)?;

        apply.wait_for(ctx, "restore-secondaries", async || {
            upgrading::phase(&sites).await.as_deref() == Some("restore-secondaries")
        })?;
        ctx.step(&format!(
            "{last} cut off in the restore, past the apply's timeout"
        ));
        faults.set_unreachable(&last, true).map_err(Failure::new)?;
        // That apply would wait out its 30 minutes: the next one, resuming in the restore at
        // once, gets a short timeout, and no refresh (the sites' own reads would report the
        // cut-off cluster before the upgrade ran).
        apply.kill()?;
        upgrading::write_upgrade(ctx, &sites, &to.to_string(), "15s")?;
        let timed_out = sites.dir.apply_with(&["-refresh=false"])?;
        let text = errors(&timed_out)?;
        ctx.note(format!("reported: {text}"));
        mentions(
            &text,
            &[
                "Upgrade Timed Out",
                &format!("cluster {}", sites.last().location),
                "apply again to resume",
            ],
        )?;
        let phase = ctx.block_on(upgrading::phase(&sites));
        ensure!(
            phase.as_deref() == Some("restore-secondaries"),
            "the progress record is at {phase:?}, expected restore-secondaries"
        );
        faults.set_unreachable(&last, false).map_err(Failure::new)?;
        faults.clear();
        Ok(())
    })?;
    drop(slowed);
    upgrading::write_upgrade(ctx, &sites, &to.to_string(), "30m")?;
    ctx.step("terraform apply: the secondary is back");
    ctx.apply(&sites.dir)?;
    upgrading::upgraded(ctx, &sites, &before, to)?;
    super::common::ledger_is_empty(ctx)
}
