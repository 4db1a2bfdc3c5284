//! The shared secret keys, `SECRET_KEY` and `DATABASE_SECRET_KEY`: what changing one breaks,
//! and the refusal of a change the user has not acknowledged.
//!
//! Quay holds exactly one of each (quay/quay `util/config/schema.py` describes both; there is
//! no list of old keys to decrypt with):
//! - `SECRET_KEY` signs the session cookie and the CSRF token (`app.py`) and encrypts the
//!   passwords Quay issues to users of external authentication for the Docker CLI
//!   (`data/users/__init__.py`, `encrypt_user_password`);
//! - `DATABASE_SECRET_KEY` encrypts every `EncryptedCharField`/`EncryptedTextField` of the
//!   database with AES-CCM (`data/encryption.py`, `FieldEncrypter`, initialised once in
//!   `data/database.py`); the fields are listed in [`DATABASE_FIELDS`].
//!
//! Every site shares the one database, so a changed key is a change for every site. The site
//! resource compares the keys of its prior `config_yaml` with the planned one
//! ([`changed_keys`]) and refuses each change not named in `acknowledge_key_changes`
//! ([`key_change_issues`]). Pure: parsing and comparison only; no value is ever quoted.

use serde_json::Value;

use crate::georep::issue::Issue;
use crate::georep::path::FieldPath;
use crate::georep::secret::Secret;

/// What `DATABASE_SECRET_KEY` encrypts in the shared database (quay/quay `data/database.py`:
/// the models with an encrypted field).
pub const DATABASE_FIELDS: &str = "robot account tokens, OAuth application client secrets, \
    application-specific tokens, access tokens, build trigger credentials, repository and \
    organization mirror credentials, and proxy cache credentials";

/// One of the two shared secret keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SharedKey {
    /// `SECRET_KEY`.
    SecretKey,
    /// `DATABASE_SECRET_KEY`.
    DatabaseSecretKey,
}

impl SharedKey {
    /// Both keys, in the order the config data source declares them.
    pub const ALL: [Self; 2] = [Self::SecretKey, Self::DatabaseSecretKey];

    /// The `config.yaml` key.
    pub fn config_key(self) -> &'static str {
        match self {
            Self::SecretKey => "SECRET_KEY",
            Self::DatabaseSecretKey => "DATABASE_SECRET_KEY",
        }
    }

    /// The argument of `data "quay_georep_config"` that sets it, which is also the word
    /// `acknowledge_key_changes` takes.
    pub fn argument(self) -> &'static str {
        match self {
            Self::SecretKey => "secret_key",
            Self::DatabaseSecretKey => "database_secret_key",
        }
    }

    /// The key whose [`SharedKey::argument`] is `word`.
    pub fn from_argument(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|key| key.argument() == word)
    }

    /// What a change of this key breaks, as a sentence.
    pub fn breaks(self) -> String {
        match self {
            Self::SecretKey => "SECRET_KEY signs every session cookie and CSRF token and \
                encrypts the passwords Quay issued to external-authentication users for the \
                Docker CLI: changing it logs every user out on every site, and those encrypted \
                passwords stop working until each user generates a new one"
                .to_owned(),
            Self::DatabaseSecretKey => format!(
                "DATABASE_SECRET_KEY encrypts fields of the shared database ({DATABASE_FIELDS}); \
                 Quay holds one key and cannot re-encrypt them, so after a change every site \
                 fails to read every one of them: robots, mirrors, build triggers and proxy \
                 caches stop working until each credential is created again"
            ),
        }
    }
}

/// The keys whose value differs between two `config.yaml` texts (a key set in one and absent
/// in the other differs too: the operator generates a missing `DATABASE_SECRET_KEY`). Empty
/// when either text is not a YAML map: the site's validation reports that.
pub fn changed_keys(prior: &Secret, planned: &Secret) -> Vec<SharedKey> {
    let (Some(prior), Some(planned)) = (top_level(prior), top_level(planned)) else {
        return Vec::new();
    };
    SharedKey::ALL
        .into_iter()
        .filter(|key| prior.get(key.config_key()) != planned.get(key.config_key()))
        .collect()
}

fn top_level(yaml: &Secret) -> Option<std::sync::Arc<Value>> {
    crate::georep::yaml::top_level(yaml.expose())
}

/// The issues of a change from `prior` to `planned` on the site `site` (its id, for the
/// message): an error on `config_yaml` for each changed key not in `acknowledged`, and an error
/// on `acknowledge_key_changes` for each word that names no key.
pub fn key_change_issues(
    site: &str,
    prior: &Secret,
    planned: &Secret,
    acknowledged: &[String],
) -> Vec<Issue> {
    let mut issues = acknowledgement_issues(acknowledged);
    for key in changed_keys(prior, planned) {
        if acknowledged.iter().any(|word| word == key.argument()) {
            continue;
        }
        issues.push(Issue::error(
            FieldPath::attr("config_yaml"),
            "Shared Secret Key Change",
            format!(
                "config_yaml changes {} for site {site}. {}. Every site shares it, so change \
                 it on every site in the same apply. If that is what you mean, add \"{}\" to \
                 acknowledge_key_changes on every site for this apply and remove it afterwards; \
                 the secret keys guide (docs/guides/secret-keys.md) says how to rotate it",
                key.config_key(),
                key.breaks(),
                key.argument()
            ),
        ));
    }
    issues
}

/// An error for each word of `acknowledge_key_changes` that names no shared key.
pub fn acknowledgement_issues(acknowledged: &[String]) -> Vec<Issue> {
    acknowledged
        .iter()
        .enumerate()
        .filter(|(_, word)| SharedKey::from_argument(word).is_none())
        .map(|(n, word)| {
            Issue::error(
                FieldPath::attr("acknowledge_key_changes").index(n),
                "Unknown Secret Key",
                format!(
                    "acknowledge_key_changes names \"{word}\"; it takes \"secret_key\" and \
                     \"database_secret_key\""
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "SERVER_HOSTNAME: q\nSECRET_KEY: old-secret-key-0123456789abcdef0123\n\
        DATABASE_SECRET_KEY: old-db-key-0123456789abcdef0123456\n";

    fn secret(text: &str) -> Secret {
        Secret::new(text)
    }

    #[test]
    fn only_the_keys_that_differ_are_changes() {
        let same = OLD.replace("SERVER_HOSTNAME: q", "SERVER_HOSTNAME: other");
        assert!(changed_keys(&secret(OLD), &secret(&same)).is_empty());
        let new_db = OLD.replace("old-db-key", "new-db-key");
        assert_eq!(
            changed_keys(&secret(OLD), &secret(&new_db)),
            [SharedKey::DatabaseSecretKey]
        );
        let without = "SERVER_HOSTNAME: q\nSECRET_KEY: old-secret-key-0123456789abcdef0123\n";
        assert_eq!(
            changed_keys(&secret(OLD), &secret(without)),
            [SharedKey::DatabaseSecretKey]
        );
    }

    #[test]
    fn an_unacknowledged_change_is_refused_on_config_yaml_without_quoting_a_key() {
        let new = OLD.replace("old-secret-key", "new-secret-key");
        let issues = key_change_issues("us_east/quay/registry", &secret(OLD), &secret(&new), &[]);
        assert_eq!(issues.len(), 1, "{issues:?}");
        let issue = &issues[0];
        assert!(issue.is_error());
        assert_eq!(issue.path.to_string(), "config_yaml");
        assert!(issue.detail.contains("SECRET_KEY"), "{}", issue.detail);
        assert!(
            issue.detail.contains("logs every user out"),
            "{}",
            issue.detail
        );
        assert!(
            issue.detail.contains("acknowledge_key_changes"),
            "{}",
            issue.detail
        );
        assert!(!issue.detail.contains("old-secret"), "{}", issue.detail);
        assert!(!issue.detail.contains("new-secret"), "{}", issue.detail);
    }

    #[test]
    fn a_database_key_change_names_every_encrypted_field() {
        let new = OLD.replace("old-db-key", "new-db-key");
        let issues = key_change_issues("s", &secret(OLD), &secret(&new), &["secret_key".into()]);
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert!(issues[0].detail.contains("robot account tokens"));
        assert!(issues[0].detail.contains("database_secret_key"));
    }

    #[test]
    fn an_acknowledged_change_passes_and_an_unknown_word_is_refused() {
        let new = OLD
            .replace("old-db-key", "new-db-key")
            .replace("old-secret-key", "new-secret-key");
        let both = ["secret_key".to_owned(), "database_secret_key".to_owned()];
        assert!(key_change_issues("s", &secret(OLD), &secret(&new), &both).is_empty());
        let issues = key_change_issues("s", &secret(OLD), &secret(OLD), &["SECRET_KEY".into()]);
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].path.to_string(), "acknowledge_key_changes[0]");
        assert_eq!(issues[0].summary, "Unknown Secret Key");
    }

    #[test]
    fn text_that_is_not_a_yaml_map_reports_no_change() {
        assert!(changed_keys(&secret("- a"), &secret(OLD)).is_empty());
    }
}
