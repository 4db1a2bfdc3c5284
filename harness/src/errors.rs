//! Error text for people: an error and every cause behind it on one line.
//!
//! The useful part of a failure (tokio-postgres' server message, an I/O error behind a
//! connect, a missing binary behind a start-up) is usually in the error's `source`, not in
//! its own message. Logs, status answers and test failures all go through [`chain`], so the
//! causes are always shown and always in the same form.

/// `err` and its sources, outermost first, joined with `": "`.
#[must_use]
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
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
