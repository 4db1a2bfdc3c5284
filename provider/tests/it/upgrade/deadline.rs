//! An upgrade run that the operation's deadline ends: what it reports it was waiting for.

use std::time::Duration;

use georep_harness::sim::{FaultKind, FaultRule, Flavour};
use terraform_provider_quay::cluster::within;
use terraform_provider_quay::framework::StopToken;
use terraform_provider_quay::orchestrate::{RunError, run};
use tokio::time::Instant;

use super::{clusters, request, three_sites};

/// Mid-upgrade, the run waits for a secondary it cannot read; then the primary stops
/// answering in time, and the deadline cuts a read of the primary. The timeout must still
/// name the secondary the run was waiting for: judging the cut round would report the
/// primary, cut or read after the cut, as the cluster that could not be reached.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_timeout_names_what_the_run_waited_for_not_the_read_the_deadline_cut() {
    let (sites, _world, tasks) = three_sites(Flavour::Kubernetes).await;
    let (primary, last) = (sites[0].sim.faults(), sites[2].sim.faults());
    let deadline = Instant::now() + Duration::from_secs(12);
    let stop = StopToken::never();
    let mut statuses: Vec<String> = Vec::new();
    let result = within(
        Some(deadline),
        stop.clone(),
        run(
            &clusters(&sites),
            &request(&sites, "deployment"),
            deadline,
            &stop,
            |status| {
                // Once the secondaries are being scaled down (past the preflight, which
                // refuses a site it cannot read), ap_south's QuayRegistry reads are refused
                // (409 is answered at once, never retried).
                if status.starts_with("scaling")
                    && !statuses.iter().any(|s| s.starts_with("scaling"))
                {
                    last.inject(FaultRule {
                        verb: Some("get".into()),
                        resource: Some("quayregistries".into()),
                        name: None,
                        count: u32::MAX,
                        fault: FaultKind::Conflict,
                    });
                }
                // From the first round that waits for ap_south, us_east answers too late.
                if status.contains("cluster ap_south") {
                    primary.set_latency(Duration::from_secs(60));
                }
                statuses.push(status.to_owned());
            },
        ),
    )
    .await;
    primary.set_latency(Duration::ZERO);
    let Err(RunError::Timeout { status, steps, .. }) = result else {
        panic!("expected a timeout, got {result:?}");
    };
    assert!(
        statuses.iter().any(|s| s.contains("cluster ap_south")),
        "the run never waited for ap_south: {statuses:#?}"
    );
    // The round may also name a secondary still scaling down; it must name ap_south, and
    // must not blame the primary, whose read was cut.
    assert!(
        status.contains("waiting for cluster ap_south of ap_south/")
            && !status.contains("waiting for cluster us_east"),
        "the timeout names another wait: {status}"
    );
    // The primary's reads go out at once: whichever the deadline cut (a read or a list).
    assert!(
        status.contains("the time ran out during: ") && status.contains("on cluster \"us_east\""),
        "the timeout does not say which read the deadline cut: {status}"
    );
    assert!(
        steps.iter().any(|s| s.what.contains("scaled")),
        "the run never got past the preflight: {steps:#?}"
    );
    for t in tasks {
        t.abort();
    }
}
