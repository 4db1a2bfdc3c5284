//! [`Cluster::notify_changes`]: tells a [`Notify`] each time a set of objects changes, for
//! loops that read what they need themselves and only want to know when to read again.
//!
//! A list (metadata only) gives the resourceVersion to watch from and announces the changes
//! made while no watch was open; a watch from it announces each added, modified or deleted
//! object; an expired or failed watch is followed by a new list. Errors are not reported: a
//! caller waiting on the notifications also polls on a timer, so a watch the cluster refuses
//! costs latency only.
//!
//! Why not kube-runtime's `watcher`: it opens the next watch at once when one ends without an
//! error, so a server or proxy that ends watch requests at once would be asked again in a
//! tight loop for the whole run. Here a watch that ends within [`QUICK_END`] without an event,
//! or any failure, waits a backoff (1 s doubling to [`MAX_BACKOFF`]) before the next request.

use futures_util::StreamExt as _;
use kube::api::{ListParams, WatchEvent, WatchParams};
use tokio::sync::Notify;
use tokio::time::{Duration, Instant};

use super::connect::{Cluster, READ_TIMEOUT};
use super::kind::Kind;

/// How long one watch request asks the server to keep it open. Below the client's
/// [`READ_TIMEOUT`], so a quiet watch ends on the server's side, cleanly, rather than as a
/// read timeout.
const WATCH_TIMEOUT_SECS: u32 = 50;
const _: () = assert!((WATCH_TIMEOUT_SECS as u64) < READ_TIMEOUT.as_secs());

/// A watch that ends sooner than this without an event is treated as refused.
const QUICK_END: Duration = Duration::from_secs(1);
/// The longest wait between two requests after failures.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The wait after one more failure: 1 s, then doubling up to [`MAX_BACKOFF`].
fn longer(backoff: Duration) -> Duration {
    (backoff * 2).clamp(Duration::from_secs(1), MAX_BACKOFF)
}

impl Cluster {
    /// Calls `changed.notify_one()` after each list of the objects of `kind` in `namespace`
    /// matching the field and label selectors (either may be empty), and each time one of
    /// them is added, modified or deleted. Runs until dropped.
    pub async fn notify_changes(
        &self,
        kind: &Kind,
        namespace: Option<&str>,
        field_selector: &str,
        label_selector: &str,
        changed: &Notify,
    ) {
        let api = self.api(kind, namespace);
        let list_params = ListParams::default()
            .fields(field_selector)
            .labels(label_selector);
        let watch_params = WatchParams::default()
            .fields(field_selector)
            .labels(label_selector)
            .timeout(WATCH_TIMEOUT_SECS);
        let mut backoff = Duration::ZERO;
        loop {
            if !backoff.is_zero() {
                tokio::time::sleep(backoff).await;
            }
            let Ok(list) = api.list_metadata(&list_params).await else {
                backoff = longer(backoff);
                continue;
            };
            changed.notify_one();
            let mut version = list.metadata.resource_version.unwrap_or_default();
            // Watch from `version` until a watch fails or expires; then list again.
            loop {
                let opened = Instant::now();
                let Ok(stream) = api.watch(&watch_params, &version).await else {
                    backoff = longer(backoff);
                    break;
                };
                let mut stream = std::pin::pin!(stream);
                let mut events = 0usize;
                let mut expired = false;
                while let Some(event) = stream.next().await {
                    match event {
                        Ok(
                            WatchEvent::Added(object)
                            | WatchEvent::Modified(object)
                            | WatchEvent::Deleted(object),
                        ) => {
                            if let Some(seen) = object.metadata.resource_version {
                                version = seen;
                            }
                            events += 1;
                            changed.notify_one();
                        }
                        Ok(WatchEvent::Bookmark(bookmark)) => {
                            version = bookmark.metadata.resource_version;
                        }
                        // 410 Gone (the version is too old) or another error: list again.
                        Ok(WatchEvent::Error(_)) | Err(_) => {
                            expired = true;
                            break;
                        }
                    }
                }
                backoff = if events == 0 && opened.elapsed() < QUICK_END {
                    longer(backoff)
                } else {
                    Duration::ZERO
                };
                if expired {
                    break;
                }
                if !backoff.is_zero() {
                    tokio::time::sleep(backoff).await;
                }
            }
        }
    }
}
