//! Removing a storage location through the real Terraform CLI on the local backend: sites
//! `us_east` and `ap_south` run and a blob is pushed and replicated to both; the `us_east`
//! site is destroyed, then the shared config drops its location (acknowledged). A blob whose
//! only placement is `us_east` stands in for a push the replication worker never copied:
//! `quay_georep_location_removal` fails with the count and deletes nothing. Once that blob
//! has another placement, the next apply replaces the failed Job and removes the location:
//! the shared database keeps the blobs' other placements and forgets `us_east`, a backfill
//! Job an earlier addition of `us_east` left is deleted (it would stand for a re-addition),
//! the safety ledger stays empty and a second plan has nothing to do.

use bytes::Bytes;
use georep_harness::blobs::{placements, queue};
use georep_harness::sim::Flavour;
use georep_harness::terraform::{PlanExit, TerraformBinary};
use k8s_openapi::api::batch::v1::Job;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt as _};

use super::for_each_terraform;
use super::local_backend::{LocalRun, NAMESPACE, shared_config_tf, site_tf};

/// A digest no push made: the blob the worker never copied.
const UNCOPIED: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000001";

/// The removal of `us_east`, naming the remaining site by id.
fn removal_tf() -> String {
    format!(
        r#"
resource "quay_georep_location_removal" "us_east" {{
  location    = "us_east"
  sites       = ["ap_south/{NAMESPACE}/registry"]
  config_hash = data.quay_georep_config.shared.config_hash
}}
"#
    )
}

/// The site `ap_south` with the config without `us_east`, acknowledged, and `tail`.
fn without_us_east(tail: &str) -> String {
    format!(
        "{}{}{tail}",
        shared_config_tf(&["ap_south"], ""),
        site_tf(
            "ap_south",
            "  acknowledge_location_removals = [\"us_east\"]\n"
        )
    )
}

/// The Jobs of `ap-south`'s namespace.
async fn ap_south_jobs(run: &LocalRun) -> Api<Job> {
    let client = run
        .env
        .site("ap-south")
        .unwrap()
        .cluster
        .client()
        .await
        .unwrap();
    Api::<Job>::namespaced(client, NAMESPACE)
}

/// The Jobs of location `us_east` in `ap-south`'s cluster.
async fn removal_jobs(run: &LocalRun) -> Vec<Job> {
    ap_south_jobs(run)
        .await
        .list(&ListParams::default().labels("quay-georep/location=us_east"))
        .await
        .unwrap()
        .items
}

/// The name of the succeeded backfill Job the test leaves.
const OLD_BACKFILL: &str = "backfill-us-east-0123456789";
/// The name of the running backfill Job the test leaves.
const RUNNING_BACKFILL: &str = "backfill-us-east-9876543210";

/// Leaves a backfill Job of `us_east` in `ap-south`'s namespace, labelled as an addition
/// leaves it, with `status` (its container runs no tool the simulated Job controller plays, so
/// the status written here stays).
async fn seed_backfill_job(run: &LocalRun, name: &str, status: serde_json::Value) {
    let job: Job = serde_json::from_value(serde_json::json!({
        "metadata": {
            "name": name,
            "labels": {
                "quay-georep/location": "us_east",
                "app.kubernetes.io/managed-by": "terraform-provider-quay",
            },
        },
        "spec": {"template": {"spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "done", "image": "busybox", "command": ["true"]}],
        }}},
    }))
    .unwrap();
    let jobs = ap_south_jobs(run).await;
    jobs.create(&PostParams::default(), &job).await.unwrap();
    let status = serde_json::json!({ "status": status });
    jobs.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
}

#[test]
fn a_removal_refuses_blobs_with_no_other_copy_then_forgets_the_location_once_they_have_one() {
    for_each_terraform(|tf: &TerraformBinary| {
        let run = LocalRun::start(&["us-east", "ap-south"], Flavour::Openshift);
        let dir = run.workdir(tf, "remove_location");
        dir.write_main_tf(&format!(
            "{}{}{}",
            shared_config_tf(&["us_east", "ap_south"], ""),
            site_tf("us_east", ""),
            site_tf("ap_south", "")
        ))
        .unwrap();
        let applied = dir.apply().unwrap();
        assert!(applied.succeeded(), "{:#?}", applied.events);
        let pushed = run
            .runtime
            .block_on(
                run.env
                    .push_blob("ap-south", Bytes::from_static(b"pushed through ap-south")),
            )
            .unwrap();
        let db_uri = run.runtime.block_on(async {
            let storage = run.env.site_storage("ap-south").await.unwrap();
            storage.bundle.db_uri().unwrap().to_owned()
        });
        let client = run.runtime.block_on(queue::connect(&db_uri)).unwrap();
        let placed = |digest: &str| -> Vec<String> {
            run.runtime
                .block_on(placements::locations_of(&client, digest))
                .unwrap()
                .into_iter()
                .collect()
        };
        let started = std::time::Instant::now();
        while placed(&pushed.digest) != ["ap_south", "us_east"] {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "the blob replicated to us_east: {:?}",
                placed(&pushed.digest)
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }

        // The site of us_east goes first; its location stays in the config for that apply.
        dir.write_main_tf(&format!(
            "{}{}",
            shared_config_tf(&["us_east", "ap_south"], ""),
            site_tf("ap_south", "")
        ))
        .unwrap();
        let applied = dir.apply().unwrap();
        assert!(applied.succeeded(), "{:#?}", applied.events);
        dir.write_main_tf(&without_us_east("")).unwrap();
        let applied = dir.apply().unwrap();
        assert!(applied.succeeded(), "{:#?}", applied.events);

        let record = |location: &str| {
            run.runtime
                .block_on(placements::record(
                    &client,
                    &[(UNCOPIED.to_owned(), location.to_owned())],
                ))
                .unwrap();
        };
        record("us_east");
        dir.write_main_tf(&without_us_east(&removal_tf())).unwrap();
        let plan = dir.plan().unwrap();
        assert_eq!(plan.exit, PlanExit::Changes, "{:#?}", plan.events);
        let planned = plan
            .events
            .diagnostics()
            .find(|d| d.summary == "Storage Location Removal Planned")
            .unwrap_or_else(|| panic!("no plan warning: {:#?}", plan.events));
        for says in ["util.removelocation us_east", "remove-us-east-", "bucket"] {
            assert!(planned.detail.contains(says), "{says}: {}", planned.detail);
        }
        // A backfill Job of us_east left from an earlier addition: once every site serves the
        // config without the location it must go, even if the removal then fails (the
        // guide's recovery adds the location again, which must not find it succeeded).
        run.runtime.block_on(seed_backfill_job(
            &run,
            OLD_BACKFILL,
            serde_json::json!({"succeeded": 1}),
        ));
        let refused = dir.apply().unwrap();
        assert!(!refused.succeeded(), "{:#?}", refused.events);
        let error = refused
            .events
            .errors()
            .find(|d| d.summary == "Storage Location Not Removed")
            .unwrap_or_else(|| panic!("no removal error: {:#?}", refused.events));
        assert!(
            error
                .detail
                .contains("blobs placed only in storage location us_east: 1; nothing was deleted"),
            "{}",
            error.detail
        );
        assert_eq!(
            placed(&pushed.digest),
            ["ap_south", "us_east"],
            "nothing deleted"
        );
        assert_eq!(placed(UNCOPIED), ["us_east"]);
        let left: Vec<String> = run
            .runtime
            .block_on(removal_jobs(&run))
            .iter()
            .map(|j| j.name_any())
            .collect();
        assert!(
            left.iter().all(|name| name.starts_with("remove-us-east-")),
            "the old backfill Job outlived the failed removal: {left:?}"
        );

        // The blob gets its copy (what the worker would have done); the next apply retries.
        // Meanwhile another apply's backfill runs (contradictory applies at once): it is left
        // running, and the apply says so.
        record("ap_south");
        run.runtime.block_on(seed_backfill_job(
            &run,
            RUNNING_BACKFILL,
            serde_json::json!({"active": 1}),
        ));
        let applied = dir.apply().unwrap();
        assert!(applied.succeeded(), "{:#?}", applied.events);
        let left = applied
            .events
            .diagnostics()
            .find(|d| d.summary == "Earlier Location Jobs Left")
            .unwrap_or_else(|| panic!("no warning of the running Job: {:#?}", applied.events));
        for says in [RUNNING_BACKFILL, "still running", "kubectl delete job"] {
            assert!(left.detail.contains(says), "{says}: {}", left.detail);
        }
        assert_eq!(placed(&pushed.digest), ["ap_south"]);
        assert_eq!(placed(UNCOPIED), ["ap_south"]);
        let known = run
            .runtime
            .block_on(placements::knows_location(&client, "us_east"))
            .unwrap();
        assert!(!known, "the location's row is deleted");
        let jobs = run.runtime.block_on(removal_jobs(&run));
        let mut names: Vec<String> = jobs.iter().map(|j| j.name_any()).collect();
        names.sort();
        assert_eq!(
            names.len(),
            2,
            "the failed Job was replaced, not kept beside, the old backfill Job is gone and the \
             running one is left: {names:?}"
        );
        assert_eq!(names[0], RUNNING_BACKFILL, "{names:?}");
        assert!(names[1].starts_with("remove-us-east-"), "{names:?}");
        let state = dir.show_json().unwrap();
        let removal = state
            .resource_values("quay_georep_location_removal.us_east")
            .expect("the removal in state");
        assert!(
            removal["removal_job"]
                .as_str()
                .is_some_and(|j| j.starts_with("ap_south/quay-enterprise/remove-us-east-"))
        );
        let steps = removal["steps"].to_string();
        assert!(steps.contains("an earlier apply left failed"), "{steps}");
        assert!(steps.contains("succeeded"), "{steps}");
        let violations = run.env.ledger().violations();
        assert!(violations.is_empty(), "{violations:#?}");
        let replan = dir.plan().unwrap();
        assert_eq!(replan.exit, PlanExit::NoChanges, "{:#?}", replan.events);
        run.stop();
    });
}
