//! The operator's own Deployment `quay-operator`: created once with the model's version, then
//! watched; its `QUAY_VERSION` env (or, without it, its image tag) is the version the model
//! deploys. A change (an OLM upgrade, or a patch by the provider) is published to every
//! controller and triggers a reconcile of every `QuayRegistry`.
//!
//! Not modelled: the operator pod restarting on a change (the model switches in place), the
//! CSV's `quay-version` annotation (the env is read directly), `RELATED_IMAGE_*` envs. A value
//! that is not a catalogue version is ignored with a warning: a real operator with an unknown
//! version would not start either.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use serde_json::json;
use tokio::sync::{mpsc, watch as watch_channel};
use tokio_stream::StreamExt as _;

use super::context::{Context, FIELD_MANAGER, OPERATOR_DEPLOYMENT};
use crate::quay::{Catalogue, QuayVersion};

/// The operator Deployment's manifest for `version`.
#[must_use]
pub fn manifest(namespace: &str, version: QuayVersion) -> serde_json::Value {
    let labels = json!({"name": OPERATOR_DEPLOYMENT});
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": OPERATOR_DEPLOYMENT, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{
                    "name": "quay-operator",
                    "image": crate::sim::olm::catalogue::operator_image(&version.to_string()),
                    "env": [{"name": "QUAY_VERSION", "value": version.to_string()}],
                }]},
            },
        },
    })
}

/// The version a Deployment carries: `QUAY_VERSION` of its first container, else its image
/// tag; `None` when neither is a catalogue version.
#[must_use]
pub fn version_of(deployment: &Deployment) -> Option<QuayVersion> {
    let container = deployment
        .spec
        .as_ref()?
        .template
        .spec
        .as_ref()?
        .containers
        .first()?;
    let from_env = container
        .env
        .iter()
        .flatten()
        .find(|e| e.name == "QUAY_VERSION")
        .and_then(|e| e.value.as_deref());
    let from_image = container
        .image
        .as_deref()
        .and_then(|i| i.rsplit_once(':'))
        .map(|(_, tag)| tag);
    let version: QuayVersion = from_env.or(from_image)?.parse().ok()?;
    Catalogue::builtin().release(&version).ok()?;
    Some(version)
}

/// Creates the namespace and the Deployment unless they exist; returns the version the
/// Deployment carries (an existing one keeps its own).
///
/// # Errors
/// The API error of a failed read or create.
pub async fn ensure(
    client: &kube::Client,
    namespace: &str,
    version: QuayVersion,
) -> Result<QuayVersion, kube::Error> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": namespace}}))
        .expect("a namespace with only a name is a valid Namespace");
    match namespaces.create(&PostParams::default(), &ns).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(err) => return Err(err),
    }
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    if let Some(existing) = deployments.get_opt(OPERATOR_DEPLOYMENT).await? {
        return Ok(version_of(&existing).unwrap_or(version));
    }
    deployments
        .patch(
            OPERATOR_DEPLOYMENT,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(manifest(namespace, version)),
        )
        .await?;
    Ok(version)
}

/// Watches the operator Deployment and publishes version changes.
pub async fn watch(
    ctx: Arc<Context>,
    version: watch_channel::Sender<QuayVersion>,
    trigger: mpsc::Sender<()>,
) {
    let api: Api<Deployment> = Api::namespaced(ctx.client.clone(), &ctx.opts.namespace);
    let config = watcher::Config::default().fields(&format!("metadata.name={OPERATOR_DEPLOYMENT}"));
    let mut events = Box::pin(watcher(api, config));
    while let Some(event) = events.next().await {
        let deployment = match event {
            Ok(watcher::Event::Apply(d) | watcher::Event::InitApply(d)) => d,
            Ok(_) => continue,
            Err(err) => {
                tracing::debug!(site = %ctx.site, %err, "operator deployment watch; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                continue;
            }
        };
        match version_of(&deployment) {
            Some(v) if v != *version.borrow() => {
                tracing::info!(site = %ctx.site, version = %v, "operator version changed");
                version.send_replace(v);
                // A full channel already holds a pending trigger, which is enough.
                let _ = trigger.try_send(());
            }
            Some(_) => {}
            None => tracing::warn!(
                site = %ctx.site,
                "operator deployment carries no catalogue version; keeping {}",
                *version.borrow()
            ),
        }
        ctx.reconciles.record(OPERATOR_DEPLOYMENT);
    }
}
