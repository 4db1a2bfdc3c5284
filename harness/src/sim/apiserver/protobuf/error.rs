//! Why a protobuf body was refused.

/// A protobuf body that cannot be decoded.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The body lacks the `k8s\0` magic prefix.
    #[error("protobuf body lacks the k8s magic prefix")]
    Magic,
    /// The wire data is truncated or malformed.
    #[error("malformed protobuf body: {0}")]
    Malformed(String),
    /// The kind is not one we decode.
    #[error("protobuf bodies are not supported for kind {kind}")]
    UnsupportedKind {
        /// The kind sent.
        kind: String,
    },
    /// A field holds a value the simulator does not convert from protobuf.
    #[error(
        "the simulator does not convert field {field} of {message} from protobuf; \
         send this object as JSON (kubectl create -f / apply -f)"
    )]
    Unconverted {
        /// The protobuf message, e.g. `PodSpec`.
        message: &'static str,
        /// The field number left over.
        field: u64,
    },
}
