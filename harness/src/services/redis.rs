//! [`Redis`]: a throwaway `redis-server` with a password, and [`check_redis`], the probe that
//! logs in and sends `PING`.
//!
//! [`Redis::start`] writes `STATE_DIR/redis/redis.conf` (mode 0600: it holds the generated
//! `requirepass`, which would otherwise show in `ps`), starts `redis-server` on a free
//! loopback port as a child process in the foreground (no `--daemonize`, so the harness owns
//! it), and waits until `AUTH` + `PING` answer `PONG`. Persistence is off (`save ""`,
//! `appendonly no`): this is test data.
//!
//! [`check_redis`] speaks just enough RESP (the Redis protocol) for `AUTH` and `PING`, so the
//! launcher and the simulated Quay pods' readiness checks need no Redis client crate: the
//! `redis` crate would add a dependency tree for two commands whose replies are one line.
//!
//! It does not: install Redis (see `scripts/install-services.sh`), enable TLS or ACL users,
//! or survive a `SIGKILL` of the harness. [`Redis::stop`] and `Drop` stop the server (SIGTERM,
//! which with persistence off exits without saving; SIGKILL after the stop timeout) and delete
//! `STATE_DIR/redis`.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::process::{self, CommandLine, POLL_INTERVAL};
use super::secret::Secret;

/// The loopback address the server listens on.
pub const HOST: &str = "127.0.0.1";

/// How many random bytes the generated password has.
const PASSWORD_BYTES: usize = 24;

/// How long one probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// How to start [`Redis`]; [`Default`] gives the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisOptions {
    /// The `redis-server` binary. Default: `redis-server` from `PATH`.
    pub binary: PathBuf,
    /// How long the server may take to answer `PING`. Default 30 s.
    pub start_timeout: Duration,
    /// How long it may take to exit after SIGTERM before it is killed. Default 10 s.
    pub stop_timeout: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            binary: PathBuf::from("redis-server"),
            start_timeout: Duration::from_secs(30),
            stop_timeout: Duration::from_secs(10),
        }
    }
}

/// Why starting or stopping [`Redis`] failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `redis-server` could not be found or started.
    #[error(
        "start {binary}: run scripts/install-services.sh (Debian: apt-get install redis-server)"
    )]
    Spawn {
        /// The binary.
        binary: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },

    /// The service directory already exists.
    #[error("{dir} already exists: remove it or use another state dir")]
    StateExists {
        /// The directory.
        dir: PathBuf,
    },

    /// Creating or writing a file or directory failed.
    #[error("write {path}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },

    /// The operating system's random source failed.
    #[error("generate a password")]
    Random(#[source] getrandom::Error),

    /// The server exited while starting.
    #[error("redis-server on {HOST}:{port} exited while starting ({status}); log: {log_tail}")]
    Exited {
        /// The port.
        port: u16,
        /// How it exited.
        status: std::process::ExitStatus,
        /// The end of its log.
        log_tail: String,
    },

    /// The server did not answer `PING` in time.
    #[error(
        "redis-server on {HOST}:{port} did not answer AUTH + PING within {timeout:?} \
         (last attempt: {last_error}); log: {log_tail}"
    )]
    NotReady {
        /// The port.
        port: u16,
        /// The limit.
        timeout: Duration,
        /// What the last attempt said.
        last_error: String,
        /// The end of its log.
        log_tail: String,
    },

    /// The server was still running after the stop timeout and had to be killed.
    #[error("redis-server (pid {pid}) was still running {timeout:?} after SIGTERM and was killed")]
    StillRunning {
        /// Its pid.
        pid: u32,
        /// The limit.
        timeout: Duration,
    },
}

/// Why [`check_redis`] failed.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// No TCP connection (nothing listening, or it broke).
    #[error("connect to redis at {addr}")]
    Unreachable {
        /// `host:port`.
        addr: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },

    /// The probe took longer than its limit.
    #[error("redis at {addr} did not answer within {timeout:?}")]
    TimedOut {
        /// `host:port`.
        addr: String,
        /// The limit.
        timeout: Duration,
    },

    /// The server refused the password (`WRONGPASS`, or `AUTH` without a `requirepass`).
    #[error("redis at {addr} rejected the password: {reply}")]
    AuthRejected {
        /// `host:port`.
        addr: String,
        /// The server's error reply.
        reply: String,
    },

    /// The server answered something else than expected (e.g. `LOADING` while starting).
    #[error("redis at {addr} answered {command} with {reply:?}")]
    UnexpectedReply {
        /// `host:port`.
        addr: String,
        /// The command.
        command: &'static str,
        /// The reply line.
        reply: String,
    },
}

/// Logs in to the Redis server at `host:port` with `password` and sends `PING`, as Quay does
/// at start-up; `Ok` when it answers `PONG`.
///
/// # Errors
///
/// [`CheckError::AuthRejected`] for a wrong password, [`CheckError::Unreachable`] when nothing
/// listens, [`CheckError::TimedOut`] after 5 s, [`CheckError::UnexpectedReply`] otherwise.
///
/// # Cancel safety
///
/// Cancel safe: dropping the future closes the connection.
pub async fn check_redis(host: &str, port: u16, password: &Secret) -> Result<(), CheckError> {
    let addr = format!("{host}:{port}");
    match tokio::time::timeout(PROBE_TIMEOUT, auth_and_ping(&addr, password)).await {
        Ok(result) => result,
        Err(_elapsed) => Err(CheckError::TimedOut {
            addr,
            timeout: PROBE_TIMEOUT,
        }),
    }
}

async fn auth_and_ping(addr: &str, password: &Secret) -> Result<(), CheckError> {
    let io_err = |source| CheckError::Unreachable {
        addr: addr.to_owned(),
        source,
    };
    let stream = TcpStream::connect(addr).await.map_err(io_err)?;
    let mut stream = BufReader::new(stream);
    let auth = resp_command(&["AUTH", password.expose()]);
    stream.get_mut().write_all(&auth).await.map_err(io_err)?;
    let reply = read_line(&mut stream).await.map_err(io_err)?;
    if reply.starts_with("-WRONGPASS")
        || reply.starts_with("-ERR AUTH")
        || reply.starts_with("-ERR invalid password")
    {
        return Err(CheckError::AuthRejected {
            addr: addr.to_owned(),
            reply: reply.trim_start_matches('-').to_owned(),
        });
    }
    if reply != "+OK" {
        return Err(CheckError::UnexpectedReply {
            addr: addr.to_owned(),
            command: "AUTH",
            reply,
        });
    }
    stream
        .get_mut()
        .write_all(&resp_command(&["PING"]))
        .await
        .map_err(io_err)?;
    let reply = read_line(&mut stream).await.map_err(io_err)?;
    if reply == "+PONG" {
        Ok(())
    } else {
        Err(CheckError::UnexpectedReply {
            addr: addr.to_owned(),
            command: "PING",
            reply,
        })
    }
}

/// A RESP array of bulk strings: the form every Redis command takes on the wire.
fn resp_command(words: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", words.len()).into_bytes();
    for word in words {
        out.extend_from_slice(format!("${}\r\n", word.len()).as_bytes());
        out.extend_from_slice(word.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// One reply line without its CRLF; a closed connection is an `UnexpectedEof` error.
async fn read_line(stream: &mut BufReader<TcpStream>) -> std::io::Result<String> {
    let mut line = String::new();
    if stream.read_line(&mut line).await? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed before a reply",
        ));
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// A running `redis-server` with `requirepass`, owned as a child process.
///
/// Dropping it stops the server (blocking for up to the stop timeout) and deletes its
/// directory; prefer [`Redis::stop`], which reports failures.
#[derive(Debug)]
pub struct Redis {
    dir: PathBuf,
    child: Option<Child>,
    port: u16,
    password: Secret,
    stop_timeout: Duration,
}

impl Redis {
    /// Starts `redis-server` with its files in `state_dir/redis` (which must not exist yet).
    ///
    /// # Errors
    ///
    /// [`Error::Spawn`] (with the install hint), [`Error::StateExists`], [`Error::Exited`] or
    /// [`Error::NotReady`] with the server log. A server already started is stopped again
    /// before the error returns.
    pub async fn start(state_dir: &Path, opts: &RedisOptions) -> Result<Self, Error> {
        let deadline = Instant::now() + opts.start_timeout;
        let dir = state_dir.join("redis");
        if dir.exists() {
            return Err(Error::StateExists { dir });
        }
        std::fs::DirBuilder::new()
            .mode(0o700)
            .recursive(true)
            .create(&dir)
            .map_err(|source| Error::Write {
                path: dir.clone(),
                source,
            })?;
        let port = process::free_port().map_err(|source| Error::Write {
            path: dir.clone(),
            source,
        })?;
        let mut server = Self {
            dir,
            child: None,
            port,
            password: Secret::generate(PASSWORD_BYTES).map_err(Error::Random)?,
            stop_timeout: opts.stop_timeout,
        };
        // The port was free when picked, but another process can take it before the server
        // binds it: pick another and start again.
        let mut attempts = 1;
        loop {
            server.write_config()?;
            let line = start_line(&opts.binary, &server.dir);
            let child = line
                .to_command()
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|source| Error::Spawn {
                    binary: opts.binary.clone(),
                    source,
                })?;
            server.child = Some(child);
            match server.wait_ready(deadline, opts.start_timeout).await {
                Ok(()) => return Ok(server),
                Err(Error::Exited { ref log_tail, .. })
                    if process::port_was_taken(log_tail) && attempts < process::PORT_ATTEMPTS =>
                {
                    attempts += 1;
                    tracing::debug!(port = server.port, "port taken before Redis bound it");
                    server.port = process::free_port().map_err(|source| Error::Write {
                        path: server.dir.clone(),
                        source,
                    })?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The commands [`Redis::start`] would run, for a dry run.
    #[must_use]
    pub fn describe(state_dir: &Path, opts: &RedisOptions) -> Vec<String> {
        let dir = state_dir.join("redis");
        vec![
            format!(
                "# write {} (mode 0600): {}",
                dir.join("redis.conf").display(),
                config_text(&dir, None, None)
                    .replace('\n', "; ")
                    .trim_end_matches("; ")
            ),
            start_line(&opts.binary, &dir).to_string(),
        ]
    }

    /// The TCP port on [`HOST`].
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The `requirepass` password.
    #[must_use]
    pub fn password(&self) -> &Secret {
        &self.password
    }

    /// The server's process id (`None` once stopped).
    #[must_use]
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops the server (SIGTERM; it exits without saving), waits for it, and deletes its
    /// directory.
    ///
    /// # Errors
    ///
    /// [`Error::StillRunning`] when it outlived the stop timeout (it is killed, and the
    /// directory deleted, either way).
    pub async fn stop(mut self) -> Result<(), Error> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let pid = child.id();
        process::send_signal(pid, rustix::process::Signal::TERM);
        let deadline = Instant::now() + self.stop_timeout;
        let result = loop {
            if matches!(child.try_wait(), Ok(Some(_)) | Err(_)) {
                break Ok(());
            }
            if Instant::now() >= deadline {
                break Err(Error::StillRunning {
                    pid,
                    timeout: self.stop_timeout,
                });
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        };
        if result.is_err() {
            kill_and_reap(&mut child);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        result
    }

    fn write_config(&self) -> Result<(), Error> {
        let path = self.dir.join("redis.conf");
        let text = config_text(&self.dir, Some(self.port), Some(&self.password));
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|source| Error::Write { path, source })
    }

    async fn wait_ready(&mut self, deadline: Instant, timeout: Duration) -> Result<(), Error> {
        let log = self.dir.join("redis.log");
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(Error::Exited {
                    port: self.port,
                    status,
                    log_tail: process::log_tail(&log),
                });
            }
            match check_redis(HOST, self.port, &self.password).await {
                Ok(()) => return Ok(()),
                Err(err) if Instant::now() >= deadline => {
                    return Err(Error::NotReady {
                        port: self.port,
                        timeout,
                        last_error: err.to_string(),
                        log_tail: process::log_tail(&log),
                    });
                }
                Err(_) => tokio::time::sleep(POLL_INTERVAL).await,
            }
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            process::send_signal(child.id(), rustix::process::Signal::TERM);
            let deadline = Instant::now() + self.stop_timeout;
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(POLL_INTERVAL);
            }
            kill_and_reap(&mut child);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Kills `child` if it still runs and reaps it, so no zombie is left.
fn kill_and_reap(child: &mut Child) {
    if matches!(child.try_wait(), Ok(None)) {
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn start_line(binary: &Path, dir: &Path) -> CommandLine {
    CommandLine::new(binary).arg(dir.join("redis.conf").display().to_string())
}

/// The config file; `None`s are placeholders for dry runs.
fn config_text(dir: &Path, port: Option<u16>, password: Option<&Secret>) -> String {
    let port = port.map_or_else(|| "<port>".to_owned(), |p| p.to_string());
    let password = password.map_or("<generated>", Secret::expose);
    format!(
        "bind {HOST}\nport {port}\nprotected-mode yes\ndaemonize no\nsave \"\"\nappendonly no\n\
         dir {}\nlogfile {}\nrequirepass {password}\n",
        quote_config(&dir.display().to_string()),
        quote_config(&dir.join("redis.log").display().to_string()),
    )
}

/// `value` as a double-quoted redis.conf string.
fn quote_config(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp_commands_are_arrays_of_bulk_strings() {
        assert_eq!(
            resp_command(&["AUTH", "pässword"]),
            b"*2\r\n$4\r\nAUTH\r\n$9\r\np\xc3\xa4ssword\r\n".to_vec()
        );
    }

    #[test]
    fn config_binds_loopback_with_persistence_off_and_quoted_paths() {
        let text = config_text(
            Path::new("/tmp/a \"b\""),
            Some(6400),
            Some(&Secret::new("pw")),
        );
        assert!(text.contains("bind 127.0.0.1\nport 6400\n"), "{text}");
        assert!(text.contains("save \"\"\nappendonly no\n"), "{text}");
        assert!(text.contains("dir \"/tmp/a \\\"b\\\"\"\n"), "{text}");
        assert!(text.ends_with("requirepass pw\n"), "{text}");
    }

    #[test]
    fn describe_shows_the_command_but_not_a_password() {
        let text = Redis::describe(Path::new("/state"), &RedisOptions::default()).join("\n");
        assert!(
            text.contains("redis-server /state/redis/redis.conf"),
            "{text}"
        );
        assert!(text.contains("requirepass <generated>"), "{text}");
    }

    #[tokio::test]
    async fn check_redis_reports_an_unreachable_server() {
        let port = process::free_port().unwrap();
        let err = check_redis(HOST, port, &Secret::new("x"))
            .await
            .unwrap_err();
        assert!(matches!(err, CheckError::Unreachable { .. }), "{err:?}");
    }
}
