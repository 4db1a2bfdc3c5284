//! The start-up checks on the certificate files a Quay pod reads besides `config.yaml`: the
//! extra CA certificates and the database's TLS files.
//!
//! Modelled:
//! - extra CA certificates: the operator moves every bundle key `extra_ca_cert_<name>` into the
//!   `extra-ca-certs` Secret as `<name>`, mounted at `/conf/stack/extra_ca_certs`
//!   (quay/quay-operator `pkg/kustomize/kustomize.go`, `kustomize/base/quay.deployment.yaml`);
//!   Quay's `conf/init/certs_install.sh` (quay/quay) appends each file to certifi's
//!   `cacert.pem`, so a file that is not PEM certificates breaks the trust store every
//!   outgoing TLS connection of Quay's Python loads: the pod fails to start, naming the file.
//!   A file name must also be usable as a file (no `/`, not empty).
//! - database TLS files: every `DB_CONNECTION_ARGS` path under `/conf/stack/`
//!   (`sslrootcert`, `sslcert`, `sslkey`) must be a key of the config Secret (libpq: "root
//!   certificate file ... does not exist"), and `sslrootcert`/`sslcert` must be PEM
//!   certificates; `sslmode` must be one libpq knows (quay/quay
//!   `config-tool/pkg/lib/fieldgroups/database/database_validator.go` and
//!   `shared/validators.go`, which pass them to the connection).
//!
//! Not modelled, and said so: the TLS handshake itself. The shared PostgreSQL of the local
//! backend serves no TLS and the simulated pod connects without it, so `sslmode`, a wrong CA
//! or a client certificate the server would refuse are not checked against the server; nor is
//! whether the CA certificates actually sign what they should (storage, LDAP, OIDC).
//!
//! Pure: values in, messages out.

use std::collections::BTreeMap;

use serde_json::Value;
use x509_parser::pem::Pem;

use crate::quay::Bundle;

/// Where the operator mounts the config Secret.
const BUNDLE_DIR: &str = "/conf/stack/";

/// libpq's `sslmode` values.
const SSL_MODES: [&str; 6] = [
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-ca",
    "verify-full",
];

/// Why `pem` is not one or more PEM certificates, if it is not.
fn certificates_problem(pem: &[u8]) -> Option<String> {
    let mut count = 0;
    for block in Pem::iter_from_buffer(pem) {
        match block {
            Err(err) => return Some(format!("a PEM block does not parse: {err}")),
            Ok(block) if block.label != "CERTIFICATE" => {
                return Some(format!("it holds a {} block", block.label));
            }
            Ok(block) => {
                if let Err(err) = block.parse_x509() {
                    return Some(format!("a certificate is not valid X.509: {err}"));
                }
                count += 1;
            }
        }
    }
    (count == 0).then(|| "it holds no PEM certificate".to_owned())
}

/// The failures of the extra CA certificates a pod mounts (`name` to content, as in the
/// operator's `extra-ca-certs` Secret).
#[must_use]
pub fn check_extra_ca_certs(files: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    files
        .iter()
        .filter_map(|(name, pem)| {
            if name.is_empty() || name.contains('/') {
                return Some(format!(
                    "extra CA certificate {name:?}: not a file name under /conf/stack/extra_ca_certs"
                ));
            }
            certificates_problem(pem).map(|problem| {
                format!(
                    "certs_install.sh: extra CA certificate /conf/stack/extra_ca_certs/{name} \
                     is not PEM certificates ({problem}); certifi's cacert.pem cannot be loaded"
                )
            })
        })
        .collect()
}

/// The failures of the database TLS files `DB_CONNECTION_ARGS` names in `bundle`.
#[must_use]
pub fn check_database_files(bundle: &Bundle) -> Vec<String> {
    let Some(args) = bundle
        .config
        .get("DB_CONNECTION_ARGS")
        .and_then(Value::as_object)
    else {
        return Vec::new();
    };
    let mut failures = Vec::new();
    if let Some(mode) = args.get("sslmode").and_then(Value::as_str)
        && !SSL_MODES.contains(&mode)
    {
        failures.push(format!("database: invalid sslmode value: \"{mode}\""));
    }
    for (arg, certificates) in [("sslrootcert", true), ("sslcert", true), ("sslkey", false)] {
        let Some(path) = args.get(arg).and_then(Value::as_str) else {
            continue;
        };
        let Some(key) = path.strip_prefix(BUNDLE_DIR) else {
            // A path outside the bundle is on the image; not modelled.
            continue;
        };
        match bundle.data.get(key) {
            None => failures.push(format!(
                "database: {arg} file \"{path}\" does not exist (no key {key} in the config bundle)"
            )),
            Some(pem) if certificates => {
                if let Some(problem) = certificates_problem(pem) {
                    failures.push(format!(
                        "database: could not load {arg} \"{path}\": {problem}"
                    ));
                }
            }
            Some(_) => {}
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem() -> Vec<u8> {
        rcgen::generate_simple_self_signed(vec!["db.example.com".into()])
            .unwrap()
            .cert
            .pem()
            .into_bytes()
    }

    fn bundle(args: &str, files: &[(&str, Vec<u8>)]) -> Bundle {
        let mut data: BTreeMap<String, Vec<u8>> = files
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        data.insert(
            "config.yaml".into(),
            format!("DB_CONNECTION_ARGS: {args}\n").into_bytes(),
        );
        Bundle::parse("b", data).unwrap()
    }

    #[test]
    fn good_extra_cas_pass_and_a_bad_one_is_named() {
        let good = BTreeMap::from([("corp.crt".to_owned(), pem())]);
        assert!(check_extra_ca_certs(&good).is_empty());
        let bad = BTreeMap::from([("corp.crt".to_owned(), b"not a pem".to_vec())]);
        let failures = check_extra_ca_certs(&bad);
        assert_eq!(failures.len(), 1);
        assert!(failures[0].contains("corp.crt"), "{failures:?}");
    }

    #[test]
    fn database_files_named_in_the_bundle_must_be_there_and_parse() {
        let args = "{sslmode: verify-full, sslrootcert: /conf/stack/database.pem}";
        assert!(check_database_files(&bundle(args, &[("database.pem", pem())])).is_empty());
        let missing = check_database_files(&bundle(args, &[]));
        assert_eq!(missing.len(), 1);
        assert!(missing[0].contains("does not exist"), "{missing:?}");
        let bad = check_database_files(&bundle(args, &[("database.pem", b"x".to_vec())]));
        assert!(bad[0].contains("could not load sslrootcert"), "{bad:?}");
        let mode = check_database_files(&bundle("{sslmode: sometimes}", &[]));
        assert!(mode[0].contains("sslmode"), "{mode:?}");
    }
}
