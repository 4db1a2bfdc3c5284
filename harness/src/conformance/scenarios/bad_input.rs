//! `BADINPUT-<name>`: one scenario per row of the catalogue of bad inputs
//! ([`crate::conformance::bad_inputs`]): `terraform plan` of a configuration with that one
//! mistake, against the target's clusters, fails with the row's diagnostic at the row's
//! attribute, and no cluster is written to (counted where the backend counts writes; else
//! the site's namespace must not exist afterwards).

use k8s_openapi::api::core::v1::Namespace;
use kube::Api;

use crate::conformance::Capability;
use crate::conformance::bad_inputs::{self, BadInput, For, SiteBlock, bad_inputs};
use crate::conformance::context::Context;
use crate::conformance::failure::Failure;
use crate::conformance::scenario::Scenario;
use crate::ensure;
use crate::terraform::{Diagnostic, PlanExit};

/// One scenario per bad input.
#[must_use]
pub fn scenarios() -> Vec<Scenario> {
    bad_inputs()
        .map(|bad| {
            let what = match bad.applies_to {
                For::Config => "the shared config",
                For::Both | For::Resource => "a site",
                For::Manifests => "the manifests of a site",
            };
            Scenario::new(
                format!("BADINPUT-{}", bad.name),
                format!(
                    "A plan with {what} that is wrong in one way ({}) is refused with \"{}\" at the attribute, and no cluster is written to.",
                    bad.name.replace('_', " "),
                    bad.summary
                ),
                &[],
                move |ctx| run(ctx, bad),
            )
            .plan_only()
            .namespaces(&["bad-input"])
            // The write counters count every write to a cluster, not only this scenario's.
            .uses(&[Capability::WriteCounters])
        })
        .collect()
}

fn run(ctx: &mut Context<'_>, bad: &'static BadInput) -> Result<(), Failure> {
    let namespace = ctx.namespace("bad-input");
    let dir = ctx.workdir("bad-input")?;
    bad_inputs::write_certificates(&dir).map_err(Failure::new)?;
    let block = SiteBlock::for_row(bad);
    let hcl = bad_inputs::configuration(bad, block, &namespace, &|l| ctx.cluster_lines_at(l))
        .map_err(Failure::new)?;
    dir.write_main_tf(&hcl)?;
    let counters = ctx.capabilities().writes.clone();
    if let Some(counters) = &counters {
        counters.reset();
    }
    ctx.step("terraform plan");
    let plan = ctx.plan(&dir)?;
    ensure!(
        plan.exit == PlanExit::Error,
        "the plan was not refused (exit {:?})",
        plan.exit
    );
    let diags: Vec<Diagnostic> = plan.events.diagnostics().cloned().collect();
    bad.check(&diags, block.type_name()).map_err(Failure::new)?;
    match &counters {
        Some(counters) => {
            let writes = counters.writes();
            ctx.note(format!("writes per cluster: {writes:?}"));
            for (site, count) in writes {
                ensure!(
                    count == 0,
                    "{site} saw {count} writes during a refused plan"
                );
            }
        }
        None => ctx.note("write counters: not available on this backend"),
    }
    for site in &ctx.target().sites.clone() {
        let exists = ctx.block_on(async {
            let client = Context::client(site).await?;
            let api: Api<Namespace> = Api::all(client);
            Ok::<_, Failure>(api.get_opt(&namespace).await?.is_some())
        })?;
        ensure!(
            !exists,
            "namespace {namespace} exists on {} after a refused plan",
            site.name
        );
    }
    Ok(())
}
