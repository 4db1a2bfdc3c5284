//! The Quay Operator model on simulated clusters, driven with kube-rs like a user would, against
//! the real shared services (PostgreSQL, Redis, per-site S3).
//!
//! Every test gets its own simulated cluster(s) and, when it migrates, its own database;
//! the services are shared by the tests running at the same time (one PostgreSQL, one Redis,
//! S3 for `us_east` and `eu_west`), started on a runtime of their own so that they outlive any
//! one test, and stopped when the last test using them ends.

use std::os::unix::fs::PermissionsExt as _;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use georep_harness::errors::chain;
use georep_harness::quay::quay_registry_resource;
use georep_harness::quay::{Catalogue, QuayVersion};
use georep_harness::services::SharedServices;
use georep_harness::services::postgres::Database;
use georep_harness::services::secret::Secret as Secret_;
use georep_harness::sim::ledger::{Ledger, Violation};
use georep_harness::sim::operator::job_controller::BACKOFF_LIMIT_MESSAGE;
use georep_harness::sim::operator::managed::{
    BackingPostgres, BackingRedis, BackingServices, ClusterDns,
};
use georep_harness::sim::operator::{
    OPERATOR_DEPLOYMENT, OperatorModel, OperatorOptions, RunningOperator,
};
use georep_harness::sim::{ClusterConfig, FaultKind, FaultRule, Flavour, SimCluster};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Namespace, PersistentVolumeClaim, Pod, Secret};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt as _};
use serde_json::{Value, json};
use tokio_postgres::NoTls;

const NS: &str = "quay";
const NAME: &str = "registry";
const DEADLINE: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------
// Shared services

#[derive(Debug, Clone)]
struct S3 {
    endpoint_port: u16,
    bucket: String,
    access_key: String,
    secret_key: String,
}

#[derive(Debug, Clone)]
struct Info {
    /// `postgresql://quay:PW@127.0.0.1:PORT/` (append a database name).
    role_uri_base: String,
    /// The superuser's URI base, likewise.
    super_uri_base: String,
    redis_port: u16,
    redis_password: String,
    us_east: S3,
    eu_west: S3,
}

struct Keeper {
    info: Info,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Keeper {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

static SHARED: Mutex<Weak<Keeper>> = Mutex::new(Weak::new());

fn strip_db(uri: &str, db: &str) -> String {
    uri.strip_suffix(db).unwrap().to_owned()
}

/// The shared services, started on first use.
fn services() -> Arc<Keeper> {
    let mut slot = SHARED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(keeper) = slot.upgrade() {
        return keeper;
    }
    let (info_tx, info_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let dir = tempfile::Builder::new()
                .prefix("georep-operator-")
                .permissions(std::fs::Permissions::from_mode(0o700))
                .tempdir()
                .unwrap();
            let services = SharedServices::start(dir.path(), &["us_east", "eu_west"])
                .await
                .unwrap_or_else(|e| panic!("{}", chain(&e)));
            let s3 = |site: &str| {
                let s = services.s3_site(site).unwrap();
                S3 {
                    endpoint_port: s.port(),
                    bucket: s.bucket.clone(),
                    access_key: s.access_key.clone(),
                    secret_key: s.secret_key.expose().to_owned(),
                }
            };
            let pg = services.postgres();
            let info = Info {
                role_uri_base: strip_db(pg.database_uri(Database::Quay).expose(), "quay"),
                super_uri_base: strip_db(pg.superuser_uri("quay").expose(), "quay"),
                redis_port: services.redis().port(),
                redis_password: services.redis().password().expose().to_owned(),
                us_east: s3("us_east"),
                eu_west: s3("eu_west"),
            };
            info_tx.send(info).unwrap();
            let _ = stop_rx.await;
            if let Err(err) = services.stop().await {
                eprintln!("stopping shared services: {}", chain(&err));
            }
        });
    });
    let info = info_rx
        .recv()
        .expect("the shared services started (see the panic above)");
    let keeper = Arc::new(Keeper {
        info,
        stop: Some(stop_tx),
        thread: Some(thread),
    });
    *slot = Arc::downgrade(&keeper);
    keeper
}

/// A fresh database named after the test, owned by `quay`, with `pg_trgm` unless told not.
async fn database(info: &Info, test: &str, pg_trgm: bool) -> String {
    let name = format!("t_{}", test.replace('-', "_"));
    let (admin, conn) = tokio_postgres::connect(&format!("{}postgres", info.super_uri_base), NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .await
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name} OWNER quay"))
        .await
        .unwrap();
    if pg_trgm {
        let (db, conn) = tokio_postgres::connect(&format!("{}{name}", info.super_uri_base), NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        db.batch_execute("CREATE EXTENSION pg_trgm").await.unwrap();
    }
    format!("{}{name}", info.role_uri_base)
}

async fn alembic_revision(db_uri: &str) -> Option<String> {
    georep_harness::sim::operator::startup::read_revision(db_uri)
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------
// Sites

struct Site {
    sim: SimCluster,
    client: Client,
    operator: Option<RunningOperator>,
}

fn version(text: &str) -> QuayVersion {
    text.parse().unwrap()
}

fn fast_options(sim: &SimCluster, v: &str, ledger: &Arc<Ledger>) -> OperatorOptions {
    let mut opts = OperatorOptions::new(sim, version(v));
    opts.ledger = Arc::clone(ledger);
    opts.migration_time_per_revision = Duration::from_millis(5);
    opts.pod_start_delay = Duration::from_millis(10);
    opts.crash_loop_backoff = Duration::from_millis(500);
    opts.resync = Duration::from_secs(2);
    opts.status_interval = Duration::from_millis(200);
    opts.job_backoff = Duration::from_millis(5);
    opts
}

async fn site_with(
    name: &str,
    flavour: Flavour,
    opts: impl FnOnce(&SimCluster) -> OperatorOptions,
) -> Site {
    let mut config = ClusterConfig::new(name);
    config.flavour = flavour;
    site_on(config, opts).await
}

/// An OpenShift-flavoured site whose cluster lacks the monitoring stack (the Prometheus APIs
/// and `openshift-config-managed`), which the flavour otherwise has.
async fn openshift_without_monitoring(name: &str) -> Site {
    let ledger = Ledger::in_memory();
    let mut config = ClusterConfig::new(name);
    config.flavour = Flavour::Openshift;
    config.monitoring = false;
    site_on(config, |sim| fast_options(sim, "3.13.11", &ledger)).await
}

async fn site_on(config: ClusterConfig, opts: impl FnOnce(&SimCluster) -> OperatorOptions) -> Site {
    georep_harness::sim::install_crypto_provider();
    let sim = SimCluster::start(config).await.unwrap();
    let client = sim.client().await.unwrap();
    let operator = OperatorModel::start(&sim, opts(&sim))
        .await
        .unwrap_or_else(|e| panic!("{}", chain(&e)));
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NS}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    Site {
        sim,
        client,
        operator: Some(operator),
    }
}

async fn site(name: &str, flavour: Flavour) -> Site {
    let ledger = Ledger::in_memory();
    site_with(name, flavour, |sim| fast_options(sim, "3.13.11", &ledger)).await
}

impl Site {
    fn registries(&self) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), NS, &quay_registry_resource())
    }

    async fn bundle(&self, name: &str, config: &Value, extra: &[(&str, &str)]) {
        use base64::Engine as _;
        let b64 = |v: &str| base64::engine::general_purpose::STANDARD.encode(v);
        // `data`, not `stringData`: the sim expands stringData keys with dots into nested maps.
        let mut data = json!({"config.yaml": b64(&config.to_string())});
        for (k, v) in extra {
            data[*k] = json!(b64(v));
        }
        let secret: Secret =
            serde_json::from_value(json!({"metadata": {"name": name}, "data": data})).unwrap();
        Api::<Secret>::namespaced(self.client.clone(), NS)
            .create(&PostParams::default(), &secret)
            .await
            .unwrap();
    }

    async fn registry(&self, bundle: &str, components: Value) {
        let reg: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "quay.redhat.com/v1", "kind": "QuayRegistry",
            "metadata": {"name": NAME},
            "spec": {"configBundleSecret": bundle, "components": components},
        }))
        .unwrap();
        self.registries()
            .create(&PostParams::default(), &reg)
            .await
            .unwrap_or_else(|e| panic!("{}", chain(&e)));
    }

    async fn get(&self) -> Value {
        serde_json::to_value(self.registries().get(NAME).await.unwrap()).unwrap()
    }

    /// Polls the registry until `check` returns `Some`, under [`DEADLINE`].
    async fn wait<T>(&self, what: &str, check: impl Fn(&Value) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let reg = self.get().await;
            if let Some(out) = check(&reg) {
                return out;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}; registry: {reg:#}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn wait_condition(&self, type_: &str, status: &str) -> Value {
        self.wait(&format!("{type_}={status}"), |reg| {
            condition(reg, type_).filter(|c| c["status"] == status)
        })
        .await
    }

    async fn deployment(&self, suffix: &str) -> Deployment {
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), NS);
        let name = format!("{NAME}-{suffix}");
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            if let Some(d) = api.get_opt(&name).await.unwrap() {
                return d;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no deployment {name}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for a pod of `<n>-<suffix>` crash-looping with a message containing `needle`,
    /// and checks its Ready condition and Event.
    async fn wait_crash_loop(&self, suffix: &str, needle: &str) {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), NS);
        let deadline = tokio::time::Instant::now() + DEADLINE;
        let prefix = format!("{NAME}-{suffix}-");
        let pod = loop {
            let list = pods.list(&ListParams::default()).await.unwrap();
            let found = list.items.into_iter().find(|p| {
                p.name_any().starts_with(&prefix)
                    && serde_json::to_value(&p.status).unwrap()["containerStatuses"][0]["state"]
                        ["waiting"]["message"]
                        .as_str()
                        .is_some_and(|m| m.contains(needle))
            });
            if let Some(p) = found {
                break p;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {prefix}* pod crash-looping with {needle:?}; registry: {:#}",
                self.get().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let status = serde_json::to_value(&pod.status).unwrap();
        assert_eq!(
            status["containerStatuses"][0]["state"]["waiting"]["reason"],
            "CrashLoopBackOff"
        );
        let ready = status["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "Ready")
            .unwrap();
        assert_eq!(ready["status"], "False", "{status:#}");
        assert!(
            ready["message"].as_str().unwrap().contains(needle),
            "{status:#}"
        );
        let events = Api::<Event>::namespaced(self.client.clone(), NS)
            .list(&ListParams::default())
            .await
            .unwrap();
        assert!(
            events
                .items
                .iter()
                .any(
                    |e| e.involved_object.name.as_deref() == Some(pod.name_any().as_str())
                        && e.metadata
                            .name
                            .as_deref()
                            .is_some_and(|n| n.starts_with(&format!("{}.", pod.name_any())))
                        && e.message.as_deref().is_some_and(|m| m.contains(needle))
                ),
            "no event for {} mentioning {needle:?}",
            pod.name_any()
        );
        let deployment = self.deployment(suffix).await;
        assert_eq!(
            deployment
                .status
                .and_then(|s| s.ready_replicas)
                .unwrap_or(0),
            0
        );
    }
}

fn condition(reg: &Value, type_: &str) -> Option<Value> {
    reg["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .cloned()
}

fn storage(s3: &S3) -> Value {
    json!(["RadosGWStorage", {
        "hostname": "127.0.0.1", "port": s3.endpoint_port, "is_secure": false,
        "bucket_name": s3.bucket, "access_key": s3.access_key, "secret_key": s3.secret_key,
        "storage_path": "/datastorage/registry",
    }])
}

/// A working geo-replication `config.yaml` (as JSON, which is YAML) for the shared services.
fn geo_config(info: &Info, db_uri: &str) -> Value {
    let redis =
        json!({"host": "127.0.0.1", "port": info.redis_port, "password": info.redis_password});
    json!({
        "SERVER_HOSTNAME": "quay.global.example",
        "SECRET_KEY": "shared-secret", "DATABASE_SECRET_KEY": "shared-db-secret",
        "DB_URI": db_uri,
        "BUILDLOGS_REDIS": redis, "USER_EVENTS_REDIS": redis,
        "FEATURE_STORAGE_REPLICATION": true,
        "DISTRIBUTED_STORAGE_CONFIG": {"us_east": storage(&info.us_east), "eu_west": storage(&info.eu_west)},
        "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS": ["us_east", "eu_west"],
        "DISTRIBUTED_STORAGE_PREFERENCE": ["us_east"],
    })
}

/// The documented geo-rep components (§4.5) for an OpenShift site with a managed edge Route.
fn geo_components(preference: &str) -> Value {
    let env = json!([{"name": "QUAY_DISTRIBUTED_STORAGE_PREFERENCE", "value": preference}]);
    json!([
        {"kind": "quay", "managed": true, "overrides": {"replicas": 2, "env": env}},
        {"kind": "mirror", "managed": true, "overrides": {"replicas": 1, "env": env}},
        {"kind": "clair", "managed": false},
        {"kind": "clairpostgres", "managed": false},
        {"kind": "postgres", "managed": false},
        {"kind": "redis", "managed": false},
        {"kind": "objectstorage", "managed": false},
        {"kind": "horizontalpodautoscaler", "managed": false},
        {"kind": "route", "managed": true},
        {"kind": "tls", "managed": true},
        {"kind": "monitoring", "managed": false},
    ])
}

/// A structurally complete config that reaches no service (for rules checked before any
/// service is used).
fn offline_config() -> Value {
    json!({
        "SERVER_HOSTNAME": "quay.global.example",
        "DB_URI": "postgresql://quay:x@127.0.0.1:1/quay",
        "BUILDLOGS_REDIS": {"host": "127.0.0.1", "port": 1},
        "DISTRIBUTED_STORAGE_CONFIG": {"us_east": ["RadosGWStorage", {"hostname": "127.0.0.1"}]},
    })
}

/// Applies a registry with `components` and `config` and returns the RolloutBlocked condition
/// once it is True.
async fn blocked_by(flavour: Flavour, config: Option<Value>, components: Value) -> Value {
    let site = site("blocked", flavour).await;
    if let Some(config) = config {
        site.bundle("bundle", &config, &[]).await;
    }
    site.registry("bundle", components).await;
    site.wait_condition("RolloutBlocked", "True").await
}

fn with(mut components: Value, kind: &str, entry: Value) -> Value {
    let list = components.as_array_mut().unwrap();
    list.retain(|c| c["kind"] != kind);
    list.push(entry);
    components
}

// ---------------------------------------------------------------------------------------
// Spec write-back and structural rules (no services needed)

#[tokio::test]
async fn missing_components_are_written_back_with_openshift_defaults() {
    let site = site("defaults-os", Flavour::Openshift).await;
    site.registry("bundle", json!([{"kind": "quay", "managed": true}]))
        .await;
    let components = site
        .wait("11 components", |r| {
            let list = r["spec"]["components"].as_array()?;
            (list.len() == 11).then(|| list.clone())
        })
        .await;
    let managed =
        |kind: &str| components.iter().find(|c| c["kind"] == kind).unwrap()["managed"].clone();
    for kind in [
        "route",
        "tls",
        "objectstorage",
        "postgres",
        "redis",
        "clair",
    ] {
        assert_eq!(managed(kind), true, "{kind}");
    }
    // OpenShift's monitoring stack is there and the operator watches all namespaces
    // (upstream `controllers/quay/features.go`, `checkMonitoringAvailable`): monitoring
    // defaults to managed.
    assert_eq!(managed("monitoring"), true);
    let reg = site.get().await;
    assert!(
        reg["metadata"]["finalizers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "quay-operator/finalizer")
    );
}

#[tokio::test]
async fn monitoring_defaults_to_unmanaged_on_an_openshift_without_the_prometheus_api() {
    let site = openshift_without_monitoring("defaults-os-no-prometheus").await;
    site.registry("bundle", json!([{"kind": "quay", "managed": true}]))
        .await;
    let components = site
        .wait("11 components", |r| {
            let list = r["spec"]["components"].as_array()?;
            (list.len() == 11).then(|| list.clone())
        })
        .await;
    let managed =
        |kind: &str| components.iter().find(|c| c["kind"] == kind).unwrap()["managed"].clone();
    assert_eq!(managed("monitoring"), false);
    assert_eq!(managed("route"), true);
}

#[tokio::test]
async fn missing_components_are_written_back_unmanaged_on_kubernetes() {
    let site = site("defaults-k8s", Flavour::Kubernetes).await;
    site.registry("bundle", json!([{"kind": "quay", "managed": true}]))
        .await;
    let components = site
        .wait("11 components", |r| {
            let list = r["spec"]["components"].as_array()?;
            (list.len() == 11).then(|| list.clone())
        })
        .await;
    let managed =
        |kind: &str| components.iter().find(|c| c["kind"] == kind).unwrap()["managed"].clone();
    for kind in ["route", "tls", "objectstorage", "monitoring"] {
        assert_eq!(managed(kind), false, "{kind}");
    }
    assert_eq!(managed("postgres"), true);
}

/// `status.observedGeneration` exists from Quay 3.17 (`apis/quay/v1/quayregistry_types.go`
/// on `redhat-3.17`); an older operator never writes it.
#[tokio::test]
async fn observed_generation_is_reported_from_3_17_only() {
    for (v, expected) in [("3.16.5", false), ("3.17.4", true)] {
        let ledger = Ledger::in_memory();
        let site = site_with(
            &format!("gen-{}", v.replace('.', "-")),
            Flavour::Openshift,
            |sim| fast_options(sim, v, &ledger),
        )
        .await;
        site.registry("bundle", geo_components("us_east")).await;
        site.wait_condition("RolloutBlocked", "True").await;
        let reg = site.get().await;
        assert_eq!(
            reg["status"]["observedGeneration"].is_i64(),
            expected,
            "{v}: {}",
            reg["status"]
        );
    }
}

#[tokio::test]
async fn missing_bundle_secret_is_config_invalid() {
    let c = blocked_by(Flavour::Openshift, None, geo_components("us_east")).await;
    assert_eq!(c["reason"], "ConfigInvalid");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("\"bundle\" not found"),
        "{c}"
    );
}

#[tokio::test]
async fn unmanaged_postgres_without_db_uri_is_config_invalid() {
    let mut config = offline_config();
    config.as_object_mut().unwrap().remove("DB_URI");
    let c = blocked_by(Flavour::Openshift, Some(config), geo_components("us_east")).await;
    assert_eq!(c["reason"], "ConfigInvalid");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .starts_with("required component postgres marked as unmanaged"),
        "{c}"
    );
}

#[tokio::test]
async fn unmanaged_redis_without_redis_fields_is_config_invalid() {
    let mut config = offline_config();
    config.as_object_mut().unwrap().remove("BUILDLOGS_REDIS");
    let c = blocked_by(Flavour::Openshift, Some(config), geo_components("us_east")).await;
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .starts_with("required component redis"),
        "{c}"
    );
}

#[tokio::test]
async fn unmanaged_objectstorage_without_storage_config_is_config_invalid() {
    let mut config = offline_config();
    config
        .as_object_mut()
        .unwrap()
        .remove("DISTRIBUTED_STORAGE_CONFIG");
    let c = blocked_by(Flavour::Openshift, Some(config), geo_components("us_east")).await;
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .starts_with("required component objectstorage"),
        "{c}"
    );
}

#[tokio::test]
async fn managed_postgres_with_db_uri_in_bundle_is_config_invalid() {
    let components = with(
        geo_components("us_east"),
        "postgres",
        json!({"kind": "postgres", "managed": true}),
    );
    let c = blocked_by(Flavour::Openshift, Some(offline_config()), components).await;
    assert_eq!(c["reason"], "ConfigInvalid");
    assert_eq!(
        c["message"],
        "postgres component marked as managed, but configBundleSecret contains required fields"
    );
}

#[tokio::test]
async fn managed_objectstorage_with_storage_config_is_config_invalid() {
    let components = with(
        geo_components("us_east"),
        "objectstorage",
        json!({"kind": "objectstorage", "managed": true}),
    );
    let c = blocked_by(Flavour::Openshift, Some(offline_config()), components).await;
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .starts_with("objectstorage component marked as managed"),
        "{c}"
    );
}

#[tokio::test]
async fn managed_clair_with_security_scanner_keys_is_config_invalid() {
    let mut config = offline_config();
    config["FEATURE_SECURITY_SCANNER"] = json!(true);
    let components = with(
        geo_components("us_east"),
        "clair",
        json!({"kind": "clair", "managed": true}),
    );
    let c = blocked_by(Flavour::Openshift, Some(config), components).await;
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .starts_with("clair component marked as managed"),
        "{c}"
    );
}

#[tokio::test]
async fn managed_route_without_route_api_is_config_invalid() {
    let c = blocked_by(
        Flavour::Kubernetes,
        Some(offline_config()),
        geo_components("us_east"),
    )
    .await;
    assert_eq!(c["reason"], "ConfigInvalid");
    assert_eq!(
        c["message"],
        "error validating component route: Route API not available"
    );
}

#[tokio::test]
async fn nonzero_replicas_with_managed_hpa_is_component_override_invalid() {
    let components = with(
        geo_components("us_east"),
        "horizontalpodautoscaler",
        json!({"kind": "horizontalpodautoscaler", "managed": true}),
    );
    let c = blocked_by(Flavour::Openshift, Some(offline_config()), components).await;
    assert_eq!(c["reason"], "ComponentOverrideInvalid");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("cannot override replicas with managed HPA"),
        "{c}"
    );
}

#[tokio::test]
async fn replicas_on_redis_is_component_override_invalid() {
    let components = with(
        geo_components("us_east"),
        "redis",
        json!({"kind": "redis", "managed": true, "overrides": {"replicas": 1}}),
    );
    let c = blocked_by(Flavour::Openshift, Some(offline_config()), components).await;
    assert_eq!(c["reason"], "ComponentOverrideInvalid");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("redis does not support replicas"),
        "{c}"
    );
}

#[tokio::test]
async fn overrides_on_unmanaged_component_are_rejected_at_admission() {
    // The 3.17+ CRD rejects them with CEL before the operator sees them; the operator's own
    // ComponentOverrideInvalid rule is unit-tested in components.rs.
    let site = site("unmanaged-overrides", Flavour::Openshift).await;
    let components = with(
        geo_components("us_east"),
        "postgres",
        json!({"kind": "postgres", "managed": false, "overrides": {"env": []}}),
    );
    let reg: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "quay.redhat.com/v1", "kind": "QuayRegistry",
        "metadata": {"name": NAME}, "spec": {"configBundleSecret": "b", "components": components},
    }))
    .unwrap();
    let err = site
        .registries()
        .create(&PostParams::default(), &reg)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot set overrides on unmanaged component"),
        "{err}"
    );
}

#[tokio::test]
async fn route_host_is_server_hostname_and_endpoint_follows() {
    let site = site("route-host", Flavour::Openshift).await;
    site.bundle("bundle", &offline_config(), &[]).await;
    site.registry("bundle", geo_components("us_east")).await;
    let endpoint = site
        .wait("registryEndpoint", |r| {
            r["status"]["registryEndpoint"].as_str().map(str::to_owned)
        })
        .await;
    assert_eq!(endpoint, "https://quay.global.example");
    let routes =
        georep_harness::quay::dynamic_api(&site.client, NS, "route.openshift.io/v1", "Route");
    let route = get_eventually(&routes, &format!("{NAME}-quay")).await;
    assert_eq!(route["spec"]["host"], "quay.global.example");
    assert_eq!(route["spec"]["tls"]["termination"], "edge");
    assert_eq!(
        route["metadata"]["ownerReferences"][0]["kind"],
        "QuayRegistry"
    );
}

#[tokio::test]
async fn managed_hpa_gets_hpas_and_min_replicas() {
    let components = json!([
        {"kind": "quay", "managed": true},
        {"kind": "mirror", "managed": true},
        {"kind": "clair", "managed": true},
        {"kind": "horizontalpodautoscaler", "managed": true},
        {"kind": "postgres", "managed": false}, {"kind": "redis", "managed": false},
        {"kind": "objectstorage", "managed": false}, {"kind": "clairpostgres", "managed": false},
        {"kind": "route", "managed": true}, {"kind": "tls", "managed": true},
        {"kind": "monitoring", "managed": false},
    ]);
    let site = site("hpa", Flavour::Openshift).await;
    site.bundle("bundle", &offline_config(), &[]).await;
    site.registry("bundle", components).await;
    let mirror = site.deployment("quay-mirror").await;
    assert_eq!(mirror.spec.unwrap().replicas, Some(2));
    let hpas = georep_harness::quay::dynamic_api(
        &site.client,
        NS,
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
    );
    for name in ["quay-app", "quay-mirror", "clair-app"] {
        let hpa = get_eventually(&hpas, &format!("{NAME}-{name}")).await;
        assert_eq!(hpa["spec"]["minReplicas"], 2, "{name}");
    }
}

/// Polls `check` every 50 ms until it holds, under [`DEADLINE`].
async fn until(what: &str, check: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A namespace deleted while the model's pod watch is down takes its pods out of what the
/// site serves once the watch is back: the server kept too little history to replay the
/// deletions (410 `Expired`, what a watch that falls behind on a busy cluster gets), so the
/// watcher lists again and the deleted pods are simply not in that list. Before the model
/// looked at re-lists, the Clair pods of a namespace a conformance scenario had cleaned up
/// kept answering through the global Clair name.
#[tokio::test]
async fn pods_deleted_while_the_pod_watch_was_down_stop_serving() {
    let ledger = Ledger::in_memory();
    let mut config = ClusterConfig::new("relist");
    config.flavour = Flavour::Openshift;
    // Small enough that the writes below push the model's watch point out of it.
    config.history_limit = 16;
    let site = site_on(config, |sim| fast_options(sim, "3.13.11", &ledger)).await;
    let components = with(
        geo_components("us_east"),
        "clair",
        json!({"kind": "clair", "managed": true}),
    );
    site.bundle("bundle", &offline_config(), &[]).await;
    site.registry("bundle", components).await;
    let pods = site.operator.as_ref().unwrap().ready_pods();
    until("a ready clair pod", || pods.clair() > 0).await;
    // Ready on the server too: a pod the model counts before its status is written is
    // forgotten when that write finds it deleted, which is not what this test is about.
    let server_pods = Api::<Pod>::namespaced(site.client.clone(), NS);
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !server_pods
        .list(&ListParams::default().labels("quay-component=clair-app"))
        .await
        .unwrap()
        .items
        .iter()
        .any(georep_harness::quay::is_pod_ready)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no clair pod ready on the server"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let faults = site.sim.faults();
    faults.inject(FaultRule {
        verb: Some("watch".to_owned()),
        resource: Some("pods".to_owned()),
        name: None,
        count: u32::MAX,
        fault: FaultKind::InternalError,
    });
    faults.close_watches();
    let namespaces = Api::<Namespace>::all(site.client.clone());
    namespaces.delete(NS, &Default::default()).await.unwrap();
    // The model takes its finalizer off once its current reconcile (slow against the
    // offline config) ends; the test does it at once, as an impatient user would.
    site.registries()
        .patch(
            NAME,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": []}})),
        )
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while namespaces.get_opt(NS).await.unwrap().is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "namespace {NS} still there"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        pods.clair() > 0,
        "the deletion reached the model without a watch"
    );
    let filler = Api::<ConfigMap>::namespaced(site.client.clone(), "default");
    for i in 0..2 * 16 {
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": format!("filler-{i}")}})).unwrap();
        filler.create(&PostParams::default(), &cm).await.unwrap();
    }
    faults.clear();

    until("the deleted clair pods no longer ready", || {
        pods.clair() == 0
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// What the operator overrides, host checks, monitoring and leftover HPAs

#[tokio::test]
async fn the_rendered_config_secret_carries_the_managed_components_values() {
    let site = site("effective-config", Flavour::Openshift).await;
    let mut config = offline_config();
    config["REPO_MIRROR_INTERVAL"] = json!(600);
    config["PREFERRED_URL_SCHEME"] = json!("http");
    site.bundle("bundle", &config, &[]).await;
    site.registry("bundle", geo_components("us_east")).await;
    let quay = site.deployment("quay-app").await;
    let secret_name = quay.spec.unwrap().template.spec.unwrap().volumes.unwrap()[0]
        .secret
        .as_ref()
        .unwrap()
        .secret_name
        .clone()
        .unwrap();
    let secret = Api::<Secret>::namespaced(site.client.clone(), NS)
        .get(&secret_name)
        .await
        .unwrap();
    let text = &secret.data.unwrap()["config.yaml"].0;
    let rendered: Value = serde_saphyr::from_str(std::str::from_utf8(text).unwrap()).unwrap();
    assert_eq!(rendered["REPO_MIRROR_INTERVAL"], 30, "{rendered:#}");
    assert_eq!(rendered["PREFERRED_URL_SCHEME"], "https", "{rendered:#}");
    assert_eq!(rendered["EXTERNAL_TLS_TERMINATION"], true, "{rendered:#}");
}

fn certificate(names: &[&str]) -> (String, String) {
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let pair = rcgen::generate_simple_self_signed(names).unwrap();
    (pair.cert.pem(), pair.signing_key.serialize_pem())
}

#[tokio::test]
async fn a_certificate_that_misses_the_build_manager_host_is_component_creation_failed() {
    let site = site("tls-hosts", Flavour::Openshift).await;
    let mut config = offline_config();
    config["BUILDMAN_HOSTNAME"] = json!("builder.global.example:443");
    let (cert, key) = certificate(&["quay.global.example"]);
    site.bundle("bundle", &config, &[("ssl.cert", &cert), ("ssl.key", &key)])
        .await;
    let components = with(
        geo_components("us_east"),
        "tls",
        json!({"kind": "tls", "managed": false}),
    );
    site.registry("bundle", components).await;
    let c = site.wait_condition("RolloutBlocked", "True").await;
    assert_eq!(c["reason"], "ComponentCreationFailed", "{c}");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("provided certificate pair not valid for host 'builder.global.example'"),
        "{c}"
    );
}

/// A `kubernetes.io/tls` Secret `name` holding `(cert, key)`.
fn tls_secret(name: &str, (cert, key): &(String, String)) -> Secret {
    use base64::Engine as _;
    let b64 = |v: &str| base64::engine::general_purpose::STANDARD.encode(v);
    serde_json::from_value(json!({
        "metadata": {"name": name}, "type": "kubernetes.io/tls",
        "data": {"tls.crt": b64(cert), "tls.key": b64(key)},
    }))
    .unwrap()
}

#[tokio::test]
async fn a_rotated_tls_secret_rolls_the_deployments_without_waiting_for_a_resync() {
    let ledger = Ledger::in_memory();
    let site = site_with("tls-rotation", Flavour::Openshift, |sim| {
        let mut opts = fast_options(sim, "3.13.11", &ledger);
        // Once the migration failed (no database listens) nothing requeues the registry:
        // only the Secret watch can notice the rotation in time.
        opts.resync = Duration::from_secs(3600);
        opts.status_interval = Duration::from_secs(3600);
        opts
    })
    .await;
    let secrets: Api<Secret> = Api::namespaced(site.client.clone(), NS);
    let first = certificate(&["quay.global.example"]);
    secrets
        .create(&PostParams::default(), &tls_secret("quay-tls", &first))
        .await
        .unwrap();
    site.bundle("bundle", &offline_config(), &[]).await;
    let components = with(
        geo_components("us_east"),
        "tls",
        json!({"kind": "tls", "managed": false, "secretRef": {"name": "quay-tls"}}),
    );
    site.registry("bundle", components).await;
    let hash = |d: &Deployment| {
        d.spec
            .as_ref()
            .unwrap()
            .template
            .metadata
            .as_ref()
            .unwrap()
            .annotations
            .as_ref()
            .and_then(|a| a.get("quay.redhat.com/tls-secret-hash").cloned())
    };
    site.wait("the migration to fail", |reg| {
        condition(reg, "ComponentsCreated").filter(|c| c["reason"] == "MigrationsFailed")
    })
    .await;
    let before = hash(&site.deployment("quay-app").await).expect("the hash annotation");
    let labels = secrets
        .get("quay-tls")
        .await
        .unwrap()
        .metadata
        .labels
        .unwrap_or_default();
    assert_eq!(
        labels.get("quay.redhat.com/tls-secret").map(String::as_str),
        Some("true")
    );

    let rotated = certificate(&["quay.global.example"]);
    let mut secret = tls_secret("quay-tls", &rotated);
    secret.metadata.labels = Some(labels);
    secrets
        .replace("quay-tls", &PostParams::default(), &secret)
        .await
        .unwrap();
    let api: Api<Deployment> = Api::namespaced(site.client.clone(), NS);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let now = hash(&api.get(&format!("{NAME}-quay-app")).await.unwrap());
        if now.as_ref().is_some_and(|h| *h != before) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the hash stayed {before} after the Secret was rotated"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn managed_monitoring_without_the_prometheus_api_is_blocked() {
    let components = with(
        geo_components("us_east"),
        "monitoring",
        json!({"kind": "monitoring", "managed": true}),
    );
    let site = openshift_without_monitoring("monitoring-blocked").await;
    site.bundle("bundle", &offline_config(), &[]).await;
    site.registry("bundle", components).await;
    let c = site.wait_condition("RolloutBlocked", "True").await;
    assert_eq!(c["reason"], "MonitoringComponentDependencyError", "{c}");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("could not check for monitoring support"),
        "{c}"
    );
}

#[tokio::test]
async fn hpas_left_from_a_managed_component_stay_and_fight_explicit_replicas() {
    use kube::runtime::{WatchStreamExt as _, watcher};
    use tokio_stream::StreamExt as _;

    let site = site("hpa-leftover", Flavour::Openshift).await;
    site.bundle("bundle", &offline_config(), &[]).await;
    let hpa_managed = json!([
        {"kind": "quay", "managed": true}, {"kind": "mirror", "managed": true},
        {"kind": "clair", "managed": false}, {"kind": "horizontalpodautoscaler", "managed": true},
        {"kind": "postgres", "managed": false}, {"kind": "redis", "managed": false},
        {"kind": "objectstorage", "managed": false}, {"kind": "clairpostgres", "managed": false},
        {"kind": "route", "managed": true}, {"kind": "tls", "managed": true},
        {"kind": "monitoring", "managed": false},
    ]);
    site.registry("bundle", hpa_managed).await;
    let hpas = georep_harness::quay::dynamic_api(
        &site.client,
        NS,
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
    );
    get_eventually(&hpas, &format!("{NAME}-quay-mirror")).await;

    // Unmanaged HPA, one mirror pod: the operator renders replicas 1 and no HPA.
    let deployments: Api<Deployment> = Api::namespaced(site.client.clone(), NS);
    let mirror_name = format!("{NAME}-quay-mirror");
    let mut replicas = Box::pin(
        watcher(deployments.clone(), watcher::Config::default())
            .applied_objects()
            .filter_map(|d| d.ok())
            .filter(move |d: &Deployment| d.name_any() == mirror_name)
            .map(|d| d.spec.and_then(|s| s.replicas)),
    );
    // A merge patch, not a read-modify-replace: the operator writes status in between, and
    // a replace with the older resourceVersion would be refused with 409.
    site.registries()
        .patch(
            NAME,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"components": geo_components("us_east")}})),
        )
        .await
        .unwrap();
    let seen = tokio::time::timeout(DEADLINE, async {
        let mut seen = Vec::new();
        while let Some(r) = replicas.next().await {
            seen.push(r);
            if seen.contains(&Some(1)) && seen.last() == Some(&Some(2)) {
                return seen;
            }
        }
        seen
    })
    .await
    .expect("the leftover HPA scaled the mirror back to its minimum");
    assert_eq!(seen.last(), Some(&Some(2)), "{seen:?}");
    assert!(
        hpas.get_opt(&format!("{NAME}-quay-mirror"))
            .await
            .unwrap()
            .is_some(),
        "the operator deleted the HPA it no longer renders"
    );
}

/// Polls `api` for `name` under [`DEADLINE`].
async fn get_eventually(api: &Api<DynamicObject>, name: &str) -> Value {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Some(o) = api.get_opt(name).await.unwrap() {
            return serde_json::to_value(o).unwrap();
        }
        assert!(tokio::time::Instant::now() < deadline, "no {name}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------------------
// Migrations and pods against the real services

/// One OpenShift site at `v` with the geo-rep registry on `db_uri`.
async fn geo_site(name: &str, v: &str, ledger: &Arc<Ledger>, info: &Info, db_uri: &str) -> Site {
    let site = site_with(name, Flavour::Openshift, |sim| {
        let mut o = fast_options(sim, v, ledger);
        o.storage_location = "us_east".to_owned();
        o
    })
    .await;
    site.bundle("bundle", &geo_config(info, db_uri), &[]).await;
    site
}

async fn wait_converged(site: &Site, v: &str) {
    site.wait(&format!("converged at {v}"), |r| {
        let ok = r["status"]["currentVersion"] == v
            && condition(r, "Available")?["status"] == "True"
            && condition(r, "ComponentsCreated")?["status"] == "True";
        ok.then_some(())
    })
    .await;
}

/// The three replicas rules (explicit override, the managed default, left out) on one
/// registry: one converged site against the real services shows all three, and a site per
/// rule would triple the slowest part of the test.
#[tokio::test]
async fn replicas_follow_explicit_default_and_left_out_rules() {
    let keeper = services();
    let db = database(&keeper.info, "replicas_rules", true).await;
    let ledger = Ledger::in_memory();
    let site = geo_site("replicas", "3.13.11", &ledger, &keeper.info, &db).await;
    let components = with(
        with(
            geo_components("us_east"),
            "quay",
            json!({"kind": "quay", "managed": true, "overrides": {"replicas": 3,
                "env": [{"name": "QUAY_DISTRIBUTED_STORAGE_PREFERENCE", "value": "us_east"}]}}),
        ),
        "mirror",
        json!({"kind": "mirror", "managed": true, "overrides": {
            "env": [{"name": "QUAY_DISTRIBUTED_STORAGE_PREFERENCE", "value": "us_east"}]}}),
    );
    let components = with(
        components,
        "clair",
        json!({"kind": "clair", "managed": true}),
    );
    site.registry("bundle", components).await;
    wait_converged(&site, "3.13.11").await;
    assert_eq!(
        site.deployment("quay-app").await.spec.unwrap().replicas,
        Some(3)
    );
    assert_eq!(
        site.deployment("clair-app").await.spec.unwrap().replicas,
        Some(2)
    );
    assert_eq!(
        site.deployment("quay-mirror").await.spec.unwrap().replicas,
        Some(1)
    );
    let pods = Api::<Pod>::namespaced(site.client.clone(), NS)
        .list(&ListParams::default().labels("quay-component=quay-app"))
        .await
        .unwrap();
    assert_eq!(pods.items.len(), 3);
    assert!(ledger.is_empty(), "{:?}", ledger.violations());
}

#[tokio::test]
async fn first_install_migrates_an_empty_database_to_head_and_sets_current_version() {
    let keeper = services();
    let db = database(&keeper.info, "first_install", true).await;
    let ledger = Ledger::in_memory();
    let site = geo_site("first", "3.13.11", &ledger, &keeper.info, &db).await;
    site.registry("bundle", geo_components("us_east")).await;
    wait_converged(&site, "3.13.11").await;
    assert_eq!(alembic_revision(&db).await.as_deref(), Some("8e97c2cfee57"));
    let operator = site.operator.as_ref().unwrap();
    assert_eq!(operator.ready_quay_pods().len(), 2);
    assert!(operator.config_hash().is_some());
    let job = Api::<k8s_openapi::api::batch::v1::Job>::namespaced(site.client.clone(), NS)
        .get(&format!("{NAME}-quay-app-upgrade"))
        .await
        .unwrap();
    assert_eq!(job.status.unwrap().succeeded, Some(1));
    assert!(ledger.is_empty(), "{:?}", ledger.violations());
}

/// Patches the operator Deployment of `site` to `v`: its `quay-version` pod annotation (which
/// `QUAY_VERSION` is read from) and image, and, when `with_images`, its
/// `RELATED_IMAGE_COMPONENT_*` env vars too.
async fn upgrade_operator(site: &Site, v: &str, with_images: bool) {
    let mut patch =
        json!({"spec": {"template": {"metadata": {"annotations": {"quay-version": v}}}}});
    if with_images {
        patch["spec"]["template"]["spec"] = json!({"containers": [{
            "name": "quay-operator",
            "image": format!("quay.io/projectquay/quay-operator:{v}"),
            "env": [
                {"name": "QUAY_VERSION", "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['quay-version']"}}},
                {"name": "RELATED_IMAGE_COMPONENT_QUAY", "value": format!("quay.io/projectquay/quay:{v}")},
                {"name": "RELATED_IMAGE_COMPONENT_CLAIR", "value": "quay.io/projectquay/clair:4.8.0"},
            ],
        }]});
    }
    Api::<Deployment>::namespaced(site.client.clone(), "openshift-operators")
        .patch(
            OPERATOR_DEPLOYMENT,
            &PatchParams::default(),
            &Patch::Merge(patch),
        )
        .await
        .unwrap();
}

async fn quay_image(site: &Site) -> Option<String> {
    let quay = site.deployment("quay-app").await;
    quay.spec.unwrap().template.spec.unwrap().containers[0]
        .image
        .clone()
}

#[tokio::test]
async fn patching_the_operator_deployment_upgrades_by_one_version() {
    let keeper = services();
    let db = database(&keeper.info, "upgrade_one", true).await;
    let ledger = Ledger::in_memory();
    let site = geo_site("upgrade", "3.13.11", &ledger, &keeper.info, &db).await;
    site.registry("bundle", geo_components("us_east")).await;
    wait_converged(&site, "3.13.11").await;
    assert_eq!(
        quay_image(&site).await.as_deref(),
        Some("quay.io/projectquay/quay:3.13.11")
    );

    upgrade_operator(&site, "3.14.8", true).await;
    wait_converged(&site, "3.14.8").await;
    assert_eq!(site.operator.as_ref().unwrap().version(), version("3.14.8"));
    assert_eq!(alembic_revision(&db).await.as_deref(), Some("3634f2df3c5b"));
    assert_eq!(
        quay_image(&site).await.as_deref(),
        Some("quay.io/projectquay/quay:3.14.8")
    );
    assert!(ledger.is_empty(), "{:?}", ledger.violations());
}

/// What a provider that sets `QUAY_VERSION` but not the component images gets from the real
/// operator: `currentVersion` moves to the new version, while the Job and the pods run the
/// old image, so nothing is migrated and the site serves the old version.
#[tokio::test]
async fn an_operator_upgraded_in_its_version_only_keeps_the_old_images() {
    let keeper = services();
    let db = database(&keeper.info, "upgrade_version_only", true).await;
    let ledger = Ledger::in_memory();
    let site = geo_site("version-only", "3.13.11", &ledger, &keeper.info, &db).await;
    site.registry("bundle", geo_components("us_east")).await;
    wait_converged(&site, "3.13.11").await;

    upgrade_operator(&site, "3.14.8", false).await;
    wait_converged(&site, "3.14.8").await;
    let operator = site.operator.as_ref().unwrap();
    assert_eq!(operator.version(), version("3.14.8"));
    assert_eq!(alembic_revision(&db).await.as_deref(), Some("8e97c2cfee57"));
    assert_eq!(
        quay_image(&site).await.as_deref(),
        Some("quay.io/projectquay/quay:3.13.11")
    );
    let pods = operator.ready_quay_pods();
    assert!(
        !pods.is_empty() && pods.iter().all(|p| p.version == version("3.13.11")),
        "{pods:#?}"
    );
}

/// Site b's migration must start while site a's still runs. Instead of hoping b's Job
/// starts inside a's migration time, the test holds a's migration: it locks
/// `alembic_version` before a starts, waits until a's migration is blocked on that lock,
/// starts b, and releases the lock only once the ledger has recorded the overlap.
#[tokio::test]
async fn two_concurrent_migrations_on_one_database_are_recorded() {
    let keeper = services();
    let db = database(&keeper.info, "concurrent", true).await;
    let ledger = Ledger::in_memory();
    let a = site_with("conc-a", Flavour::Openshift, |sim| {
        fast_options(sim, "3.13.11", &ledger)
    })
    .await;
    let b = site_with("conc-b", Flavour::Openshift, |sim| {
        fast_options(sim, "3.13.11", &ledger)
    })
    .await;
    for s in [&a, &b] {
        s.bundle("bundle", &geo_config(&keeper.info, &db), &[])
            .await;
    }
    // The table a migration creates first, created here so that it can be locked.
    let (holder, conn) = tokio_postgres::connect(&db, NoTls).await.unwrap();
    tokio::spawn(conn);
    holder
        .batch_execute(
            "CREATE TABLE alembic_version (version_num varchar(32) NOT NULL, \
             CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))",
        )
        .await
        .unwrap();
    holder
        .batch_execute("BEGIN; LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let (observer, conn) = tokio_postgres::connect(&db, NoTls).await.unwrap();
    tokio::spawn(conn);
    let blocked_on_the_lock = async || -> i64 {
        observer
            .query_one(
                "SELECT count(*) FROM pg_locks \
                 WHERE relation = 'alembic_version'::regclass AND NOT granted",
                &[],
            )
            .await
            .unwrap()
            .get(0)
    };
    a.registry("bundle", geo_components("us_east")).await;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while blocked_on_the_lock().await < 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the first migration never reached the database"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    b.registry("bundle", geo_components("eu_west")).await;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while ledger.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no violation recorded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    holder.batch_execute("COMMIT").await.unwrap();
    assert!(
        ledger
            .violations()
            .iter()
            .any(|v| matches!(v, Violation::ConcurrentMigrations { database, .. } if database.ends_with("/t_concurrent"))),
        "{:?}",
        ledger.violations()
    );
}

#[tokio::test]
async fn older_job_against_newer_database_fails_with_the_alembic_message() {
    let keeper = services();
    let db = database(&keeper.info, "older_job", true).await;
    let (client, conn) = tokio_postgres::connect(&db, NoTls).await.unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(
            "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY); \
             INSERT INTO alembic_version VALUES ('1623f40582ed')",
        )
        .await
        .unwrap();
    let ledger = Ledger::in_memory();
    let site = geo_site("older", "3.13.11", &ledger, &keeper.info, &db).await;
    site.registry("bundle", geo_components("us_east")).await;
    let c = site
        .wait("MigrationsFailed", |r| {
            condition(r, "ComponentsCreated").filter(|c| c["reason"] == "MigrationsFailed")
        })
        .await;
    // As on a cluster: the Job is retried, then fails with Kubernetes' generic message, which
    // is all the operator's condition quotes; the pod keeps alembic's.
    assert_eq!(c["message"], BACKOFF_LIMIT_MESSAGE);
    assert_eq!(
        job_pod_message(&site).await,
        "Can't locate revision identified by '1623f40582ed'"
    );
    assert_eq!(
        site.deployment("quay-app").await.spec.unwrap().replicas,
        Some(0)
    );
    assert_eq!(alembic_revision(&db).await.as_deref(), Some("1623f40582ed"));
    assert!(site.get().await["status"]["currentVersion"].is_null());
}

#[tokio::test]
async fn migration_stopped_in_the_middle_resumes_where_it_stopped() {
    let keeper = services();
    let db = database(&keeper.info, "resume", true).await;
    let ledger = Ledger::in_memory();
    let slow = |sim: &SimCluster| {
        let mut o = fast_options(sim, "3.13.11", &ledger);
        o.migration_time_per_revision = Duration::from_millis(100);
        o.storage_location = "us_east".to_owned();
        o
    };
    let mut site = site_with("resume", Flavour::Openshift, slow).await;
    site.bundle("bundle", &geo_config(&keeper.info, &db), &[])
        .await;
    site.registry("bundle", geo_components("us_east")).await;
    let catalogue = Catalogue::builtin();
    let head = catalogue.head(&version("3.13.11")).unwrap().to_owned();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if alembic_revision(&db)
            .await
            .is_some_and(|r| catalogue.position(&r) >= Some(2))
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "migration never got going"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    site.operator.take().unwrap().stop().await;
    let stopped_at = alembic_revision(&db).await.unwrap();
    assert_ne!(
        stopped_at, head,
        "the migration finished before it could be stopped"
    );
    let job = Api::<k8s_openapi::api::batch::v1::Job>::namespaced(site.client.clone(), NS)
        .get(&format!("{NAME}-quay-app-upgrade"))
        .await
        .unwrap();
    assert_eq!(
        job.status.unwrap().active,
        Some(1),
        "the killed Job stays active"
    );

    site.operator = Some(
        OperatorModel::start(&site.sim, slow(&site.sim))
            .await
            .unwrap(),
    );
    wait_converged(&site, "3.13.11").await;
    assert_eq!(alembic_revision(&db).await, Some(head));
    assert!(ledger.is_empty(), "{:?}", ledger.violations());
}

/// A geo site whose config is `geo_config` edited by `edit`, with the registry applied.
async fn broken_site(
    test: &str,
    pg_trgm: bool,
    edit: impl FnOnce(&mut Value, &Info),
) -> (Site, Arc<Keeper>) {
    let keeper = services();
    let db = database(&keeper.info, test, pg_trgm).await;
    let ledger = Ledger::in_memory();
    let site = site_with(&test.replace('_', "-"), Flavour::Openshift, |sim| {
        fast_options(sim, "3.13.11", &ledger)
    })
    .await;
    let mut config = geo_config(&keeper.info, &db);
    edit(&mut config, &keeper.info);
    site.bundle("bundle", &config, &[]).await;
    (site, keeper)
}

#[tokio::test]
async fn wrong_database_password_keeps_pods_unready() {
    let (site, _keeper) = broken_site("wrong_db_password", true, |c, _| {
        let uri = c["DB_URI"].as_str().unwrap().to_owned();
        let (user, rest) = uri.split_once('@').unwrap();
        let (prefix, _) = user.rsplit_once(':').unwrap();
        c["DB_URI"] = json!(format!("{prefix}:wrong@{rest}"));
    })
    .await;
    site.registry("bundle", geo_components("us_east")).await;
    site.wait_crash_loop("quay-mirror", "password authentication failed")
        .await;
}

#[tokio::test]
async fn missing_pg_trgm_keeps_quay_pods_unready() {
    let (site, _keeper) = broken_site("missing_pg_trgm", false, |_, _| {}).await;
    site.registry("bundle", geo_components("us_east")).await;
    site.wait_crash_loop("quay-app", "pg_trgm").await;
    let available = site.wait_condition("Available", "False").await;
    assert_eq!(available["reason"], "ComponentNotReady");
}

#[tokio::test]
async fn wrong_redis_password_keeps_quay_pods_unready() {
    let (site, _keeper) = broken_site("wrong_redis_password", true, |c, _| {
        c["BUILDLOGS_REDIS"]["password"] = json!("wrong");
    })
    .await;
    site.registry("bundle", geo_components("us_east")).await;
    site.wait_crash_loop("quay-app", "rejected the password")
        .await;
}

#[tokio::test]
async fn missing_bucket_keeps_quay_pods_unready() {
    let (site, _keeper) = broken_site("missing_bucket", true, |c, _| {
        c["DISTRIBUTED_STORAGE_CONFIG"]["eu_west"][1]["bucket_name"] = json!("quay-nowhere");
    })
    .await;
    site.registry("bundle", geo_components("us_east")).await;
    site.wait_crash_loop("quay-app", "bucket quay-nowhere does not exist")
        .await;
}

#[tokio::test]
async fn wrong_s3_key_keeps_quay_pods_unready() {
    let (site, _keeper) = broken_site("wrong_s3_key", true, |c, _| {
        c["DISTRIBUTED_STORAGE_CONFIG"]["us_east"][1]["secret_key"] = json!("wrong");
    })
    .await;
    site.registry("bundle", geo_components("us_east")).await;
    site.wait_crash_loop("quay-app", "refused access").await;
}

#[tokio::test]
async fn missing_preference_env_keeps_pods_unready_before_3_18() {
    let (site, _keeper) = broken_site("missing_preference", true, |_, _| {}).await;
    let components = with(
        with(
            geo_components("us_east"),
            "quay",
            json!({"kind": "quay", "managed": true, "overrides": {"replicas": 2}}),
        ),
        "mirror",
        json!({"kind": "mirror", "managed": true, "overrides": {"replicas": 1}}),
    );
    site.registry("bundle", components).await;
    site.wait_crash_loop("quay-mirror", "Missing storage preference")
        .await;
    let c = site
        .wait("MigrationsFailed", |r| {
            condition(r, "ComponentsCreated").filter(|c| c["reason"] == "MigrationsFailed")
        })
        .await;
    assert_eq!(c["message"], BACKOFF_LIMIT_MESSAGE);
    let message = job_pod_message(&site).await;
    assert!(
        message.contains("QUAY_DISTRIBUTED_STORAGE_PREFERENCE"),
        "{message}"
    );
}

/// The message of the migration Job's failed pod (its container's terminated state).
async fn job_pod_message(site: &Site) -> String {
    let pods = Api::<Pod>::namespaced(site.client.clone(), NS)
        .list(&ListParams::default().labels(&format!("job-name={NAME}-quay-app-upgrade")))
        .await
        .unwrap()
        .items;
    let [pod] = &pods[..] else {
        panic!("not one migration pod: {pods:?}");
    };
    assert_eq!(
        pod.status.as_ref().unwrap().phase.as_deref(),
        Some("Failed")
    );
    let status = &pod
        .status
        .as_ref()
        .unwrap()
        .container_statuses
        .as_ref()
        .unwrap()[0];
    assert_eq!(status.restart_count, 6, "retried six times");
    let terminated = status.state.as_ref().unwrap().terminated.as_ref().unwrap();
    terminated.message.clone().unwrap_or_default()
}

/// A deleted registry takes its pods with it at once, and a re-created one converges even
/// when pods of its predecessor's Deployments were written again after they went: a
/// Deployment controller working from a stale cache does that under load, with exactly the
/// names the new Deployments' pods need and owners that no longer exist. The garbage
/// collector removes such pods (as a real cluster's does); before, they blocked the new
/// Deployments for good and the re-created site never became available.
#[tokio::test]
async fn a_recreated_registry_converges_past_pods_written_for_its_predecessor() {
    let keeper = services();
    let db = database(&keeper.info, "recreated", true).await;
    let ledger = Ledger::in_memory();
    let site = geo_site("recreated", "3.13.11", &ledger, &keeper.info, &db).await;
    site.registry("bundle", geo_components("us_east")).await;
    wait_converged(&site, "3.13.11").await;
    let pods: Api<Pod> = Api::namespaced(site.client.clone(), NS);
    let old_pods = pods.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(old_pods.len(), 3, "two quay-app pods and one mirror pod");

    site.registries()
        .delete(NAME, &Default::default())
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while site.registries().get_opt(NAME).await.unwrap().is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "registry not deleted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let left = pods.list(&ListParams::default()).await.unwrap().items;
    assert!(
        left.is_empty(),
        "pods outlived their registry: {:?}",
        left.iter().map(|p| p.name_any()).collect::<Vec<_>>()
    );
    for old in &old_pods {
        let straggler: Pod = serde_json::from_value(json!({
            "metadata": {
                "name": old.name_any(),
                "labels": old.labels(),
                "annotations": old.annotations(),
                "ownerReferences": old.owner_references(),
            },
            "spec": old.spec,
        }))
        .unwrap();
        pods.create(&PostParams::default(), &straggler)
            .await
            .unwrap();
    }

    site.registry("bundle", geo_components("us_east")).await;
    wait_converged(&site, "3.13.11").await;
    assert!(ledger.is_empty(), "{:?}", ledger.violations());
}

/// The names of the registry's rendered config Secrets.
async fn rendered_config_secrets(site: &Site) -> Vec<String> {
    let prefix = format!("{NAME}-quay-config-secret");
    Api::<Secret>::namespaced(site.client.clone(), NS)
        .list_metadata(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(kube::ResourceExt::name_any)
        .filter(|n| n.starts_with(&prefix))
        .collect()
}

/// Like the real operator (upstream `controllers/quay/quayregistry_controller.go`,
/// `cleanupPreviousSecrets`), a changed bundle renders a new config Secret and the previous
/// one is deleted once quay-app has rolled out on the new one, instead of piling up.
#[tokio::test]
async fn a_changed_bundle_replaces_the_rendered_config_secret() {
    use base64::Engine as _;
    let keeper = services();
    let db = database(&keeper.info, "config_cleanup", true).await;
    let ledger = Ledger::in_memory();
    let site = geo_site("cleanup", "3.13.11", &ledger, &keeper.info, &db).await;
    site.registry("bundle", geo_components("us_east")).await;
    wait_converged(&site, "3.13.11").await;
    let before = rendered_config_secrets(&site).await;
    assert_eq!(before.len(), 1, "{before:?}");

    let mut config = geo_config(&keeper.info, &db);
    config["REGISTRY_TITLE"] = json!("Changed by the test");
    let encoded = base64::engine::general_purpose::STANDARD.encode(config.to_string());
    Api::<Secret>::namespaced(site.client.clone(), NS)
        .patch(
            "bundle",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"config.yaml": encoded}})),
        )
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let now = rendered_config_secrets(&site).await;
        if now.len() == 1 && now != before {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the rendered config Secrets are {now:?} (before the change: {before:?})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ledger.is_empty(), "{:?}", ledger.violations());
}

/// Like the real operator (upstream `createInitialBundleSecret`), an empty
/// `configBundleSecret` gets a base bundle Secret of the operator's making instead of
/// blocking the rollout.
#[tokio::test]
async fn an_empty_config_bundle_secret_gets_a_base_bundle() {
    let site = site("initial-bundle", Flavour::Openshift).await;
    site.registry("", json!([{"kind": "quay", "managed": true}]))
        .await;
    let prefix = format!("{NAME}-config-bundle-");
    let bundle = site
        .wait("a generated configBundleSecret", |r| {
            let name = r["spec"]["configBundleSecret"].as_str()?;
            name.starts_with(&prefix).then(|| name.to_owned())
        })
        .await;
    let secret = Api::<Secret>::namespaced(site.client.clone(), NS)
        .get(&bundle)
        .await
        .unwrap();
    assert!(secret.data.unwrap_or_default().contains_key("config.yaml"));
    let blocked = condition(&site.get().await, "RolloutBlocked");
    assert_ne!(
        blocked.and_then(|c| c["message"].as_str().map(str::to_owned)),
        Some("spec.configBundleSecret is empty".to_owned())
    );
}

// ---------------------------------------------------------------------------------------
// Managed backing components on a cluster with backing services

/// The shared services as backing services of one simulated cluster (no S3: no
/// ObjectBucketClaim provisioner runs).
fn backing(info: &Info) -> Arc<BackingServices> {
    let port = info
        .super_uri_base
        .trim_end_matches('/')
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap();
    Arc::new(BackingServices {
        postgres: BackingPostgres {
            superuser_uri: Secret_::new(format!("{}postgres", info.super_uri_base)),
            host: "127.0.0.1".to_owned(),
            port,
        },
        redis: BackingRedis {
            host: "127.0.0.1".to_owned(),
            port: info.redis_port,
            password: Secret_::new(info.redis_password.clone()),
        },
        s3: None,
        dns: ClusterDns::default(),
    })
}

/// A site (named after the test, so its databases on the shared server are its own) whose
/// operator stands its managed components on the shared services.
async fn backed_site(name: &str, info: &Info) -> Site {
    let ledger = Ledger::in_memory();
    site_with(name, Flavour::Openshift, |sim| {
        let mut opts = fast_options(sim, "3.13.11", &ledger);
        opts.backing = Some(backing(info));
        opts
    })
    .await
}

/// Components with managed postgres and redis, the rest on the shared services.
fn managed_database_components(postgres_overrides: Option<Value>) -> Value {
    let mut postgres = json!({"kind": "postgres", "managed": true});
    if let Some(o) = postgres_overrides {
        postgres["overrides"] = o;
    }
    let components = with(geo_components("us_east"), "postgres", postgres);
    with(
        components,
        "redis",
        json!({"kind": "redis", "managed": true}),
    )
}

/// `geo_config` without the fields the managed postgres and redis bring.
fn config_for_managed_database(info: &Info) -> Value {
    let mut config = geo_config(info, "unused");
    let map = config.as_object_mut().unwrap();
    for key in ["DB_URI", "BUILDLOGS_REDIS", "USER_EVENTS_REDIS"] {
        map.remove(key);
    }
    config
}

#[tokio::test]
async fn a_managed_database_is_provisioned_with_pg_trgm_and_quay_starts_on_it() {
    let keeper = services();
    let info = &keeper.info;
    let site = backed_site("managed-db", info).await;
    site.bundle("bundle", &config_for_managed_database(info), &[])
        .await;
    site.registry(
        "bundle",
        managed_database_components(Some(json!({"volumeSize": "60Gi"}))),
    )
    .await;
    let ready = site.wait_condition("ComponentPostgresReady", "True").await;
    assert_eq!(
        ready["message"],
        "Deployment registry-quay-database healthy"
    );
    let redis = site.wait_condition("ComponentRedisReady", "True").await;
    assert_eq!(redis["reason"], "ComponentReady");
    site.wait_condition("Available", "True").await;

    // What the database pod provisioned, seen from the server: the database with pg_trgm,
    // at the revision the migration Job moved it to.
    let (db, conn) = tokio_postgres::connect(
        &format!("{}registry-quay-database", info.super_uri_base),
        NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let trgm = db
        .query_opt("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'", &[])
        .await
        .unwrap();
    assert!(trgm.is_some(), "pg_trgm is installed");
    let revision: String = db
        .query_one("SELECT version_num::text FROM alembic_version", &[])
        .await
        .unwrap()
        .get(0);
    assert!(!revision.is_empty());

    let claim: PersistentVolumeClaim = Api::namespaced(site.client.clone(), NS)
        .get("registry-quay-postgres-13")
        .await
        .unwrap();
    let claim = serde_json::to_value(&claim).unwrap();
    assert_eq!(
        claim["spec"]["storageClassName"], "standard",
        "the default class"
    );
    assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "60Gi");
    assert_eq!(claim["status"]["phase"], "Bound");
}

#[tokio::test]
async fn a_database_claim_of_a_missing_storage_class_holds_the_rollout() {
    let keeper = services();
    let info = &keeper.info;
    let site = backed_site("missing-class", info).await;
    site.bundle("bundle", &config_for_managed_database(info), &[])
        .await;
    site.registry(
        "bundle",
        managed_database_components(Some(json!({"storageClassName": "nope"}))),
    )
    .await;
    let failed = site
        .wait(
            "ComponentPostgresReady reason PVCProvisioningFailed",
            |reg| {
                condition(reg, "ComponentPostgresReady")
                    .filter(|c| c["reason"] == "PVCProvisioningFailed")
            },
        )
        .await;
    assert_eq!(failed["status"], "False");
    assert_eq!(
        failed["message"],
        "Postgres PVC registry-quay-postgres-13 provisioning failed: \
         storageclass.storage.k8s.io \"nope\" not found"
    );
    // The workloads wait for the database: no quay-app, no migration Job.
    let operator = site.operator.as_ref().unwrap();
    let seen = operator.reconciles().count("QuayRegistry");
    tokio::time::timeout(
        DEADLINE,
        operator.reconciles().wait_for("QuayRegistry", seen + 2),
    )
    .await
    .unwrap();
    let deployments: Api<Deployment> = Api::namespaced(site.client.clone(), NS);
    assert!(
        deployments
            .get_opt("registry-quay-app")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        deployments
            .get_opt("registry-quay-database")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn a_managed_objectstorage_without_the_bucket_claim_api_blocks_the_rollout() {
    let keeper = services();
    let info = &keeper.info;
    let site = backed_site("no-obc-api", info).await;
    let mut config = config_for_managed_database(info);
    let map = config.as_object_mut().unwrap();
    for key in [
        "DISTRIBUTED_STORAGE_CONFIG",
        "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS",
        "DISTRIBUTED_STORAGE_PREFERENCE",
        "FEATURE_STORAGE_REPLICATION",
    ] {
        map.remove(key);
    }
    site.bundle("bundle", &config, &[]).await;
    let components = with(
        managed_database_components(None),
        "objectstorage",
        json!({"kind": "objectstorage", "managed": true}),
    );
    site.registry("bundle", components).await;
    let blocked = site.wait_condition("RolloutBlocked", "True").await;
    assert_eq!(blocked["reason"], "ObjectStorageComponentDependencyError");
    assert!(
        blocked["message"].as_str().unwrap().starts_with(
            "error checking for object storage support: unable to list object bucket claims"
        ),
        "{blocked:#}"
    );
}

#[tokio::test]
async fn managed_components_without_backing_services_say_they_are_not_modelled() {
    let keeper = services();
    let info = &keeper.info;
    let site = site("not-backed", Flavour::Openshift).await;
    site.bundle("bundle", &config_for_managed_database(info), &[])
        .await;
    site.registry("bundle", managed_database_components(None))
        .await;
    let postgres = site
        .wait("ComponentPostgresReady", |reg| {
            condition(reg, "ComponentPostgresReady")
        })
        .await;
    assert_eq!(postgres["status"], "False");
    assert_eq!(postgres["reason"], "ComponentNotModelled");
    let deployments: Api<Deployment> = Api::namespaced(site.client.clone(), NS);
    assert!(
        deployments
            .get_opt("registry-quay-database")
            .await
            .unwrap()
            .is_none(),
        "nothing is deployed for it"
    );
}

/// Upstream's status controller (quay-operator `controllers/quay/quayregistry_status_controller.go`)
/// evaluates `Available` when the `QuayRegistry` changes and once a minute: pods becoming ready
/// leave it stale, and a change of the object's annotations alone (what the upgrade writes to
/// ask for a fresh status) makes it evaluate again.
#[tokio::test]
async fn available_stays_stale_until_the_registry_changes_and_an_annotation_refreshes_it() {
    let keeper = services();
    let db = database(&keeper.info, "stale_available", true).await;
    let ledger = Ledger::in_memory();
    let site = site_with("stale-available", Flavour::Openshift, |sim| {
        let mut o = fast_options(sim, "3.13.11", &ledger);
        o.storage_location = "us_east".to_owned();
        // The status evaluated when currentVersion is written finds no pod ready yet.
        o.pod_start_delay = Duration::from_secs(2);
        o.status_interval = Duration::from_secs(3600);
        o
    })
    .await;
    site.bundle("bundle", &geo_config(&keeper.info, &db), &[])
        .await;
    site.registry("bundle", geo_components("us_east")).await;
    site.wait("currentVersion 3.13.11", |r| {
        (r["status"]["currentVersion"] == "3.13.11").then_some(())
    })
    .await;
    for suffix in ["quay-app", "quay-mirror"] {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let d = site.deployment(suffix).await;
            let want = d.spec.as_ref().and_then(|s| s.replicas);
            let ready = d.status.as_ref().and_then(|s| s.ready_replicas);
            if want.is_some() && ready == want {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{suffix} never became ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stale = condition(&site.get().await, "Available").unwrap();
    assert_eq!(stale["status"], "False", "{stale}");

    let patch = json!({"metadata": {"annotations": {"quay-georep/status-requested-at": "now"}}});
    site.registries()
        .patch(NAME, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let available = condition(&site.get().await, "Available").unwrap();
        if available["status"] == "True" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the annotation did not refresh the status: {available}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ledger.is_empty(), "{:?}", ledger.violations());
}
