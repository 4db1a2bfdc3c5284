//! Error text for users: an error and every cause behind it on one line.
//!
//! Our errors keep the underlying cause (a YAML parser, a PEM decoder, a Kubernetes client)
//! as their `source`, and the top-level message alone often hides the useful part. Every
//! place that turns an error into text a user reads goes through [`chain`], so the causes
//! are always shown and always in the same form.

/// `err` and its sources, outermost first, joined with `": "`.
#[must_use]
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("inner")]
    struct Inner;

    #[test]
    fn chain_joins_every_cause_in_order() {
        assert_eq!(chain(&Outer(Inner)), "outer: inner");
        assert_eq!(chain(&Inner), "inner");
    }
}
