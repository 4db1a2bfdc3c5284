//! Serving a provider the way go-plugin servers do: the one entry point, [`serve`].
//!
//! Launched by Terraform, [`serve`] checks the magic cookie, negotiates protocol 5, binds
//! 127.0.0.1 within `PLUGIN_MIN_PORT..=PLUGIN_MAX_PORT`, sets up AutoMTLS when
//! `PLUGIN_CLIENT_CERT` is set (plaintext otherwise), registers the provider service with
//! health (`"plugin"` SERVING) and `GRPCController`, prints the handshake line, and serves
//! until `GRPCController.Shutdown` or SIGTERM. SIGINT is ignored.
//!
//! In debug mode ([`ServeOptions::debug`]) a person starts the process: no cookie is needed,
//! it serves plaintext on any port, prints the `TF_REATTACH_PROVIDERS` value to export, and
//! Ctrl-C stops it.
//!
//! It knows nothing about what the provider service does; the generated types live in the crate-private `plugin::proto`.

use std::convert::Infallible;
use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_stream::wrappers::TcpListenerStream;
use tokio_stream::{Stream, StreamExt as _};
use tonic::body::Body;
use tonic::codegen::{Service, http};
use tonic::server::NamedService;
use tonic::transport::Server;
use tonic::transport::server::{Connected, Router};

use super::controller::Controller;
use super::handshake::{self, HandshakeLine, Ports};
use super::shutdown::{self, OnInterrupt, ShutdownSignal};
use super::tls;

/// The provider source address Terraform knows this provider by.
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/quay-georep/quay";

/// The go-plugin health service name reported as SERVING.
const HEALTH_SERVICE_NAME: &str = "plugin";

/// How long in-flight calls may take to finish once shutdown starts. Terraform calls
/// `GRPCController.Shutdown` only when it is done with the process, and Go plugins stop their
/// server at once (`grpc.Server.Stop`), so the grace only has to let the Shutdown reply reach
/// Terraform over loopback. Measured: Terraform 1.0.3 sometimes keeps its connection open
/// after the reply, and a longer grace was then paid in full by every provider process
/// (about 40 ms of each plan phase).
const DRAIN_GRACE: Duration = Duration::from_millis(15);

/// How to serve.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServeOptions {
    /// Debug mode: started by a person (or a debugger), attached with `TF_REATTACH_PROVIDERS`.
    /// Default `false` (started by Terraform); the binary's `--debug` flag sets it.
    pub debug: bool,
}

/// Why serving failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// `TF_PLUGIN_MAGIC_COOKIE` is missing or wrong: a person ran the binary by hand.
    /// [`handshake::RUN_BY_HAND_HELP`] is what to tell them.
    #[error(
        "{} is missing or wrong: not launched by Terraform",
        handshake::MAGIC_COOKIE_KEY
    )]
    NotLaunchedByTerraform,
    /// The handshake failed (protocol, ports, binding, stdout).
    #[error("go-plugin handshake")]
    Handshake(#[from] handshake::Error),
    /// AutoMTLS could not be set up.
    #[error("set up AutoMTLS")]
    Tls(#[from] tls::Error),
    /// The signal handlers could not be installed.
    #[error("install signal handlers")]
    Signals(#[source] std::io::Error),
    /// The bound listener has no local address.
    #[error("read the listener address")]
    ListenerAddr(#[source] std::io::Error),
    /// The gRPC server failed.
    #[error("serve gRPC")]
    Transport(#[source] tonic::transport::Error),
}

/// A tonic gRPC service that can be registered on the server: what `ProviderServer::new(..)`
/// of the generated code returns. Implemented for every type with the right bounds.
pub trait GrpcService:
    Service<
        http::Request<Body>,
        Response = http::Response<Body>,
        Error = Infallible,
        Future: Send + 'static,
    > + NamedService
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> GrpcService for S where
    S: Service<
            http::Request<Body>,
            Response = http::Response<Body>,
            Error = Infallible,
            Future: Send + 'static,
        > + NamedService
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// Serves `provider` (the tfplugin5 `Provider` gRPC service) until Terraform or a signal
/// stops it.
///
/// Reads `TF_PLUGIN_MAGIC_COOKIE`, `PLUGIN_PROTOCOL_VERSIONS`, `PLUGIN_MIN_PORT`,
/// `PLUGIN_MAX_PORT` and `PLUGIN_CLIENT_CERT`, and writes the handshake line (or, in debug
/// mode, the reattach instructions) to stdout. Must run inside a tokio runtime. Returns once
/// the server has shut down; the caller should then exit.
///
/// # Errors
///
/// [`ServeError::NotLaunchedByTerraform`] without the magic cookie (outside debug mode), and
/// the other [`ServeError`] variants when the handshake, TLS or the server fail.
pub async fn serve<S: GrpcService>(provider: S, opts: ServeOptions) -> Result<(), ServeError> {
    let (trigger, signal) = shutdown::channel();
    let router = {
        let (health, health_service) = tonic_health::server::health_reporter();
        health
            .set_service_status(HEALTH_SERVICE_NAME, tonic_health::ServingStatus::Serving)
            .await;
        Server::builder()
            .add_service(health_service)
            .add_service(Controller::new(trigger.clone()).into_service())
            .add_service(provider)
    };

    if opts.debug {
        shutdown::install_signal_handlers(&trigger, OnInterrupt::Shutdown)
            .map_err(ServeError::Signals)?;
        let listener = handshake::bind(Ports::Any).await?;
        let addr = listener.local_addr().map_err(ServeError::ListenerAddr)?;
        print_reattach_instructions(addr, std::process::id())
            .map_err(|error| ServeError::Handshake(handshake::Error::Announce(error)))?;
        tracing::info!(%addr, "serving in debug mode");
        return run(router, plain_incoming(listener), signal).await;
    }

    let env = |key: &str| std::env::var(key).ok().filter(|value| !value.is_empty());
    if !handshake::is_launched_by_terraform(env(handshake::MAGIC_COOKIE_KEY).as_deref()) {
        return Err(ServeError::NotLaunchedByTerraform);
    }
    let protocol = handshake::negotiate_protocol(env(handshake::PROTOCOL_VERSIONS_KEY).as_deref())?;
    let ports = Ports::from_env_values(
        env(handshake::MIN_PORT_KEY).as_deref(),
        env(handshake::MAX_PORT_KEY).as_deref(),
    )?;
    shutdown::install_signal_handlers(&trigger, OnInterrupt::Ignore)
        .map_err(ServeError::Signals)?;
    let listener = handshake::bind(ports).await?;
    let addr = listener.local_addr().map_err(ServeError::ListenerAddr)?;

    match env(handshake::CLIENT_CERT_KEY) {
        Some(client_pem) => {
            let identity = tls::ServerIdentity::generate()?;
            let config = tls::server_config(&identity, tls::parse_client_cert(&client_pem)?)?;
            announce(addr, Some(identity.cert_der().to_vec()))?;
            tracing::info!(%addr, protocol, "serving with AutoMTLS");
            run(router, tls::incoming(listener, config), signal).await
        }
        None => {
            announce(addr, None)?;
            tracing::info!(%addr, protocol, "serving plaintext (no PLUGIN_CLIENT_CERT)");
            run(router, plain_incoming(listener), signal).await
        }
    }
}

/// Accepted plaintext connections, with [`tls::set_nodelay`] as for TLS ones.
fn plain_incoming(
    listener: tokio::net::TcpListener,
) -> impl Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    TcpListenerStream::new(listener).map(|accepted| accepted.inspect(tls::set_nodelay))
}

/// Prints the handshake line to stdout.
fn announce(addr: SocketAddr, server_cert_der: Option<Vec<u8>>) -> Result<(), ServeError> {
    let line = HandshakeLine {
        addr,
        server_cert_der,
    };
    Ok(handshake::announce(&line, std::io::stdout().lock())?)
}

/// Serves `incoming` until `signal` fires, then drains for at most [`DRAIN_GRACE`].
async fn run<I, IO, IE>(
    router: Router,
    incoming: I,
    signal: ShutdownSignal,
) -> Result<(), ServeError>
where
    I: Stream<Item = Result<IO, IE>>,
    IO: AsyncRead + AsyncWrite + Connected + Unpin + Send + 'static,
    IE: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let served = router.serve_with_incoming_shutdown(incoming, {
        let signal = signal.clone();
        async move {
            let reason = signal.wait().await;
            tracing::debug!(%reason, "shutting down");
        }
    });
    let drained = async {
        signal.wait().await;
        tokio::time::sleep(DRAIN_GRACE).await;
        tracing::debug!("connections still open after the drain grace period; exiting anyway");
    };
    let result = tokio::select! {
        result = served => result.map_err(ServeError::Transport),
        () = drained => Ok(()),
    };
    tracing::debug!("server stopped");
    result
}

/// Prints how to attach Terraform to a debug-mode server, as Go providers do.
fn print_reattach_instructions(addr: SocketAddr, pid: u32) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Provider started in debug mode. To attach Terraform, export this in the shell where \
         you run it:\n\n\t{}\n",
        reattach_line(addr, pid)
    )?;
    out.flush()
}

/// The `TF_REATTACH_PROVIDERS='...'` line for a debug-mode server at `addr`.
#[must_use]
pub fn reattach_line(addr: SocketAddr, pid: u32) -> String {
    let config = serde_json::json!({
        PROVIDER_ADDRESS: {
            "Protocol": "grpc",
            "ProtocolVersion": handshake::PROTOCOL_VERSION,
            "Pid": pid,
            "Test": true,
            "Addr": { "Network": "tcp", "String": addr.to_string() },
        }
    });
    format!("TF_REATTACH_PROVIDERS='{config}'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_the_reattach_line_terraform_expects() {
        let line = reattach_line("127.0.0.1:40123".parse().unwrap(), 4242);
        let json = line
            .strip_prefix("TF_REATTACH_PROVIDERS='")
            .and_then(|rest| rest.strip_suffix('\''))
            .unwrap_or_else(|| panic!("not a quoted export: {line}"));
        let parsed: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({
                "registry.terraform.io/quay-georep/quay": {
                    "Protocol": "grpc",
                    "ProtocolVersion": 5,
                    "Pid": 4242,
                    "Test": true,
                    "Addr": { "Network": "tcp", "String": "127.0.0.1:40123" },
                }
            })
        );
    }
}
