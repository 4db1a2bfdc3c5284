//! What the site and global endpoints share: the errors, the two services, the small HTTP
//! client every part of the model (and the demo and tests) uses, and the HTTP server both
//! kinds of endpoint run on.

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
