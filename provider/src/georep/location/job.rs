//! The backfill Job, made from the site's quay-app Deployment.
//!
//! Quay documents the tool as run inside a Quay pod (`python -m util.backfillreplication`).
//! A Job does that without a shell into a serving pod: the quay-app container's image (so the
//! tool's code matches the schema the site serves), its environment (the storage preference
//! and anything else the operator set), resources, volumes and mounts (the config bundle at
//! `/conf/stack`). The command runs the two init scripts the image's entrypoint runs before
//! its own migration mode (quay/quay `quay-entrypoint.sh`: `certs_install.sh` trusts
//! `extra_ca_certs`, `client_certs.sh` places the database's client certificate), then the
//! tool. Probes and ports are left out, and the pod carries none of the operator's labels, so
//! nothing counts it as a quay pod. `restartPolicy: Never` with `FallbackToLogsOnError`: each
//! attempt is a pod of its own whose termination message is the end of its log, so a
//! failure's traceback is readable from the Job's pods.

use serde_json::{Map, Value as Json, json};

use super::request::LocationRequest;
use crate::georep::site::{MANAGED_BY, MANAGED_BY_LABEL, SITE_LABEL};

/// The module of Quay's backfill tool, run with `python -m`.
pub const BACKFILL_MODULE: &str = "util.backfillreplication";

/// The label naming the location a backfill Job was made for.
pub const JOB_LOCATION_LABEL: &str = "quay-georep/location";

/// The annotation holding the config hash a backfill Job was made for.
pub const JOB_CONFIG_HASH_ANNOTATION: &str = "quay-georep/config-hash";

/// The shell line the Job's container runs (under `/bin/bash -c`).
pub const BACKFILL_SCRIPT: &str = "\"${QUAYPATH}/conf/init/certs_install.sh\" && \
    \"${QUAYPATH}/conf/init/client_certs.sh\" && exec python -m util.backfillreplication";

/// The operator's name for the Quay container of the quay-app Deployment.
const QUAY_CONTAINER: &str = "quay-app";

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
    let containers = pod["containers"].as_array();
    let container = containers
        .and_then(|c| c.iter().find(|c| c["name"] == QUAY_CONTAINER))
        .or_else(|| containers.and_then(|c| c.first()))
        .ok_or_else(|| JobError::NoContainer {
            deployment: quay_app_deployment(site.name()),
        })?;
    let mut backfill = Map::new();
    backfill.insert("name".to_owned(), json!("backfill"));
    backfill.insert(
        "command".to_owned(),
        json!(["/bin/bash", "-c", BACKFILL_SCRIPT]),
    );
    backfill.insert(
        "terminationMessagePolicy".to_owned(),
        json!("FallbackToLogsOnError"),
    );
    for key in [
        "image",
        "imagePullPolicy",
        "env",
        "envFrom",
        "volumeMounts",
        "securityContext",
        "resources",
    ] {
        if let Some(value) = container.get(key).filter(|v| !v.is_null()) {
            backfill.insert(key.to_owned(), value.clone());
        }
    }
    let mut spec = Map::new();
    spec.insert("restartPolicy".to_owned(), json!("Never"));
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
