//! [`Node`]: a YAML value tree whose maps are always sorted, for byte-stable output.
//!
//! `serde_json::Map` keeps insertion order when any crate in the build turns on serde_json's
//! `preserve_order` feature (features unify across the dependency graph), so its order is a
//! property of the build, not of the data. User-supplied maps (`extra_config`,
//! `connection_args`, `executor_config`) are therefore converted into [`Node`], whose maps are
//! `BTreeMap`s, before rendering. Floats are kept as given; serde-saphyr formats them
//! deterministically. This module only builds values; [`super::render`] emits them.

use std::collections::BTreeMap;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

/// A YAML value with sorted maps.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Node {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer too large for `i64`.
    UInt(u64),
    /// A finite float.
    Float(f64),
    /// A string.
    Str(String),
    /// A list.
    Seq(Vec<Node>),
    /// A map with sorted keys.
    Map(BTreeMap<String, Node>),
}

impl Node {
    /// A string node.
    pub(super) fn str(value: impl Into<String>) -> Self {
        Node::Str(value.into())
    }

    /// A list of string nodes.
    pub(super) fn strs<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Node::Seq(values.into_iter().map(|v| Node::Str(v.into())).collect())
    }

    /// A map node from `(key, value)` pairs.
    pub(super) fn map<I, K>(entries: I) -> Self
    where
        I: IntoIterator<Item = (K, Node)>,
        K: Into<String>,
    {
        Node::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A map node from a JSON object, sorted.
    pub(super) fn from_json_map(map: &BTreeMap<String, Value>) -> Self {
        Node::Map(
            map.iter()
                .map(|(k, v)| (k.clone(), Node::from(v)))
                .collect(),
        )
    }
}

impl From<&Value> for Node {
    fn from(value: &Value) -> Self {
        match value {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Bool(*b),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Node::Int(i)
                } else if let Some(u) = n.as_u64() {
                    Node::UInt(u)
                } else {
                    // serde_json numbers are never NaN or infinite.
                    n.as_f64().map_or(Node::Null, Node::Float)
                }
            }
            Value::String(s) => Node::Str(s.clone()),
            Value::Array(items) => Node::Seq(items.iter().map(Node::from).collect()),
            Value::Object(map) => Node::Map(
                map.iter()
                    .map(|(k, v)| (k.clone(), Node::from(v)))
                    .collect(),
            ),
        }
    }
}

impl From<bool> for Node {
    fn from(value: bool) -> Self {
        Node::Bool(value)
    }
}

impl From<u16> for Node {
    fn from(value: u16) -> Self {
        Node::Int(i64::from(value))
    }
}

impl From<u32> for Node {
    fn from(value: u32) -> Self {
        Node::Int(i64::from(value))
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Null => serializer.serialize_unit(),
            Node::Bool(b) => serializer.serialize_bool(*b),
            Node::Int(i) => serializer.serialize_i64(*i),
            Node::UInt(u) => serializer.serialize_u64(*u),
            Node::Float(f) => serializer.serialize_f64(*f),
            Node::Str(s) => serializer.serialize_str(s),
            Node::Seq(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Node::Map(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_objects_become_sorted_maps_whatever_their_insertion_order() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": {"z": true, "y": null}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a": {"y": null, "z": true}, "b": 1}"#).unwrap();
        let node = Node::from(&a);
        assert_eq!(node, Node::from(&b));
        let Node::Map(map) = node else {
            panic!("expected a map")
        };
        assert_eq!(map.keys().collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn keeps_integers_large_unsigned_and_floats_apart() {
        let v: Value = serde_json::from_str("[1, -2, 18446744073709551615, 1.5]").unwrap();
        assert_eq!(
            Node::from(&v),
            Node::Seq(vec![
                Node::Int(1),
                Node::Int(-2),
                Node::UInt(u64::MAX),
                Node::Float(1.5)
            ])
        );
    }
}
