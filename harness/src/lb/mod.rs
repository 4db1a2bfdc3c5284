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

pub mod global;
pub mod site;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::http_server::serve_until_shutdown;
use crate::quay::SitePods;

pub use self::global::{BackendState, GlobalEndpoint, GlobalOptions, Monitor, Probe, Sample};
pub use self::site::SiteEndpoint;

/// The response header in which a global endpoint names the site that answered.
pub const SITE_HEADER: &str = "x-georep-site";

/// How long a [`get`] (a health check, a forwarded request) may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// How long stopping an endpoint lets open requests finish.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// Why an endpoint could not start, or a request failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No loopback port could be bound.
    #[error("bind a loopback port for the {what}")]
    Bind {
        /// Which endpoint.
        what: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The URL is not an `http://` URL.
    #[error("{url} is not an http:// URL")]
    BadUrl {
        /// The URL.
        url: String,
    },
    /// No answer: nothing listens, the connection broke, or the body could not be read.
    #[error("no answer from {url}")]
    Unreachable {
        /// The URL.
        url: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No answer within [`REQUEST_TIMEOUT`].
    #[error("{url} did not answer within {REQUEST_TIMEOUT:?}")]
    TimedOut {
        /// The URL.
        url: String,
    },
}

/// The two services a geo-replicated deployment puts behind a global name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// Quay (`SERVER_HOSTNAME`).
    Quay,
    /// Clair (a second global name, reference/quay-operator.md §4.3 option B).
    Clair,
}

impl Service {
    /// The path a load balancer health-checks: Quay's `/health/instance` (what the operator's
    /// probes use), Clair's `/healthz` (its introspection endpoint).
    #[must_use]
    pub fn health_path(self) -> &'static str {
        match self {
            Self::Quay => "/health/instance",
            Self::Clair => "/healthz",
        }
    }

    /// `quay` or `clair`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Quay => "quay",
            Self::Clair => "clair",
        }
    }
}

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One HTTP answer, read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The site named by [`SITE_HEADER`] (set by a global endpoint).
    pub site: Option<String>,
    /// The body.
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON (`Null` when it is not JSON).
    #[must_use]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// The HTTP client of this module: plain HTTP/1, no retries.
pub(crate) type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub(crate) fn http_client() -> HttpClient {
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(10))
        .build_http()
}

/// `GET url`, bounded by [`REQUEST_TIMEOUT`]: how a user (or a health check) asks an endpoint.
///
/// # Errors
/// [`Error::BadUrl`], [`Error::Unreachable`] or [`Error::TimedOut`]; an answer with any status
/// is `Ok`.
///
/// # Examples
/// ```no_run
/// # async fn f(env: &georep_harness::local::LocalEnv) -> Result<(), georep_harness::lb::Error> {
/// let answer = georep_harness::lb::get(&format!("{}/health/instance", env.global_quay_url())).await?;
/// println!("{} from {:?}", answer.status, answer.site);
/// # Ok(())
/// # }
/// ```
pub async fn get(url: &str) -> Result<Answer, Error> {
    let request = Request::get(url)
        .body(Full::new(Bytes::new()))
        .map_err(|_| Error::BadUrl {
            url: url.to_owned(),
        })?;
    send(&http_client(), url, request).await
}

pub(crate) async fn send(
    client: &HttpClient,
    url: &str,
    request: Request<Full<Bytes>>,
) -> Result<Answer, Error> {
    if !url.starts_with("http://") {
        return Err(Error::BadUrl {
            url: url.to_owned(),
        });
    }
    let unreachable = |source: Box<dyn std::error::Error + Send + Sync>| Error::Unreachable {
        url: url.to_owned(),
        source,
    };
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| unreachable(Box::new(e)))?;
        let status = response.status().as_u16();
        let site = response
            .headers()
            .get(SITE_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| unreachable(Box::new(e)))?
            .to_bytes();
        Ok(Answer { status, site, body })
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .unwrap_or_else(|_| {
            Err(Error::TimedOut {
                url: url.to_owned(),
            })
        })
}

/// A JSON response.
pub(crate) fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(format!("{body:#}\n"))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// A running loopback HTTP server: [`HttpServer::stop`] stops accepting and lets open
/// requests finish (bounded); dropping it aborts the server.
#[derive(Debug)]
pub(crate) struct HttpServer {
    url: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Binds a free loopback port (before the server task starts, so no other process can take
    /// it in between) and serves `handler` on it.
    pub(crate) async fn start<H, F>(what: &str, handler: H) -> Result<Self, Error>
    where
        H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
        F: Future<Output = Response<Full<Bytes>>> + Send + 'static,
    {
        let bind = |source| Error::Bind {
            what: what.to_owned(),
            source,
        };
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(bind)?;
        let port = listener.local_addr().map_err(bind)?.port();
        let (shutdown, shutdown_rx) = oneshot::channel();
        let handler = Arc::new(handler);
        let service = service_fn(move |request| {
            let response = handler(request);
            async move { Ok::<_, Infallible>(response.await) }
        });
        let task = tokio::spawn(serve_until_shutdown(listener, service, shutdown_rx));
        Ok(Self {
            url: format!("http://127.0.0.1:{port}"),
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    pub(crate) async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            // Err: the server task is gone already, which is the goal.
            let _ = shutdown.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(STOP_TIMEOUT, &mut task).await.is_err()
        {
            task.abort();
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Every endpoint of one run's load balancer model: a Quay and a Clair endpoint per site and
/// the two global endpoints in front of them.
#[derive(Debug)]
pub struct LoadBalancer {
    sites: Vec<(String, SiteEndpoint, SiteEndpoint)>,
    quay: GlobalEndpoint,
    clair: GlobalEndpoint,
}

impl LoadBalancer {
    /// Starts a Quay and a Clair endpoint for every `(site, pods)`, then the two global
    /// endpoints over them. Must be called within a Tokio runtime.
    ///
    /// # Errors
    /// [`Error::Bind`]; whatever had started is stopped again (by `Drop`).
    pub async fn start(
        sites: Vec<(String, Arc<dyn SitePods>)>,
        opts: &GlobalOptions,
    ) -> Result<Self, Error> {
        let mut endpoints = Vec::new();
        for (site, pods) in sites {
            let quay = SiteEndpoint::start(&site, Service::Quay, Arc::clone(&pods)).await?;
            let clair = SiteEndpoint::start(&site, Service::Clair, pods).await?;
            endpoints.push((site, quay, clair));
        }
        let backends = |service: Service| -> Vec<(String, String)> {
            endpoints
                .iter()
                .map(|(site, quay, clair)| {
                    let endpoint = if service == Service::Quay {
                        quay
                    } else {
                        clair
                    };
                    (site.clone(), endpoint.url().to_owned())
                })
                .collect()
        };
        let quay = GlobalEndpoint::start(Service::Quay, backends(Service::Quay), opts).await?;
        let clair = GlobalEndpoint::start(Service::Clair, backends(Service::Clair), opts).await?;
        Ok(Self {
            sites: endpoints,
            quay,
            clair,
        })
    }

    /// The global Quay endpoint.
    #[must_use]
    pub fn quay(&self) -> &GlobalEndpoint {
        &self.quay
    }

    /// The global Clair endpoint.
    #[must_use]
    pub fn clair(&self) -> &GlobalEndpoint {
        &self.clair
    }

    /// One site's endpoint for `service`.
    #[must_use]
    pub fn site(&self, site: &str, service: Service) -> Option<&SiteEndpoint> {
        self.sites
            .iter()
            .find(|(name, ..)| name == site)
            .map(|(_, quay, clair)| match service {
                Service::Quay => quay,
                Service::Clair => clair,
            })
    }

    /// What `services.json` says about the load balancer.
    #[must_use]
    pub fn to_entry(&self) -> crate::services::LoadBalancerEntry {
        crate::services::LoadBalancerEntry {
            quay: self.quay.url().to_owned(),
            clair: self.clair.url().to_owned(),
            sites: self
                .sites
                .iter()
                .map(|(site, quay, clair)| {
                    (
                        site.clone(),
                        crate::services::SiteHealthEntry {
                            quay_health: quay.health_url(),
                            clair_health: clair.health_url(),
                        },
                    )
                })
                .collect::<BTreeMap<_, _>>(),
        }
    }

    /// Stops the global endpoints, then the site endpoints.
    pub async fn stop(self) {
        self.quay.stop().await;
        self.clair.stop().await;
        for (_, quay, clair) in self.sites {
            quay.stop().await;
            clair.stop().await;
        }
    }
}
