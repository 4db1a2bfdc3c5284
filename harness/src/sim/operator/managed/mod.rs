//! The managed backing components of a `QuayRegistry` (`postgres`, `clairpostgres`, `redis`,
//! `objectstorage`), modelled on a cluster that is given [`BackingServices`]: real servers
//! that stand in for the images the operator would run.
//!
//! # Brief overview
//! - [`objects`]: what the operator creates for each (Deployments, Services, PVCs with the
//!   `volumeSize` and `storageClassName` overrides, ServiceAccounts, config Secrets, the
//!   ObjectBucketClaim) and the credentials it generates and keeps.
//! - [`prepare`]: one reconcile's part: credentials, `DB_URI` and the bucket's
//!   `DISTRIBUTED_STORAGE_CONFIG` written into the config, the objects, and whether the
//!   workloads wait ([`status`]).
//! - [`pods`]: a database pod starts once its PVC is bound and provisions its database on the
//!   backing PostgreSQL (role, database, `pg_trgm` for Quay's); a Redis pod stands for the
//!   backing Redis; both then enter their Service in the name table ([`dns`]).
//! - [`volumes`]: kube-controller-manager's PV controller with a dynamic provisioner: binds
//!   PVCs of an existing StorageClass, fills in the default class, and leaves claims of a
//!   missing class `Pending` with a `ProvisioningFailed` Event.
//! - [`buckets`]: NooBaa's ObjectBucketClaim API and its lib-bucket-provisioner: binds a claim
//!   with a new bucket on the site's S3 server and writes its Secret and ConfigMap.
//! - [`status`]: the four `Component*Ready` conditions as upstream `pkg/cmpstatus` computes
//!   them.
//!
//! A cluster without backing services deploys none of this: the four components report
//! `ComponentNotModelled` ([`super::conditions::NOT_MODELLED`]).
//!
//! # What it does not model
//! One backing PostgreSQL server holds every managed database of the cluster (the operator
//! runs one server per database): a database named `postgres` or owned by `postgres` (Clair's,
//! upstream) is provisioned under its Service's name instead, since on a shared server that
//! name is the superuser's, and Clair's pods never connect to it here. A database already
//! provisioned for another registry fails the pod. Redis is one shared server, its password
//! added by the name table. NooBaa gives each claim its own account; here every claim gets
//! the site's S3 keys. No PersistentVolume or ObjectBucket objects, and no PVC resizing.

pub mod backing;
pub mod buckets;
pub mod dns;
pub mod objects;
pub mod pods;
pub mod status;
pub mod volumes;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::components::{Blocked, ComponentKind, Components};
use super::conditions::Condition;
use super::context::Context;
use crate::quay::Bundle;

pub use backing::{BackingPostgres, BackingRedis, BackingServices};
pub use dns::{ClusterDns, Endpoint};
pub use objects::{Credentials, Owner};
pub use status::{Bucket, Observed};

/// One reconcile's share of the managed components. `Debug` names the managed keys, never
/// their values.
#[derive(Clone)]
pub struct Prepared {
    /// The config bundle with what the managed components write into `config.yaml`.
    pub bundle: Bundle,
    /// The managed keys to keep (`DB_URI` when generated, `DB_ROOT_PW`, `CLAIR_DB_*`).
    pub keys: BTreeMap<String, String>,
    /// Their objects, to apply before the rest.
    pub objects: Vec<Value>,
    /// Whether Deployments and Jobs other than the databases' and Redis' wait.
    pub defer_workloads: bool,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .field("objects", &self.objects.len())
            .field("defer_workloads", &self.defer_workloads)
            .finish_non_exhaustive()
    }
}

/// The managed components' part of one reconcile of `owner`: `kept` holds the decoded
/// managed keys, `observed` what [`status::observe`] saw, `random` makes new passwords.
#[must_use]
pub fn prepare(
    owner: &Owner<'_>,
    components: &Components,
    bundle: &Bundle,
    kept: &BTreeMap<String, String>,
    observed: &Observed,
    random: &mut dyn FnMut() -> String,
) -> Prepared {
    let mut keys = kept.clone();
    objects::ensure_credentials(components, owner.name, bundle.db_uri(), &mut keys, random);
    keys.retain(|k, _| {
        matches!(
            k.as_str(),
            "DB_ROOT_PW"
                | "CLAIR_DB_USER"
                | "CLAIR_DB_PASSWORD"
                | "CLAIR_DB_ROOT_PW"
                | "CLAIR_DB_NAME"
        ) || (k == "DB_URI" && bundle.db_uri().is_none())
    });
    let creds = Credentials::from_kept(&keys);
    let mut config = bundle.config.clone();
    if components.is_managed(ComponentKind::Postgres) && bundle.db_uri().is_none() {
        // `Inflate`: `parsedUserConfig["DB_URI"] = ctx.DbUri`.
        config.insert("DB_URI".to_owned(), json!(creds.db_uri));
    }
    if let (true, Some(b)) = (
        components.is_managed(ComponentKind::ObjectStorage),
        &observed.bucket,
    ) {
        config.extend(storage_fields(b));
    }
    let mut prepared = bundle.clone();
    if config != bundle.config {
        prepared.config_yaml = serde_json::to_vec_pretty(&config).unwrap_or_default();
        prepared.config = config;
    }
    Prepared {
        bundle: prepared,
        keys,
        objects: objects::objects(owner, components, &creds),
        defer_workloads: observed.defers_workloads(components),
    }
}

/// What the registry's managed backing components look like: `None` on a cluster without
/// backing services; `Err` when a managed `objectstorage` finds no ObjectBucketClaim API
/// (`controllers/quay/quayregistry_controller.go`: `ObjectStorageComponentDependencyError`).
///
/// # Errors
/// Any other API error.
pub async fn observe(
    ctx: &Context,
    namespace: &str,
    name: &str,
    uid: &str,
    components: &Components,
) -> Result<Option<Result<Observed, Blocked>>, kube::Error> {
    if ctx.opts.backing.is_none() {
        return Ok(None);
    }
    let reg = status::Registry {
        name,
        namespace,
        uid,
    };
    match status::observe(&ctx.client, reg, components).await {
        Ok(observed) => Ok(Some(Ok(observed))),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(Some(Err(Blocked {
            reason: "ObjectStorageComponentDependencyError",
            message: format!(
                "error checking for object storage support: unable to list object bucket \
                 claims: {}",
                s.message
            ),
        }))),
        Err(e) => Err(e),
    }
}

/// The observed conditions of [`observe`]'s answer (none when there is none).
#[must_use]
pub fn conditions_of(seen: Option<&Result<Observed, Blocked>>) -> &[Condition] {
    match seen {
        Some(Ok(observed)) => &observed.conditions,
        _ => &[],
    }
}

/// The fields a managed `objectstorage` writes over `config.yaml` once its claim is bound
/// (`pkg/kustomize/secrets.go` `FieldGroupFor`, `RHOCSStorage` at `local_us`).
#[must_use]
pub fn storage_fields(bucket: &Bucket) -> serde_json::Map<String, Value> {
    let fields = json!({
        "FEATURE_PROXY_STORAGE": true,
        "DISTRIBUTED_STORAGE_PREFERENCE": ["local_us"],
        "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS": ["local_us"],
        "DISTRIBUTED_STORAGE_CONFIG": {"local_us": ["RHOCSStorage", {
            "hostname": bucket.host,
            "is_secure": true,
            "port": 443,
            "bucket_name": bucket.name,
            "access_key": bucket.access_key,
            "secret_key": bucket.secret_key,
            "storage_path": "/datastorage/registry",
        }]},
    });
    match fields {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(yaml: &str) -> Bundle {
        let data = BTreeMap::from([("config.yaml".to_owned(), yaml.as_bytes().to_vec())]);
        Bundle::parse("b", data).unwrap()
    }

    fn all_managed() -> Components {
        Components::from_spec(&json!({"components": [
            {"kind": "quay", "managed": true},
            {"kind": "postgres", "managed": true},
            {"kind": "clairpostgres", "managed": true},
            {"kind": "redis", "managed": true},
            {"kind": "objectstorage", "managed": true},
        ]}))
    }

    const OWNER: Owner<'static> = Owner {
        name: "reg",
        namespace: "ns",
        uid: "u",
    };

    #[test]
    fn the_config_gets_the_generated_db_uri_and_the_bound_bucket() {
        let mut n = 0;
        let mut random = || {
            n += 1;
            format!("p{n}")
        };
        let unbound = Observed {
            databases_ready: true,
            ..Observed::default()
        };
        let first = prepare(
            &OWNER,
            &all_managed(),
            &bundle("SERVER_HOSTNAME: q.example\n"),
            &BTreeMap::new(),
            &unbound,
            &mut random,
        );
        let uri = first.bundle.db_uri().unwrap().to_owned();
        assert!(uri.starts_with("postgresql://reg-quay-database:"), "{uri}");
        assert_eq!(first.keys["DB_URI"], uri);
        assert!(
            first.defer_workloads,
            "an unbound claim holds the workloads"
        );
        assert!(first.bundle.storage_locations().is_empty());

        let bound = Observed {
            databases_ready: true,
            bucket: Some(Bucket {
                host: "s3.openshift-storage.svc.cluster.local".into(),
                name: "quay-datastore-1".into(),
                access_key: "a".into(),
                secret_key: "s".into(),
            }),
            ..Observed::default()
        };
        let second = prepare(
            &OWNER,
            &all_managed(),
            &bundle("SERVER_HOSTNAME: q.example\n"),
            &first.keys,
            &bound,
            &mut random,
        );
        assert_eq!(
            second.bundle.db_uri(),
            Some(uri.as_str()),
            "the password is kept"
        );
        assert!(!second.defer_workloads);
        let locations = second.bundle.storage_locations();
        assert_eq!(locations.len(), 1);
        assert_eq!(locations[0].driver, "RHOCSStorage");
        assert_eq!(locations[0].args["bucket_name"], "quay-datastore-1");
    }

    #[test]
    fn a_users_db_uri_is_neither_replaced_nor_kept() {
        let c = Components::from_spec(&json!({"components": [
            {"kind": "postgres", "managed": false}]}));
        let user = bundle("DB_URI: postgresql://u:p@db.example/quay\n");
        let out = prepare(
            &OWNER,
            &c,
            &user,
            &BTreeMap::new(),
            &Observed {
                databases_ready: true,
                ..Observed::default()
            },
            &mut || "x".to_owned(),
        );
        assert_eq!(
            out.bundle.db_uri(),
            Some("postgresql://u:p@db.example/quay")
        );
        assert!(!out.keys.contains_key("DB_URI"));
        assert!(out.objects.is_empty());
        assert!(!out.defer_workloads);
    }
}
