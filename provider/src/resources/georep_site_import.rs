//! Import of `quay_georep_site`: rebuilding the resource's arguments from a live site, so
//! `terraform import quay_georep_site.x us_east/quay-enterprise/registry` adopts a site that
//! was installed by hand or by another tool.
//!
//! The arguments come from the `QuayRegistry` (replicas, managed flags, the storage
//! preference env for `location`, other env) and its config bundle Secret (`config.yaml`,
//! `clair-config.yaml` for the Clair database, `ssl.cert`/`ssl.key`). Blocks are set only where
//! the live value differs from the default, so a configuration that relies on defaults imports
//! without a diff. `create_namespace` stays unset and `namespace_created` false: destroying an
//! imported site never deletes its namespace.

use base64::Engine as _;
use serde_json::{Map, Value as Json, json};

use super::georep_site_resource::schema;
use super::site_schema::LIST_BLOCKS;
use crate::cluster::{Cluster, Kind};
use crate::georep::site::PREFERENCE_ENV;
use crate::georep::site::{DEFAULT_CLAIR_REPLICAS, DEFAULT_MIRROR_REPLICAS, DEFAULT_QUAY_REPLICAS};
use crate::tfvalue::{Diagnostic, Diagnostics, Value};

/// The component entry of `kind` in a live spec.
fn component<'a>(registry: &'a Json, kind: &str) -> Option<&'a Json> {
    registry
        .pointer("/spec/components")?
        .as_array()?
        .iter()
        .find(|c| c.get("kind").and_then(Json::as_str) == Some(kind))
}

fn managed(registry: &Json, kind: &str) -> Option<bool> {
    component(registry, kind)?.get("managed")?.as_bool()
}

fn replicas(registry: &Json, kind: &str) -> Option<i64> {
    component(registry, kind)?
        .pointer("/overrides/replicas")?
        .as_i64()
}

fn env(registry: &Json, kind: &str) -> Vec<(String, String)> {
    component(registry, kind)
        .and_then(|c| c.pointer("/overrides/env"))
        .and_then(Json::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|e| {
                    Some((
                        e.get("name")?.as_str()?.to_owned(),
                        e.get("value")?.as_str()?.to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn decoded(secret: &Json, key: &str) -> Option<String> {
    let encoded = secret
        .pointer(&format!("/data/{}", key.replace('/', "~1")))?
        .as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// The state of the live site `registry` on `cluster`.
pub(crate) async fn state_from_live(
    cluster: &Cluster,
    cluster_key: &str,
    registry: &Json,
    diags: &mut Diagnostics,
) -> Option<Value> {
    let text = |pointer: &str| {
        registry
            .pointer(pointer)
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let namespace = text("/metadata/namespace");
    let name = text("/metadata/name");
    let bundle_name = text("/spec/configBundleSecret");
    let bundle = match cluster
        .get(&Kind::SECRET, Some(&namespace), &bundle_name)
        .await
    {
        Ok(Some(secret)) => secret,
        Ok(None) => {
            diags.push(Diagnostic::error(
                "Config Bundle Missing",
                format!("the QuayRegistry {namespace}/{name} names config bundle Secret {bundle_name:?}, which does not exist: a site without its bundle cannot be imported"),
            ));
            return None;
        }
        Err(err) => {
            diags.push(Diagnostic::error(
                "Read Failed",
                format!("{err}: {}", err.hint()),
            ));
            return None;
        }
    };
    let Some(config_yaml) = decoded(&bundle, "config.yaml") else {
        diags.push(Diagnostic::error(
            "Config Bundle Without config.yaml",
            format!("Secret {namespace}/{bundle_name} has no readable config.yaml key"),
        ));
        return None;
    };
    let quay_env = env(registry, "quay");
    let location = quay_env
        .iter()
        .find(|(k, _)| k == PREFERENCE_ENV)
        .and_then(|(_, v)| v.split_whitespace().next())
        .unwrap_or_default()
        .to_owned();
    let extra_env: Map<String, Json> = quay_env
        .into_iter()
        .filter(|(k, _)| k != PREFERENCE_ENV)
        .map(|(k, v)| (k, Json::String(v)))
        .collect();

    let mut config = Map::new();
    config.insert("cluster".into(), json!(cluster_key));
    config.insert("namespace".into(), json!(namespace));
    if name != crate::georep::site::DEFAULT_NAME {
        config.insert("name".into(), json!(name));
    }
    config.insert("config_yaml".into(), json!(config_yaml));
    config.insert("location".into(), json!(location));
    if !extra_env.is_empty() {
        config.insert("env".into(), Json::Object(extra_env));
    }
    if let Some(r) = replicas(registry, "quay").filter(|r| *r != i64::from(DEFAULT_QUAY_REPLICAS)) {
        config.insert("quay".into(), json!({"replicas": r}));
    }
    let mirror_enabled = managed(registry, "mirror").unwrap_or(true);
    let mirror_replicas =
        replicas(registry, "mirror").filter(|r| *r != i64::from(DEFAULT_MIRROR_REPLICAS));
    if !mirror_enabled || mirror_replicas.is_some() {
        config.insert("mirror".into(), json!({"enabled": if mirror_enabled { Json::Null } else { json!(false) }, "replicas": mirror_replicas}));
    }
    let clair_enabled = managed(registry, "clair").unwrap_or(false);
    if !clair_enabled {
        // Clair defaults to enabled, so an unmanaged Clair must be said explicitly.
        config.insert("clair".into(), json!({"enabled": false}));
    } else {
        let database_uri = decoded(&bundle, "clair-config.yaml")
            .and_then(|yaml| serde_saphyr::from_str::<Json>(&yaml).ok())
            .and_then(|c| {
                c.pointer("/indexer/connstring")
                    .and_then(Json::as_str)
                    .map(str::to_owned)
            });
        let clair_replicas =
            replicas(registry, "clair").filter(|r| *r != i64::from(DEFAULT_CLAIR_REPLICAS));
        config.insert(
            "clair".into(),
            json!({"database_uri": database_uri, "replicas": clair_replicas}),
        );
    }
    if managed(registry, "route") == Some(false) {
        config.insert("route".into(), json!({"managed": false}));
    }
    if let (Some(certificate), Some(private_key)) =
        (decoded(&bundle, "ssl.cert"), decoded(&bundle, "ssl.key"))
    {
        config.insert(
            "tls".into(),
            json!({"certificate": certificate, "private_key": private_key}),
        );
    }
    if managed(registry, "monitoring") == Some(true) {
        config.insert("monitoring".into(), json!(true));
    }

    // The blocks with secrets are list-nested (see `site_schema::LIST_BLOCKS`).
    for name in LIST_BLOCKS {
        if let Some(block) = config.remove(name) {
            config.insert(name.to_owned(), Json::Array(vec![block]));
        }
    }
    let ty = schema().value_type();
    let bytes = serde_json::to_vec(&Json::Object(config)).ok()?;
    let value = match crate::tfvalue::json::decode(&ty, &bytes) {
        Ok(value) => value,
        Err(err) => {
            diags.push(Diagnostic::error(
                "Provider Bug: Import",
                format!("the imported site could not be expressed in the schema: {err}; please report this"),
            ));
            return None;
        }
    };
    super::georep_site_resource::imported_state(&value, registry, diags)
}
