//! A storage location dropped from the shared `config.yaml`: refused at plan unless
//! acknowledged, because what it breaks cannot be given back by another apply.
//!
//! Quay records where each blob is stored in the shared database (`imagestoragelocation`,
//! `imagestorageplacement`). A location that leaves `DISTRIBUTED_STORAGE_CONFIG` is no longer read
//! by any site: a blob whose only copy is there becomes unreadable everywhere, and its placements
//! stay until Quay's removal tool deletes them. Quay's own order (quay/quay
//! `util/removelocation.py`: "This must be ran AFTER the location is removed from the config.yaml
//! file, so that images are not still being added in the background") is: make sure every blob has
//! another copy, remove the location from the config of every site, then run the tool once. The
//! acknowledgement is the user's word for the first step; `quay_georep_location_removal`
//! (`georep/location`) does the rest and checks the first again against the database before the
//! tool deletes anything. A site's own location cannot leave the config at all (validation refuses
//! it).
//!
//! Adding a location can move something too: `USERFILES_LOCATION` and the log archive
//! locations are the first default location, and `default_locations` defaults to every
//! location sorted, so a new location that sorts first takes them over. Quay keeps user files
//! and log archives in that one location (quay/quay `storage/userfiles.py`), not replicated, so
//! files written before are no longer found: [`files_location_issues`] warns.
//! Pure: two `config.yaml` texts in, issues out.

use serde_json::Value;

use crate::georep::issue::Issue;
use crate::georep::path::FieldPath;
use crate::georep::secret::Secret;

/// The keys naming the one location Quay keeps user files and log archives in.
const FILES_KEYS: [&str; 3] = [
    "USERFILES_LOCATION",
    "LOG_ARCHIVE_LOCATION",
    "ACTION_LOG_ARCHIVE_LOCATION",
];

fn parsed(yaml: &Secret) -> Option<std::sync::Arc<Value>> {
    crate::georep::yaml::top_level(yaml.expose())
}

/// A warning on `config_yaml` for each of the files locations `planned` moves away from where
/// `prior` had it, with how to keep it.
pub fn files_location_issues(site: &str, prior: &Secret, planned: &Secret) -> Vec<Issue> {
    let (Some(before), Some(after)) = (parsed(prior), parsed(planned)) else {
        return Vec::new();
    };
    FILES_KEYS
        .iter()
        .filter_map(|key| {
            let was = before.get(*key)?.as_str()?;
            let now = after.get(*key)?.as_str()?;
            (was != now).then(|| {
                Issue::warning(
                    FieldPath::attr("config_yaml"),
                    "Files Location Moved",
                    format!(
                        "config_yaml moves {key} of site {site} from {was} to {now}: Quay keeps \
                         these files in that one location, unreplicated, so the ones written \
                         before are no longer found. It follows the first of default_locations; \
                         to keep it, set default_locations in data.quay_georep_config with \
                         \"{was}\" first"
                    ),
                )
            })
        })
        .collect()
}

/// The `DISTRIBUTED_STORAGE_CONFIG` locations of `prior` that `planned` lacks, sorted. Empty
/// when either is not a YAML map with that key: validation reports that.
pub fn removed_locations(prior: &Secret, planned: &Secret) -> Vec<String> {
    let locations = |yaml: &Secret| match parsed(yaml)?.get("DISTRIBUTED_STORAGE_CONFIG") {
        Some(Value::Object(locations)) => Some(locations.keys().cloned().collect::<Vec<_>>()),
        _ => None,
    };
    let (Some(before), Some(after)) = (locations(prior), locations(planned)) else {
        return Vec::new();
    };
    let mut removed: Vec<String> = before.into_iter().filter(|l| !after.contains(l)).collect();
    removed.sort();
    removed
}

/// The issues of a change from `prior` to `planned` on site `site` (its id, for messages): an
/// error on `config_yaml` for each removed location `acknowledged` does not name, and a
/// warning on `acknowledge_location_removals` for each word that names no removed location
/// (left from an earlier apply, it would let a later removal through unchecked).
pub fn location_removal_issues(
    site: &str,
    prior: &Secret,
    planned: &Secret,
    acknowledged: &[String],
) -> Vec<Issue> {
    let removed = removed_locations(prior, planned);
    let mut issues = Vec::new();
    for location in &removed {
        if acknowledged.contains(location) {
            continue;
        }
        issues.push(Issue::error(
            FieldPath::attr("config_yaml"),
            "Storage Location Removed",
            format!(
                "config_yaml no longer has storage location {location}, which site {site} was \
                 applied with. No site will read it again: a blob whose only copy is there \
                 becomes unreadable on every site. First make sure every blob has a copy in \
                 another location (the replication worker has caught up), then add \
                 \"{location}\" to acknowledge_location_removals on every remaining site for \
                 this apply (the site of {location} itself is destroyed in an earlier apply), \
                 with resource \"quay_georep_location_removal\" (location = \"{location}\", the \
                 remaining sites, config_hash = data.quay_georep_config.<name>.config_hash): it \
                 waits until they serve this config, checks that every blob placed in \
                 {location} has another copy and runs Quay's removal tool once; drop the word \
                 from acknowledge_location_removals in a later apply"
            ),
        ));
    }
    for (n, word) in acknowledged.iter().enumerate() {
        if !removed.contains(word) {
            issues.push(Issue::warning(
                FieldPath::attr("acknowledge_location_removals").index(n),
                "Location Removal Not In This Plan",
                format!(
                    "acknowledge_location_removals names \"{word}\", which this plan does not \
                     remove from config_yaml; remove the word, so that a later removal is \
                     checked again"
                ),
            ));
        }
    }
    issues
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_files_location_moved_by_a_new_first_location_is_a_warning_saying_how_to_keep_it() {
        let before = Secret::new("USERFILES_LOCATION: eu_west\nLOG_ARCHIVE_LOCATION: eu_west\n");
        let after = Secret::new("USERFILES_LOCATION: ap_south\nLOG_ARCHIVE_LOCATION: eu_west\n");
        let issues = files_location_issues("us_east/quay/registry", &before, &after);
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert!(!issues[0].is_error());
        assert!(issues[0].detail.contains("USERFILES_LOCATION"));
        assert!(issues[0].detail.contains("\"eu_west\" first"));
        assert!(!issues[0].detail.contains("  "), "{}", issues[0].detail);
        assert!(files_location_issues("s", &before, &before).is_empty());
    }

    fn config(locations: &[&str]) -> Secret {
        let entries = locations.iter().fold(String::new(), |all, l| {
            all + "  " + l + ": [RadosGWStorage, {}]\n"
        });
        Secret::new(format!(
            "SERVER_HOSTNAME: quay.example.com\nDISTRIBUTED_STORAGE_CONFIG:\n{entries}"
        ))
    }

    #[test]
    fn a_removed_location_is_refused_until_acknowledged_and_a_stale_word_is_a_warning() {
        let (before, after) = (
            config(&["ap_south", "eu_west", "us_east"]),
            config(&["us_east"]),
        );
        assert_eq!(removed_locations(&before, &after), ["ap_south", "eu_west"]);
        let issues = location_removal_issues("us_east/quay/registry", &before, &after, &[]);
        assert_eq!(issues.len(), 2);
        assert!(issues.iter().all(|i| i.is_error()
            && i.path.to_string() == "config_yaml"
            && i.detail.contains("quay_georep_location_removal")));
        let issues = location_removal_issues(
            "us_east/quay/registry",
            &before,
            &after,
            &[
                "eu_west".to_owned(),
                "ap_south".to_owned(),
                "mars".to_owned(),
            ],
        );
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert!(!issues[0].is_error());
        assert_eq!(
            issues[0].path.to_string(),
            "acknowledge_location_removals[2]"
        );
        assert!(
            location_removal_issues("s", &after, &before, &[]).is_empty(),
            "adding is fine"
        );
        assert!(removed_locations(&Secret::new("not: [a, map"), &after).is_empty());
    }
}
