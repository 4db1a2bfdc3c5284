//! OpenShift's cluster-wide TLS security profile (`apiserver/cluster`,
//! `spec.tlsSecurityProfile`) as Quay's `SSL_PROTOCOLS` and `SSL_CIPHERS`, for a Quay that
//! terminates TLS itself (an unmanaged `tls`).
//!
//! Follows upstream `controllers/quay/tls.go` (`checkTLSSecurityProfile`,
//! `translateTLSProfile`: no profile or an unknown type is `Intermediate`, `Custom` its own
//! ciphers and minimum version; the minimum version becomes nginx's protocol list, the
//! ciphers OpenSSL's colon-joined list) with the profiles of OpenShift's
//! `config/v1/types_tlssecurityprofile.go` (`TLSProfiles`), and `pkg/kustomize/kustomize.go`
//! (`Inflate`: the protocols split on spaces and the ciphers on colons, as lists, into the
//! user's config where it has no value). A user config with either key already set keeps
//! both as given. Read only when `tls` is unmanaged; absent on clusters without the
//! `config.openshift.io` API.
//!
//! Pure but for [`read`]: the profile in, config values out.

use serde_json::{Map, Value, json};

/// OpenShift's `Intermediate` ciphers (the default profile).
const INTERMEDIATE: [&str; 11] = [
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
    "DHE-RSA-AES128-GCM-SHA256",
    "DHE-RSA-AES256-GCM-SHA384",
];

/// OpenShift's `Old` ciphers: `Intermediate`'s and these.
const OLD_EXTRA: [&str; 18] = [
    "DHE-RSA-CHACHA20-POLY1305",
    "ECDHE-ECDSA-AES128-SHA256",
    "ECDHE-RSA-AES128-SHA256",
    "ECDHE-ECDSA-AES128-SHA",
    "ECDHE-RSA-AES128-SHA",
    "ECDHE-ECDSA-AES256-SHA384",
    "ECDHE-RSA-AES256-SHA384",
    "ECDHE-ECDSA-AES256-SHA",
    "ECDHE-RSA-AES256-SHA",
    "DHE-RSA-AES128-SHA256",
    "DHE-RSA-AES256-SHA256",
    "AES128-GCM-SHA256",
    "AES256-GCM-SHA384",
    "AES128-SHA256",
    "AES256-SHA256",
    "AES128-SHA",
    "AES256-SHA",
    "DES-CBC3-SHA",
];

/// The nginx protocol list and the OpenSSL cipher list of a profile
/// (`spec.tlsSecurityProfile` of `apiserver/cluster`, `None` or null when not set).
#[must_use]
pub fn translate(profile: Option<&Value>) -> (String, String) {
    let profile = profile.filter(|p| !p.is_null());
    let (min_version, ciphers): (&str, Vec<String>) = match profile.and_then(|p| p["type"].as_str())
    {
        Some("Old") => (
            "VersionTLS10",
            INTERMEDIATE
                .iter()
                .chain(&OLD_EXTRA)
                .map(|c| (*c).to_owned())
                .collect(),
        ),
        Some("Modern") => (
            "VersionTLS13",
            INTERMEDIATE[..3].iter().map(|c| (*c).to_owned()).collect(),
        ),
        Some("Custom") if profile.is_some_and(|p| p["custom"].is_object()) => {
            let custom = &profile.expect("matched a profile")["custom"];
            (
                custom["minTLSVersion"].as_str().unwrap_or_default(),
                custom["ciphers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c.as_str().map(str::to_owned))
                    .collect(),
            )
        }
        _ => (
            "VersionTLS12",
            INTERMEDIATE.iter().map(|c| (*c).to_owned()).collect(),
        ),
    };
    (protocols(min_version).to_owned(), ciphers.join(":"))
}

/// `tlsVersionToProtocols`: the protocols from a minimum version on.
fn protocols(min_version: &str) -> &'static str {
    match min_version {
        "VersionTLS10" => "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3",
        "VersionTLS11" => "TLSv1.1 TLSv1.2 TLSv1.3",
        "VersionTLS13" => "TLSv1.3",
        // VersionTLS12, empty or unknown: the safe default (OCPBUGS-24226).
        _ => "TLSv1.2 TLSv1.3",
    }
}

/// Writes the profile's `SSL_PROTOCOLS` and `SSL_CIPHERS` into the user's `config` unless
/// it sets either already (`checkTLSSecurityProfile` then `Inflate`).
pub fn inject(config: &mut Map<String, Value>, profile: Option<&Value>) {
    if config.contains_key("SSL_PROTOCOLS") || config.contains_key("SSL_CIPHERS") {
        return;
    }
    let (protocols, ciphers) = translate(profile);
    if !protocols.is_empty() {
        config.insert(
            "SSL_PROTOCOLS".into(),
            json!(protocols.split(' ').collect::<Vec<_>>()),
        );
    }
    if !ciphers.is_empty() {
        config.insert(
            "SSL_CIPHERS".into(),
            json!(ciphers.split(':').collect::<Vec<_>>()),
        );
    }
}

/// `spec.tlsSecurityProfile` of `apiserver/cluster` (null when unset), or `None` when the
/// cluster has no such object or no `config.openshift.io` API.
///
/// # Errors
/// Reading it failed otherwise.
pub async fn read(client: &kube::Client) -> Result<Option<Value>, kube::Error> {
    use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};

    let gvk = GroupVersionKind::gvk("config.openshift.io", "v1", "APIServer");
    let api: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource::from_gvk_with_plural(&gvk, "apiservers"),
    );
    match api.get_opt("cluster").await {
        Ok(found) => Ok(found.map(|a| a.data["spec"]["tlsSecurityProfile"].clone())),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_profile_is_intermediate() {
        let (protocols, ciphers) = translate(None);
        assert_eq!(protocols, "TLSv1.2 TLSv1.3");
        assert_eq!(ciphers, INTERMEDIATE.join(":"));
        assert_eq!(
            translate(Some(&json!({"type": "Bogus"}))).0,
            "TLSv1.2 TLSv1.3"
        );
    }

    #[test]
    fn old_modern_and_custom_profiles() {
        let (protocols, ciphers) = translate(Some(&json!({"type": "Old", "old": {}})));
        assert_eq!(protocols, "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3");
        assert_eq!(ciphers.split(':').count(), 29);
        assert!(ciphers.ends_with("DES-CBC3-SHA"));
        let (protocols, ciphers) = translate(Some(&json!({"type": "Modern"})));
        assert_eq!(protocols, "TLSv1.3");
        assert_eq!(
            ciphers,
            "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
        );
        let custom = json!({"type": "Custom", "custom": {
            "minTLSVersion": "VersionTLS11", "ciphers": ["A", "B"]}});
        assert_eq!(
            translate(Some(&custom)),
            ("TLSv1.1 TLSv1.2 TLSv1.3".to_owned(), "A:B".to_owned())
        );
        let empty_custom = json!({"type": "Custom"});
        assert_eq!(translate(Some(&empty_custom)), translate(None));
    }

    #[test]
    fn the_profile_goes_into_the_config_as_lists_unless_the_user_set_either_key() {
        let mut config = Map::new();
        inject(&mut config, Some(&json!({"type": "Modern"})));
        assert_eq!(config["SSL_PROTOCOLS"], json!(["TLSv1.3"]));
        assert_eq!(config["SSL_CIPHERS"].as_array().unwrap().len(), 3);
        let mut mine = Map::from_iter([("SSL_CIPHERS".to_owned(), json!(["X"]))]);
        inject(&mut mine, None);
        assert_eq!(mine.len(), 1, "{mine:?}");
    }
}
