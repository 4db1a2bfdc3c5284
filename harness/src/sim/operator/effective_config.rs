//! The config the operator really deploys: the user's `config.yaml` with the operator's own
//! values merged over it, as the rendered `<n>-quay-config-secret-<hash>` carries it.
//!
//! Follows upstream `pkg/kustomize/kustomize.go` (`Inflate`: `SECRET_KEY` and
//! `DATABASE_SECRET_KEY` kept or generated, `BaseQuayConfig` for absent keys, then one
//! `<kind>.config.yaml` per managed component from `FieldGroupFor` in
//! `pkg/kustomize/secrets.go`) and `pkg/middleware/middleware.go` (`FlattenSecret` writes every
//! component's fields over `config.yaml`, so **the operator's value wins**; `ssl.cert`,
//! `ssl.key`, `clair-ssl.*` and `extra_ca_cert_*` leave the config Secret). The fields each
//! managed component forces:
//!
//! | component | keys (value) |
//! |---|---|
//! | `mirror` | `FEATURE_REPO_MIRROR` (true), `REPO_MIRROR_INTERVAL` (30), `REPO_MIRROR_TLS_VERIFY` (true) |
//! | `route` | `PREFERRED_URL_SCHEME` (https), `EXTERNAL_TLS_TERMINATION` (true without a certificate), `SERVER_HOSTNAME` |
//! | `clair` | `FEATURE_SECURITY_SCANNER`, `FEATURE_SECURITY_NOTIFICATIONS` (true), `SECURITY_SCANNER_INDEXING_INTERVAL` (30), `SECURITY_SCANNER_V4_ENDPOINT` (`http://<n>-clair-app.<ns>.svc.cluster.local`), `SECURITY_SCANNER_V4_NAMESPACE_WHITELIST` (`["admin"]`), `SECURITY_SCANNER_V4_PSK` (kept per registry) |
//! | `redis` | `BUILDLOGS_REDIS`, `USER_EVENTS_REDIS` (`<n>-quay-redis:6379`) |
//!
//! The TLS security profile's `SSL_PROTOCOLS` and `SSL_CIPHERS` come in with the user's
//! config ([`super::tls_profile`] adds them there, as upstream `Inflate` does). The managed
//! `postgres` `DB_URI` and the `objectstorage` storage config are written into the config by
//! [`super::managed::prepare`] (only on a cluster with backing services). Not modelled: the
//! separate TLS Secret the certificate moves to. The Secret's `config.yaml` is written as JSON
//! (valid YAML).
//!
//! Pure: values in, values out.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::components::{ComponentKind, Components};

/// The managed-keys Secret key holding the Clair pre-shared key the operator generated.
pub const PSK_KEY: &str = "SECURITY_SCANNER_V4_PSK";

/// What the operator fills in for one registry.
#[derive(Debug, Clone, Copy)]
pub struct Registry<'a> {
    /// Registry name.
    pub name: &'a str,
    /// Namespace.
    pub namespace: &'a str,
    /// `SERVER_HOSTNAME`: the user's, or the generated Route host.
    pub hostname: &'a str,
    /// Whether the operator holds a TLS certificate for Quay (an unmanaged `tls` with
    /// `ssl.cert`/`ssl.key`): then a managed Route does not terminate TLS itself.
    pub has_certificate: bool,
    /// The values the operator keeps in `<n>-quay-registry-managed-secret-keys`
    /// (`SECRET_KEY`, `DATABASE_SECRET_KEY`, [`PSK_KEY`]).
    pub kept: &'a BTreeMap<String, String>,
}

/// `BaseQuayConfig` of `pkg/kustomize/secrets.go`: set only where the user's config has no value.
fn base_config() -> [(&'static str, Value); 13] {
    [
        ("SETUP_COMPLETE", json!(true)),
        ("FEATURE_MAILING", json!(false)),
        ("REGISTRY_TITLE", json!("Quay")),
        ("REGISTRY_TITLE_SHORT", json!("Quay")),
        ("AUTHENTICATION_TYPE", json!("Database")),
        (
            "ENTERPRISE_LOGO_URL",
            json!("/static/img/quay-horizontal-color.svg"),
        ),
        ("DEFAULT_TAG_EXPIRATION", json!("2w")),
        ("ALLOW_PULLS_WITHOUT_STRICT_LOGGING", json!(false)),
        ("TAG_EXPIRATION_OPTIONS", json!(["2w"])),
        ("TEAM_RESYNC_STALE_TIME", json!("60m")),
        ("FEATURE_DIRECT_LOGIN", json!(true)),
        ("FEATURE_BUILD_SUPPORT", json!(false)),
        ("TESTING", json!(false)),
    ]
}

/// The fields a managed `kind` writes over `config.yaml` (`FieldGroupFor`); empty for kinds
/// without a field group or not modelled.
#[must_use]
pub fn forced_fields(kind: ComponentKind, registry: &Registry<'_>) -> Map<String, Value> {
    let fields = match kind {
        ComponentKind::Mirror => json!({
            "FEATURE_REPO_MIRROR": true,
            "REPO_MIRROR_INTERVAL": 30,
            "REPO_MIRROR_TLS_VERIFY": true,
        }),
        ComponentKind::Route => json!({
            "EXTERNAL_TLS_TERMINATION": !registry.has_certificate,
            "PREFERRED_URL_SCHEME": "https",
            "SERVER_HOSTNAME": registry.hostname,
        }),
        ComponentKind::Clair => json!({
            "FEATURE_SECURITY_SCANNER": true,
            "FEATURE_SECURITY_NOTIFICATIONS": true,
            "SECURITY_SCANNER_INDEXING_INTERVAL": 30,
            "SECURITY_SCANNER_V4_ENDPOINT": format!(
                "http://{}-clair-app.{}.svc.cluster.local",
                registry.name, registry.namespace
            ),
            "SECURITY_SCANNER_V4_NAMESPACE_WHITELIST": ["admin"],
            "SECURITY_SCANNER_V4_PSK": registry.kept.get(PSK_KEY).cloned().unwrap_or_default(),
        }),
        ComponentKind::Redis => {
            let redis = json!({"host": format!("{}-quay-redis", registry.name), "port": 6379});
            json!({"BUILDLOGS_REDIS": redis.clone(), "USER_EVENTS_REDIS": redis})
        }
        _ => json!({}),
    };
    match fields {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The effective `config.yaml` of a registry whose user config is `user`.
#[must_use]
pub fn config(
    user: &Map<String, Value>,
    components: &Components,
    registry: &Registry<'_>,
) -> Map<String, Value> {
    let mut config = user.clone();
    for key in ["SECRET_KEY", "DATABASE_SECRET_KEY"] {
        let given = user
            .get(key)
            .and_then(Value::as_str)
            .is_some_and(|v| !v.is_empty());
        if !given && let Some(kept) = registry.kept.get(key) {
            config.insert(key.to_owned(), json!(kept));
        }
    }
    for (key, value) in base_config() {
        config.entry(key).or_insert(value);
    }
    for c in components.0.iter().filter(|c| c.managed) {
        config.extend(forced_fields(c.kind, registry));
    }
    config
}

/// The rendered config Secret's data: the bundle's keys with `config.yaml` replaced by
/// `config` and the TLS and CA files taken out (`FlattenSecret` and `Process`).
#[must_use]
pub fn secret_data(
    bundle: &BTreeMap<String, Vec<u8>>,
    config: &Map<String, Value>,
) -> BTreeMap<String, Vec<u8>> {
    let moved_out = |key: &str| {
        matches!(
            key,
            "ssl.cert" | "ssl.key" | "clair-ssl.key" | "clair-ssl.crt"
        ) || key.starts_with("extra_ca_cert_")
    };
    let mut data: BTreeMap<String, Vec<u8>> = bundle
        .iter()
        .filter(|(k, _)| !moved_out(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let text = serde_json::to_vec_pretty(config).unwrap_or_default();
    data.insert("config.yaml".to_owned(), text);
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(kept: &BTreeMap<String, String>, has_certificate: bool) -> Registry<'_> {
        Registry {
            name: "registry",
            namespace: "quay",
            hostname: "quay.global.example",
            has_certificate,
            kept,
        }
    }

    fn comps(v: Value) -> Components {
        Components::from_spec(&json!({ "components": v }))
    }

    #[test]
    fn managed_components_win_over_the_users_values() {
        let user = json!({
            "SERVER_HOSTNAME": "quay.global.example",
            "PREFERRED_URL_SCHEME": "http",
            "FEATURE_REPO_MIRROR": false,
            "REPO_MIRROR_INTERVAL": 600,
            "REPO_MIRROR_TLS_VERIFY": false,
            "REGISTRY_TITLE": "Mine",
        });
        let kept = BTreeMap::from([
            ("SECRET_KEY".to_owned(), "generated".to_owned()),
            (PSK_KEY.to_owned(), "psk".to_owned()),
        ]);
        let c = comps(json!([
            {"kind": "mirror", "managed": true},
            {"kind": "route", "managed": true},
            {"kind": "clair", "managed": true},
        ]));
        let out = config(user.as_object().unwrap(), &c, &registry(&kept, false));
        assert_eq!(out["PREFERRED_URL_SCHEME"], "https");
        assert_eq!(out["EXTERNAL_TLS_TERMINATION"], true);
        assert_eq!(out["FEATURE_REPO_MIRROR"], true);
        assert_eq!(out["REPO_MIRROR_INTERVAL"], 30);
        assert_eq!(out["REPO_MIRROR_TLS_VERIFY"], true);
        assert_eq!(
            out["SECURITY_SCANNER_V4_ENDPOINT"],
            "http://registry-clair-app.quay.svc.cluster.local"
        );
        assert_eq!(out["SECURITY_SCANNER_V4_PSK"], "psk");
        assert_eq!(out["SECRET_KEY"], "generated");
        assert_eq!(out["REGISTRY_TITLE"], "Mine", "base values never override");
        assert_eq!(out["SETUP_COMPLETE"], true);
    }

    #[test]
    fn unmanaged_components_leave_the_users_values() {
        let user = json!({"PREFERRED_URL_SCHEME": "http", "REPO_MIRROR_INTERVAL": 600});
        let kept = BTreeMap::new();
        let c = comps(json!([
            {"kind": "mirror", "managed": false},
            {"kind": "route", "managed": false},
        ]));
        let out = config(user.as_object().unwrap(), &c, &registry(&kept, true));
        assert_eq!(out["PREFERRED_URL_SCHEME"], "http");
        assert_eq!(out["REPO_MIRROR_INTERVAL"], 600);
        assert!(!out.contains_key("EXTERNAL_TLS_TERMINATION"));
    }

    #[test]
    fn certificates_leave_the_config_secret() {
        let bundle = BTreeMap::from([
            ("config.yaml".to_owned(), b"{}".to_vec()),
            ("ssl.cert".to_owned(), b"c".to_vec()),
            ("ssl.key".to_owned(), b"k".to_vec()),
            ("extra_ca_cert_corp.crt".to_owned(), b"ca".to_vec()),
            ("clair-config.yaml".to_owned(), b"x".to_vec()),
        ]);
        let data = secret_data(&bundle, &Map::new());
        let keys: Vec<&str> = data.keys().map(String::as_str).collect();
        assert_eq!(keys, ["clair-config.yaml", "config.yaml"]);
    }
}
