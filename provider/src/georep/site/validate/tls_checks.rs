//! The site's `tls` block: a certificate and key that parse, match and cover the hosts the
//! site serves.

use super::{Reported, Validator, quoted_list};
use crate::georep::path::FieldPath;
use crate::georep::secret::Secret;
use crate::georep::site::input::TlsInput;
use crate::georep::site::model::TlsPair;
use crate::georep::site::shared_config::SharedConfig;
use crate::georep::site::tls::{self, Certificate, KeyCheck};

impl Validator {
    /// `Ok(None)`: no TLS; `Ok(Some(pair))`: a checked pair; `Err`: reported.
    pub(super) fn tls(
        &mut self,
        value: Option<&TlsInput>,
        config: Option<&SharedConfig>,
        route_managed: bool,
    ) -> Result<Option<TlsPair>, Reported> {
        let path = FieldPath::attr("tls");
        let Some(tls) = value else {
            if route_managed {
                return Ok(None);
            }
            self.error(
                FieldPath::attr("route").field("managed"),
                "Unmanaged Route Needs TLS",
                "with route { managed = false } the operator can neither manage TLS (that needs \
                 OpenShift Routes) nor leave it unmanaged without a certificate (it then \
                 requires ssl.cert and ssl.key in the config bundle, or blocks with \
                 ConfigInvalid); add a tls block with a certificate and key for \
                 SERVER_HOSTNAME",
            );
            return Err(Reported);
        };
        let certificate = tls.certificate.as_deref().filter(|c| !c.trim().is_empty());
        let private_key = tls
            .private_key
            .as_ref()
            .filter(|k| !k.expose().trim().is_empty());
        if certificate.is_none() {
            self.error(
                path.clone().field("certificate"),
                "Missing TLS Certificate",
                "tls.certificate is required in the tls block: set it to the PEM certificate \
                 (chain) for SERVER_HOSTNAME, or remove the tls block",
            );
        }
        if private_key.is_none() {
            self.error(
                path.field("private_key"),
                "Missing TLS Private Key",
                "tls.private_key is required in the tls block: set it to the certificate's PEM \
                 private key, or remove the tls block",
            );
        }
        match (certificate, private_key) {
            (Some(certificate), Some(private_key)) => {
                self.tls_pair(certificate, private_key, config).map(Some)
            }
            _ => Err(Reported),
        }
    }

    fn tls_pair(
        &mut self,
        certificate: &str,
        private_key: &Secret,
        config: Option<&SharedConfig>,
    ) -> Result<TlsPair, Reported> {
        let path = FieldPath::attr("tls");
        let certificate = Certificate::parse(certificate).map_err(|err| {
            self.error(
                path.clone().field("certificate"),
                "Invalid TLS Certificate",
                format!("tls.certificate: {err}; give a PEM X.509 certificate"),
            );
            Reported
        })?;
        let mut ok = true;
        if let Some(config) = config {
            let host = config.server_hostname().host();
            if !certificate.covers(host) {
                let names = certificate.names();
                let names = if names.is_empty() {
                    "no subject alternative name".to_owned()
                } else {
                    quoted_list(&names)
                };
                self.error(
                    path.clone().field("certificate"),
                    "TLS Certificate Does Not Cover Server Hostname",
                    format!(
                        "the certificate is valid for {names}, not for SERVER_HOSTNAME {host}; \
                         the operator would refuse it (\"provided certificate pair not valid for \
                         host\"); use a certificate whose subject alternative names include \
                         {host} or a wildcard for its parent domain"
                    ),
                );
                ok = false;
            }
        }
        match certificate.check_key(private_key) {
            Ok(KeyCheck::Matches) => {}
            Ok(KeyCheck::Unchecked) => self.warning(
                path.field("private_key"),
                "TLS Key Not Checked",
                "the private key uses an algorithm this provider cannot read, so whether it \
                 belongs to the certificate was not checked; the operator checks it when the \
                 site rolls out",
            ),
            Err(err) => {
                let fix = match err {
                    tls::Error::KeyMismatch => "give the key the certificate was issued for",
                    tls::Error::EncryptedPrivateKey => "give the key unencrypted",
                    _ => "give the certificate's PEM private key",
                };
                self.error(
                    path.field("private_key"),
                    "Invalid TLS Private Key",
                    format!("tls.private_key: {err}; {fix}"),
                );
                ok = false;
            }
        }
        if ok {
            Ok(TlsPair {
                certificate,
                private_key: private_key.clone(),
            })
        } else {
            Err(Reported)
        }
    }
}
