//! The msgpack `DynamicValue` codec, the encoding Terraform always sends and always wants back.
//!
//! The layout follows go-cty's `cty/msgpack` (see the protocol reference, §2.1):
//!
//! | type | msgpack |
//! |---|---|
//! | `string` | str |
//! | `number` | int if an integer in `i64` range, else float64 if exact, else str of the decimal text; decoding also accepts uint and float32 |
//! | `bool` | bool |
//! | list, set, tuple | array |
//! | map | map of str to element |
//! | object | map with **exactly** one key per attribute |
//! | `dynamic` | 2-element array: the type's JSON (bin), then the value |
//! | null (any type) | nil |
//! | unknown | any extension type decodes as unknown (ext 12 "refined unknown" included, its refinements dropped); encodes as `d4 00 00` |
//!
//! Strings are taken as given: go-cty normalises them to Unicode NFC, Terraform therefore sends
//! NFC, and a provider that returns a string it was given returns it unchanged.
//!
//! This module only translates bytes to [`Value`]s and back; it knows nothing of schemas or
//! protobuf. Decoding never panics: hostile input yields a [`CodecError`].

use std::collections::BTreeMap;

use rmpv::Value as Raw;

use super::codec::{CodecError, MAX_NESTING};
use super::number::{Number, WireNumber};
use super::path::AttributePath;
use super::types::Type;
use super::value::Value;

/// The extension type cty writes for an unknown value.
const UNKNOWN_EXT: i8 = 0;

/// Decodes msgpack bytes as a value of type `ty`.
///
/// # Errors
///
/// [`CodecError::Msgpack`] when the bytes are not one complete msgpack value (trailing bytes
/// included), [`CodecError::Invalid`] when the value does not fit `ty` (for instance `an object
/// with 5 attributes is required (4 given)`), [`CodecError::DynamicType`] when a dynamic
/// value's type is unreadable.
pub fn decode(ty: &Type, bytes: &[u8]) -> Result<Value, CodecError> {
    let mut rest = bytes;
    // rmpv spends about three units of depth per nesting level (value, container, element).
    let raw = rmpv::decode::read_value_with_max_depth(&mut rest, MAX_NESTING * 4)
        .map_err(|source| CodecError::Msgpack { source })?;
    if !rest.is_empty() {
        return Err(CodecError::invalid(
            &AttributePath::root(),
            format!("{} unexpected bytes after the value", rest.len()),
        ));
    }
    from_raw(ty, &raw, &AttributePath::root())
}

/// Encodes a value of type `ty` as msgpack.
///
/// # Errors
///
/// [`CodecError::Conformance`] when `value` does not conform to `ty` (see
/// [`Value::conforms_to`]); nothing is encoded then.
#[allow(
    clippy::missing_panics_doc,
    reason = "the only expect is on writing to a Vec, which cannot fail"
)]
pub fn encode(ty: &Type, value: &Value) -> Result<Vec<u8>, CodecError> {
    value.conforms_to(ty)?;
    let raw = to_raw(ty, value, &AttributePath::root())?;
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, &raw).expect("writing msgpack to a Vec cannot fail");
    Ok(out)
}

/// What kind of msgpack value `raw` is, for messages.
fn raw_kind(raw: &Raw) -> &'static str {
    match raw {
        Raw::Nil => "nil",
        Raw::Boolean(_) => "a bool",
        Raw::Integer(_) => "an integer",
        Raw::F32(_) | Raw::F64(_) => "a float",
        Raw::String(_) => "a string",
        Raw::Binary(_) => "binary data",
        Raw::Array(_) => "an array",
        Raw::Map(_) => "a map",
        Raw::Ext(..) => "an extension",
    }
}

fn from_raw(ty: &Type, raw: &Raw, path: &AttributePath) -> Result<Value, CodecError> {
    let wrong = || {
        Err(CodecError::invalid(
            path,
            format!("{ty} required, found {}", raw_kind(raw)),
        ))
    };
    match (ty, raw) {
        // Any extension code is an unknown: ext 0 from cty, ext 12 for refined unknowns.
        (_, Raw::Ext(..)) => Ok(Value::Unknown),
        (_, Raw::Nil) => Ok(Value::Null),
        (Type::Bool, Raw::Boolean(b)) => Ok(Value::Bool(*b)),
        (Type::Number, _) => number_from_raw(raw, path).map(Value::Number),
        (Type::String, Raw::String(s)) => match s.as_str() {
            Some(s) => Ok(Value::String(s.to_owned())),
            None => Err(CodecError::invalid(path, "string is not valid UTF-8")),
        },
        (Type::String, Raw::Binary(bytes)) => match std::str::from_utf8(bytes) {
            Ok(s) => Ok(Value::String(s.to_owned())),
            Err(_) => Err(CodecError::invalid(path, "string is not valid UTF-8")),
        },
        (Type::List(elem_ty), Raw::Array(elems)) => Ok(Value::List(
            elems
                .iter()
                .zip(0_i64..)
                .map(|(e, i)| from_raw(elem_ty, e, &path.index(i)))
                .collect::<Result<_, _>>()?,
        )),
        (Type::Set(elem_ty), Raw::Array(elems)) => Ok(Value::Set(
            elems
                .iter()
                .map(|e| from_raw(elem_ty, e, path))
                .collect::<Result<_, _>>()?,
        )),
        (Type::Tuple(elem_tys), Raw::Array(elems)) => {
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
                    .map(|((e, t), i)| from_raw(t, e, &path.index(i)))
                    .collect::<Result<_, _>>()?,
            ))
        }
        (Type::Map(elem_ty), Raw::Map(pairs)) => map_from_raw(elem_ty, pairs, path),
        (Type::Object(attr_tys), Raw::Map(pairs)) => object_from_raw(attr_tys, pairs, path),
        (Type::Dynamic, Raw::Array(pair)) => dynamic_from_raw(pair, path),
        _ => wrong(),
    }
}

fn map_from_raw(
    elem_ty: &Type,
    pairs: &[(Raw, Raw)],
    path: &AttributePath,
) -> Result<Value, CodecError> {
    let mut out = BTreeMap::new();
    for (k, v) in pairs {
        let key = map_key(k, path)?;
        let value = from_raw(elem_ty, v, &path.key(&key))?;
        if out.insert(key.clone(), value).is_some() {
            return Err(CodecError::invalid(
                path,
                format!("duplicate map key {key:?}"),
            ));
        }
    }
    Ok(Value::Map(out))
}

/// An object: exactly one key per attribute, as go-cty's `unmarshalObject` demands.
fn object_from_raw(
    attr_tys: &BTreeMap<String, Type>,
    pairs: &[(Raw, Raw)],
    path: &AttributePath,
) -> Result<Value, CodecError> {
    if pairs.len() != attr_tys.len() {
        return Err(CodecError::invalid(
            path,
            format!(
                "an object with {} attributes is required ({} given)",
                attr_tys.len(),
                pairs.len()
            ),
        ));
    }
    let mut out = BTreeMap::new();
    for (k, v) in pairs {
        let name = map_key(k, path)?;
        let Some(attr_ty) = attr_tys.get(&name) else {
            return Err(CodecError::invalid(
                path,
                format!("unsupported attribute {name:?}"),
            ));
        };
        let value = from_raw(attr_ty, v, &path.attr(&name))?;
        if out.insert(name.clone(), value).is_some() {
            return Err(CodecError::invalid(
                path,
                format!("duplicate attribute {name:?}"),
            ));
        }
    }
    // Same count, no unknown names, no duplicates: every attribute is present.
    Ok(Value::Object(out))
}

/// A dynamic value: `[type JSON, value]`.
fn dynamic_from_raw(pair: &[Raw], path: &AttributePath) -> Result<Value, CodecError> {
    let [ty_raw, value_raw] = pair else {
        return Err(CodecError::invalid(
            path,
            format!(
                "a dynamic value must be an array of 2 elements ({} given)",
                pair.len()
            ),
        ));
    };
    let ty_json = match ty_raw {
        Raw::Binary(bytes) => bytes.as_slice(),
        Raw::String(s) => s.as_bytes(),
        other => {
            return Err(CodecError::invalid(
                path,
                format!(
                    "the type of a dynamic value must be JSON bytes, found {}",
                    raw_kind(other)
                ),
            ));
        }
    };
    let concrete = Type::from_json_bytes(ty_json).map_err(|source| CodecError::DynamicType {
        path: path.clone(),
        source,
    })?;
    let value = from_raw(&concrete, value_raw, path)?;
    Ok(if concrete == Type::Dynamic {
        // The inner value already carries its own type (or is null or unknown).
        value
    } else {
        Value::dynamic(concrete, value)
    })
}

fn map_key(raw: &Raw, path: &AttributePath) -> Result<String, CodecError> {
    match raw {
        Raw::String(s) => s
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| CodecError::invalid(path, "map key is not valid UTF-8")),
        other => Err(CodecError::invalid(
            path,
            format!("map keys must be strings, found {}", raw_kind(other)),
        )),
    }
}

fn number_from_raw(raw: &Raw, path: &AttributePath) -> Result<Number, CodecError> {
    let float = |f: f64| {
        if f.is_nan() {
            Err(CodecError::invalid(path, "NaN is not a valid number"))
        } else {
            Ok(Number::from_f64(f))
        }
    };
    match raw {
        Raw::Integer(i) => match (i.as_i64(), i.as_u64()) {
            (Some(i), _) => Ok(Number::from_i64(i)),
            (None, Some(u)) => Ok(Number::from_u64(u)),
            (None, None) => Err(CodecError::invalid(path, "integer out of range")),
        },
        Raw::F32(f) => float(f64::from(*f)),
        Raw::F64(f) => float(*f),
        Raw::String(s) => {
            let text = s
                .as_str()
                .ok_or_else(|| CodecError::invalid(path, "number text is not valid UTF-8"))?;
            text.parse()
                .map_err(|e| CodecError::invalid(path, format!("invalid number: {e}")))
        }
        other => Err(CodecError::invalid(
            path,
            format!("number required, found {}", raw_kind(other)),
        )),
    }
}

fn to_raw(ty: &Type, value: &Value, path: &AttributePath) -> Result<Raw, CodecError> {
    // `encode` checked conformance first, so the fallback arm is a defect, reported not panicked.
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
        (_, Value::Unknown) => Raw::Ext(UNKNOWN_EXT, vec![0]),
        (_, Value::Null) => Raw::Nil,
        (Type::Bool, Value::Bool(b)) => Raw::Boolean(*b),
        (Type::Number, Value::Number(n)) => match n.wire() {
            WireNumber::Int(i) => Raw::from(i),
            WireNumber::Float(f) => Raw::F64(f),
            WireNumber::Text(text) => Raw::from(text),
        },
        (Type::String, Value::String(s)) => Raw::from(s.as_str()),
        (Type::List(elem_ty), Value::List(elems)) => Raw::Array(
            elems
                .iter()
                .zip(0_i64..)
                .map(|(e, i)| to_raw(elem_ty, e, &path.index(i)))
                .collect::<Result<_, _>>()?,
        ),
        (Type::Set(elem_ty), Value::Set(elems)) => Raw::Array(
            elems
                .iter()
                .map(|e| to_raw(elem_ty, e, path))
                .collect::<Result<_, _>>()?,
        ),
        (Type::Tuple(elem_tys), Value::Tuple(elems)) if elem_tys.len() == elems.len() => {
            Raw::Array(
                elems
                    .iter()
                    .zip(elem_tys)
                    .zip(0_i64..)
                    .map(|((e, t), i)| to_raw(t, e, &path.index(i)))
                    .collect::<Result<_, _>>()?,
            )
        }
        (Type::Map(elem_ty), Value::Map(elems)) => Raw::Map(
            elems
                .iter()
                .map(|(k, e)| Ok((Raw::from(k.as_str()), to_raw(elem_ty, e, &path.key(k))?)))
                .collect::<Result<_, CodecError>>()?,
        ),
        (Type::Object(attr_tys), Value::Object(attrs)) if attr_tys.len() == attrs.len() => {
            Raw::Map(
                attr_tys
                    .iter()
                    .map(|(name, attr_ty)| {
                        let attr = attrs.get(name).ok_or_else(defect)?;
                        Ok((
                            Raw::from(name.as_str()),
                            to_raw(attr_ty, attr, &path.attr(name))?,
                        ))
                    })
                    .collect::<Result<_, CodecError>>()?,
            )
        }
        (Type::Dynamic, Value::Dynamic(concrete, inner)) => Raw::Array(vec![
            Raw::Binary(concrete.to_json_bytes()),
            to_raw(concrete, inner, path)?,
        ]),
        _ => return Err(defect()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tfvalue::testing::{arb_type, arb_value};
    use proptest::prelude::*;

    fn hex(bytes: &[u8]) -> String {
        hex::encode(bytes)
    }

    fn unhex(text: &str) -> Vec<u8> {
        hex::decode(text).unwrap()
    }

    fn two_attrs() -> Type {
        Type::object([("a", Type::String), ("b", Type::Number)])
    }

    #[test]
    fn encodes_unknown_as_fixext1_of_type_zero() {
        assert_eq!(
            hex(&encode(&Type::String, &Value::Unknown).unwrap()),
            "d40000"
        );
    }

    #[test]
    fn encodes_null_as_nil_for_any_type() {
        assert_eq!(hex(&encode(&two_attrs(), &Value::Null).unwrap()), "c0");
    }

    #[test]
    fn encodes_object_as_map_in_attribute_order() {
        let v = Value::object([("b", Value::from(1)), ("a", Value::string("x"))]);
        // {"a": "x", "b": 1}
        assert_eq!(hex(&encode(&two_attrs(), &v).unwrap()), "82a161a178a16201");
    }

    #[test]
    fn encodes_dynamic_as_type_json_then_value() {
        let v = Value::dynamic(Type::String, Value::string("x"));
        // [bin8 "\"string\"", "x"]
        assert_eq!(
            hex(&encode(&Type::Dynamic, &v).unwrap()),
            format!("92c408{}a178", hex(br#""string""#))
        );
        assert_eq!(
            decode(&Type::Dynamic, &encode(&Type::Dynamic, &v).unwrap()).unwrap(),
            v
        );
    }

    #[test]
    fn decodes_dynamic_type_given_as_str_too() {
        let bytes = unhex(&format!("92a6{}c3", hex(br#""bool""#)));
        assert_eq!(
            decode(&Type::Dynamic, &bytes).unwrap(),
            Value::dynamic(Type::Bool, Value::Bool(true))
        );
    }

    #[test]
    fn encodes_unknown_and_null_attributes_in_place() {
        let v = Value::object([("a", Value::Unknown), ("b", Value::Null)]);
        // {"a": unknown, "b": nil}
        assert_eq!(
            hex(&encode(&two_attrs(), &v).unwrap()),
            "82a161d40000a162c0"
        );
        assert_eq!(
            decode(&two_attrs(), &unhex("82a161d40000a162c0")).unwrap(),
            v
        );
    }

    #[test]
    fn decodes_nested_dynamic_type_without_double_wrapping() {
        // ["dynamic", ["string", "x"]]
        let inner = format!("92c408{}a178", hex(br#""string""#));
        let bytes = unhex(&format!("92c409{}{inner}", hex(br#""dynamic""#)));
        assert_eq!(
            decode(&Type::Dynamic, &bytes).unwrap(),
            Value::dynamic(Type::String, Value::string("x"))
        );
    }

    #[test]
    fn rejects_dynamic_value_that_is_not_a_pair() {
        let err = decode(&Type::Dynamic, &unhex("91c3")).unwrap_err();
        assert!(err.to_string().contains("2 elements (1 given)"), "{err}");
        assert!(decode(&Type::Dynamic, &unhex("c3")).is_err());
    }

    #[test]
    fn decodes_typed_null_at_dynamic_position_as_plain_null() {
        let bytes = unhex(&format!("92c408{}c0", hex(br#""string""#)));
        assert_eq!(decode(&Type::Dynamic, &bytes).unwrap(), Value::Null);
    }

    #[test]
    fn encodes_big_number_as_its_decimal_text() {
        let n: Number = "123456789012345678901234567890".parse().unwrap();
        let bytes = encode(&Type::Number, &Value::Number(n.clone())).unwrap();
        assert_eq!(bytes[0], 0xbe, "fixstr of 30 bytes");
        assert_eq!(&bytes[1..], b"123456789012345678901234567890");
        assert_eq!(decode(&Type::Number, &bytes).unwrap(), Value::Number(n));
    }

    #[test]
    fn encodes_integers_compactly_and_fractions_as_float64() {
        assert_eq!(hex(&encode(&Type::Number, &Value::from(5)).unwrap()), "05");
        assert_eq!(hex(&encode(&Type::Number, &Value::from(-1)).unwrap()), "ff");
        assert_eq!(
            hex(&encode(&Type::Number, &Value::number(1.0)).unwrap()),
            "01"
        );
        assert_eq!(
            hex(&encode(&Type::Number, &Value::number(0.5)).unwrap()),
            "cb3fe0000000000000"
        );
    }

    #[test]
    fn decodes_every_number_encoding() {
        let one = Value::from(1);
        for bytes in [
            "01",
            "cc01",
            "cd0001",
            "d001",
            "ca3f800000",
            "cb3ff0000000000000",
            "a131",
        ] {
            assert_eq!(
                decode(&Type::Number, &unhex(bytes)).unwrap(),
                one,
                "{bytes}"
            );
        }
        let max = decode(&Type::Number, &unhex("cfffffffffffffffff")).unwrap();
        assert_eq!(max.as_number().and_then(Number::as_u64), Some(u64::MAX));
    }

    #[test]
    fn rejects_nan_and_bad_number_text() {
        assert!(decode(&Type::Number, &unhex("cb7ff8000000000000")).is_err());
        assert!(decode(&Type::Number, &unhex("a3616263")).is_err());
        assert!(encode(&Type::Number, &Value::number(f64::NAN)).is_err());
    }

    #[test]
    fn decodes_any_extension_as_unknown() {
        assert_eq!(
            decode(&Type::String, &unhex("d40000")).unwrap(),
            Value::Unknown
        );
        // ext 12, a refined unknown: {1: false} ("definitely not null").
        assert_eq!(
            decode(&Type::String, &unhex("c7030c8101c2")).unwrap(),
            Value::Unknown
        );
        assert_eq!(
            decode(&Type::Number, &unhex("d50c0000")).unwrap(),
            Value::Unknown
        );
        assert_eq!(
            decode(&two_attrs(), &unhex("d40c00")).unwrap(),
            Value::Unknown
        );
    }

    #[test]
    fn rejects_object_with_missing_attribute_like_terraform() {
        // {"a": "x"} for an object of two attributes.
        let err = decode(&two_attrs(), &unhex("81a161a178")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "an object with 2 attributes is required (1 given) at (root)"
        );
    }

    #[test]
    fn rejects_object_with_an_unknown_attribute_name() {
        // {"a": "x", "c": 1}
        let err = decode(&two_attrs(), &unhex("82a161a178a16301")).unwrap_err();
        assert!(
            err.to_string().contains(r#"unsupported attribute "c""#),
            "{err}"
        );
    }

    #[test]
    fn rejects_object_repeating_an_attribute() {
        // {"a": "x", "a": "y"}
        let err = decode(&two_attrs(), &unhex("82a161a178a161a179")).unwrap_err();
        assert!(err.to_string().contains("duplicate"), "{err}");
    }

    #[test]
    fn rejects_encoding_an_object_with_wrong_arity() {
        let v = Value::object([("a", Value::string("x"))]);
        let err = encode(&two_attrs(), &v).unwrap_err();
        assert!(matches!(err, CodecError::Conformance { .. }), "{err}");
        assert_eq!(err.path(), AttributePath::root());
    }

    #[test]
    fn reports_the_path_of_a_wrong_nested_value() {
        let ty = Type::object([("users", Type::list(Type::String))]);
        // {"users": ["a", 1]}
        let err = decode(&ty, &unhex("81a5757365727392a16101")).unwrap_err();
        assert_eq!(err.path(), AttributePath::root().attr("users").index(1));
        assert_eq!(
            err.to_string(),
            "string required, found an integer at users[1]"
        );
    }

    #[test]
    fn rejects_tuple_of_wrong_length() {
        let ty = Type::Tuple(vec![Type::Bool, Type::Bool]);
        assert!(decode(&ty, &unhex("91c3")).is_err());
        assert!(decode(&ty, &unhex("92c3c2")).is_ok());
    }

    #[test]
    fn rejects_trailing_and_truncated_bytes() {
        assert!(decode(&Type::Bool, &unhex("c3c3")).is_err());
        assert!(matches!(
            decode(&Type::String, &unhex("a5616263")),
            Err(CodecError::Msgpack { .. })
        ));
        assert!(decode(&Type::String, &[]).is_err());
    }

    #[test]
    fn rejects_unreadable_dynamic_type() {
        let bytes = unhex(&format!("92c405{}c3", hex(b"\"int\"")));
        assert!(matches!(
            decode(&Type::Dynamic, &bytes),
            Err(CodecError::DynamicType { .. })
        ));
    }

    #[test]
    fn rejects_hostile_nesting_without_overflowing_the_stack() {
        let ty = (0..300).fold(Type::Bool, |t, _| Type::list(t));
        let mut bytes = vec![0x91; 300];
        bytes.push(0xc3);
        assert!(decode(&ty, &bytes).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn decode_inverts_encode((ty, value) in arb_type().prop_flat_map(|t| (Just(t.clone()), arb_value(t, true)))) {
            let bytes = encode(&ty, &value).unwrap();
            prop_assert_eq!(decode(&ty, &bytes).unwrap(), value);
        }

        #[test]
        fn decoding_random_bytes_never_panics(ty in arb_type(), bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&ty, &bytes);
        }

        #[test]
        fn decoding_mutated_valid_bytes_never_panics(
            (ty, value) in arb_type().prop_flat_map(|t| (Just(t.clone()), arb_value(t, true))),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        ) {
            let mut bytes = encode(&ty, &value).unwrap();
            for (at, byte) in flips {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            if let Ok(decoded) = decode(&ty, &bytes) {
                prop_assert!(decoded.conforms_to(&ty).is_ok());
            }
        }
    }
}
