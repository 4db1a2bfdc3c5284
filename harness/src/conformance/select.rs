//! Choosing scenarios by id: `--scenario GLOB` (any of them; all scenarios without one) and
//! `--skip GLOB` (none of them). A glob's `*` matches any run of characters and `?` one;
//! everything else matches itself, case and all.

/// Whether `text` matches `glob` as a whole.
#[must_use]
pub fn glob_matches(glob: &str, text: &str) -> bool {
    let glob: Vec<char> = glob.chars().collect();
    let text: Vec<char> = text.chars().collect();
    // Iterative matching with one backtrack point: the last `*` seen.
    let (mut g, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match glob.get(g) {
            Some('*') => {
                star = Some((g, t));
                g += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                g += 1;
                t += 1;
            }
            _ => match star {
                Some((star_g, star_t)) => {
                    g = star_g + 1;
                    t = star_t + 1;
                    star = Some((star_g, star_t + 1));
                }
                None => return false,
            },
        }
    }
    glob[g..].iter().all(|c| *c == '*')
}

/// Whether the scenario `id` is selected by `include` (empty: everything) and not by `skip`.
#[must_use]
pub fn is_selected(id: &str, include: &[String], skip: &[String]) -> bool {
    (include.is_empty() || include.iter().any(|g| glob_matches(g, id)))
        && !skip.iter().any(|g| glob_matches(g, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_and_question_mark_match_runs_and_single_characters() {
        assert!(glob_matches("BADINPUT-*", "BADINPUT-weak_secret_key"));
        assert!(glob_matches("*three*", "SCEN-three-sites"));
        assert!(glob_matches("AC?-*", "AC1-custom-hostname"));
        assert!(glob_matches("*", ""));
        assert!(!glob_matches("AC?-*", "AC10-x"));
        assert!(!glob_matches("BADINPUT-*", "SCEN-three-sites"));
        assert!(!glob_matches("scen-*", "SCEN-three-sites"), "case matters");
        assert!(glob_matches("a*b*c", "aXbYbZc"));
        assert!(!glob_matches("a*b*c", "aXbYbZ"));
    }

    #[test]
    fn skip_wins_over_include_and_no_include_means_everything() {
        let inc = vec!["BADINPUT-*".to_owned()];
        let skip = vec!["*timeout*".to_owned()];
        assert!(is_selected("BADINPUT-weak_secret_key", &inc, &skip));
        assert!(!is_selected("BADINPUT-delete_timeout_zero", &inc, &skip));
        assert!(!is_selected("SCEN-three-sites", &inc, &[]));
        assert!(is_selected("SCEN-three-sites", &[], &[]));
    }
}
