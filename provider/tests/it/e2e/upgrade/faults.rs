//! The upgrade through Terraform while things go wrong, one test per case, each on a local
//! backend of its own that it upgrades one minor (case `i` from the `i`-th release from 3.12,
//! so each keeps the hop it was written for: the primary is cut off during the 3.16 to 3.17
//! migration, the longest). Separate backends cost about 8 s each here, and let a failing
//! case neither hide nor break the others:
//! - API faults (500, 429 with Retry-After, dropped watches, a cluster unreachable for a
//!   while) are retried, or reported with the cluster and what to do, and the next apply
//!   completes;
//! - a second Terraform working directory applying the same upgrade while the first holds the
//!   Lease is refused with the holder and its expiry, and changes nothing;
//! - a failing migration stops the apply with the Job's message and what to do, keeps the
//!   secondaries at 0, and the next apply resumes from there.
//!
//! After every case: every site on the target with its original replicas and HPA settings,
//! the Lease released, no progress record, and an empty safety ledger (no secondary ever
//! served an old version against the migrated database, no two migrations at once).

use std::time::Duration;

use georep_harness::local::LocalEnv;
use georep_harness::quay::QuayVersion;
use georep_harness::quay::quay_registry_resource;
use georep_harness::services::postgres::Database;
use georep_harness::sim::FaultKind;
use georep_harness::terraform::{TerraformBinary, Workdir};
use k8s_openapi::api::batch::v1::Job;
use kube::Api;
use kube::api::{DeleteParams, DynamicObject};
use serde_json::{Value, json};

use super::super::workdir;
use super::{
    Backend, NAMESPACE, OLM, Running, SITES, assert_mentions, assert_secondaries_down,
    assert_upgraded, errors, hold, lease_spec, migrating, progress_data, progress_phase,
    registries, releases_from, rule, slow_migration_backend, target,
};

/// What every case gets.
struct Ctx {
    runtime: tokio::runtime::Runtime,
    tf: TerraformBinary,
    env: LocalEnv,
    dir: Workdir,
}

/// Starts a backend at the `index`-th release from 3.12.21 with `examples/three-sites`
/// applied, upgrades it one minor with `case`, and checks what every case must leave: every
/// site on the target with its original replicas and HPA settings, the Lease released, no
/// progress record, and an empty safety ledger.
fn run_case(index: usize, name: &str, case: fn(&Ctx, QuayVersion)) {
    let chain = releases_from("3.12.21");
    let Some(&[from, to]) = chain.get(index..index + 2) else {
        panic!("too few releases for case {index}: {chain:?}");
    };
    let Backend {
        runtime,
        terraform,
        env,
        dir,
        state: _state,
    } = slow_migration_backend(&format!("upgrade_faults_{index}"), from);
    let ctx = Ctx {
        runtime,
        tf: terraform,
        env,
        dir,
    };
    let before = registries(&ctx.runtime, &ctx.env);
    case(&ctx, to);
    for site in ctx.env.sites() {
        site.cluster.faults().clear();
    }
    assert_eq!(
        ctx.dir.output_json().unwrap()["upgraded_version"].value,
        json!(to.to_string()),
        "{name}"
    );
    assert_upgraded(&ctx.runtime, &ctx.env, &before, to);
    assert_eq!(ctx.env.ledger().violations(), [], "{name}");
    let Ctx { runtime, env, .. } = ctx;
    runtime.block_on(env.stop()).unwrap();
}

#[test]
fn upgrade_survives_500s_while_scaling_down_and_refuses_a_concurrent_apply() {
    run_case(
        0,
        "500s while scaling down, and a concurrent apply",
        internal_errors_and_a_concurrent_apply,
    );
}

#[test]
fn upgrade_waits_out_429s_while_upgrading_the_primarys_operator() {
    run_case(
        1,
        "429 with Retry-After while upgrading the primary's operator",
        too_many_requests,
    );
}

#[test]
fn upgrade_stops_at_a_failing_migration_and_resumes_once_it_is_fixed() {
    run_case(2, "a failing migration", failing_migration);
}

#[test]
fn upgrade_waits_for_a_secondary_cut_off_while_the_secondaries_upgrade() {
    run_case(
        3,
        "a secondary unreachable and watches dropped while the secondaries upgrade",
        secondary_unreachable_while_upgrading,
    );
}

#[test]
fn upgrade_waits_for_the_primary_cut_off_while_it_migrates() {
    run_case(
        4,
        "the primary unreachable and watches dropped while it migrates",
        primary_unreachable_while_migrating,
    );
}

#[test]
fn upgrade_times_out_on_a_secondary_cut_off_while_restoring_and_resumes() {
    run_case(
        5,
        "a secondary unreachable past a timeout while restoring",
        secondary_unreachable_while_restoring,
    );
}

/// Applies and requires success.
fn apply_ok(ctx: &Ctx, case: &str) {
    let applied = ctx.dir.apply().unwrap();
    assert!(applied.succeeded(), "{case}: {:#?}", applied.events);
}

/// Everything the upgrade could change: the registries, the progress record, the Lease.
fn snapshot(ctx: &Ctx) -> Value {
    let progress = ctx.runtime.block_on(progress_data(&ctx.env));
    let lease = ctx.runtime.block_on(lease_spec(&ctx.env));
    json!({
        "registries": registries(&ctx.runtime, &ctx.env)
            .into_iter()
            .map(|(site, version, components)| json!([site, version, components]))
            .collect::<Vec<_>>(),
        "progress": progress,
        "lease": lease,
    })
}

/// `overrides.replicas` of quay on site `index`, if readable.
async fn quay_replicas(env: &LocalEnv, index: usize) -> Option<u64> {
    let client = env.sites()[index].cluster.client().await.ok()?;
    let api: Api<DynamicObject> =
        Api::namespaced_with(client, NAMESPACE, &quay_registry_resource());
    let registry = api.get("registry").await.ok()?;
    registry.data["spec"]["components"]
        .as_array()?
        .iter()
        .find(|c| c["kind"] == "quay")?["overrides"]["replicas"]
        .as_u64()
}

/// A working directory of its own (another state) that upgrades the same sites to `to`.
fn second_workdir(ctx: &Ctx, to: QuayVersion) -> Workdir {
    let second = workdir(&ctx.tf, "upgrade_concurrent");
    let clusters: String = ctx
        .env
        .sites()
        .iter()
        .map(|s| {
            format!(
                "  cluster \"{}\" {{ kubeconfig_path = \"{}\" }}\n",
                s.location,
                s.kubeconfig.display()
            )
        })
        .collect();
    let sites: Vec<String> = SITES.iter().map(|s| format!("\"{s}\"")).collect();
    second
        .write_main_tf(&format!(
            r#"
terraform {{
  required_providers {{
    quay = {{ source = "quay-georep/quay" }}
  }}
}}

provider "quay" {{
{clusters}}}

resource "quay_georep_upgrade" "all" {{
  sites          = [{sites}]
  target_version = "{to}"

  operator {{
    method    = "olm"
    namespace = "openshift-operators"
    name      = "quay-operator"
  }}
}}
"#,
            sites = sites.join(", ")
        ))
        .unwrap();
    second
}

/// 500s on a secondary's `QuayRegistry` hold the scale-down while a second working directory
/// tries the same upgrade: refused with the holder and its expiry, nothing changed. Once the
/// fault clears, the first apply goes on by itself.
fn internal_errors_and_a_concurrent_apply(ctx: &Ctx, to: QuayVersion) {
    let faults = ctx.env.sites()[2].cluster.faults();
    faults.inject(hold("patch", "quayregistries", None));
    target(&ctx.dir, to, "30m", OLM);
    let mut first = Running::spawn(&ctx.dir);
    first.wait_for(&ctx.runtime, "eu_west scaled down", || async {
        progress_phase(&ctx.env).await.as_deref() == Some("scale-down-secondaries")
            && quay_replicas(&ctx.env, 1).await == Some(0)
    });

    let before = snapshot(ctx);
    let second = second_workdir(ctx, to);
    let refused = second.apply().unwrap();
    let text = errors(&refused);
    let first_dir = ctx.dir.path().display().to_string();
    assert_mentions(
        &text,
        &[
            "Lease quay-georep-upgrade",
            "is held by terraform@",
            &first_dir,
            " until 20",
            "this one changed nothing",
        ],
    );
    assert!(
        !text.contains(&second.path().display().to_string()),
        "the second apply names itself as the holder:\n{text}"
    );
    assert_eq!(snapshot(ctx), before, "the refused apply changed something");

    // 500s that run out are retried by the same apply. The hold is swapped for them in one
    // step: with a clear() first, a retry could pass between the two and meet no 500.
    faults.replace(vec![rule(
        "patch",
        "quayregistries",
        7,
        FaultKind::InternalError,
    )]);
    let (status, output) = first.finish();
    assert!(status.success(), "{output}");
    assert_eq!(faults.rules(), [], "the 500s were never met");
}

/// 429s with Retry-After on the primary's InstallPlans are waited out and retried.
fn too_many_requests(ctx: &Ctx, to: QuayVersion) {
    let faults = ctx.env.sites()[0].cluster.faults();
    faults.inject(rule(
        "patch",
        "installplans",
        3,
        FaultKind::TooManyRequests {
            retry_after_seconds: 1,
        },
    ));
    target(&ctx.dir, to, "30m", OLM);
    apply_ok(ctx, "429");
    assert_eq!(faults.rules(), [], "the 429s were never met");
}

/// `psql` against the shared database, as the Quay role.
fn sql(ctx: &Ctx, statement: &str) -> String {
    let uri = ctx.env.services().postgres().database_uri(Database::Quay);
    let out = std::process::Command::new("psql")
        .args([uri.expose(), "-tAc", statement])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "psql {statement}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A database at a revision the target does not know (another tool migrated it): the
/// primary's Job fails, the apply stops with its message, the secondaries stay at 0; fixed,
/// the next apply resumes at the migration.
fn failing_migration(ctx: &Ctx, to: QuayVersion) {
    let revision = sql(ctx, "SELECT version_num FROM alembic_version");
    sql(
        ctx,
        "UPDATE alembic_version SET version_num = 'ffffffffffff'",
    );
    target(&ctx.dir, to, "30m", OLM);
    let failed = ctx.dir.apply().unwrap();
    let text = errors(&failed);
    assert_mentions(
        &text,
        &[
            "Upgrade Stopped",
            "migration Job registry-quay-app-upgrade on site us_east/quay-enterprise/registry",
            "Can't locate revision identified by 'ffffffffffff'",
            "the secondaries stay scaled to 0",
            "delete the Job",
            "apply again",
        ],
    );
    assert_eq!(
        ctx.runtime.block_on(progress_phase(&ctx.env)).as_deref(),
        Some("wait-primary-migrated")
    );
    assert_secondaries_down(&ctx.runtime, &ctx.env);

    // Applying again before the fix stops at the same step, with the same message.
    let again = ctx.dir.apply().unwrap();
    assert_mentions(&errors(&again), &["Can't locate revision"]);
    assert_secondaries_down(&ctx.runtime, &ctx.env);

    sql(
        ctx,
        &format!("UPDATE alembic_version SET version_num = '{revision}'"),
    );
    ctx.runtime.block_on(async {
        let client = ctx.env.sites()[0].cluster.client().await.unwrap();
        Api::<Job>::namespaced(client, NAMESPACE)
            .delete("registry-quay-app-upgrade", &DeleteParams::background())
            .await
            .unwrap();
    });
    apply_ok(ctx, "after the migration was fixed");
}

/// The last secondary cut off for a while (and every watch dropped) while the secondaries'
/// operators are upgraded: the apply waits for it and completes.
fn secondary_unreachable_while_upgrading(ctx: &Ctx, to: QuayVersion) {
    let secondary = ctx.env.sites()[2].cluster.faults();
    // Keeps the secondaries' step open until the secondary is cut off.
    secondary.inject(hold("patch", "installplans", None));
    target(&ctx.dir, to, "30m", OLM);
    // The provider logs each round's status at info: the test reads them to know the apply
    // has seen the cut-off secondary.
    let mut apply = Running::spawn_with_env(&ctx.dir, &[("TF_LOG_PROVIDER", "info")]);
    apply.wait_for(&ctx.runtime, "upgrade-secondary-operators", || async {
        progress_phase(&ctx.env).await.as_deref() == Some("upgrade-secondary-operators")
    });
    secondary.set_unreachable(true);
    secondary.clear();
    for site in ctx.env.sites() {
        site.cluster.faults().close_watches();
    }
    // Two rounds that found ap_south cut off: the apply has decided, with eu_west reachable
    // and ap_south not, at least once after the round in which it could have restored eu_west
    // (a phase changes one round before it acts). A stalled apply never gets here.
    let cut_off =
        "waiting for cluster ap_south of ap_south/quay-enterprise/registry to become reachable";
    let log = apply.log.clone();
    apply.wait_for(&ctx.runtime, "two rounds that saw ap_south cut off", || {
        let seen = std::fs::read_to_string(&log)
            .unwrap_or_default()
            .matches(cut_off)
            .count();
        async move { seen >= 2 }
    });
    // Upgraded or not, no secondary serves before every secondary runs the target.
    assert_eq!(
        ctx.runtime.block_on(quay_replicas(&ctx.env, 1)),
        Some(0),
        "eu_west was restored while ap_south was cut off"
    );
    for site in &ctx.env.sites()[1..] {
        assert_eq!(site.operator.ready_quay_pods(), [], "{} serves", site.name);
    }
    secondary.set_unreachable(false);
    let (status, output) = apply.finish();
    assert!(status.success(), "{output}");
}

/// The primary cut off (and every watch dropped) while its migration Job runs: the apply
/// waits for it and completes.
fn primary_unreachable_while_migrating(ctx: &Ctx, to: QuayVersion) {
    target(&ctx.dir, to, "30m", OLM);
    // The provider logs each round's status at info: the test reads them to know the apply
    // has seen the cut-off primary.
    let mut apply = Running::spawn_with_env(&ctx.dir, &[("TF_LOG_PROVIDER", "info")]);
    apply.wait_for(&ctx.runtime, "the primary's migration", || async {
        progress_phase(&ctx.env).await.as_deref() == Some("wait-primary-migrated")
            && migrating(&ctx.env, 0).await
    });
    let primary = ctx.env.sites()[0].cluster.faults();
    primary.set_unreachable(true);
    for site in ctx.env.sites() {
        site.cluster.faults().close_watches();
    }
    // Cut off until the apply has met the cut-off primary in a round (a stalled apply never
    // logs it), and no longer: the operator model's own retries of the Job's status are
    // longer than one round.
    let cut_off =
        "waiting for cluster us_east of us_east/quay-enterprise/registry to become reachable";
    let log = apply.log.clone();
    apply.wait_for(&ctx.runtime, "a round that saw us_east cut off", || {
        let seen = std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains(cut_off);
        async move { seen }
    });
    primary.set_unreachable(false);
    for site in ctx.env.sites() {
        site.cluster.faults().close_watches();
    }
    let (status, output) = apply.finish();
    assert!(status.success(), "{output}");
}

/// A secondary cut off once the restore has begun, for longer than an apply's timeout: the
/// apply fails naming the cluster and saying how to resume; back online, the next apply
/// completes.
fn secondary_unreachable_while_restoring(ctx: &Ctx, to: QuayVersion) {
    let secondary = ctx.env.sites()[2].cluster.faults();
    // Slows the secondary's restore down enough to cut it off in the middle.
    secondary.set_latency(Duration::from_millis(100));
    target(&ctx.dir, to, "30m", OLM);
    let mut apply = Running::spawn(&ctx.dir);
    apply.wait_for(&ctx.runtime, "restore-secondaries", || async {
        progress_phase(&ctx.env).await.as_deref() == Some("restore-secondaries")
    });
    secondary.set_unreachable(true);
    // That apply would wait out its 30 minutes: the next one, resuming in the restore at once
    // whatever the load, gets a short timeout. Without refresh, since the sites' own reads
    // would report the unreachable cluster before the upgrade ran.
    apply.kill();
    target(&ctx.dir, to, "15s", OLM);
    let timed_out = ctx.dir.apply_with(&["-refresh=false"]).unwrap();
    assert_mentions(
        &errors(&timed_out),
        &[
            "Upgrade Timed Out",
            "cluster ap_south",
            "apply again to resume",
        ],
    );
    assert_eq!(
        ctx.runtime.block_on(progress_phase(&ctx.env)).as_deref(),
        Some("restore-secondaries")
    );
    secondary.set_unreachable(false);
    secondary.clear();
    target(&ctx.dir, to, "30m", OLM);
    apply_ok(ctx, "after the secondary came back");
}
