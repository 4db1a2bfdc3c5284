//! The one YAML emitter configuration of the domain: the shared `config.yaml`
//! ([`crate::georep::config::render`]) and a site's objects and `clair-config.yaml`
//! ([`crate::georep::site`]) are written with the same options, so every document the
//! provider renders quotes, indents and folds the same way.

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

/// serde-saphyr's options for every rendered document: two-space indent, no folded or literal
/// block scalars (long secrets stay one plain line), and YAML 1.1 quoting, so that Quay's
/// PyYAML reads strings such as `yes` or `0123` as strings.
pub fn options() -> serde_saphyr::SerializerOptions {
    let mut options = serde_saphyr::SerializerOptions::default();
    options.indent_step = 2;
    options.prefer_block_scalars = false;
    options.yaml_12 = false;
    options
}

/// YAML of `value` with every map's keys sorted, written with [`options`].
///
/// # Panics
///
/// Never in practice: JSON values always serialize.
pub fn to_yaml(value: &Value) -> String {
    serde_saphyr::to_string_with_options(&Sorted(value), options())
        .expect("a JSON value always serializes to YAML")
}

/// Serializes a JSON value with object keys sorted, whatever serde_json's map order is.
struct Sorted<'a>(&'a Value);

impl Serialize for Sorted<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Sorted(item))?;
                }
                seq.end()
            }
            Value::Object(fields) => {
                let mut keys: Vec<&String> = fields.keys().collect();
                keys.sort();
                let mut map = serializer.serialize_map(Some(keys.len()))?;
                for key in keys {
                    map.serialize_entry(key, &Sorted(&fields[key]))?;
                }
                map.end()
            }
            scalar => scalar.serialize(serializer),
        }
    }
}
