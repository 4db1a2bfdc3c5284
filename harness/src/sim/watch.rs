//! Watch streams: newline-delimited `{"type","object"}` events over a chunked response.
//!
//! A watch from resourceVersion "0" (or none) starts with synthetic `ADDED` events for the
//! current objects; from a newer version it replays the history; from a version older than
//! the kept history it sends one `ERROR` event with a 410 `Expired` Status, as a real server
//! does. `BOOKMARK`s are sent when asked for; `timeoutSeconds` ends the stream; injected
//! faults can close every open watch. An object that stops matching a selector is not
//! turned into a `DELETED` event (a real server does that).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response, header};
use http_body_util::{BodyExt as _, StreamBody};
use hyper::body::Frame;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::ReceiverStream;

use crate::sim::cluster::ClusterState;
use crate::sim::http::{Body, list_options};
use crate::sim::resources::ResourceType;
use crate::sim::status::ApiError;
use crate::sim::store::{Event, ListOptions};

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

    let (initial, expired, receiver, start_rv) = {
        let store = state
            .store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let receiver = store.subscribe();
        let (initial, expired): (Vec<Bytes>, bool) = match from {
            None => {
                let all = ListOptions {
                    limit: 0,
                    continue_token: None,
                    ..opts.clone()
                };
                let items = store.list(t, ns.as_deref(), &all)?.items;
                (items.iter().map(|o| line("ADDED", o)).collect(), false)
            }
            Some(rv) => match store.events_since(rv) {
                Ok(events) => (
                    events
                        .iter()
                        .filter(|e| relevant(e, t, ns.as_deref(), &opts))
                        .map(|e| line(e.kind.as_str(), &e.object))
                        .collect(),
                    false,
                ),
                Err(ApiError::Gone { requested, oldest }) => (vec![gone(requested, oldest)], true),
                Err(other) => return Err(other),
            },
        };
        (initial, expired, receiver, store.resource_version())
    };

    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let stream = Stream {
        state: Arc::clone(state),
        t: Arc::clone(t),
        ns,
        opts,
        bookmarks,
        timeout,
        last_rv: start_rv,
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

fn relevant(e: &Event, t: &ResourceType, ns: Option<&str>, opts: &ListOptions) -> bool {
    e.resource.group == t.group && e.resource.plural == t.plural && opts.matches(ns, &e.object)
}

struct Stream {
    state: Arc<ClusterState>,
    t: Arc<ResourceType>,
    ns: Option<String>,
    opts: ListOptions,
    bookmarks: bool,
    timeout: Option<Duration>,
    last_rv: u64,
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
        let mut closer = self.state.faults.watch_closer();
        closer.borrow_and_update();
        let deadline = self.timeout.map(|d| tokio::time::Instant::now() + d);
        let mut bookmark = tokio::time::interval(self.state.bookmark_interval);
        bookmark.tick().await;
        loop {
            let sleep_until = deadline
                .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(86_400));
            tokio::select! {
                event = events.recv() => match event {
                    Ok(e) => {
                        self.last_rv = self.last_rv.max(e.rv);
                        if relevant(&e, &self.t, self.ns.as_deref(), &self.opts)
                            && tx.send(line(e.kind.as_str(), &e.object)).await.is_err()
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
                _ = closer.changed() => return,
                () = tx.closed() => return,
            }
        }
    }
}
