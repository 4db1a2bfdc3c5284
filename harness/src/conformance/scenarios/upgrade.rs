//! `quay_georep_upgrade` on the target's sites, each scenario one minor up from the version
//! they run (so each upgrading scenario needs a target one minor or more below the newest
//! release the provider knows; the local backend starts low enough for all of them):
//! - `AC2-scale-down-for-upgrade`: no secondary serves while the primary migrates the shared
//!   database, and once the migration has started the global name answers only from the new
//!   version;
//! - `UPGRADE-failed-migration`: a migration that fails stops the apply with the Job's
//!   message and what to do, keeps the secondaries down, and the next apply after the fix
//!   completes;
//! - `UPGRADE-preflight-refusals` and `UPGRADE-lease-held` change no operator: a downgrade, a
//!   skipped minor, a site that is not converged, and a Lease held by another apply are
//!   refused with the reason, and nothing changes.

use std::time::{Duration, Instant};

use kube::api::{Api, DeleteParams, DynamicObject, PostParams};
use serde_json::{Value, json};

use super::upgrading::{
    self, Background, Client, LEASE, MIGRATION_JOB, SLOW_MIGRATION, SlowedMigrations, errors,
    mentions,
};
use crate::conformance::context::Context;
use crate::conformance::failure::Failure;
use crate::conformance::scenario::{OperatorUpgrade, Scenario};
use crate::ensure;
use crate::quay::api_resource;

/// The holder of the Lease `UPGRADE-lease-held` takes: another working directory elsewhere.
const OTHER_HOLDER: &str = "terraform@elsewhere.example.test:/srv/upgrades/quay";

/// The scenarios.
#[must_use]
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new(
            "UPGRADE-preflight-refusals",
            "An upgrade that is a downgrade, skips a minor or finds a site not converged is \
             refused with the reason and changes nothing.",
            &[],
            preflight_refusals,
        ),
        Scenario::new(
            "UPGRADE-lease-held",
            "An upgrade while another working directory holds the upgrade Lease is refused \
             with the holder and its expiry and changes nothing.",
            &[],
            lease_held,
        ),
        Scenario::new(
            "AC2-scale-down-for-upgrade",
            "During quay_georep_upgrade no secondary serves while the primary migrates the \
             shared database, and once the migration has started the global endpoint never \
             answers from an old version.",
            &[],
            scale_down_for_upgrade,
        )
        .upgrades_operator(OperatorUpgrade::Required),
        Scenario::new(
            "UPGRADE-failed-migration",
            "A failing migration stops the upgrade with the Job's message and what to do, \
             keeps the secondaries scaled down, and the next apply after the fix completes it.",
            &[],
            failed_migration,
        )
        .upgrades_operator(OperatorUpgrade::Required),
    ]
}

fn scale_down_for_upgrade(ctx: &mut Context<'_>) -> Result<(), Failure> {
    let sites = upgrading::install(ctx, "ac2", None)?;
    let (from, to) = upgrading::hop(ctx, &sites)?;
    let before = ctx.block_on(upgrading::registries(&sites))?;
    // Slow enough that the secondaries are seen during the migration, however short it is.
    let slowed = SlowedMigrations::new(ctx, SLOW_MIGRATION);
    upgrading::write_upgrade(ctx, &sites, &to.to_string(), "30m")?;
    let client = match ctx.target().global.quay_endpoint.clone() {
        Some(url) => Some(Client::start(ctx, format!("{url}/health/instance"))),
        None => {
            ctx.note(
                "the target names no global Quay endpoint: what its clients saw is not checked",
            );
            None
        }
    };
    ctx.step(&format!(
        "terraform apply: the upgrade to Quay {to}, watching the secondaries while the primary migrates"
    ));
    let mut apply = Background::apply(&sites.dir, "upgrade", &[])?;
    let mut observations = 0_usize;
    let mut migration_seen = None;
    let mut serving = Vec::new();
    while !apply.ended() {
        let (migrating, ready) = ctx.block_on(async {
            if !upgrading::migrating(&sites).await {
                return (false, Vec::new());
            }
            let mut ready = Vec::new();
            for site in &sites.sites[1..] {
                match upgrading::ready_pods(site, &sites.namespace, "quay-app").await {
                    Ok(0) => {}
                    Ok(n) => ready.push(format!("{} with {n} ready quay pods", site.name)),
                    Err(e) => ready.push(format!("{} unreadable: {}", site.name, e.message())),
                }
            }
            (true, ready)
        });
        if migrating {
            observations += 1;
            // The second look: a request in flight as the Job started may still have met an
            // old pod on its way out.
            if observations == 2 {
                migration_seen = Some(Instant::now());
            }
            serving.extend(ready);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = apply.finish()?;
    drop(slowed);
    let probes = client.map(Client::stop);
    ctx.note(format!(
        "the primary's migration was seen running {observations} times; secondaries serving then: {serving:?}"
    ));
    ensure!(
        observations > 0,
        "the primary's migration Job {MIGRATION_JOB} was never seen running during the upgrade \
         (apply output: {} lines)",
        output.lines().count()
    );
    ensure!(
        serving.is_empty(),
        "a secondary served while the primary migrated: {}",
        serving.join("; ")
    );
    if let Some(probes) = probes {
        ctx.note(format!(
            "the global Quay name during the upgrade: {}",
            upgrading::summarize(&probes)
        ));
        upgrading::served_throughout(&probes, from, to, migration_seen)?;
    }
    upgrading::upgraded(ctx, &sites, &before, to)?;
    super::common::ledger_is_empty(ctx)
}

/// An apply of an upgrade to `to` fails with `needles` and "nothing was changed", and no
/// registry, progress record or Lease changed.
fn refused(
    ctx: &mut Context<'_>,
    sites: &upgrading::Sites,
    to: &str,
    needles: &[&str],
) -> Result<(), Failure> {
    let before = ctx.block_on(upgrading::snapshot(sites))?;
    upgrading::write_upgrade(ctx, sites, to, "30m")?;
    ctx.step(&format!(
        "terraform apply: an upgrade to Quay {to}, to be refused"
    ));
    let outcome = sites.dir.apply()?;
    let text = errors(&outcome)?;
    ctx.note(format!("refused: {text}"));
    mentions(&text, needles)?;
    mentions(&text, &["nothing was changed"])?;
    let after = ctx.block_on(upgrading::snapshot(sites))?;
    ensure!(
        after == before,
        "the refused upgrade to {to} changed something: {after} (before: {before})"
    );
    upgrading::remove_upgrade(sites)
}

fn preflight_refusals(ctx: &mut Context<'_>) -> Result<(), Failure> {
    let sites = upgrading::install(ctx, "preflight", None)?;
    let from = upgrading::running_version(ctx, &sites)?;
    let next = upgrading::next_minor(from);
    let mut checked = 0;
    if let Some(older) = upgrading::previous_minor(from) {
        refused(
            ctx,
            &sites,
            &older.to_string(),
            &[&format!("{from} to {older} is a downgrade")],
        )?;
        checked += 1;
    }
    if let Some((next, skip)) = next.and_then(|n| Some((n, upgrading::next_minor(n)?))) {
        refused(
            ctx,
            &sites,
            &skip.to_string(),
            &[
                &format!("{from} to {skip} skips Quay"),
                &format!("first to {next}"),
            ],
        )?;
        checked += 1;
    }
    match (next, ctx.capabilities().faults.clone()) {
        (Some(next), Some(faults)) => {
            // The operator kept from writing its status (its patches fail) while the site is
            // reported not available.
            let site = sites.last().clone();
            faults
                .fail_requests(&site.name, "patch", "quayregistries", 500, u32::MAX)
                .map_err(Failure::new)?;
            let written = ctx.block_on(set_unavailable(&site, &sites.namespace));
            let result = written.and_then(|_| {
                refused(
                    ctx,
                    &sites,
                    &next.to_string(),
                    &[
                        &format!("site {} is not converged", sites.id(&site)),
                        "Available is False (ComponentNotReady: quay-app has no ready pod)",
                    ],
                )
            });
            faults.clear();
            result?;
            ctx.block_on(Context::until(
                &format!("{}'s operator reporting Available again", site.name),
                Duration::from_secs(120),
                async || Ok(available(&site, &sites.namespace).await?.then_some(())),
            ))?;
            checked += 1;
        }
        (Some(_), None) => ctx.note(
            "a site that is not converged: not checked (needs fault-injection to keep the \
             operator from correcting its status)",
        ),
        (None, _) => ctx.note(format!(
            "every site runs Quay {from}, the newest the provider knows: no skip or \
             not-converged upgrade to refuse"
        )),
    }
    if checked == 0 {
        return Err(Failure::skip(format!(
            "Quay {from} has neither an older nor a newer release to try"
        )));
    }
    super::common::ledger_is_empty(ctx)
}

/// Writes `Available=False (ComponentNotReady)` into `site`'s registry status.
async fn set_unavailable(
    site: &crate::conformance::target::SiteTarget,
    namespace: &str,
) -> Result<(), Failure> {
    let api = upgrading::registry_api(site, namespace).await?;
    let mut registry = api.get(super::common::REGISTRY).await?;
    for condition in registry.data["status"]["conditions"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        if condition["type"] == "Available" {
            condition["status"] = json!("False");
            condition["reason"] = json!("ComponentNotReady");
            condition["message"] = json!("quay-app has no ready pod");
        }
    }
    api.replace_status(super::common::REGISTRY, &PostParams::default(), &registry)
        .await?;
    Ok(())
}

/// Whether `site`'s registry reports `Available=True`.
async fn available(
    site: &crate::conformance::target::SiteTarget,
    namespace: &str,
) -> Result<bool, Failure> {
    let registry = super::common::registry(site, namespace).await?;
    Ok(super::common::conditions(&registry.data).contains(&"Available=True".to_owned()))
}

/// RFC 3339 with microseconds, as a Lease's times are written.
fn micro_time(at: jiff::Timestamp) -> String {
    let seconds = jiff::Timestamp::from_second(at.as_second()).unwrap_or(at);
    format!(
        "{}.{:06}Z",
        seconds.to_string().trim_end_matches('Z'),
        at.subsec_microsecond()
    )
}

fn lease_held(ctx: &mut Context<'_>) -> Result<(), Failure> {
    let sites = upgrading::install(ctx, "lease", None)?;
    let (_, to) = upgrading::hop(ctx, &sites)?;
    let now = micro_time(jiff::Timestamp::now());
    let lease = json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": LEASE, "namespace": sites.namespace},
        "spec": {
            "holderIdentity": OTHER_HOLDER,
            "leaseDurationSeconds": 600,
            "acquireTime": now,
            "renewTime": now,
        },
    });
    ctx.step(&format!(
        "taking the Lease {LEASE} on {} as another working directory",
        sites.primary().name
    ));
    let leases = ctx.block_on(async {
        let client = Context::client(sites.primary()).await?;
        let api: Api<DynamicObject> = Api::namespaced_with(
            client,
            &sites.namespace,
            &api_resource("coordination.k8s.io/v1", "Lease"),
        );
        let object: DynamicObject = serde_json::from_value(lease)
            .map_err(|e| Failure::new(format!("the Lease is not an object: {e}")))?;
        api.create(&PostParams::default(), &object).await?;
        Ok::<_, Failure>(api)
    })?;
    let own = sites.dir.path().display().to_string();
    refused_by_lease(ctx, &sites, &to.to_string(), &own)?;
    ctx.block_on(leases.delete(LEASE, &DeleteParams::default()))?;
    super::common::ledger_is_empty(ctx)
}

fn refused_by_lease(
    ctx: &mut Context<'_>,
    sites: &upgrading::Sites,
    to: &str,
    own: &str,
) -> Result<(), Failure> {
    let before = ctx.block_on(upgrading::snapshot(sites))?;
    upgrading::write_upgrade(ctx, sites, to, "30m")?;
    ctx.step(&format!(
        "terraform apply: the upgrade to Quay {to}, to be refused"
    ));
    let outcome = sites.dir.apply()?;
    let text = errors(&outcome)?;
    ctx.note(format!("refused: {text}"));
    mentions(
        &text,
        &[
            &format!("Lease {LEASE}"),
            &format!("is held by {OTHER_HOLDER}"),
            " until 20",
            "this one changed nothing",
        ],
    )?;
    ensure!(
        !text.contains(own),
        "the refused apply names itself as the holder: {text}"
    );
    let after = ctx.block_on(upgrading::snapshot(sites))?;
    ensure!(
        after == before,
        "the refused upgrade changed something: {after} (before: {before})"
    );
    upgrading::remove_upgrade(sites)
}

/// The shared Quay database of the target.
fn database_uri(ctx: &Context<'_>) -> Result<String, Failure> {
    ctx.target()
        .services
        .postgres
        .database_uris
        .get("quay")
        .cloned()
        .ok_or_else(|| Failure::skip("the target names no Quay database URI"))
}

/// Runs `statement` on the database at `uri`; the first column of its first row.
async fn sql(uri: &str, statement: &str) -> Result<Option<String>, Failure> {
    let (client, connection) = tokio_postgres::connect(uri, tokio_postgres::NoTls)
        .await
        .map_err(|e| Failure::new(format!("connect to the shared Quay database: {e}")))?;
    let task = tokio::spawn(connection);
    let messages = client
        .simple_query(statement)
        .await
        .map_err(|e| Failure::new(format!("{statement}: {e}")));
    drop(client);
    let _ = task.await;
    Ok(messages?.into_iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
        _ => None,
    }))
}

/// A revision no Quay knows: what another tool migrating the database would leave.
const UNKNOWN_REVISION: &str = "ffffffffffff";

fn failed_migration(ctx: &mut Context<'_>) -> Result<(), Failure> {
    let uri = database_uri(ctx)?;
    let sites = upgrading::install(ctx, "failed-migration", None)?;
    let (_, to) = upgrading::hop(ctx, &sites)?;
    let before = ctx.block_on(upgrading::registries(&sites))?;
    let revision = ctx
        .block_on(sql(&uri, "SELECT version_num FROM alembic_version"))?
        .ok_or_else(|| Failure::new("the shared database has no alembic revision"))?;
    ctx.step(&format!(
        "moving the shared database from revision {revision} to {UNKNOWN_REVISION}"
    ));
    ctx.block_on(sql(
        &uri,
        &format!("UPDATE alembic_version SET version_num = '{UNKNOWN_REVISION}'"),
    ))?;
    let result = fail_then_fix(ctx, &sites, &uri, &revision, to, &before);
    // Whatever happened, the rest of the run needs the database back where it was.
    let restored = ctx.block_on(sql(
        &uri,
        &format!(
            "UPDATE alembic_version SET version_num = '{revision}' \
             WHERE version_num = '{UNKNOWN_REVISION}'"
        ),
    ));
    result?;
    restored?;
    super::common::ledger_is_empty(ctx)
}

fn fail_then_fix(
    ctx: &mut Context<'_>,
    sites: &upgrading::Sites,
    uri: &str,
    revision: &str,
    to: crate::quay::QuayVersion,
    before: &[(String, Value, Value)],
) -> Result<(), Failure> {
    upgrading::write_upgrade(ctx, sites, &to.to_string(), "30m")?;
    ctx.step(&format!(
        "terraform apply: the upgrade to Quay {to}, whose migration fails"
    ));
    let failed = sites.dir.apply()?;
    let text = errors(&failed)?;
    ctx.note(format!("stopped: {text}"));
    let job = format!(
        "migration Job {MIGRATION_JOB} on site {}",
        sites.id(sites.primary())
    );
    mentions(
        &text,
        &[
            "Upgrade Stopped",
            &job,
            &format!("Can't locate revision identified by '{UNKNOWN_REVISION}'"),
            "the secondaries stay scaled to 0",
            "delete the Job",
            "apply again",
        ],
    )?;
    let phase = ctx.block_on(upgrading::phase(sites));
    ensure!(
        phase.as_deref() == Some("wait-primary-migrated"),
        "the progress record is at {phase:?}, expected wait-primary-migrated"
    );
    ctx.block_on(upgrading::secondaries_down(sites))?;

    ctx.step("terraform apply again before the fix: stopped at the same step");
    let again = sites.dir.apply()?;
    mentions(&errors(&again)?, &["Can't locate revision"])?;
    ctx.block_on(upgrading::secondaries_down(sites))?;

    ctx.step(&format!(
        "fixing the database (revision {revision}) and deleting the failed Job"
    ));
    ctx.block_on(async {
        sql(
            uri,
            &format!("UPDATE alembic_version SET version_num = '{revision}'"),
        )
        .await?;
        let client = Context::client(sites.primary()).await?;
        Api::<k8s_openapi::api::batch::v1::Job>::namespaced(client, &sites.namespace)
            .delete(MIGRATION_JOB, &DeleteParams::background())
            .await?;
        Ok::<_, Failure>(())
    })?;
    ctx.step("terraform apply: the upgrade resumes at the migration");
    ctx.apply(&sites.dir)?;
    upgrading::upgraded(ctx, sites, before, to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_times_have_six_fractional_digits() {
        let at: jiff::Timestamp = "2026-12-06T18:40:47.0123Z".parse().unwrap();
        assert_eq!(micro_time(at), "2026-12-06T18:40:47.012300Z");
    }
}
