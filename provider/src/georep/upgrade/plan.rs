//! [`plan_steps`]: the steps an upgrade will take, in words, for the plan's `steps` attribute.
//!
//! Built from the request and a [`SiteObservationSummary`] per site (whatever the plan could
//! read; every field may be unknown), so a person reviewing `terraform plan` sees which sites
//! go to 0 and what they come back to. Pure text; it predicts, [`step`](super::step) decides.

use std::collections::BTreeMap;

use super::names::{LEASE_NAME, PROGRESS_CONFIG_MAP};
use super::observation::{Component, SiteState};
use super::request::{OperatorMethod, UpgradeRequest};
use super::site::SiteId;
use super::target::csv_name;

/// What the plan knows about one site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteObservationSummary {
    /// The site.
    pub site: SiteId,
    /// `status.currentVersion`, if read.
    pub current_version: Option<String>,
    /// `overrides.replicas` of the managed components among quay, clair and mirror, if read.
    pub replicas: Option<BTreeMap<Component, Option<u32>>>,
    /// Whether the HPA is managed, if read.
    pub hpa_managed: Option<bool>,
}

impl SiteObservationSummary {
    /// The summary of a fully observed site.
    pub fn from_state(site: SiteId, state: &SiteState) -> Self {
        Self {
            site,
            current_version: state.registry.current_version.clone(),
            replicas: Some(
                state
                    .managed_components()
                    .map(|(c, s)| (c, s.replicas))
                    .collect(),
            ),
            hpa_managed: Some(state.hpa_managed),
        }
    }

    /// A summary of a site nothing is known about.
    pub fn unknown(site: SiteId) -> Self {
        Self {
            site,
            current_version: None,
            replicas: None,
            hpa_managed: None,
        }
    }
}

/// The steps an upgrade will take, one sentence each, in order.
///
/// When every summary reports the target as its `currentVersion`, the only step says there is
/// nothing to do.
///
/// # Examples
///
/// ```
/// use terraform_provider_quay::georep::upgrade::{
///     plan_steps, validate, OperatorInput, SiteObservationSummary, UpgradeInput,
/// };
///
/// let input = UpgradeInput {
///     sites: Some(vec!["us_east/quay/registry".into(), "eu_west/quay/registry".into()]),
///     target_version: Some("3.14.8".into()),
///     operator: Some(OperatorInput {
///         method: Some("deployment".into()),
///         namespace: Some("quay-operator".into()),
///         name: Some("quay-operator".into()),
///         ..OperatorInput::default()
///     }),
///     ..UpgradeInput::default()
/// };
/// let (request, _) = validate(&input).unwrap();
/// let sites: Vec<_> = request.sites().iter().cloned().map(SiteObservationSummary::unknown).collect();
/// let steps = plan_steps(&request, &sites);
/// assert!(steps.iter().any(|s| s.starts_with("scale quay, clair and mirror of eu_west/quay/registry to 0")));
/// ```
pub fn plan_steps(request: &UpgradeRequest, current: &[SiteObservationSummary]) -> Vec<String> {
    let target = request.target();
    let summary = |site: &SiteId| current.iter().find(|s| s.site == *site);
    let all_at_target = request.sites().iter().all(|site| {
        summary(site)
            .and_then(|s| s.current_version.as_deref())
            .and_then(|v| v.parse().ok())
            .is_some_and(|v| target.accepts(v))
    });
    if all_at_target {
        return vec![format!("nothing to do: every site runs Quay {target}")];
    }
    let primary = request.primary();
    let from = summary(primary)
        .and_then(|s| s.current_version.clone())
        .unwrap_or_else(|| "the current version".to_owned());
    let secondaries: Vec<&SiteId> = request.secondaries().collect();
    let names = |sites: &[&SiteId]| {
        sites
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut steps = vec![
        format!(
            "check that every site ({}) is reachable, converged, on one Quay version and one \
             config hash, that the OLM channel (if any) offers Quay {target}, and that \
             {from} → {target} is an allowed upgrade",
            names(&request.sites().iter().collect::<Vec<_>>())
        ),
        format!(
            "take Lease {LEASE_NAME} in namespace {} on cluster {} for {}s",
            primary.namespace(),
            primary.cluster(),
            request.lease_duration().as_secs()
        ),
    ];
    if !secondaries.is_empty() {
        steps.push(format!(
            "record the replicas and HPA settings of {} in ConfigMap {PROGRESS_CONFIG_MAP} \
             on cluster {}",
            names(&secondaries),
            primary.cluster()
        ));
    }
    for site in &secondaries {
        steps.push(format!(
            "scale quay, clair and mirror of {site} to 0 (HPA unmanaged) and wait until their \
             pods are gone"
        ));
    }
    steps.push(operator_step(request, primary));
    steps.push(format!(
        "wait for the migration Job {} on {primary} ({from} → {target}), then for \
         currentVersion {target} and Available",
        primary.migration_job_name()
    ));
    for site in &secondaries {
        steps.push(format!(
            "{} while it is at 0, and wait for currentVersion {target}",
            operator_step(request, site)
        ));
    }
    for site in &secondaries {
        steps.push(format!(
            "restore {} on {site} and wait for Available",
            originals_text(summary(site))
        ));
    }
    steps.push(format!(
        "release Lease {LEASE_NAME} and delete ConfigMap {PROGRESS_CONFIG_MAP}"
    ));
    steps
}

fn operator_step(request: &UpgradeRequest, site: &SiteId) -> String {
    let target = request.target();
    match request.operator() {
        OperatorMethod::Olm {
            namespace,
            subscription,
            channel,
            catalog,
        } => {
            let csv = target.exact().map_or_else(
                || format!("the head of channel {channel} (Quay {target})"),
                csv_name,
            );
            let from = catalog
                .as_ref()
                .map(|c| format!(" of CatalogSource {c}"))
                .unwrap_or_default();
            format!(
                "upgrade the operator of {site}: Subscription {namespace}/{subscription} to \
                 channel {channel}{from}, then approve the InstallPlan for {csv}"
            )
        }
        OperatorMethod::Deployment {
            namespace,
            name,
            image,
        } => format!(
            "upgrade the operator of {site}: Deployment {namespace}/{name} to image {image} \
             with QUAY_VERSION {target} and {target}'s RELATED_IMAGE_COMPONENT_* images"
        ),
    }
}

fn originals_text(summary: Option<&SiteObservationSummary>) -> String {
    let replicas = summary.and_then(|s| s.replicas.as_ref()).map(|r| {
        r.iter()
            .map(|(c, n)| match n {
                Some(n) => format!("{} {n}", c.kind()),
                None => format!("{} (no override)", c.kind()),
            })
            .collect::<Vec<_>>()
            .join(", ")
    });
    let hpa = summary.and_then(|s| s.hpa_managed).map(|managed| {
        if managed {
            "HPA managed"
        } else {
            "HPA unmanaged"
        }
    });
    match (replicas, hpa) {
        (Some(r), Some(h)) => format!("the original replicas ({r}) and {h}"),
        _ => "the original replicas and HPA setting".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::georep::upgrade::{OperatorInput, UpgradeInput, validate};

    fn request() -> UpgradeRequest {
        let input = UpgradeInput {
            sites: Some(vec![
                "us_east/quay/registry".into(),
                "eu_west/quay/registry".into(),
            ]),
            target_version: Some("3.14.8".into()),
            operator: Some(OperatorInput {
                method: Some("olm".into()),
                namespace: Some("openshift-operators".into()),
                name: Some("quay-operator".into()),
                ..OperatorInput::default()
            }),
            ..UpgradeInput::default()
        };
        validate(&input).unwrap().0
    }

    fn at(site: &str, version: &str) -> SiteObservationSummary {
        SiteObservationSummary {
            site: site.parse().unwrap(),
            current_version: Some(version.into()),
            replicas: Some(BTreeMap::from([
                (Component::Quay, Some(3)),
                (Component::Mirror, Some(1)),
            ])),
            hpa_managed: Some(false),
        }
    }

    #[test]
    fn lists_scale_down_before_the_primary_operator_and_restore_last() {
        let steps = plan_steps(
            &request(),
            &[
                at("us_east/quay/registry", "3.13.11"),
                at("eu_west/quay/registry", "3.13.11"),
            ],
        );
        let position = |needle: &str| {
            steps
                .iter()
                .position(|s| s.contains(needle))
                .unwrap_or_else(|| panic!("no step with {needle:?} in {steps:#?}"))
        };
        assert!(
            position("scale quay, clair and mirror of eu_west") < position("operator of us_east")
        );
        assert!(
            position("operator of us_east") < position("migration Job registry-quay-app-upgrade")
        );
        assert!(position("migration Job") < position("operator of eu_west"));
        assert!(position("operator of eu_west") < position("restore"));
        assert!(
            steps[position("restore")]
                .contains("the original replicas (quay 3, mirror 1) and HPA unmanaged")
        );
        assert!(steps[position("operator of us_east")].contains("quay-operator.v3.14.8"));
        assert!(steps.last().unwrap().starts_with("release Lease"));
    }

    #[test]
    fn says_nothing_to_do_when_every_site_runs_the_target() {
        let steps = plan_steps(
            &request(),
            &[
                at("us_east/quay/registry", "v3.14.8"),
                at("eu_west/quay/registry", "3.14.8"),
            ],
        );
        assert_eq!(steps, ["nothing to do: every site runs Quay 3.14.8"]);
    }

    #[test]
    fn plans_with_unknown_sites_without_inventing_numbers() {
        let request = request();
        let unknown: Vec<_> = request
            .sites()
            .iter()
            .cloned()
            .map(SiteObservationSummary::unknown)
            .collect();
        let steps = plan_steps(&request, &unknown);
        assert!(steps.iter().any(|s| s == "restore the original replicas and HPA setting on eu_west/quay/registry and wait for Available"));
    }
}
