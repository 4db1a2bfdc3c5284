//! The upgrade loop (`orchestrate::run`) against simulated clusters, with the test playing the
//! Quay Operator: it runs the migration Job when the operator's `QUAY_VERSION` differs from
//! `currentVersion`, sets `currentVersion` when the Job succeeds, and keeps one pod per
//! replica of quay, clair and mirror. A ledger records every moment a site served pods at an
//! older version while another site's migration ran.
//!
//! Why a stand-in and not the harness's operator model: these tests drive the loop directly,
//! in a second, without PostgreSQL, Redis and S3, which the model needs for its migrations and
//! pod start-up checks. The model, with its event-driven ledger, judges the same upgrade
//! through Terraform in `e2e::upgrade`.
//!
//! Why the stand-in's ledger sees every unsafe moment: the stand-in is the only writer of its
//! sites' pods and Jobs, and writes them only inside a tick, which then records its site's
//! state and checks it against the last recorded state of every other site. So every state
//! its world passes through is judged, whenever the ticks run. What could leave the ledger
//! empty is a stand-in that does not run: every tick's error is kept and fails the test, and
//! each site must have ticked [`MIN_TICKS_DURING_RUN`] times while the upgrade ran.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use georep_harness::sim::olm::{self, OlmModel};
use georep_harness::sim::{ClusterConfig, Flavour, SimCluster, install_crypto_provider};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams,
};
use kube::{Client, ResourceExt as _};
use serde_json::json;
use terraform_provider_quay::cluster::{ClusterSpec, Clusters, KubeconfigSource};
use terraform_provider_quay::framework::StopToken;
use terraform_provider_quay::georep::secret::Secret;
use terraform_provider_quay::georep::upgrade::{
    OperatorInput, UpgradeInput, UpgradeRequest, validate,
};
use terraform_provider_quay::orchestrate::{RunError, run};
use tokio::task::JoinHandle;
use tokio::time::Instant;

const NS: &str = "quay";
const NAME: &str = "registry";
const OPERATOR_NS: &str = "openshift-operators";
const FROM: &str = "3.14.8";
const TO: &str = "3.15.7";
/// Successful ticks each stand-in operator must make while an upgrade runs (it takes
/// several rounds of 50–500 ms, and the stand-in ticks every 40 ms).
const MIN_TICKS_DURING_RUN: usize = 5;

fn qr_api(client: &Client) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("quay.redhat.com", "v1", "QuayRegistry");
    Api::namespaced_with(
        client.clone(),
        NS,
        &ApiResource::from_gvk_with_plural(&gvk, "quayregistries"),
    )
}

/// One simulated site: its cluster, client and the stand-in operator task.
struct Site {
    key: String,
    sim: SimCluster,
    client: Client,
    olm: Option<OlmModel>,
}

/// What the stand-in operators saw, shared by all sites.
#[derive(Default)]
struct World {
    /// Per site key: (currentVersion, running pods, migrating to).
    sites: BTreeMap<String, (String, usize, Option<String>)>,
    /// Unsafe moments: a site serving an older version while another migrates.
    ledger: Vec<String>,
    /// Successful ticks per site key.
    ticks: BTreeMap<String, usize>,
    /// Every failed tick, with its site and error.
    tick_errors: Vec<String>,
}

impl World {
    /// Asserts that no tick failed, that every site ticked at least
    /// [`MIN_TICKS_DURING_RUN`] times since `before` (a copy of `ticks`), and that the
    /// ledger is empty.
    fn assert_ran_safely(&self, before: &BTreeMap<String, usize>) {
        assert!(
            self.tick_errors.is_empty(),
            "the stand-in operator failed: {:#?}",
            self.tick_errors
        );
        for (site, ticks) in &self.ticks {
            let during = ticks - before.get(site).copied().unwrap_or(0);
            assert!(
                during >= MIN_TICKS_DURING_RUN,
                "the stand-in operator of {site} ticked {during} times during the upgrade"
            );
        }
        assert!(self.ledger.is_empty(), "unsafe moments: {:#?}", self.ledger);
    }
}

async fn start_site(key: &str, flavour: Flavour) -> Site {
    install_crypto_provider();
    let mut config = ClusterConfig::new(key);
    config.flavour = flavour;
    let sim = SimCluster::start(config).await.unwrap();
    let client = sim.client().await.unwrap();
    let olm_model = if flavour == Flavour::Openshift {
        olm::install_operator(&client, OPERATOR_NS, "quay-operator", FROM)
            .await
            .unwrap();
        Some(OlmModel::start(&sim).await.unwrap())
    } else {
        olm::install_operator_deployment(&client, OPERATOR_NS, "quay-operator", FROM)
            .await
            .unwrap();
        None
    };
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}});
    let pp = PatchParams::apply("test").force();
    Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone())
        .patch(NS, &pp, &Patch::Apply(&ns))
        .await
        .unwrap();
    let yaml = "SERVER_HOSTNAME: quay.example.com\n";
    let secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "bundle", "namespace": NS},
        "data": {"config.yaml": base64::engine::general_purpose::STANDARD.encode(yaml)}});
    Api::<k8s_openapi::api::core::v1::Secret>::namespaced(client.clone(), NS)
        .patch("bundle", &pp, &Patch::Apply(&secret))
        .await
        .unwrap();
    let qr = json!({"apiVersion": "quay.redhat.com/v1", "kind": "QuayRegistry",
    "metadata": {"name": NAME, "namespace": NS},
    "spec": {"configBundleSecret": "bundle", "components": [
        {"kind": "quay", "managed": true, "overrides": {"replicas": 2}},
        {"kind": "clair", "managed": true, "overrides": {"replicas": 1}},
        {"kind": "mirror", "managed": true, "overrides": {"replicas": 1}},
        {"kind": "horizontalpodautoscaler", "managed": false},
        {"kind": "postgres", "managed": false},
    ]}});
    qr_api(&client)
        .patch(NAME, &pp, &Patch::Apply(&qr))
        .await
        .unwrap();
    Site {
        key: key.to_owned(),
        sim,
        client,
        olm: olm_model,
    }
}

fn play_operator(site: &Site, world: Arc<Mutex<World>>) -> JoinHandle<()> {
    let client = site.client.clone();
    let key = site.key.clone();
    tokio::spawn(async move {
        loop {
            // Nothing else writes what a tick writes, so no error is expected: each is kept
            // for the test to fail on, and retried on the next tick as a controller would.
            if let Err(error) = operator_tick(&client, &key, &world).await {
                world
                    .lock()
                    .unwrap()
                    .tick_errors
                    .push(format!("{key}: {error}"));
            }
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
    })
}

/// The operator's `QUAY_VERSION`, from its Deployment found by its pods' label, which both
/// installs give it (the CSV's `quay-operator-tng` under OLM, the plain `quay-operator`
/// otherwise): the env var's value, or the pod template annotation its `valueFrom.fieldRef`
/// names.
async fn operator_version(client: &Client) -> Result<String, kube::Error> {
    let (key, value) = olm::OPERATOR_POD_LABEL;
    let list = Api::<Deployment>::namespaced(client.clone(), OPERATOR_NS)
        .list(&ListParams::default())
        .await?;
    let Some(template) = list.items.into_iter().find_map(|d| {
        let template = d.spec?.template;
        let labels = template.metadata.as_ref()?.labels.as_ref()?;
        (labels.get(key).map(String::as_str) == Some(value)).then_some(template)
    }) else {
        return Ok(String::new());
    };
    let annotations = template
        .metadata
        .and_then(|m| m.annotations)
        .unwrap_or_default();
    let env = template
        .spec
        .map(|s| s.containers[0].env.clone().unwrap_or_default())
        .unwrap_or_default();
    let var = env.iter().find(|e| e.name == "QUAY_VERSION");
    let from_annotation = || {
        let path = &var?.value_from.as_ref()?.field_ref.as_ref()?.field_path;
        let key = path
            .strip_prefix("metadata.annotations['")?
            .strip_suffix("']")?;
        annotations.get(key).cloned()
    };
    Ok(var
        .and_then(|e| e.value.clone())
        .or_else(from_annotation)
        .unwrap_or_default())
}

async fn operator_tick(
    client: &Client,
    key: &str,
    world: &Mutex<World>,
) -> Result<(), kube::Error> {
    let qrs = qr_api(client);
    let qr = qrs.get(NAME).await?;
    let want = operator_version(client).await?;
    let current = qr.data["status"]["currentVersion"]
        .as_str()
        .unwrap_or(FROM)
        .to_owned();
    let jobs = Api::<Job>::namespaced(client.clone(), NS);
    let job_name = format!("{NAME}-quay-app-upgrade");
    let mut migrating = None;
    let mut version = current.clone();
    if current != want {
        migrating = Some(want.clone());
        match jobs.get_opt(&job_name).await? {
            None => {
                let job: Job = serde_json::from_value(json!({"metadata": {"name": job_name},
                    "spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "m", "image": "quay"}]}}}})).unwrap();
                jobs.create(&PostParams::default(), &job).await?;
                jobs.patch_status(
                    &job_name,
                    &PatchParams::default(),
                    &Patch::Merge(json!({"status": {"active": 1}})),
                )
                .await?;
            }
            Some(job) if job.status.as_ref().and_then(|s| s.succeeded).unwrap_or(0) == 0 => {
                jobs.patch_status(
                    &job_name,
                    &PatchParams::default(),
                    &Patch::Merge(json!({"status": {"active": 0, "succeeded": 1}})),
                )
                .await?;
            }
            Some(_) => {
                version = want.clone();
                migrating = None;
            }
        }
    }
    // Pods: one per replica; quay-app at 0 while migrating (the upgrade overlay).
    let pods = Api::<Pod>::namespaced(client.clone(), NS);
    let mut running = 0;
    for entry in qr.data["spec"]["components"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let label = match entry["kind"].as_str() {
            Some("quay") => "quay-app",
            Some("clair") => "clair-app",
            Some("mirror") => "quay-mirror",
            _ => continue,
        };
        let mut desired = entry["overrides"]["replicas"].as_u64().unwrap_or(2);
        if label == "quay-app" && migrating.is_some() {
            desired = 0;
        }
        let selector = format!("quay-operator/quayregistry={NAME},quay-component={label}");
        let have = pods
            .list(&ListParams::default().labels(&selector))
            .await?
            .items;
        for pod in have.iter().skip(usize::try_from(desired).unwrap()) {
            pods.delete(&pod.name_any(), &DeleteParams::default())
                .await?;
        }
        for i in have.len()..usize::try_from(desired).unwrap() {
            let pod: Pod =
                serde_json::from_value(json!({"metadata": {"name": format!("{NAME}-{label}-{i}"),
                "labels": {"quay-operator/quayregistry": NAME, "quay-component": label}},
                "spec": {"containers": [{"name": "c", "image": "quay"}]}}))
                .unwrap();
            pods.create(&PostParams::default(), &pod).await?;
        }
        running += usize::try_from(desired).unwrap();
    }
    let status = json!({"status": {
    "currentVersion": version,
    "observedGeneration": qr.metadata.generation,
    "conditions": [
        {"type": "Available", "status": "True", "reason": "HealthChecksPassing", "message": ""},
        {"type": "ComponentsCreated", "status": if migrating.is_some() { "False" } else { "True" },
         "reason": if migrating.is_some() { "MigrationsInProgress" } else { "ComponentsCreationSuccess" }, "message": ""},
        {"type": "RolloutBlocked", "status": "False", "reason": "ComponentsCreationSuccess", "message": ""},
    ]}});
    qrs.patch_status(NAME, &PatchParams::default(), &Patch::Merge(status))
        .await?;
    let mut w = world.lock().unwrap();
    w.sites.insert(
        key.to_owned(),
        (version.clone(), running, migrating.clone()),
    );
    *w.ticks.entry(key.to_owned()).or_default() += 1;
    let snapshot = w.sites.clone();
    for (other, (_, _, migrating)) in &snapshot {
        let Some(to) = migrating else { continue };
        for (serving, (v, pods, _)) in &snapshot {
            if serving != other && *pods > 0 && v != to {
                w.ledger.push(format!(
                    "{serving} served {v} with {pods} pods while {other} migrated to {to}"
                ));
            }
        }
    }
    Ok(())
}

fn clusters(sites: &[Site]) -> Clusters {
    Clusters::new(
        sites
            .iter()
            .map(|s| {
                (
                    s.key.clone(),
                    ClusterSpec {
                        kubeconfig: KubeconfigSource::Content(Secret::new(
                            s.sim.kubeconfig().unwrap(),
                        )),
                        context: Some(s.key.clone()),
                    },
                )
            })
            .collect(),
    )
}

fn request(sites: &[Site], method: &str) -> UpgradeRequest {
    request_to(sites, method, TO)
}

fn request_to(sites: &[Site], method: &str, target: &str) -> UpgradeRequest {
    let input = UpgradeInput {
        sites: Some(
            sites
                .iter()
                .map(|s| format!("{}/{NS}/{NAME}", s.key))
                .collect(),
        ),
        target_version: Some(target.into()),
        operator: Some(OperatorInput {
            method: Some(method.into()),
            namespace: Some(OPERATOR_NS.into()),
            name: Some("quay-operator".into()),
            ..OperatorInput::default()
        }),
        lease_duration: Some("60s".into()),
        ..UpgradeInput::default()
    };
    validate(&input).unwrap().0
}

async fn three_sites(flavour: Flavour) -> (Vec<Site>, Arc<Mutex<World>>, Vec<JoinHandle<()>>) {
    let mut sites = Vec::new();
    for key in ["us_east", "eu_west", "ap_south"] {
        sites.push(start_site(key, flavour).await);
    }
    let world = Arc::new(Mutex::new(World::default()));
    let tasks = sites
        .iter()
        .map(|s| play_operator(s, Arc::clone(&world)))
        .collect();
    // Let every stand-in operator converge its site once before the upgrade starts.
    let deadline = Instant::now() + Duration::from_secs(10);
    while world.lock().unwrap().sites.len() < sites.len() {
        assert!(
            Instant::now() < deadline,
            "stand-in operators did not start: {:#?}",
            world.lock().unwrap().tick_errors
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (sites, world, tasks)
}

async fn assert_upgraded_and_restored(sites: &[Site]) {
    assert_upgraded_to_and_restored(sites, TO).await;
}

async fn assert_upgraded_to_and_restored(sites: &[Site], to: &str) {
    for site in sites {
        let qr = qr_api(&site.client).get(NAME).await.unwrap();
        assert_eq!(
            qr.data["status"]["currentVersion"],
            json!(to),
            "{}",
            site.key
        );
        let comps = qr.data["spec"]["components"].as_array().unwrap();
        let replicas = |kind: &str| {
            comps.iter().find(|c| c["kind"] == kind).unwrap()["overrides"]["replicas"].clone()
        };
        assert_eq!(
            (replicas("quay"), replicas("clair"), replicas("mirror")),
            (json!(2), json!(1), json!(1)),
            "{}",
            site.key
        );
        let hpa = comps
            .iter()
            .find(|c| c["kind"] == "horizontalpodautoscaler")
            .unwrap();
        assert_eq!(hpa["managed"], json!(false), "{}", site.key);
    }
    let primary = &sites[0].client;
    let lease = Api::<k8s_openapi::api::coordination::v1::Lease>::namespaced(primary.clone(), NS)
        .get("quay-georep-upgrade")
        .await
        .unwrap();
    assert_eq!(
        lease.spec.unwrap().holder_identity,
        None,
        "the Lease is released"
    );
    let progress = Api::<k8s_openapi::api::core::v1::ConfigMap>::namespaced(primary.clone(), NS)
        .get_opt("quay-georep-upgrade-progress")
        .await
        .unwrap();
    assert!(progress.is_none(), "the progress record is cleared");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn upgrades_three_deployment_operated_sites_primary_first_without_unsafe_moments() {
    let (sites, world, tasks) = three_sites(Flavour::Kubernetes).await;
    let ticks_before = world.lock().unwrap().ticks.clone();
    let steps = run(
        &clusters(&sites),
        &request(&sites, "deployment"),
        Instant::now() + Duration::from_secs(90),
        &StopToken::never(),
        |_| {},
    )
    .await
    .unwrap();
    let text: Vec<String> = steps.iter().map(|s| s.what.clone()).collect();
    let position = |needle: &str| {
        text.iter()
            .position(|s| s.contains(needle))
            .unwrap_or_else(|| panic!("no step {needle:?} in {text:#?}"))
    };
    assert!(position("took Lease") < position("scaled quay, clair, mirror of eu_west"));
    assert!(
        position("scaled quay, clair, mirror of ap_south") < position("operator image of us_east")
    );
    assert!(position("primary migrated") < position("operator image of eu_west"));
    assert!(
        position("restored the original replicas of ap_south") < position("released the Lease")
    );
    assert!(text.last().unwrap().starts_with("done"));
    assert_upgraded_and_restored(&sites).await;
    world.lock().unwrap().assert_ran_safely(&ticks_before);
    for t in tasks {
        t.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn upgrades_three_olm_operated_sites_by_approving_install_plans() {
    let (sites, world, tasks) = three_sites(Flavour::Openshift).await;
    let ticks_before = world.lock().unwrap().ticks.clone();
    let steps = run(
        &clusters(&sites),
        &request(&sites, "olm"),
        Instant::now() + Duration::from_secs(90),
        &StopToken::never(),
        |_| {},
    )
    .await
    .unwrap();
    let text: Vec<String> = steps.iter().map(|s| s.what.clone()).collect();
    assert!(
        text.iter().any(|s| s.contains(
            "approved InstallPlan install-quay-operator-v3-15-7 (quay-operator.v3.15.7) on us_east"
        )),
        "{text:#?}"
    );
    assert_upgraded_and_restored(&sites).await;
    world.lock().unwrap().assert_ran_safely(&ticks_before);
    for t in tasks {
        t.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lease_held_by_another_run_stops_the_upgrade_before_any_change() {
    let (sites, _world, tasks) = three_sites(Flavour::Kubernetes).await;
    let now = terraform_provider_quay::orchestrate::clock::now();
    let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "quay-georep-upgrade", "namespace": NS},
        "spec": {"holderIdentity": "someone-else", "leaseDurationSeconds": 600,
                 "renewTime": terraform_provider_quay::orchestrate::clock::micro_time(now)}});
    Api::<k8s_openapi::api::coordination::v1::Lease>::namespaced(sites[0].client.clone(), NS)
        .create(
            &PostParams::default(),
            &serde_json::from_value(lease).unwrap(),
        )
        .await
        .unwrap();
    let err = run(
        &clusters(&sites),
        &request(&sites, "deployment"),
        Instant::now() + Duration::from_secs(30),
        &StopToken::never(),
        |_| {},
    )
    .await
    .unwrap_err();
    assert!(matches!(err, RunError::Upgrade { .. }), "{err:?}");
    let chain = format!("{:?}", err);
    assert!(chain.contains("someone-else"), "{chain}");
    assert!(err.steps().is_empty());
    for site in &sites[1..] {
        let qr = qr_api(&site.client).get(NAME).await.unwrap();
        assert_eq!(
            qr.data["spec"]["components"][0]["overrides"]["replicas"],
            json!(2)
        );
    }
    for t in tasks {
        t.abort();
    }
}

mod channel;
mod deadline;
mod lease;
mod wake;
