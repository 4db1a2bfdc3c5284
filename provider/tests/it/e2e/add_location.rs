//! Adding a storage location through the real Terraform CLI on the local backend: two sites
//! run, a blob is pushed; then the shared config gains a third location, `quay_georep_location`
//! waits until both sites serve it and runs Quay's backfill as a Job, and the third site,
//! depending on it, starts. The apply is killed once the Job exists and run again: it finds
//! the Job instead of starting another, the blob pushed before reaches the new bucket, and the
//! safety ledger stays empty (no site served while another lacked a location it writes to, no
//! backfill ran while a site served without the location).

use std::time::{Duration, Instant};

use bytes::Bytes;
use georep_harness::sim::Flavour;
use georep_harness::terraform::{PlanExit, TerraformBinary};
use k8s_openapi::api::batch::v1::Job;
use kube::Api;
use kube::api::ListParams;

use super::local_backend::{LocalRun, NAMESPACE, shared_config_tf, site_tf};
use super::{for_each_terraform, spawn_apply};

/// Sites `us_east` and `ap_south`, sharing a config of their two locations.
fn two_sites() -> String {
    format!(
        "{}{}{}",
        shared_config_tf(&["us_east", "ap_south"], ""),
        site_tf("us_east", ""),
        site_tf("ap_south", "")
    )
}

/// The same sites with `eu_west` added to the config, the location resource, and the new site
/// depending on it. The sites are named by id, not by reference, so Terraform applies the
/// location beside their updates, as it would for sites of another configuration: the
/// resource has to wait for their rollout itself.
fn three_sites() -> String {
    format!(
        r#"{}{}{}{}
resource "quay_georep_location" "eu_west" {{
  location    = "eu_west"
  sites       = ["us_east/{NAMESPACE}/registry", "ap_south/{NAMESPACE}/registry"]
  config_hash = data.quay_georep_config.shared.config_hash
}}
"#,
        shared_config_tf(&["us_east", "ap_south", "eu_west"], ""),
        site_tf("us_east", ""),
        site_tf("ap_south", ""),
        site_tf("eu_west", "  depends_on = [quay_georep_location.eu_west]\n"),
    )
}

/// The backfill Jobs in the namespace of `site`'s cluster.
async fn backfill_jobs(run: &LocalRun, site: &str) -> Vec<Job> {
    let client = run.env.site(site).unwrap().cluster.client().await.unwrap();
    Api::<Job>::namespaced(client, NAMESPACE)
        .list(&ListParams::default().labels("quay-georep/location=eu_west"))
        .await
        .unwrap()
        .items
}

/// Polls `check` until it holds, at most `limit` (a bound for a loaded machine, not a measure).
fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < limit, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_location_added_reaches_every_site_first_resumes_after_a_kill_and_gets_the_old_blobs() {
    for_each_terraform(|tf: &TerraformBinary| {
        let run = LocalRun::start(&["us-east", "ap-south", "eu-west"], Flavour::Openshift);
        let dir = run.workdir(tf, "add_location");
        dir.write_main_tf(&two_sites()).unwrap();
        let applied = dir.apply().unwrap();
        assert!(applied.succeeded(), "{:#?}", applied.events);

        let pushed = run
            .runtime
            .block_on(
                run.env
                    .push_blob("us-east", Bytes::from_static(b"pushed before")),
            )
            .unwrap();
        let in_location = |location: &str| {
            run.runtime.block_on(async {
                let storage = run.env.site_storage("us-east").await.unwrap();
                storage
                    .location(location)
                    .unwrap()
                    .get(&pushed.digest)
                    .await
                    .unwrap()
                    .is_some()
            })
        };
        eventually(
            Duration::from_secs(60),
            "the blob replicated to ap_south",
            || in_location("ap_south"),
        );

        dir.write_main_tf(&three_sites()).unwrap();
        let plan = dir.plan().unwrap();
        assert_eq!(plan.exit, PlanExit::Changes, "{:#?}", plan.events);
        let planned = plan
            .events
            .diagnostics()
            .find(|d| d.summary == "Storage Location Addition Planned")
            .unwrap_or_else(|| panic!("no plan warning: {:#?}", plan.events));
        for says in [
            "us_east/quay-enterprise",
            "util.backfillreplication",
            "backfill-eu-west-",
        ] {
            assert!(planned.detail.contains(says), "{says}: {}", planned.detail);
        }

        // Killed once the backfill Job exists (running or done), then applied again.
        let (mut child, log) = spawn_apply(&dir);
        let started = Instant::now();
        let mut first = Vec::new();
        while first.is_empty() && child.try_wait().unwrap().is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(300),
                "no backfill Job:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            first = run.runtime.block_on(backfill_jobs(&run, "us-east"));
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .status();
        let _ = child.wait();
        let first = first.first().and_then(|job| job.metadata.uid.clone());
        assert!(first.is_some(), "the interrupted apply made no Job");
        // Killed while the operation waited for its Job: the next apply has something to resume.
        assert!(
            dir.show_json()
                .unwrap()
                .resource_values("quay_georep_location.eu_west")
                .is_none(),
            "the kill came after the location was added: nothing left to resume"
        );

        let applied = dir.apply().unwrap();
        assert!(applied.succeeded(), "{:#?}", applied.events);
        let jobs = run.runtime.block_on(backfill_jobs(&run, "us-east"));
        assert_eq!(jobs.len(), 1, "one backfill Job");
        assert_eq!(
            jobs[0].metadata.uid, first,
            "the second apply waited for the first Job"
        );
        let state = dir.show_json().unwrap();
        let location = state
            .resource_values("quay_georep_location.eu_west")
            .expect("the location in state");
        assert!(
            location["backfill_job"]
                .as_str()
                .is_some_and(|j| j.starts_with("us_east/quay-enterprise/backfill-eu-west-"))
        );
        let steps: Vec<&str> = location["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s.as_str())
            .collect();
        assert!(
            steps.last().is_some_and(|s| s.contains("succeeded")),
            "{steps:#?}"
        );

        eventually(Duration::from_secs(60), "the old blob in eu_west", || {
            in_location("eu_west")
        });
        let violations = run.env.ledger().violations();
        assert!(violations.is_empty(), "{violations:#?}");
        let replan = dir.plan().unwrap();
        assert_eq!(replan.exit, PlanExit::NoChanges, "{:#?}", replan.events);
        run.stop();
    });
}
