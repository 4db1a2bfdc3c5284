//! `georep-harness bench sim`: throughput and memory of one simulated cluster, measured
//! through a kube-rs client over HTTPS like the provider would use it.
//!
//! Prints numbers; never judges them (no thresholds, nothing asserted on time).

use std::fmt;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;
use tokio_stream::StreamExt as _;

use crate::sim::apiserver::{self, ClusterConfig, SimCluster};

/// Sizes of the benchmark; each flag states its default.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// GET requests to time.
    #[arg(long, default_value_t = 2_000)]
    pub gets: usize,
    /// Objects in the listed namespace.
    #[arg(long, default_value_t = 1_000)]
    pub list_objects: usize,
    /// Lists of that namespace to time.
    #[arg(long, default_value_t = 20)]
    pub lists: usize,
    /// Server-side applies to time.
    #[arg(long, default_value_t = 1_000)]
    pub applies: usize,
    /// Concurrent watchers.
    #[arg(long, default_value_t = 50)]
    pub watchers: usize,
    /// Changes each watcher must see.
    #[arg(long, default_value_t = 200)]
    pub watch_events: usize,
    /// Objects held when memory is measured.
    #[arg(long, default_value_t = 10_000)]
    pub memory_objects: usize,
}

/// The benchmark failed to run (not: it was slow).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The cluster did not start.
    #[error("start benchmark cluster")]
    Start(#[source] apiserver::Error),
    /// A request failed.
    #[error("benchmark request during {phase}")]
    Request {
        /// Which measurement.
        phase: &'static str,
        /// The cause.
        #[source]
        source: kube::Error,
    },
    /// A watcher ended before seeing every change.
    #[error("watcher ended after {seen} of {expected} events")]
    WatchEnded {
        /// Events seen.
        seen: usize,
        /// Events expected.
        expected: usize,
    },
    /// A watcher task panicked or was cancelled.
    #[error("watcher task failed")]
    WatcherTask(#[source] tokio::task::JoinError),
    /// The simulated cluster serves no `v1 configmaps` to store the memory objects in.
    #[error("the simulated cluster has no v1 configmaps resource to measure memory with")]
    NoConfigMaps,
    /// Storing one of the memory objects failed.
    #[error("store configmap {name} for the memory figure")]
    Store {
        /// The object.
        name: String,
        /// The cause.
        #[source]
        source: Box<apiserver::ApiError>,
    },
    /// The resident memory could not be read (it is read from `/proc/self/status`, Linux only).
    #[error("read the resident memory (VmRSS) from /proc/self/status")]
    Memory(#[source] std::io::Error),
    /// `/proc/self/status` was read but has no `VmRSS: <n> kB` line to take the figure from.
    #[error("/proc/self/status has no readable VmRSS line")]
    NoRss,
}

/// One measured line.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// What was measured.
    pub name: String,
    /// How many operations.
    pub count: usize,
    /// How long they took.
    pub elapsed: Duration,
    /// Unit of `count` (`req`, `events`).
    pub unit: &'static str,
}

/// Everything measured.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Throughput lines.
    pub measurements: Vec<Measurement>,
    /// Resident memory before and after loading `memory_objects`, in KiB (Linux only).
    pub memory: Memory,
}

/// The memory figure: resident memory around storing `objects` more ConfigMaps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Memory {
    /// Resident memory before, in KiB.
    pub before_kib: u64,
    /// Resident memory after, in KiB.
    pub after_kib: u64,
    /// Objects stored in between.
    pub objects: usize,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "simulated API server benchmark (debug builds are much slower than release)"
        )?;
        for m in &self.measurements {
            let rate = m.count as f64 / m.elapsed.as_secs_f64().max(f64::EPSILON);
            writeln!(
                f,
                "  {:<40} {:>8} {:<6} in {:>8.3}s  = {:>10.1} {}/s",
                m.name,
                m.count,
                m.unit,
                m.elapsed.as_secs_f64(),
                rate,
                m.unit
            )?;
        }
        let Memory {
            before_kib: before,
            after_kib: after,
            objects,
        } = self.memory;
        let per = (after.saturating_sub(before) as f64 * 1024.0) / (objects.max(1) as f64);
        writeln!(
            f,
            "  memory: {before} KiB -> {after} KiB RSS with {objects} more objects (~{per:.0} bytes/object)"
        )
    }
}

/// This process's resident memory in KiB.
///
/// # Errors
/// [`Error::Memory`] when `/proc/self/status` cannot be read, [`Error::NoRss`] when it has no
/// `VmRSS` line with a number.
fn rss_kib() -> Result<u64, Error> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(Error::Memory)?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .ok_or(Error::NoRss)
}

fn cm(name: &str, i: usize) -> ConfigMap {
    let mut c = ConfigMap::default();
    c.metadata.name = Some(name.to_owned());
    c.data = Some(
        [
            ("i".to_owned(), i.to_string()),
            ("payload".to_owned(), "x".repeat(64)),
        ]
        .into(),
    );
    c
}

/// Run the benchmark against a fresh in-process cluster.
///
/// # Errors
/// [`Error`] when the cluster does not start or a request fails.
pub async fn run(args: &BenchArgs) -> Result<Report, Error> {
    crate::sim::install_crypto_provider();
    let sim = SimCluster::start(ClusterConfig::new("bench"))
        .await
        .map_err(Error::Start)?;
    let client = sim.client().await.map_err(Error::Start)?;
    let req = |phase| move |source| Error::Request { phase, source };
    let mut report = Report::default();
    let default_ns: Api<ConfigMap> = Api::namespaced(client.clone(), "default");

    default_ns
        .create(&PostParams::default(), &cm("probe", 0))
        .await
        .map_err(req("get"))?;
    let start = Instant::now();
    for _ in 0..args.gets {
        default_ns.get("probe").await.map_err(req("get"))?;
    }
    report.measurements.push(Measurement {
        name: "get configmap".into(),
        count: args.gets,
        elapsed: start.elapsed(),
        unit: "req",
    });

    let ns_api: Api<Namespace> = Api::all(client.clone());
    let mut ns = Namespace::default();
    ns.metadata.name = Some("bench-list".into());
    ns_api
        .create(&PostParams::default(), &ns)
        .await
        .map_err(req("list"))?;
    let listed: Api<ConfigMap> = Api::namespaced(client.clone(), "bench-list");
    for i in 0..args.list_objects {
        listed
            .create(&PostParams::default(), &cm(&format!("c{i:05}"), i))
            .await
            .map_err(req("list"))?;
    }
    let start = Instant::now();
    for _ in 0..args.lists {
        listed
            .list(&ListParams::default())
            .await
            .map_err(req("list"))?;
    }
    report.measurements.push(Measurement {
        name: format!("list of {} configmaps", args.list_objects),
        count: args.lists,
        elapsed: start.elapsed(),
        unit: "req",
    });

    let start = Instant::now();
    let pp = PatchParams::apply("bench");
    for i in 0..args.applies {
        let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("ssa{}", i % 50)}, "data": {"i": i.to_string()}});
        default_ns
            .patch(&format!("ssa{}", i % 50), &pp, &Patch::Apply(&obj))
            .await
            .map_err(req("apply"))?;
    }
    report.measurements.push(Measurement {
        name: "server-side apply".into(),
        count: args.applies,
        elapsed: start.elapsed(),
        unit: "req",
    });

    let watched: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let rv = watched
        .list(&ListParams::default().limit(1))
        .await
        .map_err(req("watch"))?
        .metadata
        .resource_version
        .unwrap_or_default();
    let mut tasks = Vec::new();
    for _ in 0..args.watchers {
        let stream = watched
            .watch(&WatchParams::default().timeout(300), &rv)
            .await
            .map_err(req("watch"))?;
        let expected = args.watch_events;
        tasks.push(tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            let mut seen = 0;
            while seen < expected {
                match stream.next().await {
                    Some(Ok(WatchEvent::Added(_) | WatchEvent::Modified(_))) => seen += 1,
                    Some(Ok(_)) => {}
                    _ => break,
                }
            }
            seen
        }));
    }
    let start = Instant::now();
    for i in 0..args.watch_events {
        let patch = json!({"data": {"i": format!("w{i}")}});
        watched
            .patch("probe", &PatchParams::default(), &Patch::Merge(patch))
            .await
            .map_err(req("watch"))?;
    }
    for task in tasks {
        let seen = task.await.map_err(Error::WatcherTask)?;
        if seen < args.watch_events {
            return Err(Error::WatchEnded {
                seen,
                expected: args.watch_events,
            });
        }
    }
    report.measurements.push(Measurement {
        name: format!("watch fan-out to {} watchers", args.watchers),
        count: args.watchers * args.watch_events,
        elapsed: start.elapsed(),
        unit: "events",
    });

    let before_kib = rss_kib()?;
    {
        let mut store = sim
            .state()
            .store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let t = store
            .catalog
            .get("", "v1", "configmaps")
            .ok_or(Error::NoConfigMaps)?;
        for i in 0..args.memory_objects {
            let name = format!("m{i:06}");
            let body =
                serde_json::to_value(cm(&name, i)).expect("a ConfigMap always serialises to JSON");
            // In-process: memory is what we measure, not request throughput.
            store
                .create(&t, "default", body, &apiserver::WriteOptions::default())
                .map_err(|source| Error::Store {
                    name,
                    source: Box::new(source),
                })?;
        }
    }
    report.memory = Memory {
        before_kib,
        after_kib: rss_kib()?,
        objects: args.memory_objects,
    };
    sim.stop().await;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tiny_benchmark_reports_every_measurement() {
        let args = BenchArgs {
            gets: 3,
            list_objects: 3,
            lists: 2,
            applies: 3,
            watchers: 2,
            watch_events: 3,
            memory_objects: 10,
        };
        let report = run(&args).await.unwrap();
        assert_eq!(report.measurements.len(), 4);
        assert_eq!(report.memory.objects, 10);
        assert!(report.memory.before_kib > 0, "{:?}", report.memory);
        let text = report.to_string();
        assert!(text.contains("watch fan-out to 2 watchers"), "{text}");
        assert!(text.contains("RSS with 10 more objects"), "{text}");
    }
}
