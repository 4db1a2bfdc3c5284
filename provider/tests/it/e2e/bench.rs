//! The `georep-harness bench provider`, `bench plan` and `bench upgrade` benchmarks at tiny
//! sizes: they run to the end (the last two against the local backend) with this build's
//! provider and report every measurement. Nothing here looks at how long anything took.

use georep_harness::cli::bench_plan::{self, PlanArgs};
use georep_harness::cli::bench_provider::{self, ProviderArgs};
use georep_harness::cli::bench_upgrade::{self, OperatorMethod, UpgradeArgs};
use georep_harness::terraform::binaries_under_test;

use super::{null_provider_dir, provider_dir};

#[tokio::test(flavor = "multi_thread")]
async fn tiny_plan_benchmark_reports_every_measurement() {
    let pinned = binaries_under_test().unwrap().remove(0);
    let args = PlanArgs {
        sizes: vec![4, 1],
        runs: 1,
        terraforms: vec![pinned.path.clone()],
        provider_dir: Some(provider_dir()),
        null_provider_dir: Some(null_provider_dir()),
        latency: 0,
    };
    let report = bench_plan::run(&args).await.unwrap();
    let sizes: Vec<usize> = report.rows.iter().map(|r| r.size).collect();
    assert_eq!(sizes, [1, 4], "one row per size, smallest first");
    for row in &report.rows {
        assert_eq!(row.terraform, pinned.label());
        assert!(row.refresh_changes.is_empty(), "{:?}", row.refresh_changes);
        assert!(row.provider_processes > 0, "no provider process counted");
        assert_eq!(row.connections.len(), 3, "one count per cluster");
        assert_eq!(row.serial_connections.len(), 3, "one count per cluster");
    }
    // Sites go round-robin onto the three clusters, and the provider connects to a cluster
    // when a resource first needs it. Read one resource at a time (-parallelism=1), its one
    // client per cluster opens at least one connection to each cluster holding a site and none
    // to the others; a site's refresh makes its five reads at once, and kube-rs speaks
    // HTTP/1.1, so a client keeps up to five pooled connections, and the next site's reads
    // reuse them: at most five per cluster, also for the cluster holding two of four sites.
    // More means a second client for the cluster (one per resource or per RPC) or kept
    // connections lost between requests (no keep-alive, or the server closing them); a 0 for a
    // cluster holding a site means the resource was never read there. The counts are the
    // provider's alone: the clusters file each connection under the User-Agent of its first
    // request, and only the provider sends none; the models and workers reconnecting meanwhile
    // are counted apart.
    const READS_AT_ONCE: u64 = 5;
    for row in &report.rows {
        for (i, cluster) in row.serial_connections.iter().enumerate() {
            if i < row.size {
                assert!(
                    (1..=READS_AT_ONCE).contains(&cluster.connections),
                    "{}: {row:?}",
                    cluster.cluster
                );
            } else {
                assert_eq!(cluster.connections, 0, "{}: {row:?}", cluster.cluster);
            }
        }
    }
    let text = report.to_string();
    for needle in [
        "quay refresh plan",
        "TLS empty plan",
        "null empty plan",
        "per object (1->4)",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tiny_upgrade_benchmark_reports_every_measurement() {
    let args = UpgradeArgs {
        migration_ms_per_revision: 10,
        runs: 1,
        operator: OperatorMethod::Olm,
        terraform: Some(binaries_under_test().unwrap().remove(0).path),
        provider_dir: Some(provider_dir()),
    };
    let report = bench_upgrade::run(&args).await.unwrap();
    assert_eq!(report.runs.len(), 1);
    let run = &report.runs[0];
    assert_eq!(run.secondaries.len(), 2, "{run:?}");
    assert!(
        run.migration.is_some(),
        "the primary's migration Job: {run:?}"
    );
    assert!(run.critical_path() <= run.upgrade, "{run:?}");
    // Before the scale-down, before the primary, before each secondary, before the restore
    // and after it.
    assert_eq!(run.gaps.len(), 6, "{run:?}");
    let text = report.to_string();
    assert!(text.contains("upgrade / critical path"), "{text}");
}

#[test]
fn tiny_provider_benchmark_reports_start_up_plans_and_peak_memory() {
    let terraforms: Vec<_> = binaries_under_test()
        .unwrap()
        .into_iter()
        .map(|t| t.path)
        .collect();
    let args = ProviderArgs {
        runs: 2,
        objects: vec![1, 2],
        terraforms: terraforms.clone(),
        provider_dir: Some(provider_dir()),
        null_provider_dir: Some(null_provider_dir()),
    };
    let report = bench_provider::run(&args).unwrap();
    assert_eq!(report.startup.ours.len(), 2);
    assert_eq!(report.startup.go.len(), 2);
    let plans: Vec<usize> = report.plans.iter().map(|p| p.objects).collect();
    assert_eq!(plans.len(), 2 * terraforms.len(), "{plans:?}");
    assert_eq!(report.rss.len(), terraforms.len());
    for rss in &report.rss {
        // Both providers ran a plan, so both peaks were sampled.
        assert!(rss.peak_kib.ours.is_some_and(|k| k > 0), "{rss:?}");
        assert!(rss.peak_kib.go.is_some_and(|k| k > 0), "{rss:?}");
    }
    let text = report.to_string();
    for needle in [
        "start-up to handshake line",
        "2 x null_resource",
        "peak memory (VmHWM)",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
}
