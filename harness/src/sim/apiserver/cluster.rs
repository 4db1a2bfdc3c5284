//! One running simulated cluster: its state, its listeners, its lifecycle.
//!
//! [`SimCluster::start`] binds two loopback ports that serve the same API with hyper over
//! HTTPS (or plain HTTP): the external one, which the kubeconfig names and the provider
//! uses, and the in-cluster one (a real cluster's `kubernetes.default.svc`), which the
//! simulated controllers, Quay's replication worker and the harness's own inspection use.
//! The unreachable fault is implemented here and cuts the external one only: its listener
//! is closed (connections are refused) and open connections are dropped until the cluster
//! is reachable again, while the operator, like a real in-cluster operator when the network
//! between Terraform and the cluster fails, goes on watching and reconciling.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::builtin_crds;
use super::faults::Faults;
use super::flavour::Flavour;
use super::http::{VerifiedClientCertificate, handle as serve_request};
use super::kubeconfig::{self, Endpoint};
use super::open_watches::OpenWatches;
use super::seed;
use super::state::ClusterState;
use super::store::Store;
use super::tls::{self, Authority, ClientCertificate};
use super::wire::client_name;

/// Starting or using a simulated cluster failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The listener could not be bound.
    #[error("bind simulated cluster {site} on {address}")]
    Bind {
        /// The site.
        site: String,
        /// The address tried.
        address: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The OS random source gave no bearer token.
    #[error("make a bearer token for simulated cluster {site}")]
    Token {
        /// The site.
        site: String,
        /// The cause.
        #[source]
        source: getrandom::Error,
    },
    /// Certificates could not be made.
    #[error("make certificates for simulated cluster {site}")]
    Tls {
        /// The site.
        site: String,
        /// The cause.
        #[source]
        source: tls::Error,
    },
    /// The kubeconfig could not be rendered.
    #[error("render kubeconfig for simulated cluster {site}")]
    Kubeconfig {
        /// The site.
        site: String,
        /// The cause.
        #[source]
        source: kubeconfig::Error,
    },
    /// kube-rs rejected the generated kubeconfig.
    #[error("build kube client for simulated cluster {site}")]
    Client {
        /// The site.
        site: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Loading the built-in CRDs of the flavour failed.
    #[error("load built-in CRD {file} into simulated cluster {site}")]
    Crd {
        /// The site.
        site: String,
        /// The CRD file.
        file: &'static str,
        /// What went wrong.
        message: String,
    },
}

/// Options of one simulated cluster; every field states its default.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// Site name: kubeconfig context and CA name. No default.
    pub site: String,
    /// `openshift` adds Route and OLM CRDs. Default: [`Flavour::Kubernetes`].
    pub flavour: Flavour,
    /// Serve HTTPS with a per-run CA and require the bearer token. Default: true.
    pub tls: bool,
    /// Address to bind. Default: 127.0.0.1.
    pub bind: IpAddr,
    /// Port to bind; 0 picks a free one. Default: 0.
    pub port: u16,
    /// Events kept for watches from an old resourceVersion. Default: 10,000.
    pub history_limit: usize,
    /// Interval between watch BOOKMARKs when asked for. Default: 5 s.
    pub bookmark_interval: Duration,
    /// On the OpenShift flavour, serve the cluster monitoring stack's APIs (the
    /// `monitoring.coreos.com/v1` `ServiceMonitor` and `PrometheusRule` CRDs) and hold the
    /// `openshift-config-managed` namespace, as every OpenShift cluster does; ignored on the
    /// Kubernetes flavour, which has neither. Default: true; false imitates an OpenShift whose
    /// monitoring APIs are missing.
    pub monitoring: bool,
    /// Load the QuayRegistry CRD at start. Default: true.
    pub quay_crd: bool,
}

impl ClusterConfig {
    /// Defaults for `site`.
    pub fn new(site: &str) -> Self {
        Self {
            site: site.to_owned(),
            flavour: Flavour::Kubernetes,
            tls: true,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            history_limit: 10_000,
            bookmark_interval: Duration::from_secs(5),
            monitoring: true,
            quay_crd: true,
        }
    }
}

/// A running simulated cluster. Dropping it stops the server.
#[derive(Debug)]
pub struct SimCluster {
    state: Arc<ClusterState>,
    address: SocketAddr,
    in_cluster_address: SocketAddr,
    authority: Option<Authority>,
    flavour: Flavour,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// A listener on `requested` and the address it got.
async fn bind(site: &str, requested: SocketAddr) -> Result<(TcpListener, SocketAddr), Error> {
    let error = |source| Error::Bind {
        site: site.to_owned(),
        address: requested,
        source,
    };
    let listener = TcpListener::bind(requested).await.map_err(error)?;
    let address = listener.local_addr().map_err(error)?;
    Ok((listener, address))
}

/// Which of the cluster's two listeners a connection came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// The kubeconfig's address: cut by the unreachable fault.
    External,
    /// The in-cluster address: never cut.
    InCluster,
}

/// 32 bytes from the OS random source, in hex; the bearer token of an HTTPS cluster.
fn random_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

impl SimCluster {
    /// Bind and start serving.
    ///
    /// # Errors
    /// [`Error::Bind`], [`Error::Tls`] or [`Error::Crd`].
    pub async fn start(config: ClusterConfig) -> Result<Self, Error> {
        let site = config.site.clone();
        let (listener, address) = bind(&site, SocketAddr::new(config.bind, config.port)).await?;
        // The in-cluster address: any free loopback port, whatever `config.port` asks for.
        let (in_cluster, in_cluster_address) = bind(&site, SocketAddr::new(config.bind, 0)).await?;
        let authority = if config.tls {
            Some(Authority::generate(&site).map_err(|source| Error::Tls {
                site: site.clone(),
                source,
            })?)
        } else {
            None
        };
        let acceptor = match &authority {
            Some(a) => Some(tokio_rustls::TlsAcceptor::from(a.server_config().map_err(
                |source| Error::Tls {
                    site: site.clone(),
                    source,
                },
            )?)),
            None => None,
        };
        let mut store = Store::new(&site, config.history_limit);
        let monitoring = config.monitoring && config.flavour == Flavour::Openshift;
        builtin_crds::load(&mut store, config.flavour, config.quay_crd)
            .and_then(|()| builtin_crds::load_monitoring(&mut store, monitoring))
            .and_then(|()| seed::seed(&mut store, config.flavour, monitoring))
            .map_err(|(file, message)| Error::Crd {
                site: site.clone(),
                file,
                message,
            })?;
        let token = if config.tls {
            Some(random_token().map_err(|source| Error::Token {
                site: site.clone(),
                source,
            })?)
        } else {
            None
        };
        let state = Arc::new(ClusterState {
            site: site.clone(),
            token,
            store: Mutex::new(store),
            faults: Faults::default(),
            server_address: address.to_string(),
            bookmark_interval: config.bookmark_interval,
            watches: OpenWatches::default(),
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        let tasks = vec![
            tokio::spawn(serve(
                Arc::clone(&state),
                listener,
                address,
                acceptor.clone(),
                shutdown_rx.clone(),
                Reach::External,
            )),
            tokio::spawn(serve(
                Arc::clone(&state),
                in_cluster,
                in_cluster_address,
                acceptor,
                shutdown_rx,
                Reach::InCluster,
            )),
        ];
        Ok(Self {
            state,
            address,
            in_cluster_address,
            authority,
            flavour: config.flavour,
            shutdown,
            tasks,
        })
    }

    /// Site name.
    pub fn site(&self) -> &str {
        &self.state.site
    }

    /// The cluster flavour.
    pub fn flavour(&self) -> Flavour {
        self.flavour
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `https://127.0.0.1:PORT` (or `http://` without TLS).
    pub fn url(&self) -> String {
        self.url_of(self.address)
    }

    /// The in-cluster address's URL, which the unreachable fault never cuts.
    pub fn in_cluster_url(&self) -> String {
        self.url_of(self.in_cluster_address)
    }

    fn url_of(&self, address: SocketAddr) -> String {
        let scheme = if self.authority.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{address}")
    }

    /// The bearer token clients must send (HTTPS only).
    pub fn token(&self) -> Option<&str> {
        self.state.token.as_deref()
    }

    /// A client certificate for `user` signed by the per-run CA (HTTPS only): a client that
    /// presents it needs no bearer token.
    ///
    /// # Errors
    /// [`Error::Tls`] when signing fails.
    pub fn client_certificate(&self, user: &str) -> Result<Option<ClientCertificate>, Error> {
        self.authority
            .as_ref()
            .map(|a| a.issue_client(user))
            .transpose()
            .map_err(|source| Error::Tls {
                site: self.site().to_owned(),
                source,
            })
    }

    /// The per-run CA certificate (HTTPS only).
    pub fn ca_pem(&self) -> Option<&str> {
        self.authority.as_ref().map(Authority::ca_pem)
    }

    /// Faults and counters of this cluster.
    pub fn faults(&self) -> &Faults {
        &self.state.faults
    }

    /// The watch streams open now, to wait for a client's watch before writing.
    pub fn watches(&self) -> &OpenWatches {
        &self.state.watches
    }

    /// Shared state (for in-process inspection).
    pub fn state(&self) -> &Arc<ClusterState> {
        &self.state
    }

    /// How to reach this cluster, for a kubeconfig.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            site: self.site().to_owned(),
            server: self.url(),
            ca_pem: self.ca_pem().map(str::to_owned),
            token: self.token().unwrap_or("").to_owned(),
        }
    }

    /// A kubeconfig with one context named after the site.
    ///
    /// # Errors
    /// [`Error::Kubeconfig`] if rendering fails.
    pub fn kubeconfig(&self) -> Result<String, Error> {
        kubeconfig::render(&[self.endpoint()]).map_err(|source| Error::Kubeconfig {
            site: self.site().to_owned(),
            source,
        })
    }

    /// A kube-rs client for this cluster, built from its kubeconfig like any real one. It
    /// sends no `User-Agent`, as kube-rs does not by default, so the counters file its
    /// connections under [`UNNAMED_CLIENT`](crate::sim::apiserver::UNNAMED_CLIENT) with the provider's.
    ///
    /// # Errors
    /// [`Error::Kubeconfig`] or [`Error::Client`].
    pub async fn client(&self) -> Result<kube::Client, Error> {
        self.client_with_agent(self.endpoint(), None).await
    }

    /// An in-cluster kube-rs client that sends `User-Agent: <name>`, so the counters tell
    /// its connections from every other client's
    /// ([`Counters::connections_of`](crate::sim::apiserver::Counters::connections_of)). The
    /// simulated controllers and the harness's own workers use one each. It reaches the
    /// cluster through the in-cluster address, so the unreachable fault, which models the
    /// network between Terraform and the cluster, does not cut it; every other fault does.
    ///
    /// # Errors
    /// [`Error::Kubeconfig`] or [`Error::Client`] (also for a name that is no header value).
    pub async fn client_for(&self, name: &str) -> Result<kube::Client, Error> {
        let endpoint = Endpoint {
            server: self.in_cluster_url(),
            ..self.endpoint()
        };
        self.client_with_agent(endpoint, Some(name)).await
    }

    async fn client_with_agent(
        &self,
        endpoint: Endpoint,
        agent: Option<&str>,
    ) -> Result<kube::Client, Error> {
        let site = self.site().to_owned();
        let boxed = |e: Box<dyn std::error::Error + Send + Sync>| Error::Client {
            site: site.clone(),
            source: e,
        };
        let yaml = kubeconfig::render(&[endpoint]).map_err(|source| Error::Kubeconfig {
            site: site.clone(),
            source,
        })?;
        let kc = kube::config::Kubeconfig::from_yaml(&yaml).map_err(|e| boxed(Box::new(e)))?;
        let options = kube::config::KubeConfigOptions {
            context: Some(site.clone()),
            ..Default::default()
        };
        let mut config = kube::Config::from_custom_kubeconfig(kc, &options)
            .await
            .map_err(|e| boxed(Box::new(e)))?;
        if let Some(agent) = agent {
            let value = http::HeaderValue::from_str(agent).map_err(|e| boxed(Box::new(e)))?;
            config.headers.push((http::header::USER_AGENT, value));
        }
        kube::Client::try_from(config).map_err(|e| boxed(Box::new(e)))
    }

    /// Stop serving and wait for the accept loop to end.
    pub async fn stop(mut self) {
        self.shutdown.send_replace(true);
        for task in std::mem::take(&mut self.tasks) {
            // A panicked accept loop has nothing left to stop.
            let _ = task.await;
        }
    }
}

impl Drop for SimCluster {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
    }
}

async fn serve(
    state: Arc<ClusterState>,
    listener: TcpListener,
    address: SocketAddr,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    mut shutdown: watch::Receiver<bool>,
    reach: Reach,
) {
    let mut unreachable = state.faults.unreachable_switch();
    let mut listener = Some(listener);
    loop {
        if *shutdown.borrow() {
            return;
        }
        let down = *unreachable.borrow_and_update() && reach == Reach::External;
        if down {
            listener = None;
        } else if listener.is_none() {
            match TcpListener::bind(address).await {
                Ok(l) => listener = Some(l),
                Err(err) => {
                    tracing::warn!(site = %state.site, %err, "rebinding simulated cluster failed; retrying");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            }
        }
        let accepted = async {
            match &listener {
                Some(l) => l.accept().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = unreachable.changed() => {}
            accepted = accepted => {
                let Ok((stream, _peer)) = accepted else { continue };
                state.faults.count_connection();
                let state = Arc::clone(&state);
                let acceptor = acceptor.clone();
                let shutdown = shutdown.clone();
                tokio::spawn(connection(state, stream, acceptor, shutdown, reach));
            }
        }
    }
}

/// How long a TLS handshake may take before the connection is dropped.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

async fn connection(
    state: Arc<ClusterState>,
    stream: tokio::net::TcpStream,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    mut shutdown: watch::Receiver<bool>,
    reach: Reach,
) {
    let mut unreachable = state.faults.unreachable_switch();
    let service_state = Arc::clone(&state);
    // The first request names the client that opened the connection.
    let attributed = Arc::new(AtomicBool::new(false));
    // Set once the TLS handshake verified a client certificate against the cluster's CA.
    let certified = Arc::new(AtomicBool::new(false));
    let service_certified = Arc::clone(&certified);
    let service = hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
        if service_certified.load(Ordering::Relaxed) {
            req.extensions_mut().insert(VerifiedClientCertificate);
        }
        if !attributed.swap(true, Ordering::Relaxed) {
            service_state
                .faults
                .count_client_connection(client_name(req.headers()));
        }
        let state = Arc::clone(&service_state);
        async move { Ok::<_, std::convert::Infallible>(serve_request(state, req).await) }
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    let until_cut = async {
        loop {
            tokio::select! {
                r = shutdown.changed() => if r.is_err() || *shutdown.borrow() { return },
                r = unreachable.changed() => if r.is_err()
                    || (*unreachable.borrow() && reach == Reach::External) { return },
            }
        }
    };
    match acceptor {
        Some(acceptor) => {
            // A client that opens a connection and never finishes the handshake is dropped
            // after TLS_HANDSHAKE_TIMEOUT instead of holding a task forever.
            let Ok(Ok(tls)) =
                tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
            else {
                return;
            };
            state.faults.count_tls_handshake();
            let presented = tls.get_ref().1.peer_certificates();
            certified.store(presented.is_some_and(|c| !c.is_empty()), Ordering::Relaxed);
            let conn = builder.serve_connection(TokioIo::new(tls), service);
            tokio::select! {
                _ = conn => {}
                () = until_cut => {}
            }
        }
        None => {
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                () = until_cut => {}
            }
        }
    }
}
