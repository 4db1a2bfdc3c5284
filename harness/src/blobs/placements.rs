//! Quay's record of where each blob is stored, in the shared database: the
//! `imagestoragelocation`, `imagestorage` and `imagestorageplacement` tables (quay/quay
//! `data/database.py`: `ImageStorageLocation.name` unique, one placement per storage and
//! location).
//!
//! Quay adds a placement when a push writes a blob and when the replication worker copies it
//! (`data/model/storage.py`, `add_storage_placement`), and its removal tool deletes the
//! placements of a location (`util/removelocation.py`). The model does the same: [`record`]
//! from [`super::push`] and the replication worker, [`remove_location`] from the removal
//! tool's model. After the shared config drops a location, these rows are the only memory of
//! what was stored there, as on Quay: no config names its bucket any more.
//!
//! The model keeps the columns it reads: a storage is its digest (`content_checksum`), where
//! Quay keys it by uuid. Nothing creates these tables before the first write (the migration
//! model creates no Quay tables), so the first writer does, under an advisory lock so that a
//! push and the worker starting at once do not both try.

use std::collections::BTreeSet;

use tokio_postgres::Client;

use crate::services::postgres::pg_error;

/// The advisory lock key the table creation holds.
const SCHEMA_LOCK: i64 = 0x5155_4159_504c_4143;

/// Creates the tables if they do not exist. On an error the transaction is rolled back, so a
/// connection the worker keeps is not left inside an aborted one.
async fn ensure_tables(client: &Client) -> Result<(), String> {
    let created = client
        .batch_execute(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock({SCHEMA_LOCK}); \
             CREATE TABLE IF NOT EXISTS imagestoragelocation (id serial PRIMARY KEY, \
             name varchar(255) NOT NULL UNIQUE); \
             CREATE TABLE IF NOT EXISTS imagestorage (id serial PRIMARY KEY, \
             content_checksum varchar(255) NOT NULL UNIQUE); \
             CREATE TABLE IF NOT EXISTS imagestorageplacement (id serial PRIMARY KEY, \
             storage_id integer NOT NULL REFERENCES imagestorage (id), \
             location_id integer NOT NULL REFERENCES imagestoragelocation (id), \
             UNIQUE (storage_id, location_id)); COMMIT;"
        ))
        .await;
    if let Err(e) = created {
        // Best effort: the error to report is the first one.
        let _ = client.batch_execute("ROLLBACK").await;
        return Err(pg_error(&e));
    }
    Ok(())
}

/// Records that each `(digest, location)` is stored there (a placement already recorded is
/// left as it is).
///
/// # Errors
/// The database's error text.
pub async fn record(client: &Client, placements: &[(String, String)]) -> Result<(), String> {
    if placements.is_empty() {
        return Ok(());
    }
    ensure_tables(client).await?;
    let (digests, locations): (Vec<&str>, Vec<&str>) = placements
        .iter()
        .map(|(digest, location)| (digest.as_str(), location.as_str()))
        .unzip();
    client
        .execute(
            "INSERT INTO imagestoragelocation (name) SELECT DISTINCT unnest($1::text[]) \
             ON CONFLICT DO NOTHING",
            &[&locations],
        )
        .await
        .map_err(|e| pg_error(&e))?;
    client
        .execute(
            "INSERT INTO imagestorage (content_checksum) SELECT DISTINCT unnest($1::text[]) \
             ON CONFLICT DO NOTHING",
            &[&digests],
        )
        .await
        .map_err(|e| pg_error(&e))?;
    client
        .execute(
            "INSERT INTO imagestorageplacement (storage_id, location_id) \
             SELECT DISTINCT s.id, l.id FROM unnest($1::text[], $2::text[]) AS p (digest, name) \
             JOIN imagestorage s ON s.content_checksum = p.digest \
             JOIN imagestoragelocation l ON l.name = p.name ON CONFLICT DO NOTHING",
            &[&digests, &locations],
        )
        .await
        .map_err(|e| pg_error(&e))?;
    Ok(())
}

/// How many blobs placed in `location` have no placement in any of `kept` (the locations the
/// config still has: a copy in another location being removed is no copy); `None` when the
/// database has no such location (never written, or removed).
///
/// # Errors
/// The database's error text.
pub async fn only_copies(
    client: &Client,
    location: &str,
    kept: &[String],
) -> Result<Option<i64>, String> {
    ensure_tables(client).await?;
    let Some(row) = client
        .query_opt(
            "SELECT id FROM imagestoragelocation WHERE name = $1",
            &[&location],
        )
        .await
        .map_err(|e| pg_error(&e))?
    else {
        return Ok(None);
    };
    let id: i32 = row.get(0);
    let count = client
        .query_one(
            "SELECT count(*) FROM imagestorageplacement p WHERE p.location_id = $1 \
             AND NOT EXISTS (SELECT 1 FROM imagestorageplacement o \
             JOIN imagestoragelocation l ON l.id = o.location_id \
             WHERE o.storage_id = p.storage_id AND o.location_id <> $1 AND l.name = ANY($2))",
            &[&id, &kept],
        )
        .await
        .map_err(|e| pg_error(&e))?;
    Ok(Some(count.get(0)))
}

/// What Quay's removal tool deletes: the placements of `location`, then its row; returns how
/// many placements went, `None` when the location is not in the database (the tool then
/// prints "Error removing storage location" and deletes nothing).
///
/// # Errors
/// The database's error text.
pub async fn remove_location(client: &Client, location: &str) -> Result<Option<u64>, String> {
    ensure_tables(client).await?;
    let deleted = client
        .execute(
            "DELETE FROM imagestorageplacement WHERE location_id IN \
             (SELECT id FROM imagestoragelocation WHERE name = $1)",
            &[&location],
        )
        .await
        .map_err(|e| pg_error(&e))?;
    let rows = client
        .execute(
            "DELETE FROM imagestoragelocation WHERE name = $1",
            &[&location],
        )
        .await
        .map_err(|e| pg_error(&e))?;
    Ok((rows > 0).then_some(deleted))
}

/// Whether the database has a row for `location`.
///
/// # Errors
/// The database's error text.
pub async fn knows_location(client: &Client, location: &str) -> Result<bool, String> {
    ensure_tables(client).await?;
    let row = client
        .query_opt(
            "SELECT 1 FROM imagestoragelocation WHERE name = $1",
            &[&location],
        )
        .await
        .map_err(|e| pg_error(&e))?;
    Ok(row.is_some())
}

/// The locations holding `digest` by the database's record.
///
/// # Errors
/// The database's error text.
pub async fn locations_of(client: &Client, digest: &str) -> Result<BTreeSet<String>, String> {
    ensure_tables(client).await?;
    let rows = client
        .query(
            "SELECT l.name FROM imagestorageplacement p \
             JOIN imagestorage s ON s.id = p.storage_id \
             JOIN imagestoragelocation l ON l.id = p.location_id \
             WHERE s.content_checksum = $1",
            &[&digest],
        )
        .await
        .map_err(|e| pg_error(&e))?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}
