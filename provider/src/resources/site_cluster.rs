//! What `resource "quay_georep_site"` checks and cleans on the cluster around an apply.
//!
//! - [`preflight`], before anything is written: the operator's API is served; a managed Route
//!   has the Route API; a managed `monitoring` has what the operator requires for it (upstream
//!   `controllers/quay/features.go`, `checkMonitoringAvailable`): the Prometheus Operator's
//!   `monitoring.coreos.com/v1` `ServiceMonitor` and `PrometheusRule` APIs, and the operator
//!   installed for all namespaces. The install mode is read from the copy of the operator's
//!   CSV that OLM puts in the site's namespace: its `olm.targetNamespaces` annotation is empty
//!   only in AllNamespaces mode. Without such a CSV (an operator installed without OLM, or a
//!   namespace not created yet) the install mode cannot be seen, and the operator itself
//!   reports `MonitoringComponentDependencyError`, which the wait surfaces.
//! - [`remove_operator_hpas`], after the apply: the site declares the `horizontalpodautoscaler`
//!   component unmanaged (its replicas are explicit), but the operator never deletes the
//!   HorizontalPodAutoscalers it made while the component was managed (upstream
//!   `controllers/quay/quayregistry_controller.go` deletes only old config Secrets), and a
//!   leftover HPA keeps scaling its Deployment back into `[minReplicas, maxReplicas]`, fighting
//!   the site's replicas. The operator-made ones (labelled with the registry and owned by it)
//!   are deleted.

use serde_json::Value as Json;
use tracing::info;

use super::convert::{cluster_detail, cluster_error};
use crate::cluster::{Cluster, Kind};
use crate::georep::site::Site;
use crate::tfvalue::{AttributePath, Diagnostic, Diagnostics};

/// The label the operator puts on every object of a registry.
const REGISTRY_LABEL: &str = "quay-operator/quayregistry";
/// OLM's annotation on a CSV naming the namespaces its operator watches (empty: all).
const TARGET_NAMESPACES: &str = "olm.targetNamespaces";

/// Refuses what cannot work on this cluster before anything is written.
///
/// # Errors
///
/// The first problem found, as an error diagnostic that says what to change.
pub(super) async fn preflight(cluster: &Cluster, site: &Site) -> Result<(), Diagnostic> {
    let unavailable = |err: crate::cluster::Error| cluster_error("Cluster Unavailable", &err);
    if !cluster
        .serves(&Kind::QUAY_REGISTRY)
        .await
        .map_err(unavailable)?
    {
        return Err(Diagnostic::error(
            "Quay Operator Not Installed",
            format!(
                "cluster {:?} does not serve quay.redhat.com/v1 QuayRegistry: install the Quay \
                 Operator there first; nothing was created",
                cluster.key()
            ),
        ));
    }
    if site.is_route_managed() && !cluster.serves(&Kind::ROUTE).await.map_err(unavailable)? {
        return Err(Diagnostic::error(
            "Routes Not Available",
            format!(
                "cluster {:?} has no route.openshift.io API, so the operator cannot manage a \
                 Route: set route {{ managed = false }} and a tls block, and serve \
                 SERVER_HOSTNAME with your own ingress or load balancer; nothing was created",
                cluster.key()
            ),
        )
        .with_attribute(AttributePath::root().attr("route")));
    }
    if site.monitoring() {
        monitoring(cluster, site).await?;
    }
    Ok(())
}

/// The checks of a managed `monitoring` component.
async fn monitoring(cluster: &Cluster, site: &Site) -> Result<(), Diagnostic> {
    let unavailable = |err: crate::cluster::Error| cluster_error("Cluster Unavailable", &err);
    let at = AttributePath::root().attr("monitoring");
    for kind in [Kind::SERVICE_MONITOR, Kind::PROMETHEUS_RULE] {
        if !cluster.serves(&kind).await.map_err(unavailable)? {
            return Err(Diagnostic::error(
                "Prometheus API Not Available",
                format!(
                    "monitoring = true, but cluster {:?} does not serve {} {}, which the \
                     operator needs for a managed monitoring component (it would block the \
                     rollout with MonitoringComponentDependencyError); enable cluster \
                     monitoring (the Prometheus Operator) there, or set monitoring = false; \
                     nothing was created",
                    cluster.key(),
                    kind.api_version,
                    kind.kind
                ),
            )
            .with_attribute(at.clone()));
        }
    }
    if !cluster
        .serves(&Kind::CLUSTER_SERVICE_VERSION)
        .await
        .map_err(unavailable)?
    {
        return Ok(());
    }
    let namespace = site.namespace().as_str();
    let csvs = cluster
        .list(&Kind::CLUSTER_SERVICE_VERSION, Some(namespace), "")
        .await
        .map_err(unavailable)?;
    let watched = csvs
        .iter()
        .filter(|csv| {
            csv.pointer("/metadata/name")
                .and_then(Json::as_str)
                .is_some_and(|n| n.starts_with("quay-operator."))
        })
        .find_map(|csv| {
            csv.pointer("/metadata/annotations")
                .and_then(|a| a.get(TARGET_NAMESPACES))
                .and_then(Json::as_str)
                .filter(|targets| !targets.is_empty())
        });
    match watched {
        None => Ok(()),
        Some(targets) => Err(Diagnostic::error(
            "Operator Not Installed for All Namespaces",
            format!(
                "monitoring = true, but the Quay Operator on cluster {:?} watches only \
                 {targets:?} (its OperatorGroup's target namespaces), and the operator runs the \
                 monitoring component only when installed for all namespaces (\"monitoring is \
                 only supported in AllNamespaces mode\"); install it in AllNamespaces mode \
                 (openshift-operators), or set monitoring = false; nothing was created",
                cluster.key()
            ),
        )
        .with_attribute(at)),
    }
}

/// Deletes the HorizontalPodAutoscalers the operator made for this site's registry; a failure
/// is a warning (the site works, but the HPA keeps overriding its replicas).
pub(super) async fn remove_operator_hpas(cluster: &Cluster, site: &Site, diags: &mut Diagnostics) {
    let namespace = site.namespace().as_str();
    let name = site.name().as_str();
    let kind = Kind::HORIZONTAL_POD_AUTOSCALER;
    let selector = format!("{REGISTRY_LABEL}={name}");
    let listed = match cluster.serves(&kind).await {
        Ok(false) => return,
        Ok(true) => cluster.list(&kind, Some(namespace), &selector).await,
        Err(err) => Err(err),
    };
    let hpas = match listed {
        Ok(hpas) => hpas,
        Err(err) => {
            diags.push(Diagnostic::warning(
                "Leftover Autoscalers Not Checked",
                format!(
                    "could not list the operator's HorizontalPodAutoscalers of {}; any left from \
                     a managed horizontalpodautoscaler component keep overriding the site's \
                     replicas: {}",
                    site.id(),
                    cluster_detail(&err)
                ),
            ));
            return;
        }
    };
    for hpa in hpas.iter().filter(|hpa| owned_by_registry(hpa, name)) {
        let Some(hpa_name) = hpa.pointer("/metadata/name").and_then(Json::as_str) else {
            continue;
        };
        info!(site = %site.id(), hpa = hpa_name, "deleting the operator's leftover HorizontalPodAutoscaler");
        if let Err(err) = cluster.delete(&kind, Some(namespace), hpa_name).await {
            diags.push(Diagnostic::warning(
                "Leftover Autoscaler Not Removed",
                format!(
                    "HorizontalPodAutoscaler {namespace}/{hpa_name}, made by the operator while \
                     the horizontalpodautoscaler component was managed, keeps overriding the \
                     site's replicas; delete it by hand: {}",
                    cluster_detail(&err)
                ),
            ));
        }
    }
}

/// Whether `object` is owned by the `QuayRegistry` `name`.
fn owned_by_registry(object: &Json, name: &str) -> bool {
    object
        .pointer("/metadata/ownerReferences")
        .and_then(Json::as_array)
        .is_some_and(|owners| {
            owners
                .iter()
                .any(|o| o["kind"] == "QuayRegistry" && o["name"] == name)
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_hpas_owned_by_the_registry_count_as_the_operators() {
        let hpa = |owner: &str| {
            json!({"metadata": {"name": "registry-quay-app", "ownerReferences": [
                {"apiVersion": "quay.redhat.com/v1", "kind": "QuayRegistry", "name": owner}
            ]}})
        };
        assert!(owned_by_registry(&hpa("registry"), "registry"));
        assert!(!owned_by_registry(&hpa("other"), "registry"));
        assert!(!owned_by_registry(
            &json!({"metadata": {"name": "x"}}),
            "registry"
        ));
    }
}
