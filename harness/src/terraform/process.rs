//! Runs one Terraform process to completion under a timeout and captures its output.
//!
//! The process gets its own process group, so a timeout kills Terraform *and* the provider
//! plugins it started; a killed run never leaves processes behind to hold ports or files. This
//! module knows nothing about Terraform's arguments or output formats (see `workdir` and
//! `events`); it is a small, blocking `std::process` runner: tests are synchronous, so no async
//! runtime is needed.

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use super::error::Error;

/// How long to keep reading stdout/stderr after the process is gone. Pipes stay open while a
/// descendant still holds them (a plugin that escaped Terraform's shutdown); past this grace
/// period we keep what was read rather than wait for it.
const DRAIN_GRACE: Duration = Duration::from_secs(10);

/// How many lines of stderr an error message quotes.
const STDERR_TAIL_LINES: usize = 20;

/// What a finished Terraform process printed, and how it exited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawOutput {
    /// The command line, for messages: `terraform <version> <args>`.
    pub command: String,
    /// The exit code.
    pub exit_code: i32,
    /// Everything written to stdout (lossily decoded as UTF-8).
    pub stdout: String,
    /// Everything written to stderr (lossily decoded as UTF-8).
    pub stderr: String,
}

impl RawOutput {
    /// Whether the process exited with code 0.
    #[must_use]
    pub fn succeeded(&self) -> bool {
        self.exit_code == 0
    }

    /// The last lines of stderr, or `(empty)`, for error messages.
    #[must_use]
    pub fn stderr_tail(&self) -> String {
        tail(&self.stderr)
    }

    /// The error for "this exit code was not expected".
    pub(crate) fn unexpected_exit(&self) -> Error {
        Error::Failed {
            command: self.command.clone(),
            exit_code: self.exit_code,
            stderr_tail: self.stderr_tail(),
        }
    }

    /// The error for "stdout is not the JSON this command promises".
    pub(crate) fn unparseable(&self, source: serde_json::Error) -> Error {
        Error::Parse {
            command: self.command.clone(),
            exit_code: self.exit_code,
            stderr_tail: self.stderr_tail(),
            source,
        }
    }

    /// `Ok(self)` when the process exited with code 0, the matching error otherwise.
    ///
    /// # Errors
    ///
    /// [`Error::Failed`] with the exit code and stderr tail.
    pub fn require_success(self) -> Result<Self, Error> {
        if self.succeeded() {
            Ok(self)
        } else {
            Err(self.unexpected_exit())
        }
    }
}

/// Runs `command` (program, arguments, directory and environment already set) with stdin
/// closed, and returns its output once it exits.
///
/// `display` names the command in errors. On timeout the whole process group is killed.
///
/// # Errors
///
/// [`Error::Spawn`] when it cannot start, [`Error::TimedOut`] when it outlives `timeout`,
/// [`Error::Signalled`] when something else kills it, [`Error::Wait`] when waiting fails.
/// Any exit code is a success here.
pub(crate) fn run(
    mut command: Command,
    display: String,
    timeout: Duration,
) -> Result<RawOutput, Error> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = command.spawn().map_err(|source| Error::Spawn {
        command: display.clone(),
        source,
    })?;
    let stdout = Pipe::spawn(child.stdout.take().map(|pipe| Box::new(pipe) as _));
    let stderr = Pipe::spawn(child.stderr.take().map(|pipe| Box::new(pipe) as _));
    let pid = child.id();
    let _running = Running::register(pid);

    let status = match wait_with_timeout(child, timeout) {
        Waited::Exited(status) => status,
        Waited::WaitFailed(source) => {
            kill_group(pid);
            return Err(Error::Wait {
                command: display,
                source,
            });
        }
        Waited::TimedOut => {
            kill_group(pid);
            return Err(Error::TimedOut {
                command: display,
                timeout,
                stderr_tail: tail(&stderr.finish()),
            });
        }
    };

    let stdout = stdout.finish();
    let stderr = stderr.finish();
    match status.code() {
        Some(exit_code) => Ok(RawOutput {
            command: display,
            exit_code,
            stdout,
            stderr,
        }),
        None => Err(Error::Signalled {
            command: display,
            signal: status.signal().unwrap_or_default(),
            stderr_tail: tail(&stderr),
        }),
    }
}

enum Waited {
    Exited(ExitStatus),
    WaitFailed(std::io::Error),
    TimedOut,
}

/// Waits on a helper thread so the timeout needs no polling. On timeout the helper keeps
/// waiting and reaps the child once [`kill_group`] has killed it.
fn wait_with_timeout(mut child: Child, timeout: Duration) -> Waited {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        // The receiver is gone only after a timeout; the result is not needed then.
        let _ = sender.send(child.wait());
    });
    match receiver.recv_timeout(timeout) {
        Ok(Ok(status)) => Waited::Exited(status),
        Ok(Err(source)) => Waited::WaitFailed(source),
        Err(RecvTimeoutError::Timeout) => Waited::TimedOut,
        Err(RecvTimeoutError::Disconnected) => Waited::WaitFailed(std::io::Error::other(
            "the thread waiting for the process ended without a result",
        )),
    }
}

/// The process groups of the commands running now, for [`interrupt_running`].
static RUNNING: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// A process group in [`RUNNING`] until dropped.
struct Running(u32);

impl Running {
    fn register(pid: u32) -> Self {
        RUNNING
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(pid);
        Self(pid)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|pid| *pid != self.0);
    }
}

/// Sends SIGINT to every Terraform command this process is running, and to the plugins each
/// started (their process group): Terraform stops as on Ctrl-C at a terminal, saving its
/// state, and exits with an error. Their own process groups keep a terminal's Ctrl-C from
/// reaching them, so the caller's signal handler passes it on with this. Returns how many
/// commands it interrupted.
pub fn interrupt_running() -> usize {
    let running = RUNNING
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    for pid in &running {
        signal_group(*pid, rustix::process::Signal::INT);
    }
    running.len()
}

/// Sends SIGKILL to the process group led by `pid` (the one `process_group(0)` created).
fn kill_group(pid: u32) {
    signal_group(pid, rustix::process::Signal::KILL);
}

fn signal_group(pid: u32, signal: rustix::process::Signal) {
    let pid = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw);
    if let Some(pid) = pid {
        // ESRCH (already gone) is the only expected failure, and nothing is left to do then.
        let _ = rustix::process::kill_process_group(pid, signal);
    }
}

/// A pipe drained on its own thread, so a full stderr never blocks a process writing stdout.
struct Pipe {
    buffer: Arc<Mutex<Vec<u8>>>,
    done: mpsc::Receiver<()>,
}

impl Pipe {
    fn spawn(pipe: Option<Box<dyn Read + Send>>) -> Self {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let (sender, done) = mpsc::channel();
        let shared = Arc::clone(&buffer);
        thread::spawn(move || {
            if let Some(mut pipe) = pipe {
                let mut chunk = [0_u8; 8192];
                // A read error ends the output like EOF does: we keep what arrived.
                while let Ok(read @ 1..) = pipe.read(&mut chunk) {
                    shared
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .extend_from_slice(&chunk[..read]);
                }
            }
            let _ = sender.send(());
        });
        Self { buffer, done }
    }

    /// Waits (at most [`DRAIN_GRACE`]) for the pipe to close and returns what was read.
    fn finish(self) -> String {
        let deadline = Instant::now() + DRAIN_GRACE;
        let _ = self
            .done
            .recv_timeout(deadline.saturating_duration_since(Instant::now()));
        let bytes = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// The last [`STDERR_TAIL_LINES`] non-empty lines of `text`, or `(empty)`.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    if lines.is_empty() {
        return "(empty)".to_owned();
    }
    lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.arg("-c").arg(script);
        command
    }

    #[test]
    fn captures_stdout_stderr_and_exit_code() {
        let output = run(
            sh("echo out; echo err >&2; exit 3"),
            "sh test".to_owned(),
            Duration::from_secs(30),
        )
        .unwrap();
        assert_eq!(output.stdout, "out\n");
        assert_eq!(output.stderr, "err\n");
        assert_eq!(output.exit_code, 3);
        let error = output.require_success().unwrap_err();
        assert_eq!(
            error.to_string(),
            "`sh test` exited with code 3; stderr: err"
        );
    }

    /// Whether `pid` has exited (gone, or a zombie waiting for its new parent to reap it).
    fn has_exited(pid: &str) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            // The state follows the parenthesised command name.
            Ok(stat) => stat
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X')),
            Err(_) => true,
        }
    }

    #[test]
    fn kills_the_process_and_its_children_on_timeout() {
        // `sh` prints its child's pid, then waits for it far longer than the timeout. The
        // timeout also runs while `sh` starts: on a loaded machine it can pass before `sh`
        // printed anything, which proves nothing about children, so such a run is repeated
        // with twice the timeout (the kill is checked on the first run that printed a pid).
        let mut timeout = Duration::from_millis(500);
        let stderr_tail = loop {
            let error = run(
                sh("sleep 600 & echo $! >&2; wait"),
                "sh sleepy".to_owned(),
                timeout,
            )
            .unwrap_err();
            assert!(
                error.to_string().contains("`sh sleepy` timed out"),
                "{error}"
            );
            let Error::TimedOut { stderr_tail, .. } = error else {
                panic!("expected a timeout");
            };
            if stderr_tail.trim() != "(empty)" || timeout >= Duration::from_secs(30) {
                break stderr_tail;
            }
            timeout *= 2;
        };
        let grandchild = stderr_tail.trim();
        assert!(
            grandchild.parse::<u32>().is_ok(),
            "no pid in {stderr_tail:?}"
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while !has_exited(grandchild) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        assert!(
            has_exited(grandchild),
            "child {grandchild} of the timed-out process survived"
        );
    }

    #[test]
    fn reports_a_missing_program_as_spawn_error() {
        let error = run(
            Command::new("/nonexistent/terraform"),
            "terraform missing".to_owned(),
            Duration::from_secs(5),
        )
        .unwrap_err();
        assert!(matches!(error, Error::Spawn { .. }), "{error}");
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let text: String = (1..=30).map(|n| format!("line {n}\n")).collect();
        let tail = tail(&text);
        assert!(tail.starts_with("line 11\n"), "{tail}");
        assert!(tail.ends_with("line 30"), "{tail}");
        assert_eq!(super::tail(" \n"), "(empty)");
    }
}
