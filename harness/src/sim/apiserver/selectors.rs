//! Label and field selectors as the list and watch verbs accept them.
//!
//! Parses the query-string forms (`app=web,tier!=db`, `env in (a,b)`, `!legacy`,
//! `metadata.name=x`) into values that can be matched against objects. It does not know
//! about HTTP; an error here becomes a 400 `BadRequest`.

use serde_json::Value;

/// A selector that could not be parsed or uses an unsupported field.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The label selector text is malformed.
    #[error("unable to parse requirement: {selector:?}")]
    Label {
        /// The selector as given.
        selector: String,
    },
    /// The field selector names a field the server cannot select on.
    #[error("field label not supported: {field}")]
    UnsupportedField {
        /// The field as given.
        field: String,
    },
    /// The field selector text is malformed.
    #[error("invalid field selector: {selector:?}")]
    Field {
        /// The selector as given.
        selector: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Eq(String),
    NotEq(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    NotExists,
}

/// A parsed label selector: every requirement must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector {
    requirements: Vec<(String, Op)>,
}

impl LabelSelector {
    /// Parse `a=b,c!=d,e in (f,g),h notin (i),j,!k`.
    ///
    /// # Errors
    /// [`Error::Label`] when a requirement is malformed.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let bad = || Error::Label {
            selector: text.to_owned(),
        };
        let mut requirements = Vec::new();
        for part in split_top_level(text) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let req = if let Some(key) = part.strip_prefix('!') {
                (valid_key(key.trim()).ok_or_else(bad)?, Op::NotExists)
            } else if let Some((k, v)) = part.split_once("!=") {
                (
                    valid_key(k.trim()).ok_or_else(bad)?,
                    Op::NotEq(v.trim().to_owned()),
                )
            } else if let Some((k, v)) = part.split_once("==") {
                (
                    valid_key(k.trim()).ok_or_else(bad)?,
                    Op::Eq(v.trim().to_owned()),
                )
            } else if let Some((k, v)) = part.split_once('=') {
                (
                    valid_key(k.trim()).ok_or_else(bad)?,
                    Op::Eq(v.trim().to_owned()),
                )
            } else if let Some((k, rest)) = split_set_op(part, " notin ") {
                (
                    valid_key(k).ok_or_else(bad)?,
                    Op::NotIn(parse_set(rest).ok_or_else(bad)?),
                )
            } else if let Some((k, rest)) = split_set_op(part, " in ") {
                (
                    valid_key(k).ok_or_else(bad)?,
                    Op::In(parse_set(rest).ok_or_else(bad)?),
                )
            } else {
                (valid_key(part).ok_or_else(bad)?, Op::Exists)
            };
            requirements.push(req);
        }
        Ok(Self { requirements })
    }

    /// Whether an object's `metadata.labels` satisfy every requirement.
    pub fn matches(&self, object: &Value) -> bool {
        let labels = object.pointer("/metadata/labels");
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.requirements.iter().all(|(key, op)| match op {
            Op::Eq(v) => get(key) == Some(v.as_str()),
            Op::NotEq(v) => get(key) != Some(v.as_str()),
            Op::In(vs) => get(key).is_some_and(|x| vs.iter().any(|v| v == x)),
            Op::NotIn(vs) => get(key).is_none_or(|x| !vs.iter().any(|v| v == x)),
            Op::Exists => get(key).is_some(),
            Op::NotExists => get(key).is_none(),
        })
    }
}

/// Split on commas that are not inside parentheses.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn split_set_op<'a>(part: &'a str, op: &str) -> Option<(&'a str, &'a str)> {
    part.split_once(op).map(|(k, rest)| (k.trim(), rest.trim()))
}

fn parse_set(rest: &str) -> Option<Vec<String>> {
    let inner = rest.strip_prefix('(')?.strip_suffix(')')?;
    Some(
        inner
            .split(',')
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect(),
    )
}

fn valid_key(key: &str) -> Option<String> {
    let ok = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    ok.then(|| key.to_owned())
}

/// A parsed field selector over `metadata.name` and `metadata.namespace`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector {
    requirements: Vec<(String, bool, String)>,
}

impl FieldSelector {
    /// Parse `metadata.name=x,metadata.namespace!=y`.
    ///
    /// # Errors
    /// [`Error::Field`] when malformed, [`Error::UnsupportedField`] for other fields.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let mut requirements = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (field, equal, value) = if let Some((f, v)) = part.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = part.split_once("==") {
                (f, true, v)
            } else if let Some((f, v)) = part.split_once('=') {
                (f, true, v)
            } else {
                return Err(Error::Field {
                    selector: text.to_owned(),
                });
            };
            let field = field.trim();
            if field != "metadata.name" && field != "metadata.namespace" {
                return Err(Error::UnsupportedField {
                    field: field.to_owned(),
                });
            }
            requirements.push((field.to_owned(), equal, value.trim().to_owned()));
        }
        Ok(Self { requirements })
    }

    /// The exact name this selector pins, if it has `metadata.name=X`.
    pub fn pinned_name(&self) -> Option<&str> {
        self.requirements
            .iter()
            .find(|(f, eq, _)| f == "metadata.name" && *eq)
            .map(|(_, _, v)| v.as_str())
    }

    /// Whether the object satisfies every requirement.
    pub fn matches(&self, object: &Value) -> bool {
        self.requirements.iter().all(|(field, equal, value)| {
            let pointer = if field == "metadata.name" {
                "/metadata/name"
            } else {
                "/metadata/namespace"
            };
            let actual = object
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or("");
            (actual == value) == *equal
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(labels: Value) -> Value {
        json!({"metadata": {"name": "web", "namespace": "ns1", "labels": labels}})
    }

    #[test]
    fn equality_and_inequality_requirements_all_must_hold() {
        let s = LabelSelector::parse("app=web,tier!=db").unwrap();
        assert!(s.matches(&obj(json!({"app": "web", "tier": "fe"}))));
        assert!(s.matches(&obj(json!({"app": "web"}))));
        assert!(!s.matches(&obj(json!({"app": "web", "tier": "db"}))));
        assert!(!s.matches(&obj(json!({"app": "api"}))));
        assert!(
            LabelSelector::parse("app==web")
                .unwrap()
                .matches(&obj(json!({"app": "web"})))
        );
    }

    #[test]
    fn set_based_requirements_select_by_membership() {
        let s = LabelSelector::parse("env in (prod, staging),site notin (b)").unwrap();
        assert!(s.matches(&obj(json!({"env": "prod", "site": "a"}))));
        assert!(s.matches(&obj(json!({"env": "staging"}))));
        assert!(!s.matches(&obj(json!({"env": "dev"}))));
        assert!(!s.matches(&obj(json!({"env": "prod", "site": "b"}))));
    }

    #[test]
    fn existence_requirements_check_the_key_only() {
        let s = LabelSelector::parse("app,!legacy").unwrap();
        assert!(s.matches(&obj(json!({"app": "x"}))));
        assert!(!s.matches(&obj(json!({"app": "x", "legacy": "1"}))));
        assert!(!s.matches(&obj(json!({}))));
    }

    #[test]
    fn rejects_malformed_label_selector() {
        assert!(LabelSelector::parse("app in prod").is_err());
        assert!(LabelSelector::parse("=x").is_err());
    }

    #[test]
    fn field_selector_matches_name_and_namespace() {
        let s = FieldSelector::parse("metadata.name=web,metadata.namespace!=other").unwrap();
        assert!(s.matches(&obj(json!({}))));
        assert_eq!(s.pinned_name(), Some("web"));
        assert!(
            !FieldSelector::parse("metadata.name=api")
                .unwrap()
                .matches(&obj(json!({})))
        );
    }

    #[test]
    fn rejects_field_selector_on_unsupported_field() {
        assert_eq!(
            FieldSelector::parse("status.phase=Running"),
            Err(Error::UnsupportedField {
                field: "status.phase".into()
            })
        );
    }
}
