//! What the registry controller reads of the managed backing components, and the
//! conditions the operator's status reconciler reports for them.
//!
//! | condition | healthy when | upstream |
//! |---|---|---|
//! | `ComponentPostgresReady`, `ComponentClairPostgresReady` | the registry's Deployment `<n>-quay-database` / `<n>-clair-postgres` exists, is owned by it, its PVC is not `Pending` (else `PVCPending`, or `PVCProvisioningFailed` quoting the provisioner's Event) and it has an available replica | `pkg/cmpstatus/quaypostgres.go`, `clairpostgres.go`, `database_status.go`, `deploy.go` |
//! | `ComponentRedisReady` | Deployment `<n>-quay-redis` exists, is owned, has an available replica | `pkg/cmpstatus/redis.go` |
//! | `ComponentObjectStorageReady` | an ObjectBucketClaim owned by the registry is `Bound` | `pkg/cmpstatus/objectstorage.go` |
//!
//! The workloads wait for them: quay-app, mirror, Clair and the migration Job are created only
//! once every managed database Deployment has an available replica and a managed bucket's
//! claim has its Secret and ConfigMap (`controllers/quay/features.go`
//! `checkManagedDatabaseReady`, `checkObjectBucketClaimsAvailable`). One difference: a
//! Deployment with available replicas counts as available; the model writes no Deployment
//! `Available` condition for `deploy.go` to read.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Event, PersistentVolumeClaim, Secret};
use kube::ResourceExt as _;
use kube::api::{Api, ListParams};

use super::super::components::{ComponentKind, Components};
use super::super::conditions::Condition;
use super::objects::{CLAIR_DATABASE, DATASTORE_SUFFIX, Database, QUAY_DATABASE, REDIS_SUFFIX};
use crate::quay::dynamic_api;

/// A component Deployment as the status check sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeploymentSeen {
    /// Not found.
    Missing,
    /// Found, owned by someone else.
    NotOwned,
    /// Found and owned.
    Owned {
        /// `status.availableReplicas`.
        available: i32,
        /// The PVC its pod template mounts, if any.
        claim: Option<String>,
    },
}

/// A database PVC as the status check sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimSeen {
    /// Not found.
    Missing,
    /// `Pending`, with the message of a `ProvisioningFailed` Event about it if there is one.
    Pending(Option<String>),
    /// Any other phase.
    NotPending,
}

/// A managed bucket's claim and what its provisioner wrote.
#[derive(Clone, PartialEq, Eq)]
pub struct Bucket {
    /// `BUCKET_HOST` (`.svc` written out as `.svc.cluster.local`).
    pub host: String,
    /// `BUCKET_NAME`.
    pub name: String,
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key: String,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_key: String,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket")
            .field("host", &self.host)
            .field("name", &self.name)
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

fn condition(kind: ComponentKind, ready: bool, reason: &'static str, message: String) -> Condition {
    Condition {
        type_: kind.condition_type(),
        status: ready,
        reason,
        message,
    }
}

fn deploy_check(kind: ComponentKind, name: &str, available: i32) -> Condition {
    if available == 0 {
        condition(
            kind,
            false,
            "ComponentNotReady",
            format!("Deployment {name} has zero replicas available"),
        )
    } else {
        condition(
            kind,
            true,
            "ComponentReady",
            format!("Deployment {name} healthy"),
        )
    }
}

/// `CheckDatabaseDeploymentAndPVCStatus` for database `db` of registry `registry`.
#[must_use]
pub fn database_condition(
    db: Database,
    registry: &str,
    deployment: &DeploymentSeen,
    claim: &ClaimSeen,
) -> Condition {
    let component = match db.kind {
        ComponentKind::ClairPostgres => "ClairPostgres",
        _ => "Postgres",
    };
    let name = format!("{registry}-{}", db.suffix);
    let not_ready = |message: String| condition(db.kind, false, "ComponentNotReady", message);
    match deployment {
        DeploymentSeen::Missing => not_ready(format!("{component} deployment {name} not found")),
        DeploymentSeen::NotOwned => not_ready(format!(
            "{component} deployment {name} not owned by QuayRegistry"
        )),
        DeploymentSeen::Owned {
            available,
            claim: None,
        } => deploy_check(db.kind, &name, *available),
        DeploymentSeen::Owned {
            available,
            claim: Some(pvc),
        } => match claim {
            ClaimSeen::Missing => not_ready(format!("PersistentVolumeClaim {pvc} not found")),
            ClaimSeen::Pending(Some(event)) => condition(
                db.kind,
                false,
                "PVCProvisioningFailed",
                format!("{component} PVC {pvc} provisioning failed: {event}"),
            ),
            ClaimSeen::Pending(None) => condition(
                db.kind,
                false,
                "PVCPending",
                format!("{component} PersistentVolumeClaim {pvc} is pending"),
            ),
            ClaimSeen::NotPending => deploy_check(db.kind, &name, *available),
        },
    }
}

/// `pkg/cmpstatus/redis.go`.
#[must_use]
pub fn redis_condition(registry: &str, deployment: &DeploymentSeen) -> Condition {
    let kind = ComponentKind::Redis;
    match deployment {
        DeploymentSeen::Missing => condition(
            kind,
            false,
            "ComponentNotReady",
            "Redis deployment not found".to_owned(),
        ),
        DeploymentSeen::NotOwned => condition(
            kind,
            false,
            "ComponentNotReady",
            "Redis deployment not owned by QuayRegistry".to_owned(),
        ),
        DeploymentSeen::Owned { available, .. } => {
            deploy_check(kind, &format!("{registry}-{REDIS_SUFFIX}"), *available)
        }
    }
}

/// `pkg/cmpstatus/objectstorage.go`: `phase` of the registry's claim, `None` when it owns
/// none.
#[must_use]
pub fn objectstorage_condition(phase: Option<&str>) -> Condition {
    let kind = ComponentKind::ObjectStorage;
    match phase {
        None => condition(
            kind,
            false,
            "ComponentNotReady",
            "Unable to locate object bucket claim".to_owned(),
        ),
        Some("Bound") => condition(
            kind,
            true,
            "ComponentReady",
            "Object bucket claim bound".to_owned(),
        ),
        Some(_) => condition(
            kind,
            false,
            "ComponentNotReady",
            "Object bucket claim not bound".to_owned(),
        ),
    }
}

/// What the registry controller observed of the managed backing components.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Their conditions (managed kinds only).
    pub conditions: Vec<Condition>,
    /// Every managed database Deployment has an available replica.
    pub databases_ready: bool,
    /// The bound bucket of a managed `objectstorage` (its Secret and ConfigMap exist).
    pub bucket: Option<Bucket>,
}

impl Observed {
    /// Whether the workloads wait: a managed database not available, or a managed bucket
    /// not ready.
    #[must_use]
    pub fn defers_workloads(&self, components: &Components) -> bool {
        !self.databases_ready
            || (components.is_managed(ComponentKind::ObjectStorage) && self.bucket.is_none())
    }
}

/// The registry `name` in `namespace`, identified by `uid`.
#[derive(Debug, Clone, Copy)]
pub struct Registry<'a> {
    /// Name.
    pub name: &'a str,
    /// Namespace.
    pub namespace: &'a str,
    /// Uid.
    pub uid: &'a str,
}

async fn deployment_seen(
    client: &kube::Client,
    reg: Registry<'_>,
    suffix: &str,
) -> Result<DeploymentSeen, kube::Error> {
    let api: Api<Deployment> = Api::namespaced(client.clone(), reg.namespace);
    let Some(d) = api.get_opt(&format!("{}-{suffix}", reg.name)).await? else {
        return Ok(DeploymentSeen::Missing);
    };
    if !d.owner_references().iter().any(|o| o.uid == reg.uid) {
        return Ok(DeploymentSeen::NotOwned);
    }
    let claim = d
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|s| s.volumes.as_ref())
        .and_then(|v| v.iter().find_map(|v| v.persistent_volume_claim.as_ref()))
        .map(|c| c.claim_name.clone());
    Ok(DeploymentSeen::Owned {
        available: d.status.and_then(|s| s.available_replicas).unwrap_or(0),
        claim,
    })
}

async fn claim_seen(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<ClaimSeen, kube::Error> {
    let api: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    let Some(pvc) = api.get_opt(name).await? else {
        return Ok(ClaimSeen::Missing);
    };
    let phase = pvc.status.as_ref().and_then(|s| s.phase.clone());
    // A claim no controller has looked at yet has no phase; Kubernetes reports it Pending.
    if phase.as_deref().is_some_and(|p| p != "Pending") {
        return Ok(ClaimSeen::NotPending);
    }
    let uid = pvc.uid().unwrap_or_default();
    let events: Api<Event> = Api::namespaced(client.clone(), namespace);
    let failed = events
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|e| e.involved_object.uid.as_deref() == Some(uid.as_str()))
        .find(|e| e.reason.as_deref() == Some("ProvisioningFailed"))
        .and_then(|e| e.message);
    Ok(ClaimSeen::Pending(failed))
}

/// Reads the managed backing components of `reg` and computes their conditions.
///
/// # Errors
/// An API call failed (listing ObjectBucketClaims fails where the API is not served).
pub async fn observe(
    client: &kube::Client,
    reg: Registry<'_>,
    components: &Components,
) -> Result<Observed, kube::Error> {
    let mut out = Observed {
        databases_ready: true,
        ..Observed::default()
    };
    for db in [QUAY_DATABASE, CLAIR_DATABASE] {
        if !components.is_managed(db.kind) {
            continue;
        }
        let deployment = deployment_seen(client, reg, db.suffix).await?;
        let claim = match &deployment {
            DeploymentSeen::Owned {
                claim: Some(pvc), ..
            } => claim_seen(client, reg.namespace, pvc).await?,
            _ => ClaimSeen::NotPending,
        };
        out.databases_ready &=
            matches!(deployment, DeploymentSeen::Owned { available, .. } if available > 0);
        out.conditions
            .push(database_condition(db, reg.name, &deployment, &claim));
    }
    if components.is_managed(ComponentKind::Redis) {
        let deployment = deployment_seen(client, reg, REDIS_SUFFIX).await?;
        out.conditions.push(redis_condition(reg.name, &deployment));
    }
    if components.is_managed(ComponentKind::ObjectStorage) {
        let claims = dynamic_api(
            client,
            reg.namespace,
            "objectbucket.io/v1alpha1",
            "ObjectBucketClaim",
        )
        .list(&ListParams::default())
        .await?;
        let owned = claims
            .items
            .iter()
            .find(|c| c.owner_references().iter().any(|o| o.uid == reg.uid));
        let phase = owned.map(|c| c.data["status"]["phase"].as_str().unwrap_or_default());
        out.conditions.push(objectstorage_condition(phase));
        let name = format!("{}-{DATASTORE_SUFFIX}", reg.name);
        if claims.items.iter().any(|c| c.name_any() == name) {
            out.bucket = bucket(client, reg.namespace, &name).await?;
        }
    }
    Ok(out)
}

/// The bucket lib-bucket-provisioner wrote for claim `name`: its Secret and ConfigMap of the
/// same name (`checkObjectBucketClaimsAvailable`).
async fn bucket(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<Option<Bucket>, kube::Error> {
    let Some(secret) = Api::<Secret>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await?
    else {
        return Ok(None);
    };
    let Some(config) = Api::<ConfigMap>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await?
    else {
        return Ok(None);
    };
    let data = config.data.unwrap_or_default();
    let secret_value = |key: &str| {
        secret
            .data
            .as_ref()
            .and_then(|d| d.get(key))
            .map(|v| String::from_utf8_lossy(&v.0).into_owned())
            .unwrap_or_default()
    };
    let mut host = data.get("BUCKET_HOST").cloned().unwrap_or_default();
    if host.contains(".svc") && !host.contains(".svc.cluster.local") {
        host = host.replace(".svc", ".svc.cluster.local");
    }
    Ok(Some(Bucket {
        host,
        name: data.get("BUCKET_NAME").cloned().unwrap_or_default(),
        access_key: secret_value("AWS_ACCESS_KEY_ID"),
        secret_key: secret_value("AWS_SECRET_ACCESS_KEY"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_is_healthy_only_with_its_claim_bound_and_a_replica_available() {
        let owned = |available| DeploymentSeen::Owned {
            available,
            claim: Some("r-quay-postgres-13".into()),
        };
        let ready = database_condition(QUAY_DATABASE, "r", &owned(1), &ClaimSeen::NotPending);
        assert_eq!((ready.status, ready.reason), (true, "ComponentReady"));
        assert_eq!(ready.type_, "ComponentPostgresReady");
        let pending = database_condition(QUAY_DATABASE, "r", &owned(0), &ClaimSeen::Pending(None));
        assert_eq!(
            (pending.status, pending.reason, pending.message.as_str()),
            (
                false,
                "PVCPending",
                "Postgres PersistentVolumeClaim r-quay-postgres-13 is pending"
            )
        );
        let failed = database_condition(
            CLAIR_DATABASE,
            "r",
            &owned(0),
            &ClaimSeen::Pending(Some("storageclass.storage.k8s.io \"x\" not found".into())),
        );
        assert_eq!(failed.reason, "PVCProvisioningFailed");
        assert!(
            failed
                .message
                .starts_with("ClairPostgres PVC r-quay-postgres-13 provisioning failed")
        );
        let unavailable = database_condition(QUAY_DATABASE, "r", &owned(0), &ClaimSeen::NotPending);
        assert_eq!(
            (unavailable.reason, unavailable.message.as_str()),
            (
                "ComponentNotReady",
                "Deployment r-quay-database has zero replicas available"
            )
        );
        let missing = database_condition(
            CLAIR_DATABASE,
            "r",
            &DeploymentSeen::Missing,
            &ClaimSeen::Missing,
        );
        assert_eq!(
            missing.message,
            "ClairPostgres deployment r-clair-postgres not found"
        );
    }

    #[test]
    fn redis_and_object_storage_follow_their_deployment_and_claim() {
        let c = redis_condition(
            "r",
            &DeploymentSeen::Owned {
                available: 1,
                claim: None,
            },
        );
        assert_eq!(
            (c.status, c.message.as_str()),
            (true, "Deployment r-quay-redis healthy")
        );
        assert!(!redis_condition("r", &DeploymentSeen::NotOwned).status);
        assert_eq!(
            objectstorage_condition(None).message,
            "Unable to locate object bucket claim"
        );
        assert!(!objectstorage_condition(Some("Pending")).status);
        assert!(objectstorage_condition(Some("Bound")).status);
    }

    #[test]
    fn workloads_wait_for_the_databases_and_a_managed_bucket() {
        let c = Components::from_spec(&serde_json::json!({"components": [
            {"kind": "objectstorage", "managed": true}]}));
        let mut seen = Observed {
            databases_ready: true,
            ..Observed::default()
        };
        assert!(seen.defers_workloads(&c));
        seen.bucket = Some(Bucket {
            host: "h".into(),
            name: "b".into(),
            access_key: "a".into(),
            secret_key: "s".into(),
        });
        assert!(!seen.defers_workloads(&c));
        seen.databases_ready = false;
        assert!(seen.defers_workloads(&c));
    }
}
