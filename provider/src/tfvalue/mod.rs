//! Terraform's value model: cty types and values, their wire codecs, schemas, paths and
//! diagnostics. Our equivalent of terraform-plugin-go's `tftypes` and `diag`.
//!
//! # Brief overview
//!
//! - [`Type`]: a cty type, with its JSON form for schemas and dynamic values.
//! - [`Value`]: a cty value that tells unknown from null at any depth; [`Number`] keeps
//!   arbitrary precision. [`Value::conforms_to`] checks a value against a type.
//! - [`msgpack`] and [`json`]: `DynamicValue` codecs, each a `decode(ty, bytes)` and an
//!   `encode(ty, value)`; [`decode_dynamic`] picks the field Terraform filled.
//! - [`Schema`], [`Block`], [`Attribute`], [`NestedBlock`]: schemas as data, with the object
//!   type they imply and Terraform's own definition checks.
//! - [`AttributePath`] and [`Diagnostics`]: where a problem is, and how it is reported.
//!
//! This module is pure: no protobuf types, no I/O, no logging. The plugin layer converts
//! between these types and the generated protobuf messages.

#![warn(clippy::pedantic)]

mod codec;
pub mod diagnostics;
pub mod json;
pub mod msgpack;
mod number;
pub mod path;
pub mod schema;
#[cfg(test)]
pub(crate) mod testing;
pub mod types;
pub mod value;

pub use codec::CodecError;
pub use diagnostics::{Diagnostic, Diagnostics, Severity};
pub use number::ParseNumberError;
pub use path::{AttributePath, PathStep};
pub use schema::{Attribute, Block, NestedBlock, Nesting, Presence, Schema, SchemaError};
pub use types::{Type, TypeError};
pub use value::{ConformanceError, Mismatch, Number, Value};

/// Decodes a `DynamicValue` the way Terraform does: from `msgpack` if non-empty, else from
/// `json` if non-empty, else null.
///
/// # Errors
///
/// As [`msgpack::decode`] or [`json::decode`], whichever was used.
pub fn decode_dynamic(ty: &Type, msgpack: &[u8], json: &[u8]) -> Result<Value, CodecError> {
    if !msgpack.is_empty() {
        self::msgpack::decode(ty, msgpack)
    } else if !json.is_empty() {
        self::json::decode(ty, json)
    } else {
        Ok(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_dynamic_value_is_null() {
        assert_eq!(
            decode_dynamic(&Type::String, &[], &[]).unwrap(),
            Value::Null
        );
    }

    #[test]
    fn msgpack_wins_over_json() {
        // msgpack "a", JSON "b".
        let value = decode_dynamic(&Type::String, &[0xa1, b'a'], br#""b""#).unwrap();
        assert_eq!(value, Value::string("a"));
    }

    #[test]
    fn falls_back_to_json() {
        let value = decode_dynamic(&Type::String, &[], br#""b""#).unwrap();
        assert_eq!(value, Value::string("b"));
    }
}
