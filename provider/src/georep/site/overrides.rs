//! Settings of `config_yaml` that the operator replaces on this site, as plan warnings.
//!
//! The operator does not deploy the bundle's `config.yaml` as given: it writes each managed
//! component's own fields over it (upstream `pkg/kustomize/secrets.go`, `FieldGroupFor`, merged
//! by `FlattenSecret` in `pkg/middleware/middleware.go`), so for those keys **the operator's
//! value wins**:
//!
//! - a managed `mirror` (`mirror.enabled`, the default) forces `FEATURE_REPO_MIRROR: true`,
//!   `REPO_MIRROR_INTERVAL: 30` and `REPO_MIRROR_TLS_VERIFY: true`;
//! - a managed `route` (`route.managed`, the default) forces `PREFERRED_URL_SCHEME: https` and
//!   `EXTERNAL_TLS_TERMINATION` (true without a `tls` block: the Route terminates TLS; false
//!   with one);
//! - a managed `clair` sets its own `SECURITY_SCANNER_V4_PSK` (and endpoint; the endpoint keys
//!   next to a managed Clair are refused elsewhere).
//!
//! Each differing value is a warning on `config_yaml` that names the key, both values, which
//! wins, and the one way to make the user's value win: that component unmanaged on this site.

use serde_json::{Value, json};

use super::model::{ClairSetup, Site, Workers};
use crate::georep::issue::Issue;
use crate::georep::path::FieldPath;

/// The interval a managed mirror forces, in seconds.
const MANAGED_MIRROR_INTERVAL: u64 = 30;

/// One key the operator writes over the user's value.
struct Forced {
    key: &'static str,
    value: Value,
    /// Which component does it, and how to keep the user's value.
    component: &'static str,
    fix: &'static str,
    /// Where the value comes from in `data "quay_georep_config"`, when it has an attribute.
    source: Option<&'static str>,
}

/// The warnings for `site`; empty when the operator keeps every value of `config_yaml`.
pub(super) fn warnings(site: &Site) -> Vec<Issue> {
    let mut forced = Vec::new();
    if matches!(site.mirror, Workers::Enabled { .. }) {
        let fix = "set mirror { enabled = false } on this site (the mirror component \
                   unmanaged: the operator then keeps your value, but runs no mirror workers \
                   here)";
        for (key, value, source) in [
            (
                "FEATURE_REPO_MIRROR",
                json!(true),
                Some("mirroring.enabled"),
            ),
            (
                "REPO_MIRROR_INTERVAL",
                json!(MANAGED_MIRROR_INTERVAL),
                Some("mirroring.interval"),
            ),
            ("REPO_MIRROR_TLS_VERIFY", json!(true), None),
        ] {
            forced.push(Forced {
                key,
                value,
                component: "mirror",
                fix,
                source,
            });
        }
    }
    if site.route_managed {
        let fix = "set route { managed = false } on this site with a tls block (the route \
                   component unmanaged: you then serve SERVER_HOSTNAME with your own load \
                   balancer)";
        forced.push(Forced {
            key: "PREFERRED_URL_SCHEME",
            value: json!("https"),
            component: "route",
            fix,
            source: Some("preferred_url_scheme"),
        });
        forced.push(Forced {
            key: "EXTERNAL_TLS_TERMINATION",
            value: json!(site.tls.is_none()),
            component: "route",
            fix,
            source: None,
        });
    }
    if matches!(site.clair, ClairSetup::Managed { .. }) {
        forced.push(Forced {
            key: "SECURITY_SCANNER_V4_PSK",
            // Generated per site by the operator; any value given differs from it.
            value: Value::Null,
            component: "clair",
            fix: "set clair { enabled = false } on this site to use the Clair config_yaml names",
            source: None,
        });
    }
    forced
        .into_iter()
        .filter_map(|f| {
            let given = site.config.value(f.key)?;
            (given != f.value).then(|| warning(&f, &given))
        })
        .collect()
}

fn warning(f: &Forced, given: &Value) -> Issue {
    let from = f.source.map_or_else(String::new, |attribute| {
        format!(" (from {attribute} of data.quay_georep_config)")
    });
    let (given, wins) = if f.value.is_null() {
        ("a value".to_owned(), "the key it generates".to_owned())
    } else {
        (given.to_string(), f.value.to_string())
    };
    Issue::warning(
        FieldPath::attr("config_yaml"),
        "Setting Overridden by the Operator",
        format!(
            "config_yaml sets {key} to {given}{from}, but the operator manages the {component} \
             component on this site and writes {key}: {wins} over it when it renders the \
             config, so Quay runs with {wins}. To make your value win, {fix}; or remove {key} \
             from the config to silence this warning",
            key = f.key,
            component = f.component,
            fix = f.fix,
        ),
    )
}
