//! [`UpgradeRequest`]: what the user asked for, checked; [`validate`] builds it from the raw
//! [`UpgradeInput`] of `resource "quay_georep_upgrade"`.
//!
//! Validation collects every problem as an [`Issue`] with the attribute path at fault and
//! never touches a cluster. The rules:
//! - `sites`: at least one; each a [`SiteId`]; no duplicates.
//! - `primary`: a [`SiteId`] that is one of `sites`; defaults to the first site.
//! - `target_version`: a [`TargetVersion`]: a release (`3.14.8`) or a minor (`3.14`, the head
//!   of its OLM channel), of a minor the [catalogue](super::catalogue) lists as released; a
//!   patch newer than the catalogue's is accepted for OLM (the channel says whether it exists)
//!   and refused for the deployment method, which has no channel and must know the images.
//!   What the channel offers and whether it is an allowed hop from what the sites run is for
//!   preflight, which sees them.
//! - `operator.method`: `olm` or `deployment`; `namespace` and `name` (Subscription or
//!   Deployment name) required Kubernetes names. `channel` belongs to `olm` only and defaults to
//!   the target's catalogue channel (another channel is a warning: it must offer the target's
//!   CSV); `image` belongs to `deployment` only and defaults to the target's operator image.
//! - `lease_duration`: `90s`, `10m`, `1h30m` style; at least 15 seconds; default 10 minutes.
//!
//! The lease `holder` is not a Terraform attribute: the resource layer sets it with
//! [`UpgradeRequest::with_holder`] (see the trade-off there).

use std::time::Duration;

use super::catalog::{CatalogSourceRef, required_name};
use super::observation::Observation;
use super::progress::Progress;
use super::site::SiteId;
use super::target::TargetVersion;
use super::versions::{HopError, QuayVersion, Release, catalogue};
use crate::georep::issue::Issue;
use crate::georep::path::FieldPath;

/// `lease_duration` when not given.
pub const DEFAULT_LEASE_DURATION: Duration = Duration::from_mins(10);
/// The shortest accepted `lease_duration`.
pub const MIN_LEASE_DURATION: Duration = Duration::from_secs(15);
/// The longest accepted `lease_duration`: a day. A Lease lasting longer would keep a
/// crashed run's upgrade from being resumed elsewhere for longer than anyone waits, and
/// larger values overflow time arithmetic.
pub const MAX_LEASE_DURATION: Duration = Duration::from_hours(24);

/// The raw attributes of `resource "quay_georep_upgrade"`, each `None` when null.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpgradeInput {
    /// `sites`: site ids `cluster/namespace/name`.
    pub sites: Option<Vec<String>>,
    /// `primary`: the site that migrates the database.
    pub primary: Option<String>,
    /// `target_version`: such as `3.14.8`.
    pub target_version: Option<String>,
    /// The `operator` block.
    pub operator: Option<OperatorInput>,
    /// `lease_duration`: such as `10m`.
    pub lease_duration: Option<String>,
}

/// The raw `operator` block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperatorInput {
    /// `method`: `olm` or `deployment`.
    pub method: Option<String>,
    /// `namespace` of the Subscription or Deployment.
    pub namespace: Option<String>,
    /// `name` of the Subscription or Deployment.
    pub name: Option<String>,
    /// `channel` (OLM only).
    pub channel: Option<String>,
    /// `source` (OLM only): the CatalogSource the Subscription installs from, such as a
    /// mirror in a disconnected cluster. Default: the Subscription's own.
    pub source: Option<String>,
    /// `source_namespace` (OLM only): the CatalogSource's namespace; set with `source`.
    pub source_namespace: Option<String>,
    /// `image` (deployment only).
    pub image: Option<String>,
}

/// How the Quay Operator is installed on every site, with defaults resolved for the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorMethod {
    /// An OLM Subscription with manual InstallPlan approval.
    Olm {
        /// Namespace of the Subscription.
        namespace: String,
        /// Name of the Subscription.
        subscription: String,
        /// The channel whose head is the target, such as `stable-3.14`.
        channel: String,
        /// The CatalogSource to install from; `None` keeps the Subscription's own.
        catalog: Option<CatalogSourceRef>,
    },
    /// A plain operator Deployment, upgraded by changing its image and `QUAY_VERSION`.
    Deployment {
        /// Namespace of the Deployment.
        namespace: String,
        /// Name of the Deployment.
        name: String,
        /// The target operator image.
        image: String,
    },
}

/// A checked upgrade request: the sites, the primary among them, the target and the operator.
///
/// The fields are private so that a request always has at least one site, no duplicates, and
/// a primary that is one of the sites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeRequest {
    sites: Vec<SiteId>,
    primary: SiteId,
    target: TargetVersion,
    operator: OperatorMethod,
    lease_duration: Duration,
    holder: String,
}

/// Why [`UpgradeRequest::new`] refused its parts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// No sites.
    #[error("an upgrade needs at least one site")]
    NoSites,
    /// A site is listed twice.
    #[error("site {site} is listed twice")]
    Duplicate {
        /// The repeated site.
        site: SiteId,
    },
    /// The primary is not one of the sites.
    #[error("primary {primary} is not one of the sites")]
    PrimaryNotInSites {
        /// The primary given.
        primary: SiteId,
    },
}

impl UpgradeRequest {
    /// A request from checked parts, with the default holder (see [`Self::with_holder`]).
    ///
    /// # Errors
    ///
    /// [`RequestError`] when `sites` is empty, has a duplicate, or lacks `primary`.
    pub fn new(
        sites: Vec<SiteId>,
        primary: SiteId,
        target: TargetVersion,
        operator: OperatorMethod,
        lease_duration: Duration,
    ) -> Result<Self, RequestError> {
        if sites.is_empty() {
            return Err(RequestError::NoSites);
        }
        for (i, site) in sites.iter().enumerate() {
            if sites[..i].contains(site) {
                return Err(RequestError::Duplicate { site: site.clone() });
            }
        }
        if !sites.contains(&primary) {
            return Err(RequestError::PrimaryNotInSites { primary });
        }
        let holder = format!("quay-georep-upgrade/{primary}");
        Ok(Self {
            sites,
            primary,
            target,
            operator,
            lease_duration,
            holder,
        })
    }

    /// This request with lease holder identity `holder`.
    ///
    /// The default is `quay-georep-upgrade/<primary>`: stable, so an apply that was killed and
    /// is run again recognises the Lease as its own and resumes at once; the price is that two
    /// applies of the same upgrade at the same moment are not kept apart by the Lease (Terraform
    /// state locking is what keeps them apart). A per-run holder (host and process) keeps them
    /// apart, and a killed run then resumes only once its Lease has expired.
    #[must_use]
    pub fn with_holder(mut self, holder: impl Into<String>) -> Self {
        self.holder = holder.into();
        self
    }

    /// Every site, in the order given (primary included).
    pub fn sites(&self) -> &[SiteId] {
        &self.sites
    }

    /// The site whose operator is upgraded first and migrates the shared database.
    pub fn primary(&self) -> &SiteId {
        &self.primary
    }

    /// The sites other than the primary, in the order given.
    pub fn secondaries(&self) -> impl Iterator<Item = &SiteId> {
        self.sites.iter().filter(|s| **s != self.primary)
    }

    /// The requested target as written; preflight resolves it against the OLM channel.
    pub fn target(&self) -> TargetVersion {
        self.target
    }

    /// How the operator is installed and what to change to upgrade it.
    pub fn operator(&self) -> &OperatorMethod {
        &self.operator
    }

    /// How long a Lease lasts without renewal.
    pub fn lease_duration(&self) -> Duration {
        self.lease_duration
    }

    /// The identity written into the Lease and the progress record.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// The holder identity of an unfinished run from the same origin as this request's
    /// holder (the same [`holder_origin`], another run nonce), as recorded on the primary:
    /// the Lease's holder, else the progress record's. A killed apply run again from the same
    /// working directory and workspace continues as that holder, so it resumes at once; a
    /// run of another origin (another directory, machine or workspace) never does.
    #[must_use]
    pub fn holder_to_resume(&self, observation: &Observation) -> Option<String> {
        let ours = self.holder.as_str();
        if !ours.contains(NONCE_SEPARATOR) {
            return None;
        }
        let lease = observation.lease.as_ref().and_then(|l| l.holder.clone());
        let recorded = observation
            .progress
            .as_ref()
            .and_then(|data| Progress::from_configmap_data(data).ok())
            .map(|p| p.holder().to_owned());
        [lease, recorded].into_iter().flatten().find(|h| {
            h != ours && h.contains(NONCE_SEPARATOR) && holder_origin(h) == holder_origin(ours)
        })
    }
}

/// Separates a Lease holder identity from the nonce of the run that wrote it:
/// `<origin>#<nonce>` (see [`holder_origin`]).
pub const NONCE_SEPARATOR: char = '#';

/// The origin part of a holder identity `<origin>#<nonce>`: who ran it (for the resource,
/// `terraform@<host>:<working directory>[<workspace>]`); the whole identity when it has no
/// nonce.
///
/// # Examples
///
/// ```
/// use terraform_provider_quay::georep::upgrade::holder_origin;
///
/// assert_eq!(holder_origin("terraform@h:/w[default]#5f2a"), "terraform@h:/w[default]");
/// ```
#[must_use]
pub fn holder_origin(identity: &str) -> &str {
    identity
        .rsplit_once(NONCE_SEPARATOR)
        .map_or(identity, |(origin, _)| origin)
}

/// Checks `input` and builds the request, or returns every problem found.
///
/// On success returns the request and the warnings (possibly none).
///
/// # Errors
///
/// Every issue found, errors and warnings, when any is an error.
///
/// # Examples
///
/// ```
/// use terraform_provider_quay::georep::upgrade::{validate, OperatorInput, UpgradeInput};
///
/// let input = UpgradeInput {
///     sites: Some(vec!["us_east/quay/registry".into(), "eu_west/quay/registry".into()]),
///     target_version: Some("3.14.8".into()),
///     operator: Some(OperatorInput {
///         method: Some("olm".into()),
///         namespace: Some("openshift-operators".into()),
///         name: Some("quay-operator".into()),
///         ..OperatorInput::default()
///     }),
///     ..UpgradeInput::default()
/// };
/// let (request, warnings) = validate(&input).unwrap();
/// assert_eq!(request.primary().to_string(), "us_east/quay/registry");
/// assert!(warnings.is_empty());
/// ```
pub fn validate(input: &UpgradeInput) -> Result<(UpgradeRequest, Vec<Issue>), Vec<Issue>> {
    let mut issues = Vec::new();
    let sites = check_sites(
        input.sites.as_deref(),
        "[for s in quay_georep_site.all : s.id]",
        &mut issues,
    );
    let primary = check_primary(input.primary.as_deref(), &sites, &mut issues);
    let target = check_target(input.target_version.as_deref(), &mut issues);
    let operator = check_operator(input.operator.as_ref(), target, &mut issues);
    let lease_duration = check_lease(input.lease_duration.as_deref(), &mut issues);
    if issues.iter().any(Issue::is_error) {
        return Err(issues);
    }
    let (Some(primary), Some(target), Some(operator), Some(lease_duration)) =
        (primary, target, operator, lease_duration)
    else {
        return Err(issues);
    };
    match UpgradeRequest::new(sites, primary, target, operator, lease_duration) {
        Ok(request) => Ok((request, issues)),
        // The checks above report each of these with a path; this is a safety net.
        Err(err) => {
            issues.push(Issue::error(
                FieldPath::attr("sites"),
                "Invalid Sites",
                err.to_string(),
            ));
            Err(issues)
        }
    }
}

/// The parsed site ids of `sites`, each problem an issue at its index; `usually` says what
/// the list normally is, for the message when it is empty.
pub(crate) fn check_sites(
    sites: Option<&[String]>,
    usually: &str,
    issues: &mut Vec<Issue>,
) -> Vec<SiteId> {
    let Some(raw) = sites.filter(|s| !s.is_empty()) else {
        issues.push(Issue::error(
            FieldPath::attr("sites"),
            "Missing Sites",
            format!("list at least one site id `cluster/namespace/name`, normally {usually}"),
        ));
        return Vec::new();
    };
    let mut parsed: Vec<SiteId> = Vec::new();
    for (i, text) in raw.iter().enumerate() {
        match text.parse::<SiteId>() {
            Ok(site) => {
                if let Some(first) = parsed.iter().position(|s| *s == site) {
                    issues.push(Issue::error(
                        FieldPath::attr("sites").index(i),
                        "Duplicate Site",
                        format!("site {site} is already listed at sites[{first}]: remove one"),
                    ));
                } else {
                    parsed.push(site);
                }
            }
            Err(err) => issues.push(Issue::error(
                FieldPath::attr("sites").index(i),
                "Invalid Site Id",
                err.to_string(),
            )),
        }
    }
    parsed
}

fn check_primary(
    primary: Option<&str>,
    sites: &[SiteId],
    issues: &mut Vec<Issue>,
) -> Option<SiteId> {
    let Some(text) = primary else {
        return sites.first().cloned();
    };
    match text.parse::<SiteId>() {
        Ok(site) if sites.contains(&site) => Some(site),
        Ok(site) => {
            issues.push(Issue::error(
                FieldPath::attr("primary"),
                "Primary Not Among Sites",
                format!(
                    "primary {site} is not one of sites ({}): add it to sites or pick one of them",
                    sites
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
            None
        }
        Err(err) => {
            issues.push(Issue::error(
                FieldPath::attr("primary"),
                "Invalid Site Id",
                err.to_string(),
            ));
            None
        }
    }
}

fn check_target(target: Option<&str>, issues: &mut Vec<Issue>) -> Option<TargetVersion> {
    let path = || FieldPath::attr("target_version");
    let Some(text) = target else {
        issues.push(Issue::error(
            path(),
            "Missing Target Version",
            format!(
                "set target_version to a Quay release such as {}, or a minor such as 3.14 for \
                 the newest patch its OLM channel offers",
                catalogue().newest_patches()
            ),
        ));
        return None;
    };
    let target = match text.parse::<TargetVersion>() {
        Ok(target) => target,
        Err(err) => {
            issues.push(Issue::error(
                path(),
                "Invalid Target Version",
                err.to_string(),
            ));
            return None;
        }
    };
    if let Err(err) = catalogue().known(target.in_series()) {
        issues.push(Issue::error(
            path(),
            "Unknown Target Version",
            err.to_string(),
        ));
        return None;
    }
    Some(target)
}

/// The deployment method's target: an exact release the catalogue lists, whose images are
/// known; `None` (with the issue) otherwise.
fn deployment_release(target: TargetVersion, issues: &mut Vec<Issue>) -> Option<Release> {
    let path = FieldPath::attr("target_version");
    let minor = catalogue().minor(target.in_series());
    let newest = minor
        .and_then(super::versions::MinorSeries::newest_patch)
        .map_or_else(|| target.series(), |v| v.to_string());
    let Some(exact) = target.exact() else {
        issues.push(Issue::error(
            path,
            "Release Needed With Deployment",
            format!(
                "target_version {target} names a minor, which means the newest patch an OLM \
                 channel offers; the deployment method has no channel: set a release such as \
                 {newest}"
            ),
        ));
        return None;
    };
    match catalogue().release(exact) {
        Ok(release) => Some(release),
        Err(HopError::UnknownVersion { .. }) => {
            issues.push(Issue::error(
                path,
                "Unknown Release For Deployment",
                format!(
                    "Quay {exact} is newer than the newest {} release this provider knows \
                     ({newest}), and the deployment method has no channel to learn its images \
                     from: use {newest}, use method = \"olm\", or upgrade the provider",
                    target.series()
                ),
            ));
            None
        }
        Err(err) => {
            issues.push(Issue::error(
                path,
                "Unknown Target Version",
                err.to_string(),
            ));
            None
        }
    }
}

fn check_operator(
    operator: Option<&OperatorInput>,
    target: Option<TargetVersion>,
    issues: &mut Vec<Issue>,
) -> Option<OperatorMethod> {
    let path = || FieldPath::attr("operator");
    let Some(op) = operator else {
        issues.push(Issue::error(
            path(),
            "Missing Operator Block",
            "add an operator block with method = \"olm\" (Subscription) or \"deployment\"",
        ));
        return None;
    };
    let namespace = required_name(op.namespace.as_deref(), "namespace", issues);
    let name = required_name(op.name.as_deref(), "name", issues);
    match op.method.as_deref() {
        Some("olm") => {
            if op.image.is_some() {
                issues.push(Issue::error(
                    path().field("image"),
                    "Image Not Used With OLM",
                    "OLM installs the operator image from the CSV: remove image, or use \
                     method = \"deployment\"",
                ));
            }
            let published = target.and_then(|t| catalogue().channel(t.in_series()));
            let channel = match (&op.channel, published, target) {
                (Some(channel), Some(published), Some(target)) if channel != published => {
                    issues.push(Issue::warning(
                        path().field("channel"),
                        "Unusual OLM Channel",
                        format!(
                            "Quay {} is published in channel {published}; the upgrade installs \
                             the head of channel {channel}, and preflight refuses it unless \
                             it is Quay {target}",
                            target.series()
                        ),
                    ));
                    Some(channel.clone())
                }
                (Some(channel), _, _) => Some(channel.clone()),
                (None, published, _) => published.map(str::to_owned),
            };
            let catalog =
                super::catalog::check(op.source.as_deref(), op.source_namespace.as_deref(), issues);
            Some(OperatorMethod::Olm {
                namespace: namespace?,
                subscription: name?,
                channel: channel?,
                catalog: catalog?,
            })
        }
        Some("deployment") => {
            super::catalog::refuse_with_deployment(
                op.source.is_some(),
                op.source_namespace.is_some(),
                issues,
            );
            if op.channel.is_some() {
                issues.push(Issue::error(
                    path().field("channel"),
                    "Channel Not Used With Deployment",
                    "a channel is an OLM setting: remove channel, or use method = \"olm\"",
                ));
            }
            if op.image.as_deref().is_some_and(str::is_empty) {
                issues.push(Issue::error(
                    path().field("image"),
                    "Empty Operator Image",
                    "set image to the operator image of the target version, or leave it \
                     unset for the catalogue's image",
                ));
                return None;
            }
            let release = target.and_then(|t| deployment_release(t, issues));
            if let Some(release) = release.as_ref().filter(|r| r.related_images().is_none()) {
                issues.push(unknown_images(release.version()));
                return None;
            }
            let image = op
                .image
                .clone()
                .or_else(|| release.as_ref().map(|r| r.operator_image().to_owned()));
            Some(OperatorMethod::Deployment {
                namespace: namespace?,
                name: name?,
                image: image?,
            })
        }
        other => {
            issues.push(Issue::error(
                path().field("method"),
                "Invalid Operator Method",
                format!(
                    "method is {}: use \"olm\" for an OLM Subscription with manual approval or \
                     \"deployment\" for a plain operator Deployment",
                    other.map_or_else(|| "not set".to_owned(), |m| format!("{m:?}"))
                ),
            ));
            None
        }
    }
}

/// The `deployment` method must set the operator's `RELATED_IMAGE_COMPONENT_*` images (the
/// operator deploys Quay from them, not from its version), which the catalogue knows for the
/// newest patch of each minor only.
fn unknown_images(version: QuayVersion) -> Issue {
    let newest = catalogue()
        .minor(version)
        .and_then(super::versions::MinorSeries::newest_patch)
        .map_or_else(|| "the newest patch".to_owned(), |v| v.to_string());
    Issue::error(
        FieldPath::attr("target_version"),
        "Operator Images Unknown",
        format!(
            "the deployment method sets the operator's component images \
             (RELATED_IMAGE_COMPONENT_QUAY, _CLAIR and the others) of the target, and this \
             provider knows them only for the newest patch of each minor, not for {version}: \
             set target_version = \"{newest}\", or upgrade through OLM (method = \"olm\")"
        ),
    )
}

fn check_lease(text: Option<&str>, issues: &mut Vec<Issue>) -> Option<Duration> {
    let Some(text) = text else {
        return Some(DEFAULT_LEASE_DURATION);
    };
    let path = FieldPath::attr("lease_duration");
    match parse_duration(text) {
        Some(duration) if duration > MAX_LEASE_DURATION => {
            issues.push(Issue::error(
                path,
                "Lease Too Long",
                format!("lease_duration is {text}: use at most 24h"),
            ));
            None
        }
        Some(duration) if duration >= MIN_LEASE_DURATION => Some(duration),
        Some(_) => {
            issues.push(Issue::error(
                path,
                "Lease Too Short",
                format!("lease_duration is {text}: use at least 15s"),
            ));
            None
        }
        None => {
            issues.push(Issue::error(
                path,
                "Invalid Lease Duration",
                format!("lease_duration is {text:?}: use hours, minutes and seconds such as 10m, 90s or 1h30m"),
            ));
            None
        }
    }
}

/// Parses `1h30m`, `10m`, `90s`: one or more `<digits><h|m|s>` groups; `None` otherwise.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use terraform_provider_quay::georep::upgrade::parse_duration;
///
/// assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
/// assert_eq!(parse_duration("10"), None);
/// ```
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut total: u64 = 0;
    let mut number: Option<u64> = None;
    for c in text.chars() {
        if let Some(digit) = c.to_digit(10) {
            number = Some(
                number
                    .unwrap_or(0)
                    .checked_mul(10)?
                    .checked_add(digit.into())?,
            );
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        total = total.checked_add(number.take()?.checked_mul(unit)?)?;
    }
    (number.is_none() && !text.is_empty()).then_some(Duration::from_secs(total))
}

#[cfg(test)]
mod tests;
