//! cty values: what a configuration, a plan or a state holds.
//!
//! A [`Value`] tells **unknown** (known only after apply) from **null** (absent) from known,
//! at any depth: that distinction is the heart of Terraform's plan rules. Values do not carry
//! their type, except at `dynamic` positions, where [`Value::Dynamic`] records the concrete type
//! the value has; [`Value::conforms_to`] checks a value against a [`Type`].
//!
//! This module is only the value model; the wire codecs are in [`msgpack`](super::msgpack) and
//! [`json`](super::json). Not modelled: cty marks (sensitivity travels in the schema instead) and
//! unknown-value refinements (decoders accept them and forget them).

use std::collections::BTreeMap;
use std::fmt;

use super::path::{AttributePath, PathStep};
use super::types::Type;

pub use super::number::Number;

/// A value that does not have the type it was checked against.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct ConformanceError {
    /// Where the mismatch is.
    pub path: AttributePath,
    /// What was expected there and what was found.
    pub problem: Mismatch,
}

/// What is wrong at the path of a [`ConformanceError`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Mismatch {
    /// The value is of the wrong kind.
    #[error("{expected} required, found {found}")]
    WrongKind {
        /// The type required there (its friendly name).
        expected: String,
        /// The kind of value found (`a string`, `a list`, ...).
        found: &'static str,
    },
    /// An object lacks one of its type's attributes.
    #[error("attribute {name:?} is required")]
    MissingAttribute {
        /// The missing attribute.
        name: String,
    },
    /// An object has an attribute its type does not.
    #[error("unsupported attribute {name:?}")]
    UnsupportedAttribute {
        /// The extra attribute.
        name: String,
    },
    /// A tuple has the wrong number of elements.
    #[error("a tuple of {expected} elements is required ({found} given)")]
    TupleLength {
        /// How many elements the type has.
        expected: usize,
        /// How many the value has.
        found: usize,
    },
    /// A number is NaN, which cty cannot represent.
    #[error("NaN is not a valid number")]
    NotANumber,
    /// A [`Value::Dynamic`] claims the type `dynamic` itself.
    #[error("a dynamic value must carry a concrete type, not dynamic")]
    DynamicWithoutType,
    /// A [`Value::Dynamic`] wraps a null or an unknown, which must be plain instead.
    #[error("a null or unknown dynamic value must not carry a type")]
    DynamicWrapsNullOrUnknown,
}

/// A cty value.
///
/// Equality is structural (go-cty's `RawEquals`): unknown equals unknown, null equals null,
/// numbers compare by value, and sets compare as multisets (order does not matter).
///
/// # Examples
///
/// ```
/// use terraform_provider_quay::tfvalue::{Type, Value};
///
/// let ty = Type::object([("name", Type::String), ("replicas", Type::Number)]);
/// let value = Value::object([("name", Value::string("us-east")), ("replicas", Value::Unknown)]);
/// assert!(value.conforms_to(&ty).is_ok());
/// assert!(!value.is_wholly_known());
/// assert_eq!(value.get("name").and_then(Value::as_str), Some("us-east"));
/// ```
#[derive(Clone, Debug)]
pub enum Value {
    /// Not known until apply.
    Unknown,
    /// Absent.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number.
    Number(Number),
    /// A string.
    String(String),
    /// List elements, in order.
    List(Vec<Value>),
    /// Set elements; their order carries no meaning.
    Set(Vec<Value>),
    /// Map elements by key.
    Map(BTreeMap<String, Value>),
    /// Object attributes by name.
    Object(BTreeMap<String, Value>),
    /// Tuple elements, in order.
    Tuple(Vec<Value>),
    /// A known, non-null value at a position whose type is `dynamic`, with its concrete type.
    /// Null and unknown values at such positions are plain [`Value::Null`] and
    /// [`Value::Unknown`].
    Dynamic(Type, Box<Value>),
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Unknown, Value::Unknown) | (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Number(a), Value::Number(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::List(a), Value::List(b)) | (Value::Tuple(a), Value::Tuple(b)) => a == b,
            (Value::Set(a), Value::Set(b)) => multiset_eq(a, b),
            (Value::Map(a), Value::Map(b)) | (Value::Object(a), Value::Object(b)) => a == b,
            (Value::Dynamic(ta, a), Value::Dynamic(tb, b)) => ta == tb && a == b,
            _ => false,
        }
    }
}

/// Whether `a` and `b` hold the same elements the same number of times, in any order.
///
/// Quadratic, but sets in Terraform configurations are small, and `Value` has no total order
/// or hash to do better with.
fn multiset_eq(a: &[Value], b: &[Value]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut matched = vec![false; b.len()];
    a.iter().all(|x| {
        let found = b
            .iter()
            .enumerate()
            .find(|(i, y)| !matched[*i] && x == *y)
            .map(|(i, _)| i);
        found.is_some_and(|i| {
            matched[i] = true;
            true
        })
    })
}

impl Value {
    /// A string value.
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// A number value.
    pub fn number(n: impl Into<Number>) -> Value {
        Value::Number(n.into())
    }

    /// A list value.
    pub fn list(elems: impl IntoIterator<Item = Value>) -> Value {
        Value::List(elems.into_iter().collect())
    }

    /// A set value.
    pub fn set(elems: impl IntoIterator<Item = Value>) -> Value {
        Value::Set(elems.into_iter().collect())
    }

    /// A tuple value.
    pub fn tuple(elems: impl IntoIterator<Item = Value>) -> Value {
        Value::Tuple(elems.into_iter().collect())
    }

    /// A map value from `(key, value)` pairs.
    pub fn map<I, K>(elems: I) -> Value
    where
        I: IntoIterator<Item = (K, Value)>,
        K: Into<String>,
    {
        Value::Map(elems.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// An object value from `(name, value)` pairs.
    pub fn object<I, K>(attrs: I) -> Value
    where
        I: IntoIterator<Item = (K, Value)>,
        K: Into<String>,
    {
        Value::Object(attrs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A value for a `dynamic` position: `Dynamic(ty, value)` when the value is known and
    /// non-null, else the plain null or unknown.
    #[must_use]
    pub fn dynamic(ty: Type, value: Value) -> Value {
        match value {
            Value::Null | Value::Unknown => value,
            value => Value::Dynamic(ty, Box::new(value)),
        }
    }

    /// Whether this value is null (at the top; a known object may hold null attributes).
    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Whether this value is unknown at the top.
    #[must_use]
    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown)
    }

    /// Whether this value is known at the top (its parts may still be unknown).
    #[must_use]
    pub fn is_known(&self) -> bool {
        !self.is_unknown()
    }

    /// Whether no part of this value is unknown.
    #[must_use]
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => true,
            Value::List(elems) | Value::Set(elems) | Value::Tuple(elems) => {
                elems.iter().all(Value::is_wholly_known)
            }
            Value::Map(elems) | Value::Object(elems) => elems.values().all(Value::is_wholly_known),
            Value::Dynamic(_, inner) => inner.is_wholly_known(),
        }
    }

    /// This value with any [`Value::Dynamic`] wrapper removed.
    #[must_use]
    pub fn unwrap_dynamic(&self) -> &Value {
        match self {
            Value::Dynamic(_, inner) => inner.unwrap_dynamic(),
            other => other,
        }
    }

    /// The string, if this is a known string (looking through a dynamic wrapper).
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self.unwrap_dynamic() {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is a known bool.
    #[must_use]
    pub fn as_bool(&self) -> Option<bool> {
        match self.unwrap_dynamic() {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number, if this is a known number.
    #[must_use]
    pub fn as_number(&self) -> Option<&Number> {
        match self.unwrap_dynamic() {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The number as an `i64`, if this is a known integer in range.
    #[must_use]
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number().and_then(Number::as_i64)
    }

    /// The elements, if this is a known list, set or tuple.
    #[must_use]
    pub fn as_elements(&self) -> Option<&[Value]> {
        match self.unwrap_dynamic() {
            Value::List(elems) | Value::Set(elems) | Value::Tuple(elems) => Some(elems),
            _ => None,
        }
    }

    /// The entries, if this is a known map or object.
    #[must_use]
    pub fn as_entries(&self) -> Option<&BTreeMap<String, Value>> {
        match self.unwrap_dynamic() {
            Value::Map(elems) | Value::Object(elems) => Some(elems),
            _ => None,
        }
    }

    /// An object attribute or a map element by name.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.as_entries().and_then(|entries| entries.get(name))
    }

    /// Mutable access to an object attribute or a map element by name.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        match self {
            Value::Map(elems) | Value::Object(elems) => elems.get_mut(name),
            Value::Dynamic(_, inner) => inner.get_mut(name),
            _ => None,
        }
    }

    /// The part of this value at `path`, if every step exists.
    ///
    /// Attribute steps look into objects, string keys into maps, integer keys into lists and
    /// tuples. Sets cannot be indexed.
    #[must_use]
    pub fn get_path(&self, path: &AttributePath) -> Option<&Value> {
        path.steps()
            .iter()
            .try_fold(self, |value, step| match (value.unwrap_dynamic(), step) {
                (Value::Object(attrs), PathStep::Attribute(name)) => attrs.get(name),
                (Value::Map(elems), PathStep::ElementKeyString(key)) => elems.get(key),
                (Value::List(elems) | Value::Tuple(elems), PathStep::ElementKeyInt(i)) => {
                    usize::try_from(*i).ok().and_then(|i| elems.get(i))
                }
                _ => None,
            })
    }

    /// A short description of this value's kind for messages: `a string`, `null`, ...
    #[must_use]
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Unknown => "an unknown value",
            Value::Null => "null",
            Value::Bool(_) => "a bool",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::List(_) => "a list",
            Value::Set(_) => "a set",
            Value::Map(_) => "a map",
            Value::Object(_) => "an object",
            Value::Tuple(_) => "a tuple",
            Value::Dynamic(..) => "a dynamic value",
        }
    }

    /// Checks that this value has type `ty`.
    ///
    /// Null and unknown conform to every type at every depth. An object must have exactly its
    /// type's attributes; a tuple exactly its type's length; a `dynamic` position holds null,
    /// unknown or a [`Value::Dynamic`] whose value conforms to the type it carries.
    ///
    /// # Errors
    ///
    /// The first mismatch found, with its path. For a set element the path is the set's.
    pub fn conforms_to(&self, ty: &Type) -> Result<(), ConformanceError> {
        self.conforms_at(ty, &AttributePath::root())
    }

    fn conforms_at(&self, ty: &Type, path: &AttributePath) -> Result<(), ConformanceError> {
        let fail = |problem| {
            Err(ConformanceError {
                path: path.clone(),
                problem,
            })
        };
        let wrong_kind = || {
            fail(Mismatch::WrongKind {
                expected: ty.to_string(),
                found: self.kind_name(),
            })
        };
        match (ty, self) {
            (Type::Number, Value::Number(n)) if n.is_nan() => fail(Mismatch::NotANumber),
            (_, Value::Null | Value::Unknown)
            | (Type::Bool, Value::Bool(_))
            | (Type::Number, Value::Number(_))
            | (Type::String, Value::String(_)) => Ok(()),
            (Type::List(elem_ty), Value::List(elems)) => elems
                .iter()
                .zip(0_i64..)
                .try_for_each(|(v, i)| v.conforms_at(elem_ty, &path.index(i))),
            (Type::Set(elem_ty), Value::Set(elems)) => {
                elems.iter().try_for_each(|v| v.conforms_at(elem_ty, path))
            }
            (Type::Map(elem_ty), Value::Map(elems)) => elems
                .iter()
                .try_for_each(|(k, v)| v.conforms_at(elem_ty, &path.key(k))),
            (Type::Object(attr_tys), Value::Object(attrs)) => {
                if let Some(name) = attrs.keys().find(|k| !attr_tys.contains_key(*k)) {
                    return fail(Mismatch::UnsupportedAttribute { name: name.clone() });
                }
                attr_tys
                    .iter()
                    .try_for_each(|(name, attr_ty)| match attrs.get(name) {
                        Some(v) => v.conforms_at(attr_ty, &path.attr(name)),
                        None => fail(Mismatch::MissingAttribute { name: name.clone() }),
                    })
            }
            (Type::Tuple(elem_tys), Value::Tuple(elems)) => {
                if elem_tys.len() != elems.len() {
                    return fail(Mismatch::TupleLength {
                        expected: elem_tys.len(),
                        found: elems.len(),
                    });
                }
                elems
                    .iter()
                    .zip(elem_tys)
                    .zip(0_i64..)
                    .try_for_each(|((v, t), i)| v.conforms_at(t, &path.index(i)))
            }
            (Type::Dynamic, Value::Dynamic(Type::Dynamic, _)) => fail(Mismatch::DynamicWithoutType),
            (Type::Dynamic, Value::Dynamic(_, inner)) if inner.is_null() || inner.is_unknown() => {
                fail(Mismatch::DynamicWrapsNullOrUnknown)
            }
            (Type::Dynamic, Value::Dynamic(concrete, inner)) => inner.conforms_at(concrete, path),
            _ => wrong_kind(),
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Number(Number::from_i64(i))
    }
}

impl From<Number> for Value {
    fn from(n: Number) -> Self {
        Value::Number(n)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    /// `None` is null.
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

impl fmt::Display for Value {
    /// A compact, HCL-like rendering for messages: `{a = "x", b = [1, 2]}`, `null`, `(unknown)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn seq(
            f: &mut fmt::Formatter<'_>,
            open: &str,
            elems: &[Value],
            close: &str,
        ) -> fmt::Result {
            f.write_str(open)?;
            for (i, v) in elems.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{v}")?;
            }
            f.write_str(close)
        }
        match self {
            Value::Unknown => f.write_str("(unknown)"),
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write!(f, "{n}"),
            Value::String(s) => write!(f, "{s:?}"),
            Value::List(elems) | Value::Tuple(elems) => seq(f, "[", elems, "]"),
            Value::Set(elems) => seq(f, "toset([", elems, "])"),
            Value::Map(entries) | Value::Object(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k:?} = {v}")?;
                }
                f.write_str("}")
            }
            Value::Dynamic(_, inner) => write!(f, "{inner}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site_type() -> Type {
        Type::object([
            ("name", Type::String),
            ("replicas", Type::Number),
            ("labels", Type::map(Type::String)),
            ("super_users", Type::list(Type::String)),
        ])
    }

    fn site() -> Value {
        Value::object([
            ("name", Value::string("us-east")),
            ("replicas", Value::from(2)),
            ("labels", Value::map([("tier", Value::string("gold"))])),
            ("super_users", Value::list([Value::string("admin")])),
        ])
    }

    #[test]
    fn null_and_unknown_conform_to_any_type_at_any_depth() {
        assert!(Value::Null.conforms_to(&site_type()).is_ok());
        assert!(Value::Unknown.conforms_to(&site_type()).is_ok());
        let mut v = site();
        *v.get_mut("labels").unwrap() = Value::Unknown;
        *v.get_mut("name").unwrap() = Value::Null;
        assert!(v.conforms_to(&site_type()).is_ok());
    }

    #[test]
    fn reports_the_path_and_expectation_of_a_wrong_element() {
        let mut v = site();
        *v.get_mut("super_users").unwrap() = Value::list([Value::string("a"), Value::from(1)]);
        let err = v.conforms_to(&site_type()).unwrap_err();
        assert_eq!(err.path, AttributePath::root().attr("super_users").index(1));
        assert_eq!(
            err.to_string(),
            "super_users[1]: string required, found a number"
        );
    }

    #[test]
    fn rejects_object_missing_an_attribute() {
        let mut v = site();
        if let Value::Object(attrs) = &mut v {
            attrs.remove("labels");
        }
        let err = v.conforms_to(&site_type()).unwrap_err();
        assert_eq!(
            err.problem,
            Mismatch::MissingAttribute {
                name: "labels".into()
            }
        );
    }

    #[test]
    fn rejects_object_with_an_extra_attribute() {
        let mut v = site();
        if let Value::Object(attrs) = &mut v {
            attrs.insert("zone".into(), Value::Null);
        }
        let err = v.conforms_to(&site_type()).unwrap_err();
        assert_eq!(err.to_string(), r#"(root): unsupported attribute "zone""#);
    }

    #[test]
    fn rejects_map_where_object_is_required() {
        let v = Value::map([("name", Value::string("x"))]);
        assert!(
            v.conforms_to(&Type::object([("name", Type::String)]))
                .is_err()
        );
    }

    #[test]
    fn dynamic_position_needs_the_value_to_carry_its_type() {
        assert!(Value::string("x").conforms_to(&Type::Dynamic).is_err());
        let carried = Value::dynamic(Type::String, Value::string("x"));
        assert!(carried.conforms_to(&Type::Dynamic).is_ok());
        let lying = Value::dynamic(Type::Number, Value::string("x"));
        assert!(lying.conforms_to(&Type::Dynamic).is_err());
        assert!(carried.conforms_to(&Type::String).is_err());
    }

    #[test]
    fn dynamic_constructor_keeps_null_and_unknown_plain() {
        assert_eq!(Value::dynamic(Type::String, Value::Null), Value::Null);
        let wrapped = Value::Dynamic(Type::String, Box::new(Value::Unknown));
        assert_eq!(
            wrapped.conforms_to(&Type::Dynamic).unwrap_err().problem,
            Mismatch::DynamicWrapsNullOrUnknown
        );
    }

    #[test]
    fn rejects_tuple_of_wrong_length() {
        let ty = Type::Tuple(vec![Type::String, Type::Bool]);
        let err = Value::tuple([Value::string("a")])
            .conforms_to(&ty)
            .unwrap_err();
        assert_eq!(
            err.problem,
            Mismatch::TupleLength {
                expected: 2,
                found: 1
            }
        );
    }

    #[test]
    fn rejects_nan() {
        let v = Value::number(f64::NAN);
        assert_eq!(
            v.conforms_to(&Type::Number).unwrap_err().problem,
            Mismatch::NotANumber
        );
    }

    #[test]
    fn sets_compare_regardless_of_order_but_count_duplicates() {
        let a = Value::set([Value::from(1), Value::from(2), Value::from(2)]);
        let b = Value::set([Value::from(2), Value::from(1), Value::from(2)]);
        let c = Value::set([Value::from(1), Value::from(1), Value::from(2)]);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(Value::list([Value::from(1)]), Value::set([Value::from(1)]));
    }

    #[test]
    fn numbers_compare_by_value() {
        assert_eq!(Value::from(1), Value::number(1.0));
    }

    #[test]
    fn unknown_deep_inside_is_not_wholly_known() {
        let v = Value::object([("a", Value::list([Value::Null, Value::Unknown]))]);
        assert!(v.is_known());
        assert!(!v.is_wholly_known());
        assert!(site().is_wholly_known());
    }

    #[test]
    fn gets_along_a_path() {
        let v = Value::object([(
            "storage",
            Value::map([("eu", Value::object([("bucket", Value::string("b-eu"))]))]),
        )]);
        let path = AttributePath::root()
            .attr("storage")
            .key("eu")
            .attr("bucket");
        assert_eq!(v.get_path(&path).and_then(Value::as_str), Some("b-eu"));
        assert_eq!(v.get_path(&AttributePath::root().attr("nope")), None);
        let users = Value::object([("u", Value::list([Value::string("a")]))]);
        assert_eq!(
            users.get_path(&AttributePath::root().attr("u").index(0)),
            Some(&Value::string("a"))
        );
        assert_eq!(
            users.get_path(&AttributePath::root().attr("u").index(-1)),
            None
        );
    }

    #[test]
    fn accessors_look_through_dynamic() {
        let v = Value::dynamic(Type::String, Value::string("x"));
        assert_eq!(v.as_str(), Some("x"));
        assert_eq!(Value::from(7).as_i64(), Some(7));
        assert_eq!(Value::Null.as_str(), None);
    }

    #[test]
    fn displays_compactly_for_messages() {
        let v = Value::object([
            ("a", Value::list([Value::from(1), Value::Unknown])),
            ("b", Value::Null),
        ]);
        assert_eq!(v.to_string(), r#"{"a" = [1, (unknown)], "b" = null}"#);
    }
}
