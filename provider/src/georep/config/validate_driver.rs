//! The `driver` rules of a storage block ([`validate`](super::validate())): the driver is one
//! of [`DRIVERS`]; every attribute the driver requires is set and not empty; an attribute the
//! driver does not read is refused (Quay would ignore it, and the user meant something by it);
//! and each value is checked as Quay or its cloud checks it. Why each driver takes what it
//! takes is in `storage_driver.rs`.

use base64::Engine as _;
use x509_parser::pem::Pem;

use super::hostname::Hostname;
use super::input::StorageInput;
use super::storage_driver::{
    DRIVERS, DriverKind, DriverSpec, KeyPair, S3Endpoint, StorageDriver, driver_names, driver_spec,
    drivers_taking,
};
use super::validate::{Reported, Validator, http_url_problem};
use crate::georep::path::FieldPath;
use crate::georep::secret::Secret;

/// The driver-specific attributes of a storage block, with the word messages use for each.
const DRIVER_ATTRIBUTES: &[(&str, &str)] = &[
    ("hostname", "Hostname"),
    ("port", "Port"),
    ("is_secure", "TLS Flag"),
    ("region", "Region"),
    ("access_key", "Access Key"),
    ("secret_key", "Secret Key"),
    ("sts_role_arn", "Role ARN"),
    ("cloudfront_distribution_domain", "CloudFront Domain"),
    ("cloudfront_key_id", "CloudFront Key Id"),
    ("cloudfront_private_key", "CloudFront Private Key"),
    ("azure_account_name", "Azure Account Name"),
    ("azure_account_key", "Azure Account Key"),
    ("endpoint_url", "Endpoint URL"),
];

/// Whether each driver-specific attribute of `block` is set, and if so whether it is empty.
fn attribute_state(block: &StorageInput, attribute: &str) -> Option<bool> {
    let text = |v: &Option<String>| v.as_ref().map(|s| s.trim().is_empty());
    let secret = |v: &Option<Secret>| v.as_ref().map(Secret::is_empty);
    match attribute {
        "hostname" => text(&block.hostname),
        "port" => block.port.map(|_| false),
        "is_secure" => block.is_secure.map(|_| false),
        "region" => text(&block.region),
        "access_key" => secret(&block.access_key),
        "secret_key" => secret(&block.secret_key),
        "sts_role_arn" => text(&block.sts_role_arn),
        "cloudfront_distribution_domain" => text(&block.cloudfront_distribution_domain),
        "cloudfront_key_id" => text(&block.cloudfront_key_id),
        "cloudfront_private_key" => secret(&block.cloudfront_private_key),
        "azure_account_name" => text(&block.azure_account_name),
        "azure_account_key" => secret(&block.azure_account_key),
        "endpoint_url" => text(&block.endpoint_url),
        _ => None,
    }
}

impl Validator {
    /// The driver of storage block `label` with its settings, or `None` after reporting why not.
    pub(super) fn storage_driver(
        &mut self,
        path: &FieldPath,
        label: &str,
        block: &StorageInput,
    ) -> Option<StorageDriver> {
        let spec = self.driver_spec(path, label, block.driver.as_deref())?;
        let errors_before = self.error_count();
        for &(attribute, title) in DRIVER_ATTRIBUTES {
            let required = spec.required.contains(&attribute);
            let taken = required || spec.optional.contains(&attribute);
            match attribute_state(block, attribute) {
                Some(_) if !taken => self.error(
                    path.clone().field(attribute),
                    "Attribute Not Used By Storage Driver",
                    format!(
                        "storage \"{label}\" sets {attribute}, which driver `{}` ({}) does not \
                         read, so Quay would ignore it; remove it, or use a driver that takes \
                         it: {}",
                        spec.name,
                        spec.quay_name,
                        drivers_taking(attribute)
                    ),
                ),
                None | Some(true) if required => self.missing(path, label, spec, attribute, title),
                _ => {}
            }
        }
        let keys = self.key_pair(path, label, spec, block);
        if self.error_count() > errors_before {
            return None;
        }
        // Past this point every required attribute is set (the loop above reported any that
        // was not), so the `?`s on required values below never return early.
        self.build_driver(path, label, spec.kind, block, keys.ok()?)
    }

    /// The driver of kind `kind` from `block`, whose required attributes are all set.
    fn build_driver(
        &mut self,
        path: &FieldPath,
        label: &str,
        kind: DriverKind,
        block: &StorageInput,
        keys: Option<KeyPair>,
    ) -> Option<StorageDriver> {
        let region = block
            .region
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned);
        let port = self.storage_port(path, block.port).ok()?;
        let driver = match kind {
            DriverKind::RadosGw => StorageDriver::RadosGw {
                hostname: self
                    .storage_hostname(path, block.hostname.as_deref())
                    .ok()??,
                port,
                is_secure: self.radosgw_tls(path, label, block.is_secure),
                region,
                keys: keys?,
            },
            DriverKind::S3 => self.s3_driver(path, label, block, region, port, keys)?,
            DriverKind::StsS3 => StorageDriver::StsS3 {
                role_arn: self.role_arn(path, label, block.sts_role_arn.as_deref())?,
                region,
                user_keys: keys,
            },
            DriverKind::CloudFrontS3 => {
                let domain = self.storage_hostname_at(
                    path,
                    "cloudfront_distribution_domain",
                    "Invalid CloudFront Domain",
                    block.cloudfront_distribution_domain.as_deref(),
                );
                let key_id = self.cloudfront_key_id(path, block.cloudfront_key_id.as_deref());
                let private_key =
                    self.cloudfront_private_key(path, label, block.cloudfront_private_key.as_ref());
                StorageDriver::CloudFrontS3 {
                    region: region?,
                    keys: keys?,
                    distribution_domain: domain.ok()??,
                    key_id: key_id?,
                    private_key: private_key?,
                }
            }
            DriverKind::Azure => {
                let account_name =
                    self.azure_account_name(path, block.azure_account_name.as_deref());
                let account_key =
                    self.azure_account_key(path, label, block.azure_account_key.as_ref());
                let endpoint_url = self.azure_endpoint(path, label, block.endpoint_url.as_deref());
                StorageDriver::Azure {
                    account_name: account_name?,
                    account_key: account_key?,
                    endpoint_url: endpoint_url.ok()?,
                }
            }
            DriverKind::Gcs => StorageDriver::Gcs { keys: keys? },
        };
        Some(driver)
    }

    /// An `s3` location: Amazon's endpoint, a region's, or a custom host, never a region and a
    /// host together.
    fn s3_driver(
        &mut self,
        path: &FieldPath,
        label: &str,
        block: &StorageInput,
        region: Option<String>,
        port: Option<u16>,
        keys: Option<KeyPair>,
    ) -> Option<StorageDriver> {
        self.s3_tls(path, label, block.is_secure)?;
        let hostname = self
            .storage_hostname(path, block.hostname.as_deref())
            .ok()?;
        let endpoint = match (hostname, region) {
            (Some(_), Some(region)) => {
                self.error(
                    path.clone().field("region"),
                    "Region Overrides Storage Hostname",
                    format!(
                        "storage \"{label}\" sets both region and hostname, but Quay's \
                         S3Storage sends every request to s3.{region}.amazonaws.com when a \
                         region is set and ignores the host; remove region for a custom S3 \
                         endpoint, or hostname for Amazon S3"
                    ),
                );
                return None;
            }
            (Some(hostname), None) => S3Endpoint::Host { hostname, port },
            (None, Some(region)) => S3Endpoint::Region(region),
            (None, None) => S3Endpoint::Aws,
        };
        if port.is_some() && !matches!(endpoint, S3Endpoint::Host { .. }) {
            self.error(
                path.clone().field("port"),
                "Port Without Storage Hostname",
                format!(
                    "storage \"{label}\" sets port without hostname; Amazon S3's endpoint has \
                     its own port. Set hostname too, or remove port"
                ),
            );
            return None;
        }
        Some(StorageDriver::S3 { endpoint, keys })
    }

    /// The table entry of the block's `driver`, or `None` after reporting it.
    fn driver_spec(
        &mut self,
        path: &FieldPath,
        label: &str,
        driver: Option<&str>,
    ) -> Option<&'static DriverSpec> {
        let driver_path = path.clone().field("driver");
        let Some(name) = driver else {
            self.error(
                driver_path,
                "Missing Storage Driver",
                format!(
                    "storage \"{label}\" has no driver; set driver to one of {}",
                    driver_names()
                ),
            );
            return None;
        };
        if let Some(spec) = driver_spec(name) {
            return Some(spec);
        }
        if name.eq_ignore_ascii_case("local") || name == "LocalStorage" {
            self.error(
                driver_path,
                "Local Storage Cannot Replicate",
                format!(
                    "storage \"{label}\" uses driver `{name}`: blobs on one site's disk cannot \
                     be read or replicated by the other sites, and Quay refuses storage \
                     replication with local storage; use radosgw (MinIO, Garage, Ceph), s3, \
                     azure or gcs with a bucket every site can reach"
                ),
            );
        } else {
            let quay_name = DRIVERS
                .iter()
                .find(|d| d.quay_name.eq_ignore_ascii_case(name))
                .map(|d| format!(" (Quay's {} is driver `{}` here)", d.quay_name, d.name))
                .unwrap_or_default();
            self.error(
                driver_path,
                "Unsupported Storage Driver",
                format!(
                    "storage \"{label}\" uses driver `{name}`{quay_name}; use one of {}",
                    driver_names()
                ),
            );
        }
        None
    }

    fn missing(
        &mut self,
        path: &FieldPath,
        label: &str,
        spec: &DriverSpec,
        attribute: &'static str,
        title: &str,
    ) {
        let why = match attribute {
            "access_key" | "secret_key" => {
                ": every site must reach every bucket, so give it credentials for this bucket"
            }
            "hostname" => " to the storage server's host name (and port)",
            _ => "",
        };
        self.error(
            path.clone().field(attribute),
            &format!("Missing Storage {title}"),
            format!(
                "storage \"{label}\" has no {attribute}, which driver `{}` ({}) needs; set \
                 {attribute}{why}",
                spec.name, spec.quay_name
            ),
        );
    }

    /// `access_key` and `secret_key`: `Ok(None)` when both are unset; one without the other
    /// is an error where the driver may go without them (where it requires them, the missing
    /// one was reported with the other required attributes).
    fn key_pair(
        &mut self,
        path: &FieldPath,
        label: &str,
        spec: &DriverSpec,
        block: &StorageInput,
    ) -> Result<Option<KeyPair>, Reported> {
        let set = |s: &Option<Secret>| s.as_ref().filter(|s| !s.is_empty()).cloned();
        match (set(&block.access_key), set(&block.secret_key)) {
            (Some(access_key), Some(secret_key)) => Ok(Some(KeyPair {
                access_key,
                secret_key,
            })),
            (None, None) => Ok(None),
            (access, _) if spec.optional.contains(&"access_key") => {
                let (given, missing) = if access.is_some() {
                    ("access_key", "secret_key")
                } else {
                    ("secret_key", "access_key")
                };
                self.error(
                    path.clone().field(missing),
                    "Incomplete Storage Key Pair",
                    format!(
                        "storage \"{label}\" sets {given} without {missing}; set both, or \
                         neither to use the pods' own AWS credentials (web identity)"
                    ),
                );
                Err(Reported)
            }
            _ => Err(Reported),
        }
    }

    fn storage_port(
        &mut self,
        path: &FieldPath,
        port: Option<i64>,
    ) -> Result<Option<u16>, Reported> {
        match port {
            None => Ok(None),
            Some(port) => self
                .port(
                    path.clone().field("port"),
                    "port",
                    "Invalid Storage Port",
                    port,
                )
                .map(Some)
                .ok_or(Reported),
        }
    }

    /// `hostname`: `Ok(None)` when unset.
    fn storage_hostname(
        &mut self,
        path: &FieldPath,
        host: Option<&str>,
    ) -> Result<Option<Hostname>, Reported> {
        self.storage_hostname_at(path, "hostname", "Invalid Storage Hostname", host)
    }

    fn storage_hostname_at(
        &mut self,
        path: &FieldPath,
        attribute: &'static str,
        title: &str,
        host: Option<&str>,
    ) -> Result<Option<Hostname>, Reported> {
        match host.map(str::trim) {
            None | Some("") => Ok(None),
            Some(host) => match Hostname::parse(host) {
                Ok(host) => Ok(Some(host)),
                Err(err) => {
                    let hint = if host.contains(':') && !host.contains("://") {
                        " (the port goes in the port attribute)"
                    } else {
                        ""
                    };
                    self.error(
                        path.clone().field(attribute),
                        title,
                        format!("{attribute} {err}; {}{hint}", err.fix()),
                    );
                    Err(Reported)
                }
            },
        }
    }

    fn radosgw_tls(&mut self, path: &FieldPath, label: &str, is_secure: Option<bool>) -> bool {
        let is_secure = is_secure.unwrap_or(true);
        if !is_secure {
            self.warning(
                path.clone().field("is_secure"),
                "Plaintext Storage Endpoint",
                format!(
                    "storage \"{label}\" sets is_secure = false, so its access key id, its \
                     request signatures and every blob travel unencrypted; set is_secure = true \
                     once the server serves HTTPS"
                ),
            );
        }
        is_secure
    }

    fn s3_tls(&mut self, path: &FieldPath, label: &str, is_secure: Option<bool>) -> Option<()> {
        if is_secure == Some(false) {
            self.error(
                path.clone().field("is_secure"),
                "Plain HTTP Not Supported By S3 Driver",
                format!(
                    "storage \"{label}\" sets is_secure = false, but Quay's S3 driver always \
                     uses HTTPS; use driver = \"radosgw\" for a plain-HTTP server"
                ),
            );
            return None;
        }
        Some(())
    }

    /// `sts_role_arn`: `arn:<aws partition>:iam::<12-digit account>:role/<name>`.
    fn role_arn(&mut self, path: &FieldPath, label: &str, arn: Option<&str>) -> Option<String> {
        let arn = arn.map(str::trim).unwrap_or_default();
        let parts: Vec<&str> = arn.split(':').collect();
        let ok = matches!(
            parts.as_slice(),
            ["arn", partition, "iam", "", account, resource]
                if partition.starts_with("aws")
                    && account.len() == 12
                    && account.bytes().all(|b| b.is_ascii_digit())
                    && resource.strip_prefix("role/").is_some_and(|name| !name.is_empty()
                        && !name.ends_with('/'))
        );
        if ok {
            return Some(arn.to_owned());
        }
        self.error(
            path.clone().field("sts_role_arn"),
            "Invalid Role ARN",
            format!(
                "storage \"{label}\" has sts_role_arn `{arn}`, which is not an IAM role ARN; give \
                 arn:aws:iam::<12-digit account id>:role/<role name>, for example \
                 arn:aws:iam::123456789012:role/quay-storage"
            ),
        );
        None
    }

    /// `cloudfront_key_id`: the id CloudFront shows for the public key, letters and digits.
    fn cloudfront_key_id(&mut self, path: &FieldPath, id: Option<&str>) -> Option<String> {
        let id = id.map(str::trim).unwrap_or_default();
        if id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Some(id.to_owned());
        }
        self.error(
            path.clone().field("cloudfront_key_id"),
            "Invalid CloudFront Key Id",
            format!(
                "cloudfront_key_id `{id}` has characters other than letters and digits; give the \
                 id CloudFront shows for the public key (for example K2JCJMDEHXQW5F)"
            ),
        );
        None
    }

    /// `cloudfront_private_key`: one unencrypted RSA private key in PEM, as Quay loads it
    /// (`load_pem_private_key(..., password=None)`, then RSA-SHA1 signing).
    fn cloudfront_private_key(
        &mut self,
        path: &FieldPath,
        label: &str,
        key: Option<&Secret>,
    ) -> Option<Secret> {
        let key = key?;
        match rsa_private_key_problem(key.expose()) {
            None => Some(key.clone()),
            Some(problem) => {
                self.error(
                    path.clone().field("cloudfront_private_key"),
                    "Invalid CloudFront Private Key",
                    format!(
                        "storage \"{label}\": cloudfront_private_key {problem}; give the \
                         unencrypted RSA private key (PEM) of the CloudFront key pair, for \
                         example file(\"cloudfront-private.pem\")"
                    ),
                );
                None
            }
        }
    }

    /// `azure_account_name`: Azure's rule, 3 to 24 lowercase letters and digits.
    fn azure_account_name(&mut self, path: &FieldPath, name: Option<&str>) -> Option<String> {
        let name = name.map(str::trim).unwrap_or_default();
        if (3..=24).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Some(name.to_owned());
        }
        self.error(
            path.clone().field("azure_account_name"),
            "Invalid Azure Account Name",
            format!(
                "azure_account_name `{name}` is not a storage account name: Azure's are 3 to 24 \
                 lowercase letters and digits"
            ),
        );
        None
    }

    /// `azure_account_key`: standard base64, which config-tool's shared-key credential decodes.
    fn azure_account_key(
        &mut self,
        path: &FieldPath,
        label: &str,
        key: Option<&Secret>,
    ) -> Option<Secret> {
        let key = key?;
        if base64::engine::general_purpose::STANDARD
            .decode(key.expose().trim())
            .is_ok_and(|bytes| !bytes.is_empty())
        {
            return Some(Secret::new(key.expose().trim()));
        }
        self.error(
            path.clone().field("azure_account_key"),
            "Invalid Azure Account Key",
            format!(
                "storage \"{label}\": azure_account_key is not standard base64, and Quay's \
                 config check builds its shared-key credential from the decoded key; copy \
                 key1 or key2 of the storage account's access keys"
            ),
        );
        None
    }

    /// `endpoint_url`: `Ok(None)` when unset; otherwise an `http(s)://host` URL.
    fn azure_endpoint(
        &mut self,
        path: &FieldPath,
        label: &str,
        url: Option<&str>,
    ) -> Result<Option<String>, Reported> {
        let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        // Quoted without user info or query: either may hold a credential (a SAS token).
        let shown = shown_url(url);
        if url.contains('?')
            || url.split("://").nth(1).is_some_and(|rest| {
                rest.split('/')
                    .next()
                    .is_some_and(|authority| authority.contains('@'))
            })
        {
            self.error(
                path.clone().field("endpoint_url"),
                "Invalid Storage Endpoint URL",
                format!(
                    "endpoint_url `{shown}` carries user info or a query (such as a SAS \
                     token); Quay authenticates with azure_account_key, so give the bare blob \
                     service URL"
                ),
            );
            return Err(Reported);
        }
        match http_url_problem(url) {
            None => {
                if url.starts_with("http://") {
                    self.warning(
                        path.clone().field("endpoint_url"),
                        "Plaintext Storage Endpoint",
                        format!(
                            "storage \"{label}\" has endpoint_url `{shown}`, plain HTTP, so the \
                             request signatures and every blob travel unencrypted; use https://"
                        ),
                    );
                }
                Ok(Some(url.to_owned()))
            }
            Some(problem) => {
                self.error(
                    path.clone().field("endpoint_url"),
                    "Invalid Storage Endpoint URL",
                    format!(
                        "endpoint_url `{shown}` {problem}; give the blob service URL, such as \
                         https://<account>.blob.core.usgovcloudapi.net"
                    ),
                );
                Err(Reported)
            }
        }
    }
}

/// `url` without its user info and query, for messages.
fn shown_url(url: &str) -> String {
    let without_query = url.split(['?', '#']).next().unwrap_or_default();
    match without_query.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
            let host = authority.rsplit('@').next().unwrap_or_default();
            let slash = if path.is_empty() && !rest.contains('/') {
                ""
            } else {
                "/"
            };
            format!("{scheme}://{host}{slash}{path}")
        }
        None => without_query
            .rsplit('@')
            .next()
            .unwrap_or_default()
            .to_owned(),
    }
}

/// What keeps `pem` from being one unencrypted RSA private key, or `None`.
///
/// PKCS#1 (`RSA PRIVATE KEY`) is RSA by its label; a PKCS#8 `PRIVATE KEY` names its algorithm
/// in its first bytes, where the rsaEncryption object identifier (1.2.840.113549.1.1.1) must
/// appear. Checked by hand: no crate we build already parses PKCS#8, and this is all Quay's
/// loader needs to accept the key for RSA signing.
#[must_use]
pub(crate) fn rsa_private_key_problem(pem: &str) -> Option<String> {
    const RSA_ENCRYPTION: [u8; 11] = [
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
    ];
    // A traditional encrypted key: `RSA PRIVATE KEY` with an encryption header.
    if pem.contains("Proc-Type: 4,ENCRYPTED") {
        return Some("is encrypted, and Quay loads it without a password".to_owned());
    }
    let mut blocks = Pem::iter_from_buffer(pem.as_bytes());
    let block = match blocks.next() {
        None => return Some("holds no PEM block".to_owned()),
        Some(Err(err)) => return Some(format!("does not parse as PEM: {err}")),
        Some(Ok(block)) => block,
    };
    if blocks.next().is_some() {
        return Some("holds more than one PEM block".to_owned());
    }
    match block.label.as_str() {
        "RSA PRIVATE KEY" => None,
        "PRIVATE KEY" => {
            let head = &block.contents[..block.contents.len().min(32)];
            head.windows(RSA_ENCRYPTION.len())
                .any(|w| w == RSA_ENCRYPTION)
                .then_some(())
                .map_or_else(
                    || Some("is not an RSA key (CloudFront signs with RSA)".to_owned()),
                    |()| None,
                )
        }
        "ENCRYPTED PRIVATE KEY" => {
            Some("is encrypted, and Quay loads it without a password".to_owned())
        }
        "EC PRIVATE KEY" => {
            Some("is an EC key, not an RSA key (CloudFront signs with RSA)".to_owned())
        }
        other => Some(format!("is a {other} block, not a private key")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_attribute_of_the_driver_table_is_one_validation_reads() {
        let known: Vec<&str> = DRIVER_ATTRIBUTES.iter().map(|(name, _)| *name).collect();
        let block = StorageInput::default();
        for spec in DRIVERS {
            for attribute in spec.required.iter().chain(spec.optional) {
                assert!(known.contains(attribute), "{}: {attribute}", spec.name);
                assert!(!spec.optional.contains(attribute) || !spec.required.contains(attribute));
            }
            assert_eq!(driver_spec(spec.name).map(|s| s.kind), Some(spec.kind));
        }
        // Each known attribute maps to a field of the block (unset here, so `None`).
        for name in &known {
            assert_eq!(attribute_state(&block, name), None, "{name}");
        }
        let set = StorageInput {
            endpoint_url: Some(String::new()),
            ..StorageInput::default()
        };
        assert_eq!(attribute_state(&set, "endpoint_url"), Some(true));
        assert_eq!(attribute_state(&set, "no_such_attribute"), None);
    }
}
