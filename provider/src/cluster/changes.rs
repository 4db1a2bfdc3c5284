//! [`Cluster::changes`]: a stream that says "something changed" for a set of objects, for loops
//! that read what they need themselves and only want to know when to read again.
//!
//! It is kube-runtime's [`watcher`] (list, then watch from the list's resourceVersion,
//! re-list after a broken or expired watch, with its default backoff), reduced to one `()`
//! per added, modified or deleted object and one per completed (re-)list, since a re-list
//! may hide changes made while the watch was down. Errors are not reported: the watcher
//! retries on its own, and a caller waiting on this stream also polls on a timer, so a
//! watch the cluster refuses (RBAC, a proxy that drops long requests) costs latency only.

use futures_util::{Stream, StreamExt as _, future};
use kube::runtime::{WatchStreamExt as _, watcher};

use super::connect::{Cluster, READ_TIMEOUT};
use super::kind::Kind;

/// How long one watch request asks the server to keep it open. Below the client's
/// [`READ_TIMEOUT`], so a quiet watch ends on the server's side, cleanly, rather than as a
/// read timeout (which the watcher would treat as an error and back off from).
const WATCH_TIMEOUT_SECS: u32 = 50;
const _: () = assert!((WATCH_TIMEOUT_SECS as u64) < READ_TIMEOUT.as_secs());

impl Cluster {
    /// One `()` each time an object of `kind` in `namespace` matching the field and label
    /// selectors (either may be empty) is added, modified or deleted, and each time the
    /// watcher completes a list (the first one, and after a broken watch).
    ///
    /// The stream never ends; drop it to stop watching.
    pub fn changes(
        &self,
        kind: &Kind,
        namespace: Option<&str>,
        field_selector: &str,
        label_selector: &str,
    ) -> impl Stream<Item = ()> + Send + 'static {
        let config = watcher::Config::default()
            .fields(field_selector)
            .labels(label_selector)
            .timeout(WATCH_TIMEOUT_SECS);
        watcher(self.api(kind, namespace), config)
            .default_backoff()
            .filter_map(|event| {
                future::ready(match event {
                    Ok(
                        watcher::Event::Apply(_)
                        | watcher::Event::Delete(_)
                        | watcher::Event::InitDone,
                    ) => Some(()),
                    Ok(watcher::Event::Init | watcher::Event::InitApply(_)) | Err(_) => None,
                })
            })
    }
}
