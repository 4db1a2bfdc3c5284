//! The line events Terraform streams with `-json` (`plan`, `apply`, `destroy`), parsed.
//!
//! Terraform's "machine-readable UI" prints one JSON object per line, each with a `type`. This
//! module turns the types tests care about into [`Event`] variants and keeps everything else as
//! [`Event::Other`]: unknown types, known types whose shape changed, and even lines that are not
//! JSON, so a newer Terraform never makes a run unreadable. It does not run Terraform (see
//! `workdir`) and does not parse `validate -json` or `show -json`, which print one document.
//!
//! Verified against Terraform 1.0.3 and 1.11.4 (line types `version`, `diagnostic`,
//! `planned_change`, `change_summary`, `apply_start`, `apply_complete`, `refresh_start`,
//! `refresh_complete`, `outputs`).

use std::collections::BTreeMap;
use std::ops::Deref;

use serde::Deserialize;
use serde_json::Value;

use super::diagnostic::Diagnostic;

/// What Terraform does (or did) to a resource instance or output.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
pub enum Action {
    /// Nothing to do.
    Noop,
    /// Create it.
    Create,
    /// Read it (a data source read during apply).
    Read,
    /// Update it in place.
    Update,
    /// Destroy and re-create it.
    Replace,
    /// Destroy it.
    Delete,
    /// Move it to a new address (`moved` blocks).
    Move,
    /// Import it (`import` blocks).
    Import,
    /// Forget it without destroying it (`removed` blocks).
    Remove,
    /// An action this module does not know yet, kept verbatim.
    Other(String),
}

impl From<String> for Action {
    fn from(value: String) -> Self {
        match value.as_str() {
            "noop" => Self::Noop,
            "create" => Self::Create,
            "read" => Self::Read,
            "update" => Self::Update,
            "replace" => Self::Replace,
            "delete" => Self::Delete,
            "move" => Self::Move,
            "import" => Self::Import,
            "remove" => Self::Remove,
            _ => Self::Other(value),
        }
    }
}

/// Which command a [`ChangeSummary`] sums up.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
pub enum Operation {
    /// The plan (also printed by `apply` and `destroy` before they act).
    Plan,
    /// What `apply` did.
    Apply,
    /// What `destroy` did.
    Destroy,
    /// An operation this module does not know yet, kept verbatim.
    Other(String),
}

impl From<String> for Operation {
    fn from(value: String) -> Self {
        match value.as_str() {
            "plan" => Self::Plan,
            "apply" => Self::Apply,
            "destroy" => Self::Destroy,
            _ => Self::Other(value),
        }
    }
}

/// "Plan: 1 to add, 0 to change, 0 to destroy." as numbers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ChangeSummary {
    /// Resources to create (or created).
    pub add: u64,
    /// Resources to update in place (or updated).
    pub change: u64,
    /// Resources to destroy (or destroyed).
    pub remove: u64,
    /// Resources to import; 0 on releases that do not report it (before 1.5).
    #[serde(default)]
    pub import: u64,
    /// Which command this sums up.
    pub operation: Operation,
}

/// A resource instance and what happens to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceChange {
    /// The instance address, e.g. `quay_georep_site.us_east` or `module.a.quay_x.b["k"]`.
    pub address: String,
    /// What Terraform plans to do, or did.
    pub action: Action,
}

/// A resource instance whose change Terraform finished applying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedChange {
    /// The instance address and the action that completed.
    pub change: ResourceChange,
    /// The instance's id after the change; `None` after a delete.
    pub id_value: Option<String>,
}

/// One root-module output as reported in an `outputs` event.
///
/// After a plan, Terraform 1.11 reports only `action`; after an apply, `type` and `value`
/// (but no `value` for sensitive outputs). Terraform 1.0.3 prints `outputs` only after apply,
/// with sensitive values included.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OutputEvent {
    /// Whether the output is marked sensitive.
    #[serde(default)]
    pub sensitive: bool,
    /// The output's value, when reported.
    #[serde(default)]
    pub value: Option<Value>,
    /// The output's type in Terraform's JSON type notation, when reported.
    #[serde(default, rename = "type")]
    pub value_type: Option<Value>,
    /// The planned action, when reported.
    #[serde(default)]
    pub action: Option<Action>,
}

/// One line of Terraform's `-json` output.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The first line: which Terraform is running.
    Version {
        /// The Terraform version, e.g. `1.0.3`.
        terraform: String,
    },
    /// An error or warning.
    Diagnostic(Diagnostic),
    /// A resource instance the plan changes.
    PlannedChange(ResourceChange),
    /// The totals of a plan, apply or destroy.
    ChangeSummary(ChangeSummary),
    /// A resource instance whose change was applied.
    ApplyComplete(AppliedChange),
    /// The root module's outputs.
    Outputs(BTreeMap<String, OutputEvent>),
    /// Any other line: other event types, unexpected shapes, or non-JSON text (as a string).
    Other(Value),
}

/// The wire shape of `planned_change.change` and of `apply_complete.hook`.
#[derive(Deserialize)]
struct HookWire {
    resource: ResourceWire,
    action: Action,
    #[serde(default)]
    id_value: Option<String>,
}

#[derive(Deserialize)]
struct ResourceWire {
    addr: String,
}

impl HookWire {
    fn into_change(self) -> ResourceChange {
        ResourceChange {
            address: self.resource.addr,
            action: self.action,
        }
    }
}

impl Event {
    /// Parses one line of `-json` output; never fails (see [`Event::Other`]).
    #[must_use]
    pub fn parse_line(line: &str) -> Self {
        match serde_json::from_str::<Value>(line) {
            Ok(value) => Self::from_value(value),
            Err(_) => Self::Other(Value::String(line.to_owned())),
        }
    }

    fn from_value(value: Value) -> Self {
        let typed = match value.get("type").and_then(Value::as_str) {
            Some("version") => value
                .get("terraform")
                .and_then(Value::as_str)
                .map(|terraform| Self::Version {
                    terraform: terraform.to_owned(),
                }),
            Some("diagnostic") => field::<Diagnostic>(&value, "diagnostic").map(Self::Diagnostic),
            Some("planned_change") => field::<HookWire>(&value, "change")
                .map(|hook| Self::PlannedChange(hook.into_change())),
            Some("change_summary") => field(&value, "changes").map(Self::ChangeSummary),
            Some("apply_complete") => field::<HookWire>(&value, "hook").map(|hook| {
                let id_value = hook.id_value.clone();
                Self::ApplyComplete(AppliedChange {
                    change: hook.into_change(),
                    id_value,
                })
            }),
            Some("outputs") => field(&value, "outputs").map(Self::Outputs),
            _ => None,
        };
        typed.unwrap_or(Self::Other(value))
    }
}

/// Deserialises `value[name]`, or `None` when it is absent or has another shape.
fn field<T: for<'de> Deserialize<'de>>(value: &Value, name: &str) -> Option<T> {
    T::deserialize(value.get(name)?).ok()
}

/// All events of one command, in the order Terraform printed them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventLog(Vec<Event>);

impl EventLog {
    /// Parses Terraform's whole `-json` stdout, one event per non-empty line.
    #[must_use]
    pub fn parse(stdout: &str) -> Self {
        Self(
            stdout
                .lines()
                .filter(|line| !line.trim().is_empty())
                .map(Event::parse_line)
                .collect(),
        )
    }

    /// Every diagnostic, errors and warnings.
    pub fn diagnostics(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter_map(|event| match event {
            Event::Diagnostic(diagnostic) => Some(diagnostic),
            _ => None,
        })
    }

    /// The error diagnostics only.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics()
            .filter(|diagnostic| diagnostic.is_error())
    }

    /// The resource changes the plan announced.
    pub fn planned_changes(&self) -> impl Iterator<Item = &ResourceChange> {
        self.0.iter().filter_map(|event| match event {
            Event::PlannedChange(change) => Some(change),
            _ => None,
        })
    }

    /// The resource changes that were applied.
    pub fn applied_changes(&self) -> impl Iterator<Item = &AppliedChange> {
        self.0.iter().filter_map(|event| match event {
            Event::ApplyComplete(applied) => Some(applied),
            _ => None,
        })
    }

    /// The last change summary: the plan's for `plan`, the apply's or destroy's otherwise.
    #[must_use]
    pub fn change_summary(&self) -> Option<&ChangeSummary> {
        self.0.iter().rev().find_map(|event| match event {
            Event::ChangeSummary(summary) => Some(summary),
            _ => None,
        })
    }

    /// The last `outputs` event, when Terraform printed one.
    #[must_use]
    pub fn outputs(&self) -> Option<&BTreeMap<String, OutputEvent>> {
        self.0.iter().rev().find_map(|event| match event {
            Event::Outputs(outputs) => Some(outputs),
            _ => None,
        })
    }

    /// The Terraform version from the `version` event.
    #[must_use]
    pub fn terraform_version(&self) -> Option<&str> {
        self.0.iter().find_map(|event| match event {
            Event::Version { terraform } => Some(terraform.as_str()),
            _ => None,
        })
    }
}

impl Deref for EventLog {
    type Target = [Event];

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl From<Vec<Event>> for EventLog {
    fn from(events: Vec<Event>) -> Self {
        Self(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `terraform apply -auto-approve -json` on Terraform 1.11.4, lightly trimmed
    /// (`@timestamp` and the `resource` keys the parser ignores).
    const APPLY_1_11: &str = r#"
{"@level":"info","@message":"Terraform 1.11.4","@module":"terraform.ui","terraform":"1.11.4","type":"version","ui":"1.2"}
{"@level":"info","@message":"terraform_data.a: Plan to create","change":{"resource":{"addr":"terraform_data.a","module":"","resource":"terraform_data.a","resource_type":"terraform_data","resource_name":"a","resource_key":null},"action":"create"},"type":"planned_change"}
{"@level":"info","@message":"Plan: 1 to add, 0 to change, 0 to destroy.","changes":{"add":1,"change":0,"import":0,"remove":0,"operation":"plan"},"type":"change_summary"}
{"@level":"info","@message":"terraform_data.a: Creating...","hook":{"resource":{"addr":"terraform_data.a"},"action":"create"},"type":"apply_start"}
{"@level":"info","@message":"terraform_data.a: Creation complete after 0s [id=1203]","hook":{"resource":{"addr":"terraform_data.a"},"action":"create","id_key":"id","id_value":"1203","elapsed_seconds":0},"type":"apply_complete"}
{"@level":"info","@message":"Apply complete! Resources: 1 added, 0 changed, 0 destroyed.","changes":{"add":1,"change":0,"import":0,"remove":0,"operation":"apply"},"type":"change_summary"}
{"@level":"info","@message":"Outputs: 1","outputs":{"secret":{"sensitive":true,"type":"string"}},"type":"outputs"}
"#;

    /// `terraform plan -json` on Terraform 1.0.3 with a configuration error, verbatim but for
    /// `@timestamp`.
    const PLAN_ERROR_1_0: &str = r#"{"@level":"info","@message":"Terraform 1.0.3","@module":"terraform.ui","terraform":"1.0.3","type":"version","ui":"0.1.0"}
{"@level":"error","@message":"Error: Reference to undeclared input variable","@module":"terraform.ui","diagnostic":{"severity":"error","summary":"Reference to undeclared input variable","detail":"An input variable with the name \"missing\" has not been declared.","range":{"filename":"main.tf","start":{"line":2,"column":20,"byte":39},"end":{"line":2,"column":31,"byte":50}},"snippet":{"context":"output \"greeting\"","code":"  value = \"hello ${var.missing}\"","start_line":2,"highlight_start_offset":19,"highlight_end_offset":30,"values":[]}},"type":"diagnostic"}"#;

    #[test]
    fn parses_an_apply_into_plan_apply_and_output_events() {
        let log = EventLog::parse(APPLY_1_11);
        assert_eq!(log.len(), 7, "{log:#?}");
        assert_eq!(log.terraform_version(), Some("1.11.4"));
        assert_eq!(
            log.planned_changes().collect::<Vec<_>>(),
            [&ResourceChange {
                address: "terraform_data.a".to_owned(),
                action: Action::Create
            }]
        );
        let applied: Vec<_> = log.applied_changes().collect();
        assert_eq!(applied.len(), 1);
        assert_eq!(applied[0].id_value.as_deref(), Some("1203"));
        let summary = log.change_summary().unwrap();
        assert_eq!((summary.add, &summary.operation), (1, &Operation::Apply));
        let secret = &log.outputs().unwrap()["secret"];
        assert!(secret.sensitive);
        assert_eq!(secret.value, None);
        assert!(
            matches!(log[3], Event::Other(_)),
            "apply_start is kept as Other"
        );
    }

    #[test]
    fn parses_diagnostics_from_a_failed_plan() {
        let log = EventLog::parse(PLAN_ERROR_1_0);
        let errors: Vec<_> = log.errors().collect();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].summary, "Reference to undeclared input variable");
        assert_eq!(errors[0].highlighted(), Some("var.missing"));
        assert_eq!(log.change_summary(), None);
    }

    #[test]
    fn change_summary_without_import_count_defaults_to_zero() {
        let event = Event::parse_line(
            r#"{"changes":{"add":0,"change":0,"remove":2,"operation":"destroy"},"type":"change_summary"}"#,
        );
        let Event::ChangeSummary(summary) = event else {
            panic!("expected a change summary, got {event:?}");
        };
        assert_eq!((summary.remove, summary.import), (2, 0));
        assert_eq!(summary.operation, Operation::Destroy);
    }

    #[test]
    fn keeps_unknown_types_malformed_known_types_and_text_as_other() {
        let log = EventLog::parse(concat!(
            r#"{"type":"resource_drift","change":{}}"#,
            "\n",
            r#"{"type":"planned_change","change":{"action":"create"}}"#,
            "\n",
            "not json at all\n",
            "\n",
        ));
        assert_eq!(log.len(), 3);
        assert!(log.iter().all(|event| matches!(event, Event::Other(_))));
        assert_eq!(
            log[2],
            Event::Other(Value::String("not json at all".to_owned()))
        );
    }

    #[test]
    fn keeps_unknown_actions_verbatim() {
        let event = Event::parse_line(
            r#"{"type":"planned_change","change":{"resource":{"addr":"x.y"},"action":"teleport"}}"#,
        );
        assert_eq!(
            event,
            Event::PlannedChange(ResourceChange {
                address: "x.y".to_owned(),
                action: Action::Other("teleport".to_owned())
            })
        );
    }
}
