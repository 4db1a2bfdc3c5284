//! The catalogue: every scenario of the suite, in the order a run takes them (the bad inputs
//! first: they are quick and need nothing installed, so a broken provider shows early).

pub mod bad_input;
mod common;
pub mod gitops;
pub mod global;
pub mod hostname;
pub mod lifecycle;
pub mod storage;
pub mod three_sites;

use super::scenario::Scenario;

/// Every scenario, in run order.
#[must_use]
pub fn catalogue() -> Vec<Scenario> {
    let mut all = bad_input::scenarios();
    all.push(three_sites::scenario());
    all.push(hostname::scenario());
    all.push(storage::scenario());
    all.push(global::scenario());
    all.push(gitops::scenario());
    all.extend(lifecycle::scenarios());
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_every_claim_is_one_sentence() {
        let all = catalogue();
        let mut ids: Vec<&str> = all.iter().map(|s| s.id.as_str()).collect();
        ids.sort_unstable();
        let count = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), count, "an id is used twice");
        for scenario in &all {
            assert!(
                scenario.claim.ends_with('.') && scenario.claim.matches(". ").count() == 0,
                "{}: {:?}",
                scenario.id,
                scenario.claim
            );
        }
    }
}
