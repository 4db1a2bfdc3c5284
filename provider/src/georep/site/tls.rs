//! [`Certificate`]: the TLS certificate a site puts in its config bundle, and the checks the
//! operator would otherwise fail on after the fact.
//!
//! With `ssl.cert`/`ssl.key` in the bundle the `tls` component is unmanaged and the managed
//! Route becomes passthrough; the operator then checks that the pair is valid for
//! `SERVER_HOSTNAME` and blocks the rollout with `ComponentCreationFailed` when it is not
//! (`reference/quay-operator.md` §2, step 6). This module runs the same checks at plan time:
//! the PEM parses, the leaf certificate's subject alternative names cover the host (exact, or a
//! wildcard for exactly one label; the common name is ignored, as Go's TLS stack does), and the
//! private key is the certificate's key. Parsing uses `x509-parser` (pure Rust); reading the
//! key uses `rcgen`. No I/O, and no clock: [`Certificate::validity_problem`] takes the time
//! from its caller.

use std::net::Ipv4Addr;

use x509_parser::extensions::GeneralName;
use x509_parser::pem::Pem;

use crate::georep::config::hostname::Hostname;
use crate::georep::secret::Secret;

/// Why a certificate or key was refused. Variants never hold key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No `-----BEGIN CERTIFICATE-----` block was found.
    #[error("the certificate holds no PEM CERTIFICATE block")]
    NoCertificate,
    /// The first certificate block is not a valid X.509 certificate.
    #[error("the certificate's first PEM block is not a valid X.509 certificate: {reason}")]
    BadCertificate {
        /// The parser's description (about the structure, not secret).
        reason: String,
    },
    /// No PEM private key block was found.
    #[error("the private key holds no PEM PRIVATE KEY block")]
    NoPrivateKey,
    /// The private key is encrypted; Quay cannot read it.
    #[error("the private key is encrypted")]
    EncryptedPrivateKey,
    /// The private key does not belong to the certificate.
    #[error("the private key does not belong to the certificate")]
    KeyMismatch,
}

/// A parsed leaf certificate: its PEM text and the names it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pem: String,
    dns_names: Vec<String>,
    ip_addresses: Vec<Ipv4Addr>,
    public_key: Vec<u8>,
    /// `notBefore` and `notAfter`, seconds since the Unix epoch.
    validity: (i64, i64),
}

/// The result of matching a private key against a [`Certificate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCheck {
    /// The key is the certificate's key.
    Matches,
    /// The key is in a format this provider cannot read (an algorithm other than RSA, ECDSA
    /// P-256/P-384 or Ed25519), so the match was not checked.
    Unchecked,
}

impl Certificate {
    /// Parses the PEM text; the first `CERTIFICATE` block is the leaf, later ones its chain.
    ///
    /// # Errors
    ///
    /// [`Error::NoCertificate`] or [`Error::BadCertificate`].
    pub fn parse(pem: &str) -> Result<Self, Error> {
        let block = Pem::iter_from_buffer(pem.as_bytes())
            .filter_map(Result::ok)
            .find(|block| block.label == "CERTIFICATE")
            .ok_or(Error::NoCertificate)?;
        let cert = block.parse_x509().map_err(|err| Error::BadCertificate {
            reason: err.to_string(),
        })?;
        let mut dns_names = Vec::new();
        let mut ip_addresses = Vec::new();
        let san = cert
            .subject_alternative_name()
            .map_err(|err| Error::BadCertificate {
                reason: err.to_string(),
            })?;
        for name in san.iter().flat_map(|san| &san.value.general_names) {
            match name {
                GeneralName::DNSName(name) => dns_names.push(name.to_ascii_lowercase()),
                GeneralName::IPAddress(bytes) => {
                    if let Ok(octets) = <[u8; 4]>::try_from(*bytes) {
                        ip_addresses.push(Ipv4Addr::from(octets));
                    }
                }
                _ => {}
            }
        }
        Ok(Self {
            pem: pem.to_owned(),
            dns_names,
            ip_addresses,
            public_key: cert.public_key().subject_public_key.data.to_vec(),
            validity: (
                cert.validity().not_before.timestamp(),
                cert.validity().not_after.timestamp(),
            ),
        })
    }

    /// The PEM text as given.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// Every name the certificate is valid for (DNS names, then IPv4 addresses), for messages.
    pub fn names(&self) -> Vec<String> {
        self.dns_names
            .iter()
            .cloned()
            .chain(self.ip_addresses.iter().map(ToString::to_string))
            .collect()
    }

    /// Whether the certificate is valid for `host`: an exact DNS name, a wildcard covering
    /// exactly its first label, or an IPv4 address in the IP names.
    pub fn covers(&self, host: &Hostname) -> bool {
        let host = host.as_str();
        if let Ok(ip) = host.parse::<Ipv4Addr>() {
            return self.ip_addresses.contains(&ip);
        }
        self.dns_names.iter().any(|name| {
            if let Some(parent) = name.strip_prefix("*.") {
                host.split_once('.')
                    .is_some_and(|(first, rest)| !first.is_empty() && rest == parent)
            } else {
                name == host
            }
        })
    }

    /// Why the certificate is not valid at `now` (seconds since the Unix epoch): expired, or
    /// not valid yet; `None` when it is.
    pub fn validity_problem(&self, now: i64) -> Option<String> {
        let (not_before, not_after) = self.validity;
        let at = |seconds: i64| crate::georep::upgrade::Timestamp::from_unix_seconds(seconds);
        if now > not_after {
            Some(format!("expired at {}", at(not_after)))
        } else if now < not_before {
            Some(format!("is not valid before {}", at(not_before)))
        } else {
            None
        }
    }

    /// Checks that `private_key` (PEM) is this certificate's key.
    ///
    /// # Errors
    ///
    /// [`Error::NoPrivateKey`], [`Error::EncryptedPrivateKey`] or [`Error::KeyMismatch`].
    pub fn check_key(&self, private_key: &Secret) -> Result<KeyCheck, Error> {
        let block = Pem::iter_from_buffer(private_key.expose().as_bytes())
            .filter_map(Result::ok)
            .find(|block| block.label.ends_with("PRIVATE KEY"))
            .ok_or(Error::NoPrivateKey)?;
        if block.label.starts_with("ENCRYPTED") {
            return Err(Error::EncryptedPrivateKey);
        }
        match rcgen::KeyPair::try_from(block.contents.as_slice()) {
            Ok(key) if key.public_key_raw() == self.public_key.as_slice() => Ok(KeyCheck::Matches),
            Ok(_) => Err(Error::KeyMismatch),
            Err(_) => Ok(KeyCheck::Unchecked),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(names: &[&str]) -> (String, Secret) {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let key = rcgen::generate_simple_self_signed(names).unwrap();
        (key.cert.pem(), Secret::new(key.signing_key.serialize_pem()))
    }

    fn host(name: &str) -> Hostname {
        Hostname::parse(name).unwrap()
    }

    #[test]
    fn exact_names_and_one_level_wildcards_cover_the_host() {
        let (pem, _) = pair(&["quay.global.example.com", "*.apps.example.com"]);
        let cert = Certificate::parse(&pem).unwrap();
        assert!(cert.covers(&host("quay.global.example.com")));
        assert!(cert.covers(&host("quay.apps.example.com")));
        assert!(!cert.covers(&host("a.quay.apps.example.com")));
        assert!(!cert.covers(&host("apps.example.com")));
        assert!(!cert.covers(&host("global.example.com")));
    }

    #[test]
    fn ip_hosts_need_an_ip_name() {
        let (pem, _) = pair(&["127.0.0.1"]);
        let cert = Certificate::parse(&pem).unwrap();
        assert!(cert.covers(&host("127.0.0.1")));
        assert!(!cert.covers(&host("127.0.0.2")));
        assert_eq!(cert.names(), ["127.0.0.1"]);
    }

    #[test]
    fn the_certificates_own_key_matches_and_another_does_not() {
        let (pem, key) = pair(&["quay.example.com"]);
        let (_, other_key) = pair(&["quay.example.com"]);
        let cert = Certificate::parse(&pem).unwrap();
        assert_eq!(cert.check_key(&key), Ok(KeyCheck::Matches));
        assert_eq!(cert.check_key(&other_key), Err(Error::KeyMismatch));
    }

    #[test]
    fn rejects_text_without_pem_blocks() {
        assert_eq!(Certificate::parse("not a cert"), Err(Error::NoCertificate));
        let (pem, _) = pair(&["quay.example.com"]);
        let cert = Certificate::parse(&pem).unwrap();
        assert_eq!(
            cert.check_key(&Secret::new(pem.clone())),
            Err(Error::NoPrivateKey)
        );
        let garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            Certificate::parse(garbage),
            Err(Error::BadCertificate { .. })
        ));
    }
}
