//! [`Secret`]: a string that never prints itself.
//!
//! Passwords, access keys, `SECRET_KEY`, `DATABASE_SECRET_KEY`, the Clair PSK and database URIs
//! travel in this type so that `Debug`, `Display` and log lines show `<redacted>`. Reading the
//! value takes an explicit [`Secret::expose`] call, which is easy to find in review. This is not
//! memory protection: the value is an ordinary heap string.
//!
//! [`Redacted`] does the same for structured values users commonly fill with credentials
//! (`extra_config`, `database.connection_args`, `builders.executor_config`, a site's `env`):
//! they stay readable through `Deref`, but `Debug` prints `<redacted>`.

use std::fmt;
use std::ops::{Deref, DerefMut};

use serde::Deserialize;

/// A sensitive string; `Debug` and `Display` print `<redacted>`.
///
/// # Examples
///
/// ```
/// use terraform_provider_quay::georep::secret::Secret;
///
/// let key = Secret::new("hunter2");
/// assert_eq!(format!("{key:?} {key}"), "<redacted> <redacted>");
/// assert_eq!(key.expose(), "hunter2");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a sensitive value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The sensitive value itself. Call only where the value must leave the program (the
    /// rendered config), never for logs or messages.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A value that may hold credentials (a map of free-form settings); `Debug` prints
/// `<redacted>`, and the value is read through `Deref`.
///
/// # Examples
///
/// ```
/// use std::collections::BTreeMap;
/// use terraform_provider_quay::georep::secret::Redacted;
///
/// let env = Redacted(BTreeMap::from([("TOKEN".to_owned(), "hunter2".to_owned())]));
/// assert_eq!(format!("{env:?}"), "<redacted>");
/// assert_eq!(env["TOKEN"], "hunter2");
/// ```
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Redacted<T>(pub T);

impl<T> Redacted<T> {
    /// The value itself.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Redacted<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Redacted<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T> From<T> for Redacted<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T> fmt::Debug for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let secret = Secret::new("s3cr3t-value");
        let shown = format!("{secret:?} {secret} {:?}", Some(&secret));
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert_eq!(secret.expose(), "s3cr3t-value");
    }

    #[test]
    fn a_redacted_map_shows_neither_keys_nor_values() {
        let map: Redacted<std::collections::BTreeMap<String, String>> =
            serde_json::from_str(r#"{"AWS_SECRET": "s3cr3t-value"}"#).unwrap();
        let shown = format!("{map:?} {:?}", Some(&map));
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("AWS"),
            "{shown}"
        );
        assert_eq!(map["AWS_SECRET"], "s3cr3t-value");
    }

    #[test]
    fn deserializes_from_a_plain_string() {
        let secret: Secret = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(secret.expose(), "abc");
        assert!(!secret.is_empty());
    }
}
