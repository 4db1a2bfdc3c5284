//! [`Secret`]: a generated password or key that never prints itself.
//!
//! The launchers generate every password and secret key they hand out (the Postgres
//! superuser and `quay` role passwords, the Redis `requirepass`, the S3 secret keys) and keep
//! them in this type, so `Debug` and `Display` of any launcher show `<redacted>`. Reading the
//! value takes an explicit [`Secret::expose`]. This is the harness's own small copy of the idea
//! behind the provider's `georep::secret::Secret` (the harness does not depend on the provider
//! crate); it is not memory protection.

use std::fmt;

/// A sensitive string; `Debug` and `Display` print `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a sensitive value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// A fresh random value of `bytes` random bytes, written as lowercase hex (so it needs no
    /// quoting in URIs, config files or SQL).
    ///
    /// # Errors
    ///
    /// The operating system's random source failed.
    pub fn generate(bytes: usize) -> Result<Self, getrandom::Error> {
        random_hex(bytes).map(Self)
    }

    /// The sensitive value itself. Call only where the value must leave the program (a
    /// connection, a config file, `services.json`), never for logs or messages.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
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

/// `bytes` random bytes from the operating system, as lowercase hex.
///
/// # Errors
///
/// The operating system's random source failed.
pub(crate) fn random_hex(bytes: usize) -> Result<String, getrandom::Error> {
    let mut buf = vec![0_u8; bytes];
    getrandom::fill(&mut buf)?;
    Ok(hex::encode(buf))
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
    fn generated_secrets_are_hex_of_the_requested_length_and_differ() {
        let a = Secret::generate(16).unwrap();
        let b = Secret::generate(16).unwrap();
        assert_eq!(a.expose().len(), 32);
        assert!(a.expose().chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
