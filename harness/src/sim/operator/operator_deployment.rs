//! The operator's own Deployment (`quay-operator`, or the CSV's `quay-operator-tng` under
//! OLM): created once with the model's version unless it exists, then watched. It is built
//! like the CSV's Deployment (`bundle/manifests/quay-operator.clusterserviceversion.yaml`):
//! `QUAY_VERSION` comes through `valueFrom.fieldRef` from the pod template annotation
//! `quay-version` (OLM copies the CSV's annotations there), and the component images from `RELATED_IMAGE_COMPONENT_*` env vars
//! ([`super::images`]). Its version (`QUAY_VERSION` as a value or through the annotation, or,
//! without it, its image tag) is the version the model migrates to; its images are what the
//! model deploys. A change of either (an OLM upgrade, or a patch by the provider) is
//! published to every controller and triggers a reconcile of every `QuayRegistry`.
//!
//! The Deployment is the one [`OperatorOptions::deployment`](super::OperatorOptions) names:
//! `quay-operator` when the model creates it, the CSV's `quay-operator-tng` when the simulated
//! OLM installed it.
//!
//! Not modelled: the operator pod restarting on a change (the model switches in place). A value
//! that is not a catalogue version is ignored with a warning: a real operator with an unknown
//! version would not start either.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, Namespace};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use serde_json::json;
use tokio::sync::{mpsc, watch as watch_channel};
use tokio_stream::StreamExt as _;

use super::context::{Context, FIELD_MANAGER, OPERATOR_DEPLOYMENT};
use super::images::{self, ComponentImages};
use crate::quay::{Catalogue, QuayVersion};

/// The pod template annotation `QUAY_VERSION` is read from, as the CSV has it.
pub const QUAY_VERSION_ANNOTATION: &str = "quay-version";

/// The operator Deployment's manifest for `version`.
#[must_use]
pub fn manifest(namespace: &str, version: QuayVersion) -> serde_json::Value {
    let labels = json!({"name": OPERATOR_DEPLOYMENT});
    let mut env = vec![json!({"name": "QUAY_VERSION", "valueFrom": {"fieldRef": {
        "fieldPath": format!("metadata.annotations['{QUAY_VERSION_ANNOTATION}']"),
    }}})];
    env.extend(images::release_env(version));
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": OPERATOR_DEPLOYMENT, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": {QUAY_VERSION_ANNOTATION: version.to_string()},
                },
                "spec": {"containers": [{
                    "name": "quay-operator",
                    "image": crate::sim::olm::catalogue::operator_image(&version.to_string()),
                    "env": env,
                }]},
            },
        },
    })
}

fn operator_container(deployment: &Deployment) -> Option<&Container> {
    let containers = &deployment.spec.as_ref()?.template.spec.as_ref()?.containers;
    containers
        .iter()
        .find(|c| c.name == "quay-operator")
        .or_else(|| containers.first())
}

/// The version a Deployment carries: `QUAY_VERSION` of its operator container (a value, or
/// the pod template annotation its `valueFrom.fieldRef` names), else its image tag; `None`
/// when neither is a catalogue version.
#[must_use]
pub fn version_of(deployment: &Deployment) -> Option<QuayVersion> {
    let container = operator_container(deployment)?;
    let annotations = deployment
        .spec
        .as_ref()?
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.annotations.as_ref());
    let from_env = container
        .env
        .iter()
        .flatten()
        .find(|e| e.name == "QUAY_VERSION")
        .and_then(|e| match &e.value {
            Some(value) => Some(value.as_str()),
            None => {
                let path = &e.value_from.as_ref()?.field_ref.as_ref()?.field_path;
                let key = path
                    .strip_prefix("metadata.annotations['")?
                    .strip_suffix("']")?;
                annotations?.get(key).map(String::as_str)
            }
        });
    let from_image = container
        .image
        .as_deref()
        .and_then(|i| i.rsplit_once(':'))
        .map(|(_, tag)| tag);
    let version: QuayVersion = from_env.or(from_image)?.parse().ok()?;
    Catalogue::builtin().release(&version).ok()?;
    Some(version)
}

/// The component images a Deployment's operator container names.
#[must_use]
pub fn images_of(deployment: &Deployment) -> ComponentImages {
    operator_container(deployment).map_or_else(ComponentImages::default, |c| {
        ComponentImages::from_env(
            c.env
                .iter()
                .flatten()
                .filter_map(|e| Some((e.name.as_str(), e.value.as_deref()?))),
        )
    })
}

/// Creates the namespace and the Deployment unless they exist; returns the version and
/// component images the Deployment carries (an existing one keeps its own).
///
/// # Errors
/// The API error of a failed read or create.
pub async fn ensure(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    version: QuayVersion,
) -> Result<(QuayVersion, ComponentImages), kube::Error> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": namespace}}))
        .expect("a namespace with only a name is a valid Namespace");
    match namespaces.create(&PostParams::default(), &ns).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(err) => return Err(err),
    }
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    if let Some(existing) = deployments.get_opt(name).await? {
        return Ok((
            version_of(&existing).unwrap_or(version),
            images_of(&existing),
        ));
    }
    let mut wanted = manifest(namespace, version);
    wanted["metadata"]["name"] = json!(name);
    let created = deployments
        .patch(
            name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(wanted),
        )
        .await?;
    Ok((version, images_of(&created)))
}

/// Watches the operator Deployment and publishes version changes.
pub async fn watch(
    ctx: Arc<Context>,
    version: watch_channel::Sender<QuayVersion>,
    trigger: mpsc::Sender<()>,
) {
    let api: Api<Deployment> = Api::namespaced(ctx.client.clone(), &ctx.opts.namespace);
    let config =
        watcher::Config::default().fields(&format!("metadata.name={}", ctx.opts.deployment));
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
        let images = images_of(&deployment);
        let images_changed = *Context::lock(&ctx.images) != images;
        if images_changed {
            tracing::info!(site = %ctx.site, ?images, "operator component images changed");
            *Context::lock(&ctx.images) = images;
        }
        match version_of(&deployment) {
            Some(v) if v != *version.borrow() => {
                tracing::info!(site = %ctx.site, version = %v, "operator version changed");
                version.send_replace(v);
                // A full channel already holds a pending trigger, which is enough.
                let _ = trigger.try_send(());
            }
            Some(_) if images_changed => {
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
