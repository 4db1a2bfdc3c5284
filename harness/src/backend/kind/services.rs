//! The shared services of the kind backend as containers on Docker's `kind` network, so pods
//! of every cluster reach them by container name: one PostgreSQL (databases `quay` and
//! `clair`, `pg_trgm`), one Redis with a password, and one Garage S3 server per site with
//! one bucket and key pair each.
//!
//! Garage, not MinIO: the Quay Operator's own kind e2e runs Garage (`hack/setup-kind-e2e.sh`
//! in quay/quay-operator), and Garage lets us import a key pair we chose
//! (`garage key import`), so credentials are known before the container starts.
//!
//! Pure: [`Credentials`] and [`Images`] in, [`Container`]s and their setup [`Cmd`]s out.
//! Every container carries the labels [`super::container::BACKEND_LABEL`] (and [`super::container::SITE_LABEL`] for a site's
//! storage; see [`super::container`]), which is how `down` finds exactly what `up` made. Each is also published on
//! loopback, so the host reaches it too.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::container::{Container, Placement};
use super::process::Cmd;
use crate::services::{PostgresEntry, RedisEntry, S3Entry, ServicesFile};

/// The PostgreSQL container.
pub const POSTGRES: &str = "georep-postgres";
/// The Redis container.
pub const REDIS: &str = "georep-redis";
/// The database role.
pub const DB_USER: &str = "quay";
/// Garage's S3 API port.
pub const S3_PORT: u16 = 3900;
/// The S3 region Garage answers for.
pub const S3_REGION: &str = "us-east-1";

/// The container images, pinned by tag; the defaults are what the GitHub workflow pulls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Images {
    /// PostgreSQL (default `docker.io/library/postgres:15.14`).
    pub postgres: String,
    /// Redis (default `docker.io/library/redis:7.4.5`).
    pub redis: String,
    /// Garage (default `docker.io/dxflrs/garage:v1.0.1`, the operator e2e's).
    pub s3: String,
    /// HAProxy, for the global load balancers (default `docker.io/library/haproxy:2.8`).
    pub haproxy: String,
}

impl Default for Images {
    fn default() -> Self {
        Self {
            postgres: "docker.io/library/postgres:15.14".to_owned(),
            redis: "docker.io/library/redis:7.4.5".to_owned(),
            s3: "docker.io/dxflrs/garage:v1.0.1".to_owned(),
            haproxy: "docker.io/library/haproxy:2.8".to_owned(),
        }
    }
}

/// Every secret of one run, kept in `DIR/kind/credentials.json` (mode 0600) so `--reuse`
/// meets the passwords its containers were started with. `Debug` prints no value.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// PostgreSQL's password for [`DB_USER`].
    pub postgres_password: String,
    /// Redis's `requirepass`.
    pub redis_password: String,
    /// Each site's S3 key pair and Garage RPC secret, by site.
    pub s3: BTreeMap<String, S3Credentials>,
    /// `SECRET_KEY` of examples/three-sites.
    pub secret_key: String,
    /// `DATABASE_SECRET_KEY` of examples/three-sites.
    pub database_secret_key: String,
}

/// One site's Garage secrets. `Debug` prints no value.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Credentials {
    /// The access key id (`GK` and 24 hex digits, as Garage requires).
    pub access_key: String,
    /// The secret key (64 hex digits).
    pub secret_key: String,
    /// Garage's `rpc_secret` (64 hex digits).
    pub rpc_secret: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("sites", &self.s3.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("S3Credentials { .. }")
    }
}

impl Credentials {
    /// Fresh random credentials for `sites`.
    ///
    /// # Errors
    /// When the system has no random bytes.
    pub fn generate(sites: &[String]) -> Result<Self, getrandom::Error> {
        let hex = |n: usize| -> Result<String, getrandom::Error> {
            let mut bytes = vec![0_u8; n];
            getrandom::fill(&mut bytes)?;
            Ok(hex::encode(bytes))
        };
        let mut s3 = BTreeMap::new();
        for site in sites {
            s3.insert(
                site.clone(),
                S3Credentials {
                    access_key: format!("GK{}", hex(12)?),
                    secret_key: hex(32)?,
                    rpc_secret: hex(32)?,
                },
            );
        }
        Ok(Self {
            postgres_password: hex(16)?,
            redis_password: hex(16)?,
            s3,
            secret_key: hex(24)?,
            database_secret_key: hex(24)?,
        })
    }

    /// Placeholders (`${POSTGRES_PASSWORD}`, ...) for `--dry-run`, so no secret is printed
    /// and the output is the same on every run.
    #[must_use]
    pub fn placeholders(sites: &[String]) -> Self {
        let var = |site: &str, what: &str| {
            format!("${{S3_{}_{what}}}", site.to_uppercase().replace('-', "_"))
        };
        Self {
            postgres_password: "${POSTGRES_PASSWORD}".to_owned(),
            redis_password: "${REDIS_PASSWORD}".to_owned(),
            s3: sites
                .iter()
                .map(|s| {
                    (
                        s.clone(),
                        S3Credentials {
                            access_key: var(s, "ACCESS_KEY"),
                            secret_key: var(s, "SECRET_KEY"),
                            rpc_secret: var(s, "RPC_SECRET"),
                        },
                    )
                })
                .collect(),
            secret_key: "${SECRET_KEY}".to_owned(),
            database_secret_key: "${DATABASE_SECRET_KEY}".to_owned(),
        }
    }

    /// Every secret, for redacting command lines.
    #[must_use]
    pub fn secrets(&self) -> Vec<String> {
        let mut all = vec![
            self.postgres_password.clone(),
            self.redis_password.clone(),
            self.secret_key.clone(),
            self.database_secret_key.clone(),
        ];
        for s3 in self.s3.values() {
            all.extend([s3.secret_key.clone(), s3.rpc_secret.clone()]);
        }
        all
    }
}

/// The S3 container of `site`.
#[must_use]
pub fn s3_name(site: &str) -> String {
    format!("georep-s3-{site}")
}

/// The bucket of `site`.
#[must_use]
pub fn bucket(site: &str) -> String {
    format!("quay-{site}")
}

/// A site's storage location: its name with `-` as `_` (as the local backend names them).
#[must_use]
pub fn location(site: &str) -> String {
    site.replace('-', "_")
}

/// The PostgreSQL container and the commands that wait for it and create what Quay and Clair
/// need, once, after it first starts.
#[must_use]
pub fn postgres(image: &str, creds: &Credentials) -> (Container, Cmd, Vec<Cmd>) {
    let container = Container {
        name: POSTGRES.to_owned(),
        image: image.to_owned(),
        site: None,
        env: vec![
            ("POSTGRES_USER".into(), DB_USER.into()),
            ("POSTGRES_PASSWORD".into(), creds.postgres_password.clone()),
            ("POSTGRES_DB".into(), "quay".into()),
        ],
        ports: vec![(15432, 5432)],
        mounts: vec![],
        args: vec![],
        secrets: vec![creds.postgres_password.clone()],
        placement: Placement::kind(),
    };
    // Over TCP: the image's init-time server listens on its socket only, so a TCP answer
    // means the final server is up.
    let ready = Cmd::new(
        "docker",
        [
            "exec",
            POSTGRES,
            "pg_isready",
            "--host",
            "127.0.0.1",
            "--username",
            DB_USER,
            "--dbname",
            "quay",
        ],
    );
    let psql = |db: &str, sql: &str| {
        Cmd::new(
            "docker",
            [
                "exec",
                POSTGRES,
                "psql",
                "--username",
                DB_USER,
                "--dbname",
                db,
                "--set",
                "ON_ERROR_STOP=1",
                "--command",
                sql,
            ],
        )
    };
    let setup = vec![
        psql("quay", "CREATE DATABASE clair"),
        psql("quay", "CREATE EXTENSION IF NOT EXISTS pg_trgm"),
        psql("clair", "CREATE EXTENSION IF NOT EXISTS pg_trgm"),
    ];
    (container, ready, setup)
}

/// The Redis container and its readiness probe (`AUTH` + `PING`).
#[must_use]
pub fn redis(image: &str, creds: &Credentials) -> (Container, Cmd) {
    let container = Container {
        name: REDIS.to_owned(),
        image: image.to_owned(),
        site: None,
        env: vec![],
        ports: vec![(16379, 6379)],
        mounts: vec![],
        args: vec![
            "redis-server".into(),
            "--requirepass".into(),
            creds.redis_password.clone(),
            "--save".into(),
            String::new(),
            "--appendonly".into(),
            "no".into(),
        ],
        secrets: vec![creds.redis_password.clone()],
        placement: Placement::kind(),
    };
    let ready = Cmd::new(
        "docker",
        [
            "exec",
            REDIS,
            "redis-cli",
            "--no-auth-warning",
            "-a",
            &creds.redis_password,
            "ping",
        ],
    )
    .secret(&creds.redis_password);
    (container, ready)
}

/// `garage.toml` of one site's Garage: one node, replication factor 1, S3 on [`S3_PORT`].
#[must_use]
pub fn garage_toml(rpc_secret: &str) -> String {
    format!(
        r#"# Written by georep-harness for one site's S3 storage (kind backend).
metadata_dir = "/var/lib/garage/meta"
data_dir = "/var/lib/garage/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "[::]:3901"
rpc_public_addr = "127.0.0.1:3901"
rpc_secret = "{rpc_secret}"

[s3_api]
api_bind_addr = "[::]:{S3_PORT}"
s3_region = "{S3_REGION}"
root_domain = ".s3.garage.localhost"
"#
    )
}

/// One site's Garage: the container (host port `13900 + index`), its readiness probe, and
/// the setup commands: layout with this node (its id captured into `${GARAGE_NODE}`),
/// bucket, imported key pair, grant.
#[must_use]
pub fn garage(
    image: &str,
    site: &str,
    index: u16,
    creds: &S3Credentials,
    config: &Path,
) -> (Container, Cmd, Cmd, Vec<Cmd>) {
    let name = s3_name(site);
    let container = Container {
        name: name.clone(),
        image: image.to_owned(),
        site: Some(site.to_owned()),
        env: vec![],
        ports: vec![(13900 + index, S3_PORT)],
        mounts: vec![(config.display().to_string(), "/etc/garage.toml".into())],
        args: vec![],
        secrets: Vec::new(),
        placement: Placement::kind(),
    };
    let garage = |args: &[&str]| {
        let mut all = vec!["exec", name.as_str(), "/garage"];
        all.extend_from_slice(args);
        Cmd::new("docker", all)
    };
    let ready = garage(&["status"]);
    let node_id = garage(&["node", "id", "--quiet"]);
    let bucket = bucket(site);
    let setup = vec![
        garage(&[
            "layout",
            "assign",
            "-z",
            "dc1",
            "-c",
            "1G",
            "${GARAGE_NODE}",
        ]),
        garage(&["layout", "apply", "--version", "1"]),
        garage(&["bucket", "create", &bucket]),
        garage(&[
            "key",
            "import",
            "--yes",
            "-n",
            &bucket,
            &creds.access_key,
            &creds.secret_key,
        ])
        .secret(&creds.secret_key)
        .secret(&creds.access_key),
        garage(&[
            "bucket",
            "allow",
            "--read",
            "--write",
            "--owner",
            &bucket,
            "--key",
            &creds.access_key,
        ])
        .secret(&creds.access_key),
    ];
    (container, ready, node_id, setup)
}

/// `services.json` of the kind backend: the addresses pods use (container names on the
/// `kind` network), in the local backend's shape; storage by location.
#[must_use]
pub fn services_file(sites: &[String], creds: &Credentials) -> ServicesFile {
    let uri = |db: &str| {
        format!(
            "postgresql://{DB_USER}:{}@{POSTGRES}:5432/{db}",
            creds.postgres_password
        )
    };
    ServicesFile {
        postgres: PostgresEntry {
            host: POSTGRES.to_owned(),
            port: 5432,
            user: DB_USER.to_owned(),
            password: creds.postgres_password.clone(),
            database_uris: ["quay", "clair"]
                .into_iter()
                .map(|db| (db.to_owned(), uri(db)))
                .collect(),
            pg_trgm: true,
        },
        redis: RedisEntry {
            host: REDIS.to_owned(),
            port: 6379,
            password: creds.redis_password.clone(),
        },
        sites: sites
            .iter()
            .filter_map(|site| {
                let s3 = creds.s3.get(site)?;
                Some((
                    location(site),
                    S3Entry {
                        endpoint: format!("http://{}:{S3_PORT}", s3_name(site)),
                        bucket: bucket(site),
                        region: S3_REGION.to_owned(),
                        access_key: s3.access_key.clone(),
                        secret_key: s3.secret_key.clone(),
                    },
                ))
            })
            .collect(),
        load_balancer: None,
    }
}

/// The variables of `examples/three-sites`, in the shape the local backend writes
/// (`crate::local::LocalEnv::tfvars`): kubeconfigs and storage by location.
#[must_use]
pub fn tfvars(
    sites: &[String],
    kubeconfigs: &BTreeMap<String, String>,
    creds: &Credentials,
) -> serde_json::Value {
    let file = services_file(sites, creds);
    let storage: serde_json::Map<_, _> = sites
        .iter()
        .filter_map(|site| {
            let s3 = creds.s3.get(site)?;
            Some((
                location(site),
                serde_json::json!({
                    "hostname": s3_name(site),
                    "port": S3_PORT,
                    "bucket": bucket(site),
                    "access_key": s3.access_key,
                    "secret_key": s3.secret_key,
                    "region": S3_REGION,
                }),
            ))
        })
        .collect();
    serde_json::json!({
        "kubeconfig_paths": kubeconfigs
            .iter()
            .map(|(site, path)| (location(site), path.clone()))
            .collect::<BTreeMap<_, _>>(),
        "database_uri": file.postgres.database_uris["quay"],
        "clair_database_uri": file.postgres.database_uris["clair"],
        "redis": {"host": file.redis.host, "port": file.redis.port, "password": file.redis.password},
        "storage": storage,
        "secret_key": creds.secret_key,
        "database_secret_key": creds.database_secret_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_run_on_the_kind_network_with_the_backend_labels() {
        let creds = Credentials::placeholders(&["us-east".into()]);
        let (c, _, _, _) = garage(
            "garage:v1",
            "us-east",
            1,
            &creds.s3["us-east"],
            Path::new("/s/garage-us-east.toml"),
        );
        assert_eq!(
            c.run_cmd().shell(),
            "docker run --detach --name georep-s3-us-east --network kind \
             --label io.quay-georep.backend=kind --label io.quay-georep.site=us-east \
             --publish 127.0.0.1:13901:3900 --volume /s/garage-us-east.toml:/etc/garage.toml:ro \
             garage:v1"
        );
    }

    #[test]
    fn credentials_debug_prints_no_secret() {
        let creds = Credentials::generate(&["us-east".into()]).unwrap();
        let printed = format!("{creds:?} {:?}", creds.s3["us-east"]);
        let s3 = &creds.s3["us-east"];
        for secret in [
            &creds.postgres_password,
            &creds.redis_password,
            &creds.secret_key,
            &creds.database_secret_key,
            &s3.access_key,
            &s3.secret_key,
            &s3.rpc_secret,
        ] {
            assert!(!printed.contains(secret.as_str()), "{printed}");
        }
        assert!(printed.contains("us-east"), "{printed}");
    }

    #[test]
    fn generated_credentials_fit_garage_and_differ_per_site() {
        let sites = vec!["a".to_owned(), "b".to_owned()];
        let creds = Credentials::generate(&sites).unwrap();
        let (a, b) = (&creds.s3["a"], &creds.s3["b"]);
        assert!(a.access_key.starts_with("GK") && a.access_key.len() == 26);
        assert_eq!(a.secret_key.len(), 64);
        assert_ne!(a.access_key, b.access_key);
        assert_ne!(creds.postgres_password, creds.redis_password);
    }

    #[test]
    fn services_and_tfvars_name_what_pods_reach_by_location() {
        let sites = vec!["us-east".to_owned()];
        let creds = Credentials::placeholders(&sites);
        let file = services_file(&sites, &creds);
        assert_eq!(
            file.sites["us_east"].endpoint,
            "http://georep-s3-us-east:3900"
        );
        assert_eq!(
            file.postgres.database_uris["clair"],
            "postgresql://quay:${POSTGRES_PASSWORD}@georep-postgres:5432/clair"
        );
        let kubeconfigs =
            BTreeMap::from([("us-east".to_owned(), "/s/us-east.kubeconfig".to_owned())]);
        let vars = tfvars(&sites, &kubeconfigs, &creds);
        assert_eq!(vars["kubeconfig_paths"]["us_east"], "/s/us-east.kubeconfig");
        assert_eq!(vars["storage"]["us_east"]["hostname"], "georep-s3-us-east");
        assert_eq!(vars["redis"]["host"], "georep-redis");
    }
}
