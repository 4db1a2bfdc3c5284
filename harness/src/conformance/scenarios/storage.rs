//! `AC3-storage-preference`: a blob pushed through a site lands in that site's own bucket
//! first and reaches every default location. Pushing needs a registry API the local
//! backend's sites do not serve, so the push itself is the backend's
//! [`Capability::SimulatedPush`]; where the blob is afterwards is read from each location's
//! bucket with the credentials of the site's config bundle.

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
        "AC3-storage-preference",
        "A blob pushed through a site lands in that site's bucket first and reaches every \
         default storage location.",
        &[Capability::SimulatedPush],
        run,
    )
    .namespaces(&["storage"])
}

fn run(ctx: &mut Context<'_>) -> Result<(), Failure> {
    let target = ctx.target().clone();
    // Not the first site: a preference that merely lists locations in order would pass there.
    let site = target.sites[1].clone();
    let namespace = ctx.namespace("storage");
    let dir = ctx.workdir("storage")?;
    ctx.write_shared_config(&dir, "")?;
    dir.write_file(
        "main.tf",
        &common::sites_tf(&[&site.location], &namespace, ""),
    )?;
    ctx.step(&format!("terraform apply: {} in {namespace}", site.name));
    ctx.apply(&dir)?;
    let push = ctx
        .capabilities()
        .push
        .clone()
        .ok_or_else(|| Failure::skip("needs simulated-push"))?;
    ctx.step(&format!("pushing a blob through {}", site.name));
    let content = format!(
        "a layer pushed through {} by {}",
        site.name,
        ctx.terraform().version
    );
    let pushed = ctx
        .block_on(push.push(&site.name, content.clone().into_bytes()))
        .map_err(|e| Failure::new(format!("push through {}: {e}", site.name)))?;
    ctx.note(format!(
        "pushed {} into {} at {}",
        pushed.digest, pushed.location, pushed.key
    ));
    ensure!(
        pushed.location == site.location,
        "the blob pushed through {} went to {} first, not its own location {}",
        site.name,
        pushed.location,
        site.location
    );
    ctx.step("waiting for the blob in every default location");
    let placed = ctx.block_on(async {
        let storage = common::site_storage(&site).await?;
        let locations = storage
            .default_locations()
            .map_err(|e| Failure::new(crate::errors::chain(&e)))?;
        let mut placed = Vec::new();
        for location in locations {
            let bytes = common::wait_for_blob(&location, &pushed.digest).await?;
            ensure!(
                bytes.as_ref() == content.as_bytes(),
                "{} holds other bytes under {}",
                location.name,
                pushed.digest
            );
            placed.push(location.name.clone());
        }
        Ok::<_, Failure>(placed)
    })?;
    ctx.note(format!("the blob is in {}", placed.join(", ")));
    ensure!(
        placed.len() == target.sites.len(),
        "the blob reached {placed:?}, not every location of {} sites",
        target.sites.len()
    );
    Ok(())
}
