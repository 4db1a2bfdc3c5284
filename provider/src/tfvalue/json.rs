//! The JSON `DynamicValue` codec: the fallback encoding, and the encoding of `RawState.json`.
//!
//! Same shapes as go-cty's `cty/json`: null is `null`; lists, sets and tuples are arrays; maps
//! and objects are objects; a dynamic value is `{"type": <type JSON>, "value": <value>}`.
//! JSON cannot carry unknown values: encoding one is an error.
//!
//! Leniencies copied from go-cty's decoder, because state written by Terraform relies on them:
//! an object may omit attributes (they decode as null), a number may be given as a string of its
//! decimal text, a string may be given as a JSON number or bool, a bool as `"true"`/`"false"`.
//!
//! Precision: JSON numbers are read through `serde_json`, so a number beyond `u64` written
//! without quotes is read as the nearest `f64`. The encoder therefore writes any number that
//! is neither an `i64` nor an exact `f64` (and the infinities) as a string of its decimal text,
//! which go-cty and this decoder both read back exactly.
//!
//! This module does not handle the `flatmap` form of `RawState` (pre-0.12 SDKs only).

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::codec::CodecError;
use super::number::{Number, WireNumber};
use super::path::AttributePath;
use super::types::Type;
use super::value::Value;

/// Decodes JSON bytes as a value of type `ty`.
///
/// # Errors
///
/// [`CodecError::Json`] when the bytes are not JSON, [`CodecError::Invalid`] when the JSON does
/// not fit `ty`, [`CodecError::DynamicType`] when a dynamic value's type is unreadable.
pub fn decode(ty: &Type, bytes: &[u8]) -> Result<Value, CodecError> {
    // serde_json refuses input nested deeper than 128 levels, which bounds our recursion too.
    let json: Json = serde_json::from_slice(bytes).map_err(|source| CodecError::Json { source })?;
    from_json(ty, &json, &AttributePath::root())
}

/// Encodes a value of type `ty` as compact JSON.
///
/// # Errors
///
/// [`CodecError::Conformance`] when `value` does not conform to `ty`;
/// [`CodecError::Invalid`] when it contains an unknown value, which JSON cannot represent.
pub fn encode(ty: &Type, value: &Value) -> Result<Vec<u8>, CodecError> {
    value.conforms_to(ty)?;
    let json = to_json(ty, value, &AttributePath::root())?;
    Ok(json.to_string().into_bytes())
}

/// What kind of JSON value `json` is, for messages.
fn json_kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a bool",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

fn from_json(ty: &Type, json: &Json, path: &AttributePath) -> Result<Value, CodecError> {
    let wrong = || {
        Err(CodecError::invalid(
            path,
            format!("{ty} required, found {}", json_kind(json)),
        ))
    };
    match (ty, json) {
        (_, Json::Null) => Ok(Value::Null),
        (Type::Bool, Json::Bool(b)) => Ok(Value::Bool(*b)),
        (Type::Bool, Json::String(s)) if s == "true" || s == "false" => {
            Ok(Value::Bool(s == "true"))
        }
        (Type::Number, Json::Number(n)) => Ok(Value::Number(number_from_json(n))),
        (Type::Number, Json::String(s)) => s
            .parse()
            .map(Value::Number)
            .map_err(|e| CodecError::invalid(path, format!("invalid number: {e}"))),
        (Type::String, Json::String(s)) => Ok(Value::String(s.clone())),
        (Type::String, Json::Number(n)) => Ok(Value::String(n.to_string())),
        (Type::String, Json::Bool(b)) => Ok(Value::String(b.to_string())),
        (Type::List(elem_ty), Json::Array(elems)) => Ok(Value::List(
            elems
                .iter()
                .zip(0_i64..)
                .map(|(e, i)| from_json(elem_ty, e, &path.index(i)))
                .collect::<Result<_, _>>()?,
        )),
        (Type::Set(elem_ty), Json::Array(elems)) => Ok(Value::Set(
            elems
                .iter()
                .map(|e| from_json(elem_ty, e, path))
                .collect::<Result<_, _>>()?,
        )),
        (Type::Tuple(elem_tys), Json::Array(elems)) => {
            if elems.len() != elem_tys.len() {
                return Err(CodecError::invalid(
                    path,
                    format!(
                        "a tuple of {} elements is required ({} given)",
                        elem_tys.len(),
                        elems.len()
                    ),
                ));
            }
            Ok(Value::Tuple(
                elems
                    .iter()
                    .zip(elem_tys)
                    .zip(0_i64..)
                    .map(|((e, t), i)| from_json(t, e, &path.index(i)))
                    .collect::<Result<_, _>>()?,
            ))
        }
        (Type::Map(elem_ty), Json::Object(entries)) => Ok(Value::Map(
            entries
                .iter()
                .map(|(k, e)| Ok((k.clone(), from_json(elem_ty, e, &path.key(k))?)))
                .collect::<Result<_, CodecError>>()?,
        )),
        (Type::Object(attr_tys), Json::Object(entries)) => {
            object_from_json(attr_tys, entries, path)
        }
        (Type::Dynamic, Json::Object(entries)) => dynamic_from_json(entries, path),
        _ => wrong(),
    }
}

/// An object: unknown keys are errors, missing ones null (as in go-cty's `cty/json`).
fn object_from_json(
    attr_tys: &BTreeMap<String, Type>,
    entries: &serde_json::Map<String, Json>,
    path: &AttributePath,
) -> Result<Value, CodecError> {
    if let Some(name) = entries.keys().find(|k| !attr_tys.contains_key(*k)) {
        return Err(CodecError::invalid(
            path,
            format!("unsupported attribute {name:?}"),
        ));
    }
    let attrs = attr_tys
        .iter()
        .map(|(name, attr_ty)| {
            let value = match entries.get(name) {
                Some(e) => from_json(attr_ty, e, &path.attr(name))?,
                None => Value::Null,
            };
            Ok((name.clone(), value))
        })
        .collect::<Result<_, CodecError>>()?;
    Ok(Value::Object(attrs))
}

/// A dynamic value: `{"type": ..., "value": ...}`, both keys required, no others.
fn dynamic_from_json(
    entries: &serde_json::Map<String, Json>,
    path: &AttributePath,
) -> Result<Value, CodecError> {
    if let Some(key) = entries.keys().find(|k| *k != "type" && *k != "value") {
        return Err(CodecError::invalid(
            path,
            format!("invalid key {key:?} in dynamically-typed value"),
        ));
    }
    let (Some(ty_json), Some(value_json)) = (entries.get("type"), entries.get("value")) else {
        return Err(CodecError::invalid(
            path,
            "a dynamically-typed value needs both \"type\" and \"value\"",
        ));
    };
    let concrete = Type::from_json(ty_json).map_err(|source| CodecError::DynamicType {
        path: path.clone(),
        source,
    })?;
    let value = from_json(&concrete, value_json, path)?;
    Ok(if concrete == Type::Dynamic {
        // The inner value already carries its own type (or is null or unknown).
        value
    } else {
        Value::dynamic(concrete, value)
    })
}

fn number_from_json(n: &serde_json::Number) -> Number {
    if let Some(i) = n.as_i64() {
        Number::from_i64(i)
    } else if let Some(u) = n.as_u64() {
        Number::from_u64(u)
    } else {
        // Without serde_json's arbitrary_precision every other number is an f64, finite.
        Number::from_f64(n.as_f64().unwrap_or(f64::NAN))
    }
}

fn to_json(ty: &Type, value: &Value, path: &AttributePath) -> Result<Json, CodecError> {
    let defect = || {
        CodecError::invalid(
            path,
            format!(
                "cannot encode {} as {ty}; this is a bug in the provider, please report it",
                value.kind_name()
            ),
        )
    };
    Ok(match (ty, value) {
        (_, Value::Unknown) => {
            return Err(CodecError::invalid(
                path,
                "unknown values cannot be encoded as JSON",
            ));
        }
        (_, Value::Null) => Json::Null,
        (Type::Bool, Value::Bool(b)) => Json::Bool(*b),
        (Type::Number, Value::Number(n)) => match n.wire() {
            WireNumber::Int(i) => Json::from(i),
            WireNumber::Float(f) => match serde_json::Number::from_f64(f) {
                Some(n) => Json::Number(n),
                // Infinities: JSON has no literal for them; go-cty parses "+Inf" and "-Inf".
                None => Json::String(n.to_string()),
            },
            WireNumber::Text(text) => Json::String(text),
        },
        (Type::String, Value::String(s)) => Json::String(s.clone()),
        (Type::List(elem_ty), Value::List(elems)) => Json::Array(
            elems
                .iter()
                .zip(0_i64..)
                .map(|(e, i)| to_json(elem_ty, e, &path.index(i)))
                .collect::<Result<_, _>>()?,
        ),
        (Type::Set(elem_ty), Value::Set(elems)) => Json::Array(
            elems
                .iter()
                .map(|e| to_json(elem_ty, e, path))
                .collect::<Result<_, _>>()?,
        ),
        (Type::Tuple(elem_tys), Value::Tuple(elems)) => Json::Array(
            elems
                .iter()
                .zip(elem_tys)
                .zip(0_i64..)
                .map(|((e, t), i)| to_json(t, e, &path.index(i)))
                .collect::<Result<_, _>>()?,
        ),
        (Type::Map(elem_ty), Value::Map(elems)) => Json::Object(
            elems
                .iter()
                .map(|(k, e)| Ok((k.clone(), to_json(elem_ty, e, &path.key(k))?)))
                .collect::<Result<_, CodecError>>()?,
        ),
        (Type::Object(attr_tys), Value::Object(attrs)) => Json::Object(
            attr_tys
                .iter()
                .map(|(name, attr_ty)| {
                    let attr = attrs.get(name).ok_or_else(defect)?;
                    Ok((name.clone(), to_json(attr_ty, attr, &path.attr(name))?))
                })
                .collect::<Result<_, CodecError>>()?,
        ),
        (Type::Dynamic, Value::Dynamic(concrete, inner)) => {
            let mut pair = serde_json::Map::new();
            pair.insert("type".to_owned(), concrete.to_json());
            pair.insert("value".to_owned(), to_json(concrete, inner, path)?);
            Json::Object(pair)
        }
        _ => return Err(defect()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tfvalue::testing::{arb_type, arb_value};
    use proptest::prelude::*;
    use serde_json::json;

    fn decode_json(ty: &Type, json: &Json) -> Result<Value, CodecError> {
        decode(ty, json.to_string().as_bytes())
    }

    fn encoded(ty: &Type, value: &Value) -> Json {
        serde_json::from_slice(&encode(ty, value).unwrap()).unwrap()
    }

    #[test]
    fn encodes_objects_lists_and_nulls_as_plain_json() {
        let ty = Type::object([("a", Type::list(Type::Number)), ("b", Type::String)]);
        let v = Value::object([("a", Value::list([Value::from(1)])), ("b", Value::Null)]);
        assert_eq!(encoded(&ty, &v), json!({"a": [1], "b": null}));
    }

    #[test]
    fn encodes_dynamic_as_type_and_value() {
        let v = Value::dynamic(Type::list(Type::Bool), Value::list([Value::Bool(true)]));
        assert_eq!(
            encoded(&Type::Dynamic, &v),
            json!({"type": ["list", "bool"], "value": [true]})
        );
    }

    #[test]
    fn refuses_to_encode_unknowns_and_says_where() {
        let ty = Type::object([("id", Type::String)]);
        let err = encode(&ty, &Value::object([("id", Value::Unknown)])).unwrap_err();
        assert_eq!(err.path(), AttributePath::root().attr("id"));
        assert!(err.to_string().contains("unknown"), "{err}");
    }

    #[test]
    fn encodes_big_numbers_and_infinities_as_strings() {
        let big: Number = "123456789012345678901234567890.5".parse().unwrap();
        assert_eq!(
            encoded(&Type::Number, &Value::Number(big.clone())),
            json!("123456789012345678901234567890.5")
        );
        assert_eq!(
            decode_json(&Type::Number, &json!("123456789012345678901234567890.5")).unwrap(),
            Value::Number(big)
        );
        let inf = Value::number(f64::NEG_INFINITY);
        assert_eq!(encoded(&Type::Number, &inf), json!("-Inf"));
        assert_eq!(decode_json(&Type::Number, &json!("-Inf")).unwrap(), inf);
    }

    #[test]
    fn decodes_missing_object_attributes_as_null() {
        let ty = Type::object([("a", Type::String), ("b", Type::Number)]);
        assert_eq!(
            decode_json(&ty, &json!({"a": "x"})).unwrap(),
            Value::object([("a", Value::string("x")), ("b", Value::Null)])
        );
    }

    #[test]
    fn rejects_unsupported_object_attribute() {
        let ty = Type::object([("a", Type::String)]);
        let err = decode_json(&ty, &json!({"a": "x", "zz": 1})).unwrap_err();
        assert!(
            err.to_string().contains(r#"unsupported attribute "zz""#),
            "{err}"
        );
    }

    #[test]
    fn converts_primitives_like_go_cty() {
        assert_eq!(
            decode_json(&Type::String, &json!(12)).unwrap(),
            Value::string("12")
        );
        assert_eq!(
            decode_json(&Type::String, &json!(true)).unwrap(),
            Value::string("true")
        );
        assert_eq!(
            decode_json(&Type::Bool, &json!("false")).unwrap(),
            Value::Bool(false)
        );
        assert_eq!(
            decode_json(&Type::Number, &json!("42")).unwrap(),
            Value::from(42)
        );
        assert!(decode_json(&Type::Bool, &json!("yes")).is_err());
        assert!(decode_json(&Type::Number, &json!(true)).is_err());
    }

    #[test]
    fn rejects_dynamic_without_type_or_with_extra_keys() {
        assert!(decode_json(&Type::Dynamic, &json!({"value": 1})).is_err());
        assert!(
            decode_json(
                &Type::Dynamic,
                &json!({"type": "number", "value": 1, "x": 0})
            )
            .is_err()
        );
        assert!(matches!(
            decode_json(&Type::Dynamic, &json!({"type": "int", "value": 1})),
            Err(CodecError::DynamicType { .. })
        ));
        assert!(decode_json(&Type::Dynamic, &json!("x")).is_err());
    }

    #[test]
    fn decodes_nested_dynamic_type_without_double_wrapping() {
        let json = json!({"type": "dynamic", "value": {"type": "string", "value": "x"}});
        assert_eq!(
            decode_json(&Type::Dynamic, &json).unwrap(),
            Value::dynamic(Type::String, Value::string("x"))
        );
    }

    #[test]
    fn rejects_hostile_nesting_without_overflowing_the_stack() {
        let ty = (0..300).fold(Type::Bool, |t, _| Type::list(t));
        let text = format!("{}true{}", "[".repeat(300), "]".repeat(300));
        assert!(matches!(
            decode(&ty, text.as_bytes()),
            Err(CodecError::Json { .. })
        ));
    }

    #[test]
    fn rejects_bytes_that_are_not_json() {
        assert!(matches!(
            decode(&Type::String, b"{"),
            Err(CodecError::Json { .. })
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn decode_inverts_encode_for_known_values(
            (ty, value) in arb_type().prop_flat_map(|t| (Just(t.clone()), arb_value(t, false)))
        ) {
            let bytes = encode(&ty, &value).unwrap();
            prop_assert_eq!(decode(&ty, &bytes).unwrap(), value);
        }

        #[test]
        fn decoding_random_bytes_never_panics(ty in arb_type(), bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&ty, &bytes);
        }

        #[test]
        fn decoding_random_json_never_panics_and_conforms(ty in arb_type(), json in arb_json()) {
            if let Ok(value) = decode_json(&ty, &json) {
                prop_assert!(value.conforms_to(&ty).is_ok());
            }
        }
    }

    fn arb_json() -> impl Strategy<Value = Json> {
        let leaf = prop_oneof![
            Just(Json::Null),
            any::<bool>().prop_map(Json::Bool),
            any::<i64>().prop_map(Json::from),
            any::<f64>().prop_map(Json::from),
            "[a-z\"]{0,4}".prop_map(Json::String),
            prop_oneof![
                Just("string"),
                Just("number"),
                Just("bool"),
                Just("dynamic")
            ]
            .prop_map(Json::from),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
                proptest::collection::btree_map(
                    prop_oneof![
                        Just("type".to_owned()),
                        Just("value".to_owned()),
                        "[a-z]{1,2}"
                    ],
                    inner,
                    0..4
                )
                .prop_map(|m| Json::Object(m.into_iter().collect())),
            ]
        })
    }
}
