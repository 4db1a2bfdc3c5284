//! Per-run certificates for the simulated API servers.
//!
//! One [`Authority`] (a self-signed CA, made fresh for every run and never written anywhere
//! but the kubeconfig) issues a server certificate for `127.0.0.1` and `localhost`, and client
//! certificates on request. The server asks for a client certificate but does not require
//! one: a client that presents a certificate signed by the CA is authenticated by it, as
//! kube-apiserver's `--client-ca-file` does; others must send the bearer token. The rustls
//! configuration uses the aws-lc-rs provider only.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;

/// Certificate generation or TLS configuration failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// rcgen could not build or sign a certificate.
    #[error("generate certificate {what}")]
    Generate {
        /// Which certificate.
        what: &'static str,
        /// The cause.
        #[source]
        source: rcgen::Error,
    },
    /// rustls rejected the configuration.
    #[error("configure tls server")]
    Rustls(#[source] rustls::Error),
    /// rustls rejected the client certificate verifier.
    #[error("configure client certificate verification")]
    ClientVerifier(#[source] rustls::server::VerifierBuilderError),
}

/// A client certificate and its key, both PEM, signed by a simulated cluster's per-run CA.
pub struct ClientCertificate {
    /// The certificate.
    pub cert_pem: String,
    /// The private key (PKCS#8).
    pub key_pem: String,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("key_pem", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// A certificate authority for one run, with the server certificate it issued.
pub struct Authority {
    ca_pem: String,
    ca_der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
    server_der: CertificateDer<'static>,
    server_key_der: Vec<u8>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority")
            .field("ca_pem", &"<pem>")
            .finish_non_exhaustive()
    }
}

impl Authority {
    /// Make a CA named after `site` and a server certificate for `127.0.0.1` + `localhost`.
    ///
    /// # Errors
    /// [`Error::Generate`] when key generation or signing fails.
    pub fn generate(site: &str) -> Result<Self, Error> {
        let gen_err = |what| move |source| Error::Generate { what, source };
        let ca_key = KeyPair::generate().map_err(gen_err("ca key"))?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(gen_err("ca"))?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, format!("georep-sim-ca {site}"));
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::CrlSign,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).map_err(gen_err("ca"))?;
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate().map_err(gen_err("server key"))?;
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
                .map_err(gen_err("server"))?;
        params
            .distinguished_name
            .push(DnType::CommonName, format!("georep-sim {site}"));
        let server_cert = params
            .signed_by(&server_key, &issuer)
            .map_err(gen_err("server"))?;
        Ok(Self {
            ca_pem: ca_cert.pem(),
            ca_der: ca_cert.der().clone(),
            issuer,
            server_der: server_cert.der().clone(),
            server_key_der: server_key.serialize_der(),
        })
    }

    /// The CA certificate in PEM, for kubeconfig `certificate-authority-data`.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A client certificate for `user` (its common name), signed by this CA.
    ///
    /// # Errors
    /// [`Error::Generate`] when key generation or signing fails.
    pub fn issue_client(&self, user: &str) -> Result<ClientCertificate, Error> {
        let gen_err = |source| Error::Generate {
            what: "client",
            source,
        };
        let key = KeyPair::generate().map_err(gen_err)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(gen_err)?;
        params.distinguished_name.push(DnType::CommonName, user);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&key, &self.issuer).map_err(gen_err)?;
        Ok(ClientCertificate {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// A rustls server configuration (aws-lc-rs, ALPN h2 + http/1.1) that accepts, but does
    /// not require, client certificates signed by this CA.
    ///
    /// # Errors
    /// [`Error::Rustls`] when rustls rejects the key or protocol versions,
    /// [`Error::ClientVerifier`] when it rejects the CA as a client root.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, Error> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key_der.clone()));
        let mut roots = RootCertStore::empty();
        roots.add(self.ca_der.clone()).map_err(Error::Rustls)?;
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                .allow_unauthenticated()
                .build()
                .map_err(Error::ClientVerifier)?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(Error::Rustls)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![self.server_der.clone()], key)
            .map_err(Error::Rustls)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_authority_yields_a_usable_server_config() {
        let authority = Authority::generate("site-a").unwrap();
        assert!(
            authority
                .ca_pem()
                .starts_with("-----BEGIN CERTIFICATE-----")
        );
        let config = authority.server_config().unwrap();
        assert_eq!(config.alpn_protocols[0], b"h2");
    }

    #[test]
    fn client_certificates_verify_against_the_run_authority_only() {
        use base64::Engine as _;
        use rustls::pki_types::UnixTime;

        let der = |pem: &str| {
            let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            CertificateDer::from(
                base64::engine::general_purpose::STANDARD
                    .decode(body)
                    .unwrap(),
            )
        };
        let authority = Authority::generate("site-a").unwrap();
        let other = Authority::generate("site-b").unwrap();
        let client = authority.issue_client("admin").unwrap();
        assert!(!format!("{client:?}").contains("PRIVATE KEY"));
        let verifier = |authority: &Authority| {
            let mut roots = RootCertStore::empty();
            roots.add(authority.ca_der.clone()).unwrap();
            WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
            )
            .build()
            .unwrap()
        };
        let cert = der(&client.cert_pem);
        assert!(
            verifier(&authority)
                .verify_client_cert(&cert, &[], UnixTime::now())
                .is_ok()
        );
        assert!(
            verifier(&other)
                .verify_client_cert(&cert, &[], UnixTime::now())
                .is_err()
        );
    }
}
