//! Process plumbing shared by the Postgres and Redis launchers.
//!
//! [`CommandLine`] is a command as data: the launchers build one for every step, run it, and
//! print it in [`describe`](super::SharedServices::describe) output, so a dry run shows exactly
//! what a real start would run. Around it, crate-internal: running a short command under a
//! timeout, free loopback ports (never the same one twice in a process), and making a process
//! exit; and public: [`is_alive`] for tests that check nothing is left behind, and
//! [`write_executable`] for scripts a process writes and then runs.
//!
//! This module does not keep long-running processes: the launchers own their servers and stop
//! them themselves. It knows Linux only (`/proc`), like the rest of the `local` backend.

use std::collections::HashSet;
use std::fmt;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How often waits poll.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// How many lines of a log an error message quotes.
const LOG_TAIL_LINES: usize = 15;

/// Why running a short command failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command could not be started.
    #[error("start `{command}`")]
    Spawn {
        /// The command line.
        command: String,
        /// Why it could not start.
        #[source]
        source: std::io::Error,
    },

    /// The command ran longer than allowed and was killed.
    #[error("`{command}` did not finish within {timeout:?} and was killed")]
    TimedOut {
        /// The command line.
        command: String,
        /// The limit it exceeded.
        timeout: Duration,
    },

    /// The command exited unsuccessfully.
    #[error("`{command}` failed ({status}): {output}")]
    Failed {
        /// The command line.
        command: String,
        /// How it exited.
        status: std::process::ExitStatus,
        /// The end of its stderr and stdout.
        output: String,
    },
}

/// A command as data: program, arguments, and the user it runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine {
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// When set, the command runs as this user through `runuser -u USER --` (only possible as
    /// root).
    pub run_as: Option<String>,
}

impl CommandLine {
    /// A command without arguments, run as the current user.
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            run_as: None,
        }
    }

    /// Adds one argument.
    #[must_use]
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Runs the command as `user` (through `runuser`), or as the current user for `None`.
    #[must_use]
    pub fn run_as(mut self, user: Option<&str>) -> Self {
        self.run_as = user.map(str::to_owned);
        self
    }

    /// The `std::process::Command` for this line, in its own process group (so a Ctrl-C on
    /// the terminal reaches the harness only, which then stops its servers in order), with
    /// stdin closed.
    #[must_use]
    pub fn to_command(&self) -> std::process::Command {
        let mut command = match &self.run_as {
            Some(user) => {
                let mut c = std::process::Command::new("runuser");
                c.args(["-u", user.as_str(), "--"]).arg(&self.program);
                c
            }
            None => std::process::Command::new(&self.program),
        };
        command.args(&self.args);
        command.stdin(Stdio::null());
        command.process_group(0);
        command
    }
}

impl fmt::Display for CommandLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(user) = &self.run_as {
            write!(f, "runuser -u {user} -- ")?;
        }
        write!(f, "{}", shell_quote(&self.program.to_string_lossy()))?;
        for arg in &self.args {
            write!(f, " {}", shell_quote(arg))?;
        }
        Ok(())
    }
}

/// `word` as a POSIX shell word (unchanged when it needs no quoting).
fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+<>".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Runs `line` to completion, killing it after `timeout`.
///
/// # Errors
///
/// [`Error::Spawn`], [`Error::TimedOut`], or [`Error::Failed`] with the end of its output.
pub(crate) async fn run(line: &CommandLine, timeout: Duration) -> Result<Output, Error> {
    let mut command = tokio::process::Command::from(line.to_command());
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command.spawn().map_err(|source| Error::Spawn {
        command: line.to_string(),
        source,
    })?;
    let output = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(source)) => {
            return Err(Error::Spawn {
                command: line.to_string(),
                source,
            });
        }
        Err(_elapsed) => {
            return Err(Error::TimedOut {
                command: line.to_string(),
                timeout,
            });
        }
    };
    if output.status.success() {
        Ok(output)
    } else {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stderr),
            String::from_utf8_lossy(&output.stdout)
        );
        Err(Error::Failed {
            command: line.to_string(),
            status: output.status,
            output: tail(&text),
        })
    }
}

/// Ports handed out by [`free_port`] in this process, never handed out twice.
static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// A loopback TCP port that was free a moment ago and that this process has not handed out
/// before.
///
/// Like envtest's port manager: the port is found by binding `127.0.0.1:0` and released for the
/// server to bind, so another process could still take it in between; launchers report that
/// as a start failure with the server's log.
///
/// # Errors
///
/// Binding a loopback socket failed.
pub(crate) fn free_port() -> std::io::Result<u16> {
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(PoisonError::into_inner);
    let handed_out = handed_out.get_or_insert_with(HashSet::new);
    loop {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port();
        if handed_out.insert(port) {
            return Ok(port);
        }
    }
}

/// How many ports a launcher tries before it reports a start failure.
pub(crate) const PORT_ATTEMPTS: u32 = 3;

/// Whether a server's log says it could not bind its port (PostgreSQL: "could not bind";
/// Redis: "Address already in use"), so a launcher should pick another port and start again.
#[must_use]
pub(crate) fn port_was_taken(log: &str) -> bool {
    log.contains("could not bind") || log.contains("Address already in use")
}

/// Whether a process with this id exists and is not a zombie.
///
/// Zombies count as gone: a daemon such as the postmaster is re-parented when `pg_ctl` exits,
/// and in a container the new parent may never reap it.
#[must_use]
pub fn is_alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // Format: "pid (comm) state ...": comm may contain spaces and parentheses, so the state
    // is the first field after the last ')'.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    !matches!(state, Some("Z" | "X") | None)
}

/// Writes `contents` to `path` as an executable file with permission bits `mode`, ready to
/// be run at once by this process or its children.
///
/// A short-lived `sh` writes the file, never a descriptor of this process: if one of its
/// threads forked while this process held the file open for writing, the child would hold
/// that descriptor until it execs, and running the file meanwhile fails with ETXTBSY ("Text
/// file busy"). Test binaries, which write scripts on one thread while others start
/// processes, hit that now and then.
///
/// # Errors
///
/// Starting `sh`, writing its input, `sh` failing, or setting the permissions.
pub fn write_executable(path: &Path, contents: &str, mode: u32) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::PermissionsExt as _;

    let mut child = std::process::Command::new("/bin/sh")
        .args(["-c", r#"cat > "$1""#, "sh"])
        .arg(path)
        .stdin(Stdio::piped())
        .spawn()?;
    let written = match child.stdin.take() {
        Some(mut stdin) => stdin.write_all(contents.as_bytes()),
        None => Err(std::io::Error::other("sh has no standard input")),
    };
    let status = child.wait()?;
    written?;
    if !status.success() {
        return Err(std::io::Error::other(format!(
            "writing {} through sh: {status}",
            path.display()
        )));
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// Sends `signal` to `pid` (ignoring a process that is already gone).
pub(crate) fn send_signal(pid: u32, signal: rustix::process::Signal) {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return;
    };
    // ESRCH (already gone) is the only expected failure, and either way there is nothing else
    // to do here: callers poll `is_alive` afterwards.
    let _ = rustix::process::kill_process(pid, signal);
}

/// Sends `signal` to `pid`, waits up to `grace` for it to go, then kills it; blocking (for
/// `Drop`). Returns whether the process is gone.
pub(crate) fn terminate_blocking(
    pid: u32,
    signal: rustix::process::Signal,
    grace: Duration,
) -> bool {
    send_signal(pid, signal);
    let deadline = Instant::now() + grace;
    while is_alive(pid) && Instant::now() < deadline {
        std::thread::sleep(POLL_INTERVAL);
    }
    if is_alive(pid) {
        send_signal(pid, rustix::process::Signal::KILL);
        let deadline = Instant::now() + Duration::from_secs(2);
        while is_alive(pid) && Instant::now() < deadline {
            std::thread::sleep(POLL_INTERVAL);
        }
    }
    !is_alive(pid)
}

/// Waits up to `timeout` for `pid` to go; returns whether it did.
pub(crate) async fn wait_gone(pid: u32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while is_alive(pid) {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    true
}

/// The last lines of the file at `path`, or a note that it cannot be read, for error messages.
#[must_use]
pub(crate) fn log_tail(path: &Path) -> String {
    match std::fs::read(path) {
        Ok(bytes) => tail(&String::from_utf8_lossy(&bytes)),
        Err(err) => format!("(log {} unreadable: {err})", path.display()),
    }
}

/// The last [`LOG_TAIL_LINES`] lines of `text`, or `(empty)`.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return "(empty)".to_owned();
    }
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Threads that write a script and run it at once, as test binaries do: with the file
    /// written through a descriptor of this process, some run fails with ETXTBSY.
    fn write_and_run_on_threads(write: fn(&Path, &str) -> std::io::Result<()>) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        std::thread::scope(|scope| {
            let runs: Vec<_> = (0..8)
                .map(|thread| {
                    let dir = dir.path();
                    scope.spawn(move || {
                        let mut failures = Vec::new();
                        for run in 0..25 {
                            let path = dir.join(format!("script-{thread}-{run}.sh"));
                            let wrote = write(&path, &format!("#!/bin/sh\necho {thread}-{run}\n"));
                            match wrote.and_then(|()| std::process::Command::new(&path).output()) {
                                Ok(out) if out.stdout == format!("{thread}-{run}\n").as_bytes() => {
                                }
                                Ok(out) => failures.push(format!("{}: {out:?}", path.display())),
                                Err(e) => failures.push(format!("{}: {e}", path.display())),
                            }
                        }
                        failures
                    })
                })
                .collect();
            runs.into_iter().flat_map(|r| r.join().unwrap()).collect()
        })
    }

    #[test]
    fn scripts_written_by_write_executable_run_at_once_while_other_threads_fork() {
        let failures = write_and_run_on_threads(|path, text| write_executable(path, text, 0o700));
        assert_eq!(failures, Vec::<String>::new());
    }

    #[test]
    fn write_executable_sets_the_mode() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tool");
        write_executable(&path, "#!/bin/sh\n", 0o750).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o750);
    }

    #[test]
    fn command_lines_print_as_shell_commands() {
        let line = CommandLine::new("/usr/bin/initdb")
            .arg("-D")
            .arg("/tmp/state dir/data")
            .arg("it's")
            .run_as(Some("postgres"));
        assert_eq!(
            line.to_string(),
            r"runuser -u postgres -- /usr/bin/initdb -D '/tmp/state dir/data' 'it'\''s'"
        );
    }

    #[test]
    fn a_taken_port_is_told_from_other_start_failures() {
        assert!(port_was_taken(
            "LOG:  could not bind IPv4 address \"127.0.0.1\": Address already in use"
        ));
        assert!(port_was_taken(
            "# Warning: Could not create server TCP listening socket 127.0.0.1:6379: bind: Address already in use"
        ));
        assert!(!port_was_taken(
            "FATAL:  data directory has wrong ownership"
        ));
    }

    #[test]
    fn free_ports_are_never_handed_out_twice() {
        let ports: HashSet<u16> = (0..20).map(|_| free_port().unwrap()).collect();
        assert_eq!(ports.len(), 20);
    }

    #[test]
    fn this_process_is_alive_and_a_reaped_child_is_not() {
        assert!(is_alive(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!is_alive(pid));
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let text: String = (1..=40).map(|i| format!("line {i}\n")).collect();
        let t = tail(&text);
        assert!(t.starts_with("line 26\n"), "{t}");
        assert!(t.ends_with("line 40"), "{t}");
        assert_eq!(tail("\n \n"), "(empty)");
    }

    #[tokio::test]
    async fn run_reports_a_failing_command_with_its_output() {
        let line = CommandLine::new("sh")
            .arg("-c")
            .arg("echo boom >&2; exit 3");
        let err = run(&line, Duration::from_secs(10)).await.unwrap_err();
        assert!(
            matches!(&err, Error::Failed { output, .. } if output == "boom"),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn run_kills_a_command_that_exceeds_its_timeout() {
        let line = CommandLine::new("sleep").arg("30");
        let err = run(&line, Duration::from_millis(100)).await.unwrap_err();
        assert!(matches!(err, Error::TimedOut { .. }), "{err:?}");
    }
}
