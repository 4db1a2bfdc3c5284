//! Per-run certificates for the simulated API servers.
//!
//! One [`Authority`] (a self-signed CA, made fresh for every run and never written anywhere
//! but the kubeconfig) issues a server certificate for `127.0.0.1` and `localhost`. The
//! rustls configuration uses the aws-lc-rs provider only. No client certificates.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

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
}

/// A certificate authority for one run, with the server certificate it issued.
pub struct Authority {
    ca_pem: String,
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
            server_der: server_cert.der().clone(),
            server_key_der: server_key.serialize_der(),
        })
    }

    /// The CA certificate in PEM, for kubeconfig `certificate-authority-data`.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A rustls server configuration (aws-lc-rs, ALPN h2 + http/1.1).
    ///
    /// # Errors
    /// [`Error::Rustls`] when rustls rejects the key or protocol versions.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, Error> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key_der.clone()));
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(Error::Rustls)?
            .with_no_client_auth()
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
}
