//! A global endpoint: the one name in front of every site's endpoint for one service.
//!
//! Each backend (a site endpoint) is in one [`BackendState`]. A checker task per backend
//! `GET`s its health URL every [`GlobalOptions::check_interval`] (the first check runs at
//! once): 200 makes it [`BackendState::Healthy`], anything else [`BackendState::Unhealthy`]
//! with the reason. Requests go round robin to healthy backends only; a forwarded request
//! that finds the site refusing the connection or answering 503 takes the site out at once
//! and is retried on the next healthy site (a real load balancer's passive health check and
//! `retry-on conn-failure,503`), so a site that has just gone down costs no failed request
//! while another is up. A health check whose request was in flight while a forwarded request
//! changed the backend's state is dropped: its answer is older news. With no healthy backend
//! the answer is 503 with a body naming every site's state. Every forwarded answer carries
//! [`SITE_HEADER`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use serde::Serialize;
use serde_json::json;
use tokio::task::JoinHandle;

use crate::errors;

use super::shared::{
    Error, HttpClient, HttpServer, REQUEST_TIMEOUT, SITE_HEADER, Service, get, http_client,
    json_response, send,
};

/// How a global endpoint checks its backends; [`Default`] gives the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalOptions {
    /// Time between two health checks of one backend. Default 250 ms.
    pub check_interval: Duration,
}

impl Default for GlobalOptions {
    fn default() -> Self {
        Self {
            check_interval: Duration::from_millis(250),
        }
    }
}

/// What a global endpoint believes about one site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum BackendState {
    /// Not checked yet: gets no traffic.
    Unchecked,
    /// The last check answered 200: gets traffic.
    Healthy,
    /// The last check, or a forwarded request, failed: gets no traffic until a check passes.
    Unhealthy {
        /// What failed.
        reason: String,
    },
}

impl BackendState {
    /// Whether requests are forwarded to the site.
    #[must_use]
    pub fn is_routable(&self) -> bool {
        matches!(self, Self::Healthy)
    }
}

/// What [`GlobalEndpoint::sample`] saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sample {
    /// Answers (any status but 503) by the site that gave them.
    pub answered: BTreeMap<String, usize>,
    /// 503 answers: no site was ready.
    pub unavailable: usize,
}

/// One request of a [`Monitor`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// When it was sent.
    pub at: Instant,
    /// The status (`None`: no answer at all).
    pub status: Option<u16>,
    /// The site that answered.
    pub site: Option<String>,
    /// The Quay version the answer reported, if any.
    pub version: Option<String>,
}

impl Probe {
    /// Whether a site answered (any status but 503, and an answer at all).
    #[must_use]
    pub fn is_answered(&self) -> bool {
        self.status.is_some_and(|s| s != 503)
    }
}

/// Asks a global endpoint's health path every interval in the background, as a client of the
/// global name would, until [`Monitor::stop`]: to check that the name answers throughout an
/// operation (an upgrade), and which sites and versions answered.
#[derive(Debug)]
pub struct Monitor {
    task: JoinHandle<()>,
    probes: Arc<Mutex<Vec<Probe>>>,
}

impl Monitor {
    /// Starts asking `url` every `interval` in the background. Must be called within a Tokio
    /// runtime; the monitor keeps running on it until stopped or dropped.
    #[must_use]
    pub fn start(url: String, interval: Duration) -> Self {
        let probes = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&probes);
        let task = tokio::spawn(async move {
            loop {
                let at = Instant::now();
                let probe = match get(&url).await {
                    Ok(answer) => Probe {
                        at,
                        status: Some(answer.status),
                        version: answer.json()["version"].as_str().map(str::to_owned),
                        site: answer.site,
                    },
                    Err(_) => Probe {
                        at,
                        status: None,
                        site: None,
                        version: None,
                    },
                };
                sink.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(probe);
                tokio::time::sleep(interval).await;
            }
        });
        Self { task, probes }
    }

    /// The probes so far.
    #[must_use]
    pub fn probes(&self) -> Vec<Probe> {
        self.probes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stops probing and returns every probe, in order.
    pub async fn stop(mut self) -> Vec<Probe> {
        self.task.abort();
        // Aborted tasks end with a cancellation error, which is the point.
        let _ = (&mut self.task).await;
        self.probes()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Debug)]
struct Backend {
    site: String,
    url: String,
    /// The state and how many times it was set, so a health check can tell whether newer
    /// news arrived while its request was in flight.
    state: Mutex<(u64, BackendState)>,
}

impl Backend {
    fn state(&self) -> BackendState {
        self.lock().1.clone()
    }

    /// How many times the state was set so far: pass it to [`Backend::set_unless_changed`].
    fn generation(&self) -> u64 {
        self.lock().0
    }

    fn set(&self, state: BackendState) {
        let mut guard = self.lock();
        *guard = (guard.0 + 1, state);
    }

    /// Sets `state` unless the state was set since `generation` was read: a health check
    /// answered 200 before a forwarded request found the site down must not bring it back.
    fn set_unless_changed(&self, generation: u64, state: BackendState) {
        let mut guard = self.lock();
        if guard.0 == generation {
            *guard = (generation + 1, state);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, BackendState)> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Debug)]
struct Shared {
    service: Service,
    backends: Vec<Backend>,
    next: AtomicUsize,
    client: HttpClient,
}

/// A running global endpoint.
#[derive(Debug)]
pub struct GlobalEndpoint {
    shared: Arc<Shared>,
    server: HttpServer,
    checkers: Checkers,
}

/// The checker tasks, aborted when dropped.
#[derive(Debug)]
struct Checkers(Vec<JoinHandle<()>>);

impl Drop for Checkers {
    fn drop(&mut self) {
        for checker in &self.0 {
            checker.abort();
        }
    }
}

impl GlobalEndpoint {
    /// Serves `service` on a free loopback port in front of `backends` (`(site, base URL)`),
    /// checking each as the module doc says.
    ///
    /// # Errors
    /// [`Error::Bind`].
    pub async fn start(
        service: Service,
        backends: Vec<(String, String)>,
        opts: &GlobalOptions,
    ) -> Result<Self, Error> {
        let shared = Arc::new(Shared {
            service,
            backends: backends
                .into_iter()
                .map(|(site, url)| Backend {
                    site,
                    url,
                    state: Mutex::new((0, BackendState::Unchecked)),
                })
                .collect(),
            next: AtomicUsize::new(0),
            client: http_client(),
        });
        let handler_shared = Arc::clone(&shared);
        let server = HttpServer::start(&format!("global {service} endpoint"), move |request| {
            forward(Arc::clone(&handler_shared), request)
        })
        .await?;
        let checkers = (0..shared.backends.len())
            .map(|i| tokio::spawn(check_forever(Arc::clone(&shared), i, opts.check_interval)))
            .collect();
        Ok(Self {
            checkers: Checkers(checkers),
            shared,
            server,
        })
    }

    /// The service.
    #[must_use]
    pub fn service(&self) -> Service {
        self.shared.service
    }

    /// `http://127.0.0.1:PORT`: what the global hostname resolves to.
    #[must_use]
    pub fn url(&self) -> &str {
        self.server.url()
    }

    /// Every site's state, in the order the sites were given.
    #[must_use]
    pub fn states(&self) -> Vec<(String, BackendState)> {
        self.shared
            .backends
            .iter()
            .map(|b| (b.site.clone(), b.state()))
            .collect()
    }

    /// The sites requests are forwarded to now (the healthy ones), in order.
    #[must_use]
    pub fn routed_sites(&self) -> Vec<String> {
        self.shared
            .backends
            .iter()
            .filter(|b| b.state().is_routable())
            .map(|b| b.site.clone())
            .collect()
    }

    /// Sends `requests` health requests through the endpoint, as a client of the global
    /// name would, and counts who answered.
    ///
    /// # Errors
    /// The first request that got no answer at all ([`Error::Unreachable`],
    /// [`Error::TimedOut`]).
    pub async fn sample(&self, requests: usize) -> Result<Sample, Error> {
        let url = format!("{}{}", self.url(), self.shared.service.health_path());
        let mut sample = Sample::default();
        for _ in 0..requests {
            let answer = get(&url).await?;
            match answer.site {
                Some(site) if answer.status != 503 => {
                    *sample.answered.entry(site).or_default() += 1;
                }
                _ => sample.unavailable += 1,
            }
        }
        Ok(sample)
    }

    /// Starts a [`Monitor`] of this endpoint that sends one request every `interval`. Must be
    /// called within a Tokio runtime; the monitor keeps running on it.
    #[must_use]
    pub fn monitor(&self, interval: Duration) -> Monitor {
        let url = format!("{}{}", self.url(), self.shared.service.health_path());
        Monitor::start(url, interval)
    }

    /// Stops serving and checking.
    pub async fn stop(self) {
        drop(self.checkers);
        self.server.stop().await;
    }
}

async fn check_forever(shared: Arc<Shared>, index: usize, interval: Duration) {
    let backend = &shared.backends[index];
    let url = format!("{}{}", backend.url, shared.service.health_path());
    loop {
        let request = Request::get(&url)
            .body(Full::new(Bytes::new()))
            .expect("a GET of a base URL and a fixed path is a valid request");
        let generation = backend.generation();
        let state = match send(&shared.client, &url, request).await {
            Ok(answer) if answer.status == 200 => BackendState::Healthy,
            Ok(answer) => BackendState::Unhealthy {
                reason: format!("health check {url} answered {}", answer.status),
            },
            Err(err) => BackendState::Unhealthy {
                reason: format!("health check {url}: {}", errors::chain(&err)),
            },
        };
        backend.set_unless_changed(generation, state);
        tokio::time::sleep(interval).await;
    }
}

/// Headers that describe one connection, not the request: a proxy does not pass them on.
const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

async fn forward(shared: Arc<Shared>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let Ok(body) = body
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
    else {
        return json_response(
            StatusCode::BAD_REQUEST,
            &json!({"status_code": 400, "error": "the request body could not be read"}),
        );
    };
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str);
    let count = shared.backends.len();
    let start = shared.next.fetch_add(1, Ordering::Relaxed);
    for i in 0..count {
        let backend = &shared.backends[(start + i) % count];
        if !backend.state().is_routable() {
            continue;
        }
        let url = format!("{}{path}", backend.url);
        let mut builder = Request::builder().method(parts.method.clone()).uri(&url);
        for (name, value) in &parts.headers {
            if !HOP_BY_HOP.contains(&name.as_str()) {
                builder = builder.header(name, value);
            }
        }
        let Ok(outgoing) = builder.body(Full::new(body.clone())) else {
            continue;
        };
        let answer = tokio::time::timeout(REQUEST_TIMEOUT, async {
            let response = shared.client.request(outgoing).await?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((parts, body))
        })
        .await;
        match answer {
            Ok(Ok((parts, _))) if parts.status == StatusCode::SERVICE_UNAVAILABLE => {
                backend.set(BackendState::Unhealthy {
                    reason: format!("{url} answered 503 to a forwarded request"),
                });
            }
            Ok(Ok((parts, body))) => {
                let mut response = Response::from_parts(parts, Full::new(body));
                if let Ok(site) = HeaderValue::from_str(&backend.site) {
                    response.headers_mut().insert(SITE_HEADER, site);
                }
                return response;
            }
            Ok(Err(err)) => backend.set(BackendState::Unhealthy {
                reason: format!("forward to {url}: {}", errors::chain(err.as_ref())),
            }),
            Err(_) => backend.set(BackendState::Unhealthy {
                reason: format!("forward to {url}: no answer within {REQUEST_TIMEOUT:?}"),
            }),
        }
    }
    let sites: BTreeMap<&str, BackendState> = shared
        .backends
        .iter()
        .map(|b| (b.site.as_str(), b.state()))
        .collect();
    json_response(
        StatusCode::SERVICE_UNAVAILABLE,
        &json!({
            "status_code": 503,
            "service": shared.service,
            "error": format!("no site is ready to serve {}", shared.service),
            "sites": sites,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lb::SiteEndpoint;
    use crate::lb::site::tests::{FakePods, serving};

    async fn until<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(out) = check().await {
                return out;
            }
            assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn forwards_only_to_sites_with_ready_pods_and_answers_503_without_any() {
        let (east, west) = (Arc::new(FakePods::default()), Arc::new(FakePods::default()));
        let e = SiteEndpoint::start("east", Service::Quay, east.clone())
            .await
            .unwrap();
        let w = SiteEndpoint::start("west", Service::Quay, west.clone())
            .await
            .unwrap();
        let opts = GlobalOptions {
            check_interval: Duration::from_millis(20),
        };
        let global = GlobalEndpoint::start(
            Service::Quay,
            vec![
                ("east".into(), e.url().into()),
                ("west".into(), w.url().into()),
            ],
            &opts,
        )
        .await
        .unwrap();

        until("both checked", async || {
            global
                .states()
                .iter()
                .all(|(_, s)| *s != BackendState::Unchecked)
                .then_some(())
        })
        .await;
        let none = get(&format!("{}/health/instance", global.url()))
            .await
            .unwrap();
        assert_eq!(none.status, 503);
        assert_eq!(none.json()["error"], "no site is ready to serve quay");
        assert_eq!(none.json()["sites"]["east"]["state"], "unhealthy");

        east.quay.lock().unwrap().push(serving("east", "e-0"));
        until("east routed", async || {
            (global.routed_sites() == ["east"]).then_some(())
        })
        .await;
        let sample = global.sample(4).await.unwrap();
        assert_eq!(sample.answered.get("east"), Some(&4), "{sample:?}");

        west.quay.lock().unwrap().push(serving("west", "w-0"));
        until("both routed", async || {
            (global.routed_sites().len() == 2).then_some(())
        })
        .await;
        let sample = global.sample(4).await.unwrap();
        assert_eq!(
            sample.answered.len(),
            2,
            "round robin reaches both: {sample:?}"
        );

        // East goes down: requests that still reach it are retried on west, none fails.
        east.quay.lock().unwrap().clear();
        let sample = global.sample(4).await.unwrap();
        assert_eq!(sample.unavailable, 0, "{sample:?}");
        assert_eq!(sample.answered.get("west"), Some(&4), "{sample:?}");
        // A health check of east in flight since before the clear may still answer 200: it
        // must not bring east back (`Backend::set_unless_changed`).
        assert_eq!(global.routed_sites(), ["west"]);
        global.stop().await;
    }

    #[test]
    fn a_health_check_answered_before_a_forwarded_failure_does_not_undo_it() {
        let backend = Backend {
            site: "east".into(),
            url: "http://127.0.0.1:1".into(),
            state: Mutex::new((0, BackendState::Healthy)),
        };
        // The check sends its request; a forwarded request finds the site down meanwhile.
        let generation = backend.generation();
        backend.set(BackendState::Unhealthy {
            reason: "answered 503 to a forwarded request".into(),
        });
        // The check's 200, older news, arrives.
        backend.set_unless_changed(generation, BackendState::Healthy);
        assert!(
            matches!(backend.state(), BackendState::Unhealthy { .. }),
            "{:?}",
            backend.state()
        );
        // The next check's answer is taken.
        backend.set_unless_changed(backend.generation(), BackendState::Healthy);
        assert_eq!(backend.state(), BackendState::Healthy);
    }

    #[tokio::test]
    async fn a_monitor_records_the_outage_of_the_only_site() {
        let pods = Arc::new(FakePods::default());
        pods.quay.lock().unwrap().push(serving("east", "e-0"));
        let e = SiteEndpoint::start("east", Service::Quay, pods.clone())
            .await
            .unwrap();
        let opts = GlobalOptions {
            check_interval: Duration::from_millis(20),
        };
        let global =
            GlobalEndpoint::start(Service::Quay, vec![("east".into(), e.url().into())], &opts)
                .await
                .unwrap();
        until("east routed", async || {
            (!global.routed_sites().is_empty()).then_some(())
        })
        .await;
        let monitor = global.monitor(Duration::from_millis(5));
        until("answers", async || {
            monitor
                .probes()
                .iter()
                .any(Probe::is_answered)
                .then_some(())
        })
        .await;
        pods.quay.lock().unwrap().clear();
        until("an outage", async || {
            monitor
                .probes()
                .iter()
                .any(|p| p.status == Some(503))
                .then_some(())
        })
        .await;
        pods.quay.lock().unwrap().push(serving("east", "e-1"));
        until("answers again", async || {
            monitor
                .probes()
                .last()
                .is_some_and(Probe::is_answered)
                .then_some(())
        })
        .await;
        let probes = monitor.stop().await;
        let first = probes.iter().find(|p| p.is_answered()).unwrap();
        assert_eq!(first.site.as_deref(), Some("east"));
        assert_eq!(first.version.as_deref(), Some("3.15.2"));
        assert!(probes.windows(2).all(|w| w[0].at <= w[1].at), "in order");
    }

    #[tokio::test]
    async fn a_site_that_refuses_connections_is_unhealthy() {
        let pods = Arc::new(FakePods::default());
        pods.quay.lock().unwrap().push(serving("east", "e-0"));
        let e = SiteEndpoint::start("east", Service::Quay, pods)
            .await
            .unwrap();
        let url = e.url().to_owned();
        e.stop().await;
        let global = GlobalEndpoint::start(
            Service::Quay,
            vec![("east".into(), url)],
            &GlobalOptions::default(),
        )
        .await
        .unwrap();
        let state = until("checked", async || {
            global
                .states()
                .into_iter()
                .map(|(_, s)| s)
                .find(|s| *s != BackendState::Unchecked)
        })
        .await;
        assert!(
            matches!(&state, BackendState::Unhealthy { reason } if reason.contains("no answer")),
            "{state:?}"
        );
    }
}
