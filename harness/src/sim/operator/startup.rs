//! The online checks a Quay pod runs at start-up (`config-tool validate --mode online`, then
//! `app.py`'s storage preference check), against the real shared services: reference/
//! quay-operator.md §0 items 8 and 9, §5.3.
//!
//! Modelled: every `DISTRIBUTED_STORAGE_CONFIG` location passes its driver's checks
//! ([`super::startup_storage`]: required fields for every driver config-tool knows, and S3
//! `HeadBucket` with 3 s limit where the simulated clusters can reach the service; the others
//! are reported as unchecked), `DB_URI` reachable
//! with its credentials and `pg_trgm` installed, `BUILDLOGS_REDIS` reachable with its password
//! (config-tool reuses it for user events), `IGNORE_VALIDATION` skipping all of that, and the
//! preference rule (3.8–3.17 need the env var when replication is on; 3.18+ also accept the
//! config's preference), and the database's TLS files in the bundle
//! ([`super::startup_files`]). Not modelled: TLS to any service, hostname/certificate checks, the
//! other field groups.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio_postgres::NoTls;

use crate::errors::chain;
use crate::quay::{Bundle, PREFERENCE_ENV, QuayVersion};
use crate::services::postgres::pg_error;
use crate::services::redis::check_redis;
use crate::services::secret::Secret;

/// `app.py`'s message when replication is on and no preference is set.
pub const MISSING_PREFERENCE: &str = "Missing storage preference, did you perhaps forget to define \
     QUAY_DISTRIBUTED_STORAGE_PREFERENCE variable?";

/// How long each online check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// What a pod learned while starting successfully.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// The database's `alembic_version` (`None`: no row or no table).
    pub revision: Option<String>,
    /// The effective first storage preference.
    pub preference: Option<String>,
    /// Storage locations accepted without reaching their service, each with why
    /// ([`super::startup_storage`]).
    pub unchecked: Vec<String>,
}

/// The effective first storage preference of a Quay `version` pod with `env`.
///
/// # Errors
/// [`MISSING_PREFERENCE`] when replication is on and the version finds none.
pub fn effective_preference(
    bundle: &Bundle,
    version: &QuayVersion,
    env: &BTreeMap<String, String>,
) -> Result<Option<String>, String> {
    // Quay reads the variable as a whitespace-separated list (`.split()`); the first counts.
    let from_env = env
        .get(PREFERENCE_ENV)
        .and_then(|v| v.split_whitespace().next())
        .map(str::to_owned);
    let preference = if version.requires_preference_env() {
        from_env
    } else {
        from_env.or_else(|| bundle.config_preference().map(str::to_owned))
    };
    if bundle.replication() && preference.is_none() {
        return Err(MISSING_PREFERENCE.to_owned());
    }
    Ok(preference)
}

/// Runs the start-up checks of a Quay `version` pod with `env` against `bundle`.
///
/// # Errors
/// Every failing check's message, joined with `"; "`.
pub async fn run(
    bundle: &Bundle,
    version: &QuayVersion,
    env: &BTreeMap<String, String>,
) -> Result<Started, String> {
    let mut unchecked = Vec::new();
    if !env.contains_key("IGNORE_VALIDATION") {
        let (storage, database, redis) = tokio::join!(
            super::startup_storage::check(bundle, CHECK_TIMEOUT),
            check_database(bundle),
            check_redis_of(bundle)
        );
        unchecked = storage.unchecked;
        let failures: Vec<String> = storage
            .failures
            .into_iter()
            .chain(database.err())
            .chain(super::startup_files::check_database_files(bundle))
            .chain(redis.err())
            .collect();
        if !failures.is_empty() {
            return Err(failures.join("; "));
        }
    }
    let preference = effective_preference(bundle, version, env)?;
    let revision = match bundle.db_uri() {
        Some(uri) => read_revision(uri).await.ok().flatten(),
        None => None,
    };
    Ok(Started {
        revision,
        preference,
        unchecked,
    })
}

async fn check_database(bundle: &Bundle) -> Result<(), String> {
    let Some(uri) = bundle.db_uri() else {
        return Err("database: DB_URI is required".to_owned());
    };
    let check = async {
        let (client, connection) = tokio_postgres::connect(uri, NoTls)
            .await
            .map_err(|e| format!("database: could not connect to DB_URI: {}", pg_error(&e)))?;
        tokio::spawn(connection);
        let row = client
            .query_opt("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'", &[])
            .await
            .map_err(|e| format!("database: {}", pg_error(&e)))?;
        if row.is_none() {
            return Err(
                "database: the pg_trgm extension is not installed in the database \
                        (CREATE EXTENSION pg_trgm)"
                    .to_owned(),
            );
        }
        Ok(())
    };
    tokio::time::timeout(CHECK_TIMEOUT, check)
        .await
        .unwrap_or_else(|_| Err(format!("database: no answer within {CHECK_TIMEOUT:?}")))
}

async fn check_redis_of(bundle: &Bundle) -> Result<(), String> {
    let Some(redis) = bundle.redis() else {
        return Err("redis: BUILDLOGS_REDIS with a host is required".to_owned());
    };
    let password = Secret::new(redis.password.unwrap_or_default());
    check_redis(&redis.host, redis.port, &password)
        .await
        .map_err(|e| format!("redis: {}", chain(&e)))
}

/// Reads `alembic_version` of the database at `uri`.
///
/// # Errors
/// The connection or query error's text; a missing table is `Ok(None)`.
pub async fn read_revision(uri: &str) -> Result<Option<String>, String> {
    let (client, connection) = tokio_postgres::connect(uri, NoTls)
        .await
        .map_err(|e| pg_error(&e))?;
    tokio::spawn(connection);
    let exists = client
        .query_one("SELECT to_regclass('alembic_version') IS NOT NULL", &[])
        .await
        .map_err(|e| pg_error(&e))?;
    if !exists.get::<_, bool>(0) {
        return Ok(None);
    }
    let row = client
        .query_opt("SELECT version_num::text FROM alembic_version LIMIT 1", &[])
        .await
        .map_err(|e| pg_error(&e))?;
    Ok(row.map(|r| r.get(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(yaml: &str) -> Bundle {
        let data = BTreeMap::from([("config.yaml".to_owned(), yaml.as_bytes().to_vec())]);
        Bundle::parse("b", data).unwrap()
    }

    #[test]
    fn replication_needs_the_env_preference_before_3_18() {
        let b = bundle("FEATURE_STORAGE_REPLICATION: true\nDISTRIBUTED_STORAGE_PREFERENCE: [a]\n");
        let none = BTreeMap::new();
        let old: QuayVersion = "3.17.4".parse().unwrap();
        let new: QuayVersion = "3.18.0".parse().unwrap();
        assert_eq!(
            effective_preference(&b, &old, &none).unwrap_err(),
            MISSING_PREFERENCE
        );
        assert_eq!(
            effective_preference(&b, &new, &none).unwrap().as_deref(),
            Some("a")
        );
        let env = BTreeMap::from([(PREFERENCE_ENV.to_owned(), "b".to_owned())]);
        assert_eq!(
            effective_preference(&b, &old, &env).unwrap().as_deref(),
            Some("b")
        );
        let no_replication = bundle("{}");
        assert_eq!(
            effective_preference(&no_replication, &old, &none).unwrap(),
            None
        );
    }

    #[test]
    fn the_env_preference_is_a_whitespace_separated_list_whose_first_entry_counts() {
        let b = bundle("FEATURE_STORAGE_REPLICATION: true\nDISTRIBUTED_STORAGE_PREFERENCE: [a]\n");
        let v: QuayVersion = "3.18.0".parse().unwrap();
        let env = BTreeMap::from([(
            PREFERENCE_ENV.to_owned(),
            " us_east  ap_south eu_west".to_owned(),
        )]);
        assert_eq!(
            effective_preference(&b, &v, &env).unwrap().as_deref(),
            Some("us_east")
        );
    }
}
