//! The files every site's config bundle carries beside `config.yaml`: private CA certificates
//! and the database's TLS certificates. They are part of the shared configuration (every site
//! trusts the same CAs and reaches the same database), so `data "quay_georep_config"` renders
//! them as `config_files` and each site puts them in its bundle unchanged.
//!
//! Where Quay reads them:
//! - `extra_ca_cert_<name>.crt`: the operator moves every bundle key with the prefix
//!   `extra_ca_cert_` into the `extra-ca-certs` Secret, mounted at
//!   `/conf/stack/extra_ca_certs/` (quay/quay-operator `pkg/kustomize/kustomize.go`,
//!   `kustomize/base/quay.deployment.yaml`); Quay's `conf/init/certs_install.sh` adds them to
//!   the system trust store at start-up, and config-tool trusts them when it validates
//!   (quay/quay `config-tool/pkg/lib/shared/functions.go`, `GetTlsConfig`).
//! - `database.pem`, `database-client.crt`, `database-client.key`: the bundle is mounted at
//!   `/conf/stack`, and `DB_CONNECTION_ARGS` names them with libpq's `sslrootcert`, `sslcert`
//!   and `sslkey` next to `sslmode` (quay/quay
//!   `config-tool/pkg/lib/fieldgroups/database/database.go`; `database_validator.go` reads the
//!   root certificate as `database.pem`, and `shared/validators.go` says the bundle's
//!   `sslrootcert` is `conf/stack/database.pem`).
//!
//! Pure: names, paths and a structural PEM check, no I/O.

use x509_parser::pem::Pem;

/// Where the operator mounts the config bundle in Quay's pods.
pub const BUNDLE_DIR: &str = "/conf/stack";
/// The bundle key of the database's root (CA) certificate.
pub const DATABASE_ROOT_CERT: &str = "database.pem";
/// The bundle key of the database client certificate.
pub const DATABASE_CLIENT_CERT: &str = "database-client.crt";
/// The bundle key of the database client certificate's private key.
pub const DATABASE_CLIENT_KEY: &str = "database-client.key";
/// The prefix of an extra CA certificate's bundle key.
pub const EXTRA_CA_PREFIX: &str = "extra_ca_cert_";
/// The libpq `sslmode` values the database block accepts: each one uses TLS (`disable`,
/// `allow` and `prefer` would not protect the shared database's credentials).
pub const SSL_MODES: [&str; 3] = ["require", "verify-ca", "verify-full"];
/// The `DB_CONNECTION_ARGS` keys the TLS arguments render (libpq's names).
pub const TLS_CONNECTION_ARGS: [&str; 4] = ["sslmode", "sslrootcert", "sslcert", "sslkey"];
/// The longest extra CA name: a Secret key is at most 253 characters, with prefix and `.crt`.
pub const MAX_CA_NAME_LEN: usize = 253 - EXTRA_CA_PREFIX.len() - ".crt".len();

/// The bundle key of the extra CA certificate `name`.
pub fn extra_ca_key(name: &str) -> String {
    format!("{EXTRA_CA_PREFIX}{name}.crt")
}

/// The path Quay's pods read bundle key `key` at.
pub fn bundle_path(key: &str) -> String {
    format!("{BUNDLE_DIR}/{key}")
}

/// Whether `name` can name an extra CA certificate: letters, digits, `-` and `_`, so that
/// `extra_ca_cert_<name>.crt` is a valid Secret key and a plain file name.
pub fn is_valid_ca_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_CA_NAME_LEN
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Checks that `pem` is one or more PEM certificates and nothing else.
///
/// # Errors
///
/// What is wrong, in a phrase that quotes no PEM content: no certificate, a block that is not
/// a certificate (such as a private key pasted by mistake), or a certificate that does not
/// parse as X.509.
pub fn check_certificates(pem: &str) -> Result<usize, String> {
    let mut count = 0;
    for (n, block) in Pem::iter_from_buffer(pem.as_bytes()).enumerate() {
        let block = block.map_err(|err| format!("PEM block {} does not parse: {err}", n + 1))?;
        if block.label != "CERTIFICATE" {
            return Err(format!(
                "PEM block {} is a {}, not a CERTIFICATE",
                n + 1,
                block.label
            ));
        }
        block
            .parse_x509()
            .map_err(|err| format!("certificate {} is not valid X.509: {err}", n + 1))?;
        count += 1;
    }
    if count == 0 {
        return Err("it holds no PEM CERTIFICATE block".to_owned());
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_prefixed_crt_keys_and_only_plain_names_are_accepted() {
        assert_eq!(extra_ca_key("corp-root"), "extra_ca_cert_corp-root.crt");
        assert!(is_valid_ca_name("corp_root-2"));
        for bad in [
            "",
            "corp.crt",
            "a/b",
            "sp ace",
            &"x".repeat(MAX_CA_NAME_LEN + 1),
        ] {
            assert!(!is_valid_ca_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_bundle_of_certificates_passes_and_anything_else_is_named() {
        let one = rcgen::generate_simple_self_signed(vec!["ca.example.com".into()]).unwrap();
        let two = rcgen::generate_simple_self_signed(vec!["db.example.com".into()]).unwrap();
        let bundle = format!("{}{}", one.cert.pem(), two.cert.pem());
        assert_eq!(check_certificates(&bundle), Ok(2));
        assert!(
            check_certificates("not a pem")
                .unwrap_err()
                .contains("no PEM")
        );
        let with_key = format!("{}{}", one.cert.pem(), one.signing_key.serialize_pem());
        let err = check_certificates(&with_key).unwrap_err();
        assert!(err.contains("PRIVATE KEY"), "{err}");
        assert!(!err.contains("MII"), "{err}");
        let garbled = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(check_certificates(garbled).unwrap_err().contains("X.509"));
    }
}
