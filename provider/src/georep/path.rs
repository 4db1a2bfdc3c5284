//! [`FieldPath`]: where in the user's input a validation issue points.
//!
//! A path is a list of segments: attribute names ([`Segment::Field`]), map keys or block
//! labels ([`Segment::Key`]) and list positions ([`Segment::Index`]). Field names are the
//! Terraform attribute names of `data "quay_georep_config"`, so the resources layer converts
//! a path 1:1 into a Terraform attribute path. This module knows nothing about Terraform
//! itself.

use std::fmt;

/// One step of a [`FieldPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// An attribute or nested block name, such as `storage` or `bucket`.
    Field(&'static str),
    /// A map key or block label, such as the location id in `storage "us_east"`.
    Key(String),
    /// A position in a list, counted from zero.
    Index(usize),
}

/// A path to an attribute of the input, displayed like `storage["us_east"].bucket`.
///
/// # Examples
///
/// ```
/// use terraform_provider_quay::georep::path::FieldPath;
///
/// let path = FieldPath::attr("storage").key("us_east").field("bucket");
/// assert_eq!(path.to_string(), r#"storage["us_east"].bucket"#);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FieldPath {
    segments: Vec<Segment>,
}

impl FieldPath {
    /// The empty path: the data source as a whole.
    pub fn root() -> Self {
        Self::default()
    }

    /// A path of one top-level attribute.
    pub fn attr(name: &'static str) -> Self {
        Self::root().field(name)
    }

    /// This path followed by the attribute `name`.
    #[must_use]
    pub fn field(mut self, name: &'static str) -> Self {
        self.segments.push(Segment::Field(name));
        self
    }

    /// This path followed by the map key or block label `key`.
    #[must_use]
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.segments.push(Segment::Key(key.into()));
        self
    }

    /// This path followed by the list position `index`.
    #[must_use]
    pub fn index(mut self, index: usize) -> Self {
        self.segments.push(Segment::Index(index));
        self
    }

    /// The segments, outermost first.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Whether this is the root path (no segments).
    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Field(name) if i == 0 => write!(f, "{name}")?,
                Segment::Field(name) => write!(f, ".{name}")?,
                Segment::Key(key) => write!(f, "[{key:?}]")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_block_labels_quoted_and_indexes_bare() {
        let path = FieldPath::attr("storage").key("us_east").field("bucket");
        assert_eq!(path.to_string(), r#"storage["us_east"].bucket"#);
        assert_eq!(
            FieldPath::attr("super_users").index(2).to_string(),
            "super_users[2]"
        );
    }

    #[test]
    fn keeps_segments_in_the_order_they_were_added() {
        let path = FieldPath::attr("database").field("uri");
        assert_eq!(
            path.segments(),
            &[Segment::Field("database"), Segment::Field("uri")]
        );
        assert!(FieldPath::root().is_root());
        assert!(!path.is_root());
    }
}
