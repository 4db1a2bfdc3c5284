//! Attribute paths: where in a value something happened.
//!
//! An [`AttributePath`] is the protocol's `AttributePath`: a list of steps from the root of a
//! resource's object value to one attribute or element. Diagnostics carry one so Terraform can
//! underline the offending expression in the configuration; `requires_replace` is a list of them.
//!
//! This module is only the path value and its display; it does not look values up (see
//! [`Value::get_path`](super::Value::get_path)) and knows nothing of protobuf.
//!
//! Set elements have no step of their own in tfplugin5, so a path into a set stops at the set.

use std::fmt::{self, Write as _};

/// One step of an [`AttributePath`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathStep {
    /// An object attribute or a nested block, by name.
    Attribute(String),
    /// A map element (or a map-nested block), by key.
    ElementKeyString(String),
    /// A list or tuple element (or a list-nested block), by index.
    ElementKeyInt(i64),
}

/// A path from the root of a value to one of its parts.
///
/// Paths are immutable in use: [`attr`](Self::attr), [`key`](Self::key) and
/// [`index`](Self::index) return an extended copy, so a parent path can be reused for each child.
///
/// # Examples
///
/// ```
/// use terraform_provider_quay::tfvalue::AttributePath;
///
/// let path = AttributePath::root().attr("cluster").key("us_east").attr("kubeconfig_path");
/// assert_eq!(path.to_string(), r#"cluster["us_east"].kubeconfig_path"#);
/// assert_eq!(AttributePath::root().attr("super_users").index(0).to_string(), "super_users[0]");
/// assert_eq!(AttributePath::root().to_string(), "(root)");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttributePath(pub Vec<PathStep>);

impl AttributePath {
    /// The empty path: the whole value.
    #[must_use]
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// This path extended by an attribute (or nested block) name.
    #[must_use]
    pub fn attr(&self, name: &str) -> Self {
        self.with_step(PathStep::Attribute(name.to_owned()))
    }

    /// This path extended by a map key.
    #[must_use]
    pub fn key(&self, k: &str) -> Self {
        self.with_step(PathStep::ElementKeyString(k.to_owned()))
    }

    /// This path extended by a list or tuple index.
    #[must_use]
    pub fn index(&self, i: i64) -> Self {
        self.with_step(PathStep::ElementKeyInt(i))
    }

    /// This path extended by any step.
    #[must_use]
    pub fn with_step(&self, step: PathStep) -> Self {
        let mut steps = Vec::with_capacity(self.0.len() + 1);
        steps.extend_from_slice(&self.0);
        steps.push(step);
        Self(steps)
    }

    /// Appends a step in place.
    pub fn push(&mut self, step: PathStep) {
        self.0.push(step);
    }

    /// The steps, outermost first.
    #[must_use]
    pub fn steps(&self) -> &[PathStep] {
        &self.0
    }

    /// Whether this is the empty path.
    #[must_use]
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The path without its last step, or `None` for the root.
    #[must_use]
    pub fn parent(&self) -> Option<Self> {
        let (_, rest) = self.0.split_last()?;
        Some(Self(rest.to_vec()))
    }

    /// Whether `prefix` is this path or one of its ancestors.
    #[must_use]
    pub fn starts_with(&self, prefix: &AttributePath) -> bool {
        self.0.starts_with(&prefix.0)
    }

    /// This path nested under `prefix`: `prefix` followed by this path's steps.
    #[must_use]
    pub fn under(&self, prefix: &AttributePath) -> Self {
        let mut steps = prefix.0.clone();
        steps.extend_from_slice(&self.0);
        Self(steps)
    }
}

impl From<Vec<PathStep>> for AttributePath {
    fn from(steps: Vec<PathStep>) -> Self {
        Self(steps)
    }
}

impl FromIterator<PathStep> for AttributePath {
    fn from_iter<I: IntoIterator<Item = PathStep>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl fmt::Display for AttributePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(root)");
        }
        for (i, step) in self.0.iter().enumerate() {
            match step {
                PathStep::Attribute(name) if i == 0 => f.write_str(name)?,
                PathStep::Attribute(name) => write!(f, ".{name}")?,
                PathStep::ElementKeyString(key) => write!(f, "[{}]", quote(key))?,
                PathStep::ElementKeyInt(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// `key` as an HCL-style quoted string: backslash, quote and control characters escaped.
fn quote(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 2);
    out.push('"');
    for c in key.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_map_block_attribute_like_hcl() {
        let path = AttributePath::root()
            .attr("storage")
            .key("eu")
            .attr("bucket");
        assert_eq!(path.to_string(), r#"storage["eu"].bucket"#);
    }

    #[test]
    fn displays_list_index_without_dot() {
        let path = AttributePath::root().attr("super_users").index(0);
        assert_eq!(path.to_string(), "super_users[0]");
    }

    #[test]
    fn displays_root_as_root_marker() {
        assert_eq!(AttributePath::root().to_string(), "(root)");
        assert!(AttributePath::default().is_root());
    }

    #[test]
    fn escapes_quotes_and_newlines_in_keys() {
        let path = AttributePath::root().attr("labels").key("a\"b\nc");
        assert_eq!(path.to_string(), r#"labels["a\"b\nc"]"#);
    }

    #[test]
    fn extending_a_path_leaves_the_parent_unchanged() {
        let parent = AttributePath::root().attr("cluster");
        let child = parent.key("us_east");
        assert_eq!(parent.steps().len(), 1);
        assert_eq!(child.parent(), Some(parent.clone()));
        assert!(child.starts_with(&parent));
        assert!(!parent.starts_with(&child));
    }

    #[test]
    fn nests_a_relative_path_under_a_prefix() {
        let relative = AttributePath::root().attr("bucket");
        let prefix = AttributePath::root().attr("storage").key("eu");
        assert_eq!(
            relative.under(&prefix).to_string(),
            r#"storage["eu"].bucket"#
        );
    }

    #[test]
    fn root_has_no_parent() {
        assert_eq!(AttributePath::root().parent(), None);
    }
}
