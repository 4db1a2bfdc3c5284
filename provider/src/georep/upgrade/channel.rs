//! Resolving the target against what the OLM channel offers, and refusing an InstallPlan
//! shared with other operators.
//!
//! Part of preflight ([`Ctx::resolve_target`]) and of the operator phases
//! ([`quay_plan`]). OLM offers only a channel's head, so before anything is scaled down the
//! head must be something this upgrade can install: a release of a minor the catalogue knows
//! (a patch newer than the catalogue's is fine), accepted by `target_version` (exact, or of
//! its minor), the same on every site, and an allowed hop. The `deployment` method has no
//! channel: its target is the exact release validation checked against the catalogue.

use super::error::UpgradeError;
use super::observation::{ChannelOffer, InstallPlan, SiteState};
use super::request::OperatorMethod;
use super::site::SiteId;
use super::step::Ctx;
use super::versions::{QuayVersion, catalogue};

impl Ctx<'_> {
    /// The version this upgrade goes to: for OLM the channel's head, checked (see the module
    /// docs); for the deployment method the exact `target_version`.
    pub(super) fn resolve_target(
        &self,
        states: &[(&SiteId, &SiteState)],
    ) -> Result<QuayVersion, UpgradeError> {
        let requested = self.request.target();
        let OperatorMethod::Olm { channel, .. } = self.request.operator() else {
            // Validation refuses a deployment-method target that is not an exact release.
            return Ok(requested.in_series());
        };
        let mut offers: Vec<(&SiteId, String, QuayVersion)> = Vec::new();
        for (site, state) in states {
            self.check_operator(site, state)?;
            let unusable = |reason: String| UpgradeError::ChannelUnusable {
                site: (*site).clone(),
                channel: channel.clone(),
                reason,
            };
            let (csv, version) = match &state.operator.channel_offer {
                None => {
                    return Err(unusable(
                        "the package's PackageManifest could not be read".to_owned(),
                    ));
                }
                Some(ChannelOffer::NoPackage { package, catalog }) => {
                    return Err(unusable(format!(
                        "catalog {catalog} serves no package {package}"
                    )));
                }
                Some(ChannelOffer::NoChannel { channels, .. }) => {
                    return Err(unusable(format!(
                        "the package has no such channel (it has {})",
                        channels.join(", ")
                    )));
                }
                Some(ChannelOffer::Head { csv, version }) => (csv, version),
            };
            let parsed = version
                .parse::<QuayVersion>()
                .ok()
                .or_else(|| csv.strip_prefix("quay-operator.v")?.parse().ok())
                .ok_or_else(|| {
                    unusable(format!(
                        "its head {csv} has version {version:?}, which is not a Quay version"
                    ))
                })?;
            catalogue()
                .known(parsed)
                .map_err(|source| UpgradeError::OfferRefused {
                    site: site.to_string(),
                    channel: channel.clone(),
                    csv: csv.clone(),
                    source: Box::new(source),
                })?;
            if !requested.accepts(parsed) {
                return Err(UpgradeError::OfferMismatch {
                    site: site.to_string(),
                    channel: channel.clone(),
                    csv: csv.clone(),
                    offered: parsed,
                    requested,
                });
            }
            offers.push((*site, csv.clone(), parsed));
        }
        let Some((_, _, head)) = offers.first().cloned() else {
            return Ok(requested.in_series());
        };
        if offers.iter().any(|(_, _, v)| *v != head) {
            return Err(UpgradeError::ChannelsDisagree {
                channel: channel.clone(),
                offers: offers
                    .iter()
                    .map(|(site, csv, _)| format!("{site}: {csv}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        Ok(head)
    }
}

/// The InstallPlan on `site` that installs `csv`, if any; an error when it is not approved
/// yet and installs other CSVs too.
///
/// OLM resolves every Subscription of a namespace together and puts every pending CSV into
/// one InstallPlan (operator-lifecycle-manager, `pkg/controller/operators/catalog/operator.go`,
/// `syncResolvingNamespace`), so approving a plan that lists other operators' CSVs upgrades
/// them too, outside this upgrade's control.
pub(super) fn quay_plan<'a>(
    site: &SiteId,
    state: &'a SiteState,
    csv: &str,
) -> Result<Option<&'a InstallPlan>, UpgradeError> {
    let Some(plan) = state
        .operator
        .install_plans
        .iter()
        .find(|p| p.csvs.iter().any(|c| c == csv))
    else {
        return Ok(None);
    };
    let others: Vec<&str> = plan
        .csvs
        .iter()
        .map(String::as_str)
        .filter(|c| *c != csv)
        .collect();
    // An approved plan is OLM's business now: this run approves nothing more.
    if others.is_empty() || plan.approved {
        Ok(Some(plan))
    } else {
        Err(UpgradeError::SharedInstallPlan {
            site: site.to_string(),
            plan: plan.name.clone(),
            csv: csv.to_owned(),
            others: others.join(", "),
        })
    }
}
