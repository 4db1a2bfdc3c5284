//! The servers a simulated cluster's managed components stand on ([`BackingServices`]):
//! real PostgreSQL, Redis and S3 servers, and the cluster's name table ([`super::dns`]).

use crate::services::SharedServices;
use crate::services::s3::S3Site;
use crate::services::secret::Secret;

use super::dns::ClusterDns;

/// The backing PostgreSQL server: where managed databases are provisioned.
#[derive(Debug, Clone)]
pub struct BackingPostgres {
    /// A superuser URI (any database; [`super::pods`] switches it).
    pub superuser_uri: Secret,
    /// Host clients connect to.
    pub host: String,
    /// Port.
    pub port: u16,
}

/// The backing Redis server.
#[derive(Debug, Clone)]
pub struct BackingRedis {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Its `requirepass`.
    pub password: Secret,
}

/// The servers a simulated cluster's managed components stand on, and its name table.
#[derive(Debug)]
pub struct BackingServices {
    /// PostgreSQL for `postgres` and `clairpostgres`.
    pub postgres: BackingPostgres,
    /// Redis for `redis`.
    pub redis: BackingRedis,
    /// The S3 endpoint NooBaa stands for (`objectstorage`); `None`: no ObjectBucketClaim
    /// provisioner runs.
    pub s3: Option<S3Site>,
    /// Service name → server.
    pub dns: ClusterDns,
}

impl BackingServices {
    /// The shared services of a run, with `site`'s S3 endpoint as its NooBaa.
    #[must_use]
    pub fn from_shared(services: &SharedServices, site: &str) -> Self {
        let pg = services.postgres();
        Self {
            postgres: BackingPostgres {
                superuser_uri: pg.superuser_uri("postgres"),
                host: crate::services::postgres::HOST.to_owned(),
                port: pg.port(),
            },
            redis: BackingRedis {
                host: crate::services::redis::HOST.to_owned(),
                port: services.redis().port(),
                password: services.redis().password().clone(),
            },
            s3: services.s3_site(site).cloned(),
            dns: ClusterDns::default(),
        }
    }
}
