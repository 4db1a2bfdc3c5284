//! Building the JSON form of a decoded `k8s-pb` message field by field, and refusing the
//! fields nobody converted.
//!
//! The API server's protobuf encoding (Go's generated marshallers) writes every non-pointer
//! field, zero or not: an empty `workingDir`, `stdin: false`, an empty `status {}`. JSON
//! clients omit those (`omitempty`), so the helpers here leave empty strings, lists and maps
//! out. A converter takes each field it knows out of the message; [`Obj::finish`] then checks
//! that what is left only holds zero values, so a field the simulator does not convert is a
//! clear 400 rather than silently lost data.

use std::collections::BTreeMap;

use base64::Engine as _;
use k8s_pb::apimachinery::pkg::api::resource::Quantity;
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
use prost::Message;
use serde_json::{Map, Value, json};

use super::error::Error;

/// A JSON object under construction.
#[derive(Default)]
pub(super) struct Obj(Map<String, Value>);

impl Obj {
    pub(super) fn new() -> Self {
        Self::default()
    }

    /// A string; empty is left out (Go's `omitempty`, and what a non-pointer zero looks like).
    pub(super) fn str(&mut self, key: &str, value: Option<String>) -> &mut Self {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            self.0.insert(key.to_owned(), json!(v));
        }
        self
    }

    /// A pointer integer (`replicas`): zero is a value, only absence is left out.
    pub(super) fn int(&mut self, key: &str, value: Option<impl Into<i64>>) -> &mut Self {
        if let Some(v) = value {
            self.0.insert(key.to_owned(), json!(v.into()));
        }
        self
    }

    /// A non-pointer integer with `omitempty` (`nodePort`, `hostPort`): zero is left out.
    pub(super) fn int_nz(&mut self, key: &str, value: Option<impl Into<i64>>) -> &mut Self {
        self.int(key, value.map(Into::<i64>::into).filter(|v| *v != 0))
    }

    /// A pointer boolean: `false` is a value.
    pub(super) fn bool(&mut self, key: &str, value: Option<bool>) -> &mut Self {
        if let Some(v) = value {
            self.0.insert(key.to_owned(), json!(v));
        }
        self
    }

    /// A non-pointer boolean with `omitempty`: `false` is left out.
    pub(super) fn bool_true(&mut self, key: &str, value: Option<bool>) -> &mut Self {
        self.bool(key, value.filter(|v| *v))
    }

    /// A list of strings; empty is left out.
    pub(super) fn strs(&mut self, key: &str, value: Vec<String>) -> &mut Self {
        if !value.is_empty() {
            self.0.insert(key.to_owned(), json!(value));
        }
        self
    }

    /// A string map; empty is left out.
    pub(super) fn str_map(&mut self, key: &str, value: BTreeMap<String, String>) -> &mut Self {
        if !value.is_empty() {
            self.0.insert(key.to_owned(), json!(value));
        }
        self
    }

    /// A bytes map, base64 in JSON (`Secret.data`, `ConfigMap.binaryData`).
    pub(super) fn bytes_map(&mut self, key: &str, value: BTreeMap<String, Vec<u8>>) -> &mut Self {
        if !value.is_empty() {
            let b64 = base64::engine::general_purpose::STANDARD;
            let map: Map<String, Value> = value
                .into_iter()
                .map(|(k, v)| (k, json!(b64.encode(v))))
                .collect();
            self.0.insert(key.to_owned(), Value::Object(map));
        }
        self
    }

    /// A map of quantities (`resources.limits`, `overhead`).
    pub(super) fn quantities(&mut self, key: &str, value: BTreeMap<String, Quantity>) -> &mut Self {
        if !value.is_empty() {
            let map: Map<String, Value> = value
                .into_iter()
                .map(|(k, q)| (k, json!(q.string.unwrap_or_default())))
                .collect();
            self.0.insert(key.to_owned(), Value::Object(map));
        }
        self
    }

    /// An int-or-string (`targetPort`, `maxSurge`).
    pub(super) fn int_or_string(&mut self, key: &str, value: Option<IntOrString>) -> &mut Self {
        if let Some(v) = value {
            let json = if v.r#type == Some(1) {
                json!(v.str_val.unwrap_or_default())
            } else {
                json!(v.int_val.unwrap_or_default())
            };
            self.0.insert(key.to_owned(), json);
        }
        self
    }

    /// A nested message converted by `convert`. A message that converts to `{}` is kept:
    /// `resources: {}` and `strategy: {}` are what kubectl's JSON holds too.
    pub(super) fn msg<T>(
        &mut self,
        key: &str,
        value: Option<T>,
        convert: impl FnOnce(T) -> Result<Value, Error>,
    ) -> Result<&mut Self, Error> {
        if let Some(v) = value {
            self.0.insert(key.to_owned(), convert(v)?);
        }
        Ok(self)
    }

    /// A list of messages; empty is left out.
    pub(super) fn list<T>(
        &mut self,
        key: &str,
        value: Vec<T>,
        convert: impl Fn(T) -> Result<Value, Error>,
    ) -> Result<&mut Self, Error> {
        if !value.is_empty() {
            let items = value.into_iter().map(convert).collect::<Result<_, _>>()?;
            self.0.insert(key.to_owned(), Value::Array(items));
        }
        Ok(self)
    }

    /// A value built elsewhere.
    pub(super) fn set(&mut self, key: &str, value: Value) -> &mut Self {
        self.0.insert(key.to_owned(), value);
        self
    }

    /// The object, after checking that `rest` (the message with every converted field taken
    /// out) holds nothing but zero values.
    ///
    /// # Errors
    /// [`Error::Unconverted`] naming the message and the field number left over.
    pub(super) fn finish<M: Message>(
        self,
        message: &'static str,
        rest: &M,
    ) -> Result<Value, Error> {
        if let Some(field) = first_nonzero_field(&rest.encode_to_vec(), 0) {
            return Err(Error::Unconverted { message, field });
        }
        Ok(Value::Object(self.0))
    }
}

/// The first field of an encoded message that holds something other than a zero value, or
/// `None`. A length-delimited field counts as zero when empty or when it parses as a message
/// of zero values (how Go writes an empty non-pointer struct such as `status {}`).
fn first_nonzero_field(data: &[u8], depth: u8) -> Option<u64> {
    let mut pos = 0;
    while pos < data.len() {
        let (key, next) = varint(data, pos)?;
        pos = next;
        let tag = key >> 3;
        match key & 7 {
            0 => {
                let (value, next) = varint(data, pos)?;
                pos = next;
                if value != 0 {
                    return Some(tag);
                }
            }
            1 | 5 => {
                let width = if key & 7 == 1 { 8 } else { 4 };
                let bytes = data.get(pos..pos + width)?;
                pos += width;
                if bytes.iter().any(|b| *b != 0) {
                    return Some(tag);
                }
            }
            2 => {
                let (len, next) = varint(data, pos)?;
                let end = next.checked_add(usize::try_from(len).ok()?)?;
                let inner = data.get(next..end)?;
                pos = end;
                let zero = inner.is_empty() || (depth < 8 && parses_as_zero(inner, depth + 1));
                if !zero {
                    return Some(tag);
                }
            }
            _ => return Some(tag),
        }
    }
    None
}

fn parses_as_zero(data: &[u8], depth: u8) -> bool {
    // A malformed inner message is not a zero message: it is data (a string, bytes).
    well_formed(data) && first_nonzero_field(data, depth).is_none()
}

fn well_formed(data: &[u8]) -> bool {
    let mut pos = 0;
    while pos < data.len() {
        let Some((key, next)) = varint(data, pos) else {
            return false;
        };
        pos = next;
        let step = match key & 7 {
            0 => varint(data, pos).map(|(_, n)| n),
            1 => Some(pos + 8),
            5 => Some(pos + 4),
            2 => varint(data, pos).and_then(|(len, n)| n.checked_add(usize::try_from(len).ok()?)),
            _ => None,
        };
        match step {
            Some(n) if n <= data.len() && key >> 3 != 0 => pos = n,
            _ => return false,
        }
    }
    true
}

fn varint(data: &[u8], mut pos: usize) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *data.get(pos)?;
        pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some((value, pos));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_values_and_empty_structs_count_as_nothing() {
        // workingDir "" (5), stdin false (16), resources {} (8) holding limits {} ...
        let data = [0x2a, 0x00, 0x80, 0x01, 0x00, 0x42, 0x02, 0x0a, 0x00];
        assert_eq!(first_nonzero_field(&data, 0), None);
    }

    #[test]
    fn a_string_with_content_is_reported_with_its_field() {
        let data = [0x2a, 0x03, b'/', b'v', b'r'];
        assert_eq!(first_nonzero_field(&data, 0), Some(5));
    }
}
