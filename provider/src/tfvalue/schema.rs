//! Schemas: the attributes and nested blocks of a provider, resource or data source.
//!
//! A [`Schema`] is the protocol's `Schema` as plain data, built with small builders:
//!
//! ```
//! use terraform_provider_quay::tfvalue::{Attribute, Block, NestedBlock, Schema, Type};
//!
//! let schema = Schema::new(
//!     0,
//!     Block::new("the Quay provider")
//!         .attribute(Attribute::optional("default_namespace", Type::String))
//!         .block(NestedBlock::map(
//!             "cluster",
//!             Block::new("one named cluster")
//!                 .attribute(Attribute::optional("kubeconfig_path", Type::String))
//!                 .attribute(Attribute::optional("kubeconfig", Type::String).sensitive()),
//!         )),
//! );
//! assert!(schema.check_definition().is_ok());
//! ```
//!
//! [`Block::value_type`] gives the object type every value of the block has, nested blocks
//! included (Terraform's `ImpliedType`). [`Schema::check_definition`] applies Terraform's own
//! rules for schemas (`InternalValidate`) so a bad schema fails our tests, not a user's plan.
//!
//! This module does not convert to protobuf and does not validate configuration values.
//! [`Presence`] makes the invalid flag combinations (required and computed, none at all)
//! unrepresentable.

use std::collections::{BTreeMap, BTreeSet};

use super::path::AttributePath;
use super::types::Type;
use super::value::Value;

/// A schema defect found by [`Schema::check_definition`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// A name is empty or has characters other than `a-z`, `0-9` and `_`.
    #[error("invalid name {name:?} at {path}: names must match ^[a-z0-9_]+$")]
    InvalidName {
        /// The block holding the name.
        path: AttributePath,
        /// The offending name.
        name: String,
    },
    /// Two attributes or blocks of one block share a name.
    #[error("duplicate name {name:?} at {path}")]
    DuplicateName {
        /// The block holding the names.
        path: AttributePath,
        /// The repeated name.
        name: String,
    },
    /// `min_items`/`max_items` are not allowed for the nesting mode.
    #[error("invalid item limits at {path}: {nesting:?} blocks {rule} (min {min}, max {max})")]
    ItemLimits {
        /// The nested block.
        path: AttributePath,
        /// Its nesting mode.
        nesting: Nesting,
        /// The rule broken.
        rule: &'static str,
        /// Its `min_items`.
        min: u64,
        /// Its `max_items`.
        max: u64,
    },
    /// A set-nested block contains a `dynamic` attribute, which Terraform cannot compare.
    #[error("set-nested block at {path} must not contain dynamic attributes")]
    DynamicInSet {
        /// The nested block.
        path: AttributePath,
    },
    /// A write-only attribute is also computed: Terraform stores no value for it, so the
    /// provider has nothing to compute into.
    #[error(
        "attribute {name:?} at {path} is write-only and computed; write-only attributes are set by the user only"
    )]
    WriteOnlyComputed {
        /// The block holding the attribute.
        path: AttributePath,
        /// The attribute.
        name: String,
    },
    /// The schema version is negative.
    #[error("schema version {version} is negative")]
    NegativeVersion {
        /// The version.
        version: i64,
    },
}

/// A versioned block: what `GetProviderSchema` returns per provider, resource and data source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schema {
    /// The state schema version (stored in state; passed to `UpgradeResourceState`).
    pub version: i64,
    /// The top-level block.
    pub block: Block,
}

/// A set of attributes and nested blocks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Block {
    /// The attributes, in display order.
    pub attributes: Vec<Attribute>,
    /// The nested block types, in display order.
    pub block_types: Vec<NestedBlock>,
    /// Documentation (plain text).
    pub description: String,
    /// Whether the whole block is deprecated.
    pub deprecated: bool,
}

/// Who sets an attribute: the user, the provider, or either.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Presence {
    /// The user must set it.
    Required,
    /// The user may set it; if not, it is null.
    Optional,
    /// Only the provider sets it.
    Computed,
    /// The user may set it; if not, the provider may choose a value.
    OptionalComputed,
}

/// One attribute of a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    /// The name, `^[a-z0-9_]+$`.
    pub name: String,
    /// The value type.
    pub ty: Type,
    /// Who sets it.
    pub presence: Presence,
    /// Documentation (plain text).
    pub description: String,
    /// Whether Terraform redacts it in output.
    pub sensitive: bool,
    /// Whether it is deprecated.
    pub deprecated: bool,
    /// Whether it is write-only (protocol 5.8, Terraform 1.11): Terraform hands its value to
    /// plan and apply but never stores it, and every plan and state holds null for it.
    pub write_only: bool,
}

impl Attribute {
    fn new(name: &str, ty: Type, presence: Presence) -> Self {
        Self {
            name: name.to_owned(),
            ty,
            presence,
            description: String::new(),
            sensitive: false,
            deprecated: false,
            write_only: false,
        }
    }

    /// A required attribute.
    #[must_use]
    pub fn required(name: &str, ty: Type) -> Self {
        Self::new(name, ty, Presence::Required)
    }

    /// An optional attribute.
    #[must_use]
    pub fn optional(name: &str, ty: Type) -> Self {
        Self::new(name, ty, Presence::Optional)
    }

    /// A computed attribute (set by the provider only).
    #[must_use]
    pub fn computed(name: &str, ty: Type) -> Self {
        Self::new(name, ty, Presence::Computed)
    }

    /// An optional attribute the provider may default.
    #[must_use]
    pub fn optional_computed(name: &str, ty: Type) -> Self {
        Self::new(name, ty, Presence::OptionalComputed)
    }

    /// With a description.
    #[must_use]
    pub fn description(mut self, d: &str) -> Self {
        d.clone_into(&mut self.description);
        self
    }

    /// Marked sensitive.
    #[must_use]
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }

    /// Marked deprecated.
    #[must_use]
    pub fn deprecated(mut self) -> Self {
        self.deprecated = true;
        self
    }

    /// Marked write-only: kept out of plan and state by Terraform 1.11 and later, and refused
    /// by the framework when an older Terraform (which would store it) sends a value.
    #[must_use]
    pub fn write_only(mut self) -> Self {
        self.write_only = true;
        self
    }

    /// Whether the provider may set it (`Computed` or `OptionalComputed`).
    #[must_use]
    pub fn is_computed(&self) -> bool {
        matches!(
            self.presence,
            Presence::Computed | Presence::OptionalComputed
        )
    }

    /// Whether the user must set it.
    #[must_use]
    pub fn is_required(&self) -> bool {
        self.presence == Presence::Required
    }

    /// Whether the user may set it (`Required`, `Optional` or `OptionalComputed`).
    #[must_use]
    pub fn is_configurable(&self) -> bool {
        self.presence != Presence::Computed
    }

    /// The protocol's `(required, optional, computed)` flags.
    #[must_use]
    pub fn flags(&self) -> (bool, bool, bool) {
        match self.presence {
            Presence::Required => (true, false, false),
            Presence::Optional => (false, true, false),
            Presence::Computed => (false, false, true),
            Presence::OptionalComputed => (false, true, true),
        }
    }
}

/// How a nested block repeats, and so how its values look.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Nesting {
    /// At most one block; its value is an object or null.
    Single,
    /// An ordered list of blocks.
    List,
    /// An unordered set of blocks.
    Set,
    /// Blocks with one label each, keyed by it (`cluster "us_east" { ... }`).
    Map,
    /// Exactly one block, never null: absent means all attributes null.
    Group,
}

/// A block type nested in another block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NestedBlock {
    /// The block type name, `^[a-z0-9_]+$`.
    pub type_name: String,
    /// The block's content.
    pub block: Block,
    /// How it repeats.
    pub nesting: Nesting,
    /// The least number of blocks (0: no minimum); list and set nesting only.
    pub min_items: u64,
    /// The most blocks (0: no maximum); list and set nesting, or 1 for single.
    pub max_items: u64,
}

impl NestedBlock {
    /// A nested block with no item limits.
    #[must_use]
    pub fn new(type_name: &str, nesting: Nesting, block: Block) -> Self {
        Self {
            type_name: type_name.to_owned(),
            block,
            nesting,
            min_items: 0,
            max_items: 0,
        }
    }

    /// A single-nested block.
    #[must_use]
    pub fn single(type_name: &str, block: Block) -> Self {
        Self::new(type_name, Nesting::Single, block)
    }

    /// A list-nested block.
    #[must_use]
    pub fn list(type_name: &str, block: Block) -> Self {
        Self::new(type_name, Nesting::List, block)
    }

    /// A set-nested block.
    #[must_use]
    pub fn set(type_name: &str, block: Block) -> Self {
        Self::new(type_name, Nesting::Set, block)
    }

    /// A map-nested block (one label).
    #[must_use]
    pub fn map(type_name: &str, block: Block) -> Self {
        Self::new(type_name, Nesting::Map, block)
    }

    /// A group-nested block.
    #[must_use]
    pub fn group(type_name: &str, block: Block) -> Self {
        Self::new(type_name, Nesting::Group, block)
    }

    /// With a minimum number of blocks.
    #[must_use]
    pub fn min_items(mut self, n: u64) -> Self {
        self.min_items = n;
        self
    }

    /// With a maximum number of blocks.
    #[must_use]
    pub fn max_items(mut self, n: u64) -> Self {
        self.max_items = n;
        self
    }

    /// The type of this block's value inside its parent's object.
    ///
    /// Single and group: the object; list: a list of it; set: a set; map: a map. As in
    /// Terraform, a list or map of blocks containing `dynamic` attributes is `dynamic` itself,
    /// because its elements may then differ in type.
    #[must_use]
    pub fn value_type(&self) -> Type {
        let object = self.block.value_type();
        match self.nesting {
            Nesting::Single | Nesting::Group => object,
            Nesting::List | Nesting::Map if object.has_dynamic() => Type::Dynamic,
            Nesting::List => Type::list(object),
            Nesting::Set => Type::set(object),
            Nesting::Map => Type::map(object),
        }
    }
}

impl Block {
    /// An empty block with a description.
    #[must_use]
    pub fn new(description: &str) -> Self {
        Self {
            description: description.to_owned(),
            ..Self::default()
        }
    }

    /// With one more attribute.
    #[must_use]
    pub fn attribute(mut self, a: Attribute) -> Self {
        self.attributes.push(a);
        self
    }

    /// With one more nested block type.
    #[must_use]
    pub fn block(mut self, b: NestedBlock) -> Self {
        self.block_types.push(b);
        self
    }

    /// Marked deprecated.
    #[must_use]
    pub fn deprecated(mut self) -> Self {
        self.deprecated = true;
        self
    }

    /// The object type of this block's values: one attribute per attribute and nested block.
    #[must_use]
    pub fn value_type(&self) -> Type {
        let mut attrs: BTreeMap<String, Type> = self
            .attributes
            .iter()
            .map(|a| (a.name.clone(), a.ty.clone()))
            .collect();
        attrs.extend(
            self.block_types
                .iter()
                .map(|b| (b.type_name.clone(), b.value_type())),
        );
        Type::Object(attrs)
    }

    /// The attribute named `name`.
    #[must_use]
    pub fn find_attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// The nested block type named `name`.
    #[must_use]
    pub fn find_block(&self, name: &str) -> Option<&NestedBlock> {
        self.block_types.iter().find(|b| b.type_name == name)
    }

    fn check(&self, path: &AttributePath) -> Result<(), SchemaError> {
        let mut seen = BTreeSet::new();
        let names = self
            .attributes
            .iter()
            .map(|a| a.name.as_str())
            .chain(self.block_types.iter().map(|b| b.type_name.as_str()));
        for name in names {
            if !is_valid_name(name) {
                return Err(SchemaError::InvalidName {
                    path: path.clone(),
                    name: name.to_owned(),
                });
            }
            if !seen.insert(name) {
                return Err(SchemaError::DuplicateName {
                    path: path.clone(),
                    name: name.to_owned(),
                });
            }
        }
        if let Some(attribute) = self
            .attributes
            .iter()
            .find(|a| a.write_only && a.is_computed())
        {
            return Err(SchemaError::WriteOnlyComputed {
                path: path.clone(),
                name: attribute.name.clone(),
            });
        }
        for nested in &self.block_types {
            nested.check(&path.attr(&nested.type_name))?;
        }
        Ok(())
    }

    /// The paths of this block's write-only attributes with a non-null value (unknown counts:
    /// it will have one) in `value`, a value of this block, nested blocks included.
    #[must_use]
    pub fn write_only_values(&self, value: &Value) -> Vec<AttributePath> {
        let mut found = Vec::new();
        self.collect_write_only(value, &AttributePath::root(), &mut found);
        found
    }

    fn collect_write_only(
        &self,
        value: &Value,
        path: &AttributePath,
        found: &mut Vec<AttributePath>,
    ) {
        for attribute in self.attributes.iter().filter(|a| a.write_only) {
            if value.get(&attribute.name).is_some_and(|v| !v.is_null()) {
                found.push(path.attr(&attribute.name));
            }
        }
        for nested in &self.block_types {
            let name = nested.type_name.as_str();
            let here = path.attr(name);
            match value.get(name) {
                Some(Value::List(items) | Value::Set(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        let index = i64::try_from(i).unwrap_or(i64::MAX);
                        nested
                            .block
                            .collect_write_only(item, &here.index(index), found);
                    }
                }
                Some(Value::Map(items)) => {
                    for (key, item) in items {
                        nested.block.collect_write_only(item, &here.key(key), found);
                    }
                }
                Some(item @ Value::Object(_)) => {
                    nested.block.collect_write_only(item, &here, found);
                }
                _ => {}
            }
        }
    }

    /// `value` (a value of this block) with every write-only attribute null, nested blocks
    /// included: what Terraform requires in every plan and state it receives.
    #[must_use]
    pub fn without_write_only(&self, value: &Value) -> Value {
        let Value::Object(fields) = value else {
            return value.clone();
        };
        let mut fields = fields.clone();
        for attribute in self.attributes.iter().filter(|a| a.write_only) {
            if let Some(field) = fields.get_mut(&attribute.name) {
                *field = Value::Null;
            }
        }
        for nested in &self.block_types {
            let Some(child) = fields.get_mut(&nested.type_name) else {
                continue;
            };
            let block = &nested.block;
            *child = match &*child {
                Value::List(items) => {
                    Value::List(items.iter().map(|i| block.without_write_only(i)).collect())
                }
                Value::Set(items) => {
                    Value::Set(items.iter().map(|i| block.without_write_only(i)).collect())
                }
                Value::Map(items) => Value::Map(
                    items
                        .iter()
                        .map(|(k, i)| (k.clone(), block.without_write_only(i)))
                        .collect(),
                ),
                other => block.without_write_only(other),
            };
        }
        Value::Object(fields)
    }

    /// Whether this block or a nested one has a write-only attribute.
    #[must_use]
    pub fn has_write_only(&self) -> bool {
        self.attributes.iter().any(|a| a.write_only)
            || self.block_types.iter().any(|b| b.block.has_write_only())
    }
}

impl NestedBlock {
    fn check(&self, path: &AttributePath) -> Result<(), SchemaError> {
        let (min, max) = (self.min_items, self.max_items);
        let limits = |rule| {
            Err(SchemaError::ItemLimits {
                path: path.clone(),
                nesting: self.nesting,
                rule,
                min,
                max,
            })
        };
        match self.nesting {
            // Terraform >= 1.3 refuses a single block whose limits differ ("MinItems and
            // MaxItems must match in NestingSingle mode"): 0/0 is optional, 1/1 required.
            Nesting::Single if min > 1 || max > 1 || min != max => {
                return limits("take min_items = max_items = 0 (optional) or 1 (required)");
            }
            Nesting::Group | Nesting::Map if min != 0 || max != 0 => {
                return limits("take no min_items or max_items");
            }
            Nesting::List | Nesting::Set if max != 0 && min > max => {
                return limits("need min_items <= max_items");
            }
            _ => {}
        }
        if self.nesting == Nesting::Set && self.block.value_type().has_dynamic() {
            return Err(SchemaError::DynamicInSet { path: path.clone() });
        }
        self.block.check(path)
    }
}

impl Schema {
    /// A schema of `version` with `block` at the top.
    #[must_use]
    pub fn new(version: i64, block: Block) -> Self {
        Self { version, block }
    }

    /// The object type of values of this schema.
    #[must_use]
    pub fn value_type(&self) -> Type {
        self.block.value_type()
    }

    /// Checks Terraform's rules for schema definitions.
    ///
    /// Names match `^[a-z0-9_]+$` and are unique across a block's attributes and nested
    /// blocks; single blocks take item limits of 0 or 1; group and map blocks take none; list
    /// and set blocks need `min_items <= max_items` when a maximum is set; set blocks contain no
    /// `dynamic` attribute; the version is not negative. Flag combinations need no check: see
    /// [`Presence`].
    ///
    /// # Errors
    ///
    /// The first rule broken, with the path of the block at fault.
    pub fn check_definition(&self) -> Result<(), SchemaError> {
        if self.version < 0 {
            return Err(SchemaError::NegativeVersion {
                version: self.version,
            });
        }
        self.block.check(&AttributePath::root())
    }
}

fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn storage() -> Block {
        Block::new("one bucket")
            .attribute(Attribute::required("bucket", Type::String))
            .attribute(Attribute::optional("secret_key", Type::String).sensitive())
    }

    fn config_schema() -> Schema {
        Schema::new(
            1,
            Block::new("shared config")
                .attribute(Attribute::required("hostname", Type::String))
                .attribute(Attribute::computed("content_hash", Type::String))
                .block(NestedBlock::map("storage", storage()))
                .block(NestedBlock::single("clair", Block::new("")))
                .block(NestedBlock::list("super_user", storage()).min_items(1)),
        )
    }

    #[test]
    fn value_type_has_one_attribute_per_attribute_and_block() {
        let ty = config_schema().value_type();
        let storage_ty = Type::object([("bucket", Type::String), ("secret_key", Type::String)]);
        assert_eq!(
            ty,
            Type::object([
                ("hostname", Type::String),
                ("content_hash", Type::String),
                ("storage", Type::map(storage_ty.clone())),
                ("clair", Type::object::<[(&str, Type); 0], &str>([])),
                ("super_user", Type::list(storage_ty)),
            ])
        );
    }

    #[test]
    fn list_block_with_dynamic_attribute_is_dynamic() {
        let block = Block::new("").attribute(Attribute::optional("v", Type::Dynamic));
        assert_eq!(
            NestedBlock::list("x", block.clone()).value_type(),
            Type::Dynamic
        );
        assert_eq!(
            NestedBlock::map("x", block.clone()).value_type(),
            Type::Dynamic
        );
        assert_eq!(
            NestedBlock::group("x", block).value_type(),
            Type::object([("v", Type::Dynamic)])
        );
    }

    #[test]
    fn accepts_a_well_formed_schema() {
        assert_eq!(config_schema().check_definition(), Ok(()));
    }

    #[test]
    fn rejects_uppercase_or_dashed_names() {
        for name in ["Hostname", "host-name", "", "hôte"] {
            let schema = Schema::new(
                0,
                Block::new("").attribute(Attribute::optional(name, Type::String)),
            );
            assert!(
                matches!(
                    schema.check_definition(),
                    Err(SchemaError::InvalidName { .. })
                ),
                "{name:?} accepted"
            );
        }
    }

    #[test]
    fn rejects_block_named_like_an_attribute() {
        let schema = Schema::new(
            0,
            Block::new("")
                .attribute(Attribute::optional("storage", Type::String))
                .block(NestedBlock::list("storage", Block::new(""))),
        );
        assert_eq!(
            schema.check_definition(),
            Err(SchemaError::DuplicateName {
                path: AttributePath::root(),
                name: "storage".into()
            })
        );
    }

    #[test]
    fn rejects_problems_in_deeply_nested_blocks_with_their_path() {
        let schema = Schema::new(
            0,
            Block::new("").block(NestedBlock::map(
                "cluster",
                Block::new("").attribute(Attribute::optional("Bad", Type::String)),
            )),
        );
        let err = schema.check_definition().unwrap_err();
        assert_eq!(
            err,
            SchemaError::InvalidName {
                path: AttributePath::root().attr("cluster"),
                name: "Bad".into()
            }
        );
    }

    #[test]
    fn rejects_item_limits_the_nesting_cannot_have() {
        let cases = [
            NestedBlock::single("x", Block::new("")).max_items(2),
            NestedBlock::single("x", Block::new("")).max_items(1),
            NestedBlock::map("x", Block::new("")).min_items(1),
            NestedBlock::group("x", Block::new("")).max_items(1),
            NestedBlock::list("x", Block::new(""))
                .min_items(3)
                .max_items(2),
        ];
        for nested in cases {
            let schema = Schema::new(0, Block::new("").block(nested.clone()));
            assert!(
                matches!(
                    schema.check_definition(),
                    Err(SchemaError::ItemLimits { .. })
                ),
                "{nested:?} accepted"
            );
        }
        let unbounded = NestedBlock::list("x", Block::new("")).min_items(3);
        assert!(
            Schema::new(0, Block::new("").block(unbounded))
                .check_definition()
                .is_ok()
        );
    }

    #[test]
    fn rejects_dynamic_inside_set_blocks() {
        let block = Block::new("").attribute(Attribute::optional("v", Type::list(Type::Dynamic)));
        let schema = Schema::new(0, Block::new("").block(NestedBlock::set("x", block)));
        assert!(matches!(
            schema.check_definition(),
            Err(SchemaError::DynamicInSet { .. })
        ));
    }

    #[test]
    fn rejects_negative_version() {
        let schema = Schema::new(-1, Block::new(""));
        assert!(matches!(
            schema.check_definition(),
            Err(SchemaError::NegativeVersion { version: -1 })
        ));
    }

    #[test]
    fn presence_maps_to_protocol_flags() {
        assert_eq!(
            Attribute::required("a", Type::String).flags(),
            (true, false, false)
        );
        let oc = Attribute::optional_computed("a", Type::String);
        assert_eq!(oc.flags(), (false, true, true));
        assert!(oc.is_computed() && !oc.is_required() && oc.is_configurable());
        assert!(!Attribute::computed("a", Type::String).is_configurable());
    }

    #[test]
    fn finds_attributes_and_blocks_by_name() {
        let schema = config_schema();
        assert!(
            schema
                .block
                .find_attribute("hostname")
                .is_some_and(Attribute::is_required)
        );
        assert_eq!(
            schema.block.find_block("storage").map(|b| b.nesting),
            Some(Nesting::Map)
        );
        assert!(schema.block.find_attribute("storage").is_none());
    }
}
