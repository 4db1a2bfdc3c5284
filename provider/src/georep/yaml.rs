//! The one YAML emitter configuration of the domain: the shared `config.yaml`
//! ([`crate::georep::config::render`]) and a site's objects and `clair-config.yaml`
//! ([`crate::georep::site`]) are written with the same options, so every document the
//! provider renders quotes, indents and folds the same way. And the one reader of a
//! `config.yaml` ([`parse`]), which parses each text once per process.

use std::sync::{Arc, Mutex, PoisonError};

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

/// Parsed texts by their sha256, most recently parsed last, at most `capacity`.
#[derive(Debug)]
struct Memo {
    capacity: usize,
    kept: Mutex<Vec<([u8; 32], Arc<Value>)>>,
}

impl Memo {
    const fn new(capacity: usize) -> Self {
        Self {
            capacity,
            kept: Mutex::new(Vec::new()),
        }
    }

    fn parse(&self, text: &str) -> Result<Arc<Value>, serde_saphyr::Error> {
        use sha2::{Digest as _, Sha256};
        let key: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        let hit = self
            .lock()
            .iter()
            .find(|(kept, _)| *kept == key)
            .map(|(_, value)| Arc::clone(value));
        if let Some(value) = hit {
            return Ok(value);
        }
        let value = Arc::new(serde_saphyr::from_str::<Value>(text)?);
        let mut kept = self.lock();
        if !kept.iter().any(|(k, _)| *k == key) {
            if kept.len() >= self.capacity {
                kept.remove(0);
            }
            kept.push((key, Arc::clone(&value)));
        }
        Ok(value)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<([u8; 32], Arc<Value>)>> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

static PARSED: Memo = Memo::new(PARSED_KEPT);

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
    PARSED.parse(text)
}

/// The top-level keys of `text`, when it parses as a YAML mapping ([`parse`]).
pub fn parse_map(text: &str) -> Option<serde_json::Map<String, Value>> {
    match parse(text).ok()?.as_ref() {
        Value::Object(keys) => Some(keys.clone()),
        _ => None,
    }
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
        let memo = Memo::new(2);
        let text = "SERVER_HOSTNAME: quay.example\nFEATURE_STORAGE_REPLICATION: true\n";
        let first = memo.parse(text).unwrap();
        assert!(
            Arc::ptr_eq(&first, &memo.parse(text).unwrap()),
            "parsed once"
        );
        assert_eq!(first["FEATURE_STORAGE_REPLICATION"], true);
        let other = memo.parse("SERVER_HOSTNAME: other.example\n").unwrap();
        assert_eq!(other["SERVER_HOSTNAME"], "other.example");
        let err = memo.parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.location().is_some());
        assert!(
            memo.parse("a: [1, 2\nb: 3\n").is_err(),
            "an error is not kept as a value"
        );
        // A third text pushes the oldest out: parsed again, equal but not the same value.
        memo.parse("c: 1\n").unwrap();
        let again = memo.parse(text).unwrap();
        assert!(!Arc::ptr_eq(&first, &again) && first == again);
    }
}
