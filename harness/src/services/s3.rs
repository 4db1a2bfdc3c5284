//! [`S3Server`]: one in-process S3 endpoint per site, served by `s3s` over an `s3s-fs`
//! filesystem backend.
//!
//! [`S3Server::start`] creates `STATE_DIR/s3/<site>/` with the site's bucket in it (`s3s-fs`
//! keeps a bucket as a directory), binds a free loopback port (the listener is bound before
//! the server task starts, so there is no window in which another process could take the
//! port), and serves S3 on it: path-style requests, SigV4 checked against the site's own
//! generated access key pair (`s3s`'s `SimpleAuth`), so another site's keys or a wrong secret
//! get HTTP 403. [`S3Server::site`] is what a Quay storage config needs: [`S3Site`].
//!
//! It does not: serve TLS or virtual-host-style addressing, enforce bucket policies or ACLs
//! (any valid key of the site may do anything), or implement S3 operations `s3s-fs` 0.14
//! lacks (versioning, tagging, lifecycle, object lock). [`S3Server::stop`] stops accepting,
//! lets open requests finish (bounded), and deletes the site's directory; `Drop` aborts the
//! server without waiting and deletes the directory.

use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::s3_client::S3Keys;
use super::secret::{Secret, random_hex};
use crate::http_server::serve_until_shutdown;

/// The region every site's endpoint signs for (`s3s` accepts any; Quay needs one).
pub const REGION: &str = "us-east-1";

/// How many random bytes the access key id (upper-case hex) and the secret key have.
const ACCESS_KEY_BYTES: usize = 10;
const SECRET_KEY_BYTES: usize = 20;

/// How to start an [`S3Server`]; [`Default`] gives the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Options {
    /// How long [`S3Server::stop`] lets open requests finish. Default 10 s.
    pub stop_timeout: Duration,
    /// The address to listen on. Default `127.0.0.1:0` (a free loopback port); a container
    /// serving other containers listens on every address at a fixed port.
    pub listen: SocketAddr,
    /// The key pair to accept. Default `None`: a fresh random pair.
    pub keys: Option<S3Keys>,
}

impl Default for S3Options {
    fn default() -> Self {
        Self {
            stop_timeout: Duration::from_secs(10),
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            keys: None,
        }
    }
}

/// Why starting or stopping an [`S3Server`] failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The site name cannot name a bucket and a directory.
    #[error(
        "site name {site:?} is invalid: it must be 1 to 40 characters of a-z, 0-9, '_' or '-', \
         starting with a letter"
    )]
    InvalidSiteName {
        /// The name.
        site: String,
    },

    /// The site's directory already exists.
    #[error("{dir} already exists: remove it or use another state dir")]
    StateExists {
        /// The directory.
        dir: PathBuf,
    },

    /// Creating a directory, binding the port or opening the backend failed.
    #[error("set up the s3 endpoint of site {site} in {dir}")]
    Setup {
        /// The site.
        site: String,
        /// Its data directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },

    /// The operating system's random source failed.
    #[error("generate keys for site {site}")]
    Random {
        /// The site.
        site: String,
        /// Why.
        #[source]
        source: getrandom::Error,
    },

    /// Open requests did not finish within the stop timeout; the server was aborted.
    #[error("s3 endpoint of site {site} ({endpoint}) still had open requests after {timeout:?}")]
    StopTimedOut {
        /// The site.
        site: String,
        /// The endpoint.
        endpoint: String,
        /// The limit.
        timeout: Duration,
    },
}

/// One site's S3 endpoint, bucket and keys: what its Quay storage config needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Site {
    /// The site name.
    pub site: String,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The site's bucket (`quay-<site>`, with `_` written as `-`).
    pub bucket: String,
    /// The access key id.
    pub access_key: String,
    /// The secret access key.
    pub secret_key: Secret,
    /// The signing region.
    pub region: String,
}

impl S3Site {
    /// The access key pair, for [`super::s3_client`].
    #[must_use]
    pub fn keys(&self) -> S3Keys {
        S3Keys {
            access_key: self.access_key.clone(),
            secret_key: self.secret_key.clone(),
        }
    }

    /// The endpoint's port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.endpoint
            .rsplit_once(':')
            .and_then(|(_, port)| port.parse().ok())
            .expect("the endpoint is built as http://127.0.0.1:PORT")
    }
}

/// A running S3 endpoint for one site.
#[derive(Debug)]
pub struct S3Server {
    site: S3Site,
    dir: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    stop_timeout: Duration,
}

impl S3Server {
    /// Starts the endpoint of `site`, with its data in `state_dir/s3/<site>` (which must not
    /// exist yet). Must be called within a Tokio runtime.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSiteName`], [`Error::StateExists`], [`Error::Setup`], [`Error::Random`].
    pub async fn start(state_dir: &Path, site: &str, opts: &S3Options) -> Result<Self, Error> {
        let bucket = bucket_name(site)?;
        let dir = state_dir.join("s3").join(site);
        if dir.exists() {
            return Err(Error::StateExists { dir });
        }
        let setup = |source| Error::Setup {
            site: site.to_owned(),
            dir: dir.clone(),
            source,
        };
        std::fs::DirBuilder::new()
            .mode(0o700)
            .recursive(true)
            .create(dir.join(&bucket))
            .map_err(setup)?;
        let random = |bytes| {
            random_hex(bytes).map_err(|source| Error::Random {
                site: site.to_owned(),
                source,
            })
        };
        let S3Keys {
            access_key,
            secret_key,
        } = match &opts.keys {
            Some(keys) => keys.clone(),
            None => S3Keys {
                access_key: random(ACCESS_KEY_BYTES)?.to_uppercase(),
                secret_key: Secret::new(random(SECRET_KEY_BYTES)?),
            },
        };
        let service = build_service(&dir, &access_key, &secret_key).map_err(setup)?;
        let listener = TcpListener::bind(opts.listen).await.map_err(setup)?;
        let port = listener.local_addr().map_err(setup)?.port();
        let (shutdown, shutdown_rx) = oneshot::channel();
        let task = tokio::spawn(serve_until_shutdown(listener, service, shutdown_rx));
        Ok(Self {
            site: S3Site {
                site: site.to_owned(),
                endpoint: format!("http://127.0.0.1:{port}"),
                bucket,
                access_key,
                secret_key,
                region: REGION.to_owned(),
            },
            dir,
            shutdown: Some(shutdown),
            task: Some(task),
            stop_timeout: opts.stop_timeout,
        })
    }

    /// What [`S3Server::start`] would do, for a dry run.
    #[must_use]
    pub fn describe(state_dir: &Path, site: &str) -> Vec<String> {
        let bucket = bucket_name(site).unwrap_or_else(|err| format!("<{err}>"));
        let dir = state_dir.join("s3").join(site);
        vec![
            format!("mkdir -p -m 0700 {}", dir.join(&bucket).display()),
            format!(
                "# in-process: s3s-fs rooted at {} on http://127.0.0.1:<port>, path-style, \
                 SigV4 with a generated key pair for site {site}",
                dir.display()
            ),
        ]
    }

    /// The endpoint, bucket and keys.
    #[must_use]
    pub fn site(&self) -> &S3Site {
        &self.site
    }

    /// Stops accepting connections, waits (bounded) for open requests, and deletes the
    /// site's directory.
    ///
    /// # Errors
    ///
    /// [`Error::StopTimedOut`] when requests were still open after the stop timeout (the
    /// server is aborted and the directory deleted anyway).
    pub async fn stop(mut self) -> Result<(), Error> {
        if let Some(shutdown) = self.shutdown.take() {
            // Err: the server task is already gone, which is the goal.
            let _ = shutdown.send(());
        }
        let mut result = Ok(());
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(self.stop_timeout, &mut task)
                .await
                .is_err()
        {
            task.abort();
            result = Err(Error::StopTimedOut {
                site: self.site.site.clone(),
                endpoint: self.site.endpoint.clone(),
                timeout: self.stop_timeout,
            });
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        result
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `quay-<site>` with `_` as `-`, after checking the site name.
fn bucket_name(site: &str) -> Result<String, Error> {
    let valid = (1..=40).contains(&site.len())
        && site.starts_with(|c: char| c.is_ascii_lowercase())
        && site
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if valid {
        Ok(format!("quay-{}", site.replace('_', "-")))
    } else {
        Err(Error::InvalidSiteName {
            site: site.to_owned(),
        })
    }
}

fn build_service(dir: &Path, access_key: &str, secret_key: &Secret) -> std::io::Result<S3Service> {
    // s3s_fs::Error does not implement std::error::Error; keep its text.
    let fs = s3s_fs::FileSystem::new(dir)
        .map_err(|err| std::io::Error::other(format!("open s3s-fs backend: {err:?}")))?;
    let mut builder = S3ServiceBuilder::new(fs);
    builder.set_auth(SimpleAuth::from_single(
        access_key.to_owned(),
        secret_key.expose().to_owned(),
    ));
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_the_site_name() {
        assert_eq!(bucket_name("us_east").unwrap(), "quay-us-east");
        assert_eq!(bucket_name("eu-west2").unwrap(), "quay-eu-west2");
    }

    #[test]
    fn rejects_site_names_that_cannot_name_a_bucket() {
        for bad in ["", "US", "1site", "a/b", "a.b", &"x".repeat(41)] {
            assert!(
                matches!(bucket_name(bad), Err(Error::InvalidSiteName { .. })),
                "{bad:?}"
            );
        }
    }
}
