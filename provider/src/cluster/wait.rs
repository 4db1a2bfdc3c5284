//! Waiting for objects to reach a state, driven by watches, with a polling fall-back, a
//! deadline and progress logs.
//!
//! A wait reads the matching objects with a list (which also gives the resourceVersion to
//! watch from), asks the caller's check what it thinks of them, and if the answer is
//! "pending", sleeps until a watch reports a change, [`POLL_INTERVAL`] passes (the fall-back
//! for dropped or refused watches), the deadline passes, or Terraform asks the provider to
//! stop. Every [`PROGRESS_EVERY`] it logs what it waits for and the last state it saw, so
//! `TF_LOG=info` shows a long wait is alive.

use futures_util::StreamExt as _;
use kube::api::{ListParams, WatchEvent, WatchParams};
use serde_json::Value;
use tokio::time::{Duration, Instant};
use tracing::info;

use super::budget;
use super::connect::Cluster;
use super::error::Error;
use super::kind::Kind;
use super::retry::with_retry;
use crate::stop::StopToken;

/// Longest sleep between two reads when no watch event arrives.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);
/// How often a long wait logs its progress.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// What a wait's check decides about the current state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Check {
    /// The awaited state is reached.
    Done,
    /// Not yet; the text describes the current state, for progress logs and timeouts.
    Pending(String),
    /// It cannot succeed; the text says why.
    Failed(String),
}

/// What to wait for and for how long.
#[derive(Clone, Debug)]
pub struct WaitOptions {
    /// What is awaited, in words: "QuayRegistry quay/registry to become Available".
    pub what: String,
    /// When to give up.
    pub deadline: Instant,
    /// Terraform's stop signal.
    pub stop: StopToken,
}

impl Cluster {
    /// Waits until `check` says [`Check::Done`] for the object `kind namespace/name`
    /// (`None` when it does not exist), and returns it.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] at the deadline, [`Error::WaitFailed`] when `check` fails,
    /// [`Error::Stopped`] on Terraform's stop signal, [`Error::Api`] when the cluster cannot be
    /// read (after retries).
    pub async fn wait_for<F>(
        &self,
        kind: &Kind,
        namespace: Option<&str>,
        name: &str,
        options: &WaitOptions,
        mut check: F,
    ) -> Result<Option<Value>, Error>
    where
        F: FnMut(Option<&Value>) -> Check,
    {
        let fields = format!("metadata.name={name}");
        let mut found = None;
        self.wait_for_list(kind, namespace, &fields, "", options, |items| {
            let verdict = check(items.first());
            found = items.first().cloned();
            verdict
        })
        .await?;
        Ok(found)
    }

    /// Waits until `check` says [`Check::Done`] for the objects of `kind` in `namespace`
    /// matching the field and label selectors (either may be empty).
    ///
    /// # Errors
    ///
    /// As [`Cluster::wait_for`].
    pub async fn wait_for_list<F>(
        &self,
        kind: &Kind,
        namespace: Option<&str>,
        field_selector: &str,
        label_selector: &str,
        options: &WaitOptions,
        mut check: F,
    ) -> Result<(), Error>
    where
        F: FnMut(&[Value]) -> Check,
    {
        let api = self.api(kind, namespace);
        let started = Instant::now();
        let mut last_report = started;
        let list_params = ListParams::default()
            .fields(field_selector)
            .labels(label_selector);
        // What the wait last saw: a read cut short by the wait's own deadline reports it as
        // the timeout it is, not as a failed read.
        let mut last_seen: Option<String> = None;
        loop {
            let listed = budget::within(
                Some(options.deadline),
                options.stop.clone(),
                with_retry(&options.what, || api.list(&list_params)),
            )
            .await;
            let list = match listed {
                Ok(list) => list,
                Err(failure) => {
                    let now = Instant::now();
                    if now >= options.deadline
                        && let Some(last) = last_seen.take()
                    {
                        return Err(Error::Timeout {
                            cluster: self.key.clone(),
                            what: options.what.clone(),
                            waited: now - started,
                            last,
                        });
                    }
                    return Err(self.failed("read", options.what.clone(), failure));
                }
            };
            let version = list.metadata.resource_version.clone().unwrap_or_default();
            let items = list
                .items
                .into_iter()
                .filter_map(|o| serde_json::to_value(o).ok())
                .collect::<Vec<_>>();
            let state = match check(&items) {
                Check::Done => return Ok(()),
                Check::Failed(message) => {
                    return Err(Error::WaitFailed {
                        cluster: self.key.clone(),
                        what: options.what.clone(),
                        message,
                    });
                }
                Check::Pending(state) => state,
            };
            let now = Instant::now();
            if now >= options.deadline {
                return Err(Error::Timeout {
                    cluster: self.key.clone(),
                    what: options.what.clone(),
                    waited: now - started,
                    last: state,
                });
            }
            last_seen = Some(state.clone());
            if now - last_report >= PROGRESS_EVERY {
                info!(cluster = %self.key, what = %options.what, %state, waited_s = (now - started).as_secs(), "still waiting");
                last_report = now;
            }
            let pause = POLL_INTERVAL.min(options.deadline - now);
            let watch_params = WatchParams::default()
                .fields(field_selector)
                .labels(label_selector)
                .timeout(u32::try_from(pause.as_secs().max(1)).unwrap_or(u32::MAX));
            let change = async {
                match api.watch(&watch_params, &version).await {
                    Ok(stream) => {
                        let mut stream = std::pin::pin!(stream);
                        // An added, modified or deleted object means something changed.
                        // Bookmarks, error events and a closed stream fall back to the poll.
                        while let Some(event) = stream.next().await {
                            if matches!(
                                event,
                                Ok(WatchEvent::Added(_)
                                    | WatchEvent::Modified(_)
                                    | WatchEvent::Deleted(_))
                            ) {
                                return;
                            }
                        }
                        std::future::pending::<()>().await;
                    }
                    Err(_) => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = options.stop.stopped() => {
                    return Err(Error::Stopped { cluster: self.key.clone(), what: options.what.clone() });
                }
                () = tokio::time::sleep(pause) => {}
                () = change => {}
            }
        }
    }
}
