//! Typed results of Terraform commands: what a test asserts on.
//!
//! A Terraform command that *ran* and reported a problem (an invalid configuration, an apply
//! whose provider returned an error) yields an outcome here, with its diagnostics, because
//! negative tests need them; only failures to run Terraform at all are errors (see `error`).
//! Each outcome offers `require_success` for tests where any problem should fail the test.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::diagnostic::Diagnostic;
use super::error::Error;
use super::events::EventLog;

/// The result of `terraform validate -json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ValidateOutcome {
    /// Whether the configuration is valid (no error diagnostics).
    pub valid: bool,
    /// How many error diagnostics there are.
    pub error_count: usize,
    /// How many warning diagnostics there are.
    pub warning_count: usize,
    /// The diagnostics, errors and warnings.
    #[serde(default)]
    pub diagnostics: Vec<Diagnostic>,
}

impl ValidateOutcome {
    /// The error diagnostics only.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.is_error())
    }
}

/// How `terraform plan -detailed-exitcode` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanExit {
    /// Exit code 0: the plan is empty.
    NoChanges,
    /// Exit code 2: the plan changes something.
    Changes,
    /// Exit code 1: the plan failed; the events hold the diagnostics.
    Error,
}

impl PlanExit {
    /// The meaning of a `-detailed-exitcode` exit code; `None` for codes it never uses.
    #[must_use]
    pub fn from_exit_code(code: i32) -> Option<Self> {
        match code {
            0 => Some(Self::NoChanges),
            1 => Some(Self::Error),
            2 => Some(Self::Changes),
            _ => None,
        }
    }
}

/// The result of `terraform plan -json -detailed-exitcode`.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanOutcome {
    /// The command line, for messages.
    pub command: String,
    /// How the plan ended.
    pub exit: PlanExit,
    /// Everything Terraform reported.
    pub events: EventLog,
}

impl PlanOutcome {
    /// `Ok(self)` unless the plan failed.
    ///
    /// # Errors
    ///
    /// [`Error::Diagnostics`] with the plan's error diagnostics when it exited with code 1.
    pub fn require_success(self) -> Result<Self, Error> {
        if self.exit == PlanExit::Error {
            return Err(Error::Diagnostics {
                command: self.command,
                exit_code: 1,
                diagnostics: self.events.errors().cloned().collect(),
            });
        }
        Ok(self)
    }
}

/// The result of `terraform apply -json` or `terraform destroy -json`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyOutcome {
    /// The command line, for messages.
    pub command: String,
    /// The exit code: 0 on success, 1 when Terraform reported errors.
    pub exit_code: i32,
    /// Everything Terraform reported.
    pub events: EventLog,
}

impl ApplyOutcome {
    /// Whether the command succeeded.
    #[must_use]
    pub fn succeeded(&self) -> bool {
        self.exit_code == 0
    }

    /// `Ok(self)` when the command succeeded.
    ///
    /// # Errors
    ///
    /// [`Error::Diagnostics`] with the error diagnostics when it failed.
    pub fn require_success(self) -> Result<Self, Error> {
        if self.succeeded() {
            return Ok(self);
        }
        Err(Error::Diagnostics {
            command: self.command,
            exit_code: self.exit_code,
            diagnostics: self.events.errors().cloned().collect(),
        })
    }
}

/// One root-module output as `terraform output -json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OutputValue {
    /// Whether the output is marked sensitive (its value is printed anyway).
    #[serde(default)]
    pub sensitive: bool,
    /// The value.
    pub value: Value,
    /// The type in Terraform's JSON type notation, e.g. `"string"` or `["object", {...}]`.
    #[serde(default, rename = "type")]
    pub value_type: Value,
}

/// The root-module outputs by name, from `terraform output -json`.
pub type Outputs = BTreeMap<String, OutputValue>;

/// The state as `terraform show -json` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State(pub Value);

impl State {
    /// The attribute values of the resource instance at `address` (e.g. `quay_georep_site.a`
    /// or `module.m.quay_georep_site.a["k"]`), searching the root and all child modules.
    #[must_use]
    pub fn resource_values(&self, address: &str) -> Option<&Value> {
        find_resource(self.0.get("values")?.get("root_module")?, address)?.get("values")
    }

    /// The addresses of every resource instance (managed and data) in the state.
    #[must_use]
    pub fn resource_addresses(&self) -> Vec<&str> {
        let mut addresses = Vec::new();
        if let Some(root) = self
            .0
            .get("values")
            .and_then(|values| values.get("root_module"))
        {
            collect_addresses(root, &mut addresses);
        }
        addresses
    }
}

fn module_resources(module: &Value) -> impl Iterator<Item = &Value> {
    module
        .get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn child_modules(module: &Value) -> impl Iterator<Item = &Value> {
    module
        .get("child_modules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn find_resource<'a>(module: &'a Value, address: &str) -> Option<&'a Value> {
    module_resources(module)
        .find(|resource| resource.get("address").and_then(Value::as_str) == Some(address))
        .or_else(|| child_modules(module).find_map(|child| find_resource(child, address)))
}

fn collect_addresses<'a>(module: &'a Value, addresses: &mut Vec<&'a str>) {
    addresses
        .extend(module_resources(module).filter_map(|resource| resource.get("address")?.as_str()));
    for child in child_modules(module) {
        collect_addresses(child, addresses);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::terraform::events::Event;

    #[test]
    fn plan_exit_follows_detailed_exitcode() {
        assert_eq!(PlanExit::from_exit_code(0), Some(PlanExit::NoChanges));
        assert_eq!(PlanExit::from_exit_code(1), Some(PlanExit::Error));
        assert_eq!(PlanExit::from_exit_code(2), Some(PlanExit::Changes));
        assert_eq!(PlanExit::from_exit_code(3), None);
    }

    #[test]
    fn failed_apply_requires_success_with_its_error_summaries() {
        let outcome = ApplyOutcome {
            command: "terraform 1.0.3 apply".to_owned(),
            exit_code: 1,
            events: EventLog::parse(
                r#"{"type":"diagnostic","diagnostic":{"severity":"warning","summary":"W"}}
{"type":"diagnostic","diagnostic":{"severity":"error","summary":"Cluster unreachable"}}"#,
            ),
        };
        assert!(!outcome.succeeded());
        let message = outcome.require_success().unwrap_err().to_string();
        assert!(
            message.ends_with("reported: Cluster unreachable"),
            "{message}"
        );
    }

    #[test]
    fn failed_plan_requires_success_but_a_plan_with_changes_passes() {
        let with_changes = PlanOutcome {
            command: "plan".to_owned(),
            exit: PlanExit::Changes,
            events: EventLog::from(vec![Event::Other(json!({}))]),
        };
        assert!(with_changes.require_success().is_ok());
        let failed = PlanOutcome {
            command: "plan".to_owned(),
            exit: PlanExit::Error,
            events: EventLog::default(),
        };
        assert!(matches!(
            failed.require_success(),
            Err(Error::Diagnostics { .. })
        ));
    }

    #[test]
    fn validate_outcome_parses_terraform_output_and_lists_errors() {
        let outcome: ValidateOutcome = serde_json::from_str(
            r#"{"format_version":"1.0","valid":false,"error_count":1,"warning_count":1,
                "diagnostics":[{"severity":"warning","summary":"W"},
                               {"severity":"error","summary":"E"}]}"#,
        )
        .unwrap();
        let errors: Vec<_> = outcome.errors().map(|d| d.summary.as_str()).collect();
        assert_eq!(errors, ["E"]);
    }

    #[test]
    fn state_finds_resources_in_root_and_child_modules() {
        // The shape of `terraform show -json` (1.11.4), reduced to what the lookup reads.
        let state = State(json!({
            "format_version": "1.0",
            "values": {"root_module": {
                "resources": [{"address": "terraform_data.a", "values": {"input": "y"}}],
                "child_modules": [{"address": "module.m", "resources": [
                    {"address": "module.m.terraform_data.b", "values": {"input": "z"}}
                ]}]
            }}
        }));
        assert_eq!(
            state.resource_values("terraform_data.a"),
            Some(&json!({"input": "y"}))
        );
        assert_eq!(
            state.resource_values("module.m.terraform_data.b"),
            Some(&json!({"input": "z"}))
        );
        assert_eq!(state.resource_values("terraform_data.c"), None);
        assert_eq!(
            state.resource_addresses(),
            ["terraform_data.a", "module.m.terraform_data.b"]
        );
    }

    #[test]
    fn empty_state_has_no_resources() {
        // Terraform 1.0.3 `show -json` with no state at all.
        let state = State(json!({"format_version": "0.2", "terraform_version": "1.0.3"}));
        assert!(state.resource_addresses().is_empty());
    }
}
