//! NooBaa's object bucket claims on a simulated OpenShift: the `objectbucket.io/v1alpha1`
//! `ObjectBucketClaim` API ([`install`], what installing OpenShift Data Foundation adds) and
//! the lib-bucket-provisioner that binds claims ([`run`]) with a bucket on the site's S3
//! server.
//!
//! A claim of the StorageClass [`STORAGE_CLASS`] (provisioner [`PROVISIONER`]) gets a bucket
//! `<generateBucketName>-<claim uid>` (or its `bucketName`), created on the S3 server; then a
//! Secret and a ConfigMap of the claim's name, owned by it, as lib-bucket-provisioner writes
//! them (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`; `BUCKET_HOST`
//! `s3.openshift-storage.svc`, `BUCKET_NAME`, `BUCKET_PORT` 443, `BUCKET_REGION`,
//! `BUCKET_SUBREGION`), `spec.bucketName`, `spec.objectBucketName` and `status.phase: Bound`.
//! Claims of other classes are left alone, as a provisioner leaves claims that are not its
//! own. The operator's side (`controllers/quay/features.go`
//! `checkObjectBucketClaimsAvailable`) reads that Secret and ConfigMap.
//!
//! Not modelled: the `ObjectBucket` objects, per-claim accounts (every claim gets the site's
//! keys), deleting the bucket with its claim, and TLS (the S3 server behind
//! `s3.openshift-storage.svc:443` speaks HTTP; see [`super::dns`]).

use std::sync::Arc;
use std::time::Duration;

use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, ResourceExt as _};
use serde_json::{Value, json};

use super::super::context::Context;
use super::dns::Endpoint;
use crate::quay::{api_resource, dynamic_api};
use crate::services::s3::S3Site;
use crate::services::s3_client::{S3Client, S3Error};

/// The claims' StorageClass the operator names.
pub const STORAGE_CLASS: &str = "openshift-storage.noobaa.io";
/// Its provisioner.
pub const PROVISIONER: &str = "openshift-storage.noobaa.io/obc";
/// NooBaa's namespace.
pub const NAMESPACE: &str = "openshift-storage";
/// NooBaa's S3 Service, as the ConfigMaps name it.
pub const S3_SERVICE: &str = "s3.openshift-storage.svc";

/// Why installing the API or binding a claim failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An API call failed.
    #[error("{action}")]
    Api {
        /// What was being done.
        action: String,
        /// Why.
        #[source]
        source: kube::Error,
    },
    /// Creating the bucket failed.
    #[error("create bucket {bucket}")]
    Bucket {
        /// The bucket.
        bucket: String,
        /// Why (it names the endpoint).
        #[source]
        source: Box<S3Error>,
    },
}

fn api(action: &str) -> impl FnOnce(kube::Error) -> Error + '_ {
    move |source| Error::Api {
        action: action.to_owned(),
        source,
    }
}

async fn create_if_absent(
    client: &Client,
    namespace: Option<&str>,
    object: Value,
) -> Result<(), Error> {
    let api_version = object["apiVersion"].as_str().unwrap_or_default().to_owned();
    let kind = object["kind"].as_str().unwrap_or_default().to_owned();
    let ar = match kind.as_str() {
        "CustomResourceDefinition" => kube::core::ApiResource::from_gvk_with_plural(
            &kube::core::GroupVersionKind::gvk("apiextensions.k8s.io", "v1", &kind),
            "customresourcedefinitions",
        ),
        "StorageClass" => kube::core::ApiResource::from_gvk_with_plural(
            &kube::core::GroupVersionKind::gvk("storage.k8s.io", "v1", &kind),
            "storageclasses",
        ),
        _ => api_resource(&api_version, &kind),
    };
    let objects: Api<DynamicObject> = match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    };
    let object: DynamicObject =
        serde_json::from_value(object).expect("the objects written here are valid");
    match objects.create(&PostParams::default(), &object).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(api(&format!("create {kind} {}", object.name_any()))(e)),
    }
}

/// Installs what OpenShift Data Foundation adds that the operator uses: the
/// ObjectBucketClaim CRD, the `openshift-storage` namespace and the [`STORAGE_CLASS`].
///
/// # Errors
/// [`Error::Api`] when a create fails (existing objects are left as they are).
pub async fn install(client: &Client) -> Result<(), Error> {
    let open = json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true});
    create_if_absent(
        client,
        None,
        json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "objectbucketclaims.objectbucket.io"},
            "spec": {
                "group": "objectbucket.io",
                "scope": "Namespaced",
                "names": {"plural": "objectbucketclaims", "singular": "objectbucketclaim",
                          "kind": "ObjectBucketClaim", "listKind": "ObjectBucketClaimList",
                          "shortNames": ["obc", "obcs"]},
                "versions": [{
                    "name": "v1alpha1", "served": true, "storage": true,
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                        "spec": open, "status": open}}},
                }],
            },
        }),
    )
    .await?;
    create_if_absent(
        client,
        None,
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}),
    )
    .await?;
    create_if_absent(
        client,
        None,
        json!({
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": STORAGE_CLASS},
            "provisioner": PROVISIONER,
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "Immediate",
        }),
    )
    .await
}

struct Provisioner {
    ctx: Arc<Context>,
    s3: S3Site,
}

/// Runs the provisioner against `s3` until the task is aborted; NooBaa's S3 Service
/// resolves to it from now on.
pub async fn run(ctx: Arc<Context>, s3: S3Site) {
    let Some(backing) = ctx.opts.backing.as_ref() else {
        return;
    };
    backing.dns.register(
        S3_SERVICE,
        NAMESPACE,
        443,
        Endpoint {
            host: "127.0.0.1".to_owned(),
            port: s3.port(),
            password: None,
            plain_http: true,
        },
        "noobaa-endpoint",
    );
    let ar = api_resource("objectbucket.io/v1alpha1", "ObjectBucketClaim");
    // The API may be installed after the model starts: wait for it.
    let claims: Api<DynamicObject> = Api::all_with(ctx.client.clone(), &ar);
    while claims
        .list(&kube::api::ListParams::default().limit(1))
        .await
        .is_err()
    {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let provisioner = Arc::new(Provisioner {
        ctx: Arc::clone(&ctx),
        s3,
    });
    let controller = Controller::new_with(claims, watcher::Config::default(), ar).run(
        reconcile,
        |_, _, _| Action::requeue(Duration::from_millis(500)),
        provisioner,
    );
    ctx.reconciles.drive("ObjectBucketClaim", controller).await;
}

async fn reconcile(claim: Arc<DynamicObject>, p: Arc<Provisioner>) -> Result<Action, Error> {
    if claim.data["status"]["phase"] == "Bound" {
        return Ok(Action::await_change());
    }
    let client = &p.ctx.client;
    let class = claim.data["spec"]["storageClassName"]
        .as_str()
        .unwrap_or_default();
    let classes: Api<k8s_openapi::api::storage::v1::StorageClass> = Api::all(client.clone());
    let ours = classes
        .get_opt(class)
        .await
        .map_err(api("read the claim's storage class"))?
        .is_some_and(|c| c.provisioner == PROVISIONER);
    if !ours {
        return Ok(Action::await_change());
    }
    let ns = claim.namespace().unwrap_or_default();
    let name = claim.name_any();
    let uid = claim.uid().unwrap_or_default();
    let bucket = claim.data["spec"]["bucketName"]
        .as_str()
        .filter(|b| !b.is_empty())
        .map_or_else(
            || {
                let prefix = claim.data["spec"]["generateBucketName"]
                    .as_str()
                    .unwrap_or("bucket");
                // lib-bucket-provisioner appends a new UUID; the claim's uid is one.
                format!("{prefix}-{uid}")
            },
            str::to_owned,
        );
    let keys = p.s3.keys();
    let created = match S3Client::new(&p.s3.endpoint, &p.s3.region, &keys) {
        Ok(s3) => s3.create_bucket(&bucket).await,
        Err(e) => Err(e),
    };
    created.map_err(|source| Error::Bucket {
        bucket: bucket.clone(),
        source: Box::new(source),
    })?;
    let owner = json!([{
        "apiVersion": "objectbucket.io/v1alpha1", "kind": "ObjectBucketClaim",
        "name": name, "uid": uid, "controller": true, "blockOwnerDeletion": true,
    }]);
    let encode = |v: &str| super::super::render::base64_encode(v.as_bytes());
    create_if_absent(
        client,
        Some(&ns),
        json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": ns, "ownerReferences": owner},
            "data": {
                "AWS_ACCESS_KEY_ID": encode(&keys.access_key),
                "AWS_SECRET_ACCESS_KEY": encode(keys.secret_key.expose()),
            },
        }),
    )
    .await?;
    create_if_absent(
        client,
        Some(&ns),
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns, "ownerReferences": owner},
            "data": {
                "BUCKET_HOST": S3_SERVICE,
                "BUCKET_NAME": bucket,
                "BUCKET_PORT": "443",
                "BUCKET_REGION": "",
                "BUCKET_SUBREGION": "",
            },
        }),
    )
    .await?;
    let api = dynamic_api(client, &ns, "objectbucket.io/v1alpha1", "ObjectBucketClaim");
    let spec =
        json!({"spec": {"bucketName": bucket, "objectBucketName": format!("obc-{ns}-{name}")}});
    api.patch(&name, &PatchParams::default(), &Patch::Merge(spec))
        .await
        .map_err(api_err("write the claim's bucket"))?;
    api.patch_status(
        &name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"phase": "Bound"}})),
    )
    .await
    .map_err(api_err("bind the claim"))?;
    Ok(Action::await_change())
}

fn api_err(action: &'static str) -> impl FnOnce(kube::Error) -> Error {
    move |source| Error::Api {
        action: action.to_owned(),
        source,
    }
}
