//! Import: the [`SiteInput`] of a live site, rebuilt from its `QuayRegistry` and its config
//! bundle Secret, so `terraform import quay_georep_site.x us_east/quay-enterprise/registry`
//! adopts a site that was installed by hand or by another tool.
//!
//! The input comes from the `QuayRegistry` (replicas, managed flags, the storage preference
//! env for `location`, other env) and its config bundle Secret (`config.yaml`,
//! `clair-config.yaml` for the Clair database, `ssl.cert`/`ssl.key`, and every other key as
//! `config_files`). What every site has is
//! always said, as the examples write it: the `quay` block with its replicas, and the `clair`
//! block with `enabled` (and the database when Clair runs). The optional settings (`name`,
//! `mirror`, Clair's replicas, `route`, `tls`, `monitoring`, `env`) are set only where the live
//! value differs from the default, so a configuration that leaves them out imports without a
//! diff: importing what [`Site::objects`](super::Site::objects) rendered gives back the input
//! it was rendered from (a property test in `tests.rs`). `create_namespace` stays unset:
//! destroying an imported site never deletes its namespace.
//!
//! Pure: the resource reads the two objects and hands them over.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::Value as Json;

use super::input::{ClairInput, MirrorInput, QuayInput, RouteInput, SiteInput, TlsInput};
use super::pods::PodAttributes;
use super::render::PREFERENCE_ENV;
use super::status::RegistryStatus;
use super::validate::{
    DEFAULT_CLAIR_REPLICAS, DEFAULT_MIRROR_REPLICAS, DEFAULT_NAME, DEFAULT_QUAY_REPLICAS,
};
use crate::georep::secret::Secret;

/// Why a live site cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The bundle Secret has no `config.yaml` that decodes to text.
    #[error("Secret {namespace}/{name} has no readable config.yaml key")]
    NoConfigYaml {
        /// The Secret's namespace.
        namespace: String,
        /// The Secret's name.
        name: String,
    },
}

/// The input of the live site `registry` (a `QuayRegistry`) on the cluster labelled
/// `cluster`, whose config bundle Secret (the one `spec.configBundleSecret` names) is `bundle`.
///
/// # Errors
///
/// [`ImportError::NoConfigYaml`] when the bundle holds no readable `config.yaml`.
pub fn import_site(
    cluster: &str,
    registry: &Json,
    bundle: &Json,
) -> Result<SiteInput, ImportError> {
    let text = |value: &Json| value.as_str().unwrap_or_default().to_owned();
    let namespace = text(&registry["metadata"]["namespace"]);
    let name = text(&registry["metadata"]["name"]);
    let config_yaml = decoded(bundle, "config.yaml").ok_or_else(|| ImportError::NoConfigYaml {
        namespace: namespace.clone(),
        name: text(&registry["spec"]["configBundleSecret"]),
    })?;
    let status = RegistryStatus::read(registry);
    let managed = |kind: &str| status.component(kind).and_then(|c| c.managed);
    let replicas = |kind: &str, default: u16| {
        status
            .component(kind)
            .and_then(|c| c.replicas)
            .filter(|r| *r != i64::from(default))
    };
    let quay_env = status
        .component("quay")
        .map(|c| c.env.clone())
        .unwrap_or_default();
    let location = quay_env
        .iter()
        .find(|(k, _)| k == PREFERENCE_ENV)
        .and_then(|(_, v)| v.split_whitespace().next())
        .unwrap_or_default()
        .to_owned();
    let env: BTreeMap<String, String> = quay_env
        .into_iter()
        .filter(|(k, _)| k != PREFERENCE_ENV)
        .collect();

    // Without an override the operator's own default runs; the first apply sets ours.
    let quay_replicas = status
        .component("quay")
        .and_then(|c| c.replicas)
        .unwrap_or(i64::from(DEFAULT_QUAY_REPLICAS));
    let mirror_enabled = managed("mirror").unwrap_or(true);
    let mirror_replicas = replicas("mirror", DEFAULT_MIRROR_REPLICAS);
    let pods = |kind: &str| pod_attributes(&status, kind);
    let clair = if managed("clair").unwrap_or(false) {
        let database_uri = decoded(bundle, "clair-config.yaml")
            .and_then(|yaml| serde_saphyr::from_str::<Json>(&yaml).ok())
            .and_then(|c| c["indexer"]["connstring"].as_str().map(Secret::new));
        let pods = pods("clair");
        ClairInput {
            database_uri,
            replicas: replicas("clair", DEFAULT_CLAIR_REPLICAS),
            enabled: Some(true),
            requests: pods.requests,
            limits: pods.limits,
            affinity: pods.affinity,
            labels: pods.labels,
            annotations: pods.annotations,
            volume_size: pods.volume_size,
            storage_class_name: pods.storage_class_name,
        }
    } else {
        ClairInput {
            enabled: Some(false),
            ..ClairInput::default()
        }
    };
    let tls = decoded(bundle, "ssl.cert")
        .zip(decoded(bundle, "ssl.key"))
        .map(|(certificate, private_key)| TlsInput {
            certificate: Some(certificate),
            private_key: Some(Secret::new(private_key)),
        });
    let config_files: BTreeMap<String, Secret> = bundle["data"]
        .as_object()
        .into_iter()
        .flat_map(|data| data.keys())
        .filter(|key| !IMPORT_OWN_KEYS.contains(&key.as_str()))
        .filter_map(|key| Some((key.clone(), Secret::new(decoded(bundle, key)?))))
        .collect();
    Ok(SiteInput {
        config_files: (!config_files.is_empty()).then_some(config_files),
        cluster: Some(cluster.to_owned()),
        namespace: Some(namespace),
        name: (name != DEFAULT_NAME).then_some(name),
        config_yaml: Some(Secret::new(config_yaml)),
        location: Some(location),
        env: (!env.is_empty()).then_some(env.into()),
        quay: Some(quay_input(quay_replicas, pods("quay"))),
        mirror: mirror_input(mirror_enabled, mirror_replicas, pods("mirror")),
        clair: Some(clair),
        route: {
            let pods = pods("route");
            let unmanaged = managed("route") == Some(false);
            (unmanaged || pods != PodAttributes::default()).then(|| RouteInput {
                managed: unmanaged.then_some(false),
                labels: pods.labels,
                annotations: pods.annotations,
            })
        },
        tls,
        monitoring: (managed("monitoring") == Some(true)).then_some(true),
        ..SiteInput::default()
    })
}

/// The pod overrides of component `kind` as attributes (none when it has none).
fn pod_attributes(status: &RegistryStatus, kind: &str) -> PodAttributes {
    status
        .component(kind)
        .map(|c| PodAttributes::read(&c.overrides))
        .unwrap_or_default()
}

fn quay_input(replicas: i64, pods: PodAttributes) -> QuayInput {
    QuayInput {
        replicas: Some(replicas),
        requests: pods.requests,
        limits: pods.limits,
        affinity: pods.affinity,
        labels: pods.labels,
        annotations: pods.annotations,
    }
}

/// The `mirror` block, when anything in it differs from the defaults.
fn mirror_input(enabled: bool, replicas: Option<i64>, pods: PodAttributes) -> Option<MirrorInput> {
    let any_pods = pods != PodAttributes::default();
    (!enabled || replicas.is_some() || any_pods).then(|| MirrorInput {
        enabled: (!enabled).then_some(false),
        replicas,
        requests: pods.requests,
        limits: pods.limits,
        affinity: pods.affinity,
        labels: pods.labels,
        annotations: pods.annotations,
    })
}

/// The bundle keys the site writes from its own arguments; every other key is one of the
/// shared configuration's `config_files`.
const IMPORT_OWN_KEYS: [&str; 4] = ["config.yaml", "clair-config.yaml", "ssl.cert", "ssl.key"];

/// The text of the Secret's `key`, decoded from base64 `data`.
pub(super) fn decoded(secret: &Json, key: &str) -> Option<String> {
    let encoded = secret["data"][key].as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    String::from_utf8(bytes).ok()
}
