//! The cross-site guard rail: every site's operator runs the same Quay version.
//!
//! Each site's operator runs its own migration Job against the one shared database whenever
//! the site's `currentVersion` differs from the operator's `QUAY_VERSION` (reference
//! `quay-operator.md` §3.2), so operators of different versions across sites either migrate
//! the shared schema under sites that still run the old version, or fail their migration on a
//! schema they do not know. `quay_georep_upgrade` changes every operator in the safe order;
//! this check, run at each site's plan against the operators on every cluster that runs a
//! site, says which cluster differs.
//!
//! Severity, and why:
//! - **Error** when the planned site is new and its cluster's operator differs from the one
//!   version every other site's operator runs: installing it starts a migration Job on the
//!   shared database at once, which is the harm itself, and nothing has been written yet.
//! - **Warning** otherwise (an existing site, or sites already disagreeing among themselves):
//!   the difference is already live, refusing an unrelated change would not undo it, and it
//!   is expected while a `quay_georep_upgrade` is between its primary and its secondaries.
//!
//! Pure: the versions found in, an issue out.

use std::collections::BTreeMap;

use crate::georep::issue::Issue;
use crate::georep::path::FieldPath;

/// The operator versions found per cluster: the clusters that run a site of this provider
/// (and the planned site's own cluster), each with the operator's `QUAY_VERSION`, `None`
/// when no operator Deployment was found there.
pub type OperatorVersions = BTreeMap<String, Option<String>>;

/// The issue, if any, of planning a site on `cluster` (new when `creating`) while the
/// operators of `found` run the versions they run.
#[must_use]
pub fn check_operator_versions(
    cluster: &str,
    creating: bool,
    found: &OperatorVersions,
) -> Option<Issue> {
    let mut by_version: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (label, version) in found {
        if let Some(version) = version {
            by_version
                .entry(version.as_str())
                .or_default()
                .push(label.as_str());
        }
    }
    if by_version.len() < 2 {
        return None;
    }
    let own = found.get(cluster).cloned().flatten();
    let others: BTreeMap<&str, Vec<&str>> = by_version
        .iter()
        .map(|(v, clusters)| {
            let rest: Vec<&str> = clusters.iter().copied().filter(|c| *c != cluster).collect();
            (*v, rest)
        })
        .filter(|(_, rest)| !rest.is_empty())
        .collect();
    let listing = by_version
        .iter()
        .map(|(version, clusters)| format!("{} {version}", clusters.join(", ")))
        .collect::<Vec<_>>()
        .join("; ");
    let path = FieldPath::attr("cluster");
    if creating
        && let Some(own) = &own
        && others.len() == 1
        && !others.contains_key(own.as_str())
        && let Some((theirs, their_clusters)) = others.iter().next()
    {
        return Some(Issue::error(
            path,
            "Quay Operator Version Differs Between Sites",
            format!(
                "cluster \"{cluster}\" runs Quay Operator {own}, and the operators of the \
                 other sites ({}) run {theirs}. A new site's operator runs its migration Job \
                 against the shared database at install, which would move it to {own} under \
                 sites that run {theirs} (or fail, for an older operator). Install Quay \
                 Operator {theirs} on \"{cluster}\" first, or bring every site to {own} with \
                 quay_georep_upgrade, then apply again; nothing was changed",
                their_clusters.join(", ")
            ),
        ));
    }
    Some(Issue::warning(
        path,
        "Quay Operator Versions Differ Between Sites",
        format!(
            "the operators of the sites' clusters run different Quay versions ({listing}). \
             Every site's operator migrates the shared database to its own version, so an old \
             site may serve against a schema migrated under it. This is expected while a \
             quay_georep_upgrade is between its primary and its other sites; otherwise bring \
             every operator to one version with quay_georep_upgrade"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::georep::issue::Severity;

    fn found(entries: &[(&str, Option<&str>)]) -> OperatorVersions {
        entries
            .iter()
            .map(|(c, v)| ((*c).to_owned(), v.map(str::to_owned)))
            .collect()
    }

    #[test]
    fn one_version_everywhere_passes() {
        let all = found(&[
            ("us_east", Some("3.14.8")),
            ("eu_west", Some("3.14.8")),
            ("ap_south", None),
        ]);
        assert_eq!(check_operator_versions("us_east", true, &all), None);
    }

    #[test]
    fn a_new_site_whose_operator_differs_from_every_other_site_is_refused_naming_it() {
        let all = found(&[
            ("us_east", Some("3.14.8")),
            ("eu_west", Some("3.13.11")),
            ("ap_south", Some("3.13.11")),
        ]);
        let issue = check_operator_versions("us_east", true, &all).unwrap();
        assert_eq!(issue.severity, Severity::Error);
        assert_eq!(issue.path, FieldPath::attr("cluster"));
        assert!(
            issue
                .detail
                .contains("\"us_east\" runs Quay Operator 3.14.8"),
            "{issue:?}"
        );
        assert!(
            issue.detail.contains("(ap_south, eu_west) run 3.13.11"),
            "{issue:?}"
        );
    }

    #[test]
    fn an_existing_site_or_a_split_between_others_is_a_warning_listing_every_cluster() {
        let all = found(&[
            ("us_east", Some("3.14.8")),
            ("eu_west", Some("3.13.11")),
            ("ap_south", Some("3.13.11")),
        ]);
        let issue = check_operator_versions("us_east", false, &all).unwrap();
        assert_eq!(issue.severity, Severity::Warning);
        assert!(
            issue
                .detail
                .contains("ap_south, eu_west 3.13.11; us_east 3.14.8"),
            "{issue:?}"
        );
        // A new site on a cluster that agrees with one of two disagreeing others.
        let split = found(&[
            ("us_east", Some("3.14.8")),
            ("eu_west", Some("3.14.8")),
            ("ap_south", Some("3.13.11")),
        ]);
        let issue = check_operator_versions("us_east", true, &split).unwrap();
        assert_eq!(issue.severity, Severity::Warning);
    }
}
