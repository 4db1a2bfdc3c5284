//! The accept loop shared by the harness's small in-process HTTP servers (the per-site S3
//! endpoints and the load balancer model): serve every connection with hyper's auto
//! (HTTP/1 + HTTP/2) builder until told to stop, then let open connections finish.
//!
//! The simulated API server has its own loop: it terminates TLS and counts connections for
//! the fault model.

use std::time::Duration;

use hyper::Request;
use hyper::body::{Body, Incoming};
use hyper::service::Service;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Accepts connections on `listener` and serves each with a clone of `service` until
/// `shutdown` fires (or its sender is dropped), then waits for the open connections to finish.
pub(crate) async fn serve_until_shutdown<S, B>(
    listener: TcpListener,
    service: S,
    mut shutdown: oneshot::Receiver<()>,
) where
    S: Service<Request<Incoming>, Response = hyper::Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let graceful = GracefulShutdown::new();
    let builder = ConnBuilder::new(TokioExecutor::new());
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, _peer)) => {
                    let conn = builder.serve_connection(TokioIo::new(socket), service.clone());
                    let conn = graceful.watch(conn.into_owned());
                    tokio::spawn(async move {
                        // A client that disconnects mid-request is not the server's failure.
                        let _ = conn.await;
                    });
                }
                // Transient (e.g. out of file descriptors): back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    graceful.shutdown().await;
}
