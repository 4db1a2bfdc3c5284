//! Objects a fresh cluster already holds besides its CRDs: a default StorageClass (kind and
//! OpenShift clusters come with one), and on OpenShift the cluster-scoped `config.openshift.io`
//! singletons clients read (`dns/cluster` for the base domain, `apiserver/cluster` for the
//! TLS security profile), served through CRDs of their own, and the monitoring stack's
//! `openshift-config-managed` namespace.
//!
//! quay-operator's Chainsaw cases read all three (`custom_storageclass` clones the default
//! StorageClass; `unmanaged_route_tls` and `tls_security_profile` read the config objects).

use serde_json::{Value, json};

use super::flavour::Flavour;
use super::store::{Store, WriteOptions};

/// The namespace OpenShift's monitoring stack reads dashboards from, which every OpenShift
/// cluster has (the Quay Operator writes its Grafana dashboard there).
pub const OPENSHIFT_CONFIG_MANAGED: &str = "openshift-config-managed";

/// The base domain `dns/cluster` reports on OpenShift-flavoured clusters.
pub const BASE_DOMAIN: &str = "sim.example.com";

fn config_crd(plural: &str, singular: &str, kind: &str) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.config.openshift.io")},
        "spec": {
            "group": "config.openshift.io",
            "scope": "Cluster",
            "names": {"plural": plural, "singular": singular, "kind": kind,
                      "listKind": format!("{kind}List")},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {
                    "type": "object", "x-kubernetes-preserve-unknown-fields": true}},
            }],
        },
    })
}

fn create(
    store: &mut Store,
    group: &str,
    plural: &str,
    object: Value,
) -> Result<(), (&'static str, String)> {
    let t = store
        .catalog
        .iter()
        .find(|t| t.group == group && t.plural == plural)
        .cloned()
        .ok_or(("seed", format!("{plural}.{group} is not served")))?;
    store
        .create(&t, "", object, &WriteOptions::default())
        .map(drop)
        .map_err(|e| ("seed", e.to_string()))
}

/// Create the flavour's default objects in `store`; with `monitoring` (OpenShift only), the
/// namespace `openshift-config-managed` too, where OpenShift's console reads dashboards (the
/// Quay Operator's monitoring check needs it: `controllers/quay/features.go`).
///
/// # Errors
/// `("seed", message)` when the store rejects one.
pub fn seed(
    store: &mut Store,
    flavour: Flavour,
    monitoring: bool,
) -> Result<(), (&'static str, String)> {
    create(
        store,
        "storage.k8s.io",
        "storageclasses",
        json!({
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": "standard", "annotations": {
                "storageclass.kubernetes.io/is-default-class": "true"}},
            // kind's default class: a dynamic provisioner, binding once a pod mounts the claim.
            "provisioner": "rancher.io/local-path",
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer",
        }),
    )?;
    if flavour != Flavour::Openshift {
        return Ok(());
    }
    if monitoring {
        create(
            store,
            "",
            "namespaces",
            json!({"apiVersion": "v1", "kind": "Namespace",
                   "metadata": {"name": OPENSHIFT_CONFIG_MANAGED}}),
        )?;
    }
    for (plural, singular, kind) in [
        ("dnses", "dns", "DNS"),
        ("apiservers", "apiserver", "APIServer"),
    ] {
        create(
            store,
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            config_crd(plural, singular, kind),
        )?;
    }
    create(
        store,
        "config.openshift.io",
        "dnses",
        json!({"apiVersion": "config.openshift.io/v1", "kind": "DNS",
               "metadata": {"name": "cluster"}, "spec": {"baseDomain": BASE_DOMAIN}}),
    )?;
    create(
        store,
        "config.openshift.io",
        "apiservers",
        json!({"apiVersion": "config.openshift.io/v1", "kind": "APIServer",
               "metadata": {"name": "cluster"}, "spec": {}}),
    )
}
