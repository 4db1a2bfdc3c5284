//! [`LocationId`]: the name of one storage location (one site's bucket).
//!
//! The rule: 1 to 64 characters, lowercase ASCII letters, digits and `_`, starting with a
//! letter (`us_east`, `eu_west2`). Why this strict: the id is a `DISTRIBUTED_STORAGE_CONFIG`
//! key, a row in Quay's `imagestoragelocation` table, a Terraform block label, and a word in
//! the whitespace-separated `QUAY_DISTRIBUTED_STORAGE_PREFERENCE` env var; this rule is safe in
//! all four and avoids ids that differ only by case. Parsing only.

use std::fmt;

/// The longest accepted location id.
pub const MAX_LEN: usize = 64;

/// Why a location id was refused. Each variant carries the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The id is empty.
    #[error("the location id is empty")]
    Empty,
    /// The id is longer than [`MAX_LEN`].
    #[error("location id `{input}` is {len} characters long, more than 64")]
    TooLong {
        /// The id given.
        input: String,
        /// Its length.
        len: usize,
    },
    /// The id does not start with a lowercase letter.
    #[error("location id `{input}` does not start with a lowercase letter")]
    BadStart {
        /// The id given.
        input: String,
    },
    /// The id contains a character other than `a-z`, `0-9`, `_`.
    #[error("location id `{input}` contains `{character}`")]
    BadCharacter {
        /// The id given.
        input: String,
        /// The first offending character.
        character: char,
    },
}

/// A valid storage location id such as `us_east`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LocationId(String);

impl LocationId {
    /// Parses a location id.
    ///
    /// # Errors
    ///
    /// [`Error`] for an empty or too long id, a first character that is not a lowercase letter,
    /// or any character outside `a-z`, `0-9`, `_`.
    ///
    /// # Examples
    ///
    /// ```
    /// use terraform_provider_quay::georep::config::location::LocationId;
    ///
    /// assert!(LocationId::parse("us_east").is_ok());
    /// assert!(LocationId::parse("US-East").is_err());
    /// ```
    pub fn parse(input: &str) -> Result<Self, Error> {
        let Some(first) = input.chars().next() else {
            return Err(Error::Empty);
        };
        if input.len() > MAX_LEN {
            return Err(Error::TooLong {
                input: input.to_owned(),
                len: input.chars().count(),
            });
        }
        if !first.is_ascii_lowercase() {
            return Err(Error::BadStart {
                input: input.to_owned(),
            });
        }
        if let Some(character) = input
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
        {
            return Err(Error::BadCharacter {
                input: input.to_owned(),
                character,
            });
        }
        Ok(Self(input.to_owned()))
    }

    /// The id as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LocationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_lowercase_snake_ids_up_to_64_characters() {
        for ok in ["us_east", "eu_west2", "a", &"a".repeat(64)] {
            assert_eq!(LocationId::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn rejects_hyphens_uppercase_leading_digits_and_long_ids() {
        assert!(matches!(
            LocationId::parse("us-east"),
            Err(Error::BadCharacter { character: '-', .. })
        ));
        assert!(matches!(
            LocationId::parse("Us_east"),
            Err(Error::BadStart { .. })
        ));
        assert!(matches!(
            LocationId::parse("1east"),
            Err(Error::BadStart { .. })
        ));
        assert!(matches!(
            LocationId::parse("_east"),
            Err(Error::BadStart { .. })
        ));
        assert!(matches!(
            LocationId::parse("us east"),
            Err(Error::BadCharacter { character: ' ', .. })
        ));
        assert!(matches!(
            LocationId::parse(&"a".repeat(65)),
            Err(Error::TooLong { len: 65, .. })
        ));
        assert!(matches!(LocationId::parse(""), Err(Error::Empty)));
    }
}
