//! `OPS-remove-location`: every site runs with a config of every location; a blob is pushed
//! and replicated everywhere. Then the last site is destroyed (its location stays in the
//! config), and in the next apply the config drops its location, acknowledged on each
//! remaining site, and `quay_georep_location_removal` waits until they serve that config,
//! checks that every blob placed there has another copy, and runs Quay's removal tool.
//! Afterwards the blob is still read from every remaining location, the shared database has
//! no placement in the removed location (and no such location), the safety ledger is empty
//! (no site served the location while the tool ran), and a second plan has nothing to do.
//!
//! Pushing needs [`Capability::SimulatedPush`], as `OPS-add-location`; the placements are read
//! from the shared database at the config's `DB_URI`, which the simulated push reaches too.

use super::common;
use crate::blobs::{placements, queue};
use crate::conformance::capability::Capability;
use crate::conformance::context::Context;
use crate::conformance::failure::Failure;
use crate::conformance::scenario::Scenario;
use crate::ensure;

/// The scenario.
#[must_use]
pub fn scenario() -> Scenario {
    Scenario::new(
        "OPS-remove-location",
        "A storage location whose site is gone is removed from the shared database only once \
         every remaining site serves the config without it and every blob placed there has \
         another copy; its blobs are still read everywhere afterwards.",
        &[Capability::SimulatedPush],
        run,
    )
    .namespaces(&["remove-location"])
}

/// The removal resource. The sites are named by id, not by reference, so Terraform applies
/// the removal beside their config updates, as it would for sites of another configuration:
/// the resource has to wait for their rollout itself (else the ledger records the tool
/// running while a site still serves the location).
fn removal_tf(remaining: &[&str], removed: &str, namespace: &str) -> String {
    let sites: Vec<String> = remaining
        .iter()
        .map(|l| format!("\"{l}/{namespace}/registry\""))
        .collect();
    format!(
        r#"resource "quay_georep_location_removal" "{removed}" {{
  location    = "{removed}"
  sites       = [{}]
  config_hash = data.quay_georep_config.shared.config_hash
}}

output "removal_steps" {{
  value = quay_georep_location_removal.{removed}.steps
}}
"#,
        sites.join(", ")
    )
}

fn run(ctx: &mut Context<'_>) -> Result<(), Failure> {
    let target = ctx.target().clone();
    let Some((gone_site, remaining_sites)) = target.sites.split_last() else {
        return Err(Failure::skip("needs a site"));
    };
    if remaining_sites.is_empty() {
        return Err(Failure::skip("needs two sites"));
    }
    let all: Vec<&str> = target.sites.iter().map(|s| s.location.as_str()).collect();
    let remaining: Vec<&str> = remaining_sites
        .iter()
        .map(|s| s.location.as_str())
        .collect();
    let removed = gone_site.location.as_str();
    let namespace = ctx.namespace("remove-location");
    let dir = ctx.workdir("remove-location")?;
    // The first default location holds the user files and log archives, which Quay does not
    // replicate: it must be one that stays, whatever the removed location's name.
    let mut kept_first = sorted(&remaining);
    kept_first.push(removed);
    ctx.write_shared_config_of(&dir, &all, &common::default_locations(&kept_first))?;
    dir.write_file("main.tf", &common::sites_tf(&all, &namespace, ""))?;
    ctx.step(&format!(
        "terraform apply: {} in {namespace}",
        all.join(", ")
    ));
    ctx.apply(&dir)?;

    let content = format!(
        "a layer pushed before {removed} went, by {}",
        ctx.terraform().version
    );
    let (pushed, storage) = common::push_replicated(ctx, &remaining_sites[0], &content, &all)?;
    let db_uri = storage
        .bundle
        .db_uri()
        .map(str::to_owned)
        .ok_or_else(|| Failure::new("the shared config has no DB_URI"))?;
    let placed = ctx.block_on(placed_in(&db_uri, &pushed.digest))?;
    ensure!(
        placed.iter().map(String::as_str).eq(sorted(&all)),
        "the shared database places {} in {placed:?}, not in every location",
        pushed.digest
    );

    ctx.step(&format!(
        "terraform apply: site {} destroyed, its location still in the config",
        gone_site.name
    ));
    dir.write_file("main.tf", &common::sites_tf(&remaining, &namespace, ""))?;
    ctx.apply(&dir)?;

    ctx.step(&format!(
        "terraform apply: storage location {removed} out of the config (acknowledged), then \
         quay_georep_location_removal"
    ));
    ctx.write_shared_config_of(
        &dir,
        &remaining,
        &common::default_locations(&sorted(&remaining)),
    )?;
    let acknowledged = format!("  acknowledge_location_removals = [\"{removed}\"]\n");
    dir.write_file(
        "main.tf",
        &format!(
            "{}{}",
            common::sites_tf(&remaining, &namespace, &acknowledged),
            removal_tf(&remaining, removed, &namespace)
        ),
    )?;
    ctx.apply(&dir)?;
    let outputs = dir.output_json()?;
    let steps = common::output(&outputs, "removal_steps")?;
    for step in steps.as_array().into_iter().flatten() {
        ctx.note(format!(
            "removal step: {}",
            step.as_str().unwrap_or_default()
        ));
    }
    ensure!(
        steps
            .as_array()
            .and_then(|s| s.last())
            .and_then(|s| s.as_str())
            .is_some_and(|s| s.contains("succeeded")),
        "quay_georep_location_removal reports no removal that succeeded: {steps}"
    );

    let placed = ctx.block_on(placed_in(&db_uri, &pushed.digest))?;
    ensure!(
        placed.iter().map(String::as_str).eq(sorted(&remaining)),
        "after the removal the shared database places {} in {placed:?}, expected {remaining:?}",
        pushed.digest
    );
    let left = ctx.block_on(async {
        let client = queue::connect(&db_uri).await.map_err(Failure::new)?;
        placements::knows_location(&client, removed)
            .await
            .map_err(Failure::new)
    })?;
    ensure!(
        !left,
        "the shared database still has storage location {removed}"
    );
    ctx.step("reading the blob from every remaining location");
    ctx.block_on(async {
        for site in remaining_sites {
            let storage = common::site_storage(site).await?;
            let bucket = storage
                .location(&site.location)
                .map_err(|e| Failure::new(crate::errors::chain(&e)))?;
            let bytes = common::wait_for_blob(&bucket, &pushed.digest).await?;
            ensure!(
                bytes.as_ref() == content.as_bytes(),
                "{} holds other bytes under {}",
                site.location,
                pushed.digest
            );
        }
        Ok::<_, Failure>(())
    })?;
    common::ledger_is_empty(ctx)?;
    common::nothing_left_to_plan(ctx, &dir)
}

fn sorted<'a>(locations: &[&'a str]) -> Vec<&'a str> {
    let mut sorted = locations.to_vec();
    sorted.sort_unstable();
    sorted
}

/// The locations the shared database places `digest` in, sorted.
async fn placed_in(db_uri: &str, digest: &str) -> Result<Vec<String>, Failure> {
    let client = queue::connect(db_uri).await.map_err(Failure::new)?;
    let placed = placements::locations_of(&client, digest)
        .await
        .map_err(Failure::new)?;
    Ok(placed.into_iter().collect())
}
