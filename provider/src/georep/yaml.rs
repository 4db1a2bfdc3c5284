//! The one YAML emitter configuration of the domain: the shared `config.yaml`
//! ([`crate::georep::config::render`]) and a site's objects and `clair-config.yaml`
//! ([`crate::georep::site`]) are written with the same options, so every document the
//! provider renders quotes, indents and folds the same way. And the one reader of a
//! `config.yaml` ([`parse`]), which parses each text once per process.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

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

/// How many parsed texts [`parse`] keeps: the shared config before and after a change, and a
/// few more for configurations with several.
const PARSED_KEPT: usize = 8;

/// `(sha256 of the text, its value)`, most recently parsed last.
type Parsed = Vec<([u8; 32], Arc<Value>)>;

static PARSED: OnceLock<Mutex<Parsed>> = OnceLock::new();

/// `text` parsed as YAML into a JSON value, from a per-process memo of the last few texts.
///
/// Every site of a configuration plans with the same shared `config.yaml`, whose size grows
/// with the number of storage locations, and each site's validation and plan read it several
/// times (its checks of keys, removals and files): parsing it once per process instead of
/// several times per site keeps a refresh plan of N sites from costing N squared parses.
/// The memo holds values by the text's hash, never the text; a text that does not parse is
/// not kept (its error is reported again, with its line).
///
/// # Errors
/// serde-saphyr's, with the location of the problem.
pub fn parse(text: &str) -> Result<Arc<Value>, serde_saphyr::Error> {
    use sha2::{Digest as _, Sha256};
    let key: [u8; 32] = Sha256::digest(text.as_bytes()).into();
    let memo = PARSED.get_or_init(Mutex::default);
    let hit = memo
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .find(|(kept, _)| *kept == key)
        .map(|(_, value)| Arc::clone(value));
    if let Some(value) = hit {
        return Ok(value);
    }
    let value = Arc::new(serde_saphyr::from_str::<Value>(text)?);
    let mut kept = memo.lock().unwrap_or_else(PoisonError::into_inner);
    if !kept.iter().any(|(k, _)| *k == key) {
        if kept.len() >= PARSED_KEPT {
            kept.remove(0);
        }
        kept.push((key, Arc::clone(&value)));
    }
    Ok(value)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_parses_to_the_same_value_each_time_and_an_error_keeps_its_line() {
        let text = "SERVER_HOSTNAME: quay.example\nFEATURE_STORAGE_REPLICATION: true\n";
        let first = parse(text).unwrap();
        let second = parse(text).unwrap();
        assert!(Arc::ptr_eq(&first, &second), "parsed once");
        assert_eq!(first["FEATURE_STORAGE_REPLICATION"], true);
        let other = parse("SERVER_HOSTNAME: other.example\n").unwrap();
        assert_eq!(other["SERVER_HOSTNAME"], "other.example");
        let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.location().is_some());
        assert!(
            parse("a: [1, 2\nb: 3\n").is_err(),
            "an error is not remembered as a value"
        );
    }
}
