//! Shared setup of the tests that need whole geo-replicated sites: a [`LocalEnv`] of its own
//! per test (services, simulated OpenShift clusters, operator models, load balancer, blob
//! replication), with the geo-replication bundle and `QuayRegistry` applied with kube-rs,
//! site after site (one migration at a time, as the docs require), each waited for until it
//! converged. The config is built from the environment's own `terraform.tfvars.json`
//! variables, so it is what `examples/three-sites` would render.

use std::os::unix::fs::PermissionsExt as _;
use std::time::Duration;

use georep_harness::errors::chain;
use georep_harness::local::{LocalEnv, LocalOptions, LocalSite};
use georep_harness::quay::quay_registry_resource;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

/// The namespace and name of every site's registry.
pub const NS: &str = "quay-enterprise";
pub const NAME: &str = "registry";
/// The global hostname of the shared config.
pub const GLOBAL_HOSTNAME: &str = "quay.global.example.test";
/// How long any wait of these tests may take (generous: the machine is shared).
pub const DEADLINE: Duration = Duration::from_secs(120);

/// A running environment and the state dir it lives in.
pub struct GeoSites {
    pub env: LocalEnv,
    _dir: tempfile::TempDir,
}

/// Polls `check` every 50 ms until it returns `Some`, failing after [`DEADLINE`] with `what`.
pub async fn until<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Some(out) = check().await {
            return out;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl GeoSites {
    /// Starts a local backend with `sites` (nothing applied yet).
    pub async fn start(test: &str, sites: &[&str]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("georep-{test}-"))
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir()
            .unwrap();
        let mut opts = LocalOptions::new(dir.path());
        opts.sites = sites.iter().map(|s| (*s).to_owned()).collect();
        opts.migration_time_per_revision = Duration::from_millis(5);
        opts.load_balancer.check_interval = Duration::from_millis(50);
        opts.replication.interval = Duration::from_millis(100);
        let env = LocalEnv::start(&opts)
            .await
            .unwrap_or_else(|e| panic!("{}", chain(&e)));
        Self { env, _dir: dir }
    }

    /// Starts a backend with `sites` and installs the geo-replicated registry on each.
    pub async fn installed(test: &str, sites: &[&str]) -> Self {
        let geo = Self::start(test, sites).await;
        let config = geo.config();
        for site in geo.env.sites() {
            install(site, &config).await;
        }
        geo
    }

    /// The shared `config.yaml` (as JSON, which is YAML) for this environment's services.
    pub fn config(&self) -> Value {
        let vars = self.env.tfvars().unwrap();
        let mut storage = serde_json::Map::new();
        for (location, s) in vars["storage"].as_object().unwrap() {
            storage.insert(
                location.clone(),
                json!(["RadosGWStorage", {
                    "hostname": s["hostname"], "port": s["port"], "is_secure": false,
                    "bucket_name": s["bucket"], "access_key": s["access_key"],
                    "secret_key": s["secret_key"], "storage_path": "/datastorage/registry",
                }]),
            );
        }
        let locations: Vec<&String> = storage.keys().collect();
        let redis = &vars["redis"];
        json!({
            "SERVER_HOSTNAME": GLOBAL_HOSTNAME,
            "SECRET_KEY": vars["secret_key"], "DATABASE_SECRET_KEY": vars["database_secret_key"],
            "DB_URI": vars["database_uri"],
            "BUILDLOGS_REDIS": redis, "USER_EVENTS_REDIS": redis,
            "FEATURE_STORAGE_REPLICATION": true,
            "DISTRIBUTED_STORAGE_CONFIG": storage,
            "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS": locations,
            "DISTRIBUTED_STORAGE_PREFERENCE": [self.env.sites()[0].location],
        })
    }
}

/// The registry API of `site`.
pub async fn registries(site: &LocalSite) -> Api<DynamicObject> {
    let client = site.cluster.client().await.unwrap();
    Api::namespaced_with(client, NS, &quay_registry_resource())
}

/// Applies the bundle and the geo-replication `QuayRegistry` (quay replicas 2, clair 1,
/// preference = the site's own location) on `site` and waits until it converged.
pub async fn install(site: &LocalSite, config: &Value) {
    use base64::Engine as _;
    let client = site.cluster.client().await.unwrap();
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NS}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let yaml = base64::engine::general_purpose::STANDARD.encode(config.to_string());
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "georep-bundle"}, "data": {"config.yaml": yaml},
    }))
    .unwrap();
    Api::<Secret>::namespaced(client, NS)
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let env = json!([{"name": "QUAY_DISTRIBUTED_STORAGE_PREFERENCE", "value": site.location}]);
    let registry: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "quay.redhat.com/v1", "kind": "QuayRegistry",
        "metadata": {"name": NAME},
        "spec": {"configBundleSecret": "georep-bundle", "components": [
            {"kind": "quay", "managed": true, "overrides": {"replicas": 2, "env": env}},
            {"kind": "mirror", "managed": true, "overrides": {"replicas": 1, "env": env}},
            {"kind": "clair", "managed": true, "overrides": {"replicas": 1}},
            {"kind": "clairpostgres", "managed": false},
            {"kind": "postgres", "managed": false},
            {"kind": "redis", "managed": false},
            {"kind": "objectstorage", "managed": false},
            {"kind": "horizontalpodautoscaler", "managed": false},
            {"kind": "route", "managed": true},
            {"kind": "tls", "managed": true},
            {"kind": "monitoring", "managed": false},
        ]},
    }))
    .unwrap();
    let api = registries(site).await;
    api.create(&PostParams::default(), &registry)
        .await
        .unwrap_or_else(|e| panic!("{}", chain(&e)));
    until(&format!("site {} converged", site.name), async || {
        let reg = serde_json::to_value(api.get(NAME).await.unwrap()).unwrap();
        let available = reg["status"]["conditions"]
            .as_array()?
            .iter()
            .any(|c| c["type"] == "Available" && c["status"] == "True");
        (available
            && reg["status"]["currentVersion"].is_string()
            && site.operator.ready_quay_pods().len() == 2)
            .then_some(())
    })
    .await;
}

/// Sets the quay component's replicas of `site` (HPA unmanaged, so the operator applies it).
pub async fn set_quay_replicas(site: &LocalSite, replicas: i32) {
    let api = registries(site).await;
    let reg = serde_json::to_value(api.get(NAME).await.unwrap()).unwrap();
    let mut components = reg["spec"]["components"].clone();
    for c in components.as_array_mut().unwrap() {
        if c["kind"] == "quay" {
            c["overrides"]["replicas"] = json!(replicas);
        }
    }
    api.patch(
        NAME,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"components": components}})),
    )
    .await
    .unwrap();
}
