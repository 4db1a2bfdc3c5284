//! The shared services of the `local` backend: one PostgreSQL, one Redis, and one S3
//! endpoint per site, launched like envtest launches its servers (strict: free loopback
//! ports, every wait bounded and naming what it waited for, everything stopped and its files
//! deleted on [`SharedServices::stop`], on `Drop`, and on Ctrl-C through
//! [`SharedServices::stop_when`]).
//!
//! What each launcher does, and does not:
//! - [`postgres::Postgres`]: `initdb` + `pg_ctl` of Debian's PostgreSQL 15 (as the `postgres`
//!   user via `runuser` when the harness is root), scram passwords, the role `quay`, databases
//!   `quay` and `clair`, `pg_trgm` in `quay` (optional). No TLS, no durability.
//! - [`redis::Redis`]: `redis-server` as a child process with a generated `requirepass`, no
//!   persistence; [`redis::check_redis`] is the `AUTH` + `PING` probe. No TLS, no ACL users.
//! - [`s3::S3Server`]: `s3s` + `s3s-fs` in this process, one endpoint, bucket and SigV4 key
//!   pair per site; [`s3_client::head_bucket`] is the probe. No TLS, no policies, no
//!   versioning.
//!
//! None of them installs anything (`scripts/install-services.sh` does), and none survives a
//! `SIGKILL` of the harness: the Postgres and Redis processes would then keep running.
//! [`SharedServices::describe`] lists what a start would run, for `--dry-run`.
//!
//! Layout under the state dir: `postgres/` (`data/`, `run/` socket dir, `postgres.log`),
//! `redis/` (`redis.conf`, `redis.log`), `s3/<site>/<bucket>/`, and `services.json` (written
//! by [`SharedServices::services_json`], mode 0600: it holds every password and key).
//!
//! # Examples
//!
//! ```no_run
//! use georep_harness::services::SharedServices;
//!
//! # async fn up() -> Result<(), georep_harness::services::Error> {
//! let dir = std::path::Path::new("/tmp/georep-run");
//! let services = SharedServices::start(dir, &["us_east", "eu_west"]).await?;
//! let file = services.services_json()?;
//! println!("credentials in {}", file.display());
//! // Hold them until Ctrl-C, then stop everything in order.
//! services.stop_when(tokio::signal::ctrl_c()).await
//! # }
//! ```

pub mod postgres;
pub mod process;
pub mod redis;
pub mod s3;
pub mod s3_client;
pub mod secret;

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use self::postgres::{Database, Postgres, PostgresOptions};
use self::redis::{Redis, RedisOptions};
use self::s3::{S3Options, S3Server, S3Site};
use crate::errors;

/// The name of the file [`SharedServices::services_json`] writes into the state dir.
pub const SERVICES_JSON: &str = "services.json";

/// The file `up` writes the variables of `examples/three-sites` into, in the state dir.
pub const TFVARS: &str = "terraform.tfvars.json";

/// Options for every launcher; [`Default`] gives each launcher's documented defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServicesOptions {
    /// PostgreSQL.
    pub postgres: PostgresOptions,
    /// Redis.
    pub redis: RedisOptions,
    /// The S3 endpoints.
    pub s3: S3Options,
}

/// Why starting, describing or stopping the shared services failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No site was given.
    #[error("at least one site is needed for the shared services")]
    NoSites,

    /// A site was given twice.
    #[error("site {site} is listed twice")]
    DuplicateSite {
        /// The site.
        site: String,
    },

    /// The state dir could not be created.
    #[error("create state dir {dir}")]
    StateDir {
        /// The directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },

    /// PostgreSQL failed.
    #[error("shared postgres")]
    Postgres(#[from] postgres::Error),

    /// Redis failed.
    #[error("shared redis")]
    Redis(#[from] redis::Error),

    /// An S3 endpoint failed.
    #[error("s3 endpoint")]
    S3(#[from] s3::Error),

    /// `services.json` could not be written.
    #[error("write {path}")]
    ServicesJson {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The running shared services of one run.
///
/// Dropping it stops everything (blocking) and deletes the files; prefer
/// [`SharedServices::stop`], which reports failures.
#[derive(Debug)]
pub struct SharedServices {
    state_dir: PathBuf,
    postgres: Postgres,
    redis: Redis,
    s3: Vec<S3Server>,
    services_json: ServicesJsonGuard,
}

impl SharedServices {
    /// Starts every service with default options for `sites`; see
    /// [`SharedServices::start_with`].
    ///
    /// # Errors
    ///
    /// As [`SharedServices::start_with`].
    pub async fn start(state_dir: &Path, sites: &[&str]) -> Result<Self, Error> {
        Self::start_with(state_dir, sites, &ServicesOptions::default()).await
    }

    /// Creates `state_dir` if needed (mode 0700: as root, PostgreSQL keeps its files in a
    /// directory of the `postgres` user's that the state dir links to), starts PostgreSQL and Redis in parallel,
    /// then one S3 endpoint per site.
    ///
    /// # Errors
    ///
    /// [`Error::NoSites`], [`Error::DuplicateSite`], [`Error::StateDir`], or the failing
    /// launcher's error; whatever had started is stopped again before it returns.
    pub async fn start_with(
        state_dir: &Path,
        sites: &[&str],
        opts: &ServicesOptions,
    ) -> Result<Self, Error> {
        check_sites(sites)?;
        // 0700: Terraform's state and services.json, with every password, land here.
        std::fs::DirBuilder::new()
            .mode(0o700)
            .recursive(true)
            .create(state_dir)
            .map_err(|source| Error::StateDir {
                dir: state_dir.to_owned(),
                source,
            })?;
        let (postgres, redis) = tokio::try_join!(
            async {
                Postgres::start(state_dir, &opts.postgres)
                    .await
                    .map_err(Error::from)
            },
            async {
                Redis::start(state_dir, &opts.redis)
                    .await
                    .map_err(Error::from)
            },
        )?;
        let mut s3 = Vec::with_capacity(sites.len());
        for site in sites {
            s3.push(S3Server::start(state_dir, site, &opts.s3).await?);
        }
        Ok(Self {
            state_dir: state_dir.to_owned(),
            postgres,
            redis,
            s3,
            services_json: ServicesJsonGuard(std::sync::Mutex::new(None)),
        })
    }

    /// What [`SharedServices::start_with`] would run, one line per step (`#` lines are steps
    /// done in-process), without starting anything.
    ///
    /// # Errors
    ///
    /// [`Error::NoSites`] or [`Error::DuplicateSite`].
    pub fn describe(
        state_dir: &Path,
        sites: &[&str],
        opts: &ServicesOptions,
    ) -> Result<Vec<String>, Error> {
        check_sites(sites)?;
        let mut lines = vec![format!("mkdir -p -m 0700 {}", state_dir.display())];
        lines.extend(Postgres::describe(state_dir, &opts.postgres));
        lines.extend(Redis::describe(state_dir, &opts.redis));
        for site in sites {
            lines.extend(S3Server::describe(state_dir, site));
        }
        lines.push(format!(
            "# write {} (mode 0600)",
            state_dir.join(SERVICES_JSON).display()
        ));
        Ok(lines)
    }

    /// The PostgreSQL server.
    #[must_use]
    pub fn postgres(&self) -> &Postgres {
        &self.postgres
    }

    /// The Redis server.
    #[must_use]
    pub fn redis(&self) -> &Redis {
        &self.redis
    }

    /// Every site's S3 endpoint, in the order the sites were given.
    pub fn s3_sites(&self) -> impl Iterator<Item = &S3Site> {
        self.s3.iter().map(S3Server::site)
    }

    /// One site's S3 endpoint.
    #[must_use]
    pub fn s3_site(&self, site: &str) -> Option<&S3Site> {
        self.s3_sites().find(|s| s.site == site)
    }

    /// The content of `services.json`.
    #[must_use]
    pub fn to_file(&self) -> ServicesFile {
        let postgres = &self.postgres;
        ServicesFile {
            postgres: PostgresEntry {
                host: postgres::HOST.to_owned(),
                port: postgres.port(),
                user: postgres::ROLE.to_owned(),
                password: postgres.password().expose().to_owned(),
                database_uris: Database::ALL
                    .iter()
                    .map(|db| {
                        (
                            db.name().to_owned(),
                            postgres.database_uri(*db).expose().to_owned(),
                        )
                    })
                    .collect(),
                pg_trgm: postgres.has_pg_trgm(),
            },
            redis: RedisEntry {
                host: redis::HOST.to_owned(),
                port: self.redis.port(),
                password: self.redis.password().expose().to_owned(),
            },
            sites: self
                .s3_sites()
                .map(|s| {
                    (
                        s.site.clone(),
                        S3Entry {
                            endpoint: s.endpoint.clone(),
                            bucket: s.bucket.clone(),
                            region: s.region.clone(),
                            access_key: s.access_key.clone(),
                            secret_key: s.secret_key.expose().to_owned(),
                        },
                    )
                })
                .collect(),
            load_balancer: None,
        }
    }

    /// Writes `STATE_DIR/services.json` (mode 0600, replaced atomically) and returns its
    /// path; it is deleted again when the services stop.
    ///
    /// # Errors
    ///
    /// [`Error::ServicesJson`].
    pub fn services_json(&self) -> Result<PathBuf, Error> {
        self.services_json_with(None)
    }

    /// As [`SharedServices::services_json`], with the load balancer's endpoints in it.
    ///
    /// # Errors
    ///
    /// [`Error::ServicesJson`].
    pub fn services_json_with(
        &self,
        load_balancer: Option<LoadBalancerEntry>,
    ) -> Result<PathBuf, Error> {
        let path = self.state_dir.join(SERVICES_JSON);
        let tmp = self
            .state_dir
            .join(format!(".{SERVICES_JSON}.{}", std::process::id()));
        let mut file = self.to_file();
        file.load_balancer = load_balancer;
        let json = serde_json::to_vec_pretty(&file)
            .expect("services.json is plain strings, numbers and maps");
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|mut f| {
                f.write_all(&json)?;
                f.write_all(b"\n")?;
                f.sync_all()
            })
            .and_then(|()| std::fs::rename(&tmp, &path));
        if let Err(source) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::ServicesJson { path, source });
        }
        self.services_json.set(path.clone());
        Ok(path)
    }

    /// Stops every service (each one even when another fails), deletes their files and
    /// `services.json`.
    ///
    /// # Errors
    ///
    /// The first failure; the others are logged with `tracing`.
    pub async fn stop(self) -> Result<(), Error> {
        let Self {
            s3,
            redis,
            postgres,
            services_json,
            ..
        } = self;
        drop(services_json);
        let mut errors: Vec<Error> = Vec::new();
        for server in s3 {
            if let Err(err) = server.stop().await {
                errors.push(err.into());
            }
        }
        let (redis, postgres) = tokio::join!(redis.stop(), postgres.stop());
        if let Err(err) = redis {
            errors.push(err.into());
        }
        if let Err(err) = postgres {
            errors.push(err.into());
        }
        let mut errors = errors.into_iter();
        let first = errors.next();
        for err in errors {
            tracing::warn!(error = %errors::chain(&err), "stopping shared services");
        }
        first.map_or(Ok(()), Err)
    }

    /// Holds the services until `signal` completes (e.g. `tokio::signal::ctrl_c()`), then
    /// stops them as [`SharedServices::stop`] does.
    ///
    /// # Errors
    ///
    /// As [`SharedServices::stop`].
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe in the sense that dropping the future drops the services, which stops
    /// them (blocking) through `Drop`.
    pub async fn stop_when<F: Future>(self, signal: F) -> Result<(), Error> {
        signal.await;
        self.stop().await
    }
}

/// Deletes `services.json` when dropped, once it has been written.
#[derive(Debug)]
struct ServicesJsonGuard(std::sync::Mutex<Option<PathBuf>>);

impl ServicesJsonGuard {
    fn set(&self, path: PathBuf) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(path);
    }
}

impl Drop for ServicesJsonGuard {
    fn drop(&mut self) {
        let path = self
            .0
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(path) = path {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn check_sites(sites: &[&str]) -> Result<(), Error> {
    if sites.is_empty() {
        return Err(Error::NoSites);
    }
    let mut seen = HashSet::new();
    for site in sites {
        if !seen.insert(*site) {
            return Err(Error::DuplicateSite {
                site: (*site).to_owned(),
            });
        }
    }
    Ok(())
}

/// The content of `services.json`: how to reach every shared service, secrets included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServicesFile {
    /// The PostgreSQL server.
    pub postgres: PostgresEntry,
    /// The Redis server.
    pub redis: RedisEntry,
    /// Each site's S3 endpoint, by site name.
    pub sites: BTreeMap<String, S3Entry>,
    /// The global load balancer model, when one runs ([`crate::lb`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<LoadBalancerEntry>,
}

/// `services.json`: the global load balancer model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadBalancerEntry {
    /// The global Quay endpoint (what `SERVER_HOSTNAME` stands for).
    pub quay: String,
    /// The global Clair endpoint.
    pub clair: String,
    /// Each site's health URLs, by site (cluster) name.
    pub sites: BTreeMap<String, SiteHealthEntry>,
}

/// `services.json`: one site's health URLs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteHealthEntry {
    /// Quay's `/health/instance`.
    pub quay_health: String,
    /// Clair's `/healthz`.
    pub clair_health: String,
}

/// `services.json`: PostgreSQL. `Debug` shows neither the password nor the URIs (which
/// carry it).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostgresEntry {
    /// Host (loopback).
    pub host: String,
    /// Port.
    pub port: u16,
    /// The role Quay and Clair log in as.
    pub user: String,
    /// Its password.
    pub password: String,
    /// `DB_URI` per database name (`quay`, `clair`).
    pub database_uris: BTreeMap<String, String>,
    /// Whether `pg_trgm` exists in `quay`.
    pub pg_trgm: bool,
}

/// `services.json`: Redis. `Debug` does not show the password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedisEntry {
    /// Host (loopback).
    pub host: String,
    /// Port.
    pub port: u16,
    /// The `requirepass` password.
    pub password: String,
}

/// `services.json`: one site's S3 endpoint. `Debug` does not show the secret key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Entry {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The bucket.
    pub bucket: String,
    /// The signing region.
    pub region: String,
    /// The access key id.
    pub access_key: String,
    /// The secret access key.
    pub secret_key: String,
}

const REDACTED: &str = "<redacted>";

impl std::fmt::Debug for PostgresEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresEntry")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &REDACTED)
            .field("databases", &self.database_uris.keys().collect::<Vec<_>>())
            .field("pg_trgm", &self.pg_trgm)
            .finish()
    }
}

impl std::fmt::Debug for RedisEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisEntry")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("password", &REDACTED)
            .finish()
    }
}

impl std::fmt::Debug for S3Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Entry")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key", &self.access_key)
            .field("secret_key", &REDACTED)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_entries_do_not_show_their_passwords() {
        let postgres = PostgresEntry {
            host: "127.0.0.1".into(),
            port: 5432,
            user: "quay".into(),
            password: "pg-s3cr3t".into(),
            database_uris: BTreeMap::from([(
                "quay".to_owned(),
                "postgresql://quay:pg-s3cr3t@127.0.0.1:5432/quay".to_owned(),
            )]),
            pg_trgm: true,
        };
        let redis = RedisEntry {
            host: "127.0.0.1".into(),
            port: 6379,
            password: "redis-s3cr3t".into(),
        };
        let s3 = S3Entry {
            endpoint: "http://127.0.0.1:9000".into(),
            bucket: "quay".into(),
            region: "us-east-1".into(),
            access_key: "ak".into(),
            secret_key: "sk-s3cr3t".into(),
        };
        let shown = format!("{postgres:?} {redis:?} {s3:?} {postgres:#?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("quay") && shown.contains("6379"), "{shown}");
    }

    #[test]
    fn rejects_an_empty_or_repeated_site_list() {
        assert!(matches!(check_sites(&[]), Err(Error::NoSites)));
        assert!(matches!(
            check_sites(&["a", "b", "a"]),
            Err(Error::DuplicateSite { site }) if site == "a"
        ));
    }

    #[test]
    fn describe_lists_every_launcher_and_site_without_starting_anything() {
        let dir = Path::new("/nonexistent/georep-describe");
        let lines =
            SharedServices::describe(dir, &["us_east", "eu_west"], &ServicesOptions::default())
                .unwrap();
        let text = lines.join("\n");
        assert!(text.contains("initdb"), "{text}");
        assert!(text.contains("pg_ctl"), "{text}");
        assert!(
            text.contains("redis-server /nonexistent/georep-describe/redis/redis.conf"),
            "{text}"
        );
        assert!(text.contains("s3/us_east/quay-us-east"), "{text}");
        assert!(text.contains("s3/eu_west/quay-eu-west"), "{text}");
        assert!(!dir.exists());
    }
}
