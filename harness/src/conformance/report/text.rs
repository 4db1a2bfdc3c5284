//! Text every report prints: without terminal escapes and control characters.

/// `text` without ANSI escape sequences and without the control characters XML 1.0 cannot
/// hold (tabs and newlines stay).
#[must_use]
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte; anything else: drop the ESC alone.
            if chars.peek() == Some(&'[') {
                chars.next();
                for next in chars.by_ref() {
                    if ('@'..='~').contains(&next) {
                        break;
                    }
                }
            }
            continue;
        }
        if c == '\t' || c == '\n' || c == '\r' || !c.is_control() {
            out.push(c);
        }
    }
    out
}
