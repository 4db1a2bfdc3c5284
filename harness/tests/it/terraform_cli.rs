//! The Terraform driver against the real binaries under test (pinned 1.0.3 and the one on
//! `PATH`), with configurations that need no provider, so these run before the provider works.

use georep_harness::terraform::{
    DevOverride, PINNED_VERSION, PlanExit, Severity, TerraformBinary, Workdir, binaries_under_test,
};
use serde_json::json;

/// Runs `check` once per Terraform binary under test, naming the binary when it panics.
fn for_each_terraform(check: impl Fn(&TerraformBinary)) {
    let binaries = binaries_under_test().unwrap_or_else(|error| panic!("{error}"));
    for binary in &binaries {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(binary)));
        if let Err(panic) = outcome {
            eprintln!("failed with {binary}");
            std::panic::resume_unwind(panic);
        }
    }
}

const OUTPUTS_ONLY: &str = r#"
variable "name" {
  type    = string
  default = "quay"
}

output "greeting" {
  value = "hello ${var.name}"
}

output "secret" {
  value     = "s3cr3t"
  sensitive = true
}
"#;

#[test]
fn pinned_terraform_comes_first_and_every_binary_is_a_different_version() {
    let binaries = binaries_under_test().unwrap();
    assert_eq!(binaries[0].version, PINNED_VERSION, "{}", binaries[0]);
    let mut versions: Vec<_> = binaries.iter().map(|binary| &binary.version).collect();
    versions.dedup();
    assert_eq!(versions.len(), binaries.len(), "{binaries:?}");
}

#[test]
fn version_command_runs_in_a_workdir() {
    for_each_terraform(|terraform| {
        let workdir = Workdir::new(terraform, "version_command", &[]).unwrap();
        let output = workdir.run(["version"]).unwrap().require_success().unwrap();
        let expected = format!("Terraform v{}", terraform.version);
        assert!(output.stdout.starts_with(&expected), "{}", output.stdout);
    });
}

#[test]
fn validate_accepts_a_configuration_without_providers() {
    for_each_terraform(|terraform| {
        let workdir = Workdir::new(terraform, "validate_ok", &[]).unwrap();
        workdir.write_main_tf(OUTPUTS_ONLY).unwrap();
        let outcome = workdir.validate().unwrap();
        assert!(outcome.valid, "{outcome:?}");
        assert_eq!((outcome.error_count, outcome.warning_count), (0, 0));
    });
}

#[test]
fn validate_points_at_the_undeclared_variable() {
    for_each_terraform(|terraform| {
        let workdir = Workdir::new(terraform, "validate_bad", &[]).unwrap();
        workdir
            .write_main_tf("output \"greeting\" {\n  value = \"hello ${var.missing}\"\n}\n")
            .unwrap();
        let outcome = workdir.validate().unwrap();
        assert!(!outcome.valid);
        let errors: Vec<_> = outcome.errors().collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].summary, "Reference to undeclared input variable");
        assert_eq!(errors[0].highlighted(), Some("var.missing"));
        assert_eq!(errors[0].range.as_ref().unwrap().start.line, 2);
    });
}

#[test]
fn commands_use_our_cli_config_even_when_the_environment_names_a_missing_one() {
    for_each_terraform(|terraform| {
        // Our machines export TF_CLI_CONFIG_FILE naming a missing file, which Terraform
        // warns about on stderr unless the workdir's own config replaces it.
        let workdir = Workdir::new(terraform, "cli_config", &[]).unwrap();
        workdir.write_main_tf(OUTPUTS_ONLY).unwrap();
        let output = workdir.run(["validate", "-no-color"]).unwrap();
        assert!(output.succeeded(), "{output:?}");
        assert!(
            !output.stderr.contains("CLI configuration"),
            "Terraform complained about its CLI config: {}",
            output.stderr
        );
    });
}

#[test]
fn dev_overrides_from_the_cli_config_are_in_effect() {
    for_each_terraform(|terraform| {
        let provider_dir = tempfile::tempdir().unwrap();
        let workdir = Workdir::new(
            terraform,
            "dev_overrides",
            &[DevOverride::quay(provider_dir.path())],
        )
        .unwrap();
        workdir.write_main_tf(OUTPUTS_ONLY).unwrap();
        let plan = workdir.plan().unwrap();
        let warnings: Vec<_> = plan
            .events
            .diagnostics()
            .filter(|diagnostic| diagnostic.severity == Severity::Warning)
            .map(|diagnostic| diagnostic.summary.as_str())
            .collect();
        assert!(
            warnings.contains(&"Provider development overrides are in effect"),
            "{warnings:?}"
        );
    });
}

#[test]
fn apply_then_plan_is_empty_and_outputs_and_state_are_readable() {
    for_each_terraform(|terraform| {
        let workdir = Workdir::new(terraform, "apply_outputs", &[]).unwrap();
        workdir.write_main_tf(OUTPUTS_ONLY).unwrap();

        let first = workdir.plan().unwrap().require_success().unwrap();
        assert_eq!(first.exit, PlanExit::Changes, "new outputs are a change");

        let applied = workdir.apply().unwrap().require_success().unwrap();
        assert_eq!(
            applied.events.terraform_version(),
            Some(&*terraform.version.to_string())
        );
        let outputs = workdir.output_json().unwrap();
        assert_eq!(outputs["greeting"].value, json!("hello quay"));
        assert!(outputs["secret"].sensitive);
        assert_eq!(outputs["secret"].value, json!("s3cr3t"));
        let state = workdir.show_json().unwrap();
        assert_eq!(
            state.0["values"]["outputs"]["greeting"]["value"],
            json!("hello quay")
        );

        let second = workdir.plan().unwrap();
        assert_eq!(second.exit, PlanExit::NoChanges, "{:?}", second.events);

        let destroyed = workdir.destroy().unwrap().require_success().unwrap();
        let summary = destroyed.events.change_summary().unwrap();
        assert_eq!(summary.remove, 0);
    });
}

#[test]
fn failed_plan_reports_the_error_with_its_location() {
    for_each_terraform(|terraform| {
        let workdir = Workdir::new(terraform, "plan_error", &[]).unwrap();
        workdir
            .write_main_tf("output \"port\" {\n  value = 1 + \"eighty\"\n}\n")
            .unwrap();
        let plan = workdir.plan().unwrap();
        assert_eq!(plan.exit, PlanExit::Error);
        let errors: Vec<_> = plan.events.errors().collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].highlighted().unwrap().contains("\"eighty\""),
            "{errors:?}"
        );
        let message = plan.require_success().unwrap_err().to_string();
        assert!(message.contains("reported: Invalid operand"), "{message}");
    });
}
