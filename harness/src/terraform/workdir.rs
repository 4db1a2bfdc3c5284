//! A throwaway Terraform working directory bound to one Terraform binary, and the commands
//! tests run in it.
//!
//! Each [`Workdir`] is a fresh temporary directory named after its test, holding the test's
//! configuration and a CLI config file whose `dev_overrides` point Terraform at locally built
//! providers, so `plan`/`apply`/`destroy`/`import` work offline **without `terraform init`**
//! (which would query the registry and fail). Tests of installation instead give the CLI
//! config a `provider_installation` block of their own ([`Workdir::with_provider_installation`],
//! e.g. a local filesystem mirror) and run [`Workdir::init`]. Every command runs with a controlled
//! environment and a timeout. This module does not build providers or pick binaries (see
//! `binary`), and does not interpret events beyond their types (see `events`, `outcome`).

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;

use super::binary::TerraformBinary;
use super::error::Error;
use super::events::EventLog;
use super::outcome::{ApplyOutcome, Outputs, PlanExit, PlanOutcome, State, ValidateOutcome};
use super::process::{self, RawOutput};

/// The source address of our provider, as configurations write it in `required_providers`
/// (fully qualified, so Terraform and OpenTofu resolve it alike).
pub const QUAY_PROVIDER_SOURCE: &str = "registry.terraform.io/quay-georep/quay";

/// How long one Terraform command may run unless [`Workdir::with_timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// The name of the CLI config file inside every working directory.
pub const CLI_CONFIG_FILE_NAME: &str = "harness-cli.tfrc";

/// Set this environment variable to `1` to keep working directories after the test, for
/// debugging; by default they are deleted when the [`Workdir`] is dropped.
pub const KEEP_ENV: &str = "GEOREP_KEEP_WORKDIR";

/// A provider Terraform loads from a local directory instead of installing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevOverride {
    /// The provider source address, e.g. [`QUAY_PROVIDER_SOURCE`].
    pub source: String,
    /// The directory holding `terraform-provider-<type>`.
    pub dir: PathBuf,
}

impl DevOverride {
    /// Our provider, built into `dir` (the directory of `terraform-provider-quay`).
    #[must_use]
    pub fn quay(dir: impl Into<PathBuf>) -> Self {
        Self {
            source: QUAY_PROVIDER_SOURCE.to_owned(),
            dir: dir.into(),
        }
    }
}

/// A temporary Terraform working directory, its CLI config and the binary that runs in it.
///
/// Every command runs in the directory with `TF_CLI_CONFIG_FILE` set to the directory's own
/// CLI config (machines may preset it to a missing file), `CHECKPOINT_DISABLE=1`,
/// `TF_IN_AUTOMATION=1` and `TF_INPUT=0`. All other inherited `TF_*` variables (`TF_LOG`,
/// `TF_CLI_ARGS*`, `TF_VAR_*`, `TF_REATTACH_PROVIDERS`, ...) are removed so runs are
/// reproducible; add back what a test needs with [`Workdir::with_env`] or
/// [`Workdir::with_tf_log`].
#[derive(Debug)]
pub struct Workdir {
    dir: PathBuf,
    /// Deletes a temporary directory on drop; `None` for a directory given to [`Workdir::at`].
    _temp: Option<TempDir>,
    binary: TerraformBinary,
    cli_config: PathBuf,
    timeout: Duration,
    env: Vec<(OsString, OsString)>,
}

impl Workdir {
    /// Creates an empty working directory for `test_name` whose CLI config serves the
    /// `overrides` (none is fine for configurations without providers).
    ///
    /// # Errors
    ///
    /// [`Error::CreateWorkdir`] or [`Error::WriteFile`] when the directory or its CLI config
    /// cannot be created.
    pub fn new(
        binary: &TerraformBinary,
        test_name: &str,
        overrides: &[DevOverride],
    ) -> Result<Self, Error> {
        let prefix = format!("georep-{}-", sanitize(test_name));
        let mut dir = tempfile::Builder::new()
            .prefix(&prefix)
            .tempdir()
            .map_err(|source| Error::CreateWorkdir {
                test_name: test_name.to_owned(),
                source,
            })?;
        if std::env::var_os(KEEP_ENV).is_some_and(|value| value == "1") {
            dir.disable_cleanup(true);
        }
        let path = dir.path().to_owned();
        Self::with_dir(binary, path, Some(dir), &render_cli_config(overrides))
    }

    /// Creates an empty working directory for `test_name` whose CLI config holds
    /// `provider_installation` (a whole `provider_installation { ... }` block, such as the
    /// one `scripts/install-provider.sh` prints) instead of development overrides, so
    /// `terraform init` installs providers the way a user's machine does.
    ///
    /// # Errors
    ///
    /// As [`Workdir::new`].
    pub fn with_provider_installation(
        binary: &TerraformBinary,
        test_name: &str,
        provider_installation: &str,
    ) -> Result<Self, Error> {
        let workdir = Self::new(binary, test_name, &[])?;
        write(
            &workdir.cli_config,
            &format!("disable_checkpoint = true\n\n{provider_installation}"),
        )?;
        Ok(workdir)
    }

    /// Uses `dir` (created if missing, never deleted) as the working directory, with the
    /// same CLI config as [`Workdir::new`]: for a directory a person keeps using afterwards.
    ///
    /// # Errors
    ///
    /// [`Error::CreateWorkdir`] or [`Error::WriteFile`] when the directory or its CLI config
    /// cannot be created.
    pub fn at(
        binary: &TerraformBinary,
        dir: &Path,
        overrides: &[DevOverride],
    ) -> Result<Self, Error> {
        std::fs::create_dir_all(dir).map_err(|source| Error::CreateWorkdir {
            test_name: dir.display().to_string(),
            source,
        })?;
        Self::with_dir(binary, dir.to_owned(), None, &render_cli_config(overrides))
    }

    fn with_dir(
        binary: &TerraformBinary,
        dir: PathBuf,
        temp: Option<TempDir>,
        cli_config_text: &str,
    ) -> Result<Self, Error> {
        let cli_config = dir.join(CLI_CONFIG_FILE_NAME);
        write(&cli_config, cli_config_text)?;
        Ok(Self {
            dir,
            _temp: temp,
            binary: binary.clone(),
            cli_config,
            timeout: DEFAULT_TIMEOUT,
            env: Vec::new(),
        })
    }

    /// Sets the timeout of each command (default [`DEFAULT_TIMEOUT`]).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Runs every command with `TF_LOG=<level>` (e.g. `trace`); logs go to stderr, whose tail
    /// error messages quote.
    #[must_use]
    pub fn with_tf_log(self, level: &str) -> Self {
        self.with_env("TF_LOG", level)
    }

    /// Runs every command with one more environment variable (e.g. `TF_VAR_name`).
    #[must_use]
    pub fn with_env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// The directory.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The Terraform binary commands run with.
    #[must_use]
    pub fn binary(&self) -> &TerraformBinary {
        &self.binary
    }

    /// The CLI config file commands run with.
    #[must_use]
    pub fn cli_config_path(&self) -> &Path {
        &self.cli_config
    }

    /// Writes `main.tf`, replacing any previous one.
    ///
    /// # Errors
    ///
    /// [`Error::WriteFile`] when it cannot be written.
    pub fn write_main_tf(&self, hcl: &str) -> Result<PathBuf, Error> {
        self.write_file("main.tf", hcl)
    }

    /// Writes a file at the relative path `name` (parents are created), replacing any
    /// previous one, and returns its full path.
    ///
    /// # Errors
    ///
    /// [`Error::FileOutsideWorkdir`] when `name` is absolute or contains `..`;
    /// [`Error::WriteFile`] when it cannot be written.
    pub fn write_file(&self, name: impl AsRef<Path>, content: &str) -> Result<PathBuf, Error> {
        let name = name.as_ref();
        let inside = name.components().next().is_some()
            && name
                .components()
                .all(|component| matches!(component, Component::Normal(_) | Component::CurDir));
        if !inside {
            return Err(Error::FileOutsideWorkdir {
                name: name.to_owned(),
            });
        }
        let path = self.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| Error::WriteFile {
                path: path.clone(),
                source,
            })?;
        }
        write(&path, content)?;
        Ok(path)
    }

    /// Runs `terraform <args>` and returns its output whatever the exit code.
    ///
    /// # Errors
    ///
    /// [`Error::Spawn`], [`Error::TimedOut`], [`Error::Signalled`] or [`Error::Wait`] when
    /// Terraform could not run to an exit code.
    pub fn run<I, S>(&self, args: I) -> Result<RawOutput, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let args: Vec<String> = args
            .into_iter()
            .map(|arg| arg.as_ref().to_owned())
            .collect();
        let display = format!(
            "{} {} (in {})",
            self.binary.label(),
            args.join(" "),
            self.path().display()
        );
        process::run(self.command(&args), display, self.timeout)
    }

    /// The command `terraform <args>` as [`Workdir::run`] runs it (this directory, its CLI
    /// config, its environment, no `TF_*` of the caller's), to start in the background: a
    /// test that must act while Terraform runs, or kill it.
    #[must_use]
    pub fn command<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Command {
        let mut command = Command::new(&self.binary.path);
        command.args(args).current_dir(self.path());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("TF_") {
                command.env_remove(key);
            }
        }
        command
            .env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .envs(self.env.iter().map(|(key, value)| (key, value)));
        command
    }

    /// `terraform init -input=false -no-color`, required to succeed: installs the providers
    /// as the CLI config says (with development overrides only, `init` is not needed).
    ///
    /// # Errors
    ///
    /// [`Error::Failed`] when it exits non-zero; see [`Workdir::run`].
    pub fn init(&self) -> Result<RawOutput, Error> {
        self.run(["init", "-input=false", "-no-color"])?
            .require_success()
    }

    /// `terraform validate -json`.
    ///
    /// # Errors
    ///
    /// [`Error::Failed`] for exit codes other than 0 (valid) and 1 (invalid);
    /// [`Error::Parse`] when stdout is not the validate JSON; see [`Workdir::run`].
    pub fn validate(&self) -> Result<ValidateOutcome, Error> {
        let output = self.run(["validate", "-json"])?;
        if !matches!(output.exit_code, 0 | 1) {
            return Err(output.unexpected_exit());
        }
        serde_json::from_str(&output.stdout).map_err(|source| output.unparseable(source))
    }

    /// `terraform plan -json -detailed-exitcode -input=false -no-color`.
    ///
    /// # Errors
    ///
    /// [`Error::Failed`] for exit codes `-detailed-exitcode` never uses; see [`Workdir::run`].
    pub fn plan(&self) -> Result<PlanOutcome, Error> {
        self.plan_with(&[])
    }

    /// [`Workdir::plan`] with extra arguments, e.g. `-refresh=false` or `-destroy`.
    ///
    /// # Errors
    ///
    /// As [`Workdir::plan`].
    pub fn plan_with(&self, extra_args: &[&str]) -> Result<PlanOutcome, Error> {
        let mut args = vec![
            "plan",
            "-json",
            "-detailed-exitcode",
            "-input=false",
            "-no-color",
        ];
        args.extend_from_slice(extra_args);
        let output = self.run(&args)?;
        let exit =
            PlanExit::from_exit_code(output.exit_code).ok_or_else(|| output.unexpected_exit())?;
        Ok(PlanOutcome {
            events: EventLog::parse(&output.stdout),
            command: output.command,
            exit,
        })
    }

    /// `terraform apply -auto-approve -json -input=false`.
    ///
    /// # Errors
    ///
    /// [`Error::Failed`] for exit codes other than 0 and 1; see [`Workdir::run`].
    pub fn apply(&self) -> Result<ApplyOutcome, Error> {
        self.apply_with(&[])
    }

    /// [`Workdir::apply`] with extra arguments, e.g. `-refresh=false`.
    ///
    /// # Errors
    ///
    /// As [`Workdir::apply`].
    pub fn apply_with(&self, extra_args: &[&str]) -> Result<ApplyOutcome, Error> {
        let mut args = vec!["apply", "-auto-approve", "-json", "-input=false"];
        args.extend_from_slice(extra_args);
        self.run_apply_like(&args)
    }

    /// `terraform destroy -auto-approve -json -input=false` (Terraform 1.0.3 supports
    /// `-json` here too).
    ///
    /// # Errors
    ///
    /// [`Error::Failed`] for exit codes other than 0 and 1; see [`Workdir::run`].
    pub fn destroy(&self) -> Result<ApplyOutcome, Error> {
        self.run_apply_like(&["destroy", "-auto-approve", "-json", "-input=false"])
    }

    fn run_apply_like(&self, args: &[&str]) -> Result<ApplyOutcome, Error> {
        let output = self.run(args)?;
        if !matches!(output.exit_code, 0 | 1) {
            return Err(output.unexpected_exit());
        }
        Ok(ApplyOutcome {
            events: EventLog::parse(&output.stdout),
            command: output.command,
            exit_code: output.exit_code,
        })
    }

    /// `terraform output -json`: the root module's outputs, sensitive values included.
    ///
    /// # Errors
    ///
    /// [`Error::Failed`] when it exits non-zero, [`Error::Parse`] when stdout is not the
    /// outputs JSON; see [`Workdir::run`].
    pub fn output_json(&self) -> Result<Outputs, Error> {
        let output = self.run(["output", "-json"])?.require_success()?;
        serde_json::from_str(&output.stdout).map_err(|source| output.unparseable(source))
    }

    /// `terraform show -json`: the current state.
    ///
    /// # Errors
    ///
    /// [`Error::Failed`] when it exits non-zero, [`Error::Parse`] when stdout is not JSON;
    /// see [`Workdir::run`].
    pub fn show_json(&self) -> Result<State, Error> {
        let output = self.run(["show", "-json"])?.require_success()?;
        serde_json::from_str(&output.stdout)
            .map(State)
            .map_err(|source| output.unparseable(source))
    }

    /// `terraform import -input=false -no-color <address> <id>`, whatever its exit code.
    ///
    /// `import` has no `-json` mode; its output is the human one. Terraform 1.0.3 requires
    /// the resource block for `address` in the configuration.
    ///
    /// # Errors
    ///
    /// As [`Workdir::run`].
    pub fn import(&self, address: &str, id: &str) -> Result<RawOutput, Error> {
        self.run(["import", "-input=false", "-no-color", address, id])
    }
}

fn write(path: &Path, content: &str) -> Result<(), Error> {
    std::fs::write(path, content).map_err(|source| Error::WriteFile {
        path: path.to_owned(),
        source,
    })
}

/// A test name as a directory-name fragment: `e2e::smoke test` becomes `e2e__smoke_test`.
fn sanitize(test_name: &str) -> String {
    let name: String = test_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    if name.is_empty() {
        "test".to_owned()
    } else {
        name
    }
}

/// The CLI config: our dev overrides, everything else installed normally.
fn render_cli_config(overrides: &[DevOverride]) -> String {
    let mut config = String::from("disable_checkpoint = true\n\nprovider_installation {\n");
    if !overrides.is_empty() {
        config.push_str("  dev_overrides {\n");
        for dev_override in overrides {
            config.push_str(&format!(
                "    {} = {}\n",
                hcl_string(&dev_override.source),
                // A non-UTF-8 directory cannot be written into HCL; lossy text then names a
                // directory that does not exist, and Terraform says so.
                hcl_string(&dev_override.dir.to_string_lossy())
            ));
        }
        config.push_str("  }\n");
    }
    config.push_str("  direct {}\n}\n");
    config
}

/// `text` as a quoted HCL string literal, with escapes and template sequences neutralised.
fn hcl_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => quoted.push_str("\\\\"),
            '"' => quoted.push_str("\\\""),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                quoted.push(c);
                quoted.push(c);
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terraform::binary::Version;

    fn fake_binary() -> TerraformBinary {
        TerraformBinary {
            path: PathBuf::from("/nonexistent/terraform"),
            version: Version::new(1, 0, 3),
        }
    }

    #[test]
    fn cli_config_points_dev_overrides_at_the_provider_directory() {
        let config = render_cli_config(&[DevOverride::quay("/work/target/debug")]);
        assert_eq!(
            config,
            "disable_checkpoint = true\n\nprovider_installation {\n  dev_overrides {\n    \
             \"registry.terraform.io/quay-georep/quay\" = \"/work/target/debug\"\n  }\n  \
             direct {}\n}\n"
        );
    }

    #[test]
    fn cli_config_without_overrides_installs_directly() {
        let config = render_cli_config(&[]);
        assert!(!config.contains("dev_overrides"), "{config}");
        assert!(config.contains("direct {}"), "{config}");
    }

    #[test]
    fn cli_config_can_hold_a_given_provider_installation_block() {
        let block = "provider_installation {\n  filesystem_mirror {\n    path = \"/m\"\n  }\n}\n";
        let workdir = Workdir::with_provider_installation(&fake_binary(), "mirror", block).unwrap();
        let config = std::fs::read_to_string(workdir.cli_config_path()).unwrap();
        assert_eq!(config, format!("disable_checkpoint = true\n\n{block}"));
        assert!(!config.contains("dev_overrides"), "{config}");
    }

    #[test]
    fn hcl_string_escapes_quotes_backslashes_and_templates() {
        assert_eq!(hcl_string(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(hcl_string("${x}%{y}$z"), r#""$${x}%%{y}$z""#);
    }

    #[test]
    fn workdir_is_named_after_the_test_and_holds_the_cli_config() {
        let workdir = Workdir::new(&fake_binary(), "e2e::smoke test", &[]).unwrap();
        let name = workdir
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(name.starts_with("georep-e2e__smoke_test-"), "{name}");
        assert!(workdir.cli_config_path().starts_with(workdir.path()));
        assert!(workdir.cli_config_path().is_file());
    }

    #[test]
    fn workdir_is_removed_on_drop() {
        let workdir = Workdir::new(&fake_binary(), "dropped", &[]).unwrap();
        let path = workdir.path().to_owned();
        drop(workdir);
        assert!(!path.exists());
    }

    #[test]
    fn write_file_creates_parents_and_rejects_paths_leaving_the_directory() {
        let workdir = Workdir::new(&fake_binary(), "write_file", &[]).unwrap();
        let written = workdir
            .write_file("modules/site/main.tf", "# site")
            .unwrap();
        assert_eq!(std::fs::read_to_string(written).unwrap(), "# site");
        for name in ["../escape.tf", "/etc/escape.tf", ""] {
            let error = workdir.write_file(name, "").unwrap_err();
            assert!(
                matches!(error, Error::FileOutsideWorkdir { .. }),
                "{name}: {error}"
            );
        }
    }

    #[test]
    fn commands_with_a_missing_binary_fail_to_start_and_name_the_command() {
        let workdir = Workdir::new(&fake_binary(), "missing_binary", &[]).unwrap();
        let error = workdir.plan().unwrap_err();
        assert!(matches!(error, Error::Spawn { .. }), "{error}");
        assert!(
            error
                .to_string()
                .contains("terraform 1.0.3 plan -json -detailed-exitcode"),
            "{error}"
        );
    }
}
