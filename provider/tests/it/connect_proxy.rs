//! A minimal HTTP CONNECT proxy for the tests that reach a simulated cluster through a proxy
//! (the cluster block's `proxy_url`, the `HTTPS_PROXY` variable): it tunnels each `CONNECT`
//! to a loopback address and counts the tunnels, so a test can tell the provider went through
//! it. A few lines of tokio rather than a crate: the proxies published as crates intercept
//! TLS or serve HTTP themselves (hyper-based, with their own dependency trees), where a test
//! needs only the tunnel that kube's `http-proxy` connector asks for.
//!
//! It refuses anything but `CONNECT` to `127.0.0.1`/`localhost` (405, 403), so a test cannot
//! send traffic off the machine through it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The largest request head the proxy reads.
const MAX_HEAD: usize = 8 * 1024;

/// A running proxy; dropping it stops accepting connections.
#[derive(Debug)]
pub struct ConnectProxy {
    addr: SocketAddr,
    tunnels: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl ConnectProxy {
    /// Binds a free loopback port and serves on the current runtime.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let tunnels = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&tunnels);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let counted = Arc::clone(&counted);
                tokio::spawn(async move {
                    // A failed tunnel only ends that connection; the client sees it closed.
                    let _ = tunnel(client, &counted).await;
                });
            }
        });
        Self {
            addr,
            tunnels,
            task,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many tunnels it has opened.
    pub fn tunnels(&self) -> usize {
        self.tunnels.load(Ordering::SeqCst)
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads the request head, opens the tunnel and copies both ways until either side closes.
async fn tunnel(mut client: TcpStream, tunnels: &AtomicUsize) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0_u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = client.read(&mut buf).await?;
        if read == 0 || head.len() + read > MAX_HEAD {
            return Ok(());
        }
        head.extend_from_slice(&buf[..read]);
    }
    let text = String::from_utf8_lossy(&head);
    let mut words = text.lines().next().unwrap_or_default().split_whitespace();
    let (Some("CONNECT"), Some(target)) = (words.next(), words.next()) else {
        return client
            .write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")
            .await;
    };
    let host = target.rsplit_once(':').map_or(target, |(host, _)| host);
    if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
        return client
            .write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
            .await;
    }
    let mut upstream = TcpStream::connect(target).await?;
    client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await?;
    tunnels.fetch_add(1, Ordering::SeqCst);
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}
