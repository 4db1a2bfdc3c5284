//! Checks between the sites of one configuration, which no single site block can decide: two
//! sites with the same storage `location` (each site prefers its own location, and Quay's
//! replication copies blobs between distinct locations), and two sites in one namespace of
//! one cluster (one region's single site, written twice: both would own the namespace's
//! bundle Secrets and scale each other in an upgrade).
//!
//! Pure: the provider calls [`conflicts`] at each site's plan with the sites its process has
//! planned so far ([`Slot`] each), so whichever of two conflicting sites Terraform plans second
//! is refused, naming the first.

use crate::georep::issue::Issue;
use crate::georep::path::FieldPath;

/// What a site's plan tells the others about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    /// `cluster/namespace/name` ([`super::Site::id`]): one slot per site.
    pub id: String,
    /// The provider `cluster` key.
    pub cluster: String,
    /// The namespace.
    pub namespace: String,
    /// The storage location.
    pub location: String,
}

impl Slot {
    /// The slot of `site`.
    #[must_use]
    pub fn of(site: &super::Site) -> Self {
        Self {
            id: site.id(),
            cluster: site.cluster().to_owned(),
            namespace: site.namespace().to_string(),
            location: site.location().to_owned(),
        }
    }
}

/// The errors of `this` against `others` (its own earlier plan, the same id, is no conflict).
#[must_use]
pub fn conflicts<'a>(this: &Slot, others: impl IntoIterator<Item = &'a Slot>) -> Vec<Issue> {
    let mut issues = Vec::new();
    for other in others.into_iter().filter(|o| o.id != this.id) {
        if other.location == this.location {
            issues.push(Issue::error(
                FieldPath::attr("location"),
                "Location Used By Two Sites",
                format!(
                    "site {} and site {} both set location = \"{}\": each site needs a storage \
                     location of its own, which it prefers and replicates to the others; give \
                     one of them the location of its own storage block",
                    other.id, this.id, this.location
                ),
            ));
        }
        if other.cluster == this.cluster && other.namespace == this.namespace {
            issues.push(Issue::error(
                FieldPath::attr("namespace"),
                "Two Sites In One Namespace",
                format!(
                    "site {} and site {} are both in namespace {} on cluster \"{}\": a cluster \
                     holds one site of a geo-replicated deployment, and two in one namespace \
                     would share its bundle Secrets and scale each other during an upgrade; \
                     put each site on its own cluster",
                    other.id, this.id, this.namespace, this.cluster
                ),
            ));
        }
    }
    issues
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::georep::issue::Severity;

    fn slot(id: &str, location: &str) -> Slot {
        let mut parts = id.split('/');
        Slot {
            id: id.to_owned(),
            cluster: parts.next().unwrap_or_default().to_owned(),
            namespace: parts.next().unwrap_or_default().to_owned(),
            location: location.to_owned(),
        }
    }

    #[test]
    fn distinct_sites_and_a_sites_own_earlier_plan_are_no_conflict() {
        let us = slot("us_east/quay/registry", "us_east");
        let eu = slot("eu_west/quay/registry", "eu_west");
        assert!(conflicts(&us, [&eu, &us.clone()]).is_empty());
    }

    #[test]
    fn a_location_taken_by_another_site_is_refused_at_location_naming_both() {
        let us = slot("us_east/quay/registry", "us_east");
        let copy = slot("eu_west/quay/registry", "us_east");
        let [issue] = conflicts(&copy, [&us]).try_into().unwrap();
        assert_eq!(issue.severity, Severity::Error);
        assert_eq!(issue.path, FieldPath::attr("location"));
        assert!(issue.detail.contains("us_east/quay/registry"), "{issue:?}");
        assert!(issue.detail.contains("eu_west/quay/registry"), "{issue:?}");
    }

    #[test]
    fn two_sites_in_one_namespace_of_one_cluster_are_refused_at_namespace() {
        let first = slot("us_east/quay/registry", "us_east");
        let second = slot("us_east/quay/other", "eu_west");
        let [issue] = conflicts(&second, [&first]).try_into().unwrap();
        assert_eq!(issue.path, FieldPath::attr("namespace"));
        assert!(issue.summary.contains("One Namespace"));
        // Another namespace of the same cluster is another matter (not refused here).
        let elsewhere = slot("us_east/quay-b/registry", "eu_west");
        assert!(conflicts(&elsewhere, [&first]).is_empty());
    }
}
