//! The checks of the arguments that become bundle files ([`super::files`]): `extra_ca_certs`
//! and the database block's TLS arguments. Part of [`super::validate`]; the rules:
//!
//! - `extra_ca_certs`: each name is letters, digits, `-` and `_` (it becomes the file name
//!   `extra_ca_cert_<name>.crt`), each value one or more PEM certificates and nothing else.
//! - `database.ssl_mode`: one of `require`, `verify-ca`, `verify-full`; the two `verify-*`
//!   modes need `root_certificate`, which libpq reads to check the server.
//! - `database.root_certificate`, `client_certificate`: PEM certificates.
//!   `client_certificate` and `client_key` come together; the key is unencrypted PEM and
//!   belongs to the certificate (when its algorithm can be read, as for the site's TLS pair).
//! - `database.connection_args` must not also set `sslmode`, `sslrootcert`, `sslcert` or
//!   `sslkey` when a TLS argument is given: the data source renders them.

use std::collections::BTreeMap;

use serde_json::Value;

use super::files::{MAX_CA_NAME_LEN, SSL_MODES, TLS_CONNECTION_ARGS, check_certificates};
use super::input::DatabaseInput;
use super::model::DatabaseTls;
use super::validate::Validator;
use crate::georep::path::FieldPath;
use crate::georep::site::{Certificate, TlsError};

impl Validator {
    /// `extra_ca_certs`, checked.
    pub(super) fn extra_ca_certs(
        &mut self,
        value: Option<&BTreeMap<String, String>>,
    ) -> BTreeMap<String, String> {
        let mut certs = BTreeMap::new();
        for (name, pem) in value.into_iter().flatten() {
            let path = FieldPath::attr("extra_ca_certs").key(name.clone());
            let mut good = true;
            if !super::files::is_valid_ca_name(name) {
                good = false;
                self.error(
                    path.clone(),
                    "Invalid CA Certificate Name",
                    format!(
                        "extra_ca_certs name \"{name}\" must be 1 to {MAX_CA_NAME_LEN} letters, \
                         digits, - or _ (it becomes the bundle file extra_ca_cert_<name>.crt), \
                         such as corp-root"
                    ),
                );
            }
            if let Err(problem) = check_certificates(pem) {
                good = false;
                self.error(
                    path,
                    "Invalid CA Certificate",
                    format!(
                        "extra_ca_certs[\"{name}\"] must be PEM certificates: {problem}; \
                         give the CA's certificate, such as file(\"corp-root.crt\")"
                    ),
                );
            }
            if good {
                certs.insert(name.clone(), pem.clone());
            }
        }
        certs
    }

    /// The database block's TLS arguments, checked; `Ok(None)` when none is given.
    pub(super) fn database_tls(&mut self, db: &DatabaseInput) -> Result<Option<DatabaseTls>, ()> {
        let path = FieldPath::attr("database");
        let errors = self.error_count();
        let given = db.ssl_mode.is_some()
            || db.root_certificate.is_some()
            || db.client_certificate.is_some()
            || db.client_key.is_some();
        if !given {
            return Ok(None);
        }
        for key in TLS_CONNECTION_ARGS {
            if db
                .connection_args
                .as_ref()
                .is_some_and(|a| a.contains_key(key))
            {
                self.error(
                    path.clone().field("connection_args").key(key),
                    "Conflicting Connection Argument",
                    format!(
                        "database.connection_args sets {key}, which the database block's TLS \
                         arguments render; remove {key} from connection_args and use ssl_mode, \
                         root_certificate, client_certificate and client_key"
                    ),
                );
            }
        }
        if let Some(pem) = &db.root_certificate
            && let Err(problem) = check_certificates(pem)
        {
            self.error(
                path.clone().field("root_certificate"),
                "Invalid Database Root Certificate",
                format!(
                    "database.root_certificate must be the PEM CA certificate(s) of the \
                     database server: {problem}"
                ),
            );
        }
        let client = self.database_client(db);
        let ssl_mode = match db.ssl_mode.as_deref() {
            Some(mode) if SSL_MODES.contains(&mode) => mode.to_owned(),
            Some(mode) => {
                self.error(
                    path.clone().field("ssl_mode"),
                    "Invalid SSL Mode",
                    format!(
                        "database.ssl_mode is \"{mode}\"; use one of {}",
                        SSL_MODES.join(", ")
                    ),
                );
                String::new()
            }
            None if db.root_certificate.is_some() => "verify-full".to_owned(),
            None => "require".to_owned(),
        };
        if ssl_mode.starts_with("verify-") && db.root_certificate.is_none() {
            self.error(
                path.clone().field("ssl_mode"),
                "Missing Database Root Certificate",
                format!(
                    "database.ssl_mode \"{ssl_mode}\" checks the server's certificate against \
                     a root certificate; set database.root_certificate to the PEM CA \
                     certificate of the database server, or use ssl_mode = \"require\""
                ),
            );
        }
        if self.error_count() > errors {
            return Err(());
        }
        Ok(Some(DatabaseTls {
            ssl_mode,
            root_certificate: db.root_certificate.clone(),
            client,
        }))
    }

    /// The client certificate and key, checked as a pair.
    fn database_client(
        &mut self,
        db: &DatabaseInput,
    ) -> Option<(String, crate::georep::secret::Secret)> {
        let path = FieldPath::attr("database");
        match (&db.client_certificate, &db.client_key) {
            (None, None) => None,
            (Some(_), None) | (None, Some(_)) => {
                let missing = if db.client_key.is_none() {
                    "client_key"
                } else {
                    "client_certificate"
                };
                self.error(
                    path.field(missing),
                    "Incomplete Database Client Certificate",
                    format!(
                        "database.client_certificate and database.client_key go together; set \
                         database.{missing} too, or neither"
                    ),
                );
                None
            }
            (Some(pem), Some(key)) => {
                let parsed = check_certificates(pem)
                    .and_then(|_| Certificate::parse(pem).map_err(|err| err.to_string()));
                let certificate = match parsed {
                    Ok(certificate) => certificate,
                    Err(problem) => {
                        self.error(
                            path.field("client_certificate"),
                            "Invalid Database Client Certificate",
                            format!(
                                "database.client_certificate must be a PEM certificate: {problem}"
                            ),
                        );
                        return None;
                    }
                };
                match certificate.check_key(key) {
                    Ok(_) => Some((pem.clone(), key.clone())),
                    Err(err) => {
                        let fix = match err {
                            TlsError::EncryptedPrivateKey => {
                                "decrypt it (openssl pkey -in key.pem -out plain.pem): libpq \
                                 cannot ask for a passphrase"
                            }
                            _ => "give the unencrypted PEM key of client_certificate",
                        };
                        self.error(
                            path.field("client_key"),
                            "Invalid Database Client Key",
                            format!("database.client_key is not usable: {err}; {fix}"),
                        );
                        None
                    }
                }
            }
        }
    }
}

/// `DB_CONNECTION_ARGS` for `connection_args` and `tls`: the user's arguments plus libpq's
/// `sslmode` and the bundle paths of the certificates.
pub(super) fn connection_args(
    args: &BTreeMap<String, Value>,
    tls: Option<&DatabaseTls>,
) -> BTreeMap<String, Value> {
    use super::files::{
        DATABASE_CLIENT_CERT, DATABASE_CLIENT_KEY, DATABASE_ROOT_CERT, bundle_path,
    };
    let mut args = args.clone();
    if let Some(tls) = tls {
        args.insert("sslmode".into(), Value::String(tls.ssl_mode.clone()));
        if tls.root_certificate.is_some() {
            args.insert(
                "sslrootcert".into(),
                Value::String(bundle_path(DATABASE_ROOT_CERT)),
            );
        }
        if tls.client.is_some() {
            args.insert(
                "sslcert".into(),
                Value::String(bundle_path(DATABASE_CLIENT_CERT)),
            );
            args.insert(
                "sslkey".into(),
                Value::String(bundle_path(DATABASE_CLIENT_KEY)),
            );
        }
    }
    args
}
