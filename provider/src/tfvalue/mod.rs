//! Terraform's value model: cty types and values, their wire codecs, schemas, paths and
//! diagnostics. Our equivalent of terraform-plugin-go's `tftypes` and `diag`.
//!
//! # Brief overview
//!
//! - [`Type`]: a cty type, with its JSON form for schemas and dynamic values.
//! - [`Value`]: a cty value that tells unknown from null at any depth; [`Number`] keeps
//!   arbitrary precision. [`Value::conforms_to`] checks a value against a type.
//! - [`Schema`], [`Block`], [`Attribute`], [`NestedBlock`]: schemas as data, with the object
//!   type they imply and Terraform's own definition checks.
//! - [`AttributePath`] and [`Diagnostics`]: where a problem is, and how it is reported.
//!
//! This module is pure: no protobuf types, no I/O, no logging. The plugin layer converts
//! between these types and the generated protobuf messages.

#![warn(clippy::pedantic)]

pub mod diagnostics;
mod number;
pub mod path;
pub mod schema;
pub mod types;
pub mod value;

pub use diagnostics::{Diagnostic, Diagnostics, Severity};
pub use number::ParseNumberError;
pub use path::{AttributePath, PathStep};
pub use schema::{Attribute, Block, NestedBlock, Nesting, Presence, Schema, SchemaError};
pub use types::{Type, TypeError};
pub use value::{ConformanceError, Mismatch, Number, Value};
