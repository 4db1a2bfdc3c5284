//! The config bundle the real operator creates when `spec.configBundleSecret` is empty
//! (upstream `controllers/quay/quayregistry_controller.go`, `createInitialBundleSecret`; the
//! settings follow `pkg/kustomize/secrets.go`, `BaseQuayConfig`): a Secret
//! `<name>-config-bundle-<random>` owned by the registry, holding a base `config.yaml`, and
//! `spec.configBundleSecret` set to its name; the next reconcile proceeds with it.

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::{Resource as _, ResourceExt as _};
use serde_json::{Value, json};

/// The base `config.yaml`: the operator's defaults, with the upstream (not Red Hat) branding.
#[must_use]
pub fn base_config() -> Value {
    json!({
        "SETUP_COMPLETE": true,
        "FEATURE_MAILING": false,
        "REGISTRY_TITLE": "Quay",
        "REGISTRY_TITLE_SHORT": "Quay",
        "AUTHENTICATION_TYPE": "Database",
        "ENTERPRISE_LOGO_URL": "/static/img/quay-horizontal-color.svg",
        "DEFAULT_TAG_EXPIRATION": "2w",
        "ALLOW_PULLS_WITHOUT_STRICT_LOGGING": false,
        "TAG_EXPIRATION_OPTIONS": ["2w"],
        "TEAM_RESYNC_STALE_TIME": "60m",
        "FEATURE_DIRECT_LOGIN": true,
        "FEATURE_BUILD_SUPPORT": false,
        "TESTING": false,
    })
}

/// Creates the base bundle for `reg` and points `spec.configBundleSecret` at it; returns
/// the bundle's name.
///
/// # Errors
/// Creating the Secret or updating the registry failed.
pub async fn create(
    client: &kube::Client,
    registries: &Api<DynamicObject>,
    reg: &DynamicObject,
) -> Result<String, kube::Error> {
    use base64::Engine as _;
    let ns = reg.namespace().unwrap_or_default();
    let name = reg.name_any();
    let config = base64::engine::general_purpose::STANDARD.encode(base_config().to_string());
    let owner = reg.controller_owner_ref(&crate::quay::quay_registry_resource());
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {
            "generateName": format!("{name}-config-bundle-"),
            "namespace": ns,
            "ownerReferences": owner.into_iter().collect::<Vec<_>>(),
        },
        "data": {"config.yaml": config},
    }))
    .map_err(kube::Error::SerdeError)?;
    let created = Api::<Secret>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &secret)
        .await?;
    let bundle = created.name_any();
    let patch = json!({"spec": {"configBundleSecret": bundle}});
    registries
        .patch(&name, &PatchParams::default(), &Patch::Merge(patch))
        .await?;
    Ok(bundle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_config_needs_no_user_input() {
        let config = base_config();
        assert_eq!(config["SETUP_COMPLETE"], true);
        assert_eq!(config["AUTHENTICATION_TYPE"], "Database");
        assert!(config.get("SERVER_HOSTNAME").is_none());
    }
}
