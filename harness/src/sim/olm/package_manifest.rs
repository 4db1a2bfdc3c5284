//! The PackageManifest of the Quay package: what the catalog offers, per channel its head.
//!
//! On a real cluster OLM's package server (operator-lifecycle-manager,
//! `pkg/package-server/provider/registry.go`, types in
//! `pkg/package-server/apis/operators/v1/packagemanifest_types.go`) serves one PackageManifest
//! per package and catalog, named after the package, labelled `catalog` and
//! `catalog-namespace`, visible in every namespace for the global catalogs; `status.channels[]`
//! carry each channel's head as `currentCSV` and `currentCSVDesc` (version, annotations). It
//! is an aggregated, read-only API computed from the catalog. The model writes the one package
//! it knows into the namespace of each Subscription of it, from the model's current catalogue
//! (so a published patch shows at the next reconcile); it serves no other package, no icons,
//! install modes or related images.

use kube::api::{DynamicObject, ResourceExt as _};
use serde_json::{Value, json};

use super::catalogue::{Catalogue, PACKAGE};
use super::csv::QUAY_VERSION_ANNOTATION;
use super::shared::{Error, PACKAGE_MANIFEST, api_error, apply, package_manifest_api, str_at};

/// The `apiVersion` of PackageManifest.
pub const API_VERSION: &str = "packages.operators.coreos.com/v1";

/// The PackageManifest of `cat` as seen from `namespace` for the catalog `source` in
/// `source_namespace`.
#[must_use]
pub fn manifest(cat: &Catalogue, namespace: &str, source: &str, source_namespace: &str) -> Value {
    let channels: Vec<Value> = cat
        .channels()
        .iter()
        .filter_map(|c| {
            let head = c.entries.last()?;
            Some(json!({
                "name": c.name,
                "currentCSV": head.csv,
                "currentCSVDesc": {
                    "displayName": "Red Hat Quay",
                    "version": head.version,
                    "annotations": {QUAY_VERSION_ANNOTATION: head.version},
                },
            }))
        })
        .collect();
    let default_channel = cat.channels().last().map(|c| c.name.clone());
    json!({
        "apiVersion": API_VERSION, "kind": PACKAGE_MANIFEST.0,
        "metadata": {
            "name": PACKAGE, "namespace": namespace,
            "labels": {"catalog": source, "catalog-namespace": source_namespace},
        },
        "spec": {},
        "status": {
            "catalogSource": source, "catalogSourceNamespace": source_namespace,
            "packageName": PACKAGE, "defaultChannel": default_channel, "channels": channels,
        },
    })
}

/// Writes the PackageManifest `namespace` sees for catalog `source_namespace/source`, unless
/// it is current.
///
/// # Errors
/// [`Error::Api`] when the read or the write fails.
pub(crate) async fn write(
    client: &kube::Client,
    namespace: &str,
    source: &str,
    source_namespace: &str,
    cat: &Catalogue,
) -> Result<(), Error> {
    let wanted = manifest(cat, namespace, source, source_namespace);
    let api = package_manifest_api(client, namespace);
    let current = api.get_opt(PACKAGE).await.map_err(api_error(
        "read",
        format!("{} {namespace}/{PACKAGE}", PACKAGE_MANIFEST.0),
    ))?;
    let fresh = current.as_ref().is_some_and(|m| {
        m.data.get("status") == wanted.get("status")
            && m.metadata.labels.as_ref().map(|l| json!(l)).as_ref()
                == Some(&wanted["metadata"]["labels"])
    });
    if !fresh {
        apply(&api, PACKAGE_MANIFEST, PACKAGE, &wanted).await?;
    }
    Ok(())
}

/// Writes the PackageManifest `sub`'s namespace sees for its catalog, unless it is current.
///
/// # Errors
/// [`Error::Api`] when the read or the write fails.
pub(crate) async fn ensure(
    client: &kube::Client,
    sub: &DynamicObject,
    cat: &Catalogue,
) -> Result<(), Error> {
    let namespace = sub.namespace().unwrap_or_default();
    let source = str_at(sub, &["spec", "source"]).unwrap_or_default();
    let source_namespace = str_at(sub, &["spec", "sourceNamespace"]).unwrap_or_default();
    write(client, &namespace, source, source_namespace, cat).await
}

/// Writes, in `namespace`, the PackageManifest a second catalog `source_namespace/source`
/// serves for the same package, such as a mirrored CatalogSource of a disconnected cluster.
///
/// OLM's package server serves one PackageManifest per package and catalog, all named after
/// the package; the simulated API server keeps one object per name, so this one is named
/// `<package>.<source>` (its `status.packageName` is the package's).
///
/// # Errors
/// [`Error::Api`] when the write fails.
pub(crate) async fn write_second_catalog(
    client: &kube::Client,
    namespace: &str,
    source: &str,
    source_namespace: &str,
    cat: &Catalogue,
) -> Result<(), Error> {
    let name = format!("{PACKAGE}.{source}");
    let mut wanted = manifest(cat, namespace, source, source_namespace);
    wanted["metadata"]["name"] = json!(name);
    apply(
        &package_manifest_api(client, namespace),
        PACKAGE_MANIFEST,
        &name,
        &wanted,
    )
    .await
    .map(|_| ())
}
