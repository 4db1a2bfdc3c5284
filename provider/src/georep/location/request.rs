//! [`LocationInput`] (the resource's arguments) validated into a [`LocationRequest`].
//!
//! One request type serves both directions ([`Direction`]): adding and removing a location
//! take the same arguments (the location, the running sites, the config they must serve, the
//! site that runs the Job) and differ in what the config must say and what the Job runs.

use sha2::{Digest as _, Sha256};

use crate::georep::config::location::LocationId;
use crate::georep::issue::Issue;
use crate::georep::path::FieldPath;
use crate::georep::upgrade::{SiteId, check_sites};

/// Whether a location is added or removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Direction {
    /// `quay_georep_location`: the config gains the location, then Quay's backfill tool runs.
    #[default]
    Add,
    /// `quay_georep_location_removal`: the config loses the location, then Quay's removal
    /// tool deletes its placements from the shared database.
    Remove,
}

impl Direction {
    /// The attribute naming the site whose namespace runs the Job.
    #[must_use]
    pub fn job_site_attribute(self) -> &'static str {
        match self {
            Self::Add => "backfill_site",
            Self::Remove => "run_site",
        }
    }

    /// The Job's tool in a word, for messages: `backfill` or `removal`.
    #[must_use]
    pub fn tool(self) -> &'static str {
        match self {
            Self::Add => "backfill",
            Self::Remove => "removal",
        }
    }

    /// The other direction: what undoes this one.
    #[must_use]
    pub fn opposite(self) -> Self {
        match self {
            Self::Add => Self::Remove,
            Self::Remove => Self::Add,
        }
    }

    /// The first word of the Job's name.
    #[must_use]
    pub fn job_prefix(self) -> &'static str {
        match self {
            Self::Add => "backfill",
            Self::Remove => "remove",
        }
    }
}

/// The arguments as given; `None` for unset (or not yet known).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocationInput {
    /// Adding or removing.
    pub direction: Direction,
    /// `location`.
    pub location: Option<String>,
    /// `sites`.
    pub sites: Option<Vec<String>>,
    /// `config_hash`.
    pub config_hash: Option<String>,
    /// `backfill_site` (adding) or `run_site` (removing).
    pub job_site: Option<String>,
}

/// A valid request: every site to wait for, the config they must serve, where the Job runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocationRequest {
    direction: Direction,
    location: LocationId,
    sites: Vec<SiteId>,
    config_hash: String,
    job_site: SiteId,
}

impl LocationRequest {
    /// Adding or removing.
    #[must_use]
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The location added or removed.
    #[must_use]
    pub fn location(&self) -> &str {
        self.location.as_str()
    }

    /// The sites that must serve the config first, in the order given.
    #[must_use]
    pub fn sites(&self) -> &[SiteId] {
        &self.sites
    }

    /// `sha256:<hex>` of the shared `config.yaml` that names the location (adding) or no
    /// longer names it (removing).
    #[must_use]
    pub fn config_hash(&self) -> &str {
        &self.config_hash
    }

    /// The site whose namespace runs the Job.
    #[must_use]
    pub fn job_site(&self) -> &SiteId {
        &self.job_site
    }

    /// The Job's name: `backfill-<location>-<10 hex digits>` (adding) or
    /// `remove-<location>-<10 hex digits>` (removing), the digits from the location and the
    /// config hash, so another config (or location) is another Job and the same request finds
    /// its own Job again. At most 63 characters (a Job's name is a pod label value).
    #[must_use]
    pub fn job_name(&self) -> String {
        let digest = Sha256::digest(format!("{}\n{}", self.location(), self.config_hash));
        let location: String = self.location().replace('_', "-").chars().take(40).collect();
        format!(
            "{}-{}-{}",
            self.direction.job_prefix(),
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
                format!(
                    "{err}: give the name of the storage block {}",
                    what_block(input.direction)
                ),
            ));
            None
        }
        None => {
            issues.push(Issue::error(
                FieldPath::attr("location"),
                "Missing Location",
                format!(
                    "set location to the name of the storage block {}",
                    what_block(input.direction)
                ),
            ));
            None
        }
    };
    let sites = check_sites(
        input.sites.as_deref(),
        match input.direction {
            Direction::Add => {
                "the id of every running site, such as [quay_georep_site.us_east.id, \
                 quay_georep_site.ap_south.id], without the new site (it depends on this \
                 resource)"
            }
            Direction::Remove => {
                "the id of every site still running, such as [quay_georep_site.us_east.id, \
                 quay_georep_site.ap_south.id], without the site of the removed location \
                 (destroy it first)"
            }
        },
        &mut issues,
    );
    let config_hash = check_hash(input.config_hash.as_deref(), &mut issues);
    let attribute = input.direction.job_site_attribute();
    let job_site = match input.job_site.as_deref() {
        None => sites.first().cloned(),
        Some(text) => match text.parse::<SiteId>() {
            Ok(site) if sites.contains(&site) => Some(site),
            Ok(site) => {
                issues.push(Issue::error(
                    FieldPath::attr(attribute),
                    "Job Site Not Among Sites",
                    format!(
                        "{attribute} {site} is not one of sites: the Job runs where the new \
                         config is known to be served; add it to sites or pick one of them"
                    ),
                ));
                None
            }
            Err(err) => {
                issues.push(Issue::error(
                    FieldPath::attr(attribute),
                    "Invalid Site Id",
                    err.to_string(),
                ));
                None
            }
        },
    };
    match (location, config_hash, job_site) {
        (Some(location), Some(config_hash), Some(job_site))
            if !issues.iter().any(Issue::is_error) =>
        {
            Ok(LocationRequest {
                direction: input.direction,
                location,
                sites,
                config_hash,
                job_site,
            })
        }
        _ => Err(issues),
    }
}

fn what_block(direction: Direction) -> &'static str {
    match direction {
        Direction::Add => "the shared config adds",
        Direction::Remove => "the shared config no longer has",
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
             site must serve before the Job runs",
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
