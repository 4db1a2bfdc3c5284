//! `georep-harness s3-serve`: one site's S3 endpoint ([`S3Server`]) as a process of its own,
//! until Ctrl-C or SIGTERM. The local backend runs its S3 servers inside the harness; this
//! runs the same server in a container, which is how the tests of the kind backend's
//! containers get S3 storage on a machine that cannot pull Garage's image (see
//! `harness/tests/it/containers.rs`).
//!
//! The key pair comes from the environment (`GEOREP_S3_ACCESS_KEY`, `GEOREP_S3_SECRET_KEY`),
//! never from the command line, so `ps` does not show the secret.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::services::s3::{self, S3Options, S3Server};
use crate::services::s3_client::S3Keys;
use crate::services::secret::Secret;

/// Options of `s3-serve`.
#[derive(Debug, clap::Args)]
pub struct S3ServeArgs {
    /// The site; its bucket is `quay-<site>`.
    #[arg(long)]
    pub site: String,
    /// The address to listen on.
    #[arg(long, default_value = "0.0.0.0:3900")]
    pub listen: SocketAddr,
    /// The directory the site's data goes under (`DIR/s3/<site>`, which must not exist).
    #[arg(long)]
    pub data_dir: PathBuf,
    /// The access key id to accept.
    #[arg(long, env = "GEOREP_S3_ACCESS_KEY", hide_env_values = true)]
    pub access_key: String,
}

/// The variable the secret key is read from (never an argument: `ps` would show it).
pub const SECRET_KEY_VAR: &str = "GEOREP_S3_SECRET_KEY";

/// Why `s3-serve` failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Starting or stopping the server.
    #[error(transparent)]
    S3(#[from] s3::Error),
    /// Waiting for the stop signal.
    #[error(transparent)]
    Signal(#[from] super::up::Error),
    /// The secret key's variable is not set.
    #[error("set {SECRET_KEY_VAR} to the secret key to accept")]
    MissingSecretKey,
}

/// Serves until Ctrl-C or SIGTERM, then stops (open requests get the server's stop timeout).
///
/// # Errors
/// [`Error::MissingSecretKey`], [`Error::S3`] when the server cannot start (the address is
/// taken, the directory exists), [`Error::Signal`] when the signal handlers cannot be
/// installed.
pub async fn run(args: &S3ServeArgs) -> Result<(), Error> {
    let secret_key = std::env::var(SECRET_KEY_VAR)
        .ok()
        .filter(|k| !k.is_empty())
        .ok_or(Error::MissingSecretKey)?;
    let opts = S3Options {
        listen: args.listen,
        keys: Some(S3Keys {
            access_key: args.access_key.clone(),
            secret_key: Secret::new(secret_key),
        }),
        ..S3Options::default()
    };
    let server = S3Server::start(&args.data_dir, &args.site, &opts).await?;
    println!(
        "s3-serve: site {} serves bucket {} on {} (stop with Ctrl-C or SIGTERM)",
        args.site,
        server.site().bucket,
        args.listen
    );
    super::up::wait_for_stop().await?;
    server.stop().await?;
    Ok(())
}
