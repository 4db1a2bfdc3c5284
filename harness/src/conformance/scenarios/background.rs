//! `terraform apply` in the background, so a scenario can act while it runs or kill it.

use std::io::Read as _;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::conformance::context::Context;
use crate::conformance::failure::Failure;
use crate::ensure;
use crate::terraform::Workdir;

/// How long a wait of an upgrade scenario may take (a real cluster's migration included).
pub const WAIT: Duration = Duration::from_secs(600);

/// `terraform apply` running in its own process group, so that Terraform and the provider it
/// starts can be killed together; its output goes to `apply-<n>.log` in its directory.
pub struct Background {
    child: std::process::Child,
    log: std::path::PathBuf,
}

impl Background {
    /// Starts `terraform apply` in `dir` with `env` added.
    ///
    /// # Errors
    /// Terraform could not start or its log could not be made.
    pub fn apply(dir: &Workdir, name: &str, env: &[(&str, &str)]) -> Result<Self, Failure> {
        use std::os::unix::process::CommandExt as _;
        let log = dir.path().join(format!("{name}.log"));
        let open = |path: &std::path::Path| {
            std::fs::File::create(path)
                .map_err(|e| Failure::new(format!("create {}: {e}", path.display())))
        };
        let file = open(&log)?;
        let err = file
            .try_clone()
            .map_err(|e| Failure::new(format!("open {}: {e}", log.display())))?;
        let mut command = dir.command(&["apply", "-auto-approve", "-json", "-input=false"]);
        command
            .envs(env.iter().copied())
            .stdout(file)
            .stderr(err)
            .process_group(0);
        let child = command
            .spawn()
            .map_err(|e| Failure::new(format!("start terraform apply: {e}")))?;
        Ok(Self { child, log })
    }

    /// The file its output goes to.
    #[must_use]
    pub fn log(&self) -> &std::path::Path {
        &self.log
    }

    /// Its output so far.
    #[must_use]
    pub fn output(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut text);
        }
        text
    }

    /// Whether it has ended.
    pub fn ended(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Polls `check` every 20 ms until it gives true.
    ///
    /// # Errors
    /// The apply ended first, or [`WAIT`] passed, with the end of its output.
    pub fn wait_for(
        &mut self,
        ctx: &Context<'_>,
        what: &str,
        mut check: impl AsyncFnMut() -> bool,
    ) -> Result<(), Failure> {
        let deadline = Instant::now() + WAIT;
        loop {
            if ctx.block_on(check()) {
                return Ok(());
            }
            if self.ended() || Instant::now() >= deadline {
                return Err(Failure::new(format!(
                    "the apply ended or stalled before {what}: {}",
                    tail(&self.output())
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL to Terraform and every process it started (the provider).
    ///
    /// # Errors
    /// The kill failed.
    pub fn kill(mut self) -> Result<(), Failure> {
        let killed = self.kill_group();
        let _ = self.child.wait();
        match killed {
            Ok(status) if status.success() => Ok(()),
            Ok(status) => Err(Failure::new(format!(
                "kill of process group {}: {status}",
                self.child.id()
            ))),
            Err(e) => Err(Failure::new(format!("run kill: {e}"))),
        }
    }

    fn kill_group(&self) -> std::io::Result<std::process::ExitStatus> {
        std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status()
    }

    /// Waits for the apply to end.
    ///
    /// # Errors
    /// It failed (with the end of its output), or could not be waited for.
    pub fn finish(mut self) -> Result<String, Failure> {
        let deadline = Instant::now() + WAIT;
        while !self.ended() {
            if Instant::now() >= deadline {
                return Err(Failure::new(format!(
                    "the apply did not end within {} s: {}",
                    WAIT.as_secs(),
                    tail(&self.output())
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let status = self
            .child
            .wait()
            .map_err(|e| Failure::new(format!("wait for terraform apply: {e}")))?;
        let output = self.output();
        ensure!(
            status.success(),
            "terraform apply failed ({status}): {}",
            tail(&output)
        );
        Ok(output)
    }
}

impl Drop for Background {
    /// A scenario that fails while the apply still runs kills it and its provider, so the
    /// run reports the failure instead of waiting behind a provider that keeps retrying.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.kill_group();
            let _ = self.child.wait();
        }
    }
}

/// The error diagnostics in a `-json` log, or its last lines.
fn tail(output: &str) -> String {
    let errors: Vec<String> = output
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["@level"] == "error")
        .map(|v| v["@message"].as_str().unwrap_or_default().to_owned())
        .collect();
    if errors.is_empty() {
        let lines: Vec<&str> = output.lines().collect();
        lines[lines.len().saturating_sub(5)..].join("\n")
    } else {
        errors.join("; ")
    }
}
