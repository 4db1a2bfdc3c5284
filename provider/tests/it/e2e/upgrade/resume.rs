//! Terraform and its provider killed (SIGKILL to the whole process group) at each step of the
//! upgrade in turn, then `terraform apply` run again in the same working directory: every
//! time the upgrade completes with every site on the target, the original replicas and HPA
//! settings, the Lease released, no progress record and an empty safety ledger.
//!
//! One test and one local backend per case (about 8 s each here), upgraded one minor from the
//! case's place in the catalogue (the fourth, 3.16 to 3.17, has the longest migration, so it
//! is the one killed mid-migration). A step is held by a fault
//! on the one write that ends it (so the kill lands in that step however loaded the machine
//! is), except the migration, which takes seconds here and is killed while its Job runs.

use std::time::Duration;

use serde_json::json;

use super::{
    Backend, OLM, PROGRESS, Running, assert_upgraded, hold, hold_hits, migrating, progress_phase,
    registries, releases_from, slow_migration_backend, target,
};

/// How a case keeps the upgrade in its step until Terraform is killed.
enum Hold {
    /// From the start of the apply, fail `verb` on `resource` on site `site` (0 = primary).
    Write {
        site: usize,
        verb: &'static str,
        resource: &'static str,
    },
    /// Nothing: kill while the primary's migration Job runs.
    Migration,
    /// Slow the last secondary down, and once the restore has begun fail the progress
    /// record's write that would end it.
    Restore,
}

/// One kill: the recorded phase it lands in and how it is held there.
struct Case {
    phase: &'static str,
    hold: Hold,
}

/// In catalogue order from 3.13: the fourth hop (3.16 to 3.17) has the longest migration
/// (nine revisions), so it is the one killed mid-migration.
const CASES: [Case; 5] = [
    Case {
        phase: "scale-down-secondaries",
        hold: Hold::Write {
            site: 2,
            verb: "patch",
            resource: "quayregistries",
        },
    },
    Case {
        phase: "upgrade-primary-operator",
        hold: Hold::Write {
            site: 0,
            verb: "patch",
            resource: "installplans",
        },
    },
    Case {
        phase: "upgrade-secondary-operators",
        hold: Hold::Write {
            site: 2,
            verb: "patch",
            resource: "installplans",
        },
    },
    Case {
        phase: "wait-primary-migrated",
        hold: Hold::Migration,
    },
    Case {
        phase: "restore-secondaries",
        hold: Hold::Restore,
    },
];

/// Starts a backend at the `index`-th release from 3.13.11 with `examples/three-sites`
/// applied, kills the upgrade one minor up in `CASES[index]`'s phase, applies again, and
/// checks that the upgrade completed safely.
fn kill_and_resume(index: usize) {
    let chain = releases_from("3.13.11");
    let (Some(case), Some(&[from, to])) = (CASES.get(index), chain.get(index..index + 2)) else {
        panic!("too few releases for case {index}: {chain:?}");
    };
    let Backend {
        runtime,
        env,
        dir,
        state: _state,
        ..
    } = slow_migration_backend(&format!("upgrade_killed_{index}"), from);
    let before = registries(&runtime, &env);

    target(&dir, to, "30m", OLM);
    // The held write's site and rule, to see the run meet it.
    let mut held = None;
    if let Hold::Write {
        site,
        verb,
        resource,
    } = case.hold
    {
        let rule = hold(verb, resource, None);
        env.sites()[site].cluster.faults().inject(rule.clone());
        held = Some((site, rule));
    }
    if let Hold::Restore = case.hold {
        env.sites()[2]
            .cluster
            .faults()
            .set_latency(Duration::from_millis(100));
    }
    let mut apply = Running::spawn(&dir);
    apply.wait_for(&runtime, case.phase, || async {
        let phase = progress_phase(&env).await;
        phase.as_deref() == Some(case.phase)
            && (!matches!(case.hold, Hold::Migration) || migrating(&env, 0).await)
    });
    if let Hold::Restore = case.hold {
        let rule = hold("patch", "configmaps", Some(PROGRESS));
        env.sites()[0].cluster.faults().inject(rule.clone());
        held = Some((0, rule));
    }
    if let Some((site, rule)) = &held {
        // Let the run meet the hold a few times: it must retry, not move on. Counting the
        // failed writes (not waiting a while) tells a retrying run from one that stalled.
        let faults = env.sites()[*site].cluster.faults();
        let before = hold_hits(faults, rule);
        apply.wait_for(&runtime, "the run to retry the held write twice", || {
            let hits = hold_hits(faults, rule);
            async move { hits >= before + 2 }
        });
    }
    apply.kill();
    for site in env.sites() {
        site.cluster.faults().clear();
    }
    assert_eq!(
        runtime.block_on(progress_phase(&env)).as_deref(),
        Some(case.phase),
        "killed in {}, the progress record moved on",
        case.phase
    );

    let resumed = dir.apply().unwrap();
    assert!(resumed.succeeded(), "{}: {:#?}", case.phase, resumed.events);
    assert_eq!(
        dir.output_json().unwrap()["upgraded_version"].value,
        json!(to.to_string()),
        "killed in {}",
        case.phase
    );
    assert_upgraded(&runtime, &env, &before, to);
    assert_eq!(env.ledger().violations(), [], "killed in {}", case.phase);
    runtime.block_on(env.stop()).unwrap();
}

#[test]
fn an_upgrade_killed_while_scaling_down_completes_on_the_next_apply() {
    kill_and_resume(0);
}

#[test]
fn an_upgrade_killed_while_upgrading_the_primarys_operator_completes_on_the_next_apply() {
    kill_and_resume(1);
}

#[test]
fn an_upgrade_killed_while_upgrading_the_secondaries_completes_on_the_next_apply() {
    kill_and_resume(2);
}

#[test]
fn an_upgrade_killed_while_the_primary_migrates_completes_on_the_next_apply() {
    kill_and_resume(3);
}

#[test]
fn an_upgrade_killed_while_restoring_completes_on_the_next_apply() {
    kill_and_resume(4);
}
