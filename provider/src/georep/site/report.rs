//! What `data "quay_georep_site"` reports about a live site it does not manage: read from the
//! site's `QuayRegistry`, its config bundle Secret and its Route.
//!
//! Pure: the resource layer reads the objects and hands them over; the endpoints for a global
//! load balancer are [`SiteEndpoints`](super::SiteEndpoints), read from the same objects.

use std::collections::BTreeMap;

use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use super::import::decoded;
use super::status::RegistryStatus;

/// A live site as its objects show it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteReport {
    /// The `QuayRegistry` status: versions, endpoint, conditions, components.
    pub status: RegistryStatus,
    /// Each component kind, `managed` or `unmanaged`, as the operator left `spec.components`.
    pub components: BTreeMap<String, String>,
    /// The Route's `spec.host`; `None` without a Route.
    pub route_host: Option<String>,
    /// `sha256:<hex>` of the bundle's `config.yaml`; `None` when the Secret or key is missing.
    pub config_hash: Option<String>,
    /// The words of `QUAY_DISTRIBUTED_STORAGE_PREFERENCE` on the `quay` component, this site's
    /// location first; empty when unset.
    pub storage_preference: Vec<String>,
}

impl SiteReport {
    /// Reads the site whose `QuayRegistry` is `registry`, with the config bundle Secret it
    /// names (`None` when missing) and its Route (`None` without one).
    #[must_use]
    pub fn read(registry: &Json, bundle: Option<&Json>, route: Option<&Json>) -> Self {
        let status = RegistryStatus::read(registry);
        let components = status
            .components
            .iter()
            .map(|c| {
                let managed = if c.managed == Some(false) {
                    "unmanaged"
                } else {
                    "managed"
                };
                (c.kind.clone(), managed.to_owned())
            })
            .collect();
        let storage_preference = status.storage_preference();
        let config_hash = bundle
            .and_then(|b| decoded(b, "config.yaml"))
            .map(|yaml| format!("sha256:{}", hex::encode(Sha256::digest(yaml.as_bytes()))));
        Self {
            components,
            route_host: route
                .and_then(|r| r["spec"]["host"].as_str())
                .map(str::to_owned),
            config_hash,
            storage_preference,
            status,
        }
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use serde_json::json;

    use super::super::render::PREFERENCE_ENV;
    use super::*;

    #[test]
    fn a_live_site_reports_its_components_preference_route_and_config_hash() {
        let registry = json!({
            "metadata": {"name": "registry", "namespace": "quay"},
            "spec": {
                "configBundleSecret": "registry-config-bundle-abc",
                "components": [
                    {"kind": "quay", "managed": true, "overrides": {"env": [
                        {"name": PREFERENCE_ENV, "value": "us_east eu_west"},
                    ]}},
                    {"kind": "postgres", "managed": false},
                ],
            },
            "status": {"currentVersion": "3.14.8"},
        });
        let yaml = "SERVER_HOSTNAME: quay.example.com\n";
        let bundle = json!({"data": {
            "config.yaml": base64::engine::general_purpose::STANDARD.encode(yaml),
        }});
        let route = json!({"spec": {"host": "quay.example.com"}});
        let report = SiteReport::read(&registry, Some(&bundle), Some(&route));
        assert_eq!(report.status.current_version.as_deref(), Some("3.14.8"));
        assert_eq!(report.components["quay"], "managed");
        assert_eq!(report.components["postgres"], "unmanaged");
        assert_eq!(report.storage_preference, ["us_east", "eu_west"]);
        assert_eq!(report.route_host.as_deref(), Some("quay.example.com"));
        assert_eq!(
            report.config_hash,
            Some(format!(
                "sha256:{}",
                hex::encode(Sha256::digest(yaml.as_bytes()))
            ))
        );
        let bare = SiteReport::read(&registry, None, None);
        assert_eq!(bare.config_hash, None);
        assert_eq!(bare.route_host, None);
    }
}
