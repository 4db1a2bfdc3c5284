//! The runner with scenarios that touch no cluster: what `--parallel` runs side by side,
//! what runs alone, and that the report keeps the catalogue's order.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::*;
use crate::conformance::Failure;
use crate::conformance::target::tests::sample;
use crate::terraform::Version;

/// How long a scenario waits for a partner that should run beside it (a guard against a
/// hang, not a measurement).
const PARTNER_WAIT: Duration = Duration::from_secs(60);

#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// How many scenarios run now, and the most seen at once.
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    most: AtomicUsize,
}

impl Gauge {
    fn enter(&self) -> usize {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        now
    }
    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A scenario that passes only if its partner (sharing `pair`) starts while it runs.
fn beside(id: &str, gauge: &Arc<Gauge>, pair: &Arc<AtomicUsize>) -> Scenario {
    let (gauge, pair) = (Arc::clone(gauge), Arc::clone(pair));
    Scenario::new(id, "Runs beside another.", &[], move |_| {
        gauge.enter();
        pair.fetch_add(1, Ordering::SeqCst);
        let start = Instant::now();
        while pair.load(Ordering::SeqCst) < 2 && start.elapsed() < PARTNER_WAIT {
            std::thread::sleep(Duration::from_millis(5));
        }
        let together = pair.load(Ordering::SeqCst) >= 2;
        gauge.leave();
        crate::ensure!(together, "its partner did not start while it ran");
        Ok(())
    })
    .plan_only()
}

/// A scenario that fails if anything else runs while it does.
fn alone(id: &str, gauge: &Arc<Gauge>) -> Scenario {
    let gauge = Arc::clone(gauge);
    Scenario::new(id, "Runs alone.", &[], move |_| {
        let now = gauge.enter();
        std::thread::sleep(Duration::from_millis(20));
        let after = gauge.now.load(Ordering::SeqCst);
        gauge.leave();
        if now != 1 || after != 1 {
            return Err(Failure::new(format!(
                "{now} then {after} scenarios at once"
            )));
        }
        Ok(())
    })
    .exclusive()
}

fn run(catalogue: &[Scenario], parallel: usize) -> (SuiteResult, String) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let target = sample();
    let capabilities = Capabilities::none();
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::default();
    let output = Output::plain(Box::new(sink.clone()));
    let scanner = SecretScanner::new();
    let terraform = TerraformBinary {
        path: PathBuf::from("/nonexistent/terraform"),
        version: Version::new(1, 0, 3),
    };
    let runner = Runner {
        backend: "existing",
        target: &target,
        capabilities: &capabilities,
        provider_dir: dir.path(),
        work_dir: dir.path(),
        prefix: "cf-000000",
        include: &[],
        skip: &[],
        keep_on_failure: false,
        parallel,
        allow_operator_upgrade: false,
        secret_keys: ("k1", "k2"),
        scanner: &scanner,
        output: &output,
        runtime: runtime.handle(),
    };
    let suite = runner.run(catalogue, &terraform);
    let text = String::from_utf8_lossy(&sink.0.lock().unwrap()).into_owned();
    (suite, text)
}

fn outcomes(suite: &SuiteResult) -> Vec<(String, Outcome)> {
    suite
        .cases
        .iter()
        .map(|c| (c.id.clone(), c.outcome.clone()))
        .collect()
}

#[test]
fn parallel_runs_scenarios_side_by_side_and_an_exclusive_one_alone() {
    let gauge = Arc::new(Gauge::default());
    let (first, second) = (Arc::default(), Arc::default());
    let catalogue = vec![
        beside("A", &gauge, &first),
        beside("B", &gauge, &first),
        alone("X", &gauge),
        beside("C", &gauge, &second),
        beside("D", &gauge, &second),
        alone("Y", &gauge),
    ];
    let (suite, text) = run(&catalogue, 3);
    let ids: Vec<String> = ["A", "B", "X", "C", "D", "Y"].map(str::to_owned).to_vec();
    assert_eq!(
        outcomes(&suite),
        ids.iter()
            .map(|id| (id.clone(), Outcome::Passed))
            .collect::<Vec<_>>(),
        "{text}"
    );
    assert!(text.contains("up to 3 at once"), "{text}");
    assert_eq!(
        gauge.most.load(Ordering::SeqCst),
        2,
        "only pairs could meet"
    );
}

#[test]
fn without_parallel_one_scenario_runs_at_a_time() {
    let gauge = Arc::new(Gauge::default());
    let catalogue = vec![alone("A", &gauge), alone("B", &gauge), alone("C", &gauge)]
        .into_iter()
        .map(|mut s| {
            s.exclusive = false;
            s
        })
        .collect::<Vec<_>>();
    let (suite, text) = run(&catalogue, 1);
    assert!(
        suite.cases.iter().all(|c| c.outcome == Outcome::Passed),
        "{text}"
    );
    assert_eq!(gauge.most.load(Ordering::SeqCst), 1);
}

#[test]
fn a_scenario_using_backend_wide_counters_runs_alone_only_where_they_exist() {
    let noop = |_: &mut Context<'_>| Ok(());
    let plain = Scenario::new("P", "Plain.", &[], noop).plan_only();
    let counting = Scenario::new("W", "Counts writes.", &[], noop)
        .plan_only()
        .uses(&[Capability::WriteCounters]);
    let faulty =
        Scenario::new("F", "Injects faults.", &[Capability::FaultInjection], noop).plan_only();
    let upgrade = Scenario::new("U", "Upgrades the operator.", &[], noop)
        .plan_only()
        .exclusive();
    let selected = [&plain, &counting, &plain, &faulty, &upgrade, &plain, &plain];
    assert_eq!(
        batches(&selected, &Capability::ALL),
        vec![vec![0], vec![1], vec![2], vec![3], vec![4], vec![5, 6]]
    );
    assert_eq!(
        batches(&selected, &[]),
        vec![vec![0, 1, 2, 3], vec![4], vec![5, 6]],
        "without counters or faults only the exclusive one is alone"
    );
    let catalogue = crate::conformance::scenarios::catalogue();
    let global = catalogue.iter().find(|s| s.id.starts_with("GLB-")).unwrap();
    assert!(
        global.runs_alone(&[]),
        "it scales a site every scenario is routed to"
    );
}

#[test]
fn only_plan_only_scenarios_run_beside_others() {
    // Every site a scenario installs migrates the one shared database and joins the one
    // deployment the safety ledger checks: two installing scenarios at once are unsafe.
    let noop = |_: &mut Context<'_>| Ok(());
    let installs = Scenario::new("I", "Installs a site.", &[], noop);
    let plans = Scenario::new("B", "Plans only.", &[], noop).plan_only();
    assert_eq!(
        batches(&[&plans, &installs, &installs, &plans, &plans], &[]),
        vec![vec![0], vec![1], vec![2], vec![3, 4]]
    );
    for scenario in crate::conformance::scenarios::catalogue() {
        assert_eq!(
            scenario.runs_alone(&[]),
            !scenario.id.starts_with("BADINPUT-"),
            "{}",
            scenario.id
        );
    }
}
