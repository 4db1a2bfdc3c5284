//! [`Postgres`]: starting, reaching and stopping the server (see the module documentation of
//! `services::postgres` for what it does and does not do).

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio_postgres::NoTls;

use crate::errors;
use crate::services::process::{self, CommandLine, POLL_INTERVAL};
use crate::services::secret::Secret;

use super::error::Error;
use super::options::{
    DEBIAN_BINDIR, Database, HOST, MAJOR_VERSION, OS_USER, PASSWORD_BYTES, PostgresOptions, ROLE,
    SUPERUSER,
};

/// A running PostgreSQL 15 server with the `quay` role and the `quay` and `clair` databases.
///
/// Dropping it stops the server (blocking for up to the stop timeout) and deletes its
/// directory; prefer [`Postgres::stop`], which reports failures.
#[derive(Debug)]
pub struct Postgres {
    /// Where the server's files are: `STATE_DIR/postgres`, or as root a directory of the
    /// `postgres` user's in the system's temporary directory ([`Self::link`] names it).
    dir: PathBuf,
    /// As root, `STATE_DIR/postgres`: a symbolic link to [`Self::dir`], so the state
    /// directory can stay `0700` (Terraform's state, with every secret, lands there) while
    /// the server, which runs as `postgres`, still reaches its own files.
    link: Option<PathBuf>,
    bindir: PathBuf,
    run_as: Option<String>,
    port: u16,
    pid: Option<u32>,
    superuser_password: Secret,
    password: Secret,
    stop_timeout: Duration,
    with_pg_trgm: bool,
}

impl Postgres {
    /// Starts a server with its data in `state_dir/postgres` (which must not exist yet).
    ///
    /// # Errors
    ///
    /// [`Error::BinariesNotFound`] / [`Error::WrongVersion`] (with the install hint),
    /// [`Error::StateExists`], [`Error::DirNotReachable`] (root only), and one variant per
    /// start-up step, each naming the port and quoting the server log where there is one.
    /// Anything already started is stopped again before the error returns.
    pub async fn start(state_dir: &Path, opts: &PostgresOptions) -> Result<Self, Error> {
        let deadline = Instant::now() + opts.start_timeout;
        let bindir = find_bindir(opts.bindir.as_deref(), opts.start_timeout).await?;
        let run_as = running_as_root().then(|| OS_USER.to_owned());
        let in_state_dir = state_dir.join("postgres");
        if in_state_dir.symlink_metadata().is_ok() {
            return Err(Error::StateExists { dir: in_state_dir });
        }
        let port = process::free_port().map_err(|source| Error::Write {
            path: in_state_dir.clone(),
            source,
        })?;
        let (dir, link) = if run_as.is_some() {
            (outside_dir(&in_state_dir)?, Some(in_state_dir))
        } else {
            (in_state_dir, None)
        };
        let mut server = Self {
            dir,
            link,
            bindir,
            run_as,
            port,
            pid: None,
            superuser_password: Secret::generate(PASSWORD_BYTES).map_err(Error::Random)?,
            password: Secret::generate(PASSWORD_BYTES).map_err(Error::Random)?,
            stop_timeout: opts.stop_timeout,
            with_pg_trgm: opts.with_pg_trgm,
        };
        // From here on `server` owns the directory, so every early return cleans it up.
        server.prepare_dir().await?;
        server.initdb(deadline).await?;
        server.write_settings()?;
        // The port was free when picked, but another process (a second test binary, an
        // outgoing connection) can take it before the postmaster binds it: pick another.
        let mut attempts = 1;
        loop {
            match server.pg_ctl_start(deadline).await {
                Ok(()) => break,
                Err(Error::Start { ref log_tail, .. })
                    if process::port_was_taken(log_tail) && attempts < process::PORT_ATTEMPTS =>
                {
                    attempts += 1;
                    tracing::debug!(port = server.port, "port taken before PostgreSQL bound it");
                    server.port = process::free_port().map_err(|source| Error::Write {
                        path: server.dir.clone(),
                        source,
                    })?;
                    // Appended again: the last `port` in postgresql.conf wins.
                    server.write_settings()?;
                }
                Err(e) => return Err(e),
            }
        }
        let client = server.wait_ready(deadline).await?;
        server.create_role_and_databases(&client).await?;
        if server.with_pg_trgm {
            server.create_pg_trgm().await?;
        }
        Ok(server)
    }

    /// The commands [`Postgres::start`] would run, for a dry run; `<port>` stands for the
    /// free port it picks.
    #[must_use]
    pub fn describe(state_dir: &Path, opts: &PostgresOptions) -> Vec<String> {
        let bindir = opts
            .bindir
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEBIAN_BINDIR));
        let run_as = running_as_root().then_some(OS_USER);
        let in_state_dir = state_dir.join("postgres");
        let mut lines = Vec::new();
        if let Some(user) = run_as {
            let outside = std::env::temp_dir().join(format!("{OUTSIDE_PREFIX}XXXXXX"));
            lines.push(format!(
                "mkdir -m 0700 {} {} && chown {user}: {0} {1} && ln -s {0} {}",
                outside.display(),
                outside.join("run").display(),
                in_state_dir.display()
            ));
        }
        // The commands below name the files through the link, as root too.
        let dir = in_state_dir;
        lines.push(initdb_line(&bindir, &dir, run_as).to_string());
        lines.push(format!(
            "# append to {}: {}",
            dir.join("data/postgresql.conf").display(),
            settings(&dir, None)
                .replace('\n', "; ")
                .trim_end_matches("; ")
        ));
        lines.push(pg_ctl_start_line(&bindir, &dir, run_as, opts.start_timeout).to_string());
        lines.push(format!(
            "# as {SUPERUSER} over TCP: CREATE ROLE {ROLE} LOGIN PASSWORD '<generated>'; \
             CREATE DATABASE quay OWNER {ROLE}; CREATE DATABASE clair OWNER {ROLE}{}",
            if opts.with_pg_trgm {
                "; \\c quay; CREATE EXTENSION pg_trgm"
            } else {
                ""
            }
        ));
        lines
    }

    /// The TCP port on [`HOST`].
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The postmaster's process id.
    #[must_use]
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Whether `pg_trgm` was created in the `quay` database.
    #[must_use]
    pub fn has_pg_trgm(&self) -> bool {
        self.with_pg_trgm
    }

    /// The password of [`ROLE`].
    #[must_use]
    pub fn password(&self) -> &Secret {
        &self.password
    }

    /// `postgresql://quay:PASSWORD@127.0.0.1:PORT/DB`, the `DB_URI` form Quay reads.
    #[must_use]
    pub fn database_uri(&self, database: Database) -> Secret {
        Secret::new(format!(
            "postgresql://{ROLE}:{}@{HOST}:{}/{}",
            self.password.expose(),
            self.port,
            database.name()
        ))
    }

    /// The superuser's URI for `database` (any name), for tests that must inspect or break
    /// what Quay sees (drop `pg_trgm`, read `alembic_version`).
    #[must_use]
    pub fn superuser_uri(&self, database: &str) -> Secret {
        Secret::new(format!(
            "postgresql://{SUPERUSER}:{}@{HOST}:{}/{database}",
            self.superuser_password.expose(),
            self.port
        ))
    }

    /// Stops the server with a fast shutdown (`pg_ctl stop -m fast`), waits for the
    /// postmaster to exit, and deletes its directory.
    ///
    /// # Errors
    ///
    /// [`Error::Stop`] when `pg_ctl stop` fails, [`Error::StillRunning`] when the postmaster
    /// outlived the stop timeout (it is killed, and the directory deleted, either way).
    pub async fn stop(mut self) -> Result<(), Error> {
        let result = self.stop_inner().await;
        // Whatever happened, the server is gone now (killed if need be) and Drop has
        // nothing left to do but remove the directory.
        self.kill_and_remove();
        result
    }

    async fn stop_inner(&mut self) -> Result<(), Error> {
        let Some(pid) = self.pid else {
            return Ok(());
        };
        let line = CommandLine::new(self.bindir.join("pg_ctl"))
            .arg("-D")
            .arg(self.data_dir().display().to_string())
            .arg("-m")
            .arg("fast")
            .arg("-w")
            .arg("-t")
            .arg(self.stop_timeout.as_secs().max(1).to_string())
            .arg("stop")
            .run_as(self.run_as.as_deref());
        let stopped = process::run(&line, self.stop_timeout + Duration::from_secs(5)).await;
        if let Err(source) = stopped {
            return Err(Error::Stop {
                port: self.port,
                source,
            });
        }
        if process::wait_gone(pid, self.stop_timeout).await {
            self.pid = None;
            Ok(())
        } else {
            Err(Error::StillRunning {
                pid,
                timeout: self.stop_timeout,
            })
        }
    }

    /// Stops whatever is still running (SIGINT = fast shutdown, then SIGKILL) and deletes the
    /// directory; blocking, for `Drop` and error paths.
    fn kill_and_remove(&mut self) {
        let pid = self
            .pid
            .take()
            .or_else(|| read_postmaster_pid(&self.data_dir()));
        if let Some(pid) = pid {
            process::terminate_blocking(pid, rustix::process::Signal::INT, self.stop_timeout);
        }
        // Best effort: a leftover directory is reported by the next start (StateExists).
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(link) = &self.link {
            let _ = std::fs::remove_file(link);
        }
    }

    /// Where the server's files are (as root, outside the state directory, which links to them).
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    async fn prepare_dir(&self) -> Result<(), Error> {
        for dir in [&self.dir, &self.dir.join("run")] {
            std::fs::DirBuilder::new()
                .mode(0o700)
                .recursive(true)
                .create(dir)
                .map_err(|source| Error::Write {
                    path: dir.clone(),
                    source,
                })?;
        }
        let Some(user) = &self.run_as else {
            return Ok(());
        };
        let (uid, gid) =
            lookup_user(user).ok_or_else(|| Error::UserNotFound { user: user.clone() })?;
        for dir in [&self.dir, &self.dir.join("run")] {
            std::os::unix::fs::chown(dir, Some(uid), Some(gid)).map_err(|source| Error::Write {
                path: dir.clone(),
                source,
            })?;
        }
        if let Some(link) = &self.link {
            std::os::unix::fs::symlink(&self.dir, link).map_err(|source| Error::Write {
                path: link.clone(),
                source,
            })?;
        }
        let probe = CommandLine::new("test")
            .arg("-w")
            .arg(self.dir.display().to_string())
            .run_as(Some(user));
        if process::run(&probe, Duration::from_secs(10)).await.is_err() {
            return Err(Error::DirNotReachable {
                user: user.clone(),
                dir: self.dir.clone(),
            });
        }
        Ok(())
    }

    async fn initdb(&self, deadline: Instant) -> Result<(), Error> {
        // The password goes through a file, not the command line, where `ps` would show it.
        let pwfile = self.dir.join("superuser.pw");
        write_private(
            &pwfile,
            self.superuser_password.expose(),
            self.run_as.as_deref(),
        )?;
        let line = initdb_line(&self.bindir, &self.dir, self.run_as.as_deref());
        let result = process::run(&line, remaining(deadline)).await;
        let _ = std::fs::remove_file(&pwfile);
        result.map(drop).map_err(|source| Error::Initdb {
            dir: self.data_dir(),
            source,
        })
    }

    /// Appends the launcher's settings to `postgresql.conf` (rather than passing them with
    /// `pg_ctl -o`, which goes through a shell and would need quoting).
    fn write_settings(&self) -> Result<(), Error> {
        let path = self.data_dir().join("postgresql.conf");
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| {
                f.write_all(settings(&self.dir, Some(self.port)).as_bytes())?;
                Ok(f)
            })
            .map_err(|source| Error::Write {
                path: path.clone(),
                source,
            })?;
        file.flush().map_err(|source| Error::Write { path, source })
    }

    async fn pg_ctl_start(&mut self, deadline: Instant) -> Result<(), Error> {
        let line = pg_ctl_start_line(
            &self.bindir,
            &self.dir,
            self.run_as.as_deref(),
            remaining(deadline),
        );
        let result = process::run(&line, remaining(deadline) + Duration::from_secs(5)).await;
        // Even a failed or timed-out pg_ctl may have left a postmaster behind: track it so
        // Drop stops it.
        self.pid = read_postmaster_pid(&self.data_dir());
        result.map(drop).map_err(|source| Error::Start {
            port: self.port,
            log_tail: process::log_tail(&self.dir.join("postgres.log")),
            source,
        })
    }

    fn superuser_config(&self, database: &str) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host(HOST)
            .port(self.port)
            .user(SUPERUSER)
            .password(self.superuser_password.expose())
            .dbname(database)
            .connect_timeout(Duration::from_secs(5));
        config
    }

    async fn connect_superuser(
        &self,
        database: &str,
    ) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        let (client, connection) = self.superuser_config(database).connect(NoTls).await?;
        // The connection task ends when the client is dropped; its error, if any, surfaces
        // on the client's next query.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(client)
    }

    async fn wait_ready(&self, deadline: Instant) -> Result<tokio_postgres::Client, Error> {
        let timeout = remaining(deadline);
        loop {
            match self.connect_superuser("postgres").await {
                Ok(client) => match client.simple_query("SELECT 1").await {
                    Ok(_) => return Ok(client),
                    Err(err) if Instant::now() >= deadline => {
                        return Err(self.not_ready(timeout, &err));
                    }
                    Err(_) => {}
                },
                Err(err) if Instant::now() >= deadline => return Err(self.not_ready(timeout, &err)),
                Err(_) => {}
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    fn not_ready(&self, timeout: Duration, err: &tokio_postgres::Error) -> Error {
        Error::NotReady {
            port: self.port,
            timeout,
            last_error: errors::chain(err),
            log_tail: process::log_tail(&self.dir.join("postgres.log")),
        }
    }

    async fn create_role_and_databases(
        &self,
        client: &tokio_postgres::Client,
    ) -> Result<(), Error> {
        let setup = |step: &str| {
            let step = step.to_owned();
            let port = self.port;
            move |source| Error::Setup { step, port, source }
        };
        // The password is generated hex, but quote it properly anyway.
        client
            .batch_execute(&format!(
                "CREATE ROLE {ROLE} LOGIN PASSWORD {}",
                quote_literal(self.password.expose())
            ))
            .await
            .map_err(setup("create role quay"))?;
        for database in Database::ALL {
            client
                .batch_execute(&format!("CREATE DATABASE {database} OWNER {ROLE}"))
                .await
                .map_err(setup(&format!("create database {database}")))?;
        }
        Ok(())
    }

    async fn create_pg_trgm(&self) -> Result<(), Error> {
        let step = || "create extension pg_trgm in database quay".to_owned();
        let client = self
            .connect_superuser(Database::Quay.name())
            .await
            .map_err(|source| Error::Setup {
                step: step(),
                port: self.port,
                source,
            })?;
        client
            .batch_execute("CREATE EXTENSION pg_trgm")
            .await
            .map_err(|source| Error::Setup {
                step: step(),
                port: self.port,
                source,
            })
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.kill_and_remove();
    }
}

/// The name of the directory, in the system's temporary directory, that holds the server's
/// files when it runs as `postgres` ([`Postgres::link`]), before its random suffix.
const OUTSIDE_PREFIX: &str = "georep-postgres-";

/// A new directory (mode 0700, kept: [`Postgres`] removes it) in the system's temporary
/// directory for the server's files; `link` is what the error names.
fn outside_dir(link: &Path) -> Result<PathBuf, Error> {
    tempfile::Builder::new()
        .prefix(OUTSIDE_PREFIX)
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir()
        .map(tempfile::TempDir::keep)
        .map_err(|source| Error::Write {
            path: link.to_owned(),
            source,
        })
}

/// The settings appended to `postgresql.conf`; `port` is `None` in dry runs.
fn settings(dir: &Path, port: Option<u16>) -> String {
    let port = port.map_or_else(|| "<port>".to_owned(), |p| p.to_string());
    let socket_dir = quote_literal(&dir.join("run").display().to_string());
    format!(
        "\n# georep-harness\nport = {port}\nlisten_addresses = '{HOST}'\n\
         unix_socket_directories = {socket_dir}\nmax_connections = 200\nfsync = off\n\
         synchronous_commit = off\nfull_page_writes = off\n"
    )
}

fn initdb_line(bindir: &Path, dir: &Path, run_as: Option<&str>) -> CommandLine {
    CommandLine::new(bindir.join("initdb"))
        .arg("-D")
        .arg(dir.join("data").display().to_string())
        .arg("-U")
        .arg(SUPERUSER)
        .arg(format!("--pwfile={}", dir.join("superuser.pw").display()))
        .arg("--auth=scram-sha-256")
        .arg("--encoding=UTF8")
        .arg("--locale=C")
        .arg("--no-sync")
        .arg("--no-instructions")
        .run_as(run_as)
}

fn pg_ctl_start_line(
    bindir: &Path,
    dir: &Path,
    run_as: Option<&str>,
    timeout: Duration,
) -> CommandLine {
    CommandLine::new(bindir.join("pg_ctl"))
        .arg("-D")
        .arg(dir.join("data").display().to_string())
        .arg("-l")
        .arg(dir.join("postgres.log").display().to_string())
        .arg("-w")
        .arg("-t")
        .arg(timeout.as_secs().max(1).to_string())
        .arg("start")
        .run_as(run_as)
}

/// Finds the PostgreSQL 15 binaries: `explicit`, else [`DEBIAN_BINDIR`], else
/// `pg_config --bindir`.
async fn find_bindir(explicit: Option<&Path>, timeout: Duration) -> Result<PathBuf, Error> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(dir) = explicit {
        candidates.push(dir.to_owned());
    } else {
        candidates.push(PathBuf::from(DEBIAN_BINDIR));
        let pg_config = CommandLine::new("pg_config").arg("--bindir");
        if let Ok(output) = process::run(&pg_config, timeout).await {
            let dir = String::from_utf8_lossy(&output.stdout).trim().to_owned();
            if !dir.is_empty() {
                candidates.push(PathBuf::from(dir));
            }
        }
    }
    let Some(bindir) = candidates
        .iter()
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
    else {
        return Err(Error::BinariesNotFound {
            looked_in: candidates
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        });
    };
    let version = CommandLine::new(bindir.join("pg_ctl")).arg("--version");
    let found = match process::run(&version, timeout).await {
        Ok(output) => String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        Err(err) => format!("unknown ({err})"),
    };
    // "pg_ctl (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
    let major = found
        .split_whitespace()
        .nth(2)
        .and_then(|v| v.split('.').next());
    if major == Some(MAJOR_VERSION) {
        Ok(bindir.clone())
    } else {
        Err(Error::WrongVersion {
            bindir: bindir.clone(),
            found,
        })
    }
}

fn running_as_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// The uid and gid of `user` from `/etc/passwd`.
fn lookup_user(user: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    parse_passwd(&passwd, user)
}

fn parse_passwd(passwd: &str, user: &str) -> Option<(u32, u32)> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != user {
            return None;
        }
        let _password = fields.next()?;
        let uid = fields.next()?.parse().ok()?;
        let gid = fields.next()?.parse().ok()?;
        Some((uid, gid))
    })
}

/// Writes `content` to a new file readable only by its owner (`user` when set).
fn write_private(path: &Path, content: &str, user: Option<&str>) -> Result<(), Error> {
    let write_err = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(write_err)?;
    file.write_all(content.as_bytes()).map_err(write_err)?;
    if let Some(user) = user {
        let (uid, gid) = lookup_user(user).ok_or_else(|| Error::UserNotFound {
            user: user.to_owned(),
        })?;
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(write_err)?;
    }
    Ok(())
}

/// The postmaster's pid: the first line of `postmaster.pid`.
fn read_postmaster_pid(data_dir: &Path) -> Option<u32> {
    std::fs::read_to_string(data_dir.join("postmaster.pid"))
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

/// `value` as an SQL string literal.
fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// The time left until `deadline` (zero when past).
fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_uris_carry_the_role_password_port_and_database() {
        let server = Postgres {
            dir: PathBuf::from("/nonexistent/georep-test/postgres"),
            link: None,
            bindir: PathBuf::from(DEBIAN_BINDIR),
            run_as: None,
            port: 54321,
            pid: None,
            superuser_password: Secret::new("su"),
            password: Secret::new("pw"),
            stop_timeout: Duration::from_secs(1),
            with_pg_trgm: true,
        };
        assert_eq!(
            server.database_uri(Database::Clair).expose(),
            "postgresql://quay:pw@127.0.0.1:54321/clair"
        );
        assert_eq!(
            server.superuser_uri("quay").expose(),
            "postgresql://postgres:su@127.0.0.1:54321/quay"
        );
        assert!(!format!("{server:?}").contains("pw@"));
    }

    #[test]
    fn passwd_lookup_finds_uid_and_gid_of_the_named_user_only() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n\
                      postgres:x:101:104:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash\n";
        assert_eq!(parse_passwd(passwd, "postgres"), Some((101, 104)));
        assert_eq!(parse_passwd(passwd, "post"), None);
    }

    #[test]
    fn settings_quote_the_socket_dir_and_pin_loopback() {
        let text = settings(Path::new("/tmp/it's/postgres"), Some(5555));
        assert!(text.contains("port = 5555\n"), "{text}");
        assert!(text.contains("listen_addresses = '127.0.0.1'\n"), "{text}");
        assert!(
            text.contains("unix_socket_directories = '/tmp/it''s/postgres/run'\n"),
            "{text}"
        );
    }

    #[test]
    fn describe_lists_initdb_and_pg_ctl_without_secrets() {
        let lines = Postgres::describe(Path::new("/state"), &PostgresOptions::default());
        let text = lines.join("\n");
        assert!(
            text.contains("/usr/lib/postgresql/15/bin/initdb -D /state/postgres/data"),
            "{text}"
        );
        assert!(
            text.contains("pg_ctl -D /state/postgres/data -l /state/postgres/postgres.log -w"),
            "{text}"
        );
        assert!(text.contains("CREATE EXTENSION pg_trgm"), "{text}");
        let without = Postgres::describe(
            Path::new("/state"),
            &PostgresOptions {
                with_pg_trgm: false,
                ..PostgresOptions::default()
            },
        );
        assert!(!without.join("\n").contains("pg_trgm"));
    }
}
