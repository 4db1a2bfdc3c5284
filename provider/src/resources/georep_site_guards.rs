//! The refusals of `resource "quay_georep_site"` that protect what an apply cannot give back:
//! a change of the shared secret keys the user has not acknowledged
//! ([`crate::georep::site::key_change_issues`]), a storage location dropped from the shared
//! config unacknowledged ([`crate::georep::site::location_removal_issues`]), and the destroy of
//! a site with `deletion_protection`; and the warning of a config that moves the user files
//! location ([`crate::georep::site::files_location_issues`]).
//!
//! Both are checked at plan and again at apply: `config_yaml` may be known only at apply, and
//! Terraform before 1.3 does not plan destroys through the provider.

use super::site_schema::report;
use crate::georep::secret::Secret;
use crate::georep::site::{
    acknowledgement_issues, files_location_issues, key_change_issues, location_removal_issues,
};
use crate::tfvalue::{AttributePath, Diagnostic, Diagnostics, Value};

/// The words of `acknowledge_key_changes` (unknown and null read as none).
fn acknowledged(value: &Value) -> Vec<String> {
    words(value, "acknowledge_key_changes")
}

/// The words of the list attribute `name` (unknown and null read as none).
fn words(value: &Value, name: &str) -> Vec<String> {
    match value.get(name) {
        Some(Value::List(items)) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// Reports each word of `acknowledge_key_changes` in `config` that names no shared key.
pub(super) fn validate_acknowledgements(config: &Value, diags: &mut Diagnostics) {
    report(
        config,
        &acknowledgement_issues(&acknowledged(config)),
        diags,
    );
}

/// Reports each shared key `planned`'s `config_yaml` changes from `prior`'s, and each storage
/// location it drops, that `planned` does not acknowledge. Nothing when either `config_yaml`
/// is not known (with `config_yaml_wo` the state holds none to compare).
pub(super) fn check_key_changes(prior: &Value, planned: &Value, diags: &mut Diagnostics) {
    let text = |value: &Value| {
        value
            .get("config_yaml")
            .and_then(Value::as_str)
            .map(Secret::new)
    };
    let (Some(before), Some(after)) = (text(prior), text(planned)) else {
        return;
    };
    let site = prior
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("this site");
    let issues = key_change_issues(site, &before, &after, &acknowledged(planned))
        .into_iter()
        // The words themselves were reported by validation.
        .filter(|issue| issue.summary != "Unknown Secret Key")
        .chain(location_removal_issues(
            site,
            &before,
            &after,
            &words(planned, "acknowledge_location_removals"),
        ))
        .chain(files_location_issues(site, &before, &after))
        .collect::<Vec<_>>();
    report(planned, &issues, diags);
}

/// The refusal to destroy `prior` when it has `deletion_protection = true`.
pub(super) fn deletion_refusal(prior: &Value) -> Option<Diagnostic> {
    if prior.get("deletion_protection").and_then(Value::as_bool) != Some(true) {
        return None;
    }
    let site = prior
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("the site");
    Some(
        Diagnostic::error(
            "Site Deletion Protected",
            format!(
                "{site} has deletion_protection = true, so Terraform does not destroy (or \
                 replace) it. Destroying it would remove its QuayRegistry, the Deployments the \
                 operator made for it, its config bundle Secrets and, when this resource created \
                 it, its namespace; the shared database, Redis and storage buckets are never \
                 touched. To proceed, set deletion_protection = false, run terraform apply, \
                 then destroy"
            ),
        )
        .with_attribute(AttributePath::root().attr("deletion_protection")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "SECRET_KEY: one-0123456789abcdef0123456789abcdef\n\
        DATABASE_SECRET_KEY: two-0123456789abcdef0123456789abcdef\n";

    fn site(yaml: &str, acknowledged: &[&str]) -> Value {
        Value::object([
            ("id", Value::string("us_east/quay/registry")),
            ("config_yaml", Value::string(yaml)),
            (
                "acknowledge_key_changes",
                Value::list(acknowledged.iter().map(|w| Value::string(*w))),
            ),
        ])
    }

    #[test]
    fn a_changed_key_is_refused_until_acknowledged() {
        let changed = YAML.replace("two-", "new-");
        let mut diags = Diagnostics::default();
        check_key_changes(&site(YAML, &[]), &site(&changed, &[]), &mut diags);
        let found: Vec<_> = diags.iter().collect();
        assert_eq!(found.len(), 1, "{diags:?}");
        assert_eq!(found[0].summary, "Shared Secret Key Change");
        assert_eq!(
            found[0].attribute.as_ref().map(ToString::to_string),
            Some("config_yaml".to_owned())
        );
        let mut diags = Diagnostics::default();
        check_key_changes(
            &site(YAML, &[]),
            &site(&changed, &["database_secret_key"]),
            &mut diags,
        );
        assert!(diags.is_empty(), "{diags:?}");
    }

    #[test]
    fn an_unknown_config_yaml_is_left_to_the_apply() {
        let mut planned = site(YAML, &[]);
        if let Value::Object(fields) = &mut planned {
            fields.insert("config_yaml".into(), Value::Unknown);
        }
        let mut diags = Diagnostics::default();
        check_key_changes(&site(YAML, &[]), &planned, &mut diags);
        assert!(diags.is_empty(), "{diags:?}");
    }

    #[test]
    fn only_a_protected_site_refuses_its_destroy() {
        let mut prior = site(YAML, &[]);
        assert!(deletion_refusal(&prior).is_none());
        if let Value::Object(fields) = &mut prior {
            fields.insert("deletion_protection".into(), Value::Bool(true));
        }
        let refusal = deletion_refusal(&prior).expect("refused");
        assert!(refusal.detail.contains("deletion_protection = false"));
        assert!(refusal.detail.contains("never touched"));
    }
}
