//! [`LocationInput`] (the resource's arguments) validated into a [`LocationRequest`].

use sha2::{Digest as _, Sha256};

use crate::georep::config::location::LocationId;
use crate::georep::issue::Issue;
use crate::georep::path::FieldPath;
use crate::georep::upgrade::{SiteId, check_sites};

/// The arguments as given; `None` for unset (or not yet known).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocationInput {
    /// `location`.
    pub location: Option<String>,
    /// `sites`.
    pub sites: Option<Vec<String>>,
    /// `config_hash`.
    pub config_hash: Option<String>,
    /// `backfill_site`.
    pub backfill_site: Option<String>,
}

/// A valid request: every site to wait for, the config they must serve, where to backfill.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocationRequest {
    location: LocationId,
    sites: Vec<SiteId>,
    config_hash: String,
    backfill_site: SiteId,
}

impl LocationRequest {
    /// The location added.
    #[must_use]
    pub fn location(&self) -> &str {
        self.location.as_str()
    }

    /// The sites that must serve the config first, in the order given.
    #[must_use]
    pub fn sites(&self) -> &[SiteId] {
        &self.sites
    }

    /// `sha256:<hex>` of the shared `config.yaml` that names the location.
    #[must_use]
    pub fn config_hash(&self) -> &str {
        &self.config_hash
    }

    /// The site whose namespace runs the backfill Job.
    #[must_use]
    pub fn backfill_site(&self) -> &SiteId {
        &self.backfill_site
    }

    /// The backfill Job's name: `backfill-<location>-<10 hex digits>`, the digits from the
    /// location and the config hash, so another config (or location) is another Job and the
    /// same request finds its own Job again. At most 63 characters (a Job's name is a pod
    /// label value).
    #[must_use]
    pub fn job_name(&self) -> String {
        let digest = Sha256::digest(format!("{}\n{}", self.location(), self.config_hash));
        let location: String = self.location().replace('_', "-").chars().take(40).collect();
        format!(
            "backfill-{}-{}",
            location.trim_end_matches('-'),
            &hex::encode(digest)[..10]
        )
    }
}

/// Validates `input`; every problem is an [`Issue`] at its attribute.
///
/// # Errors
/// The issues, when any is an error.
pub fn validate(input: &LocationInput) -> Result<LocationRequest, Vec<Issue>> {
    let mut issues = Vec::new();
    let location = match input.location.as_deref().map(LocationId::parse) {
        Some(Ok(location)) => Some(location),
        Some(Err(err)) => {
            issues.push(Issue::error(
                FieldPath::attr("location"),
                "Invalid Location",
                format!("{err}: give the name of the storage block the shared config adds"),
            ));
            None
        }
        None => {
            issues.push(Issue::error(
                FieldPath::attr("location"),
                "Missing Location",
                "set location to the name of the storage block the shared config adds",
            ));
            None
        }
    };
    let sites = check_sites(
        input.sites.as_deref(),
        "the id of every running site, such as [quay_georep_site.us_east.id, \
         quay_georep_site.ap_south.id], without the new site (it depends on this resource)",
        &mut issues,
    );
    let config_hash = check_hash(input.config_hash.as_deref(), &mut issues);
    let backfill_site = match input.backfill_site.as_deref() {
        None => sites.first().cloned(),
        Some(text) => match text.parse::<SiteId>() {
            Ok(site) if sites.contains(&site) => Some(site),
            Ok(site) => {
                issues.push(Issue::error(
                    FieldPath::attr("backfill_site"),
                    "Backfill Site Not Among Sites",
                    format!(
                        "backfill_site {site} is not one of sites: the backfill runs where the \
                         config with the location is known to be served; add it to sites or \
                         pick one of them"
                    ),
                ));
                None
            }
            Err(err) => {
                issues.push(Issue::error(
                    FieldPath::attr("backfill_site"),
                    "Invalid Site Id",
                    err.to_string(),
                ));
                None
            }
        },
    };
    match (location, config_hash, backfill_site) {
        (Some(location), Some(config_hash), Some(backfill_site))
            if !issues.iter().any(Issue::is_error) =>
        {
            Ok(LocationRequest {
                location,
                sites,
                config_hash,
                backfill_site,
            })
        }
        _ => Err(issues),
    }
}

/// `sha256:` and 64 lower-case hex digits, as `data.quay_georep_config`'s `config_hash`.
fn check_hash(hash: Option<&str>, issues: &mut Vec<Issue>) -> Option<String> {
    let path = || FieldPath::attr("config_hash");
    let Some(hash) = hash else {
        issues.push(Issue::error(
            path(),
            "Missing Config Hash",
            "set config_hash = data.quay_georep_config.<name>.config_hash: the config every \
             site must serve before the backfill",
        ));
        return None;
    };
    let well_formed = hash.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    });
    if !well_formed {
        issues.push(Issue::error(
            path(),
            "Invalid Config Hash",
            format!(
                "config_hash {hash:?} is not sha256:<64 hex digits>: use \
                 data.quay_georep_config.<name>.config_hash"
            ),
        ));
        return None;
    }
    Some(hash.to_owned())
}
