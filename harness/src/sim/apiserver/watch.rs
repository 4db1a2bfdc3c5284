//! Watch streams: newline-delimited `{"type","object"}` events over a chunked response.
//!
//! A watch from resourceVersion "0" (or none) starts with synthetic `ADDED` events for the
//! current objects; from a newer version it replays the history; from a version older than
//! the kept history it sends one `ERROR` event with a 410 `Expired` Status, as a real server
//! does. `BOOKMARK`s are sent when asked for; `timeoutSeconds` ends the stream; injected
//! faults can close every open watch. An object that stops matching a selector is not
//! turned into a `DELETED` event (a real server does that).
//!
//! A watch is established before its `200` is answered: it is subscribed to the store's
//! events, to the close-watches switch and to its deadline, and counted in [`OpenWatches`](crate::sim::apiserver::OpenWatches),
//! so any write or fault after that reaches it. [`OpenWatches`](crate::sim::apiserver::OpenWatches) lets tests wait for a client
//! that does not say when its watch is open.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response, header};
use http_body_util::{BodyExt as _, StreamBody};
use hyper::body::Frame;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc, watch};
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::ReceiverStream;

use super::conversion;
use super::open_watches::resource_name;
use super::resources::ResourceType;
use super::state::ClusterState;
use super::status::ApiError;
use super::store::{Event, ListOptions};
use super::wire::{Body, list_options};

/// One open watch in [`OpenWatches`], counted until dropped.
struct Registration {
    state: Arc<ClusterState>,
    resource: String,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.state.watches.remove(&self.resource);
    }
}

fn line(kind: &str, object: &Value) -> Bytes {
    let mut text = json!({"type": kind, "object": object}).to_string();
    text.push('\n');
    Bytes::from(text)
}

fn gone(requested: u64, oldest: u64) -> Bytes {
    line("ERROR", &ApiError::Gone { requested, oldest }.to_status())
}

/// Start a watch of type `t` (in `ns`, or every namespace) from the request's query.
///
/// # Errors
/// `BadRequest` for malformed selectors or resourceVersion.
pub fn start(
    state: &Arc<ClusterState>,
    t: &Arc<ResourceType>,
    ns: Option<&str>,
    query: &BTreeMap<String, String>,
) -> Result<Response<Body>, ApiError> {
    let opts = list_options(query)?;
    let from = match query.get("resourceVersion").map(String::as_str) {
        None | Some("" | "0") => None,
        Some(rv) => Some(
            rv.parse::<u64>()
                .map_err(|_| ApiError::BadRequest(format!("invalid resource version {rv:?}")))?,
        ),
    };
    let bookmarks = query
        .get("allowWatchBookmarks")
        .is_some_and(|v| v == "true");
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs);
    let ns = ns.filter(|_| t.namespaced).map(str::to_owned);
    // Subscribed before the store snapshot and the response, like the events: a fault or
    // deadline that comes after the 200 must reach this watch even if its task has not run.
    let closer = state.faults.watch_closer();
    let deadline = timeout.map(|d| tokio::time::Instant::now() + d);

    let (initial, expired, receiver, start_rv, registration) = {
        let store = state.lock_store();
        let receiver = store.subscribe();
        let (initial, expired): (Vec<Bytes>, bool) = match from {
            None => {
                let all = ListOptions {
                    limit: 0,
                    continue_token: None,
                    ..opts.clone()
                };
                let stored = conversion::stored(&store.catalog, t);
                let items = store
                    .list(stored.as_deref().unwrap_or(t), ns.as_deref(), &all)?
                    .items;
                let items = items.into_iter().map(|o| conversion::from_storage(t, o));
                (items.map(|o| line("ADDED", &o)).collect(), false)
            }
            Some(rv) => match store.events_since(rv) {
                Ok(events) => (
                    events
                        .iter()
                        .filter(|e| relevant(e, t, ns.as_deref(), &opts))
                        .map(|e| converted_line(t, e))
                        .collect(),
                    false,
                ),
                Err(ApiError::Gone { requested, oldest }) => (vec![gone(requested, oldest)], true),
                Err(other) => return Err(other),
            },
        };
        let resource = resource_name(t);
        state.watches.add(&resource);
        let registration = Registration {
            state: Arc::clone(state),
            resource,
        };
        (
            initial,
            expired,
            receiver,
            store.resource_version(),
            registration,
        )
    };

    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let stream = Stream {
        state: Arc::clone(state),
        t: Arc::clone(t),
        ns,
        opts,
        bookmarks,
        deadline,
        closer,
        last_rv: start_rv,
        _registration: registration,
    };
    tokio::spawn(stream.run(tx, initial, receiver, expired));
    let body =
        StreamBody::new(ReceiverStream::new(rx).map(|b| Ok::<_, Infallible>(Frame::data(b))));
    let mut response = Response::new(body.boxed());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// The watch line of `e` as clients of `t` see its object ([`conversion`]).
fn converted_line(t: &ResourceType, e: &Event) -> Bytes {
    line(
        e.kind.as_str(),
        &conversion::from_storage(t, e.object.clone()),
    )
}

fn relevant(e: &Event, t: &ResourceType, ns: Option<&str>, opts: &ListOptions) -> bool {
    e.resource.group == t.group && e.resource.plural == t.plural && opts.matches(ns, &e.object)
}

struct Stream {
    state: Arc<ClusterState>,
    t: Arc<ResourceType>,
    ns: Option<String>,
    opts: ListOptions,
    bookmarks: bool,
    deadline: Option<tokio::time::Instant>,
    closer: watch::Receiver<u64>,
    last_rv: u64,
    _registration: Registration,
}

impl Stream {
    async fn run(
        mut self,
        tx: mpsc::Sender<Bytes>,
        initial: Vec<Bytes>,
        mut events: broadcast::Receiver<Arc<Event>>,
        expired: bool,
    ) {
        for chunk in initial {
            if tx.send(chunk).await.is_err() {
                return;
            }
        }
        if expired {
            return;
        }
        let mut bookmark = tokio::time::interval(self.state.bookmark_interval);
        bookmark.tick().await;
        loop {
            let sleep_until = self
                .deadline
                .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(86_400));
            tokio::select! {
                event = events.recv() => match event {
                    Ok(e) => {
                        self.last_rv = self.last_rv.max(e.rv);
                        if relevant(&e, &self.t, self.ns.as_deref(), &self.opts)
                            && tx.send(converted_line(&self.t, &e)).await.is_err()
                        {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let _ = tx.send(gone(self.last_rv, self.last_rv + 1)).await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = bookmark.tick(), if self.bookmarks => {
                    let object = json!({
                        "kind": self.t.kind, "apiVersion": self.t.api_version(),
                        "metadata": {"resourceVersion": self.last_rv.to_string()}
                    });
                    if tx.send(line("BOOKMARK", &object)).await.is_err() {
                        return;
                    }
                }
                _ = tokio::time::sleep_until(sleep_until) => return,
                _ = self.closer.changed() => return,
                () = tx.closed() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::sim::apiserver::faults::Faults;
    use crate::sim::apiserver::open_watches::OpenWatches;
    use crate::sim::apiserver::store::Store;

    fn cluster() -> Arc<ClusterState> {
        Arc::new(ClusterState {
            site: "site-a".into(),
            token: None,
            store: Mutex::new(Store::new("site-a", 100)),
            faults: Faults::default(),
            server_address: "127.0.0.1:0".into(),
            bookmark_interval: Duration::from_secs(5),
            watches: OpenWatches::default(),
        })
    }

    fn configmaps(state: &ClusterState) -> Arc<ResourceType> {
        state
            .store
            .lock()
            .unwrap()
            .catalog
            .get("", "v1", "configmaps")
            .unwrap()
    }

    fn query(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[tokio::test]
    async fn closing_watches_ends_a_watch_answered_before_its_stream_first_ran() {
        let state = cluster();
        let t = configmaps(&state);
        let q = query(&[("watch", "true"), ("timeoutSeconds", "60")]);
        let response = start(&state, &t, Some("default"), &q).unwrap();
        // No await since `start`: on this single-threaded runtime the stream task has not run.
        state.faults.close_watches();
        let ended = tokio::time::timeout(Duration::from_secs(10), response.into_body().collect());
        assert!(
            ended.await.is_ok(),
            "the watch outlived close_watches (it ends only at its 60 s timeoutSeconds)"
        );
    }

    #[tokio::test]
    async fn a_watch_counts_as_open_from_its_answer_until_its_body_is_dropped() {
        let state = cluster();
        let t = configmaps(&state);
        let response = start(&state, &t, Some("default"), &query(&[("watch", "true")])).unwrap();
        // Counted before its stream task ran: a write from now on reaches it.
        assert_eq!(state.watches.count("configmaps"), 1);
        assert_eq!(state.watches.count("secrets"), 0);
        tokio::time::timeout(
            Duration::from_secs(10),
            state.watches.wait_for("configmaps", 1),
        )
        .await
        .unwrap();
        drop(response);
        let gone = async {
            while state.watches.count("configmaps") > 0 {
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), gone)
            .await
            .expect("the watch stopped counting once its client went away");
        assert!(state.watches.snapshot().is_empty());
    }
}
