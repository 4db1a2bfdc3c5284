//! The error type shared by the msgpack and JSON codecs.
//!
//! Both codecs fail the same ways: bytes that are not the format at all, or a value that does
//! not fit the type (while decoding or encoding). This module is only that error; the codecs
//! are [`msgpack`](super::msgpack) and [`json`](super::json).

use super::path::AttributePath;
use super::types::TypeError;
use super::value::ConformanceError;

/// Errors decoding or encoding a `DynamicValue`. Never a panic, whatever the input.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The bytes are not well-formed msgpack.
    #[error("malformed msgpack")]
    Msgpack {
        /// The msgpack reader's complaint.
        #[source]
        source: rmpv::decode::Error,
    },
    /// The bytes are not well-formed JSON.
    #[error("malformed JSON")]
    Json {
        /// The JSON parser's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// Well-formed input, or a value to encode, that does not fit the type.
    #[error("{message} at {path}")]
    Invalid {
        /// Where in the value the problem is.
        path: AttributePath,
        /// What is wrong, in go-cty's words where it has some
        /// (`an object with 5 attributes is required (4 given)`).
        message: String,
    },
    /// A dynamic value names a type that is not a valid cty type.
    #[error("invalid type for the dynamic value at {path}")]
    DynamicType {
        /// Where the dynamic value is.
        path: AttributePath,
        /// Why its type is invalid.
        #[source]
        source: TypeError,
    },
    /// A value to encode does not conform to the type.
    #[error("value does not conform to its type")]
    Conformance {
        /// The mismatch, with its path.
        #[source]
        source: ConformanceError,
    },
}

impl CodecError {
    /// Where in the value the problem is (the root for malformed input).
    #[must_use]
    pub fn path(&self) -> AttributePath {
        match self {
            Self::Msgpack { .. } | Self::Json { .. } => AttributePath::root(),
            Self::Invalid { path, .. } | Self::DynamicType { path, .. } => path.clone(),
            Self::Conformance { source } => source.path.clone(),
        }
    }

    pub(crate) fn invalid(path: &AttributePath, message: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.clone(),
            message: message.into(),
        }
    }
}

impl From<ConformanceError> for CodecError {
    fn from(source: ConformanceError) -> Self {
        Self::Conformance { source }
    }
}

/// How deep values may nest before decoding gives up, so that hostile input cannot exhaust
/// the stack. Terraform values in practice nest a handful of levels.
pub(crate) const MAX_NESTING: usize = 64;
