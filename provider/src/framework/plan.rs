//! The default plan: what a resource plans when it has nothing to add.
//!
//! Terraform sends a `proposed_new_state` built from the prior state and the configuration
//! (optional+computed attributes keep their prior value when unset, computed-only attributes
//! carry the prior value, everything else is the configuration). The default plan starts from
//! it and only fixes what Terraform's rules demand:
//!
//! - on create, computed attributes the configuration leaves null become **unknown** (a null
//!   would be a promise that they stay null);
//! - list, set and map nested blocks are empty collections, never null.

use std::collections::BTreeMap;

use crate::tfvalue::{Block, Nesting, Presence, Schema, Value};

/// Builds the default plan from the prior state, the configuration and Terraform's proposal.
///
/// A null proposal (destroy) plans null.
#[must_use]
pub fn default_plan(schema: &Schema, prior: &Value, config: &Value, proposed: &Value) -> Value {
    if proposed.is_null() {
        return Value::Null;
    }
    plan_block(&schema.block, prior, config, proposed)
}

fn plan_block(block: &Block, prior: &Value, config: &Value, proposed: &Value) -> Value {
    let Value::Object(proposed_attrs) = proposed else {
        // Unknown or a wrong shape: nothing to refine; the consistency check reports shapes.
        return proposed.clone();
    };
    let mut planned = proposed_attrs.clone();
    let creating = prior.is_null();
    for attribute in &block.attributes {
        if !attribute.is_computed() {
            continue;
        }
        let configured = config.get(&attribute.name).is_some_and(|v| !v.is_null());
        if !configured && creating {
            planned.insert(attribute.name.clone(), Value::Unknown);
        }
    }
    for nested in &block.block_types {
        let name = nested.type_name.as_str();
        let prior_child = prior.get(name).unwrap_or(&Value::Null);
        let config_child = config.get(name).unwrap_or(&Value::Null);
        let proposed_child = planned.get(name).cloned().unwrap_or(Value::Null);
        let child = match nested.nesting {
            Nesting::Single | Nesting::Group => {
                if proposed_child.is_null() {
                    Value::Null
                } else {
                    plan_block(&nested.block, prior_child, config_child, &proposed_child)
                }
            }
            Nesting::List => match proposed_child {
                Value::Null => Value::List(Vec::new()),
                Value::List(items) => Value::List(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| {
                            let prior_item = nth(prior_child, i);
                            let config_item = nth(config_child, i);
                            plan_block(&nested.block, prior_item, config_item, item)
                        })
                        .collect(),
                ),
                other => other,
            },
            // Set elements have no stable identity to correlate with prior elements, so they
            // are kept as proposed.
            Nesting::Set => match proposed_child {
                Value::Null => Value::Set(Vec::new()),
                other => other,
            },
            Nesting::Map => match proposed_child {
                Value::Null => Value::Map(BTreeMap::new()),
                Value::Map(items) => Value::Map(
                    items
                        .iter()
                        .map(|(key, item)| {
                            let prior_item = prior_child.get(key).unwrap_or(&Value::Null);
                            let config_item = config_child.get(key).unwrap_or(&Value::Null);
                            (
                                key.clone(),
                                plan_block(&nested.block, prior_item, config_item, item),
                            )
                        })
                        .collect(),
                ),
                other => other,
            },
        };
        planned.insert(nested.type_name.clone(), child);
    }
    Value::Object(planned)
}

fn nth(list: &Value, index: usize) -> &Value {
    match list {
        Value::List(items) => items.get(index).unwrap_or(&Value::Null),
        _ => &Value::Null,
    }
}

/// Marks every computed-only attribute of the top-level block unknown, except those named in
/// `keep`: what a resource does when an update will change values the provider computes.
pub fn mark_computed_unknown(schema: &Schema, planned: &mut Value, keep: &[&str]) {
    let Value::Object(attrs) = planned else {
        return;
    };
    for attribute in &schema.block.attributes {
        if attribute.presence == Presence::Computed && !keep.contains(&attribute.name.as_str()) {
            attrs.insert(attribute.name.clone(), Value::Unknown);
        }
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
                .attribute(Attribute::optional_computed("size", Type::Number))
                .block(NestedBlock {
                    type_name: "rule".into(),
                    block: Block::new("rule").attribute(Attribute::required("port", Type::Number)),
                    nesting: Nesting::List,
                    min_items: 0,
                    max_items: 0,
                }),
        }
    }

    fn obj(id: Value, name: &str, size: Value, rule: Value) -> Value {
        Value::object([
            ("id", id),
            ("name", Value::string(name)),
            ("size", size),
            ("rule", rule),
        ])
    }

    #[test]
    fn create_marks_unset_computed_attributes_unknown() {
        let config = obj(Value::Null, "a", Value::Null, Value::List(vec![]));
        let planned = default_plan(&schema(), &Value::Null, &config, &config);
        assert_eq!(planned.get("id"), Some(&Value::Unknown));
        assert_eq!(planned.get("size"), Some(&Value::Unknown));
        assert_eq!(planned.get("name"), Some(&Value::string("a")));
    }

    #[test]
    fn create_keeps_configured_optional_computed_value() {
        let config = obj(
            Value::Null,
            "a",
            Value::Number(3.into()),
            Value::List(vec![]),
        );
        let planned = default_plan(&schema(), &Value::Null, &config, &config);
        assert_eq!(planned.get("size"), Some(&Value::Number(3.into())));
    }

    #[test]
    fn update_keeps_prior_computed_values() {
        let prior = obj(
            Value::string("x"),
            "a",
            Value::Number(1.into()),
            Value::List(vec![]),
        );
        let config = obj(Value::Null, "b", Value::Null, Value::List(vec![]));
        let proposed = obj(
            Value::string("x"),
            "b",
            Value::Number(1.into()),
            Value::List(vec![]),
        );
        let planned = default_plan(&schema(), &prior, &config, &proposed);
        assert_eq!(planned, proposed);
    }

    #[test]
    fn null_list_block_is_planned_as_empty_list() {
        let config = obj(Value::Null, "a", Value::Null, Value::Null);
        let planned = default_plan(&schema(), &Value::Null, &config, &config);
        assert_eq!(planned.get("rule"), Some(&Value::List(vec![])));
    }

    #[test]
    fn destroy_plans_null() {
        let prior = obj(Value::string("x"), "a", Value::Null, Value::List(vec![]));
        assert_eq!(
            default_plan(&schema(), &prior, &Value::Null, &Value::Null),
            Value::Null
        );
    }

    #[test]
    fn mark_computed_unknown_spares_kept_and_optional_attributes() {
        let mut planned = obj(
            Value::string("x"),
            "a",
            Value::Number(1.into()),
            Value::List(vec![]),
        );
        mark_computed_unknown(&schema(), &mut planned, &[]);
        assert_eq!(planned.get("id"), Some(&Value::Unknown));
        assert_eq!(planned.get("size"), Some(&Value::Number(1.into())));
        let mut kept = obj(Value::string("x"), "a", Value::Null, Value::List(vec![]));
        mark_computed_unknown(&schema(), &mut kept, &["id"]);
        assert_eq!(kept.get("id"), Some(&Value::string("x")));
    }
}
