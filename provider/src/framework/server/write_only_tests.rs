//! Tests of the protocol 5.7 and 5.8 handling: write-only attributes kept out of every plan
//! and state and refused from a Terraform without the capability, and ephemeral resources
//! opened, checked and closed.

use std::sync::Arc;

use async_trait::async_trait;

use super::*;
use crate::tfvalue;
use crate::tfvalue::{Attribute, AttributePath, Block, Type};

/// A resource with a stored secret, its write-only twin and a hash computed from either.
/// `leak` makes create copy the write-only value into its result, as a buggy resource might.
struct Vault {
    leak: bool,
}

fn vault_schema() -> Schema {
    Schema {
        version: 0,
        block: Block::new("a test resource with a write-only secret")
            .attribute(Attribute::computed("id", Type::String))
            .attribute(Attribute::optional("password", Type::String).sensitive())
            .attribute(
                Attribute::optional("password_wo", Type::String)
                    .sensitive()
                    .write_only(),
            )
            .attribute(Attribute::computed("password_hash", Type::String)),
    }
}

/// A stand-in hash: what the resource derives from the secret and may store.
fn hash_of(config: &Value) -> Value {
    let secret = config
        .get("password_wo")
        .or_else(|| config.get("password"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    Value::string(format!("len:{}", secret.len()))
}

#[async_trait]
impl Resource<String> for Vault {
    fn type_name(&self) -> &'static str {
        "test_vault"
    }
    fn schema(&self) -> Schema {
        vault_schema()
    }
    async fn modify_plan(&self, _: Option<&String>, req: PlanRequest<'_>, _: &mut Diagnostics) {
        if let Value::Object(attrs) = req.planned {
            attrs.insert("password_hash".into(), hash_of(req.config));
        }
    }
    async fn create(
        &self,
        _: &String,
        planned: &Value,
        config: &Value,
        _: &StopToken,
        _: &mut Diagnostics,
    ) -> Option<Value> {
        let mut state = planned.clone();
        if let Value::Object(attrs) = &mut state {
            attrs.insert("id".into(), Value::string("v1"));
            attrs.insert("password_hash".into(), hash_of(config));
            if self.leak {
                let secret = config.get("password_wo").cloned().unwrap_or(Value::Null);
                attrs.insert("password_wo".into(), secret);
            }
        }
        Some(state)
    }
    async fn read(
        &self,
        _: &String,
        s: &Value,
        _: &StopToken,
        _: &mut Diagnostics,
    ) -> Option<Value> {
        let mut state = s.clone();
        if self.leak
            && let Value::Object(attrs) = &mut state
        {
            attrs.insert("password_wo".into(), Value::string("read-back-secret"));
        }
        Some(state)
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

/// An ephemeral resource that issues a token for a name. `tamper` changes the name in its
/// result, breaking the rule that arguments come back as configured.
struct Token {
    tamper: bool,
}

fn token_schema() -> Schema {
    Schema {
        version: 0,
        block: Block::new("a test ephemeral resource")
            .attribute(Attribute::required("name", Type::String))
            .attribute(Attribute::computed("token", Type::String).sensitive()),
    }
}

#[async_trait]
impl EphemeralResource<String> for Token {
    fn type_name(&self) -> &'static str {
        "test_token"
    }
    fn schema(&self) -> Schema {
        token_schema()
    }
    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        if config.get("name").and_then(Value::as_str) == Some("") {
            diags.push(
                Diagnostic::error("Empty Name", "name must not be empty")
                    .with_attribute(AttributePath::root().attr("name")),
            );
        }
    }
    async fn open(
        &self,
        data: Option<&String>,
        config: &Value,
        _: &StopToken,
        _: &mut Diagnostics,
    ) -> Option<Value> {
        let name = config
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let shown = if self.tamper { "someone-else" } else { name };
        Some(Value::object([
            ("name", Value::string(shown)),
            (
                "token",
                Value::string(format!(
                    "{}:{name}",
                    data.map_or("unconfigured", String::as_str)
                )),
            ),
        ]))
    }
}

struct WoProvider {
    leak: bool,
    tamper: bool,
}

#[async_trait]
impl Provider for WoProvider {
    type Data = String;
    fn schema(&self) -> Schema {
        Schema {
            version: 0,
            block: Block::new("provider"),
        }
    }
    fn validate(&self, _: &Value, _: &mut Diagnostics) {}
    async fn configure(&self, _: &Value, _: &mut Diagnostics) -> Option<String> {
        Some("p".to_owned())
    }
    fn resources(&self) -> Vec<Arc<dyn Resource<String>>> {
        vec![Arc::new(Vault { leak: self.leak })]
    }
    fn data_sources(&self) -> Vec<Arc<dyn DataSource<String>>> {
        Vec::new()
    }
    fn ephemeral_resources(&self) -> Vec<Arc<dyn EphemeralResource<String>>> {
        vec![Arc::new(Token {
            tamper: self.tamper,
        })]
    }
}

async fn configured(leak: bool, tamper: bool) -> ProviderServer<WoProvider> {
    let server = ProviderServer::new(WoProvider { leak, tamper });
    let ty = server.get_schema().provider.value_type();
    assert!(
        server
            .configure(
                "1.11.4",
                &dv(&ty, &Value::Object(std::collections::BTreeMap::new()))
            )
            .await
            .is_empty()
    );
    server
}

fn dv(ty: &Type, value: &Value) -> DynamicValue {
    DynamicValue::msgpack(tfvalue::msgpack::encode(ty, value).unwrap())
}

fn decoded(value: &Option<DynamicValue>, ty: &Type) -> Value {
    let value = value.as_ref().expect("a value");
    tfvalue::decode_dynamic(ty, &value.msgpack, &value.json).unwrap()
}

fn vault(id: Value, password_wo: Value, hash: Value) -> Value {
    Value::object([
        ("id", id),
        ("password", Value::Null),
        ("password_wo", password_wo),
        ("password_hash", hash),
    ])
}

const WRITE_ONLY: ClientCapabilities = ClientCapabilities {
    write_only_attributes_allowed: true,
};

#[tokio::test]
async fn a_terraform_without_write_only_support_gets_an_error_at_the_attribute() {
    let s = configured(false, false).await;
    let ty = vault_schema().value_type();
    for value in [Value::string("hunter2"), Value::Unknown] {
        let config = vault(Value::Null, value, Value::Null);
        let diags = s.validate_resource_config(
            "test_vault",
            &dv(&ty, &config),
            ClientCapabilities::default(),
        );
        let errors: Vec<_> = diags.iter().collect();
        assert_eq!(errors.len(), 1, "{diags:?}");
        let error = errors[0];
        assert_eq!(error.summary, "Write-Only Attribute Not Supported");
        assert_eq!(
            error.attribute.as_ref().map(ToString::to_string).as_deref(),
            Some("password_wo")
        );
        assert!(
            error.detail.contains("Terraform 1.11")
                && error.detail.contains("set password instead"),
            "{}",
            error.detail
        );
        assert!(!error.detail.contains("hunter2"), "{}", error.detail);
    }
}

#[tokio::test]
async fn write_only_values_are_accepted_with_the_capability_or_when_unset() {
    let s = configured(false, false).await;
    let ty = vault_schema().value_type();
    let set = vault(Value::Null, Value::string("hunter2"), Value::Null);
    let diags = s.validate_resource_config("test_vault", &dv(&ty, &set), WRITE_ONLY);
    assert!(diags.is_empty(), "{diags:?}");
    let unset = vault(Value::Null, Value::Null, Value::Null);
    let diags = s.validate_resource_config(
        "test_vault",
        &dv(&ty, &unset),
        ClientCapabilities::default(),
    );
    assert!(diags.is_empty(), "{diags:?}");
}

#[tokio::test]
async fn the_plan_holds_null_for_a_write_only_value_the_resource_saw_in_config() {
    let s = configured(false, false).await;
    let ty = vault_schema().value_type();
    let config = vault(Value::Null, Value::string("hunter2"), Value::Null);
    let plan = s
        .plan_resource_change(
            "test_vault",
            &dv(&ty, &Value::Null),
            &dv(&ty, &config),
            &dv(&ty, &config),
            vec![],
        )
        .await;
    assert!(plan.diagnostics.is_empty(), "{:?}", plan.diagnostics);
    assert_eq!(
        decoded(&plan.planned_state, &ty),
        vault(Value::Unknown, Value::Null, Value::string("len:7"))
    );
}

#[tokio::test]
async fn apply_read_and_import_never_return_a_write_only_value() {
    let s = configured(true, false).await;
    let ty = vault_schema().value_type();
    let config = vault(Value::Null, Value::string("hunter2"), Value::Null);
    let planned = vault(Value::Unknown, Value::Null, Value::string("len:7"));
    let applied = s
        .apply_resource_change(
            "test_vault",
            &dv(&ty, &Value::Null),
            &dv(&ty, &planned),
            &dv(&ty, &config),
            vec![],
        )
        .await;
    assert!(applied.diagnostics.is_empty(), "{:?}", applied.diagnostics);
    let state = decoded(&applied.new_state, &ty);
    assert_eq!(
        state,
        vault(Value::string("v1"), Value::Null, Value::string("len:7"))
    );
    let read = s
        .read_resource("test_vault", &dv(&ty, &state), vec![])
        .await;
    assert!(read.diagnostics.is_empty(), "{:?}", read.diagnostics);
    assert_eq!(decoded(&read.new_state, &ty), state);
}

#[test]
fn write_only_attributes_outside_resources_are_schema_bugs() {
    let mut schema = token_schema();
    schema
        .block
        .attributes
        .push(Attribute::optional("secret", Type::String).write_only());
    assert!(schema.check_definition().is_ok(), "valid as a block");
    assert!(schema.block.has_write_only());
    let computed = Schema {
        version: 0,
        block: Block::new("b").attribute(Attribute::computed("x", Type::String).write_only()),
    };
    assert!(computed.check_definition().is_err());
}

#[tokio::test]
async fn ephemeral_schemas_are_listed_and_valid() {
    let s = configured(false, false).await;
    let schema = s.get_schema();
    assert!(schema.diagnostics.is_empty(), "{:?}", schema.diagnostics);
    assert_eq!(
        schema.ephemeral_resources.keys().collect::<Vec<_>>(),
        ["test_token"]
    );
}

#[tokio::test]
async fn an_ephemeral_resource_opens_with_its_value() {
    let s = configured(false, false).await;
    let ty = token_schema().value_type();
    let config = Value::object([("name", Value::string("ci")), ("token", Value::Null)]);
    let validated = s.validate_ephemeral_resource_config("test_token", &dv(&ty, &config));
    assert!(validated.is_empty(), "{validated:?}");
    let opened = s
        .open_ephemeral_resource("test_token", &dv(&ty, &config))
        .await;
    assert!(opened.diagnostics.is_empty(), "{:?}", opened.diagnostics);
    assert_eq!(
        decoded(&opened.result, &ty),
        Value::object([
            ("name", Value::string("ci")),
            ("token", Value::string("p:ci"))
        ])
    );
    assert!(s.close_ephemeral_resource("test_token").is_empty());
    assert!(s.renew_ephemeral_resource("test_token").is_empty());
}

#[tokio::test]
async fn an_ephemeral_config_not_yet_known_opens_as_unknown_results() {
    let s = configured(false, false).await;
    let ty = token_schema().value_type();
    let config = Value::object([("name", Value::Unknown), ("token", Value::Null)]);
    let opened = s
        .open_ephemeral_resource("test_token", &dv(&ty, &config))
        .await;
    assert!(opened.diagnostics.is_empty(), "{:?}", opened.diagnostics);
    assert_eq!(
        decoded(&opened.result, &ty),
        Value::object([("name", Value::Unknown), ("token", Value::Unknown)])
    );
}

#[tokio::test]
async fn an_ephemeral_resource_that_is_invalid_or_breaks_its_arguments_returns_no_value() {
    let s = configured(false, false).await;
    let ty = token_schema().value_type();
    let empty = Value::object([("name", Value::string("")), ("token", Value::Null)]);
    let opened = s
        .open_ephemeral_resource("test_token", &dv(&ty, &empty))
        .await;
    assert!(opened.result.is_none());
    assert_eq!(
        opened.diagnostics.iter().next().map(|d| d.summary.as_str()),
        Some("Empty Name")
    );

    let tampering = configured(false, true).await;
    let config = Value::object([("name", Value::string("ci")), ("token", Value::Null)]);
    let opened = tampering
        .open_ephemeral_resource("test_token", &dv(&ty, &config))
        .await;
    assert!(opened.result.is_none());
    assert!(
        opened
            .diagnostics
            .iter()
            .any(|d| d.detail.contains("someone-else")),
        "{:?}",
        opened.diagnostics
    );
}

#[tokio::test]
async fn unknown_ephemeral_types_are_named_with_the_known_ones() {
    let s = configured(false, false).await;
    let diags = s.close_ephemeral_resource("test_nope");
    assert!(
        diags.iter().any(|d| d.detail.contains("test_token")),
        "{diags:?}"
    );
}
