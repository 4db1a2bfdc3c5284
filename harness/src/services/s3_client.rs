//! An S3 client for the S3 endpoints the harness reads and writes (its own servers, Garage on
//! kind, a user's S3 behind an existing target), and [`head_bucket`], the check Quay's
//! storage start-up amounts to: "does this bucket exist, and do these keys work?".
//!
//! [`S3Client`] does the six calls the harness makes: HeadBucket, CreateBucket, PutObject,
//! GetObject, HeadObject and ListObjectsV2. `rusty-s3` builds and signs each request
//! (SigV4, as query parameters: a presigned URL used at once) and parses the listing; the
//! request goes out on hyper, which the harness has anyway, over plain HTTP or TLS checked
//! against the system's roots. The harness used `aws-sdk-s3` before: a sixth of the build's
//! compile time for these six calls (benchmarks/README.md, "A cold `.ci/run`").
//!
//! Set up for S3-compatible servers: path-style addressing, one attempt per call (callers
//! that wait poll themselves, under their own deadline) and a 10 s limit on each call. It
//! does not read credentials from the environment or profiles.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rusty_s3::actions::ListObjectsV2;
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};

use super::secret::Secret;

/// How long one S3 call may take, answer body included.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a signed URL stays valid: it is used at once, within [`OPERATION_TIMEOUT`].
const SIGNATURE_VALIDITY: Duration = Duration::from_secs(60);

/// An access key pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Keys {
    /// The access key id (not secret: it names the key).
    pub access_key: String,
    /// The secret access key.
    pub secret_key: Secret,
}

/// Why an S3 call failed.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    /// The endpoint is not an `http(s)://host[:port]` URL.
    #[error("{endpoint} is not an S3 endpoint URL (http(s)://host:port)")]
    BadEndpoint {
        /// The endpoint.
        endpoint: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The bucket name makes no URL with this endpoint.
    #[error("bucket name {bucket:?} makes no URL at {endpoint}")]
    BadBucket {
        /// The bucket.
        bucket: String,
        /// The endpoint.
        endpoint: String,
        /// Why.
        #[source]
        source: rusty_s3::BucketError,
    },

    /// No answer: nothing listens, the connection or TLS handshake failed, the answer broke
    /// off, or the call took longer than 10 s.
    #[error("{operation} {target}: no answer from {endpoint}")]
    Unreachable {
        /// The call (`HeadBucket`).
        operation: &'static str,
        /// The bucket, or bucket/key.
        target: String,
        /// The endpoint.
        endpoint: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The server answered with an error status, and the S3 error code and message of its
    /// answer when it had one (a `HEAD` answer has no body).
    #[error(
        "{operation} {target} at {endpoint}: HTTP {status}{}{}",
        code.as_deref().map(|c| format!(", {c}")).unwrap_or_default(),
        message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
    )]
    Refused {
        /// The call.
        operation: &'static str,
        /// The bucket, or bucket/key.
        target: String,
        /// The endpoint.
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// The S3 error code (`SignatureDoesNotMatch`).
        code: Option<String>,
        /// The S3 error message.
        message: Option<String>,
    },

    /// A successful answer whose body was not what the call returns.
    #[error("{operation} {target} at {endpoint}: unreadable answer")]
    BadAnswer {
        /// The call.
        operation: &'static str,
        /// The bucket, or bucket/key.
        target: String,
        /// The endpoint.
        endpoint: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl S3Error {
    /// The HTTP status of an error answer.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The S3 error code of an error answer.
    #[must_use]
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Refused { code, .. } => code.as_deref(),
            _ => None,
        }
    }
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
        source: Box<S3Error>,
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
        source: Box<S3Error>,
    },
}

/// One page of a ListObjectsV2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectPage {
    /// The keys of this page.
    pub keys: Vec<String>,
    /// The token for the next page, when the listing goes on.
    pub next: Option<String>,
}

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// How requests reach the endpoint: plain HTTP (the harness's own servers), or TLS checked
/// against the system's roots, which are read only for an `https://` endpoint.
#[derive(Clone)]
enum Transport {
    Plain(Client<HttpConnector, Full<Bytes>>),
    Tls(Client<Https, Full<Bytes>>),
}

impl Transport {
    fn for_url(url: &url::Url) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let builder = Client::builder(TokioExecutor::new());
        if url.scheme() == "http" {
            return Ok(Self::Plain(builder.build_http()));
        }
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .try_with_platform_verifier()?
            .https_only()
            .enable_http1()
            .build();
        Ok(Self::Tls(builder.build(https)))
    }

    async fn request(
        &self,
        request: Request<Full<Bytes>>,
    ) -> Result<http::Response<hyper::body::Incoming>, hyper_util::client::legacy::Error> {
        match self {
            Self::Plain(client) => client.request(request).await,
            Self::Tls(client) => client.request(request).await,
        }
    }
}

/// An S3 client for one endpoint, region and key pair; cheap to clone.
#[derive(Clone)]
pub struct S3Client {
    endpoint: String,
    url: url::Url,
    region: String,
    credentials: Arc<Credentials>,
    http: Transport,
}

impl std::fmt::Debug for S3Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Client")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key", &self.credentials.key())
            .finish_non_exhaustive()
    }
}

impl S3Client {
    /// A client for `endpoint` (`http://127.0.0.1:9000`), signing with `keys` for `region`.
    ///
    /// Installs aws-lc-rs as the process's default rustls crypto provider if none is installed
    /// yet (reference/ecosystem.md §1.7: with two providers compiled in, rustls would otherwise
    /// panic when a TLS config is built).
    ///
    /// # Errors
    ///
    /// [`S3Error::BadEndpoint`] for a URL that is not `http(s)://host[:port]`, or, for an
    /// `https://` one, when the system's trusted roots cannot be read.
    pub fn new(endpoint: &str, region: &str, keys: &S3Keys) -> Result<Self, S3Error> {
        install_crypto_provider();
        let bad = |source: Box<dyn std::error::Error + Send + Sync>| S3Error::BadEndpoint {
            endpoint: endpoint.to_owned(),
            source,
        };
        let url: url::Url = endpoint.parse().map_err(|e| bad(Box::new(e)))?;
        // Checks the scheme and host once, here, rather than at every call.
        Bucket::new(url.clone(), UrlStyle::Path, "probe", region.to_owned())
            .map_err(|e| bad(Box::new(e)))?;
        let http = Transport::for_url(&url).map_err(bad)?;
        Ok(Self {
            endpoint: endpoint.to_owned(),
            url,
            region: region.to_owned(),
            credentials: Arc::new(Credentials::new(
                keys.access_key.clone(),
                keys.secret_key.expose().to_owned(),
            )),
            http,
        })
    }

    fn bucket(&self, name: &str) -> Result<Bucket, S3Error> {
        Bucket::new(
            self.url.clone(),
            UrlStyle::Path,
            name.to_owned(),
            self.region.clone(),
        )
        .map_err(|source| S3Error::BadBucket {
            bucket: name.to_owned(),
            endpoint: self.endpoint.clone(),
            source,
        })
    }

    /// Whether `bucket` exists and these keys may use it (HeadBucket).
    ///
    /// # Errors
    ///
    /// [`S3Error`]; a missing bucket is [`S3Error::Refused`] with status 404.
    pub async fn head_bucket(&self, bucket: &str) -> Result<(), S3Error> {
        let b = self.bucket(bucket)?;
        let action = b.head_bucket(Some(&self.credentials));
        self.call("HeadBucket", bucket, &action, Bytes::new())
            .await?;
        Ok(())
    }

    /// Creates `bucket` (CreateBucket). A bucket that exists already counts as created when
    /// these keys may use it (HeadBucket): S3 answers `BucketAlreadyOwnedByYou` then, but
    /// servers without owners (s3s-fs) answer `BucketAlreadyExists` to everyone.
    ///
    /// # Errors
    ///
    /// [`S3Error`]; for a bucket that exists, the CreateBucket error when these keys may not
    /// use it.
    pub async fn create_bucket(&self, bucket: &str) -> Result<(), S3Error> {
        let b = self.bucket(bucket)?;
        let action = b.create_bucket(&self.credentials);
        let body = Bytes::from(action.body());
        match self.call("CreateBucket", bucket, &action, body).await {
            Err(e)
                if matches!(
                    e.code(),
                    Some("BucketAlreadyOwnedByYou" | "BucketAlreadyExists")
                ) =>
            {
                self.head_bucket(bucket).await.map_err(|_| e)
            }
            other => other.map(drop),
        }
    }

    /// Writes `body` as `bucket`/`key` (PutObject).
    ///
    /// # Errors
    ///
    /// [`S3Error`].
    pub async fn put_object(&self, bucket: &str, key: &str, body: Bytes) -> Result<(), S3Error> {
        let b = self.bucket(bucket)?;
        let action = b.put_object(Some(&self.credentials), key);
        self.call("PutObject", &format!("{bucket}/{key}"), &action, body)
            .await?;
        Ok(())
    }

    /// The object `bucket`/`key`, `None` when there is none (GetObject).
    ///
    /// # Errors
    ///
    /// [`S3Error`] for anything but a missing key.
    pub async fn get_object(&self, bucket: &str, key: &str) -> Result<Option<Bytes>, S3Error> {
        let b = self.bucket(bucket)?;
        let action = b.get_object(Some(&self.credentials), key);
        let target = format!("{bucket}/{key}");
        match self.call("GetObject", &target, &action, Bytes::new()).await {
            Ok(body) => Ok(Some(body)),
            Err(e) if e.code() == Some("NoSuchKey") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether `bucket` holds `key` (HeadObject).
    ///
    /// # Errors
    ///
    /// [`S3Error`] for anything but a missing key (a 404 without a body, as `HEAD` answers
    /// have none).
    pub async fn head_object(&self, bucket: &str, key: &str) -> Result<bool, S3Error> {
        let b = self.bucket(bucket)?;
        let action = b.head_object(Some(&self.credentials), key);
        let target = format!("{bucket}/{key}");
        match self
            .call("HeadObject", &target, &action, Bytes::new())
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.status() == Some(404) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// One page of the keys under `prefix` in `bucket`, from `continuation` (the previous
    /// page's [`ObjectPage::next`]) on (ListObjectsV2).
    ///
    /// # Errors
    ///
    /// [`S3Error`].
    pub async fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<&str>,
    ) -> Result<ObjectPage, S3Error> {
        let b = self.bucket(bucket)?;
        let mut action = b.list_objects_v2(Some(&self.credentials));
        action.with_prefix(prefix);
        if let Some(token) = continuation {
            action.with_continuation_token(token);
        }
        let target = format!("{bucket}/{prefix}");
        let body = self
            .call("ListObjectsV2", &target, &action, Bytes::new())
            .await?;
        let bad_answer = |source: Box<dyn std::error::Error + Send + Sync>| S3Error::BadAnswer {
            operation: "ListObjectsV2",
            target: target.clone(),
            endpoint: self.endpoint.clone(),
            source,
        };
        let text = std::str::from_utf8(&body).map_err(|e| bad_answer(Box::new(e)))?;
        let page = ListObjectsV2::parse_response(text).map_err(|e| bad_answer(Box::new(e)))?;
        Ok(ObjectPage {
            keys: page.contents.into_iter().map(|object| object.key).collect(),
            next: page.next_continuation_token,
        })
    }

    /// Sends `action`, signed, with `body` and returns the body of a successful answer.
    async fn call<'a>(
        &self,
        operation: &'static str,
        target: &str,
        action: &impl S3Action<'a>,
        body: Bytes,
    ) -> Result<Bytes, S3Error> {
        let unreachable = |source: Box<dyn std::error::Error + Send + Sync>| S3Error::Unreachable {
            operation,
            target: target.to_owned(),
            endpoint: self.endpoint.clone(),
            source,
        };
        let url = action.sign(SIGNATURE_VALIDITY);
        let request = Request::builder()
            .method(action_method(action))
            .uri(url.as_str())
            .body(Full::new(body))
            .map_err(|e| S3Error::BadEndpoint {
                endpoint: self.endpoint.clone(),
                source: Box::new(e),
            })?;
        let exchange = async {
            let response = self.http.request(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((status, body))
        };
        let (status, body) = match tokio::time::timeout(OPERATION_TIMEOUT, exchange).await {
            Ok(answer) => answer.map_err(unreachable)?,
            Err(elapsed) => return Err(unreachable(Box::new(elapsed))),
        };
        if status.is_success() {
            return Ok(body);
        }
        let (code, message) = error_fields(&body);
        Err(S3Error::Refused {
            operation,
            target: target.to_owned(),
            endpoint: self.endpoint.clone(),
            status: status.as_u16(),
            code,
            message,
        })
    }
}

/// The HTTP method of `action` (rusty-s3 has its own method type).
fn action_method<'a, A: S3Action<'a>>(_: &A) -> Method {
    match A::METHOD {
        rusty_s3::Method::Head => Method::HEAD,
        rusty_s3::Method::Get => Method::GET,
        rusty_s3::Method::Post => Method::POST,
        rusty_s3::Method::Put => Method::PUT,
        rusty_s3::Method::Delete => Method::DELETE,
    }
}

/// The `Code` and `Message` of an S3 error answer (`<Error><Code>NoSuchKey</Code>...`), as
/// far as the body has them. rusty-s3 parses only successful answers.
fn error_fields(body: &[u8]) -> (Option<String>, Option<String>) {
    use quick_xml::events::Event;

    let mut reader = quick_xml::Reader::from_reader(body);
    let (mut code, mut message) = (None, None);
    let mut path: Vec<Vec<u8>> = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(start)) => path.push(start.local_name().as_ref().to_vec()),
            Ok(Event::End(_)) => {
                path.pop();
            }
            Ok(Event::Text(text)) if path.len() == 2 && path[0] == b"Error" => {
                let Ok(text) = text.decode() else { continue };
                match path[1].as_slice() {
                    b"Code" => code = Some(text.into_owned()),
                    b"Message" => message = Some(text.into_owned()),
                    _ => {}
                }
            }
            Ok(Event::Eof) | Err(_) => return (code, message),
            Ok(_) => {}
        }
    }
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
    let result = match S3Client::new(endpoint, region, keys) {
        Ok(client) => client.head_bucket(bucket).await,
        Err(e) => Err(e),
    };
    result.map_err(|err| classify(endpoint, bucket, err))
}

fn classify(endpoint: &str, bucket: &str, err: S3Error) -> S3CheckError {
    let endpoint = endpoint.to_owned();
    let bucket = bucket.to_owned();
    match &err {
        S3Error::Unreachable { .. } => S3CheckError::Unreachable {
            endpoint,
            source: Box::new(err),
        },
        S3Error::Refused {
            status: 403, code, ..
        } => S3CheckError::AccessDenied {
            endpoint,
            bucket,
            code: code.clone(),
        },
        S3Error::Refused { status: 404, .. } => S3CheckError::NoSuchBucket { endpoint, bucket },
        _ => S3CheckError::Other {
            endpoint,
            bucket,
            status: err.status(),
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

    #[test]
    fn an_endpoint_that_is_not_an_http_url_is_refused_when_the_client_is_made() {
        let keys = S3Keys {
            access_key: "AK".to_owned(),
            secret_key: Secret::new("SK"),
        };
        for endpoint in ["s3.example.com", "ftp://s3.example.com", "http://"] {
            let err = S3Client::new(endpoint, "us-east-1", &keys).unwrap_err();
            assert!(
                matches!(err, S3Error::BadEndpoint { .. }),
                "{endpoint}: {err:?}"
            );
        }
    }

    #[test]
    fn error_answers_give_their_code_and_message() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match</Message><RequestId>1</RequestId></Error>"#;
        assert_eq!(
            error_fields(body),
            (
                Some("SignatureDoesNotMatch".to_owned()),
                Some("The request signature we calculated does not match".to_owned())
            )
        );
        assert_eq!(error_fields(b""), (None, None));
        assert_eq!(error_fields(b"<html>bad gateway</html>"), (None, None));
    }

    #[test]
    fn the_debug_form_never_shows_the_secret_key() {
        let keys = S3Keys {
            access_key: "AK".to_owned(),
            secret_key: Secret::new("very-secret-key"),
        };
        let client = S3Client::new("http://127.0.0.1:9000", "us-east-1", &keys).unwrap();
        let shown = format!("{client:?}");
        assert!(
            shown.contains("AK") && !shown.contains("very-secret-key"),
            "{shown}"
        );
    }
}
