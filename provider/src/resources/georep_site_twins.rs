//! The write-only twins of `resource "quay_georep_site"`'s secret arguments (Terraform 1.11
//! and later): `config_yaml_wo`, `clair { database_uri_wo }` and `tls { private_key_wo }`.
//!
//! Each twin's value reaches the site from the configuration only: every plan and state holds
//! null for it (the framework sees to that), so the secret reaches the cluster and never the
//! state. A change of it shows as a new `bundle_secret_name` (the bundle's name hashes its
//! content). A refresh renders the site with the stored argument filled from the live bundle
//! ([`Twin::live_value`]), in memory only; an import leaves out of the state each argument
//! whose bundle Secret carries the twin's [`Twin::annotation`].
//!
//! This file knows where the twins are in a value; what they mean is the model's
//! (`georep_site_model.rs`) and the operations' business.

use crate::georep::secret::Secret;
use crate::georep::site::{ClairSetup, Site, SiteInput};
use crate::tfvalue::{AttributePath, Value};

/// One write-only twin: the argument a state would hold and the twin that keeps it out.
#[derive(Debug)]
pub(super) struct Twin {
    /// The list block (of at most one element) holding both, or `None` at the top level.
    pub(super) block: Option<&'static str>,
    /// The argument stored in the state.
    pub(super) stored: &'static str,
    /// Its write-only twin.
    pub(super) write_only: &'static str,
    /// The annotation on a bundle Secret written from the twin (value [`WRITE_ONLY_MARK`]).
    pub(super) annotation: &'static str,
    /// The summary of the domain's error when the stored argument is missing, whose detail
    /// then also names the twin.
    pub(super) missing: &'static str,
    /// The twin's description, for the schema and the docs.
    pub(super) description: &'static str,
    /// Whether a site uses the secret at all (Clair runs there, a certificate is given).
    used_by: fn(&Site) -> bool,
    /// The secret in the site the live bundle describes.
    live: fn(&SiteInput) -> Option<&Secret>,
}

fn always(_: &Site) -> bool {
    true
}

fn runs_clair(site: &Site) -> bool {
    matches!(site.clair(), ClairSetup::Managed { .. })
}

fn serves_tls(site: &Site) -> bool {
    site.tls().is_some()
}

fn live_config(live: &SiteInput) -> Option<&Secret> {
    live.config_yaml.as_ref()
}

fn live_clair_database(live: &SiteInput) -> Option<&Secret> {
    live.clair.as_ref()?.database_uri.as_ref()
}

fn live_tls_key(live: &SiteInput) -> Option<&Secret> {
    live.tls.as_ref()?.private_key.as_ref()
}

/// The value of every twin annotation.
pub(super) const WRITE_ONLY_MARK: &str = "write-only";

/// `config_yaml_wo`.
pub(super) const CONFIG_YAML: Twin = Twin {
    block: None,
    stored: "config_yaml",
    write_only: "config_yaml_wo",
    annotation: "quay-georep/config-yaml",
    missing: "Missing Config",
    description: "write-only config_yaml (Terraform 1.11 and later), normally \
         ephemeral.quay_georep_config.<name>.config_yaml: written to the cluster, never to the \
         plan or state; config_hash shows when it changes. Older Terraform refuses it (use \
         config_yaml there)",
    used_by: always,
    live: live_config,
};

/// Every twin.
pub(super) const TWINS: [Twin; 3] = [
    CONFIG_YAML,
    Twin {
        block: Some("clair"),
        stored: "database_uri",
        write_only: "database_uri_wo",
        annotation: "quay-georep/clair-database-uri",
        missing: "Missing Clair Database",
        description: "write-only database_uri (Terraform 1.11 and later): the shared Clair \
             database URI, written to the cluster's clair-config.yaml, never to the plan or \
             state; a change shows as a new bundle_secret_name. Set this or database_uri, not \
             both. Older Terraform refuses it",
        used_by: runs_clair,
        live: live_clair_database,
    },
    Twin {
        block: Some("tls"),
        stored: "private_key",
        write_only: "private_key_wo",
        annotation: "quay-georep/tls-private-key",
        missing: "Missing TLS Private Key",
        description: "write-only private_key (Terraform 1.11 and later): the certificate's \
             unencrypted PEM private key, written to the config bundle's ssl.key, never to the \
             plan or state; a change shows as a new bundle_secret_name. Set this or \
             private_key, not both. Older Terraform refuses it",
        used_by: serves_tls,
        live: live_tls_key,
    },
];

impl Twin {
    /// The path of `name` (the stored argument or the twin) in a configuration.
    pub(super) fn path(&self, name: &str) -> AttributePath {
        match self.block {
            None => AttributePath::root().attr(name),
            Some(block) => AttributePath::root().attr(block).index(0).attr(name),
        }
    }

    fn holder<'a>(&self, value: &'a Value) -> Option<&'a Value> {
        match self.block {
            None => Some(value),
            Some(block) => match value.get(block) {
                Some(Value::List(items)) => items.first(),
                _ => None,
            },
        }
    }

    fn holder_mut<'a>(&self, value: &'a mut Value) -> Option<&'a mut Value> {
        match self.block {
            None => Some(value),
            Some(block) => match value.get_mut(block) {
                Some(Value::List(items)) => items.first_mut(),
                _ => None,
            },
        }
    }

    fn non_null<'a>(&self, value: &'a Value, name: &str) -> Option<&'a Value> {
        self.holder(value)?.get(name).filter(|v| !v.is_null())
    }

    /// The stored argument's value in `value`, unless null or absent.
    pub(super) fn stored_value<'a>(&self, value: &'a Value) -> Option<&'a Value> {
        self.non_null(value, self.stored)
    }

    /// The twin's value in `value` (a configuration), unless null or absent.
    pub(super) fn write_only_value<'a>(&self, value: &'a Value) -> Option<&'a Value> {
        self.non_null(value, self.write_only)
    }

    /// Sets `name` to `new` in `value`, where its holder exists.
    pub(super) fn set(&self, value: &mut Value, name: &str, new: Value) {
        if let Some(Value::Object(fields)) = self.holder_mut(value) {
            fields.insert(name.to_owned(), new);
        }
    }

    /// Whether a plan or state was written from the twin: its holder is there, not disabled
    /// (`enabled = false`: a disabled Clair needs no database), and the stored argument is
    /// null.
    pub(super) fn maybe_written_from_twin(&self, value: &Value) -> bool {
        let Some(holder) = self.holder(value) else {
            return false;
        };
        let disabled = self.block.is_some() && holder.get("enabled") == Some(&Value::Bool(false));
        !disabled && self.stored_value(value).is_none()
    }

    /// Whether `site` (rendered from `planned`) took this secret from the twin: the stored
    /// argument is null in the plan and the site uses the secret (Clair runs here, or a
    /// certificate is given). What the bundle Secret's annotation records.
    pub(super) fn wrote(&self, planned: &Value, site: &Site) -> bool {
        (self.used_by)(site)
            && self.holder(planned).is_some()
            && self.stored_value(planned).is_none()
    }

    /// The live value of the stored argument, from the site the live bundle describes.
    pub(super) fn live_value<'a>(&self, live: &'a SiteInput) -> Option<&'a Secret> {
        (self.live)(live)
    }
}

/// `planned` (a plan, whose write-only values are null) with every twin's value from the
/// configuration: what create and update render.
pub(super) fn with_write_only(planned: &Value, config: &Value) -> Value {
    let mut value = planned.clone();
    for twin in &TWINS {
        if let Some(secret) = twin.write_only_value(config) {
            twin.set(&mut value, twin.write_only, secret.clone());
        }
    }
    value
}

/// Whether any twin wrote a plan or state ([`Twin::maybe_written_from_twin`]): its operations
/// then need the live bundle (a refresh) or only its `id` (a delete).
pub(super) fn written_from_twins(value: &Value) -> bool {
    TWINS.iter().any(|t| t.maybe_written_from_twin(value))
}

/// `value` without the twins inside blocks (the top-level one is left to the caller's list of
/// attributes outside the domain): the domain's input knows only the stored arguments.
pub(super) fn without_twins(value: &Value) -> Value {
    let mut value = value.clone();
    for twin in TWINS.iter().filter(|t| t.block.is_some()) {
        if let Some(Value::Object(fields)) = twin.holder_mut(&mut value) {
            fields.remove(twin.write_only);
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site_value(clair: Value, tls: Value) -> Value {
        Value::object([
            ("config_yaml", Value::Null),
            ("config_yaml_wo", Value::Null),
            ("clair", clair),
            ("tls", tls),
        ])
    }

    fn block(fields: &[(&str, Value)]) -> Value {
        Value::list([Value::object(fields.iter().cloned())])
    }

    #[test]
    fn paths_point_into_the_first_element_of_the_block() {
        assert_eq!(
            TWINS[0].path("config_yaml_wo").to_string(),
            "config_yaml_wo"
        );
        assert_eq!(
            TWINS[2].path("private_key_wo").to_string(),
            "tls[0].private_key_wo"
        );
    }

    #[test]
    fn the_plan_gets_every_twin_from_the_configuration_only() {
        let planned = site_value(
            block(&[
                ("database_uri", Value::Null),
                ("database_uri_wo", Value::Null),
            ]),
            block(&[
                ("private_key", Value::Null),
                ("private_key_wo", Value::Null),
            ]),
        );
        let config = site_value(
            block(&[("database_uri_wo", Value::string("postgresql://c"))]),
            block(&[("private_key_wo", Value::string("KEY"))]),
        );
        let merged = with_write_only(&planned, &config);
        assert_eq!(
            TWINS[1].write_only_value(&merged),
            Some(&Value::string("postgresql://c"))
        );
        assert_eq!(
            TWINS[2].write_only_value(&merged),
            Some(&Value::string("KEY"))
        );
        assert_eq!(TWINS[0].write_only_value(&merged), None);
        assert!(TWINS.iter().all(|t| t.maybe_written_from_twin(&planned)));
    }

    #[test]
    fn a_site_without_the_block_was_not_written_from_its_twin() {
        let value = site_value(Value::list([]), Value::Null);
        assert!(!TWINS[1].maybe_written_from_twin(&value));
        assert!(!TWINS[2].maybe_written_from_twin(&value));
        let stored = site_value(block(&[("database_uri", Value::string("u"))]), Value::Null);
        assert!(!TWINS[1].maybe_written_from_twin(&stored));
    }
}
