//! cty types: the shape of every value Terraform and the provider exchange.
//!
//! [`Type`] mirrors go-cty's type system: three primitives, the `dynamic` pseudo-type, three
//! collection kinds and two structural kinds. Its JSON form ([`Type::to_json`],
//! [`Type::from_json`]) is what `Schema.Attribute.type` carries and what a dynamic value carries
//! next to its value on the wire.
//!
//! This module is only the type; values are in [`value`](super::value), the wire codecs in
//! [`msgpack`](super::msgpack) and [`json`](super::json).
//!
//! Not supported: capsule types, and the optional-attribute marker (the third element of an
//! `["object", {...}, [...]]` type constraint), which only appears in configuration language type
//! constraints, never on the wire of tfplugin5.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value as Json;

/// Errors reading a type from its JSON form.
#[derive(Debug, thiserror::Error)]
pub enum TypeError {
    /// The bytes are not JSON at all.
    #[error("type is not valid JSON")]
    Syntax {
        /// The JSON parser's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// The JSON is not a cty type.
    #[error("invalid type {json}: {reason}")]
    Invalid {
        /// The offending JSON (the innermost part that is wrong).
        json: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// A cty type.
///
/// Object attribute names are kept sorted (a [`BTreeMap`]), as go-cty does, so two objects with
/// the same attributes are equal however they were built.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Type {
    /// `true` or `false`.
    Bool,
    /// An arbitrary-precision number.
    Number,
    /// A Unicode string.
    String,
    /// Any type, decided per value: the value then carries its concrete type.
    Dynamic,
    /// An ordered sequence of elements of one type.
    List(Box<Type>),
    /// An unordered collection of distinct elements of one type.
    Set(Box<Type>),
    /// String keys to elements of one type.
    Map(Box<Type>),
    /// Named attributes, each with its own type; a value has exactly these attributes.
    Object(BTreeMap<String, Type>),
    /// A fixed-length sequence, each element with its own type.
    Tuple(Vec<Type>),
}

impl Type {
    /// `list(t)`.
    #[must_use]
    pub fn list(t: Type) -> Type {
        Type::List(Box::new(t))
    }

    /// `set(t)`.
    #[must_use]
    pub fn set(t: Type) -> Type {
        Type::Set(Box::new(t))
    }

    /// `map(t)`.
    #[must_use]
    pub fn map(t: Type) -> Type {
        Type::Map(Box::new(t))
    }

    /// An object type from `(name, type)` pairs.
    #[must_use]
    pub fn object<I, K>(attrs: I) -> Type
    where
        I: IntoIterator<Item = (K, Type)>,
        K: Into<String>,
    {
        Type::Object(attrs.into_iter().map(|(k, t)| (k.into(), t)).collect())
    }

    /// Whether `dynamic` appears anywhere in this type.
    #[must_use]
    pub fn has_dynamic(&self) -> bool {
        match self {
            Type::Bool | Type::Number | Type::String => false,
            Type::Dynamic => true,
            Type::List(t) | Type::Set(t) | Type::Map(t) => t.has_dynamic(),
            Type::Object(attrs) => attrs.values().any(Type::has_dynamic),
            Type::Tuple(elems) => elems.iter().any(Type::has_dynamic),
        }
    }

    /// The cty JSON encoding: `"string"`, `["list","string"]`, `["object",{"a":"bool"}]`, ...
    #[must_use]
    pub fn to_json(&self) -> Json {
        match self {
            Type::Bool => Json::from("bool"),
            Type::Number => Json::from("number"),
            Type::String => Json::from("string"),
            Type::Dynamic => Json::from("dynamic"),
            Type::List(t) => Json::Array(vec![Json::from("list"), t.to_json()]),
            Type::Set(t) => Json::Array(vec![Json::from("set"), t.to_json()]),
            Type::Map(t) => Json::Array(vec![Json::from("map"), t.to_json()]),
            Type::Object(attrs) => Json::Array(vec![
                Json::from("object"),
                Json::Object(
                    attrs
                        .iter()
                        .map(|(k, t)| (k.clone(), t.to_json()))
                        .collect(),
                ),
            ]),
            Type::Tuple(elems) => Json::Array(vec![
                Json::from("tuple"),
                Json::Array(elems.iter().map(Type::to_json).collect()),
            ]),
        }
    }

    /// The compact JSON encoding as bytes, as `Schema.Attribute.type` wants it.
    #[must_use]
    pub fn to_json_bytes(&self) -> Vec<u8> {
        // Object keys come from a BTreeMap, so the output is deterministic.
        self.to_json().to_string().into_bytes()
    }

    /// Reads a type from its cty JSON encoding.
    ///
    /// # Errors
    ///
    /// [`TypeError::Invalid`] when the JSON is not one of the shapes cty produces.
    pub fn from_json(v: &Json) -> Result<Type, TypeError> {
        let invalid = |json: &Json, reason| TypeError::Invalid {
            json: truncated(json),
            reason,
        };
        match v {
            Json::String(name) => match name.as_str() {
                "bool" => Ok(Type::Bool),
                "number" => Ok(Type::Number),
                "string" => Ok(Type::String),
                "dynamic" => Ok(Type::Dynamic),
                _ => Err(invalid(v, "unknown primitive type name")),
            },
            Json::Array(parts) => {
                let Some((Json::String(kind), rest)) = parts.split_first() else {
                    return Err(invalid(
                        v,
                        "a structural type must start with its kind name",
                    ));
                };
                let [arg] = rest else {
                    return Err(invalid(
                        v,
                        "a structural type must have exactly one argument",
                    ));
                };
                match (kind.as_str(), arg) {
                    ("list", t) => Ok(Type::list(Type::from_json(t)?)),
                    ("set", t) => Ok(Type::set(Type::from_json(t)?)),
                    ("map", t) => Ok(Type::map(Type::from_json(t)?)),
                    ("object", Json::Object(attrs)) => Ok(Type::Object(
                        attrs
                            .iter()
                            .map(|(k, t)| Ok((k.clone(), Type::from_json(t)?)))
                            .collect::<Result<_, TypeError>>()?,
                    )),
                    ("object", _) => Err(invalid(v, "object attributes must be a JSON object")),
                    ("tuple", Json::Array(elems)) => Ok(Type::Tuple(
                        elems
                            .iter()
                            .map(Type::from_json)
                            .collect::<Result<_, _>>()?,
                    )),
                    ("tuple", _) => Err(invalid(v, "tuple elements must be a JSON array")),
                    _ => Err(invalid(v, "unknown structural type kind")),
                }
            }
            _ => Err(invalid(v, "a type must be a string or an array")),
        }
    }

    /// Reads a type from JSON bytes.
    ///
    /// # Errors
    ///
    /// [`TypeError::Syntax`] when the bytes are not JSON, else as [`Type::from_json`].
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Type, TypeError> {
        let json: Json =
            serde_json::from_slice(bytes).map_err(|source| TypeError::Syntax { source })?;
        Type::from_json(&json)
    }
}

/// JSON text for error messages, cut short so a hostile type cannot flood a log.
fn truncated(json: &Json) -> String {
    const MAX: usize = 120;
    let text = json.to_string();
    if text.len() <= MAX {
        return text;
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

impl fmt::Display for Type {
    /// The friendly name cty uses in messages: `string`, `list of map of number`, `object`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Bool => f.write_str("bool"),
            Type::Number => f.write_str("number"),
            Type::String => f.write_str("string"),
            Type::Dynamic => f.write_str("dynamic"),
            Type::List(t) => write!(f, "list of {t}"),
            Type::Set(t) => write!(f, "set of {t}"),
            Type::Map(t) => write!(f, "map of {t}"),
            Type::Object(_) => f.write_str("object"),
            Type::Tuple(_) => f.write_str("tuple"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn encodes_primitives_as_bare_names() {
        assert_eq!(Type::String.to_json_bytes(), br#""string""#);
        assert_eq!(Type::Dynamic.to_json(), json!("dynamic"));
    }

    #[test]
    fn encodes_map_of_string_as_terraform_prints_it() {
        assert_eq!(
            Type::map(Type::String).to_json_bytes(),
            br#"["map","string"]"#
        );
    }

    #[test]
    fn encodes_object_with_sorted_attributes() {
        let ty = Type::object([("zone", Type::String), ("count", Type::Number)]);
        assert_eq!(
            ty.to_json_bytes(),
            br#"["object",{"count":"number","zone":"string"}]"#
        );
    }

    #[test]
    fn reads_back_every_kind() {
        let ty = Type::Tuple(vec![
            Type::list(Type::Bool),
            Type::set(Type::Number),
            Type::object([("a", Type::map(Type::Dynamic))]),
            Type::Tuple(vec![]),
        ]);
        assert_eq!(Type::from_json(&ty.to_json()).unwrap(), ty);
        assert_eq!(Type::from_json_bytes(&ty.to_json_bytes()).unwrap(), ty);
    }

    #[test]
    fn rejects_unknown_primitive_name() {
        let err = Type::from_json(&json!("integer")).unwrap_err();
        assert!(err.to_string().contains("\"integer\""), "{err}");
    }

    #[test]
    fn rejects_optional_attribute_form_of_object() {
        let err = Type::from_json(&json!(["object", {"a": "string"}, ["a"]])).unwrap_err();
        assert!(matches!(err, TypeError::Invalid { .. }), "{err}");
    }

    #[test]
    fn rejects_object_without_attribute_map() {
        assert!(Type::from_json(&json!(["object", ["a"]])).is_err());
        assert!(Type::from_json(&json!(["tuple", {"a": "string"}])).is_err());
        assert!(Type::from_json(&json!([])).is_err());
        assert!(Type::from_json(&json!(42)).is_err());
    }

    #[test]
    fn rejects_bytes_that_are_not_json() {
        assert!(matches!(
            Type::from_json_bytes(b"[\"list\""),
            Err(TypeError::Syntax { .. })
        ));
    }

    #[test]
    fn finds_dynamic_deep_inside() {
        assert!(Type::list(Type::object([("x", Type::Dynamic)])).has_dynamic());
        assert!(!Type::list(Type::object([("x", Type::String)])).has_dynamic());
    }

    #[test]
    fn displays_friendly_names() {
        assert_eq!(
            Type::list(Type::map(Type::Number)).to_string(),
            "list of map of number"
        );
    }
}
