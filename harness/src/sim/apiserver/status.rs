//! API errors of the simulated API server and their `Status` bodies.
//!
//! This is the one place that decides which HTTP code and `reason` a failure gets, so the
//! table in [`crate::sim`] and the behaviour cannot drift apart. It does not log and does not
//! know about HTTP framing; [`crate::sim::apiserver::http`] turns an [`ApiError`] into a response.

use serde_json::{Value, json};

/// One field-level problem inside an `Invalid` (422) or apply-conflict (409) error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// Machine-readable reason, e.g. `FieldValueInvalid`, `FieldValueRequired`.
    pub reason: String,
    /// Human-readable text, as kubectl prints it after the field path.
    pub message: String,
    /// Dotted field path, e.g. `spec.components[0]`.
    pub field: String,
}

impl Cause {
    /// A cause with the given reason, field path and message.
    pub fn new(reason: &str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            reason: reason.to_owned(),
            message: message.into(),
            field: field.into(),
        }
    }
}

/// Which object an error is about (`details` of a `Status`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Target {
    /// API group ("" for core).
    pub group: String,
    /// Resource plural (NotFound/AlreadyExists/Conflict) or kind (Invalid), as the real server does.
    pub kind: String,
    /// Object name ("" for collections).
    pub name: String,
}

impl Target {
    /// A target from its group, kind-or-resource and name.
    pub fn new(group: &str, kind: &str, name: &str) -> Self {
        Self {
            group: group.to_owned(),
            kind: kind.to_owned(),
            name: name.to_owned(),
        }
    }

    /// `plural.group` or just `plural` for the core group, as in real error messages.
    fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }
}

/// A failed API request: every variant maps to one HTTP code and `Status.reason`.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ApiError {
    /// 404 `NotFound`: the object (or its namespace) does not exist.
    #[error("{} \"{}\" not found", .0.qualified(), .0.name)]
    NotFound(Target),
    /// 404 `NotFound` for a path the server does not serve at all.
    #[error("the server could not find the requested resource")]
    NoRoute,
    /// 409 `AlreadyExists`: create of an existing name.
    #[error("{} \"{}\" already exists", .0.qualified(), .0.name)]
    AlreadyExists(Target),
    /// 409 `Conflict`: stale `resourceVersion` or a failed precondition.
    #[error(
        "Operation cannot be fulfilled on {} \"{}\": the object has been modified; please apply your changes to the latest version and try again",
        .0.qualified(), .0.name
    )]
    Conflict(Target),
    /// 409 `Conflict` from server-side apply: fields owned by other managers.
    #[error("Apply failed with {} conflict{}: {}", .causes.len(), if .causes.len() == 1 { "" } else { "s" }, conflict_text(.causes))]
    ApplyConflict {
        /// The object applied.
        target: Target,
        /// One cause per conflicting field (`FieldManagerConflict`).
        causes: Vec<Cause>,
    },
    /// 422 `Invalid`: the object fails validation; kubectl prints the causes.
    #[error("{} \"{}\" is invalid: {}", .target.kind, .target.name, causes_text(.causes))]
    Invalid {
        /// The object (kind, not plural, in `kind`).
        target: Target,
        /// Field-level problems.
        causes: Vec<Cause>,
    },
    /// 400 `BadRequest`: malformed body, query or path.
    #[error("{0}")]
    BadRequest(String),
    /// 401 `Unauthorized`: missing or wrong bearer token.
    #[error("Unauthorized")]
    Unauthorized,
    /// 403 `Forbidden`, e.g. creating in a terminating namespace.
    #[error("{0}")]
    Forbidden(String),
    /// 405 `MethodNotAllowed`: verb not supported on this path.
    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,
    /// 410 `Expired`: a watch or continue token is older than the kept history.
    #[error("too old resource version: {requested} ({oldest})")]
    Gone {
        /// The resourceVersion the client asked for.
        requested: u64,
        /// The oldest resourceVersion still in the history.
        oldest: u64,
    },
    /// 406 `NotAcceptable`: no media type of `Accept` can be served, e.g. a list asked for as
    /// one `PartialObjectMetadata`.
    #[error("only the following media types are accepted: {0}")]
    NotAcceptable(String),
    /// 415 `UnsupportedMediaType`, e.g. strategic merge patch on a custom resource.
    #[error("the body of the request was in an unknown format - accepted media types include: {0}")]
    UnsupportedMediaType(String),
    /// 429 `TooManyRequests` (fault injection), with a Retry-After in seconds.
    #[error("too many requests, please try again later")]
    TooManyRequests {
        /// Seconds the client should wait.
        retry_after_seconds: u32,
    },
    /// 500 `InternalError` (fault injection or a bug in the simulator).
    #[error("Internal error occurred: {0}")]
    Internal(String),
}

fn causes_text(causes: &[Cause]) -> String {
    let parts: Vec<String> = causes
        .iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect();
    if parts.len() == 1 {
        parts.concat()
    } else {
        format!("[{}]", parts.join(", "))
    }
}

fn conflict_text(causes: &[Cause]) -> String {
    causes
        .iter()
        .map(|c| c.message.clone())
        .collect::<Vec<_>>()
        .join("\n")
}

impl ApiError {
    /// The HTTP status code of this error.
    pub fn code(&self) -> u16 {
        match self {
            Self::NotFound(_) | Self::NoRoute => 404,
            Self::AlreadyExists(_) | Self::Conflict(_) | Self::ApplyConflict { .. } => 409,
            Self::Invalid { .. } => 422,
            Self::BadRequest(_) => 400,
            Self::Unauthorized => 401,
            Self::Forbidden(_) => 403,
            Self::MethodNotAllowed => 405,
            Self::Gone { .. } => 410,
            Self::NotAcceptable(_) => 406,
            Self::UnsupportedMediaType(_) => 415,
            Self::TooManyRequests { .. } => 429,
            Self::Internal(_) => 500,
        }
    }

    /// The `Status.reason` of this error.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NotFound(_) | Self::NoRoute => "NotFound",
            Self::AlreadyExists(_) => "AlreadyExists",
            Self::Conflict(_) | Self::ApplyConflict { .. } => "Conflict",
            Self::Invalid { .. } => "Invalid",
            Self::BadRequest(_) => "BadRequest",
            Self::Unauthorized => "Unauthorized",
            Self::Forbidden(_) => "Forbidden",
            Self::MethodNotAllowed => "MethodNotAllowed",
            Self::Gone { .. } => "Expired",
            Self::NotAcceptable(_) => "NotAcceptable",
            Self::UnsupportedMediaType(_) => "UnsupportedMediaType",
            Self::TooManyRequests { .. } => "TooManyRequests",
            Self::Internal(_) => "InternalError",
        }
    }

    /// The full `Status` object (kind, apiVersion, status Failure, message, reason, details, code).
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.to_string(),
            "reason": self.reason(),
            "code": self.code(),
        });
        let details = match self {
            Self::NotFound(t) | Self::AlreadyExists(t) | Self::Conflict(t) => {
                Some(json!({"name": t.name, "group": t.group, "kind": t.kind}))
            }
            Self::Invalid { target, causes } | Self::ApplyConflict { target, causes } => {
                Some(json!({
                    "name": target.name,
                    "group": target.group,
                    "kind": target.kind,
                    "causes": causes.iter().map(|c| json!({
                        "reason": c.reason, "message": c.message, "field": c.field
                    })).collect::<Vec<_>>(),
                }))
            }
            Self::TooManyRequests {
                retry_after_seconds,
            } => Some(json!({"retryAfterSeconds": retry_after_seconds})),
            _ => None,
        };
        if let Some(details) = details {
            status["details"] = details;
        }
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_status_names_the_resource_like_kubectl_expects() {
        let err = ApiError::NotFound(Target::new("", "configmaps", "nope"));
        let status = err.to_status();
        assert_eq!(status["message"], "configmaps \"nope\" not found");
        assert_eq!(status["reason"], "NotFound");
        assert_eq!(status["status"], "Failure");
        assert_eq!(status["details"]["name"], "nope");
        assert_eq!(err.code(), 404);
    }

    #[test]
    fn invalid_status_lists_every_cause_with_its_field() {
        let err = ApiError::Invalid {
            target: Target::new("quay.redhat.com", "QuayRegistry", "r"),
            causes: vec![
                Cause::new("FieldValueInvalid", "spec.a", "bad a"),
                Cause::new("FieldValueRequired", "spec.b", "Required value"),
            ],
        };
        assert_eq!(
            err.to_string(),
            "QuayRegistry \"r\" is invalid: [spec.a: bad a, spec.b: Required value]"
        );
        assert_eq!(err.to_status()["details"]["causes"][1]["field"], "spec.b");
        assert_eq!(err.code(), 422);
    }

    #[test]
    fn grouped_resources_are_qualified_in_messages() {
        let err = ApiError::AlreadyExists(Target::new("apps", "deployments", "web"));
        assert_eq!(err.to_string(), "deployments.apps \"web\" already exists");
    }
}
