//! Fault injection and request counters for one simulated cluster.
//!
//! Faults are data: a [`FaultRule`] says which requests (verb, resource, name) fail, how
//! (500, 429 with Retry-After, 409) and how many times. Latency, closing open watches and
//! making the whole cluster unreachable are switches on [`Faults`]. Counters let tests assert
//! that no write was made and that a client reuses its connections (counted per client, as
//! the cluster's own controllers connect too). Reachable in-process (the [`crate::sim::apiserver::SimCluster`] handle) and
//! over HTTP under `/sim/` (see [`crate::sim::apiserver::http`]).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::status::ApiError;

/// How a matching request fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum FaultKind {
    /// 500 InternalError.
    InternalError,
    /// 429 TooManyRequests with a Retry-After header.
    TooManyRequests {
        /// Seconds in Retry-After.
        retry_after_seconds: u32,
    },
    /// 409 Conflict.
    Conflict,
    /// The request is carried out, then answered with 500 InternalError: the client never
    /// hears that its write landed (a reply lost on the way back). Only writes match.
    LostReply,
}

/// "The next `count` requests matching this fail with `kind`"; `None` fields match anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRule {
    /// API verb: get, list, watch, create, update, patch, delete, deletecollection.
    #[serde(default)]
    pub verb: Option<String>,
    /// Resource plural, e.g. `quayregistries`.
    #[serde(default)]
    pub resource: Option<String>,
    /// Object name.
    #[serde(default)]
    pub name: Option<String>,
    /// How many requests to fail.
    pub count: u32,
    /// How they fail.
    pub fault: FaultKind,
}

impl FaultRule {
    fn matches(&self, verb: &str, resource: &str, name: &str) -> bool {
        self.verb.as_deref().is_none_or(|v| v == verb)
            && self.resource.as_deref().is_none_or(|r| r == resource)
            && self.name.as_deref().is_none_or(|n| n == name)
    }
}

/// Request and connection counts of one cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    /// Requests by verb (including failed ones).
    pub by_verb: BTreeMap<String, u64>,
    /// Successful mutating requests (create, update, patch, delete, deletecollection).
    pub writes: u64,
    /// TCP connections accepted: a client that reuses its connections adds one per
    /// connection it keeps, not one per request.
    #[serde(default)]
    pub connections: u64,
    /// TLS handshakes completed (HTTPS clusters only).
    #[serde(default)]
    pub tls_handshakes: u64,
    /// Connections by the client that sent the first request on them: its `User-Agent`
    /// product (`kubectl`), or [`UNNAMED_CLIENT`](crate::sim::apiserver::UNNAMED_CLIENT)
    /// without one. A connection that carried no request is in [`Counters::connections`]
    /// only.
    #[serde(default)]
    pub connections_by_client: BTreeMap<String, u64>,
    /// Objects served whole by get and list, by resource plural (`secrets`): not those
    /// served as metadata only, so a test can tell a client that read a Secret's data from
    /// one that only learned it exists.
    #[serde(default)]
    pub whole_objects_served: BTreeMap<String, u64>,
}

impl Counters {
    /// The connections `client` opened (and sent a request on).
    #[must_use]
    pub fn connections_of(&self, client: &str) -> u64 {
        self.connections_by_client.get(client).copied().unwrap_or(0)
    }
}

/// The fault switches and counters of one cluster.
#[derive(Debug)]
pub struct Faults {
    rules: Mutex<Vec<FaultRule>>,
    latency: Mutex<Duration>,
    counters: Mutex<Counters>,
    unreachable: watch::Sender<bool>,
    watch_epoch: watch::Sender<u64>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            rules: Mutex::default(),
            latency: Mutex::default(),
            counters: Mutex::default(),
            unreachable: watch::channel(false).0,
            watch_epoch: watch::channel(0).0,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Faults {
    /// Add a rule; rules are checked in the order added.
    pub fn inject(&self, rule: FaultRule) {
        lock(&self.rules).push(rule);
    }

    /// The rules not yet used up, in the order added (tests check that a fault was hit).
    pub fn rules(&self) -> Vec<FaultRule> {
        lock(&self.rules).clone()
    }

    /// Replace every rule with `rules` at once (the latency stays): no request slips between
    /// removing a rule that holds a client and adding the one that should meet its retry.
    pub fn replace(&self, rules: Vec<FaultRule>) {
        *lock(&self.rules) = rules;
    }

    /// Remove every rule and the latency.
    pub fn clear(&self) {
        lock(&self.rules).clear();
        *lock(&self.latency) = Duration::ZERO;
    }

    /// Delay every API request by `latency`.
    pub fn set_latency(&self, latency: Duration) {
        *lock(&self.latency) = latency;
    }

    /// The current injected latency.
    pub fn latency(&self) -> Duration {
        *lock(&self.latency)
    }

    /// End every open watch stream (clients see the stream close and re-watch).
    pub fn close_watches(&self) {
        self.watch_epoch.send_modify(|e| *e += 1);
    }

    /// A receiver that changes whenever watches must close.
    pub fn watch_closer(&self) -> watch::Receiver<u64> {
        self.watch_epoch.subscribe()
    }

    /// Make the cluster refuse connections (and drop open ones), or reachable again.
    pub fn set_unreachable(&self, unreachable: bool) {
        self.unreachable.send_replace(unreachable);
    }

    /// A receiver of the unreachable switch.
    pub fn unreachable_switch(&self) -> watch::Receiver<bool> {
        self.unreachable.subscribe()
    }

    /// Count a request and return the fault it must fail with, if a rule matches.
    pub fn check(&self, verb: &str, resource: &str, name: &str) -> Option<ApiError> {
        *lock(&self.counters)
            .by_verb
            .entry(verb.to_owned())
            .or_default() += 1;
        let fault = self.take(|r| r.fault != FaultKind::LostReply, verb, resource, name)?;
        Some(match fault {
            FaultKind::InternalError => ApiError::Internal("injected fault".into()),
            FaultKind::TooManyRequests {
                retry_after_seconds,
            } => ApiError::TooManyRequests {
                retry_after_seconds,
            },
            FaultKind::Conflict => {
                ApiError::Conflict(super::status::Target::new("", resource, name))
            }
            FaultKind::LostReply => ApiError::Internal("injected fault".into()),
        })
    }

    /// After a write was carried out: the error that replaces its reply, if a
    /// [`FaultKind::LostReply`] rule matches.
    pub fn lose_reply(&self, verb: &str, resource: &str, name: &str) -> Option<ApiError> {
        self.take(|r| r.fault == FaultKind::LostReply, verb, resource, name)
            .map(|_| {
                ApiError::Internal("injected fault: the write landed, its reply was lost".into())
            })
    }

    /// Uses up one request of the first rule that `kind` accepts and matches.
    fn take(
        &self,
        kind: impl Fn(&FaultRule) -> bool,
        verb: &str,
        resource: &str,
        name: &str,
    ) -> Option<FaultKind> {
        let mut rules = lock(&self.rules);
        let index = rules
            .iter()
            .position(|r| r.count > 0 && kind(r) && r.matches(verb, resource, name))?;
        let rule = &mut rules[index];
        rule.count -= 1;
        let fault = rule.fault;
        if rule.count == 0 {
            rules.remove(index);
        }
        Some(fault)
    }

    /// Record one accepted TCP connection.
    pub fn count_connection(&self) {
        lock(&self.counters).connections += 1;
    }

    /// Record that `client` sent the first request on a connection.
    pub fn count_client_connection(&self, client: &str) {
        *lock(&self.counters)
            .connections_by_client
            .entry(client.to_owned())
            .or_default() += 1;
    }

    /// Record one completed TLS handshake.
    pub fn count_tls_handshake(&self) {
        lock(&self.counters).tls_handshakes += 1;
    }

    /// Record one successful write.
    pub fn count_write(&self) {
        lock(&self.counters).writes += 1;
    }

    /// Count `objects` of resource `plural` served whole by a get or a list.
    pub fn count_whole_objects(&self, plural: &str, objects: u64) {
        *lock(&self.counters)
            .whole_objects_served
            .entry(plural.to_owned())
            .or_default() += objects;
    }

    /// A snapshot of the counters.
    pub fn counters(&self) -> Counters {
        lock(&self.counters).clone()
    }

    /// Reset the counters to zero.
    pub fn reset_counters(&self) {
        *lock(&self.counters) = Counters::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_reply_lets_the_request_through_and_fails_its_answer() {
        let faults = Faults::default();
        faults.inject(FaultRule {
            verb: Some("create".into()),
            resource: Some("leases".into()),
            name: None,
            count: 1,
            fault: FaultKind::LostReply,
        });
        assert!(faults.check("create", "leases", "l").is_none());
        assert!(faults.lose_reply("get", "leases", "l").is_none());
        assert_eq!(
            faults.lose_reply("create", "leases", "l").map(|e| e.code()),
            Some(500)
        );
        assert!(faults.lose_reply("create", "leases", "l").is_none());
    }

    #[test]
    fn rule_fails_exactly_count_matching_requests() {
        let faults = Faults::default();
        faults.inject(FaultRule {
            verb: Some("patch".into()),
            resource: Some("quayregistries".into()),
            name: None,
            count: 2,
            fault: FaultKind::TooManyRequests {
                retry_after_seconds: 1,
            },
        });
        assert!(faults.check("get", "quayregistries", "r").is_none());
        assert_eq!(
            faults
                .check("patch", "quayregistries", "r")
                .map(|e| e.code()),
            Some(429)
        );
        assert_eq!(
            faults
                .check("patch", "quayregistries", "s")
                .map(|e| e.code()),
            Some(429)
        );
        assert!(faults.rules().is_empty(), "a used-up rule is dropped");
        assert!(faults.check("patch", "quayregistries", "r").is_none());
        assert_eq!(faults.counters().by_verb["patch"], 3);
    }

    #[test]
    fn replace_swaps_every_rule_at_once_and_keeps_the_latency() {
        let faults = Faults::default();
        faults.set_latency(Duration::from_millis(5));
        faults.inject(FaultRule {
            verb: Some("patch".into()),
            resource: None,
            name: None,
            count: u32::MAX,
            fault: FaultKind::InternalError,
        });
        let seven = FaultRule {
            verb: Some("patch".into()),
            resource: Some("quayregistries".into()),
            name: None,
            count: 7,
            fault: FaultKind::InternalError,
        };
        faults.replace(vec![seven.clone()]);
        assert_eq!(faults.rules(), [seven]);
        assert_eq!(faults.latency(), Duration::from_millis(5));
        assert!(faults.check("patch", "secrets", "x").is_none());
        assert!(faults.check("patch", "quayregistries", "x").is_some());
    }
}
