//! The catalogue: every scenario of the suite, in the order a run takes them (the bad inputs
//! first: they are quick and need nothing installed, so a broken provider shows early; the
//! ones that upgrade the operator last, each one minor further, after the upgrade refusals
//! that need a minor left above the sites).

pub mod add_location;
mod background;
pub mod bad_input;
mod common;
pub mod faults;
pub mod gitops;
pub mod global;
mod global_client;
pub mod hostname;
pub mod lifecycle;
pub mod remove_location;
pub mod resume;
pub mod storage;
pub mod three_sites;
pub mod upgrade;
mod upgrading;
mod user_ingress;

use super::scenario::{OperatorUpgrade, Scenario};

/// Every scenario, in run order.
#[must_use]
pub fn catalogue() -> Vec<Scenario> {
    let mut all = bad_input::scenarios();
    all.push(three_sites::scenario());
    all.push(hostname::scenario());
    all.push(storage::scenario());
    all.push(add_location::scenario());
    all.push(remove_location::scenario());
    all.push(gitops::scenario());
    all.extend(lifecycle::scenarios());
    let (upgrading, refusing): (Vec<_>, Vec<_>) = upgrade::scenarios()
        .into_iter()
        .chain(faults::scenarios())
        .partition(|s| s.operator_upgrade != OperatorUpgrade::No);
    all.extend(refusing);
    all.push(global::scenario());
    all.extend(upgrading);
    all.push(resume::scenario());
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

    #[test]
    fn the_operator_upgrades_run_last_and_the_local_backend_starts_low_enough_for_them() {
        let all = catalogue();
        let first = all
            .iter()
            .position(|s| s.operator_upgrade != OperatorUpgrade::No)
            .unwrap();
        assert!(
            all[first..]
                .iter()
                .all(|s| s.operator_upgrade != OperatorUpgrade::No),
            "a scenario that changes no operator runs after one that upgrades it"
        );
        let upgrading: Vec<&Scenario> = all[first..].iter().collect();
        let releases = crate::quay::Catalogue::builtin().releases();
        let start = crate::conformance::local_quay_version(&upgrading, 1);
        let hops = releases.iter().filter(|r| r.version > start).count();
        assert_eq!(hops, upgrading.len(), "one hop per upgrading scenario");
        // The refusals before them need a release below and two above.
        assert!(releases[0].version < start && hops >= 2);
        assert_eq!(
            crate::conformance::local_quay_version(&[], 1),
            crate::quay::Catalogue::builtin().newest().version
        );
        assert_eq!(
            crate::conformance::local_quay_version(&upgrading, 2),
            releases[0].version,
            "at most the oldest"
        );
    }
}
