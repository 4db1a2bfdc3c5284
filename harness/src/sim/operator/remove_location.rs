//! What the provider's removal Job does in its pod: its only-copy check, then Quay's removal
//! tool, `python -m util.removelocation <location>` (quay/quay `util/removelocation.py`).
//!
//! The tool, as upstream: exits 1 printing "Storage replication is not enabled. Exiting."
//! unless `FEATURE_STORAGE_REPLICATION` is on, and "Pushes are not disabled. Exiting." unless
//! `DISABLE_PUSHES` or `REGISTRY_STATE: readonly`, both read from `config.yaml` with Quay's
//! `QUAY_OVERRIDE_CONFIG` environment variable laid over it (quay/quay `app.py`); then
//! deletes the location's placements and its row ([`placements::remove_location`]). It prints
//! "Error removing storage location" and deletes nothing (exiting 0: the provider's script
//! then fails on the missing "Deleted location" line, which this model reports as the error)
//! when the location is not in the database, and when `REGISTRY_STATE` is `readonly`: that
//! state makes Quay's models refuse every delete (quay/quay `data/database.py`,
//! `read_only_config`; `data/readreplica.py`, `ReadOnlyModeException`), so the one setting
//! that passes the tool's guard and lets it work is `DISABLE_PUSHES`.
//!
//! The check before it is the provider's own program (`QUAY_GEOREP_ONLY_COPY_CHECK`, run only
//! when the container has it): it passes when the location is not in the database (an
//! earlier run removed it: the tool is skipped), and fails with the count when some blobs are
//! placed nowhere else ([`placements::only_copies`]). The location's name is the container's
//! `QUAY_GEOREP_LOCATION`, as the script passes it to both.
//!
//! It tells the safety ledger the tool ran ([`Ledger::location_removed`]): a site still
//! serving a config that names the location could write new placements there.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::blobs::{placements, queue};
use crate::quay::Bundle;
use crate::sim::ledger::Ledger;

/// The module the tool runs as.
pub const REMOVAL_MODULE: &str = "util.removelocation";

/// The container variable naming the location.
pub const LOCATION_ENV: &str = "QUAY_GEOREP_LOCATION";

/// The container variable holding the provider's only-copy check.
pub const CHECK_ENV: &str = "QUAY_GEOREP_ONLY_COPY_CHECK";

/// Quay's variable of config keys laid over `config.yaml`.
pub const OVERRIDE_CONFIG_ENV: &str = "QUAY_OVERRIDE_CONFIG";

/// `bundle`'s config with `QUAY_OVERRIDE_CONFIG` (a JSON object) laid over it.
///
/// # Errors
/// A value that is not a JSON object: Quay's `json.loads(...)` then `update` fails at import.
fn effective_config(bundle: Bundle, env: &BTreeMap<String, String>) -> Result<Bundle, String> {
    let Some(raw) = env.get(OVERRIDE_CONFIG_ENV) else {
        return Ok(bundle);
    };
    let Ok(Value::Object(overrides)) = serde_json::from_str::<Value>(raw) else {
        return Err(format!("{OVERRIDE_CONFIG_ENV} is not a JSON object"));
    };
    let mut bundle = bundle;
    bundle.config.extend(overrides);
    Ok(bundle)
}

/// Runs the check and the tool against `bundle` on behalf of `site`, with the container's
/// `env`; the error is what the pod would log last.
///
/// # Errors
/// As the module doc says, or a database that cannot be reached.
pub async fn run(
    site: &str,
    bundle: Bundle,
    env: &BTreeMap<String, String>,
    ledger: &Ledger,
) -> Result<(), String> {
    let location = env
        .get(LOCATION_ENV)
        .filter(|l| !l.is_empty())
        .ok_or("removelocation.py: error: the following arguments are required: location")?;
    let bundle = effective_config(bundle, env)?;
    let db_uri = bundle
        .db_uri()
        .ok_or("DB_URI is not set in config.yaml")?
        .to_owned();
    let client = queue::connect(&db_uri).await?;
    if env.contains_key(CHECK_ENV) {
        let kept: Vec<String> = bundle
            .storage_locations()
            .into_iter()
            .map(|l| l.name)
            .filter(|name| name != location)
            .collect();
        match placements::only_copies(&client, location, &kept).await? {
            None => {
                tracing::info!(
                    site,
                    location,
                    "removal: not in the database, nothing to remove"
                );
                return Ok(());
            }
            Some(0) => {}
            Some(only) => {
                return Err(format!(
                    "blobs placed only in storage location {location}: {only}; nothing was \
                     deleted. Let replication copy them (or copy them), then apply again"
                ));
            }
        }
    }
    if !bundle.replication() {
        return Err("Storage replication is not enabled. Exiting.".to_owned());
    }
    let readonly = bundle.config.get("REGISTRY_STATE").and_then(Value::as_str) == Some("readonly");
    if bundle.config.get("DISABLE_PUSHES") != Some(&Value::Bool(true)) && !readonly {
        return Err("Pushes are not disabled. Exiting.".to_owned());
    }
    if readonly {
        return Err(
            "Error removing storage location: the database is in read-only mode (no line \
             \"Deleted location\")"
                .to_owned(),
        );
    }
    ledger.location_removed(site, location);
    match placements::remove_location(&client, location).await? {
        Some(deleted) => {
            tracing::info!(site, location, deleted, "removal: Deleted location");
            Ok(())
        }
        None => Err(format!(
            "Error removing storage location: ImageStorageLocation matching query does not \
             exist (no line \"Deleted location {location}\")"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_override_variable_is_laid_over_the_config_and_must_be_an_object() {
        let bundle = Bundle::parse(
            "config",
            [(
                "config.yaml".to_owned(),
                b"REGISTRY_STATE: normal\nDB_URI: postgresql://x/y\n".to_vec(),
            )]
            .into(),
        )
        .unwrap();
        let env: BTreeMap<String, String> = [(
            OVERRIDE_CONFIG_ENV.to_owned(),
            r#"{"REGISTRY_STATE": "readonly"}"#.to_owned(),
        )]
        .into();
        let merged = effective_config(bundle.clone(), &env).unwrap();
        assert_eq!(merged.config["REGISTRY_STATE"], "readonly");
        assert_eq!(merged.db_uri(), Some("postgresql://x/y"));
        let bad: BTreeMap<String, String> =
            [(OVERRIDE_CONFIG_ENV.to_owned(), "[1]".to_owned())].into();
        assert!(effective_config(bundle, &bad).is_err());
    }
}
