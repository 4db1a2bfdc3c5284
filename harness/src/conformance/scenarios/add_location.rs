//! `OPS-add-location`: every site but the last runs with a config of their own locations; a
//! blob is pushed; then the config gains the last site's location, `quay_georep_location`
//! waits until the running sites serve it and runs Quay's backfill once, and the last site,
//! depending on it, starts. Afterwards the blob pushed before is in the new location's bucket,
//! the safety ledger is empty (no site served while another lacked a location it writes to),
//! and a second plan has nothing to do.
//!
//! The new config keeps the first default location where it was: it holds the user files and
//! log archives, which Quay does not replicate (the site plan warns when it moves).
//!
//! Pushing needs [`Capability::SimulatedPush`], as `AC3-storage-preference`.

use super::common;
use crate::conformance::capability::Capability;
use crate::conformance::context::Context;
use crate::conformance::failure::Failure;
use crate::conformance::scenario::Scenario;
use crate::ensure;

/// The scenario.
#[must_use]
pub fn scenario() -> Scenario {
    Scenario::new(
        "OPS-add-location",
        "A storage location added to running sites is in every site's config before its own \
         site serves, and a blob pushed before the addition is in its bucket afterwards.",
        &[Capability::SimulatedPush],
        run,
    )
    .namespaces(&["add-location"])
}

/// The location resource and the new site's resource, which depends on it.
fn addition_tf(running: &[&str], added: &str, namespace: &str) -> String {
    let sites: Vec<String> = running
        .iter()
        .map(|l| format!("quay_georep_site.{l}.id"))
        .collect();
    format!(
        r#"resource "quay_georep_location" "{added}" {{
  location    = "{added}"
  sites       = [{}]
  config_hash = data.quay_georep_config.shared.config_hash
}}

resource "quay_georep_site" "{added}" {{
{}}}

output "location_steps" {{
  value = quay_georep_location.{added}.steps
}}
"#,
        sites.join(", "),
        Context::site_body(
            added,
            namespace,
            &format!("  depends_on = [quay_georep_location.{added}]\n")
        )
    )
}

fn run(ctx: &mut Context<'_>) -> Result<(), Failure> {
    let target = ctx.target().clone();
    let Some((new_site, running_sites)) = target.sites.split_last() else {
        return Err(Failure::skip("needs a site"));
    };
    if running_sites.is_empty() {
        return Err(Failure::skip("needs two sites"));
    }
    let running: Vec<&str> = running_sites.iter().map(|s| s.location.as_str()).collect();
    let added = new_site.location.as_str();
    let namespace = ctx.namespace("add-location");
    let dir = ctx.workdir("add-location")?;
    ctx.write_shared_config_of(&dir, &running, "")?;
    dir.write_file("main.tf", &common::sites_tf(&running, &namespace, ""))?;
    ctx.step(&format!(
        "terraform apply: {} in {namespace}, without {added}",
        running.join(", ")
    ));
    ctx.apply(&dir)?;

    let content = format!(
        "a layer pushed before {added} by {}",
        ctx.terraform().version
    );
    let (pushed, _) = common::push_replicated(ctx, &running_sites[0], &content, &running)?;

    ctx.step(&format!(
        "terraform apply: storage location {added} into the config, quay_georep_location, \
         then site {}",
        new_site.name
    ));
    let all: Vec<&str> = target.sites.iter().map(|s| s.location.as_str()).collect();
    // The first default location keeps the user files: it must stay where it was (the first of
    // the running locations, sorted), whatever the new location's name.
    let mut defaults: Vec<&str> = running.clone();
    defaults.sort_unstable();
    defaults.push(added);
    let defaults = common::default_locations(&defaults);
    ctx.write_shared_config_of(&dir, &all, &defaults)?;
    dir.write_file(
        "main.tf",
        &format!(
            "{}{}",
            common::sites_tf(&running, &namespace, ""),
            addition_tf(&running, added, &namespace)
        ),
    )?;
    ctx.apply(&dir)?;
    let outputs = dir.output_json()?;
    let steps = common::output(&outputs, "location_steps")?;
    for step in steps.as_array().into_iter().flatten() {
        ctx.note(format!(
            "location step: {}",
            step.as_str().unwrap_or_default()
        ));
    }
    ensure!(
        steps
            .as_array()
            .and_then(|s| s.last())
            .and_then(|s| s.as_str())
            .is_some_and(|s| s.contains("succeeded")),
        "quay_georep_location reports no backfill that succeeded: {steps}"
    );

    ctx.step(&format!("waiting for the blob pushed before in {added}"));
    let bytes = ctx.block_on(async {
        let storage = common::site_storage(new_site).await?;
        let bucket = storage
            .location(added)
            .map_err(|e| Failure::new(crate::errors::chain(&e)))?;
        common::wait_for_blob(&bucket, &pushed.digest).await
    })?;
    ensure!(
        bytes.as_ref() == content.as_bytes(),
        "{added} holds other bytes under {}",
        pushed.digest
    );
    common::ledger_is_empty(ctx)?;
    common::nothing_left_to_plan(ctx, &dir)
}
