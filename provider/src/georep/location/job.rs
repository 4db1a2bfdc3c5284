//! The backfill Job, made from the site's quay-app Deployment.
//!
//! Quay documents the tool as run inside a Quay pod (`python -m util.backfillreplication`).
//! A Job does that without a shell into a serving pod: the quay-app container's image (so the
//! tool's code matches the schema the site serves), its environment (the storage preference
//! and anything else the operator set) and its volumes and mounts (the config bundle at
//! `/conf/stack`), with only the command replaced. The probes, ports and resources of a
//! server are left out, and the pod carries none of the operator's labels, so nothing counts
//! it as a quay pod.

use serde_json::{Map, Value as Json, json};

use super::request::LocationRequest;
use crate::georep::site::{MANAGED_BY, MANAGED_BY_LABEL, SITE_LABEL};

/// The module of Quay's backfill tool, run with `python -m`.
pub const BACKFILL_MODULE: &str = "util.backfillreplication";

/// The label naming the location a backfill Job was made for.
pub const JOB_LOCATION_LABEL: &str = "quay-georep/location";

/// The annotation holding the config hash a backfill Job was made for.
pub const JOB_CONFIG_HASH_ANNOTATION: &str = "quay-georep/config-hash";

/// How often Kubernetes retries the tool before the Job fails.
pub const BACKOFF_LIMIT: u32 = 3;

/// Why the Job could not be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// The site has no quay-app Deployment (yet).
    #[error("Deployment {deployment} does not exist: the site has not rolled out Quay")]
    NoDeployment {
        /// The Deployment.
        deployment: String,
    },
    /// The Deployment has no container.
    #[error("Deployment {deployment} has no container to take the Quay image and config from")]
    NoContainer {
        /// The Deployment.
        deployment: String,
    },
}

/// The name of the site's quay-app Deployment: `<registry>-quay-app`.
#[must_use]
pub fn quay_app_deployment(registry: &str) -> String {
    format!("{registry}-quay-app")
}

/// The backfill Job for `request`, in the namespace of its backfill site, made from that
/// site's quay-app `deployment`.
///
/// # Errors
/// [`JobError::NoContainer`].
pub fn backfill_job(request: &LocationRequest, deployment: &Json) -> Result<Json, JobError> {
    let site = request.backfill_site();
    let pod = &deployment["spec"]["template"]["spec"];
    let container = pod["containers"]
        .as_array()
        .and_then(|c| c.first())
        .ok_or_else(|| JobError::NoContainer {
            deployment: quay_app_deployment(site.name()),
        })?;
    let mut backfill = Map::new();
    backfill.insert("name".to_owned(), json!("backfill"));
    backfill.insert(
        "command".to_owned(),
        json!(["python", "-m", BACKFILL_MODULE]),
    );
    for key in [
        "image",
        "imagePullPolicy",
        "env",
        "envFrom",
        "volumeMounts",
        "securityContext",
    ] {
        if let Some(value) = container.get(key).filter(|v| !v.is_null()) {
            backfill.insert(key.to_owned(), value.clone());
        }
    }
    let mut spec = Map::new();
    spec.insert("restartPolicy".to_owned(), json!("OnFailure"));
    spec.insert("containers".to_owned(), json!([backfill]));
    for key in [
        "volumes",
        "serviceAccountName",
        "securityContext",
        "imagePullSecrets",
        "nodeSelector",
        "tolerations",
    ] {
        if let Some(value) = pod.get(key).filter(|v| !v.is_null()) {
            spec.insert(key.to_owned(), value.clone());
        }
    }
    let labels = json!({
        MANAGED_BY_LABEL: MANAGED_BY,
        SITE_LABEL: site.name(),
        JOB_LOCATION_LABEL: request.location(),
    });
    Ok(json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": request.job_name(),
            "namespace": site.namespace(),
            "labels": labels,
            "annotations": { JOB_CONFIG_HASH_ANNOTATION: request.config_hash() },
        },
        "spec": {
            "backoffLimit": BACKOFF_LIMIT,
            "template": {
                "metadata": { "labels": labels },
                "spec": spec,
            },
        },
    }))
}
