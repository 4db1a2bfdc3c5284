//! Typed models at the Terraform edge: every resource and data source, and the provider block,
//! reads its configuration, plan or state into one struct, as terraform-plugin-framework's
//! model structs do (`req.Plan.Get(ctx, &model)`), instead of reading attributes by name where
//! it needs them.
//!
//! Each model is written by hand, once per type, next to its schema: a [`Model::read`] and a
//! [`Model::write`] that name every attribute. `assert_every_attribute_round_trips` (one test
//! per type) fills every attribute of the schema, reads it and writes it back, so an attribute
//! that is renamed, added or forgotten in either direction fails a test instead of silently
//! reading as null.
//!
//! Arguments read as the domain wants them (`Option`s; a value Terraform does not know yet
//! reads as unset, and the validation skips it). Computed results are [`Field`]s, because a
//! plan must be able to say "known after apply". Operations that answer a plan or an apply
//! write only the results onto the value Terraform sent ([`Field::write_into`]): the
//! arguments then keep Terraform's own representation (unknown values, an absent list block
//! as an empty list).

use serde_json::{Value as Json, json};

use crate::tfvalue::{Diagnostics, Type, Value};

/// The attributes of one resource or data source, read into a typed struct and written back.
pub(crate) trait Model: Sized {
    /// Reads every attribute of a configuration, plan or state (a value of the schema's
    /// object type). Unknown arguments read as unset; arguments that cannot map onto the
    /// domain input (such as a fractional number of pods) are reported, with their path, and
    /// read as no input.
    fn read(value: &Value, diags: &mut Diagnostics) -> Self;

    /// Every attribute in the JSON form of the schema's object type; unset attributes are
    /// null or left out (both decode as null).
    fn write(&self) -> Json;
}

/// A computed attribute as Terraform holds it: null, known only after apply, or known.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) enum Field<T> {
    /// Not set.
    #[default]
    Null,
    /// Known after apply.
    Unknown,
    /// Known.
    Known(T),
}

impl<T> Field<T> {
    /// The field with a known value replaced by `<redacted>`, for `Debug` output of
    /// attributes that may hold credentials: whether it is null or unknown still shows.
    pub(crate) fn redacted(&self) -> Field<&'static str> {
        match self {
            Self::Null => Field::Null,
            Self::Unknown => Field::Unknown,
            Self::Known(_) => Field::Known("<redacted>"),
        }
    }
}

impl<T: Attr> Field<T> {
    /// The field from an attribute's value (`None` when the object has no such attribute).
    pub(crate) fn read(value: Option<&Value>) -> Self {
        match value {
            None | Some(Value::Null) => Self::Null,
            Some(value) if !value.is_wholly_known() => Self::Unknown,
            // Values were decoded against the schema, so a known value always has the
            // attribute's type; anything else reads as unset rather than panicking.
            Some(value) => T::from_value(value).map_or(Self::Null, Self::Known),
        }
    }

    /// The known value, if any.
    pub(crate) fn known(&self) -> Option<&T> {
        match self {
            Self::Known(value) => Some(value),
            Self::Null | Self::Unknown => None,
        }
    }

    /// The field as a Terraform value.
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Unknown => Value::Unknown,
            Self::Known(value) => value.to_value(),
        }
    }

    /// The field in JSON form (unknown has none and is written as null).
    pub(crate) fn to_json(&self) -> Json {
        self.known().map_or(Json::Null, Attr::to_json)
    }

    /// Sets attribute `name` of `object` to this field.
    pub(crate) fn write_into(&self, object: &mut Value, name: &str) {
        if let Value::Object(attrs) = object {
            attrs.insert(name.to_owned(), self.to_value());
        }
    }
}

/// A Rust type an attribute's value converts to and from.
pub(crate) trait Attr: Sized {
    /// The value, or `None` when it is not of this type.
    fn from_value(value: &Value) -> Option<Self>;
    /// The Terraform value.
    fn to_value(&self) -> Value;
    /// The JSON form.
    fn to_json(&self) -> Json;
}

impl Attr for String {
    fn from_value(value: &Value) -> Option<Self> {
        value.as_str().map(str::to_owned)
    }
    fn to_value(&self) -> Value {
        Value::string(self)
    }
    fn to_json(&self) -> Json {
        Json::String(self.clone())
    }
}

impl Attr for bool {
    fn from_value(value: &Value) -> Option<Self> {
        value.as_bool()
    }
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
    fn to_json(&self) -> Json {
        Json::Bool(*self)
    }
}

impl Attr for Vec<String> {
    fn from_value(value: &Value) -> Option<Self> {
        value
            .as_elements()?
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect()
    }
    fn to_value(&self) -> Value {
        Value::List(self.iter().map(Value::string).collect())
    }
    fn to_json(&self) -> Json {
        Json::from(self.clone())
    }
}

impl Attr for std::collections::BTreeMap<String, String> {
    fn from_value(value: &Value) -> Option<Self> {
        value
            .as_entries()?
            .iter()
            .map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
            .collect()
    }
    fn to_value(&self) -> Value {
        Value::map(self.iter().map(|(k, v)| (k.clone(), Value::string(v))))
    }
    fn to_json(&self) -> Json {
        Json::Object(
            self.iter()
                .map(|(k, v)| (k.clone(), Json::String(v.clone())))
                .collect(),
        )
    }
}

/// `arguments` (a JSON object, or nothing) with `fields` added: a model's arguments and its
/// results in one object.
pub(crate) fn with_fields<'a>(
    arguments: Option<Json>,
    fields: impl IntoIterator<Item = (&'a str, Json)>,
) -> Json {
    let mut object = match arguments {
        Some(Json::Object(arguments)) => arguments,
        _ => serde_json::Map::new(),
    };
    object.extend(
        fields
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value)),
    );
    Json::Object(object)
}

/// The JSON form of a `dynamic` attribute holding `value`, with the type HCL gives the same
/// literal (an object for a map, a tuple for a list).
pub(crate) fn dynamic_json(value: &Json) -> Json {
    fn literal_type(value: &Json) -> Type {
        match value {
            Json::Null => Type::Dynamic,
            Json::Bool(_) => Type::Bool,
            Json::Number(_) => Type::Number,
            Json::String(_) => Type::String,
            Json::Array(items) => Type::Tuple(items.iter().map(literal_type).collect()),
            Json::Object(fields) => Type::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), literal_type(v)))
                    .collect(),
            ),
        }
    }
    json!({ "type": literal_type(value).to_json(), "value": value })
}

/// A known string argument; unknown and null read as `None`.
pub(crate) fn text(value: &Value, name: &str) -> Option<String> {
    value.get(name).and_then(Value::as_str).map(str::to_owned)
}

/// A known boolean argument; unknown and null read as `None`.
pub(crate) fn flag(value: &Value, name: &str) -> Option<bool> {
    value.get(name).and_then(Value::as_bool)
}

/// Checks that `schema` is one Terraform accepts (the checks of
/// [`Schema::check_definition`](crate::tfvalue::Schema::check_definition)).
///
/// # Panics
///
/// When it is not, with the reason.
#[cfg(test)]
pub(crate) fn assert_valid_definition(schema: &crate::tfvalue::Schema) {
    let checked = schema.check_definition();
    assert!(checked.is_ok(), "{checked:?}");
}

/// Checks that a configuration with every attribute of `schema` null maps onto the domain
/// input by `read`: the schema's argument names and the domain input's field names are the
/// same, and no argument is required by the domain input that the schema lets be unset.
///
/// # Panics
///
/// When `read` gives no input, with its diagnostics.
#[cfg(test)]
pub(crate) fn assert_every_argument_maps<T>(
    schema: &crate::tfvalue::Schema,
    read: impl FnOnce(&Value, &mut Diagnostics) -> Option<T>,
) {
    let Type::Object(attrs) = schema.value_type() else {
        panic!("a schema's value is an object")
    };
    let config = Value::Object(attrs.keys().map(|k| (k.clone(), Value::Null)).collect());
    let mut diags = Diagnostics::default();
    assert!(read(&config, &mut diags).is_some(), "{diags:?}");
}

/// Checks that `M` reads and writes every attribute of `schema`: a value with every attribute
/// set (strings named after their attribute, numbers 7, `true`, one-element lists, one-entry
/// maps, and every block present) must come back unchanged.
///
/// # Panics
///
/// When an attribute does not come back, naming it.
#[cfg(test)]
pub(crate) fn assert_every_attribute_round_trips<M: Model>(schema: &crate::tfvalue::Schema) {
    use crate::tfvalue::json::decode;

    let ty = schema.value_type();
    let sample = sample_block(&schema.block);
    let decode = |json: &Json| {
        decode(&ty, &serde_json::to_vec(json).expect("JSON serializes"))
            .unwrap_or_else(|err| panic!("{json} does not fit the schema: {err}"))
    };
    let expected = decode(&sample);
    let mut diags = Diagnostics::default();
    let written = decode(&M::read(&expected, &mut diags).write());
    assert!(diags.is_empty(), "{diags:?}");
    let (Value::Object(expected), Value::Object(written)) = (&expected, &written) else {
        panic!("a schema's value is an object");
    };
    // A write-only attribute, at any depth, is never in a plan or state: a model writes it null.
    let Value::Object(expected) = schema
        .block
        .without_write_only(&Value::Object(expected.clone()))
    else {
        panic!("a schema's value is an object");
    };
    for (name, value) in &expected {
        assert_eq!(
            written.get(name),
            Some(value),
            "attribute {name} does not read into the model and back"
        );
    }
}

/// A JSON value of `block` with every attribute and nested block set.
#[cfg(test)]
fn sample_block(block: &crate::tfvalue::Block) -> Json {
    use crate::tfvalue::Nesting;

    let mut object = serde_json::Map::new();
    for attribute in &block.attributes {
        object.insert(
            attribute.name.clone(),
            sample_of(&attribute.ty, &attribute.name),
        );
    }
    for nested in &block.block_types {
        let one = sample_block(&nested.block);
        let value = match nested.nesting {
            Nesting::Single | Nesting::Group => one,
            Nesting::List | Nesting::Set => Json::Array(vec![one]),
            Nesting::Map => serde_json::json!({ "label": one }),
        };
        object.insert(nested.type_name.clone(), value);
    }
    Json::Object(object)
}

#[cfg(test)]
fn sample_of(ty: &crate::tfvalue::Type, name: &str) -> Json {
    use crate::tfvalue::Type;

    match ty {
        Type::String => Json::String(format!("{name}-value")),
        Type::Number => Json::from(7),
        Type::Bool => Json::Bool(true),
        Type::List(element) | Type::Set(element) => Json::Array(vec![sample_of(element, name)]),
        Type::Map(element) => serde_json::json!({ "key": sample_of(element, name) }),
        // Every `dynamic` argument of this provider is a map of anything.
        Type::Dynamic => serde_json::json!({
            "type": ["object", { "KEY": "string" }],
            "value": { "KEY": format!("{name}-value") },
        }),
        Type::Object(attrs) => Json::Object(
            attrs
                .iter()
                .map(|(k, t)| (k.clone(), sample_of(t, k)))
                .collect(),
        ),
        Type::Tuple(items) => Json::Array(items.iter().map(|t| sample_of(t, name)).collect()),
    }
}
