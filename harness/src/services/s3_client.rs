//! An S3 client for the harness's own S3 endpoints, and [`head_bucket`], the check Quay's
//! storage start-up amounts to: "does this bucket exist, and do these keys work?".
//!
//! The client is `aws-sdk-s3`, the reference SigV4 implementation, trimmed to the rustls +
//! aws-lc-rs HTTPS client (no `aws-config`: endpoint, region and keys come from the caller).
//! It is set up for S3-compatible servers: path-style addressing, checksums only when an
//! operation requires them, one attempt per call (callers that wait poll themselves, under
//! their own deadline) and a 10 s operation timeout.
//!
//! It does not read credentials from the environment or profiles, and it is not a general
//! storage layer: the simulated Quay pods' readiness checks call [`head_bucket`], and the blob
//! replication model can build on [`client`].

use std::time::Duration;

use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::head_bucket::HeadBucketError;

use super::secret::Secret;

/// How long one S3 call may take.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);

/// An access key pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Keys {
    /// The access key id (not secret: it names the key).
    pub access_key: String,
    /// The secret access key.
    pub secret_key: Secret,
}

/// Why [`head_bucket`] failed.
#[derive(Debug, thiserror::Error)]
pub enum S3CheckError {
    /// The server refused the request: 403 (a wrong secret key gives `SignatureDoesNotMatch`,
    /// an unknown access key `InvalidAccessKeyId`; a `HEAD` reply has no body, so the code
    /// may be missing).
    #[error("{endpoint} refused access to bucket {bucket} (HTTP 403{})", code.as_deref().map(|c| format!(", {c}")).unwrap_or_default())]
    AccessDenied {
        /// The endpoint.
        endpoint: String,
        /// The bucket.
        bucket: String,
        /// The S3 error code, when the reply carried one.
        code: Option<String>,
    },

    /// The bucket does not exist (404).
    #[error("bucket {bucket} does not exist at {endpoint}")]
    NoSuchBucket {
        /// The endpoint.
        endpoint: String,
        /// The bucket.
        bucket: String,
    },

    /// No answer: nothing listens, the connection broke, or the call timed out.
    #[error("no answer from {endpoint}")]
    Unreachable {
        /// The endpoint.
        endpoint: String,
        /// Why.
        #[source]
        source: Box<SdkError<HeadBucketError>>,
    },

    /// Any other failure (another status, an invalid endpoint URL).
    #[error("head bucket {bucket} at {endpoint} failed (HTTP status {status:?})")]
    Other {
        /// The endpoint.
        endpoint: String,
        /// The bucket.
        bucket: String,
        /// The HTTP status, when there was a reply.
        status: Option<u16>,
        /// Why.
        #[source]
        source: Box<SdkError<HeadBucketError>>,
    },
}

/// An S3 client for `endpoint` (e.g. `http://127.0.0.1:9000`) signing with `keys` for
/// `region`, set up as the module doc says.
///
/// Installs aws-lc-rs as the process's default rustls crypto provider if none is installed
/// yet (reference/ecosystem.md §1.7: with two providers compiled in, rustls would otherwise
/// panic when a TLS config is built).
#[must_use]
pub fn client(endpoint: &str, region: &str, keys: &S3Keys) -> aws_sdk_s3::Client {
    install_crypto_provider();
    let credentials = Credentials::new(
        keys.access_key.clone(),
        keys.secret_key.expose().to_owned(),
        None,
        None,
        "georep-harness",
    );
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region.to_owned()))
        .credentials_provider(credentials)
        .force_path_style(true)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        )
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Installs aws-lc-rs as the process-wide rustls crypto provider unless one is installed.
pub fn install_crypto_provider() {
    // Err means a provider is already installed, which is what we want either way.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// Checks that `bucket` exists at `endpoint` and that `keys` may use it (S3 `HeadBucket`).
///
/// # Errors
///
/// [`S3CheckError::AccessDenied`] for wrong keys, [`S3CheckError::NoSuchBucket`],
/// [`S3CheckError::Unreachable`], or [`S3CheckError::Other`].
pub async fn head_bucket(
    endpoint: &str,
    region: &str,
    bucket: &str,
    keys: &S3Keys,
) -> Result<(), S3CheckError> {
    let result = client(endpoint, region, keys)
        .head_bucket()
        .bucket(bucket)
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(err) => Err(classify(endpoint, bucket, err)),
    }
}

fn classify(endpoint: &str, bucket: &str, err: SdkError<HeadBucketError>) -> S3CheckError {
    let endpoint = endpoint.to_owned();
    let bucket = bucket.to_owned();
    let status = err.raw_response().map(|r| r.status().as_u16());
    match (&err, status) {
        (SdkError::DispatchFailure(_) | SdkError::TimeoutError(_), _) => {
            S3CheckError::Unreachable {
                endpoint,
                source: Box::new(err),
            }
        }
        (_, Some(403)) => S3CheckError::AccessDenied {
            endpoint,
            bucket,
            code: err.code().map(str::to_owned),
        },
        (_, Some(404)) => S3CheckError::NoSuchBucket { endpoint, bucket },
        _ => S3CheckError::Other {
            endpoint,
            bucket,
            status,
            source: Box::new(err),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn head_bucket_reports_an_endpoint_where_nothing_listens_as_unreachable() {
        let port = super::super::process::free_port().unwrap();
        let keys = S3Keys {
            access_key: "AK".to_owned(),
            secret_key: Secret::new("SK"),
        };
        let err = head_bucket(&format!("http://127.0.0.1:{port}"), "us-east-1", "b", &keys)
            .await
            .unwrap_err();
        assert!(matches!(err, S3CheckError::Unreachable { .. }), "{err:?}");
    }
}
