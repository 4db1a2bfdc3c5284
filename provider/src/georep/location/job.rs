//! The Job that runs Quay's backfill tool (adding a location) or its removal tool (removing
//! one), made from the site's quay-app Deployment.
//!
//! Quay documents both tools as run inside a Quay pod (`python -m util.backfillreplication`,
//! `python -m util.removelocation <location>`).
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

use super::request::{Direction, LocationRequest};
use crate::georep::site::{MANAGED_BY, MANAGED_BY_LABEL, SITE_LABEL};

/// The module of Quay's backfill tool, run with `python -m`.
pub const BACKFILL_MODULE: &str = "util.backfillreplication";

/// The module of Quay's removal tool, run with `python -m` and the location's name.
pub const REMOVAL_MODULE: &str = "util.removelocation";

/// The label naming the location a Job was made for.
pub const JOB_LOCATION_LABEL: &str = "quay-georep/location";

/// The annotation holding the config hash a Job was made for.
pub const JOB_CONFIG_HASH_ANNOTATION: &str = "quay-georep/config-hash";

/// The environment variable holding the removed location's name in the removal Job.
pub const REMOVED_LOCATION_ENV: &str = "QUAY_GEOREP_LOCATION";

/// The environment variable holding [`ONLY_COPY_CHECK`] in the removal Job.
pub const ONLY_COPY_CHECK_ENV: &str = "QUAY_GEOREP_ONLY_COPY_CHECK";

/// Quay's environment variable of config keys laid over `config.yaml` (quay/quay `app.py`,
/// `OVERRIDE_CONFIG_KEY`: read after the config file, `app.config.update`).
pub const OVERRIDE_CONFIG_ENV: &str = "QUAY_OVERRIDE_CONFIG";

/// The shell line the backfill Job's container runs (under `/bin/bash -c`).
pub const BACKFILL_SCRIPT: &str = "\"${QUAYPATH}/conf/init/certs_install.sh\" && \
    \"${QUAYPATH}/conf/init/client_certs.sh\" && exec python -m util.backfillreplication";

/// The program the removal Job runs before Quay's tool, against Quay's own models: exit 3
/// when the location is not in the database (never written, or an earlier run removed it),
/// 1 with the count when some blobs placed there have no placement in a location the config
/// still has (a copy in another location being removed, or one no config names, is no copy),
/// 0 otherwise. Quay's tool checks neither: it deletes the placements of the location whatever
/// else holds the blobs, and fails on a missing location with exit code 0. `EXISTS`, not
/// `NOT IN`: PostgreSQL hashes a `NOT IN` list only while it fits in `work_mem`.
pub const ONLY_COPY_CHECK: &str = r#"import sys
from peewee import fn
from app import app
from data.database import ImageStorageLocation, ImageStoragePlacement
name = sys.argv[1]
location = ImageStorageLocation.get_or_none(ImageStorageLocation.name == name)
if location is None:
    print(f"storage location {name} is not in the shared database: nothing to remove")
    sys.exit(3)
kept = [n for n in app.config.get("DISTRIBUTED_STORAGE_CONFIG", {}) if n != name]
Other = ImageStoragePlacement.alias()
OtherLocation = ImageStorageLocation.alias()
elsewhere = (Other.select(Other.id)
    .join(OtherLocation, on=(Other.location == OtherLocation.id))
    .where((Other.storage == ImageStoragePlacement.storage) & OtherLocation.name.in_(kept)))
only = (ImageStoragePlacement.select()
    .where((ImageStoragePlacement.location == location) & ~fn.EXISTS(elsewhere))
    .count())
if only:
    print(f"blobs placed only in storage location {name}: {only}; nothing was deleted. "
          "Let replication copy them (or copy them), then apply again")
    sys.exit(1)
print(f"every blob in storage location {name} has a copy in a configured location")
"#;

/// The shell line the removal Job's container runs (under `/bin/bash -c`): the init scripts,
/// [`ONLY_COPY_CHECK`], then Quay's tool with its confirmation answered, its output streamed
/// to the log (one line per placement deleted) and kept in a file. The tool exits 0 even when
/// it fails (it prints "Error removing storage location" and returns), so success is its line
/// `Deleted location <name>`.
pub const REMOVAL_SCRIPT: &str = r#"set -o pipefail
"${QUAYPATH}/conf/init/certs_install.sh" && "${QUAYPATH}/conf/init/client_certs.sh" || exit 1
python -c "$QUAY_GEOREP_ONLY_COPY_CHECK" "$QUAY_GEOREP_LOCATION"; check=$?
if [ "$check" -eq 3 ]; then exit 0; fi
if [ "$check" -ne 0 ]; then exit "$check"; fi
echo y | python -m util.removelocation "$QUAY_GEOREP_LOCATION" 2>&1 | tee /tmp/removelocation.log || exit 1
grep -qxF "Deleted location $QUAY_GEOREP_LOCATION" /tmp/removelocation.log"#;

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

/// The Job for `request` (the backfill or the removal), in the namespace of its Job site,
/// made from that site's quay-app `deployment`.
///
/// The removal Job runs with pushes off (`DISABLE_PUSHES: true` in [`OVERRIDE_CONFIG_ENV`],
/// merged into any value the container has), for that process only: Quay's tool refuses to run
/// otherwise, so that no pod keeps writing to the location while its rows go, and the operation
/// has made sure of that before the Job exists (every site serves a config without the
/// location, so nothing writes or copies there, and no site prefers it). Not
/// `REGISTRY_STATE: readonly`, which the tool's guard accepts too: it also makes Quay's
/// database layer refuse every delete (quay/quay `data/database.py` `read_only_config`,
/// `data/readreplica.py` `ReadOnlyModeException`), so the tool would fail on its first one.
///
/// # Errors
/// [`JobError::NoContainer`].
pub fn location_job(request: &LocationRequest, deployment: &Json) -> Result<Json, JobError> {
    let site = request.job_site();
    let pod = &deployment["spec"]["template"]["spec"];
    let containers = pod["containers"].as_array();
    let container = containers
        .and_then(|c| c.iter().find(|c| c["name"] == QUAY_CONTAINER))
        .or_else(|| containers.and_then(|c| c.first()))
        .ok_or_else(|| JobError::NoContainer {
            deployment: quay_app_deployment(site.name()),
        })?;
    let mut tool = Map::new();
    let (name, script) = match request.direction() {
        Direction::Add => ("backfill", BACKFILL_SCRIPT),
        Direction::Remove => ("remove-location", REMOVAL_SCRIPT),
    };
    tool.insert("name".to_owned(), json!(name));
    tool.insert("command".to_owned(), json!(["/bin/bash", "-c", script]));
    tool.insert(
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
            tool.insert(key.to_owned(), value.clone());
        }
    }
    if request.direction() == Direction::Remove {
        tool.insert("env".to_owned(), removal_env(request, container));
    }
    let mut spec = Map::new();
    spec.insert("restartPolicy".to_owned(), json!("Never"));
    spec.insert("containers".to_owned(), json!([tool]));
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

/// The container's environment with the removal's variables set (replacing any of the same
/// names) and pushes off in [`OVERRIDE_CONFIG_ENV`].
fn removal_env(request: &LocationRequest, container: &Json) -> Json {
    let mut env: Vec<Json> = container["env"].as_array().cloned().unwrap_or_default();
    let mut overrides = env
        .iter()
        .find(|var| var["name"] == OVERRIDE_CONFIG_ENV)
        .and_then(|var| var["value"].as_str())
        .and_then(|value| serde_json::from_str::<Map<String, Json>>(value).ok())
        .unwrap_or_default();
    overrides.insert("DISABLE_PUSHES".to_owned(), json!(true));
    env.retain(|var| {
        ![
            OVERRIDE_CONFIG_ENV,
            REMOVED_LOCATION_ENV,
            ONLY_COPY_CHECK_ENV,
        ]
        .iter()
        .any(|name| var["name"] == *name)
    });
    env.push(json!({"name": REMOVED_LOCATION_ENV, "value": request.location()}));
    env.push(json!({"name": ONLY_COPY_CHECK_ENV, "value": ONLY_COPY_CHECK}));
    env.push(json!({"name": OVERRIDE_CONFIG_ENV, "value": Json::Object(overrides).to_string()}));
    Json::Array(env)
}
