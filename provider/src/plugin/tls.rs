//! AutoMTLS: the TLS that Terraform and go-plugin set up with each provider process.
//!
//! When Terraform sets `PLUGIN_CLIENT_CERT` (the default), both sides authenticate with
//! throw-away self-signed certificates: Terraform passes its client certificate (PEM) in the
//! environment, and we advertise our server certificate in the handshake line. Three traps
//! shape this file:
//!
//! - Terraform's client certificate is ECDSA P-521 / SHA-512. Only the aws-lc-rs crypto
//!   provider offers that signature scheme; with *ring*, Go sends no certificate at all.
//! - It is marked `CA:TRUE`, which webpki refuses as an end-entity certificate, so instead of
//!   a webpki verifier [`PinnedClientCert`] accepts exactly the pinned DER and only delegates
//!   the handshake signature checks to rustls.
//! - gRPC-Go 1.67+ (Terraform 1.12+) requires ALPN `h2`, which a hand-built `ServerConfig`
//!   does not set by default.
//!
//! This file does not bind sockets or print the handshake: see [`crate::plugin::serve()`].

use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, ServerConfig};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;

/// How long one client may take to finish its TLS handshake before it is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What can go wrong while setting up TLS.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server certificate could not be generated.
    #[error("generate the server certificate")]
    GenerateCert(#[source] rcgen::Error),
    /// `PLUGIN_CLIENT_CERT` holds no PEM certificate.
    #[error("PLUGIN_CLIENT_CERT holds no PEM certificate (it starts with {prefix:?})")]
    ClientCertPem {
        /// The first characters of the value, to recognise it (certificates are public).
        prefix: String,
        /// What the PEM parser reported.
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    /// rustls refused the configuration.
    #[error("build the TLS server configuration")]
    Config(#[source] rustls::Error),
}

/// The server's certificate and private key, generated fresh for each process.
pub struct ServerIdentity {
    cert: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
}

impl std::fmt::Debug for ServerIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerIdentity")
            .field("cert_len", &self.cert.len())
            .finish_non_exhaustive()
    }
}

impl ServerIdentity {
    /// Generates a self-signed ECDSA P-256 certificate for DNS name `localhost`, not a CA:
    /// Terraform trusts exactly this certificate and checks the name `localhost`.
    ///
    /// # Errors
    ///
    /// [`Error::GenerateCert`] when key or certificate generation fails.
    pub fn generate() -> Result<Self, Error> {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(Error::GenerateCert)?;
        let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .map_err(Error::GenerateCert)?;
        let cert = params.self_signed(&key).map_err(Error::GenerateCert)?;
        Ok(Self {
            cert: cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
        })
    }

    /// The certificate's DER, as advertised in the handshake line.
    #[must_use]
    pub fn cert_der(&self) -> &[u8] {
        self.cert.as_ref()
    }
}

/// Parses the first certificate of the PEM text in `PLUGIN_CLIENT_CERT`.
///
/// # Errors
///
/// [`Error::ClientCertPem`] when the text holds no PEM certificate.
pub fn parse_client_cert(pem: &str) -> Result<CertificateDer<'static>, Error> {
    CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|source| Error::ClientCertPem {
        prefix: pem.chars().take(40).collect(),
        source,
    })
}

/// A client certificate verifier that accepts exactly one certificate, byte for byte.
///
/// The certificate's own validity (dates, CA flag, chain) is not checked: it is trusted
/// because Terraform handed it to us out of band. Possession of its private key is still
/// proven by the TLS handshake signature, which is checked with the crypto provider's
/// algorithms (including ECDSA P-521 / SHA-512 on aws-lc-rs).
#[derive(Debug)]
pub struct PinnedClientCert {
    expected: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedClientCert {
    /// A verifier accepting only `expected`, checking signatures with `provider`'s algorithms.
    #[must_use]
    pub fn new(expected: CertificateDer<'static>, provider: &CryptoProvider) -> Self {
        Self {
            expected,
            algorithms: provider.signature_verification_algorithms,
        }
    }
}

impl ClientCertVerifier for PinnedClientCert {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // No hints: the client then offers any certificate it has, and it has only one.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.expected.as_ref() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The rustls server configuration for AutoMTLS: our identity, the pinned client certificate,
/// aws-lc-rs, and ALPN `h2`.
///
/// # Errors
///
/// [`Error::Config`] when rustls refuses the key or the protocol versions.
pub fn server_config(
    identity: &ServerIdentity,
    client_cert: CertificateDer<'static>,
) -> Result<Arc<ServerConfig>, Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = Arc::new(PinnedClientCert::new(client_cert, &provider));
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(Error::Config)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![identity.cert.clone()],
            PrivateKeyDer::Pkcs8(identity.key.clone_key()),
        )
        .map_err(Error::Config)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// Turns off Nagle's algorithm on an accepted connection, as Go's net package does for every
/// TCP connection, so a response written in several pieces (gRPC headers, data, trailers)
/// leaves at once instead of waiting for the client's delayed ACK (about 40 ms per call on
/// Linux: most of the gap `benchmarks/README.md` measured against a Go provider).
pub fn set_nodelay(tcp: &TcpStream) {
    if let Err(error) = tcp.set_nodelay(true) {
        tracing::warn!(%error, "set TCP_NODELAY; responses may be delayed");
    }
}

/// Accepts TCP connections on `listener` (with [`set_nodelay`]) and yields those that
/// complete a TLS handshake.
///
/// Handshakes run concurrently, each under a timeout; a failed one is logged and skipped and
/// never ends the stream. The stream never yields an error. The accept task stops when the
/// stream is dropped (after the next connection attempt at the latest).
pub fn incoming(
    listener: TcpListener,
    config: Arc<ServerConfig>,
) -> ReceiverStream<Result<TlsStream<TcpStream>, std::io::Error>> {
    let (sender, receiver) = mpsc::channel(16);
    let acceptor = TlsAcceptor::from(config);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                () = sender.closed() => break,
                accepted = listener.accept() => accepted,
            };
            let (tcp, peer) = match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    tracing::warn!(%error, "accept a TCP connection");
                    continue;
                }
            };
            set_nodelay(&tcp);
            let acceptor = acceptor.clone();
            let sender = sender.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(tls)) => {
                        // The receiver is gone only when the server stopped; drop the stream.
                        let _ = sender.send(Ok(tls)).await;
                    }
                    Ok(Err(error)) => {
                        tracing::warn!(%peer, %error, "TLS handshake failed; connection dropped");
                    }
                    Err(_elapsed) => {
                        tracing::warn!(%peer, "TLS handshake timed out; connection dropped");
                    }
                }
            });
        }
    });
    ReceiverStream::new(receiver)
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use rustls::client::danger::ServerCertVerifier;
    use rustls::pki_types::ServerName;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_stream::StreamExt;

    use super::*;

    /// A certificate shaped like Terraform's AutoMTLS client certificate: ECDSA P-521 /
    /// SHA-512, self-signed, `CA:TRUE`, for `localhost`.
    fn terraform_like_client_cert() -> (CertificateDer<'static>, PrivateKeyDer<'static>, String) {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).unwrap();
        let pem = cert.pem();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        (cert.der().clone(), key, pem)
    }

    fn provider() -> CryptoProvider {
        rustls::crypto::aws_lc_rs::default_provider()
    }

    #[test]
    fn parses_the_client_cert_from_pem() {
        let (der, _key, pem) = terraform_like_client_cert();
        assert_eq!(parse_client_cert(&pem).unwrap(), der);
    }

    #[test]
    fn rejects_a_client_cert_that_is_not_pem() {
        let error = parse_client_cert("not a certificate").unwrap_err();
        assert!(
            error.to_string().contains("\"not a certificate\""),
            "{error}"
        );
    }

    #[test]
    fn verifier_accepts_the_pinned_cert_even_though_it_is_a_ca() {
        let (pinned, _key, _pem) = terraform_like_client_cert();
        let verifier = PinnedClientCert::new(pinned.clone(), &provider());
        assert!(
            verifier
                .verify_client_cert(&pinned, &[], UnixTime::now())
                .is_ok()
        );
    }

    #[test]
    fn verifier_rejects_any_other_cert() {
        let (pinned, _key, _pem) = terraform_like_client_cert();
        let (other, _key, _pem) = terraform_like_client_cert();
        let verifier = PinnedClientCert::new(pinned, &provider());
        let error = verifier
            .verify_client_cert(&other, &[], UnixTime::now())
            .unwrap_err();
        assert_eq!(
            error,
            rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure)
        );
    }

    #[test]
    fn verifier_offers_the_p521_signature_scheme_terraform_needs() {
        let verifier = PinnedClientCert::new(terraform_like_client_cert().0, &provider());
        assert!(
            verifier
                .supported_verify_schemes()
                .contains(&rustls::SignatureScheme::ECDSA_NISTP521_SHA512)
        );
    }

    #[test]
    fn server_identity_is_valid_for_localhost_and_not_a_ca() {
        let identity = ServerIdentity::generate().unwrap();
        // Our own server cert must not be mistaken for a CA by Go's verifier, and it must
        // chain to itself for a client that pins it as the only root.
        let mut roots = rustls::RootCertStore::empty();
        roots.add(identity.cert.clone()).unwrap();
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            Arc::new(provider()),
        )
        .build()
        .unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        verifier
            .verify_server_cert(&identity.cert, &[], &name, &[], UnixTime::now())
            .unwrap();
    }

    /// A TLS server pinning `pinned` that echoes one byte per connection; returns its address
    /// and the certificate a client must trust.
    async fn echo_server(pinned: CertificateDer<'static>) -> (SocketAddr, CertificateDer<'static>) {
        let identity = ServerIdentity::generate().unwrap();
        let config = server_config(&identity, pinned).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut streams = incoming(listener, config);
        tokio::spawn(async move {
            while let Some(stream) = streams.next().await {
                let mut tls = stream.unwrap();
                let byte = tls.read_u8().await.unwrap();
                tls.write_u8(byte).await.unwrap();
                tls.flush().await.unwrap();
            }
        });
        (addr, identity.cert)
    }

    /// Connects with `client`'s certificate, echoes one byte and returns the negotiated ALPN.
    async fn echo_client(
        addr: SocketAddr,
        server_cert: CertificateDer<'static>,
        client: (CertificateDer<'static>, PrivateKeyDer<'static>),
    ) -> std::io::Result<Option<Vec<u8>>> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(server_cert).unwrap();
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_client_auth_cert(vec![client.0], client.1)
            .unwrap();
        config.alpn_protocols = vec![b"h2".to_vec()];
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = TcpStream::connect(addr).await?;
        let name = ServerName::try_from("localhost").unwrap();
        let mut tls = connector.connect(name, tcp).await?;
        // With TLS 1.3 a rejected client certificate surfaces on the first read.
        tls.write_u8(b'x').await?;
        tls.flush().await?;
        assert_eq!(tls.read_u8().await?, b'x');
        Ok(tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec))
    }

    #[tokio::test]
    async fn serves_tls_to_the_pinned_p521_client_with_alpn_h2() {
        let (cert, key, _pem) = terraform_like_client_cert();
        let (addr, server_cert) = echo_server(cert.clone()).await;
        let alpn = echo_client(addr, server_cert, (cert, key)).await.unwrap();
        assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
    }

    #[tokio::test]
    async fn accepted_connections_send_without_waiting_for_acks() {
        let (cert, key, _pem) = terraform_like_client_cert();
        let identity = ServerIdentity::generate().unwrap();
        let config = server_config(&identity, cert.clone()).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut streams = incoming(listener, config);
        let client = tokio::spawn(echo_client(addr, identity.cert, (cert, key)));
        let mut tls = streams.next().await.unwrap().unwrap();
        assert!(tls.get_ref().0.nodelay().unwrap(), "TCP_NODELAY is off");
        let byte = tls.read_u8().await.unwrap();
        tls.write_u8(byte).await.unwrap();
        tls.flush().await.unwrap();
        client.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn drops_a_client_with_another_cert_and_keeps_serving() {
        let (pinned, pinned_key, _pem) = terraform_like_client_cert();
        let (other, other_key, _pem) = terraform_like_client_cert();
        let (addr, server_cert) = echo_server(pinned.clone()).await;
        let refused = echo_client(addr, server_cert.clone(), (other, other_key)).await;
        assert!(refused.is_err(), "a foreign client cert was accepted");
        let accepted = echo_client(addr, server_cert, (pinned, pinned_key)).await;
        assert!(accepted.is_ok(), "{accepted:?}");
    }
}
