//! The one YAML emitter configuration of the domain: the shared `config.yaml`
//! ([`crate::georep::config::render`]) and a site's objects and `clair-config.yaml`
//! ([`crate::georep::site`]) are written with the same options, so every document the
//! provider renders quotes, indents and folds the same way. And the one reader of
//! `config.yaml` texts, [`parse`], which parses each distinct text once per process.

use std::sync::{Arc, Mutex};

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

/// The last few texts parsed, newest (or last asked for) first, with their values. No
/// `Debug`: the texts hold secrets.
#[derive(Default)]
struct ParseCache {
    kept: Vec<(String, Arc<Value>)>,
}

impl ParseCache {
    /// How many distinct texts are kept: the shared `config.yaml` a plan's sites all carry,
    /// and a prior and a planned one when it changes.
    const KEPT: usize = 4;

    /// The value of `text` if kept, moved to the front.
    fn get(&mut self, text: &str) -> Option<Arc<Value>> {
        let at = self.kept.iter().position(|(seen, _)| seen == text)?;
        let entry = self.kept.remove(at);
        let value = Arc::clone(&entry.1);
        self.kept.insert(0, entry);
        Some(value)
    }

    /// Keeps `value` as the parse of `text`, forgetting the least recently used beyond
    /// [`Self::KEPT`].
    fn put(&mut self, text: &str, value: Arc<Value>) {
        if self.get(text).is_none() {
            self.kept.insert(0, (text.to_owned(), value));
            self.kept.truncate(Self::KEPT);
        }
    }
}

/// The process's cache of [`parse`].
static PARSED: Mutex<ParseCache> = Mutex::new(ParseCache { kept: Vec::new() });

/// The cache, whatever another thread did: a poisoned lock only means one panicked while
/// holding it, and every state of the list is valid.
fn parsed() -> std::sync::MutexGuard<'static, ParseCache> {
    PARSED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `text` parsed as YAML, from a cache of the last four texts parsed in this process.
///
/// Why a cache: every site of a plan carries the same shared `config.yaml` (one storage block
/// per site, so it grows with the number of sites), and each Terraform call about a site reads
/// it several times (validation, the checks of a change, the bundle's files). Measured on a
/// release build, a plan of 30 sites on Terraform 1.11 spent 23% of its CPU (Terraform's and
/// the provider's together) parsing that one text again and again. A text is kept whole and
/// compared whole, so a cached answer is always the one parsing would give. The texts hold
/// secrets; the cache is never printed.
///
/// # Errors
///
/// serde-saphyr's, with the line and column, when `text` is not YAML (not cached).
pub fn parse(text: &str) -> Result<Arc<Value>, serde_saphyr::Error> {
    if let Some(value) = parsed().get(text) {
        return Ok(value);
    }
    let value = Arc::new(serde_saphyr::from_str::<Value>(text)?);
    parsed().put(text, Arc::clone(&value));
    Ok(value)
}

/// The top-level keys of `text`; `None` when it is not YAML or not a map.
pub fn top_level(text: &str) -> Option<Arc<Value>> {
    parse(text).ok().filter(|value| value.is_object())
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
    fn a_text_parses_the_same_from_the_cache_and_a_changed_text_is_parsed_anew() {
        let first = parse("A: 1\nB: [x]\n").unwrap();
        let again = parse("A: 1\nB: [x]\n").unwrap();
        assert_eq!(first, again);
        assert_eq!(*again, serde_json::json!({"A": 1, "B": ["x"]}));
        let changed = parse("A: 2\nB: [x]\n").unwrap();
        assert_eq!(changed["A"], 2);
        assert!(parse("A: [unclosed\n").is_err());
        assert_eq!(top_level("- a list\n"), None);
    }

    #[test]
    fn the_cache_hands_out_what_it_kept_and_forgets_the_least_recently_used() {
        let mut cache = ParseCache::default();
        let value = |n: i64| Arc::new(serde_json::json!({ "N": n }));
        let first = value(0);
        cache.put("text 0", Arc::clone(&first));
        let kept = cache.get("text 0").unwrap();
        assert!(Arc::ptr_eq(&first, &kept), "a kept text was not handed out");
        for n in 1..4 {
            cache.put(&format!("text {n}"), value(n));
        }
        // "text 0" asked for again is the most recent; a fifth text evicts "text 1".
        assert!(cache.get("text 0").is_some());
        cache.put("text 4", value(4));
        assert!(cache.get("text 1").is_none());
        for n in [0, 2, 3, 4] {
            assert!(
                cache.get(&format!("text {n}")).is_some(),
                "text {n} was evicted"
            );
        }
    }
}
