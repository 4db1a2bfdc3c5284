//! The `config.yaml` keys that `data "quay_georep_config"` sets itself, and what sets each.
//!
//! One table serves two purposes: [`managed_by`] refuses these keys in `extra_config` (so the
//! user cannot silently override a geo-replication setting), and [`managed_keys`] lists them
//! for the documentation. An entry whose key ends in `*` covers every key with that prefix.

/// `(key, how it is set)`; a key ending in `*` is a prefix. Keep sorted by key.
const MANAGED: &[(&str, &str)] = &[
    (
        "ACTION_LOG_ARCHIVE_LOCATION",
        "derived from default_locations (the first one)",
    ),
    ("BUILDLOGS_REDIS", "use the redis block"),
    ("BUILDMAN_HOSTNAME", "use builders.build_manager_hostname"),
    ("BUILD_MANAGER", "use builders.executor_config"),
    ("DATABASE_SECRET_KEY", "use database_secret_key"),
    ("DB_CONNECTION_ARGS", "use database.connection_args"),
    ("DB_URI", "use database.uri"),
    (
        "DISTRIBUTED_STORAGE_*",
        "use storage blocks and default_locations",
    ),
    ("FEATURE_BUILD_SUPPORT", "use builders.enabled"),
    (
        "FEATURE_PROXY_STORAGE",
        "always false: every site reads every bucket directly",
    ),
    ("FEATURE_REPO_MIRROR", "use mirroring.enabled"),
    ("FEATURE_SECURITY_NOTIFICATIONS", "use the clair block"),
    ("FEATURE_SECURITY_SCANNER", "use the clair block"),
    (
        "FEATURE_STORAGE_REPLICATION",
        "always true: geo-replication needs it",
    ),
    (
        "LOG_ARCHIVE_LOCATION",
        "derived from default_locations (the first one)",
    ),
    ("PREFERRED_URL_SCHEME", "use preferred_url_scheme"),
    ("REPO_MIRROR_INTERVAL", "use mirroring.interval"),
    ("SECRET_KEY", "use secret_key"),
    ("SECURITY_SCANNER_*", "use the clair block"),
    ("SERVER_HOSTNAME", "use server_hostname"),
    ("SETUP_COMPLETE", "always true"),
    ("SUPER_USERS", "use super_users"),
    (
        "USERFILES_LOCATION",
        "derived from default_locations (the first one)",
    ),
    ("USER_EVENTS_REDIS", "use the redis block"),
];

/// Every key the data source manages, with how it is set, sorted by key.
///
/// A key ending in `*` stands for every key with that prefix (`DISTRIBUTED_STORAGE_*`).
pub fn managed_keys() -> &'static [(&'static str, &'static str)] {
    MANAGED
}

/// How `key` is set, when the data source manages it; `None` when `extra_config` may set it.
///
/// # Examples
///
/// ```
/// use terraform_provider_quay::georep::config::managed_by;
///
/// assert_eq!(managed_by("DB_URI"), Some("use database.uri"));
/// assert!(managed_by("DISTRIBUTED_STORAGE_PREFERENCE").is_some());
/// assert_eq!(managed_by("FEATURE_USER_CREATION"), None);
/// ```
pub fn managed_by(key: &str) -> Option<&'static str> {
    MANAGED.iter().find_map(|(pattern, how)| {
        let matches = match pattern.strip_suffix('*') {
            Some(prefix) => key.starts_with(prefix),
            None => key == *pattern,
        };
        matches.then_some(*how)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_has_no_duplicates() {
        let keys: Vec<&str> = managed_keys().iter().map(|(k, _)| *k).collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn prefixes_cover_every_key_that_starts_with_them() {
        assert_eq!(
            managed_by("SECURITY_SCANNER_V4_PSK"),
            Some("use the clair block")
        );
        assert_eq!(
            managed_by("DISTRIBUTED_STORAGE_CONFIG"),
            Some("use storage blocks and default_locations")
        );
        assert_eq!(managed_by("SECURITY_SCANNER"), None);
        assert_eq!(managed_by("REPO_MIRROR_TLS_VERIFY"), None);
    }
}
