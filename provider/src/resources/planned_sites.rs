//! [`PlannedSites`]: the sites this provider process has planned, so that each site's plan can
//! be checked against the others (`georep/site/siblings.rs` says what conflicts).
//!
//! Terraform plans every resource of a configuration in one provider process, so the second of
//! two conflicting sites sees the first, whichever order Terraform chose. What it cannot see:
//! sites of another configuration (another state) on the same clusters; the site resource's
//! takeover rules (`georep_site_resource.rs`) meet those on the cluster at apply.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, PoisonError};

use super::convert::diagnostic;
use crate::georep::issue::Issue;
use crate::georep::site::{Site, Slot, sibling_conflicts};
use crate::tfvalue::Diagnostics;

/// The slots of the sites planned so far in this process, by id.
#[derive(Debug, Default)]
pub struct PlannedSites(Mutex<BTreeMap<String, Slot>>);

impl PlannedSites {
    /// Records `slot` and returns its conflicts with every site planned before it.
    pub fn plan(&self, slot: Slot) -> Vec<Issue> {
        let mut planned = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let issues = sibling_conflicts(&slot, planned.values());
        planned.insert(slot.id.clone(), slot);
        issues
    }

    /// The clusters of the sites planned so far.
    pub fn clusters(&self) -> BTreeSet<String> {
        let planned = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        planned.values().map(|slot| slot.cluster.clone()).collect()
    }

    /// Records `site` and adds its conflicts with the sites planned before it to `diags`;
    /// whether there were none.
    pub fn check(&self, site: &Site, diags: &mut Diagnostics) -> bool {
        let issues = self.plan(Slot::of(site));
        for issue in &issues {
            diags.push(diagnostic(issue));
        }
        issues.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(id: &str, cluster: &str, location: &str) -> Slot {
        Slot {
            id: id.to_owned(),
            cluster: cluster.to_owned(),
            namespace: "quay".to_owned(),
            location: location.to_owned(),
        }
    }

    #[test]
    fn the_second_of_two_sites_with_one_location_is_refused_and_a_replan_is_not() {
        let planned = PlannedSites::default();
        assert!(planned.plan(slot("a/quay/r", "a", "us_east")).is_empty());
        assert_eq!(planned.plan(slot("b/quay/r", "b", "us_east")).len(), 1);
        assert!(planned.plan(slot("c/quay/r", "c", "ap_south")).is_empty());
        // The same site planned again (a second plan in one process) meets only the others.
        assert!(planned.plan(slot("c/quay/r", "c", "ap_south")).is_empty());
    }
}
