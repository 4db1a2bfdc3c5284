//! Simulated Kubernetes clusters: an in-process API server that kube-rs and kubectl accept
//! ([`apiserver`]), and the controllers that run beside it as its clients: the Quay Operator
//! model ([`operator`]), the OLM model ([`olm`]), and the safety [`ledger`] they report to.
//!
//! # What it models
//! - HTTPS on a loopback port with a per-run CA (`127.0.0.1` + `localhost`) and a bearer
//!   token or a client certificate the CA signed (or plain HTTP without auth), discovery (legacy and aggregated v2), `/version`
//!   (`v1.32.4`, which makes kubectl's dispatcher run its 1.32 binary) and OpenAPI v3.
//! - A generic object store: get, list, watch, create, update, patch (JSON merge, JSON
//!   patch, strategic merge for built-ins, server-side apply), delete, deletecollection;
//!   `resourceVersion` (one counter per cluster), `uid`, `creationTimestamp`, `generation`
//!   (moves on non-metadata, non-status changes), optimistic concurrency, label and field
//!   selectors, `limit`/`continue`, finalizers and `deletionTimestamp`, `ownerReferences`
//!   garbage collection (also of objects written for owners that are already gone),
//!   namespace deletion cascading, `/status` and `/scale`; gets and lists answered as
//!   `meta.k8s.io` `PartialObjectMetadata` when `Accept` asks for it (kube-rs's
//!   `get_metadata`, `list_metadata`).
//! - A built-in kind in two versions: `autoscaling/v1` HorizontalPodAutoscalers served by
//!   conversion from the stored `autoscaling/v2` (CPU target, the rest kept in annotations),
//!   with `v2` the preferred version in discovery.
//! - CRDs: creating one serves it (discovery and OpenAPI too), deleting one stops serving it
//!   and deletes its objects; objects are defaulted, pruned and validated against the
//!   structural schema and its CEL rules. QuayRegistry is preloaded; the `openshift` flavour
//!   adds Route and the OLM types, and, like a real OpenShift's monitoring stack, the
//!   `monitoring.coreos.com/v1` `ServiceMonitor` and `PrometheusRule` and the
//!   `openshift-config-managed` namespace ([`ClusterConfig::monitoring`], default on).
//! - Faults ([`FaultRule`], [`apiserver::Faults`]): failing requests, latency, dropped
//!   watches, an unreachable cluster; counters of requests by verb, writes, objects served
//!   whole by gets and lists per resource (not those served as metadata), connections and
//!   TLS handshakes, with each connection filed under the `User-Agent` of its first request
//!   ([`apiserver::Counters::connections_of`]; kube-rs sends none unless
//!   [`SimCluster::client_for`] names the client).
//! - Reconcile counters of the models beside it ([`Reconciles`]), so a test can prove a
//!   controller ran before it asserts that the controller did nothing.
//! - Open watch streams by resource ([`apiserver::OpenWatches`]), so tests can wait until a
//!   client's watch is established before they write.
//!
//! # What it does not model
//! Authorization (any valid token may do anything), admission webhooks, conversion between
//! CRD versions, Table output (kubectl falls back to plain lists), protobuf bodies beyond the
//! fields kubectl's `create` generators and `run` set (decoded with the `k8s-pb` types for
//! Namespace, Secret, ConfigMap, ServiceAccount, Service, Pod, Deployment, Job, Ingress and
//! HorizontalPodAutoscaler `v2`; any other field is a 400 naming it, other kinds a 415 so the
//! client sends JSON; replies are always JSON), validation of built-in kinds, controllers (the server starts no
//! pods; the Quay Operator model in [`operator`] runs beside it as a client, and [`ledger`]
//! records what it must never do), real garbage-collection timing (dependents and
//! namespace contents go before the delete request returns), list snapshots (a `continue`
//! token pages through the current state), `DELETED` events for objects that stop matching a
//! watch selector, metadata-only answers to watches and subresources (served whole), and
//! API priority and fairness.
//!
//! # Bad requests: what the sim answers and what a real API server does
//!
//! | request | sim | real kube-apiserver |
//! |---|---|---|
//! | no/wrong bearer token over HTTPS and no client certificate from the cluster's CA | 401 `Unauthorized` | 401 `Unauthorized` |
//! | GET of a missing object | 404 `NotFound`, `details{name,group,kind}` | same |
//! | unknown resource or path | 404 `NotFound` "the server could not find the requested resource" | same |
//! | create in a missing namespace | 404 `NotFound` (namespaces "x") | same |
//! | create in a terminating namespace | 403 `Forbidden` | same |
//! | create of an existing name | 409 `AlreadyExists` | same |
//! | PUT with a stale `resourceVersion` | 409 `Conflict` "the object has been modified" | same |
//! | delete with a failed uid/resourceVersion precondition | 409 `Conflict` | same (message differs) |
//! | server-side apply over another manager's field, no force | 409 `Conflict`, one `FieldManagerConflict` cause per field | same |
//! | CR failing schema or CEL rules | 422 `Invalid`, causes with field path and message | same (some messages differ in wording) |
//! | unknown field with `fieldValidation=Strict` | 400 `BadRequest` "strict decoding error" | same (CRDs); built-ins: not checked by the sim |
//! | unknown field otherwise | pruned, `Warning` header | same |
//! | strategic merge patch on a custom resource | 415 `UnsupportedMediaType` | same |
//! | malformed JSON body or selector | 400 `BadRequest` | same |
//! | protobuf body of a kind without a converter (CRs, Endpoints, Lease, ...) | 415 `UnsupportedMediaType` | accepted for every built-in kind; 415 for CRs |
//! | protobuf body with a field the converter does not know (volumes, probes, affinity, ...) | 400 `BadRequest` naming the message and field number | accepted |
//! | `Accept` asking only for a `PartialObjectMetadata` form the request cannot have (a list as one object, another group or version) | 406 `NotAcceptable` | same |
//! | watch from a compacted resourceVersion | 200, one `ERROR` event with a 410 `Expired` Status | same |
//! | PUT of a missing object | 404 `NotFound` | 404 for most kinds (some allow create-on-update) |
//! | method not allowed on a path | 405 `MethodNotAllowed` | same |
//! | injected fault | 500 `InternalError` / 429 `TooManyRequests` + `Retry-After` / 409 `Conflict` | (n/a) |

pub mod apiserver;
pub mod ledger;
pub mod olm;
pub mod operator;
mod reconciles;

pub use apiserver::{ClientCertificate, ClusterConfig, FaultKind, FaultRule, Flavour, SimCluster};
pub use reconciles::Reconciles;

/// Install the aws-lc-rs rustls provider as the process default (idempotent).
///
/// Call before building any kube client: with more than one provider compiled in, rustls
/// cannot pick one on its own and panics.
pub fn install_crypto_provider() {
    // Err means a provider is already installed, which is what we want.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}
