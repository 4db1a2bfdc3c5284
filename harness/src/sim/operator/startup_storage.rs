//! The start-up check of each `DISTRIBUTED_STORAGE_CONFIG` location, by driver, as a Quay pod
//! runs it (config-tool's `ValidateStorage`, quay/quay
//! `config-tool/pkg/lib/shared/storage_validators.go`, then the driver's constructor in
//! `storage/cloud.py` / `storage/azurestorage.py`).
//!
//! Modelled, for every driver config-tool knows: its required fields (a missing one fails the
//! pod, naming `DISTRIBUTED_STORAGE_CONFIG.<location>.<field>` as config-tool does); an unknown
//! driver fails ("... is not a valid storage type"); `LocalStorage` fails with replication.
//! Then what the simulated clusters can reach is checked for real: an S3-compatible server
//! (`RadosGWStorage`, `RHOCSStorage`, `S3Storage` at a custom host with keys) answers
//! `HeadBucket` with the location's keys. What they cannot reach is said, not passed
//! silently: each such location is returned in [`StorageChecks::unchecked`] with the reason,
//! and the deployment controller records it as an event on the pod. Offline parts of those
//! drivers are still checked: an Azure account key must be base64 (config-tool builds a
//! shared-key credential from it), and a CloudFront location's
//! `cloudfront_privatekey_filename` must be a key of the config bundle holding a PEM private key
//! (Quay loads it at start-up, relative to `/conf/stack`).

use std::time::Duration;

use base64::Engine as _;
use x509_parser::pem::Pem;

use crate::errors::chain;
use crate::quay::Bundle;
use crate::quay::bundle::{S3Target, StorageLocation};
use crate::services::s3::REGION;
use crate::services::s3_client::head_bucket;

/// What the storage checks of one pod found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StorageChecks {
    /// Failures: the pod does not start.
    pub failures: Vec<String>,
    /// Locations the simulator accepted without reaching their service, each with why.
    pub unchecked: Vec<String>,
}

/// The fields config-tool requires of `driver`, or `None` when config-tool does not know it.
fn required_fields(driver: &str) -> Option<&'static [&'static str]> {
    Some(match driver {
        "LocalStorage" => &[],
        "RHOCSStorage" | "RadosGWStorage" | "IBMCloudStorage" => {
            &["access_key", "secret_key", "hostname", "bucket_name"]
        }
        "S3Storage" | "STSS3Storage" => &["s3_bucket"],
        "GoogleCloudStorage" => &["access_key", "secret_key", "bucket_name"],
        "AzureStorage" => &["azure_container", "azure_account_name"],
        // config-tool's five, and the two the Python constructor takes without a default.
        "CloudFrontedS3Storage" => &[
            "s3_access_key",
            "s3_secret_key",
            "s3_bucket",
            "cloudfront_distribution_domain",
            "cloudfront_key_id",
            "s3_region",
            "cloudfront_privatekey_filename",
        ],
        "SwiftStorage" => &[
            "auth_url",
            "swift_container",
            "swift_user",
            "swift_password",
        ],
        "CloudFlareStorage" => &[
            "s3_access_key",
            "s3_secret_key",
            "s3_bucket",
            "cloudflare_domain",
        ],
        "MultiCDNStorage" => &["providers", "default_provider", "storage_config"],
        _ => return None,
    })
}

/// Whether `field` of `location` is set as config-tool's `ValidateRequiredString` (or
/// `ValidateRequiredObject`) wants it: a non-empty string, or any other non-null value.
fn is_set(location: &StorageLocation, field: &str) -> bool {
    match location.args.get(field) {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

/// Checks every storage location of `bundle`, `timeout` for each service that answers.
pub async fn check(bundle: &Bundle, timeout: Duration) -> StorageChecks {
    let mut checks = StorageChecks::default();
    let locations = bundle.storage_locations();
    if locations.is_empty() {
        checks
            .failures
            .push("storage: DISTRIBUTED_STORAGE_CONFIG must have at least one location".into());
    }
    for location in locations {
        match offline(bundle, &location) {
            Offline::Failed(messages) => checks.failures.extend(messages),
            Offline::Unchecked(why) => checks
                .unchecked
                .push(format!("storage location {}: {why}", location.name)),
            Offline::Done => {}
            Offline::HeadBucket(target) => {
                if let Err(message) = reach(&location.name, target, timeout).await {
                    checks.failures.push(message);
                }
            }
        }
    }
    checks
}

/// What a location needs after the checks that take no network.
enum Offline {
    Failed(Vec<String>),
    Unchecked(String),
    Done,
    HeadBucket(S3Target),
}

fn offline(bundle: &Bundle, location: &StorageLocation) -> Offline {
    let name = &location.name;
    let driver = location.driver.as_str();
    let Some(required) = required_fields(driver) else {
        return Offline::Failed(vec![format!(
            "storage location {name}: {driver} is not a valid storage type."
        )]);
    };
    let failures: Vec<String> = required
        .iter()
        .filter(|field| !is_set(location, field))
        .map(|field| format!("DISTRIBUTED_STORAGE_CONFIG.{name}.{field} is required"))
        .collect();
    if !failures.is_empty() {
        return Offline::Failed(failures);
    }
    match driver {
        "LocalStorage" if bundle.replication() => Offline::Failed(vec![format!(
            "storage location {name}: LocalStorage cannot be used with storage replication"
        )]),
        "LocalStorage" => Offline::Done,
        "RHOCSStorage" | "RadosGWStorage" => head_bucket_of(location),
        "S3Storage" if !is_set(location, "s3_access_key") || !is_set(location, "s3_secret_key") => {
            Offline::Unchecked(
                "S3Storage without keys uses the pod's own AWS credentials (web identity, \
                 instance role), which simulated pods do not have"
                    .to_owned(),
            )
        }
        "S3Storage" => match head_bucket_of(location) {
            Offline::HeadBucket(target) if is_aws(&target.endpoint) => Offline::Unchecked(
                "Amazon S3 is not reachable from the simulated clusters".to_owned(),
            ),
            other => other,
        },
        "STSS3Storage" => Offline::Unchecked(
            "STSS3Storage assumes its IAM role through AWS STS, which the simulated clusters \
             cannot reach"
                .to_owned(),
        ),
        "AzureStorage" => {
            let key = location.arg("azure_account_key").unwrap_or_default();
            if base64::engine::general_purpose::STANDARD
                .decode(key)
                .is_err()
            {
                return Offline::Failed(vec![format!(
                    "storage location {name}: Could not create credentials for Azure storage: \
                     azure_account_key is not base64"
                )]);
            }
            Offline::Unchecked(
                "Azure Blob Storage is not reachable from the simulated clusters".to_owned(),
            )
        }
        "CloudFrontedS3Storage" => match cloudfront_key_problem(bundle, location) {
            Some(problem) => Offline::Failed(vec![format!("storage location {name}: {problem}")]),
            None => Offline::Unchecked(
                "Amazon S3 and CloudFront are not reachable from the simulated clusters \
                 (the signing key in the bundle was checked)"
                    .to_owned(),
            ),
        },
        "GoogleCloudStorage" => Offline::Unchecked(
            "storage.googleapis.com is not reachable from the simulated clusters".to_owned(),
        ),
        other => Offline::Unchecked(format!("{other} is not modelled by the simulator")),
    }
}

/// The `HeadBucket` check of the location's S3 target; a failure when the target lacks what
/// it needs.
fn head_bucket_of(location: &StorageLocation) -> Offline {
    match location.s3_target() {
        Some(Ok(target)) => Offline::HeadBucket(target),
        Some(Err(message)) => Offline::Failed(vec![message]),
        None => Offline::Done,
    }
}

/// Whether `endpoint` is one of Amazon's.
fn is_aws(endpoint: &str) -> bool {
    url::Url::parse(endpoint)
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
        .is_some_and(|host| host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn"))
}

/// Why the CloudFront signing key `location` names cannot be loaded from `bundle`, if so.
fn cloudfront_key_problem(bundle: &Bundle, location: &StorageLocation) -> Option<String> {
    let file = location
        .arg("cloudfront_privatekey_filename")
        .unwrap_or_default();
    let key = file.trim_start_matches("/conf/stack/");
    let Some(pem) = bundle.data.get(key) else {
        return Some(format!(
            "[Errno 2] No such file or directory: '/conf/stack/{key}' \
             (cloudfront_privatekey_filename)"
        ));
    };
    match Pem::iter_from_buffer(pem).next() {
        Some(Ok(block))
            if block.label.ends_with("PRIVATE KEY") && !block.label.contains("ENCRYPTED") =>
        {
            None
        }
        _ => Some(format!(
            "Could not deserialize key data in /conf/stack/{key}: not an unencrypted PEM \
             private key"
        )),
    }
}

/// `HeadBucket` on location `name`'s S3 target with its keys.
async fn reach(name: &str, target: S3Target, timeout: Duration) -> Result<(), String> {
    let (endpoint, bucket, keys) = (target.endpoint, target.bucket, target.keys);
    match tokio::time::timeout(timeout, head_bucket(&endpoint, REGION, &bucket, &keys)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(format!("storage location {name}: {}", chain(&err))),
        Err(_) => Err(format!(
            "storage location {name}: bucket {bucket} at {endpoint} did not answer within \
             {timeout:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn bundle(storage: &str, extra: &[(&str, &str)]) -> Bundle {
        let yaml =
            format!("FEATURE_STORAGE_REPLICATION: true\nDISTRIBUTED_STORAGE_CONFIG:\n{storage}");
        let mut data = BTreeMap::from([("config.yaml".to_owned(), yaml.into_bytes())]);
        for (k, v) in extra {
            data.insert((*k).to_owned(), v.as_bytes().to_vec());
        }
        Bundle::parse("b", data).unwrap()
    }

    async fn run(storage: &str, extra: &[(&str, &str)]) -> StorageChecks {
        check(&bundle(storage, extra), Duration::from_millis(200)).await
    }

    #[tokio::test]
    async fn drivers_out_of_reach_are_accepted_and_named_with_the_reason() {
        let checks = run(
            "  az: [AzureStorage, {azure_container: c, azure_account_name: a, azure_account_key: a2V5}]\n\
             \x20 gcs: [GoogleCloudStorage, {access_key: a, secret_key: s, bucket_name: b}]\n\
             \x20 sts: [STSS3Storage, {s3_bucket: b, sts_role_arn: 'arn:aws:iam::123456789012:role/q'}]\n\
             \x20 irsa: [S3Storage, {s3_bucket: b, s3_region: eu-west-1}]\n\
             \x20 aws: [S3Storage, {s3_bucket: b, s3_region: eu-west-1, s3_access_key: a, s3_secret_key: s}]\n\
             \x20 cf: [CloudFrontedS3Storage, {s3_bucket: b, s3_region: us-east-1, s3_access_key: a, \
             s3_secret_key: s, cloudfront_distribution_domain: d.cloudfront.net, cloudfront_key_id: K, \
             cloudfront_privatekey_filename: cloudfront_cf.pem}]\n",
            &[(
                "cloudfront_cf.pem",
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            )],
        )
        .await;
        assert!(checks.failures.is_empty(), "{:#?}", checks.failures);
        let named: Vec<&str> = checks
            .unchecked
            .iter()
            .map(|u| u.split(':').next().unwrap_or_default())
            .collect();
        assert_eq!(
            named,
            [
                "storage location aws",
                "storage location az",
                "storage location cf",
                "storage location gcs",
                "storage location irsa",
                "storage location sts",
            ]
        );
        assert!(
            checks.unchecked[4].contains("own AWS credentials"),
            "{:?}",
            checks.unchecked
        );
    }

    #[tokio::test]
    async fn missing_fields_bad_keys_and_unknown_drivers_fail_the_pod_as_config_tool_does() {
        let checks = run(
            "  az: [AzureStorage, {azure_container: c, azure_account_name: a, azure_account_key: 'not base64!'}]\n\
             \x20 gcs: [GoogleCloudStorage, {access_key: a, bucket_name: b}]\n\
             \x20 cf: [CloudFrontedS3Storage, {s3_bucket: b, s3_region: us-east-1, s3_access_key: a, \
             s3_secret_key: s, cloudfront_distribution_domain: d.cloudfront.net, cloudfront_key_id: K, \
             cloudfront_privatekey_filename: cloudfront_cf.pem}]\n\
             \x20 ak: [AkamaiS3Storage, {s3_bucket: b}]\n",
            &[],
        )
        .await;
        let failures = checks.failures.join("\n");
        for expected in [
            "AkamaiS3Storage is not a valid storage type.",
            "azure_account_key is not base64",
            "No such file or directory: '/conf/stack/cloudfront_cf.pem'",
            "DISTRIBUTED_STORAGE_CONFIG.gcs.secret_key is required",
        ] {
            assert!(failures.contains(expected), "{expected} in {failures}");
        }
        assert!(!failures.contains("not base64!"), "{failures}");
        assert!(checks.unchecked.is_empty(), "{:?}", checks.unchecked);
    }

    #[tokio::test]
    async fn a_custom_s3_host_is_checked_for_real() {
        // Nothing listens on port 9 of localhost: the check fails, so it was made.
        let checks = run(
            "  s3: [S3Storage, {s3_bucket: b, host: 127.0.0.1, port: 9, s3_access_key: a, s3_secret_key: s}]\n",
            &[],
        )
        .await;
        assert_eq!(checks.failures.len(), 1, "{checks:?}");
        assert!(
            checks.failures[0].starts_with("storage location s3:"),
            "{checks:?}"
        );
        assert!(checks.unchecked.is_empty());
    }
}
