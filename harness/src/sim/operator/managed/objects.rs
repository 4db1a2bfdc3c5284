//! The objects the operator creates for a managed `postgres`, `clairpostgres`, `redis` and
//! `objectstorage`, and the credentials it generates for them. Pure: values in, manifests
//! out.
//!
//! | component | objects | upstream |
//! |---|---|---|
//! | `postgres` | ServiceAccount, Deployment and Service `<n>-quay-database`, PVC `<n>-quay-postgres-13` (50Gi), Secret `<n>-postgres-config-secret` | `kustomize/components/postgres/` |
//! | `clairpostgres` | ServiceAccount, Deployment and Service `<n>-clair-postgres`, PVC `<n>-clair-postgres-15` (50Gi), Secret `<n>-clairpostgres-config-secret` | `kustomize/components/clairpostgres/` |
//! | `redis` | ServiceAccount, Deployment and Service `<n>-quay-redis` | `kustomize/components/redis/` |
//! | `objectstorage` | ObjectBucketClaim `<n>-quay-datastore` (`generateBucketName: quay-datastore`, class `openshift-storage.noobaa.io`) | `kustomize/components/objectstorage/` |
//!
//! The PVCs take the component's `volumeSize` and `storageClassName` overrides
//! (`pkg/middleware/middleware.go`), else no class (the cluster's default is filled in by
//! the volume controller, as Kubernetes' retroactive default assignment does). The
//! credentials: `DB_URI` `postgresql://<n>-quay-database:<random>@<n>-quay-database:5432/<n>-quay-database`
//! when the user's config has none (`pkg/kustomize/kustomize.go` `Inflate`), `DB_ROOT_PW`,
//! and for Clair user and database `postgres` with one random password
//! (`KustomizationFor`), all kept in `<n>-quay-registry-managed-secret-keys`.
//!
//! Not modelled: the config Secrets' kustomize hash suffix, the `postgres-conf-sample`
//! ConfigMaps and `postgres-bootstrap` Secret (their effect, `pg_trgm`, is what the database
//! pod provisions), probes, resources, and refusing to shrink a volume.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::super::components::{ComponentKind, Components};
use super::super::overrides;
use crate::quay::{COMPONENT_LABEL, REGISTRY_LABEL};

/// Upstream's default PVC size of both databases.
pub const DEFAULT_VOLUME_SIZE: &str = "50Gi";

/// The registry the objects belong to.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    /// Registry name.
    pub name: &'a str,
    /// Namespace.
    pub namespace: &'a str,
    /// Registry uid.
    pub uid: &'a str,
}

impl Owner<'_> {
    fn metadata(&self, name: &str, component: &str) -> Value {
        json!({
            "name": name,
            "namespace": self.namespace,
            "labels": { REGISTRY_LABEL: self.name, COMPONENT_LABEL: component },
            "annotations": { "quay-component": component },
            "ownerReferences": [{
                "apiVersion": "quay.redhat.com/v1",
                "kind": "QuayRegistry",
                "name": self.name,
                "uid": self.uid,
                "controller": true,
                "blockOwnerDeletion": true,
            }],
        })
    }
}

/// One managed database Deployment's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Database {
    /// The component.
    pub kind: ComponentKind,
    /// Deployment and Service suffix (`quay-database`, `clair-postgres`).
    pub suffix: &'static str,
    /// PVC suffix (`quay-postgres-13`, `clair-postgres-15`).
    pub claim_suffix: &'static str,
    /// The `quay-component` label.
    pub component: &'static str,
    /// The config Secret suffix.
    pub secret_suffix: &'static str,
    /// The image.
    pub image: &'static str,
    /// Whether Quay needs `pg_trgm` in it (`create-extensions.sh`).
    pub pg_trgm: bool,
}

/// Quay's database.
pub const QUAY_DATABASE: Database = Database {
    kind: ComponentKind::Postgres,
    suffix: "quay-database",
    claim_suffix: "quay-postgres-13",
    component: "postgres",
    secret_suffix: "postgres-config-secret",
    image: "quay.io/sclorg/postgresql-13-c9s:latest",
    pg_trgm: true,
};

/// Clair's database.
pub const CLAIR_DATABASE: Database = Database {
    kind: ComponentKind::ClairPostgres,
    suffix: "clair-postgres",
    claim_suffix: "clair-postgres-15",
    component: "clair-postgres",
    secret_suffix: "clairpostgres-config-secret",
    image: "quay.io/sclorg/postgresql-15-c9s:latest",
    pg_trgm: false,
};

/// The Redis Deployment and Service suffix.
pub const REDIS_SUFFIX: &str = "quay-redis";
/// The ObjectBucketClaim suffix.
pub const DATASTORE_SUFFIX: &str = "quay-datastore";

/// The credentials of the managed databases, as kept in the managed-keys Secret. `Debug`
/// prints no value.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Credentials {
    /// `DB_URI`.
    pub db_uri: String,
    /// `DB_ROOT_PW`.
    pub db_root_pw: String,
    /// `CLAIR_DB_USER`.
    pub clair_user: String,
    /// `CLAIR_DB_PASSWORD`.
    pub clair_password: String,
    /// `CLAIR_DB_ROOT_PW`.
    pub clair_root_pw: String,
    /// `CLAIR_DB_NAME`.
    pub clair_name: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials { .. }")
    }
}

/// Fills in the managed-keys values the managed databases need, as the operator does on
/// every reconcile: kept values stay, missing ones are generated with `random`. A `DB_URI`
/// in the user's config wins and is left out of `kept` (`Inflate`). Returns whether `kept` changed.
pub fn ensure_credentials(
    components: &Components,
    name: &str,
    user_db_uri: Option<&str>,
    kept: &mut BTreeMap<String, String>,
    random: &mut dyn FnMut() -> String,
) -> bool {
    let before = kept.clone();
    let set_if_missing = |kept: &mut BTreeMap<String, String>, key: &str, value: String| {
        if kept.get(key).is_none_or(String::is_empty) {
            kept.insert(key.to_owned(), value);
        }
    };
    if components.is_managed(ComponentKind::ClairPostgres)
        && kept.get("CLAIR_DB_PASSWORD").is_none_or(String::is_empty)
    {
        // Upstream: a new deployment gets a random password, an upgraded one `postgres`;
        // user and database are `postgres` either way.
        let password = if kept.get("DB_ROOT_PW").is_none_or(String::is_empty) {
            random()
        } else {
            "postgres".to_owned()
        };
        kept.insert("CLAIR_DB_PASSWORD".to_owned(), password.clone());
        kept.insert("CLAIR_DB_ROOT_PW".to_owned(), password);
        kept.insert("CLAIR_DB_USER".to_owned(), "postgres".to_owned());
        kept.insert("CLAIR_DB_NAME".to_owned(), "postgres".to_owned());
    }
    set_if_missing(kept, "DB_ROOT_PW", random());
    match user_db_uri {
        // The user's `DB_URI` is used as given (`Inflate`); nothing to generate.
        Some(uri) if !uri.is_empty() => {}
        _ if components.is_managed(ComponentKind::Postgres) => {
            let host = format!("{name}-{}", QUAY_DATABASE.suffix);
            set_if_missing(
                kept,
                "DB_URI",
                format!("postgresql://{host}:{}@{host}:5432/{host}", random()),
            );
        }
        _ => {}
    }
    *kept != before
}

impl Credentials {
    /// Reads them from the kept managed keys.
    #[must_use]
    pub fn from_kept(kept: &BTreeMap<String, String>) -> Self {
        let get = |k: &str| kept.get(k).cloned().unwrap_or_default();
        Self {
            db_uri: get("DB_URI"),
            db_root_pw: get("DB_ROOT_PW"),
            clair_user: get("CLAIR_DB_USER"),
            clair_password: get("CLAIR_DB_PASSWORD"),
            clair_root_pw: get("CLAIR_DB_ROOT_PW"),
            clair_name: get("CLAIR_DB_NAME"),
        }
    }

    /// `(username, password, database)` of `DB_URI` (`componentConfigFilesFor`).
    #[must_use]
    pub fn quay_database(&self) -> (String, String, String) {
        let rest = self.db_uri.split_once("://").map_or("", |(_, r)| r);
        let (userinfo, hostpath) = rest.rsplit_once('@').unwrap_or(("", rest));
        let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
        let database = hostpath
            .split_once('/')
            .map_or("", |(_, d)| d)
            .split('?')
            .next()
            .unwrap_or_default();
        (user.to_owned(), password.to_owned(), database.to_owned())
    }
}

fn override_of<'a>(
    components: &'a Components,
    kind: ComponentKind,
    key: &str,
) -> Option<&'a Value> {
    components
        .get(kind)
        .and_then(|c| c.overrides.as_ref())
        .and_then(|o| o.get(key))
        .filter(|v| !v.is_null())
}

fn secret_env(name: &str, secret: &str, key: &str) -> Value {
    json!({"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}})
}

fn database_objects(
    owner: &Owner<'_>,
    components: &Components,
    db: Database,
    data: [(&str, &str); 4],
) -> Vec<Value> {
    let name = format!("{}-{}", owner.name, db.suffix);
    let claim = format!("{}-{}", owner.name, db.claim_suffix);
    let secret = format!("{}-{}", owner.name, db.secret_suffix);
    let selector = json!({ REGISTRY_LABEL: owner.name, COMPONENT_LABEL: db.component });
    let size = override_of(components, db.kind, "volumeSize")
        .cloned()
        .unwrap_or_else(|| json!(DEFAULT_VOLUME_SIZE));
    let mut pvc_spec = json!({
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": size}},
    });
    if let Some(class) = override_of(components, db.kind, "storageClassName") {
        pvc_spec["storageClassName"] = class.clone();
    }
    let secret_data: serde_json::Map<String, Value> = data
        .iter()
        .map(|(k, v)| {
            (
                (*k).to_owned(),
                json!(super::super::render::base64_encode(v.as_bytes())),
            )
        })
        .collect();
    let env = json!([
        secret_env("POSTGRESQL_USER", &secret, "database-username"),
        secret_env("POSTGRESQL_DATABASE", &secret, "database-name"),
        secret_env("POSTGRESQL_PASSWORD", &secret, "database-password"),
        secret_env(
            "POSTGRESQL_ADMIN_PASSWORD",
            &secret,
            "database-root-password",
        ),
        json!({"name": "POSTGRESQL_SHARED_BUFFERS", "value": "256MB"}),
        json!({"name": "POSTGRESQL_MAX_CONNECTIONS", "value": "2000"}),
    ]);
    vec![
        json!({
            "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": owner.metadata(&name, db.component),
        }),
        json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": owner.metadata(&secret, db.component),
            "data": secret_data,
        }),
        json!({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": owner.metadata(&claim, db.component),
            "spec": pvc_spec,
        }),
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": owner.metadata(&name, db.component),
            "spec": {
                "replicas": 1,
                "strategy": {"type": "Recreate"},
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {"labels": selector},
                    "spec": {
                        "serviceAccountName": name,
                        "volumes": [{"name": "postgres-data",
                                     "persistentVolumeClaim": {"claimName": claim}}],
                        "containers": [{
                            "name": db.component,
                            "image": db.image,
                            "ports": [{"containerPort": 5432, "protocol": "TCP"}],
                            "env": env,
                            "volumeMounts": [{"name": "postgres-data",
                                              "mountPath": "/var/lib/pgsql/data"}],
                        }],
                    },
                },
            },
        }),
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": owner.metadata(&name, db.component),
            "spec": {
                "type": "ClusterIP",
                "ports": [{"name": "postgres", "port": 5432, "protocol": "TCP", "targetPort": 5432}],
                "selector": selector,
            },
        }),
    ]
}

/// The objects of every managed backing component of the registry, in apply order.
#[must_use]
pub fn objects(owner: &Owner<'_>, components: &Components, creds: &Credentials) -> Vec<Value> {
    let mut out = Vec::new();
    if components.is_managed(ComponentKind::Postgres) {
        let (user, password, database) = creds.quay_database();
        out.extend(database_objects(
            owner,
            components,
            QUAY_DATABASE,
            [
                ("database-username", user.as_str()),
                ("database-password", password.as_str()),
                ("database-name", database.as_str()),
                ("database-root-password", creds.db_root_pw.as_str()),
            ],
        ));
    }
    if components.is_managed(ComponentKind::ClairPostgres) {
        out.extend(database_objects(
            owner,
            components,
            CLAIR_DATABASE,
            [
                ("database-username", creds.clair_user.as_str()),
                ("database-password", creds.clair_password.as_str()),
                ("database-name", creds.clair_name.as_str()),
                ("database-root-password", creds.clair_root_pw.as_str()),
            ],
        ));
    }
    if components.is_managed(ComponentKind::Redis) {
        let name = format!("{}-{REDIS_SUFFIX}", owner.name);
        let selector = json!({ REGISTRY_LABEL: owner.name, COMPONENT_LABEL: "redis" });
        out.push(json!({
            "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": owner.metadata(&name, "redis"),
        }));
        out.push(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": owner.metadata(&name, "redis"),
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {"labels": selector},
                    "spec": {
                        "serviceAccountName": name,
                        "containers": [{
                            "name": "redis-master",
                            "image": "quay.io/sclorg/redis-7-c9s:latest",
                            "ports": [{"containerPort": 6379, "protocol": "TCP"}],
                            "env": [],
                        }],
                    },
                },
            },
        }));
        out.push(json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": owner.metadata(&name, "redis"),
            "spec": {"ports": [{"port": 6379, "protocol": "TCP"}], "selector": selector},
        }));
    }
    if components.is_managed(ComponentKind::ObjectStorage) {
        let name = format!("{}-{DATASTORE_SUFFIX}", owner.name);
        let mut metadata = owner.metadata(&name, "objectstorage");
        metadata["labels"][COMPONENT_LABEL] = json!("quay-datastore");
        out.push(json!({
            "apiVersion": "objectbucket.io/v1alpha1", "kind": "ObjectBucketClaim",
            "metadata": metadata,
            "spec": {
                "generateBucketName": "quay-datastore",
                "storageClassName": "openshift-storage.noobaa.io",
                "additionalConfig": {"bucketclass": "noobaa-default-bucket-class"},
            },
        }));
    }
    // Their Deployments take the component's overrides like every other Deployment.
    for object in &mut out {
        if let Some(kind) = overrides::component_of(object) {
            overrides::apply(components, kind, object);
        }
    }
    out
}

/// Whether `object` is a workload the operator holds back until the managed databases
/// are available and a managed bucket is bound: every Deployment and Job but the
/// databases' and Redis' (`controllers/quay/quayregistry_controller.go`,
/// `filterDeferredWorkloads`).
#[must_use]
pub fn is_deferrable(object: &Value) -> bool {
    let kind = object["kind"].as_str().unwrap_or_default();
    let component = object["metadata"]["labels"][COMPONENT_LABEL]
        .as_str()
        .unwrap_or_default();
    matches!(kind, "Deployment" | "Job")
        && !matches!(component, "postgres" | "clair-postgres" | "redis")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comps(v: Value) -> Components {
        Components::from_spec(&json!({ "components": v }))
    }

    fn owner() -> Owner<'static> {
        Owner {
            name: "reg",
            namespace: "ns",
            uid: "u1",
        }
    }

    fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
        objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name} in {objects:#?}"))
    }

    #[test]
    fn a_generated_db_uri_names_the_managed_database_service_and_is_kept() {
        let c = comps(json!([{"kind": "postgres", "managed": true},
                             {"kind": "clairpostgres", "managed": true}]));
        let mut kept = BTreeMap::new();
        let mut n = 0;
        let mut random = || {
            n += 1;
            format!("r{n}")
        };
        assert!(ensure_credentials(&c, "reg", None, &mut kept, &mut random));
        assert_eq!(
            kept["DB_URI"],
            "postgresql://reg-quay-database:r3@reg-quay-database:5432/reg-quay-database"
        );
        assert_eq!(kept["CLAIR_DB_USER"], "postgres");
        assert_eq!(kept["CLAIR_DB_PASSWORD"], kept["CLAIR_DB_ROOT_PW"]);
        let again = kept.clone();
        assert!(!ensure_credentials(&c, "reg", None, &mut kept, &mut random));
        assert_eq!(kept, again, "kept values are not generated again");
        let creds = Credentials::from_kept(&kept);
        assert_eq!(
            creds.quay_database(),
            (
                "reg-quay-database".into(),
                "r3".into(),
                "reg-quay-database".into()
            )
        );
    }

    #[test]
    fn database_claims_take_the_size_and_class_overrides() {
        let c = comps(json!([
            {"kind": "postgres", "managed": true,
             "overrides": {"volumeSize": "70Gi", "storageClassName": "fast"}},
            {"kind": "clairpostgres", "managed": true},
            {"kind": "redis", "managed": true},
            {"kind": "objectstorage", "managed": true},
        ]));
        let objects = objects(&owner(), &c, &Credentials::default());
        let quay = find(&objects, "PersistentVolumeClaim", "reg-quay-postgres-13");
        assert_eq!(quay["spec"]["resources"]["requests"]["storage"], "70Gi");
        assert_eq!(quay["spec"]["storageClassName"], "fast");
        let clair = find(&objects, "PersistentVolumeClaim", "reg-clair-postgres-15");
        assert_eq!(clair["spec"]["resources"]["requests"]["storage"], "50Gi");
        assert!(clair["spec"].get("storageClassName").is_none());
        let db = find(&objects, "Deployment", "reg-quay-database");
        assert_eq!(
            db["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"],
            "reg-quay-postgres-13"
        );
        find(&objects, "Service", "reg-quay-redis");
        let obc = find(&objects, "ObjectBucketClaim", "reg-quay-datastore");
        assert_eq!(obc["spec"]["generateBucketName"], "quay-datastore");
        assert!(!is_deferrable(db));
    }

    #[test]
    fn unmanaged_components_render_nothing() {
        let c = comps(json!([{"kind": "postgres", "managed": false}]));
        assert!(objects(&owner(), &c, &Credentials::default()).is_empty());
    }
}
