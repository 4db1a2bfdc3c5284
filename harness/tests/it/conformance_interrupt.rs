//! Ctrl-C during a conformance run: the `georep-harness conformance` process, running a
//! scenario against the clusters of `up` through their target file, gets SIGINT while the
//! scenario's namespace exists; it must stop, destroy what it applied, delete every namespace
//! of the run on every site, leave a `QuayRegistry` it did not create alone, and exit non-zero
//! saying it was interrupted.
//!
//! The provider is the one `cargo build` put beside this binary (`target/debug`): the
//! workspace's test command builds both.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use georep_harness::conformance::Target;
use georep_harness::quay::{api_resource, quay_registry_resource};
use kube::api::{Api, DynamicObject, ListParams, PostParams};
use serde_json::json;

use crate::local_sites::until;

/// How long the interrupted run may take to clean up and exit (destroy on three simulated
/// sites, namespaces deleted): a guard against a hang.
const EXIT_DEADLINE: Duration = Duration::from_secs(300);

fn harness() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_georep-harness"))
}

fn provider_dir() -> PathBuf {
    let dir = harness()
        .parent()
        .expect("cargo names the binary by an absolute path")
        .to_owned();
    assert!(
        dir.join(georep_harness::terraform::PROVIDER_EXE).is_file(),
        "no terraform-provider-quay in {}: `cargo build -p terraform-provider-quay` (the \
         workspace's test command builds it)",
        dir.display()
    );
    dir
}

async fn run_namespaces(target: &Target) -> Vec<String> {
    let mut found = Vec::new();
    for site in &target.sites {
        let client = georep_harness::conformance::Context::client(site)
            .await
            .unwrap();
        let api: Api<DynamicObject> = Api::all_with(client, &api_resource("v1", "Namespace"));
        for ns in api.list(&ListParams::default()).await.unwrap().items {
            let name = ns.metadata.name.unwrap_or_default();
            if name.starts_with("cf-") {
                found.push(format!("{}/{name}", site.name));
            }
        }
    }
    found
}

#[test]
fn ctrl_c_during_a_run_deletes_what_the_run_made_and_nothing_else() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let state = tempfile::tempdir().unwrap();
    let args = georep_harness::cli::up::UpArgs {
        sites: georep_harness::local::DEFAULT_SITES
            .map(str::to_owned)
            .to_vec(),
        flavour: georep_harness::sim::Flavour::Openshift,
        state_dir: Some(state.path().to_owned()),
        ready_file: None,
        plain_http: false,
        quay_version: georep_harness::quay::Catalogue::builtin().newest().version,
        backend: georep_harness::backend::BackendArgs::default(),
    };
    let running = runtime
        .block_on(georep_harness::cli::up::start(&args))
        .unwrap();
    let target = Target::load(&running.target).unwrap();

    // A team's own registry on the first site, which the suite must not touch.
    let first = target.sites[0].clone();
    let client = runtime
        .block_on(georep_harness::conformance::Context::client(&first))
        .unwrap();
    let theirs: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "team-quay", &quay_registry_resource());
    runtime.block_on(async {
        let namespaces: Api<DynamicObject> =
            Api::all_with(client.clone(), &api_resource("v1", "Namespace"));
        let ns: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-quay"}
        }))
        .unwrap();
        namespaces
            .create(&PostParams::default(), &ns)
            .await
            .unwrap();
        let registry: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "quay.redhat.com/v1", "kind": "QuayRegistry",
            "metadata": {"name": "registry", "namespace": "team-quay"},
            "spec": {"configBundleSecret": "their-bundle"}
        }))
        .unwrap();
        theirs
            .create(&PostParams::default(), &registry)
            .await
            .unwrap();
    });

    let terraform = georep_harness::terraform::binaries_under_test()
        .unwrap_or_else(|e| panic!("{e}"))[0]
        .path
        .clone();
    let out_path = state.path().join("conformance.out");
    let mut child = Command::new(harness())
        .arg("conformance")
        .arg("--backend")
        .arg("existing")
        .arg("--target")
        .arg(&running.target)
        .args(["--scenario", "SCEN-three-sites"])
        .arg("--terraform")
        .arg(&terraform)
        .arg("--provider-dir")
        .arg(provider_dir())
        .arg("--state-dir")
        .arg(state.path().join("run"))
        .env_remove("GEOREP_STATE_DIR")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();

    // Interrupt once the run's namespace is there: the provider is applying.
    let made = runtime.block_on(until("the run's namespace on a site", async || {
        let found = run_namespaces(&target).await;
        (!found.is_empty()).then_some(found)
    }));
    let pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();

    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > EXIT_DEADLINE {
            let _ = child.kill();
            panic!(
                "the interrupted run did not exit:\n{}",
                std::fs::read_to_string(&out_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let printed = std::fs::read_to_string(&out_path).unwrap();
    assert!(!status.success(), "an interrupted run fails:\n{printed}");
    assert!(printed.contains("interrupted"), "{printed}");
    let left = runtime.block_on(run_namespaces(&target));
    assert!(
        left.is_empty(),
        "the run made {made:?} and left {left:?}:\n{printed}"
    );
    let still = runtime.block_on(theirs.get_opt("registry")).unwrap();
    assert!(
        still.is_some_and(|r| r.metadata.deletion_timestamp.is_none()),
        "the team's QuayRegistry was touched:\n{printed}"
    );
    runtime.block_on(running.env.stop()).unwrap();
}
