//! Terraform's plan and apply rules, enforced on our side of the wire.
//!
//! Terraform rejects a plan that changes a configured, non-computed value ("Provider produced
//! invalid plan") and an apply result that differs from a known planned value ("Provider
//! produced inconsistent result after apply", which also taints the object). Both messages
//! blame the provider but say little about why. These checks run on every plan and apply
//! before anything is sent, so such a bug surfaces as one of our own diagnostics, with the
//! attribute path, the two values (unless sensitive) and a request to report it.
//!
//! The rules follow Terraform's `AssertPlanValid` and `AssertObjectCompatible`
//! (`internal/plans/objchange` in hashicorp/terraform, as described in
//! `reference/terraform-protocol.md` §2.4 and §2.5).

use std::collections::BTreeMap;

use crate::tfvalue::{AttributePath, Block, Diagnostic, Nesting, Schema, Value};

/// Longest value rendering quoted in a diagnostic before it is cut.
const MAX_VALUE_CHARS: usize = 120;

/// Checks a planned state against the prior state and the configuration.
///
/// Returns one error diagnostic per violation, each with the attribute path.
#[must_use]
pub fn check_planned_state(
    type_name: &str,
    schema: &Schema,
    prior: &Value,
    config: &Value,
    planned: &Value,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if planned.is_null() {
        if !config.is_null() {
            out.push(bug(
                type_name,
                AttributePath::root(),
                "planned to destroy an object that is still configured".into(),
            ));
        }
        return out;
    }
    if let Err(err) = planned.conforms_to(&schema.value_type()) {
        out.push(bug(
            type_name,
            AttributePath::root(),
            format!("planned an invalid value: {err}"),
        ));
        return out;
    }
    plan_block(
        type_name,
        &schema.block,
        prior,
        config,
        planned,
        &AttributePath::root(),
        &mut out,
    );
    out
}

fn plan_block(
    type_name: &str,
    block: &Block,
    prior: &Value,
    config: &Value,
    planned: &Value,
    path: &AttributePath,
    out: &mut Vec<Diagnostic>,
) {
    for attribute in &block.attributes {
        let name = attribute.name.as_str();
        let planned_v = planned.get(name).unwrap_or(&Value::Null);
        let config_v = config.get(name).unwrap_or(&Value::Null);
        let prior_v = prior.get(name).unwrap_or(&Value::Null);
        let allowed = planned_v == config_v
            || (attribute.is_computed() && config_v.is_null())
            || (!prior_v.is_null() && !config_v.is_null() && planned_v == prior_v);
        if !allowed {
            let detail = if attribute.sensitive {
                "planned a value for a sensitive attribute that differs from its configuration"
                    .to_owned()
            } else if !attribute.is_computed() && config_v.is_null() {
                format!(
                    "planned {} for an attribute that is not set and not computed",
                    show(planned_v)
                )
            } else {
                format!(
                    "planned {} but the configuration says {}",
                    show(planned_v),
                    show(config_v)
                )
            };
            out.push(bug(type_name, path.attr(name), detail));
        }
    }
    for nested in &block.block_types {
        let name = nested.type_name.as_str();
        let child_path = path.attr(name);
        let planned_v = planned.get(name).unwrap_or(&Value::Null);
        let config_v = config.get(name).unwrap_or(&Value::Null);
        let prior_v = prior.get(name).unwrap_or(&Value::Null);
        if planned_v.is_unknown() {
            out.push(bug(
                type_name,
                child_path,
                "planned a nested block as unknown; only its attributes may be unknown".into(),
            ));
            continue;
        }
        match nested.nesting {
            Nesting::Single | Nesting::Group => {
                if config_v.is_null() && !planned_v.is_null() && nested.nesting == Nesting::Single {
                    out.push(bug(
                        type_name,
                        child_path,
                        "planned a block that the configuration does not contain".into(),
                    ));
                } else if !planned_v.is_null() {
                    plan_block(
                        type_name,
                        &nested.block,
                        prior_v,
                        config_v,
                        planned_v,
                        &child_path,
                        out,
                    );
                }
            }
            Nesting::List => {
                let Value::List(planned_items) = planned_v else {
                    out.push(bug(
                        type_name,
                        child_path,
                        "planned a list block as null".into(),
                    ));
                    continue;
                };
                if let Value::List(config_items) = config_v {
                    if config_items.len() != planned_items.len() {
                        out.push(bug(
                            type_name,
                            child_path,
                            format!(
                                "planned {} blocks but the configuration has {}",
                                planned_items.len(),
                                config_items.len()
                            ),
                        ));
                        continue;
                    }
                    for (i, (planned_item, config_item)) in
                        planned_items.iter().zip(config_items).enumerate()
                    {
                        let prior_item = match prior_v {
                            Value::List(items) => items.get(i).unwrap_or(&Value::Null),
                            _ => &Value::Null,
                        };
                        let index = i64::try_from(i).unwrap_or(i64::MAX);
                        plan_block(
                            type_name,
                            &nested.block,
                            prior_item,
                            config_item,
                            planned_item,
                            &child_path.index(index),
                            out,
                        );
                    }
                }
            }
            Nesting::Set => {
                let Value::Set(planned_items) = planned_v else {
                    out.push(bug(
                        type_name,
                        child_path,
                        "planned a set block as null".into(),
                    ));
                    continue;
                };
                // Set elements are correlated heuristically by Terraform; compare counts only,
                // and only when the configuration is fully known (unknowns may merge elements).
                if let Value::Set(config_items) = config_v
                    && config_v.is_wholly_known()
                    && config_items.len() != planned_items.len()
                {
                    out.push(bug(
                        type_name,
                        child_path,
                        format!(
                            "planned {} blocks but the configuration has {}",
                            planned_items.len(),
                            config_items.len()
                        ),
                    ));
                }
            }
            Nesting::Map => {
                let Value::Map(planned_items) = planned_v else {
                    out.push(bug(
                        type_name,
                        child_path,
                        "planned a map block as null".into(),
                    ));
                    continue;
                };
                if let Value::Map(config_items) = config_v {
                    if !same_keys(planned_items, config_items) {
                        out.push(bug(
                            type_name,
                            child_path,
                            format!(
                                "planned blocks {:?} but the configuration has {:?}",
                                planned_items.keys().collect::<Vec<_>>(),
                                config_items.keys().collect::<Vec<_>>()
                            ),
                        ));
                        continue;
                    }
                    for (key, planned_item) in planned_items {
                        let config_item = config_items.get(key).unwrap_or(&Value::Null);
                        let prior_item = prior_v.get(key).unwrap_or(&Value::Null);
                        plan_block(
                            type_name,
                            &nested.block,
                            prior_item,
                            config_item,
                            planned_item,
                            &child_path.key(key),
                            out,
                        );
                    }
                }
            }
        }
    }
}

fn same_keys(a: &BTreeMap<String, Value>, b: &BTreeMap<String, Value>) -> bool {
    a.len() == b.len() && a.keys().zip(b.keys()).all(|(x, y)| x == y)
}

/// Checks an apply result against the plan: it must conform to the schema, be wholly known,
/// and keep every value that was known at plan time.
///
/// `planned` null means a delete, whose result must be null too.
#[must_use]
pub fn check_apply_result(
    type_name: &str,
    schema: &Schema,
    planned: &Value,
    actual: &Value,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if planned.is_null() {
        if !actual.is_null() {
            out.push(bug(
                type_name,
                AttributePath::root(),
                "a delete returned an object".into(),
            ));
        }
        return out;
    }
    if actual.is_null() {
        out.push(bug(
            type_name,
            AttributePath::root(),
            "a create or update returned no object".into(),
        ));
        return out;
    }
    if let Err(err) = actual.conforms_to(&schema.value_type()) {
        out.push(bug(
            type_name,
            AttributePath::root(),
            format!("returned an invalid value: {err}"),
        ));
        return out;
    }
    if let Some(path) = first_unknown(actual, AttributePath::root()) {
        out.push(bug(
            type_name,
            path,
            "returned an unknown value after apply".into(),
        ));
    }
    apply_block(
        type_name,
        &schema.block,
        planned,
        actual,
        &AttributePath::root(),
        &mut out,
    );
    out
}

fn apply_block(
    type_name: &str,
    block: &Block,
    planned: &Value,
    actual: &Value,
    path: &AttributePath,
    out: &mut Vec<Diagnostic>,
) {
    for attribute in &block.attributes {
        let name = attribute.name.as_str();
        let planned_v = planned.get(name).unwrap_or(&Value::Null);
        let actual_v = actual.get(name).unwrap_or(&Value::Null);
        if let Some(at) = incompatible(planned_v, actual_v, path.attr(name)) {
            let detail = if attribute.sensitive {
                "a sensitive attribute came back different from its planned value".to_owned()
            } else {
                format!(
                    "planned {} but the result is {}",
                    show(planned_v),
                    show(actual_v)
                )
            };
            out.push(bug(type_name, at, detail));
        }
    }
    for nested in &block.block_types {
        let name = nested.type_name.as_str();
        let planned_v = planned.get(name).unwrap_or(&Value::Null);
        let actual_v = actual.get(name).unwrap_or(&Value::Null);
        let child_path = path.attr(name);
        match (nested.nesting, planned_v, actual_v) {
            (_, Value::Unknown, _) => {}
            (Nesting::Single | Nesting::Group, Value::Object(_), Value::Object(_)) => {
                apply_block(
                    type_name,
                    &nested.block,
                    planned_v,
                    actual_v,
                    &child_path,
                    out,
                );
            }
            (Nesting::List, Value::List(p), Value::List(a)) if p.len() == a.len() => {
                for (i, (p_item, a_item)) in p.iter().zip(a).enumerate() {
                    let index = i64::try_from(i).unwrap_or(i64::MAX);
                    apply_block(
                        type_name,
                        &nested.block,
                        p_item,
                        a_item,
                        &child_path.index(index),
                        out,
                    );
                }
            }
            (Nesting::Map, Value::Map(p), Value::Map(a)) if same_keys(p, a) => {
                for (key, p_item) in p {
                    let a_item = a.get(key).unwrap_or(&Value::Null);
                    apply_block(
                        type_name,
                        &nested.block,
                        p_item,
                        a_item,
                        &child_path.key(key),
                        out,
                    );
                }
            }
            _ => {
                if let Some(at) = incompatible(planned_v, actual_v, child_path) {
                    out.push(bug(
                        type_name,
                        at,
                        format!(
                            "the nested blocks came back different: planned {} but the result is {}",
                            show_blocks(planned_v, &nested.block),
                            show_blocks(actual_v, &nested.block)
                        ),
                    ));
                }
            }
        }
    }
}

/// Finds where a known planned value and the actual value part ways; unknown planned values
/// accept anything.
fn incompatible(planned: &Value, actual: &Value, path: AttributePath) -> Option<AttributePath> {
    match (planned, actual) {
        (Value::Unknown, _) => None,
        (Value::List(p), Value::List(a)) | (Value::Tuple(p), Value::Tuple(a)) => {
            if p.len() != a.len() {
                return Some(path);
            }
            p.iter().zip(a).enumerate().find_map(|(i, (p, a))| {
                incompatible(p, a, path.index(i64::try_from(i).unwrap_or(i64::MAX)))
            })
        }
        (Value::Map(p), Value::Map(a)) | (Value::Object(p), Value::Object(a)) => {
            if !same_keys(p, a) {
                return Some(path);
            }
            p.iter().find_map(|(key, p)| {
                let a = a.get(key).unwrap_or(&Value::Null);
                let next = if matches!(planned, Value::Object(_)) {
                    path.attr(key)
                } else {
                    path.key(key)
                };
                incompatible(p, a, next)
            })
        }
        (Value::Set(p), Value::Set(a)) => {
            if planned.is_wholly_known() {
                (planned != actual).then_some(path)
            } else {
                (p.len() != a.len()).then_some(path)
            }
        }
        (Value::Dynamic(pt, p), Value::Dynamic(at, a)) => {
            if pt == at {
                incompatible(p, a, path)
            } else {
                Some(path)
            }
        }
        _ => (planned != actual).then_some(path),
    }
}

fn first_unknown(value: &Value, path: AttributePath) -> Option<AttributePath> {
    match value {
        Value::Unknown => Some(path),
        Value::List(items) | Value::Tuple(items) | Value::Set(items) => {
            items.iter().enumerate().find_map(|(i, item)| {
                first_unknown(item, path.index(i64::try_from(i).unwrap_or(i64::MAX)))
            })
        }
        Value::Object(attrs) => attrs
            .iter()
            .find_map(|(k, v)| first_unknown(v, path.attr(k))),
        Value::Map(items) => items
            .iter()
            .find_map(|(k, v)| first_unknown(v, path.key(k))),
        Value::Dynamic(_, inner) => first_unknown(inner, path),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => None,
    }
}

fn bug(type_name: &str, path: AttributePath, what: String) -> Diagnostic {
    let summary = "Provider Bug: Inconsistent Plan or Result";
    let detail = format!(
        "{type_name} at {path}: {what}. Terraform would reject this, so the provider stopped \
         here and changed nothing more. This is a bug in terraform-provider-quay; please \
         report it with this message."
    );
    let diagnostic = Diagnostic::error(summary, detail);
    if path.is_root() {
        diagnostic
    } else {
        diagnostic.with_attribute(path)
    }
}

/// A short, human rendering of a value for diagnostics.
fn show(value: &Value) -> String {
    let mut text = String::new();
    render(value, &mut text);
    cut(text)
}

/// [`show`] for nested blocks of `block`'s schema: the values of sensitive attributes, at
/// any depth, are shown as `(sensitive)`.
fn show_blocks(value: &Value, block: &Block) -> String {
    let mut text = String::new();
    render_blocks(value, block, &mut text);
    cut(text)
}

fn cut(text: String) -> String {
    if text.chars().count() > MAX_VALUE_CHARS {
        let cut: String = text.chars().take(MAX_VALUE_CHARS).collect();
        format!("{cut}…")
    } else {
        text
    }
}

/// Renders `value`, the value of nested blocks of `block` (one block, or a list, set or map
/// of them), without the values of sensitive attributes.
fn render_blocks(value: &Value, block: &Block, out: &mut String) {
    match value {
        Value::List(items) | Value::Tuple(items) | Value::Set(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render_blocks(item, block, out);
            }
            out.push(']');
        }
        Value::Map(items) => {
            out.push('{');
            for (i, (k, v)) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push_str(" = ");
                render_blocks(v, block, out);
            }
            out.push('}');
        }
        Value::Object(attrs) => {
            out.push('{');
            for (i, (k, v)) in attrs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push_str(" = ");
                let sensitive = block.attributes.iter().any(|a| a.name == *k && a.sensitive);
                let nested = block.block_types.iter().find(|b| b.type_name == *k);
                if sensitive && !v.is_null() {
                    out.push_str("(sensitive)");
                } else if let Some(nested) = nested {
                    render_blocks(v, &nested.block, out);
                } else {
                    render(v, out);
                }
            }
            out.push('}');
        }
        other => render(other, out),
    }
}

fn render(value: &Value, out: &mut String) {
    match value {
        Value::Unknown => out.push_str("(known after apply)"),
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => out.push_str(&format!("{s:?}")),
        Value::List(items) | Value::Tuple(items) | Value::Set(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render(item, out);
            }
            out.push(']');
        }
        Value::Map(items) | Value::Object(items) => {
            out.push('{');
            for (i, (k, v)) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push_str(" = ");
                render(v, out);
            }
            out.push('}');
        }
        Value::Dynamic(_, inner) => render(inner, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tfvalue::{Attribute, NestedBlock, Type};

    fn schema() -> Schema {
        Schema {
            version: 0,
            block: Block::new("test")
                .attribute(Attribute::computed("id", Type::String))
                .attribute(Attribute::required("name", Type::String))
                .attribute(Attribute::optional("tags", Type::map(Type::String)))
                .attribute(Attribute::optional("password", Type::String).sensitive())
                .block(NestedBlock {
                    type_name: "rule".into(),
                    block: Block::new("rule").attribute(Attribute::required("port", Type::Number)),
                    nesting: Nesting::List,
                    min_items: 0,
                    max_items: 0,
                }),
        }
    }

    fn obj(id: Value, name: &str, tags: Value, rules: &[i64]) -> Value {
        Value::object([
            ("id", id),
            ("name", Value::string(name)),
            ("tags", tags),
            ("password", Value::Null),
            (
                "rule",
                Value::List(
                    rules
                        .iter()
                        .map(|p| Value::object([("port", Value::Number((*p).into()))]))
                        .collect(),
                ),
            ),
        ])
    }

    fn paths(diags: &[Diagnostic]) -> Vec<String> {
        diags
            .iter()
            .map(|d| d.attribute.clone().unwrap_or_default().to_string())
            .collect()
    }

    #[test]
    fn plan_that_changes_a_configured_attribute_is_a_provider_bug() {
        let config = obj(Value::Null, "wanted", Value::Null, &[]);
        let planned = obj(Value::Unknown, "something-else", Value::Null, &[]);
        let diags = check_planned_state("t", &schema(), &Value::Null, &config, &planned);
        assert_eq!(paths(&diags), ["name"]);
        assert!(
            diags[0].detail.contains("\"something-else\""),
            "{}",
            diags[0].detail
        );
        assert!(
            diags[0].detail.contains("please"),
            "asks to report: {}",
            diags[0].detail
        );
    }

    #[test]
    fn plan_that_fills_an_optional_non_computed_attribute_is_a_provider_bug() {
        let config = obj(Value::Null, "a", Value::Null, &[]);
        let tags = Value::Map([("x".to_owned(), Value::string("y"))].into());
        let planned = obj(Value::Unknown, "a", tags, &[]);
        let diags = check_planned_state("t", &schema(), &Value::Null, &config, &planned);
        assert_eq!(paths(&diags), ["tags"]);
    }

    #[test]
    fn plan_may_set_computed_attributes_and_keep_config() {
        let config = obj(Value::Null, "a", Value::Null, &[80]);
        let planned = obj(Value::string("id-1"), "a", Value::Null, &[80]);
        assert!(check_planned_state("t", &schema(), &Value::Null, &config, &planned).is_empty());
    }

    #[test]
    fn plan_with_a_different_block_count_is_a_provider_bug() {
        let config = obj(Value::Null, "a", Value::Null, &[80]);
        let planned = obj(Value::Unknown, "a", Value::Null, &[80, 443]);
        let diags = check_planned_state("t", &schema(), &Value::Null, &config, &planned);
        assert_eq!(paths(&diags), ["rule"]);
    }

    #[test]
    fn plan_of_a_nested_attribute_change_names_its_index() {
        let config = obj(Value::Null, "a", Value::Null, &[80, 443]);
        let planned = obj(Value::Unknown, "a", Value::Null, &[80, 8443]);
        let diags = check_planned_state("t", &schema(), &Value::Null, &config, &planned);
        assert_eq!(paths(&diags), ["rule[1].port"]);
    }

    #[test]
    fn sensitive_values_are_not_quoted_in_plan_errors() {
        let mut config = obj(Value::Null, "a", Value::Null, &[]);
        let mut planned = obj(Value::Unknown, "a", Value::Null, &[]);
        if let (Value::Object(c), Value::Object(p)) = (&mut config, &mut planned) {
            c.insert("password".into(), Value::string("hunter2-config"));
            p.insert("password".into(), Value::string("hunter2-planned"));
        }
        let diags = check_planned_state("t", &schema(), &Value::Null, &config, &planned);
        assert_eq!(paths(&diags), ["password"]);
        assert!(!diags[0].detail.contains("hunter2"), "{}", diags[0].detail);
    }

    #[test]
    fn apply_result_that_differs_from_a_known_planned_value_is_a_provider_bug() {
        let planned = obj(Value::Unknown, "a", Value::Null, &[80]);
        let actual = obj(Value::string("id"), "b", Value::Null, &[80]);
        let diags = check_apply_result("t", &schema(), &planned, &actual);
        assert_eq!(paths(&diags), ["name"]);
    }

    #[test]
    fn apply_result_may_resolve_unknowns() {
        let planned = obj(Value::Unknown, "a", Value::Null, &[80]);
        let actual = obj(Value::string("id"), "a", Value::Null, &[80]);
        assert!(check_apply_result("t", &schema(), &planned, &actual).is_empty());
    }

    #[test]
    fn apply_result_with_unknowns_left_is_a_provider_bug() {
        let planned = obj(Value::Unknown, "a", Value::Null, &[]);
        let actual = obj(Value::Unknown, "a", Value::Null, &[]);
        let diags = check_apply_result("t", &schema(), &planned, &actual);
        assert_eq!(paths(&diags), ["id"]);
    }

    #[test]
    fn apply_result_of_the_wrong_shape_is_a_provider_bug() {
        let planned = obj(Value::Unknown, "a", Value::Null, &[]);
        let actual = Value::object([("id", Value::string("x"))]);
        let diags = check_apply_result("t", &schema(), &planned, &actual);
        assert_eq!(diags.len(), 1);
        assert!(
            diags[0].detail.contains("invalid value"),
            "{}",
            diags[0].detail
        );
    }

    #[test]
    fn delete_must_return_null_and_create_must_not() {
        let state = obj(Value::string("x"), "a", Value::Null, &[]);
        assert_eq!(
            check_apply_result("t", &schema(), &Value::Null, &state).len(),
            1
        );
        assert!(check_apply_result("t", &schema(), &Value::Null, &Value::Null).is_empty());
        assert_eq!(
            check_apply_result("t", &schema(), &state, &Value::Null).len(),
            1
        );
    }

    #[test]
    fn nested_blocks_in_a_bug_report_hide_their_sensitive_attributes() {
        let schema = Schema {
            version: 0,
            block: Block::new("test").block(NestedBlock {
                type_name: "login".into(),
                block: Block::new("login")
                    .attribute(Attribute::required("user", Type::String))
                    .attribute(Attribute::required("password", Type::String).sensitive()),
                nesting: Nesting::Set,
                min_items: 0,
                max_items: 0,
            }),
        };
        let login = |user: &str| {
            Value::object([
                ("user", Value::string(user)),
                ("password", Value::string("pw-hunter2-secret")),
            ])
        };
        let planned = Value::object([("login", Value::Set(vec![login("alice")]))]);
        let actual = Value::object([("login", Value::Set(vec![login("bob")]))]);
        let diags = check_apply_result("t", &schema, &planned, &actual);
        assert_eq!(diags.len(), 1, "{diags:?}");
        let detail = &diags[0].detail;
        assert!(
            detail.contains("alice") && detail.contains("(sensitive)"),
            "{detail}"
        );
        assert!(!detail.contains("hunter2"), "{detail}");
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let long = "x".repeat(500);
        assert!(show(&Value::string(long)).chars().count() <= MAX_VALUE_CHARS + 1);
    }
}
