//! Tests of the server core with small resources that keep or break Terraform's rules.

use std::sync::Arc;

use async_trait::async_trait;

use super::*;
use crate::tfvalue;
use crate::tfvalue::{Attribute, AttributePath, Block, Severity, Type};

#[derive(Clone, Copy, PartialEq)]
enum Behaviour {
    Honest,
    PlanChangesName,
    ApplyChangesName,
    ApplyLeavesUnknown,
    CreateReturnsNothing,
}

struct Thing(Behaviour);

fn thing_schema() -> Schema {
    Schema {
        version: 1,
        block: Block::new("a test resource")
            .attribute(Attribute::computed("id", Type::String))
            .attribute(Attribute::required("name", Type::String))
            .attribute(Attribute::optional_computed("size", Type::Number)),
    }
}

#[async_trait]
impl Resource<String> for Thing {
    fn type_name(&self) -> &'static str {
        "test_thing"
    }
    fn schema(&self) -> Schema {
        thing_schema()
    }
    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        if config.get("name").and_then(Value::as_str) == Some("") {
            diags.push(
                Diagnostic::error("Empty Name", "name must not be empty")
                    .with_attribute(AttributePath::root().attr("name")),
            );
        }
    }
    fn requires_replace(&self) -> Vec<AttributePath> {
        vec![AttributePath::root().attr("name")]
    }
    fn plan_destroy(&self, prior: &Value, diags: &mut Diagnostics) {
        if prior.get("name").and_then(Value::as_str) == Some("keep") {
            diags.push(Diagnostic::error("Protected", "keep is protected"));
        }
    }
    async fn modify_plan(&self, _: Option<&String>, req: PlanRequest<'_>, _: &mut Diagnostics) {
        if self.0 == Behaviour::PlanChangesName
            && let Value::Object(attrs) = req.planned
        {
            attrs.insert("name".into(), Value::string("renamed-by-provider"));
        }
    }
    async fn create(
        &self,
        data: &String,
        planned: &Value,
        _: &Value,
        _: &StopToken,
        _: &mut Diagnostics,
    ) -> Option<Value> {
        if self.0 == Behaviour::CreateReturnsNothing {
            return None;
        }
        let mut state = planned.clone();
        if let Value::Object(attrs) = &mut state {
            attrs.insert("id".into(), Value::string(format!("{data}/1")));
            if attrs.get("size").is_some_and(Value::is_unknown) {
                attrs.insert("size".into(), Value::Number(1.into()));
            }
            match self.0 {
                Behaviour::ApplyChangesName => {
                    attrs.insert("name".into(), Value::string("changed-by-apply"));
                }
                Behaviour::ApplyLeavesUnknown => {
                    attrs.insert("id".into(), Value::Unknown);
                }
                _ => {}
            }
        }
        Some(state)
    }
    async fn read(
        &self,
        _: &String,
        state: &Value,
        _: &StopToken,
        _: &mut Diagnostics,
    ) -> Option<Value> {
        if state.get("name").and_then(Value::as_str) == Some("gone") {
            return Some(Value::Null);
        }
        Some(state.clone())
    }
    async fn update(
        &self,
        _: &String,
        _: &Value,
        planned: &Value,
        _: &Value,
        _: &StopToken,
        _: &mut Diagnostics,
    ) -> Option<Value> {
        Some(planned.clone())
    }
    async fn delete(&self, _: &String, _: &Value, _: &StopToken, _: &mut Diagnostics) {}
}

struct Echo {
    tamper: bool,
}

#[async_trait]
impl DataSource<String> for Echo {
    fn type_name(&self) -> &'static str {
        "test_echo"
    }
    fn schema(&self) -> Schema {
        Schema {
            version: 0,
            block: Block::new("echo")
                .attribute(Attribute::required("input", Type::String))
                .attribute(Attribute::computed("output", Type::String)),
        }
    }
    async fn read(
        &self,
        _: Option<&String>,
        config: &Value,
        _: &StopToken,
        _: &mut Diagnostics,
    ) -> Option<Value> {
        let input = config
            .get("input")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let echoed = if self.tamper {
            format!("{input}!")
        } else {
            input.clone()
        };
        Some(Value::object([
            ("input", Value::string(echoed)),
            ("output", Value::string(input)),
        ]))
    }
}

struct TestProvider {
    behaviour: Behaviour,
    tamper: bool,
}

#[async_trait]
impl Provider for TestProvider {
    type Data = String;
    fn schema(&self) -> Schema {
        Schema {
            version: 0,
            block: Block::new("provider").attribute(Attribute::optional("prefix", Type::String)),
        }
    }
    fn validate(&self, _: &Value, _: &mut Diagnostics) {}
    async fn configure(&self, config: &Value, _: &mut Diagnostics) -> Option<String> {
        Some(
            config
                .get("prefix")
                .and_then(Value::as_str)
                .unwrap_or("p")
                .to_owned(),
        )
    }
    fn resources(&self) -> Vec<Arc<dyn Resource<String>>> {
        vec![Arc::new(Thing(self.behaviour))]
    }
    fn data_sources(&self) -> Vec<Arc<dyn DataSource<String>>> {
        vec![Arc::new(Echo {
            tamper: self.tamper,
        })]
    }
}

fn server(behaviour: Behaviour) -> ProviderServer<TestProvider> {
    ProviderServer::new(TestProvider {
        behaviour,
        tamper: false,
    })
}

fn dv(ty: &Type, value: &Value) -> DynamicValue {
    DynamicValue::msgpack(tfvalue::msgpack::encode(ty, value).unwrap())
}

fn thing(id: Value, name: &str, size: Value) -> Value {
    Value::object([("id", id), ("name", Value::string(name)), ("size", size)])
}

fn decoded(value: &Option<DynamicValue>, ty: &Type) -> Value {
    let value = value.as_ref().expect("a value");
    tfvalue::decode_dynamic(ty, &value.msgpack, &value.json).unwrap()
}

async fn configured(behaviour: Behaviour) -> ProviderServer<TestProvider> {
    let server = server(behaviour);
    let ty = server.get_schema().provider.value_type();
    let config = Value::object([("prefix", Value::string("site"))]);
    assert!(
        server
            .configure("1.0.3", &dv(&ty, &config))
            .await
            .is_empty()
    );
    server
}

fn errors(diags: &Diagnostics) -> Vec<String> {
    diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("{}: {}", d.attribute.clone().unwrap_or_default(), d.detail))
        .collect()
}

#[test]
fn schema_lists_every_type_and_has_no_definition_errors() {
    let schema = server(Behaviour::Honest).get_schema();
    assert!(schema.diagnostics.is_empty());
    assert_eq!(schema.resources.keys().collect::<Vec<_>>(), ["test_thing"]);
    assert_eq!(
        schema.data_sources.keys().collect::<Vec<_>>(),
        ["test_echo"]
    );
}

#[test]
fn validation_errors_carry_the_attribute_path() {
    let s = server(Behaviour::Honest);
    let ty = thing_schema().value_type();
    let diags = s.validate_resource_config(
        "test_thing",
        &dv(&ty, &thing(Value::Null, "", Value::Null)),
        ClientCapabilities::default(),
    );
    assert_eq!(errors(&diags), ["name: name must not be empty"]);
}

#[test]
fn unknown_type_names_are_reported_with_the_known_ones() {
    let diags = server(Behaviour::Honest).validate_resource_config(
        "nope",
        &DynamicValue::default(),
        ClientCapabilities::default(),
    );
    assert!(errors(&diags)[0].contains("test_thing"), "{diags:?}");
}

#[test]
fn undecodable_values_become_diagnostics() {
    let garbage = DynamicValue::msgpack(vec![0x81, 0xa1]);
    let diags = server(Behaviour::Honest).validate_resource_config(
        "test_thing",
        &garbage,
        ClientCapabilities::default(),
    );
    assert!(diags.has_errors());
}

#[tokio::test]
async fn plan_on_create_leaves_computed_values_unknown() {
    let s = configured(Behaviour::Honest).await;
    let ty = thing_schema().value_type();
    let config = thing(Value::Null, "a", Value::Null);
    let plan = s
        .plan_resource_change(
            "test_thing",
            &dv(&ty, &Value::Null),
            &dv(&ty, &config),
            &dv(&ty, &config),
            vec![],
        )
        .await;
    assert!(plan.diagnostics.is_empty(), "{:?}", plan.diagnostics);
    assert_eq!(
        decoded(&plan.planned_state, &ty),
        thing(Value::Unknown, "a", Value::Unknown)
    );
}

#[tokio::test]
async fn framework_catches_a_plan_that_changes_configuration() {
    let s = configured(Behaviour::PlanChangesName).await;
    let ty = thing_schema().value_type();
    let config = thing(Value::Null, "a", Value::Null);
    let plan = s
        .plan_resource_change(
            "test_thing",
            &dv(&ty, &Value::Null),
            &dv(&ty, &config),
            &dv(&ty, &config),
            vec![],
        )
        .await;
    let errs = errors(&plan.diagnostics);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("name:") && errs[0].contains("renamed-by-provider"),
        "{errs:?}"
    );
    assert!(plan.planned_state.is_none());
}

#[tokio::test]
async fn a_destroy_plan_asks_the_resource_and_carries_its_refusal() {
    let s = configured(Behaviour::Honest).await;
    let ty = thing_schema().value_type();
    let destroy = |name: &str| thing(Value::string("site/1"), name, Value::Number(1.into()));
    let null = dv(&ty, &Value::Null);
    let allowed = s
        .plan_resource_change("test_thing", &dv(&ty, &destroy("a")), &null, &null, vec![])
        .await;
    assert!(allowed.diagnostics.is_empty(), "{:?}", allowed.diagnostics);
    assert_eq!(decoded(&allowed.planned_state, &ty), Value::Null);
    let refused = s
        .plan_resource_change(
            "test_thing",
            &dv(&ty, &destroy("keep")),
            &null,
            &null,
            vec![],
        )
        .await;
    assert_eq!(
        errors(&refused.diagnostics).len(),
        1,
        "{:?}",
        refused.diagnostics
    );
}

#[tokio::test]
async fn requires_replace_lists_only_changed_paths() {
    let s = configured(Behaviour::Honest).await;
    let ty = thing_schema().value_type();
    let prior = thing(Value::string("site/1"), "a", Value::Number(1.into()));
    let same = thing(Value::Null, "a", Value::Null);
    let proposed_same = thing(Value::string("site/1"), "a", Value::Number(1.into()));
    let plan = s
        .plan_resource_change(
            "test_thing",
            &dv(&ty, &prior),
            &dv(&ty, &proposed_same),
            &dv(&ty, &same),
            vec![],
        )
        .await;
    assert!(plan.requires_replace.is_empty());
    let renamed = thing(Value::Null, "b", Value::Null);
    let proposed_renamed = thing(Value::string("site/1"), "b", Value::Number(1.into()));
    let plan = s
        .plan_resource_change(
            "test_thing",
            &dv(&ty, &prior),
            &dv(&ty, &proposed_renamed),
            &dv(&ty, &renamed),
            vec![],
        )
        .await;
    assert_eq!(
        plan.requires_replace,
        vec![AttributePath::root().attr("name")]
    );
}

#[tokio::test]
async fn apply_create_returns_the_full_state() {
    let s = configured(Behaviour::Honest).await;
    let ty = thing_schema().value_type();
    let planned = thing(Value::Unknown, "a", Value::Unknown);
    let config = thing(Value::Null, "a", Value::Null);
    let applied = s
        .apply_resource_change(
            "test_thing",
            &dv(&ty, &Value::Null),
            &dv(&ty, &planned),
            &dv(&ty, &config),
            b"p".to_vec(),
        )
        .await;
    assert!(applied.diagnostics.is_empty(), "{:?}", applied.diagnostics);
    assert_eq!(
        decoded(&applied.new_state, &ty),
        thing(Value::string("site/1"), "a", Value::Number(1.into()))
    );
    assert_eq!(applied.private, b"p");
}

#[tokio::test]
async fn framework_catches_an_apply_that_changes_a_planned_value() {
    let s = configured(Behaviour::ApplyChangesName).await;
    let ty = thing_schema().value_type();
    let planned = thing(Value::Unknown, "a", Value::Unknown);
    let config = thing(Value::Null, "a", Value::Null);
    let applied = s
        .apply_resource_change(
            "test_thing",
            &dv(&ty, &Value::Null),
            &dv(&ty, &planned),
            &dv(&ty, &config),
            vec![],
        )
        .await;
    let errs = errors(&applied.diagnostics);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("name:") && errs[0].contains("changed-by-apply"),
        "{errs:?}"
    );
}

#[tokio::test]
async fn framework_catches_an_apply_that_leaves_unknowns() {
    let s = configured(Behaviour::ApplyLeavesUnknown).await;
    let ty = thing_schema().value_type();
    let planned = thing(Value::Unknown, "a", Value::Unknown);
    let config = thing(Value::Null, "a", Value::Null);
    let applied = s
        .apply_resource_change(
            "test_thing",
            &dv(&ty, &Value::Null),
            &dv(&ty, &planned),
            &dv(&ty, &config),
            vec![],
        )
        .await;
    let errs = errors(&applied.diagnostics);
    assert!(errs.iter().any(|e| e.starts_with("id:")), "{errs:?}");
    // What goes back to Terraform is still a valid, wholly known value (null on create).
    assert_eq!(decoded(&applied.new_state, &ty), Value::Null);
}

#[tokio::test]
async fn framework_reports_a_create_without_state_or_error_as_a_provider_bug() {
    let s = configured(Behaviour::CreateReturnsNothing).await;
    let ty = thing_schema().value_type();
    let planned = thing(Value::Unknown, "a", Value::Unknown);
    let config = thing(Value::Null, "a", Value::Null);
    let applied = s
        .apply_resource_change(
            "test_thing",
            &dv(&ty, &Value::Null),
            &dv(&ty, &planned),
            &dv(&ty, &config),
            vec![],
        )
        .await;
    let bugs: Vec<&Diagnostic> = applied
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error && d.summary == "Provider Bug")
        .collect();
    assert_eq!(bugs.len(), 1, "{:?}", applied.diagnostics);
    assert!(bugs[0].detail.contains("test_thing"), "{bugs:?}");
    // Nothing was created, so Terraform records nothing.
    assert_eq!(decoded(&applied.new_state, &ty), Value::Null);
}

#[tokio::test]
async fn apply_delete_returns_null() {
    let s = configured(Behaviour::Honest).await;
    let ty = thing_schema().value_type();
    let prior = thing(Value::string("site/1"), "a", Value::Number(1.into()));
    let applied = s
        .apply_resource_change(
            "test_thing",
            &dv(&ty, &prior),
            &dv(&ty, &Value::Null),
            &dv(&ty, &Value::Null),
            vec![],
        )
        .await;
    assert!(applied.diagnostics.is_empty());
    assert_eq!(decoded(&applied.new_state, &ty), Value::Null);
}

#[tokio::test]
async fn apply_without_configure_is_refused_and_keeps_prior_state() {
    let s = server(Behaviour::Honest);
    let ty = thing_schema().value_type();
    let prior = thing(Value::string("site/1"), "a", Value::Number(1.into()));
    let applied = s
        .apply_resource_change(
            "test_thing",
            &dv(&ty, &prior),
            &dv(&ty, &Value::Null),
            &dv(&ty, &Value::Null),
            vec![],
        )
        .await;
    assert!(errors(&applied.diagnostics)[0].contains("provider configuration"));
    assert_eq!(decoded(&applied.new_state, &ty), prior);
}

#[tokio::test]
async fn read_of_a_vanished_object_returns_null() {
    let s = configured(Behaviour::Honest).await;
    let ty = thing_schema().value_type();
    let state = thing(Value::string("site/1"), "gone", Value::Number(1.into()));
    let read = s
        .read_resource("test_thing", &dv(&ty, &state), vec![])
        .await;
    assert!(read.diagnostics.is_empty());
    assert_eq!(decoded(&read.new_state, &ty), Value::Null);
}

#[test]
fn upgrade_state_fills_new_attributes_and_drops_removed_ones() {
    let s = server(Behaviour::Honest);
    let ty = thing_schema().value_type();
    let raw = br#"{"id":"x","name":"a","removed_long_ago":true}"#;
    let (state, diags) = s.upgrade_resource_state("test_thing", 1, raw, false);
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(
        decoded(&state, &ty),
        thing(Value::string("x"), "a", Value::Null)
    );
}

#[test]
fn upgrade_state_from_a_newer_provider_is_refused() {
    let (_, diags) =
        server(Behaviour::Honest).upgrade_resource_state("test_thing", 7, b"{}", false);
    assert!(errors(&diags)[0].contains("version 7"));
}

#[test]
fn upgrade_state_from_an_older_version_asks_the_resource() {
    let (_, diags) =
        server(Behaviour::Honest).upgrade_resource_state("test_thing", 0, b"{}", false);
    assert!(errors(&diags)[0].contains("schema version 0"), "{diags:?}");
}

#[tokio::test]
async fn data_source_result_is_checked_against_its_arguments() {
    let honest = ProviderServer::new(TestProvider {
        behaviour: Behaviour::Honest,
        tamper: false,
    });
    let tampering = ProviderServer::new(TestProvider {
        behaviour: Behaviour::Honest,
        tamper: true,
    });
    let ty = honest.get_schema().data_sources["test_echo"].value_type();
    let config = Value::object([("input", Value::string("hi")), ("output", Value::Null)]);
    let (state, diags) = honest
        .read_data_source("test_echo", &dv(&ty, &config))
        .await;
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(
        decoded(&state, &ty).get("output"),
        Some(&Value::string("hi"))
    );
    let (state, diags) = tampering
        .read_data_source("test_echo", &dv(&ty, &config))
        .await;
    assert!(state.is_none());
    assert!(errors(&diags)[0].starts_with("input:"), "{diags:?}");
}

#[tokio::test]
async fn stop_trips_the_token_operations_watch() {
    let s = server(Behaviour::Honest);
    let token = s.stop_token();
    assert!(!token.is_stopped());
    s.stop();
    token.stopped().await;
    assert!(token.is_stopped());
}

#[tokio::test]
async fn import_is_refused_by_default_with_a_clear_message() {
    let s = configured(Behaviour::Honest).await;
    let (imported, diags) = s.import_resource_state("test_thing", "x").await;
    assert!(imported.is_empty());
    assert!(errors(&diags)[0].contains("cannot be imported"));
}
