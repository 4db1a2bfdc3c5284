//! The global load balancer model of the `local` backend: what sits in front of the sites in
//! a geo-replicated Quay (one FQDN, `SERVER_HOSTNAME`, for all sites; another for Clair).
//!
//! # Brief overview
//! - [`site::SiteEndpoint`]: one loopback HTTP endpoint per site and service, standing in for
//!   the site's Route. Quay's answers `/health/instance` with the site, version, config hash
//!   and `SERVER_HOSTNAME` of a ready quay-app pod; Clair's answers `/healthz`. With no ready
//!   pod behind it, every request gets 503, as an OpenShift router answers for a Route
//!   without endpoints. It reads the pods from the operator model through [`crate::quay::SitePods`].
//! - [`global::GlobalEndpoint`]: one loopback "global" endpoint per service. It health-checks
//!   every site endpoint on an interval and forwards each request to a healthy one (round
//!   robin); a site that fails a check, refuses the connection or answers 503 to a forwarded
//!   request is taken out at once and the request is retried on the next healthy site. With
//!   none healthy it answers 503 with a body naming every site's state
//!   ([`global::BackendState`]). [`GlobalEndpoint::routed_sites`] says which sites it routes to
//!   now; [`GlobalEndpoint::sample`] and [`GlobalEndpoint::monitor`] ask it as a client would
//!   (the monitor in the background, to show the name answered throughout an upgrade).
//! - [`LoadBalancer`]: both global endpoints and every site endpoint of a run, as
//!   [`crate::local::LocalEnv`] starts them; [`get`] is the small HTTP client everything here
//!   (and the demo and tests) uses.
//!
//! # What it does not model
//! TLS, DNS, Host- or SNI-based routing (every site endpoint answers whatever Host it gets),
//! Quay's other endpoints (`/health/endtoend`, the registry API: a site answers 404 for them),
//! health-check thresholds (one failed check takes a site out, one passed check puts it back),
//! and streaming (bodies are read whole before they are forwarded).

mod balancer;
pub mod global;
mod shared;
pub mod site;

pub use self::balancer::LoadBalancer;
pub use self::global::{BackendState, GlobalEndpoint, GlobalOptions, Monitor, Probe, Sample};
pub use self::shared::{Answer, Error, REQUEST_TIMEOUT, SITE_HEADER, Service, get};
pub use self::site::SiteEndpoint;
