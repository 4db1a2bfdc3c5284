//! Quay's replication queue in the shared database, as far as the replication worker and the
//! backfill tool use it.
//!
//! Quay queues one item per pushed blob on the `imagestoragereplication` queue (quay/quay
//! `util/registry/replication.py`, `queue_storage_replication`), in the `queueitem` table of
//! the shared database; the `storagereplication` worker of any site takes an item and copies
//! the blob to every default location that lacks it *at that moment*
//! (`workers/storagereplication.py`). A blob whose item was handled before a location was
//! added is never copied there, unless `util/backfillreplication.py` queues it again: that is
//! why adding a location needs the backfill.
//!
//! The model keeps three columns of Quay's table (`id`, `queue_name`, `body`); the body names
//! the blob by digest (`{"storage_id": "sha256:…"}`) where Quay puts the storage row's uuid,
//! as the model has no `imagestorage` rows. The migration model creates no Quay tables, so
//! whoever queues first creates this one.

use tokio_postgres::NoTls;

use crate::services::postgres::pg_error;

/// The queue's name (quay/quay `app.py`: `image_replication_queue`).
pub const REPLICATION_QUEUE: &str = "imagestoragereplication";

/// One queued replication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The row.
    pub id: i64,
    /// The blob's digest.
    pub digest: String,
}

/// A connection to the shared database at `db_uri`, its driver task spawned.
pub async fn connect(db_uri: &str) -> Result<tokio_postgres::Client, String> {
    let (client, connection) = tokio_postgres::connect(db_uri, NoTls)
        .await
        .map_err(|e| format!("database: could not connect to DB_URI: {}", pg_error(&e)))?;
    tokio::spawn(connection);
    Ok(client)
}

/// Queues a replication of each of `digests` (skipping those already queued, as the backfill
/// tool skips items `image_replication_queue.alive` reports); returns how many were queued.
///
/// # Errors
/// The database's error text.
pub async fn enqueue(db_uri: &str, digests: &[String]) -> Result<usize, String> {
    let client = connect(db_uri).await?;
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS queueitem (id bigserial PRIMARY KEY, \
             queue_name varchar(1024) NOT NULL, body text NOT NULL)",
        )
        .await
        .map_err(|e| pg_error(&e))?;
    let mut queued = 0;
    for digest in digests {
        let body = serde_json::json!({ "storage_id": digest }).to_string();
        queued += client
            .execute(
                "INSERT INTO queueitem (queue_name, body) SELECT $1::varchar, $2::text \
                 WHERE NOT EXISTS (SELECT 1 FROM queueitem \
                 WHERE queue_name = $1::varchar AND body = $2::text)",
                &[&REPLICATION_QUEUE, &body],
            )
            .await
            .map_err(|e| pg_error(&e))?;
    }
    usize::try_from(queued).map_err(|e| e.to_string())
}

/// A connection to the queue, kept between the worker's passes: a connection per pass costs a
/// PostgreSQL backend and a SCRAM exchange every half second, for every running environment.
#[derive(Default)]
pub struct QueueReader {
    connection: Option<(String, tokio_postgres::Client)>,
}

impl std::fmt::Debug for QueueReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueReader")
            .field("connected", &self.connection.is_some())
            .finish()
    }
}

impl QueueReader {
    /// The client for `db_uri`, connecting (again) when there is none, it is for another
    /// database, or it was closed. The worker records placements on it too.
    pub(crate) async fn client(&mut self, db_uri: &str) -> Result<&tokio_postgres::Client, String> {
        let reusable = self
            .connection
            .as_ref()
            .is_some_and(|(uri, client)| uri == db_uri && !client.is_closed());
        if !reusable {
            self.connection = Some((db_uri.to_owned(), connect(db_uri).await?));
        }
        self.connection
            .as_ref()
            .map(|(_, client)| client)
            .ok_or_else(|| "no database connection".to_owned())
    }

    /// The queued replications, oldest first (none when no one has queued yet).
    ///
    /// # Errors
    /// The database's error text (the connection is dropped, and made again next time).
    pub async fn items(&mut self, db_uri: &str) -> Result<Vec<Item>, String> {
        let result = read_items(self.client(db_uri).await?).await;
        if result.is_err() {
            self.connection = None;
        }
        result
    }

    /// Removes handled items.
    ///
    /// # Errors
    /// The database's error text.
    pub async fn complete(&mut self, db_uri: &str, ids: &[i64]) -> Result<(), String> {
        if ids.is_empty() {
            return Ok(());
        }
        let client = self.client(db_uri).await?;
        client
            .execute("DELETE FROM queueitem WHERE id = ANY($1)", &[&ids])
            .await
            .map_err(|e| pg_error(&e))?;
        Ok(())
    }
}

async fn read_items(client: &tokio_postgres::Client) -> Result<Vec<Item>, String> {
    let exists = client
        .query_one("SELECT to_regclass('queueitem') IS NOT NULL", &[])
        .await
        .map_err(|e| pg_error(&e))?;
    if !exists.get::<_, bool>(0) {
        return Ok(Vec::new());
    }
    let rows = client
        .query(
            "SELECT id, body FROM queueitem WHERE queue_name = $1 ORDER BY id",
            &[&REPLICATION_QUEUE],
        )
        .await
        .map_err(|e| pg_error(&e))?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            let body: String = row.get(1);
            let digest = serde_json::from_str::<serde_json::Value>(&body).ok()?["storage_id"]
                .as_str()?
                .to_owned();
            Some(Item {
                id: row.get(0),
                digest,
            })
        })
        .collect())
}
