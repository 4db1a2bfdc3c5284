//! Deleting the registry's previous rendered config Secrets, as the real operator does
//! (upstream `controllers/quay/quayregistry_controller.go`: `GetOldConfigBundleSecrets`,
//! `quayAppDeploymentRolledOut`, `cleanupPreviousSecrets`).
//!
//! Every `<name>-quay-config-secret*` Secret in the namespace other than the one just
//! rendered (and the user's bundle, should it carry that prefix) is deleted, but only once
//! the quay-app Deployment has rolled out (every desired replica updated and available, at
//! the observed generation; no Deployment yet counts as rolled out), so no pod is left
//! unable to mount its config (PROJQUAY-9157).

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams};

/// The rendered config Secrets of `registry` in `names` that are stale: prefixed
/// `<registry>-quay-config-secret`, neither `current` nor `bundle`.
#[must_use]
pub fn stale(registry: &str, bundle: &str, current: &str, names: &[String]) -> Vec<String> {
    let prefix = format!("{registry}-quay-config-secret");
    names
        .iter()
        .filter(|n| n.starts_with(&prefix) && *n != current && *n != bundle)
        .cloned()
        .collect()
}

/// Whether the quay-app Deployment has rolled out (see the module doc).
#[must_use]
pub fn rolled_out(quay_app: Option<&Deployment>) -> bool {
    let Some(d) = quay_app else {
        return true;
    };
    let status = d.status.clone().unwrap_or_default();
    if status.observed_generation.unwrap_or(0) < d.metadata.generation.unwrap_or(0) {
        return false;
    }
    let desired = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    status.updated_replicas.unwrap_or(0) == desired
        && status.available_replicas.unwrap_or(0) == desired
}

/// Deletes the stale rendered config Secrets of `registry` once quay-app has rolled out.
///
/// # Errors
/// Reading the Deployment, listing or deleting Secrets failed.
pub async fn delete_stale(
    client: &kube::Client,
    ns: &str,
    registry: &str,
    bundle: &str,
    current: &str,
) -> Result<(), kube::Error> {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let quay_app = deployments.get_opt(&format!("{registry}-quay-app")).await?;
    if !rolled_out(quay_app.as_ref()) {
        return Ok(());
    }
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let names: Vec<String> = secrets
        .list_metadata(&ListParams::default())
        .await?
        .items
        .iter()
        .map(ResourceExt::name_any)
        .collect();
    for name in stale(registry, bundle, current, &names) {
        match secrets.delete(&name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_other_rendered_config_secrets_of_the_registry_are_stale() {
        let names: Vec<String> = [
            "r-quay-config-secret-aaaa",
            "r-quay-config-secret-bbbb",
            "r-quay-registry-managed-secret-keys",
            "other-quay-config-secret-cccc",
            "bundle",
        ]
        .map(str::to_owned)
        .to_vec();
        assert_eq!(
            stale("r", "bundle", "r-quay-config-secret-bbbb", &names),
            ["r-quay-config-secret-aaaa"]
        );
    }

    #[test]
    fn cleanup_waits_for_the_quay_app_rollout() {
        let deployment = |generation: i64, observed: i64, updated: i32, available: i32| {
            serde_json::from_value::<Deployment>(json!({
                "metadata": {"name": "r-quay-app", "generation": generation},
                "spec": {"replicas": 2, "selector": {}, "template": {}},
                "status": {"observedGeneration": observed, "updatedReplicas": updated,
                           "availableReplicas": available},
            }))
            .unwrap()
        };
        assert!(rolled_out(None));
        assert!(rolled_out(Some(&deployment(3, 3, 2, 2))));
        assert!(!rolled_out(Some(&deployment(3, 2, 2, 2))));
        assert!(!rolled_out(Some(&deployment(3, 3, 1, 2))));
        assert!(!rolled_out(Some(&deployment(3, 3, 2, 1))));
    }
}
