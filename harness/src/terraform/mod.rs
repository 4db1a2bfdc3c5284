//! Drives the Terraform CLI for end-to-end tests and the harness.
//!
//! # Brief overview
//!
//! - [`binaries_under_test`]: the Terraform binaries every end-to-end test runs against, the
//!   pinned 1.0.3 (installed by `scripts/install-terraform.sh`) and the `terraform` on `PATH`.
//! - [`Workdir`]: a temporary working directory per test with a CLI config whose
//!   `dev_overrides` serve locally built providers (no `terraform init`), and the commands:
//!   [`Workdir::validate`], [`Workdir::plan`], [`Workdir::apply`], [`Workdir::destroy`],
//!   [`Workdir::output_json`], [`Workdir::show_json`], [`Workdir::import`], [`Workdir::run`].
//! - Typed results: [`ValidateOutcome`], [`PlanOutcome`], [`ApplyOutcome`], [`State`], with
//!   the streamed `-json` events parsed into [`Event`]s and [`Diagnostic`]s
//!   ([`Diagnostic::highlighted`] tells which source text a diagnostic points at).
//! - [`find_terraform`], [`find_provider_dir`], [`repo_and_provider_dir`]: the Terraform and
//!   the provider the demo and the benchmarks run, from flags, the repository or `PATH`.
//! - [`Error`]: every failure, naming the command, its exit code and its stderr tail.
//!
//! The API is blocking (`std::process`), because tests are synchronous. It does not build
//! providers, install Terraform, or start clusters.
//!
//! # Examples
//!
//! ```no_run
//! use georep_harness::terraform::{binaries_under_test, DevOverride, Workdir};
//!
//! # fn main() -> Result<(), georep_harness::terraform::Error> {
//! for terraform in binaries_under_test()? {
//!     let workdir = Workdir::new(&terraform, "outputs_work", &[DevOverride::quay("target/debug")])?;
//!     workdir.write_main_tf(r#"output "greeting" { value = "hello" }"#)?;
//!     workdir.apply()?.require_success()?;
//!     assert_eq!(workdir.output_json()?["greeting"].value, "hello");
//! }
//! # Ok(())
//! # }
//! ```

mod binary;
mod diagnostic;
mod error;
mod events;
mod outcome;
mod process;
mod workdir;

pub use binary::{
    PINNED_CACHE_PATH, PINNED_ENV, PINNED_VERSION, PROVIDER_EXE, ParseVersionError,
    TerraformBinary, Version, binaries_under_test, find_provider_dir, find_terraform,
    repo_and_provider_dir, repo_root,
};
pub use diagnostic::{Diagnostic, ExpressionValue, Pos, Range, Severity, Snippet};
pub use error::Error;
pub use events::{
    Action, AppliedChange, ChangeSummary, Event, EventLog, Operation, OutputEvent, ResourceChange,
};
pub use outcome::{
    ApplyOutcome, OutputValue, Outputs, PlanExit, PlanOutcome, State, ValidateOutcome,
};
pub use process::{RawOutput, interrupt_running};
pub use workdir::{
    CLI_CONFIG_FILE_NAME, DEFAULT_TIMEOUT, DevOverride, KEEP_ENV, QUAY_PROVIDER_SOURCE, Workdir,
};
