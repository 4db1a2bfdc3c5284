//! CRDs every simulated cluster starts with: QuayRegistry, plus Route and the OLM types on
//! OpenShift-flavoured clusters, and there, by default, the monitoring stack's
//! `ServiceMonitor` and `PrometheusRule` ([`load_monitoring`]).
//!
//! The YAML is compiled into the binary (`harness/src/sim/crds/`, where the provider's tests
//! read the QuayRegistry CRD too), so the harness needs no data files at
//! run time. They are created through the store like any client-created CRD.

use serde_json::{Value, json};

use super::flavour::Flavour;
use super::store::{Store, WriteOptions};

const QUAY: (&str, &str) = (
    "quayregistries.crd.yaml",
    include_str!("../crds/quayregistries.crd.yaml"),
);
const ROUTES: (&str, &str) = ("routes.crd.yaml", include_str!("../crds/routes.crd.yaml"));
const OLM: (&str, &str) = ("olm.crd.yaml", include_str!("../crds/olm.crd.yaml"));

/// The YAML text of the QuayRegistry CRD as loaded into clusters.
pub fn quay_registry_crd_yaml() -> &'static str {
    QUAY.1
}

/// Create the flavour's CRDs in `store`.
///
/// # Errors
/// `(file, message)` when a file does not parse or the store rejects a CRD.
pub fn load(store: &mut Store, flavour: Flavour, quay: bool) -> Result<(), (&'static str, String)> {
    let mut files = Vec::new();
    if quay {
        files.push(QUAY);
    }
    if flavour == Flavour::Openshift {
        files.extend([ROUTES, OLM]);
    }
    let crd_type = store
        .catalog
        .get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        .ok_or((
            "catalog",
            "customresourcedefinitions are not served".to_owned(),
        ))?;
    for (file, text) in files {
        for doc in text.split("\n---\n") {
            let value: Value = serde_saphyr::from_str(doc).map_err(|e| (file, e.to_string()))?;
            store
                .create(&crd_type, "", value, &WriteOptions::default())
                .map_err(|e| (file, e.to_string()))?;
        }
    }
    Ok(())
}

/// Create the CRDs of OpenShift's cluster monitoring stack in `store` when `monitoring`: the
/// `monitoring.coreos.com/v1` `ServiceMonitor` and `PrometheusRule` the Quay Operator looks
/// for before it runs a managed `monitoring` component (quay-operator
/// `controllers/quay/features.go`, `checkMonitoringAvailable`): [`prometheus_crds`].
///
/// # Errors
/// `("monitoring", message)` when the store rejects one.
pub fn load_monitoring(store: &mut Store, monitoring: bool) -> Result<(), (&'static str, String)> {
    if !monitoring {
        return Ok(());
    }
    let crd_type = store
        .catalog
        .get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        .ok_or((
            "catalog",
            "customresourcedefinitions are not served".to_owned(),
        ))?;
    for crd in prometheus_crds() {
        store
            .create(&crd_type, "", crd, &WriteOptions::default())
            .map_err(|e| ("monitoring", e.to_string()))?;
    }
    Ok(())
}

/// The CustomResourceDefinitions of OpenShift's monitoring stack the Quay Operator looks for:
/// `ServiceMonitor` and `PrometheusRule` in `monitoring.coreos.com/v1`, accepting any content.
#[must_use]
pub fn prometheus_crds() -> [Value; 2] {
    [
        ("servicemonitors", "ServiceMonitor"),
        ("prometheusrules", "PrometheusRule"),
    ]
    .map(|(plural, kind)| {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": format!("{plural}.monitoring.coreos.com")},
            "spec": {
                "group": "monitoring.coreos.com",
                "scope": "Namespaced",
                "names": {"plural": plural, "kind": kind, "listKind": format!("{kind}List"),
                          "singular": kind.to_lowercase()},
                "versions": [{"name": "v1", "served": true, "storage": true, "schema": {
                    "openAPIV3Schema": {"type": "object",
                                        "x-kubernetes-preserve-unknown-fields": true}}}],
            },
        })
    })
}
