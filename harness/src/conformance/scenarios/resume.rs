//! `UPGRADE-resume-after-kill`: Terraform and its provider killed (SIGKILL to the whole
//! process group) in each step of one upgrade in turn, and `terraform apply` run again in the
//! same working directory each time: the upgrade completes with every site on the target, the
//! original replicas and HPA settings, the Lease released, no progress record and an empty
//! safety ledger.
//!
//! A step is held by a fault on the one write that ends it, so the kill lands in that step
//! however loaded the machine is, and the kill waits until the run has retried that write
//! twice (a retrying run, not a stalled one); the migration is slowed down and killed while
//! its Job runs. The restore is slowed by latency on the last secondary, and held at the
//! progress record's write once it has begun.

use std::time::Duration;

use super::upgrading::{self, Background, SLOW_MIGRATION, SlowedMigrations};
use crate::conformance::capability::{Capability, FaultInjection};
use crate::conformance::context::Context;
use crate::conformance::failure::Failure;
use crate::conformance::scenario::{OperatorUpgrade, Scenario};
use crate::ensure;

/// The scenario.
#[must_use]
pub fn scenario() -> Scenario {
    Scenario::new(
        "UPGRADE-resume-after-kill",
        "An upgrade whose Terraform and provider are killed in each of its steps in turn \
         completes on the next apply every time, with no unsafe moment.",
        &[Capability::FaultInjection, Capability::SlowMigrations],
        run,
    )
    .upgrades_operator(OperatorUpgrade::Required)
}

/// Where a kill lands and how the run is kept there.
#[derive(Clone, Copy)]
enum Hold {
    /// Fail `verb` on `resource` on the site at `site` (0: the primary, else the last
    /// secondary) from the start of the apply.
    Write {
        primary: bool,
        verb: &'static str,
        resource: Resource,
    },
    /// Nothing: kill while the primary's migration Job runs.
    Migration,
    /// Slow the last secondary down, and once the restore has begun fail the progress
    /// record's writes on the primary.
    Restore,
}

#[derive(Clone, Copy)]
enum Resource {
    Registries,
    /// InstallPlans or the operator Deployment, as the target installs the operator.
    Operator,
}

/// The steps in the order the upgrade takes them.
const STEPS: [(&str, Hold); 5] = [
    (
        "scale-down-secondaries",
        Hold::Write {
            primary: false,
            verb: "patch",
            resource: Resource::Registries,
        },
    ),
    (
        "upgrade-primary-operator",
        Hold::Write {
            primary: true,
            verb: "patch",
            resource: Resource::Operator,
        },
    ),
    ("wait-primary-migrated", Hold::Migration),
    (
        "upgrade-secondary-operators",
        Hold::Write {
            primary: false,
            verb: "patch",
            resource: Resource::Operator,
        },
    ),
    ("restore-secondaries", Hold::Restore),
];

fn run(ctx: &mut Context<'_>) -> Result<(), Failure> {
    let faults = ctx
        .capabilities()
        .faults
        .clone()
        .ok_or_else(|| Failure::skip("needs fault-injection"))?;
    let sites = upgrading::install(ctx, "resume", None)?;
    let (_, to) = upgrading::hop(ctx, &sites)?;
    let before = ctx.block_on(upgrading::registries(&sites))?;
    let slowed = SlowedMigrations::new(ctx, SLOW_MIGRATION);
    upgrading::write_upgrade(ctx, &sites, &to.to_string(), "30m")?;
    let result = kill_in_every_step(ctx, &sites, faults.as_ref());
    faults.clear();
    drop(slowed);
    result?;
    ctx.step("terraform apply: the last resume");
    ctx.apply(&sites.dir)?;
    upgrading::upgraded(ctx, &sites, &before, to)?;
    super::common::ledger_is_empty(ctx)
}

fn kill_in_every_step(
    ctx: &mut Context<'_>,
    sites: &upgrading::Sites,
    faults: &dyn FaultInjection,
) -> Result<(), Failure> {
    let operator = upgrading::operator_resource(ctx);
    for (n, (phase, hold)) in STEPS.into_iter().enumerate() {
        faults.clear();
        let mut held = None;
        if let Hold::Write {
            primary,
            verb,
            resource,
        } = hold
        {
            let site = if primary {
                sites.primary()
            } else {
                sites.last()
            };
            let resource = match resource {
                Resource::Registries => "quayregistries",
                Resource::Operator => operator,
            };
            faults
                .fail_requests(&site.name, verb, resource, 500, u32::MAX)
                .map_err(Failure::new)?;
            held = Some(site.name.clone());
        }
        if let Hold::Restore = hold {
            faults
                .set_latency(&sites.last().name, Duration::from_millis(100))
                .map_err(Failure::new)?;
        }
        ctx.step(&format!("terraform apply #{}: killed in {phase}", n + 1));
        let mut apply = Background::apply(&sites.dir, &format!("apply-{}", n + 1), &[])?;
        apply.wait_for(ctx, phase, async || {
            upgrading::phase(sites).await.as_deref() == Some(phase)
                && (!matches!(hold, Hold::Migration) || upgrading::migrating(sites).await)
        })?;
        if let Hold::Restore = hold {
            faults
                .fail_requests(&sites.primary().name, "patch", "configmaps", 500, u32::MAX)
                .map_err(Failure::new)?;
            held = Some(sites.primary().name.clone());
        }
        if let Some(site) = &held {
            // The run must retry the held write, not move on: two more failed requests
            // tell a retrying run from one that stalled.
            let start = faults.remaining(site).map_err(Failure::new)?;
            apply.wait_for(ctx, "the run to retry the held write twice", async || {
                faults
                    .remaining(site)
                    .is_ok_and(|left| left.saturating_add(2) <= start)
            })?;
        }
        apply.kill()?;
        faults.clear();
        let recorded = ctx.block_on(upgrading::phase(sites));
        ensure!(
            recorded.as_deref() == Some(phase),
            "killed in {phase}, the progress record says {recorded:?}"
        );
        ctx.note(format!("killed in {phase}; the progress record kept it"));
    }
    Ok(())
}
