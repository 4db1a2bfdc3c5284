//! The operator's check that the user's certificate covers the hosts Quay serves.
//!
//! Follows upstream `pkg/kustomize/secrets.go` (`EnsureTLSFor`, run by `Inflate`): the hosts are
//! `SERVER_HOSTNAME` and, when the config has one, `BUILDMAN_HOSTNAME` without its port; each
//! is checked with config-tool's `ValidateCertPairWithHostname`
//! (`vendor/github.com/quay/quay/config-tool/pkg/lib/shared/validators.go`: the port is dropped,
//! then Go's `VerifyHostname`, subject alternative names only). A failure blocks the rollout
//! with `RolloutBlocked` / `ComponentCreationFailed` and "could not inflate kubernetes objects:
//! provided certificate pair not valid for host ..." (`controllers/quay/quayregistry_controller.go`).
//! The certificate is checked only when the operator holds one: an unmanaged `tls` with
//! `ssl.cert` and `ssl.key` in the bundle, or with `secretRef` (whose pair
//! [`super::external_tls::with_pair`] puts there).
//!
//! Not modelled: whether the key belongs to the certificate (`tls.X509KeyPair`), and the
//! cluster wildcard certificate a managed `tls` uses.

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::server::ParsedCertificate;

use super::components::{Blocked, ComponentKind, Components};
use crate::quay::Bundle;

/// The reason the real operator gives when inflating the objects fails.
pub const REASON: &str = "ComponentCreationFailed";

/// Checks the bundle's certificate against `SERVER_HOSTNAME` (`hostname`) and
/// `BUILDMAN_HOSTNAME`.
///
/// # Errors
/// [`Blocked`] with reason [`REASON`] for the first host the certificate does not cover.
pub fn check(bundle: &Bundle, components: &Components, hostname: &str) -> Result<(), Blocked> {
    if components.is_managed(ComponentKind::Tls) || !bundle.has_certs() {
        return Ok(());
    }
    let mut hosts = vec![hostname.to_owned()];
    if let Some(buildman) = bundle
        .config
        .get("BUILDMAN_HOSTNAME")
        .and_then(serde_json::Value::as_str)
    {
        hosts.push(buildman.split(':').next().unwrap_or_default().to_owned());
    }
    let pem = bundle.data.get("ssl.cert").map_or(&[][..], Vec::as_slice);
    for host in hosts {
        if let Err(message) = covers(pem, &host) {
            return Err(Blocked {
                reason: REASON,
                message: format!(
                    "could not inflate kubernetes objects: provided certificate pair not valid \
                     for host '{host}': {message}"
                ),
            });
        }
    }
    Ok(())
}

/// Whether the first certificate of `pem` covers `host` (a port is dropped).
fn covers(pem: &[u8], host: &str) -> Result<(), String> {
    let der = CertificateDer::from_pem_slice(pem)
        .map_err(|_| "tls: failed to find any PEM data in certificate input".to_owned())?;
    let cert = ParsedCertificate::try_from(&der).map_err(|e| format!("x509: {e}"))?;
    let clean = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    let name = ServerName::try_from(clean.to_owned())
        .map_err(|_| format!("x509: {clean} is not a valid host name"))?;
    rustls::client::verify_server_name(&cert, &name)
        .map_err(|_| format!("x509: certificate is not valid for {clean}"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    fn bundle(config: &str, names: &[&str]) -> Bundle {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(
            names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>(),
        )
        .unwrap();
        let cert = params.self_signed(&key).unwrap();
        let data = BTreeMap::from([
            ("config.yaml".to_owned(), config.as_bytes().to_vec()),
            ("ssl.cert".to_owned(), cert.pem().into_bytes()),
            ("ssl.key".to_owned(), key.serialize_pem().into_bytes()),
        ]);
        Bundle::parse("b", data).unwrap()
    }

    fn unmanaged_tls() -> Components {
        Components::from_spec(&json!({"components": [{"kind": "tls", "managed": false}]}))
    }

    #[test]
    fn a_certificate_for_the_server_hostname_passes_even_with_a_port() {
        let b = bundle(
            "SERVER_HOSTNAME: quay.example.com:8443\n",
            &["quay.example.com"],
        );
        assert_eq!(check(&b, &unmanaged_tls(), "quay.example.com:8443"), Ok(()));
    }

    #[test]
    fn the_build_manager_hostname_must_be_covered_too() {
        let config =
            "SERVER_HOSTNAME: quay.example.com\nBUILDMAN_HOSTNAME: builds.example.com:443\n";
        let b = bundle(config, &["quay.example.com"]);
        let blocked = check(&b, &unmanaged_tls(), "quay.example.com").unwrap_err();
        assert_eq!(blocked.reason, "ComponentCreationFailed");
        assert!(
            blocked
                .message
                .contains("not valid for host 'builds.example.com'"),
            "{blocked:?}"
        );
        let both = bundle(config, &["quay.example.com", "builds.example.com"]);
        assert_eq!(check(&both, &unmanaged_tls(), "quay.example.com"), Ok(()));
    }

    #[test]
    fn a_certificate_for_another_host_is_refused_and_a_managed_tls_is_not_checked() {
        let b = bundle(
            "SERVER_HOSTNAME: quay.example.com\n",
            &["other.example.com"],
        );
        assert!(check(&b, &unmanaged_tls(), "quay.example.com").is_err());
        let managed =
            Components::from_spec(&json!({"components": [{"kind": "tls", "managed": true}]}));
        assert_eq!(check(&b, &managed, "quay.example.com"), Ok(()));
    }
}
