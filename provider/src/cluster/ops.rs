//! Requests on one [`Cluster`]: server-side apply, read (whole or whether it exists), list,
//! delete, merge patch.
//!
//! Objects travel as `serde_json::Value` (the domain renders them so), through kube-rs's
//! dynamic API. Every request goes through [`super::retry::with_retry`].

use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::Value;
use tracing::debug;

use super::budget::Interrupted;
use super::connect::Cluster;
use super::error::Error;
use super::kind::Kind;
use super::retry::{Failure, with_retry};

/// The field manager of every write: the provider's name, so `kubectl get -o yaml
/// --show-managed-fields` shows which fields it owns.
pub const FIELD_MANAGER: &str = "terraform-provider-quay";

/// What a delete found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deleted {
    /// The object is gone (or never existed).
    Gone,
    /// The object is being deleted (finalizers or dependents still run).
    Deleting,
}

impl Cluster {
    pub(super) fn api(&self, kind: &Kind, namespace: Option<&str>) -> Api<DynamicObject> {
        let resource = kind.api_resource();
        match namespace {
            Some(ns) if kind.namespaced => Api::namespaced_with(self.client.clone(), ns, &resource),
            _ => Api::all_with(self.client.clone(), &resource),
        }
    }

    /// The error of a request that failed after its retries, or ran out of budget.
    pub(super) fn failed(&self, action: &'static str, object: String, failure: Failure) -> Error {
        let cluster = self.key.clone();
        match failure {
            Failure::Kube(source) => Error::Api {
                cluster,
                action,
                object,
                source: Box::new(source),
            },
            Failure::Interrupted(Interrupted::Deadline) => Error::Deadline {
                cluster,
                action,
                object,
            },
            Failure::Interrupted(Interrupted::Stopped) => Error::Stopped {
                cluster,
                what: format!("{action} {object}"),
            },
        }
    }

    /// Applies `manifest` with server-side apply (field manager [`FIELD_MANAGER`], forcing
    /// ownership of the fields it sets) and returns the object as stored.
    ///
    /// # Errors
    ///
    /// [`Error::BadManifest`] when the manifest lacks a known `apiVersion`/`kind` or a name;
    /// [`Error::Api`] when the cluster refuses it.
    pub async fn apply(&self, manifest: &Value) -> Result<Value, Error> {
        let (kind, namespace, name) = identify(manifest)?;
        let object = kind.describe(namespace.as_deref(), &name);
        debug!(cluster = %self.key, %object, "server-side apply");
        let api = self.api(&kind, namespace.as_deref());
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let patch = Patch::Apply(manifest);
        let stored = with_retry(&object, || api.patch(&name, &params, &patch))
            .await
            .map_err(|e| self.failed("apply", object.clone(), e))?;
        to_value(stored, &object)
    }

    /// Whether the cluster serves `kind` (its API group/version lists the resource): false for
    /// Routes on a cluster that is not OpenShift, or QuayRegistry before the operator's CRD.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] when discovery itself fails.
    pub async fn serves(&self, kind: &Kind) -> Result<bool, Error> {
        let what = format!("API {}", kind.api_version);
        let client = &self.client;
        let listed = with_retry(&what, || async {
            if kind.api_version.contains('/') {
                client.list_api_group_resources(kind.api_version).await
            } else {
                client.list_core_api_resources(kind.api_version).await
            }
        })
        .await;
        match listed {
            Ok(list) => Ok(list.resources.iter().any(|r| r.name == kind.plural)),
            Err(Failure::Kube(kube::Error::Api(status))) if status.code == 404 => Ok(false),
            Err(e) => Err(self.failed("discover", what, e)),
        }
    }

    /// Reads one object; `None` when it does not exist.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] when the cluster cannot be read.
    pub async fn get(
        &self,
        kind: &Kind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, Error> {
        let object = kind.describe(namespace, name);
        let api = self.api(kind, namespace);
        let found = with_retry(&object, || api.get_opt(name))
            .await
            .map_err(|e| self.failed("read", object.clone(), e))?;
        found.map(|o| to_value(o, &object)).transpose()
    }

    /// Whether one object exists, read as its metadata only (`PartialObjectMetadata`): the
    /// API server leaves the rest out, so knowing that a Secret exists does not fetch the
    /// secrets in it.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] when the cluster cannot be read.
    pub async fn exists(
        &self,
        kind: &Kind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<bool, Error> {
        let object = kind.describe(namespace, name);
        let api = self.api(kind, namespace);
        let found = with_retry(&object, || api.get_metadata_opt(name))
            .await
            .map_err(|e| self.failed("read", object.clone(), e))?;
        Ok(found.is_some())
    }

    /// Whether any object of `kind` in `namespace` matches `label_selector`, read as metadata
    /// only and at most one object: a question about Secrets fetches none of their data.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] when the cluster cannot be read.
    pub async fn any_matching(
        &self,
        kind: &Kind,
        namespace: Option<&str>,
        label_selector: &str,
    ) -> Result<bool, Error> {
        let what = format!("{} matching {label_selector:?}", kind.plural);
        let api = self.api(kind, namespace);
        let params = ListParams::default().labels(label_selector).limit(1);
        let list = with_retry(&what, || api.list_metadata(&params))
            .await
            .map_err(|e| self.failed("list", what.clone(), e))?;
        Ok(!list.items.is_empty())
    }

    /// Lists objects of `kind` (in `namespace`, or everywhere) matching `label_selector`
    /// (empty for all).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] when the cluster cannot be read.
    pub async fn list(
        &self,
        kind: &Kind,
        namespace: Option<&str>,
        label_selector: &str,
    ) -> Result<Vec<Value>, Error> {
        let what = format!("{} matching {label_selector:?}", kind.plural);
        let api = self.api(kind, namespace);
        let params = ListParams::default().labels(label_selector);
        let list = with_retry(&what, || api.list(&params))
            .await
            .map_err(|e| self.failed("list", what.clone(), e))?;
        list.items.into_iter().map(|o| to_value(o, &what)).collect()
    }

    /// Deletes an object in the background (dependents are collected by the cluster).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] when the cluster refuses; a missing object is not an error.
    pub async fn delete(
        &self,
        kind: &Kind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Deleted, Error> {
        let object = kind.describe(namespace, name);
        debug!(cluster = %self.key, %object, "delete");
        let api = self.api(kind, namespace);
        let params = DeleteParams::background();
        match with_retry(&object, || api.delete(name, &params)).await {
            // API servers answer a delete with the object (most kinds) or a Status; the
            // object is still there only when finalizers hold it.
            Ok(either) => Ok(match either.left() {
                Some(object)
                    if object
                        .metadata
                        .finalizers
                        .as_ref()
                        .is_some_and(|f| !f.is_empty()) =>
                {
                    Deleted::Deleting
                }
                _ => Deleted::Gone,
            }),
            Err(Failure::Kube(kube::Error::Api(status))) if status.is_not_found() => {
                Ok(Deleted::Gone)
            }
            Err(e) => Err(self.failed("delete", object, e)),
        }
    }

    /// Applies a JSON merge patch to an object (as field manager [`FIELD_MANAGER`]).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] when the cluster refuses, including 404 for a missing object.
    pub async fn merge_patch(
        &self,
        kind: &Kind,
        namespace: Option<&str>,
        name: &str,
        patch: &Value,
    ) -> Result<Value, Error> {
        let object = kind.describe(namespace, name);
        let api = self.api(kind, namespace);
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PatchParams::default()
        };
        let patch = Patch::Merge(patch);
        let stored = with_retry(&object, || api.patch(name, &params, &patch))
            .await
            .map_err(|e| self.failed("patch", object.clone(), e))?;
        to_value(stored, &object)
    }
}

/// The kind, namespace and name of a manifest.
pub(super) fn identify(manifest: &Value) -> Result<(Kind, Option<String>, String), Error> {
    let field = |path: &[&str]| {
        path.iter()
            .try_fold(manifest, |v, key| v.get(key))
            .and_then(Value::as_str)
    };
    let api_version = field(&["apiVersion"]).unwrap_or_default();
    let kind_name = field(&["kind"]).unwrap_or_default();
    let kind = Kind::of(api_version, kind_name).ok_or_else(|| Error::BadManifest {
        what: format!("apiVersion {api_version:?} kind {kind_name:?}"),
    })?;
    let name = field(&["metadata", "name"])
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Error::BadManifest {
            what: format!("{kind_name} without metadata.name"),
        })?;
    let namespace = field(&["metadata", "namespace"]).map(str::to_owned);
    if kind.namespaced && namespace.is_none() {
        return Err(Error::BadManifest {
            what: format!("{kind_name} {name} without metadata.namespace"),
        });
    }
    Ok((kind, namespace, name.to_owned()))
}

fn to_value(object: DynamicObject, what: &str) -> Result<Value, Error> {
    serde_json::to_value(object).map_err(|e| Error::BadManifest {
        what: format!("{what} could not be read back: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn manifests_are_identified_by_api_version_kind_and_name() {
        let m = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "b", "namespace": "q"}});
        let (kind, ns, name) = identify(&m).unwrap();
        assert_eq!(
            (kind, ns.as_deref(), name.as_str()),
            (Kind::SECRET, Some("q"), "b")
        );
        let ns_obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "q"}});
        assert!(identify(&ns_obj).is_ok());
    }

    #[test]
    fn manifests_without_namespace_or_known_kind_are_refused() {
        let no_ns = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "b"}});
        assert!(matches!(identify(&no_ns), Err(Error::BadManifest { .. })));
        let unknown = json!({"apiVersion": "v9", "kind": "Gadget", "metadata": {"name": "b"}});
        assert!(matches!(identify(&unknown), Err(Error::BadManifest { .. })));
    }
}
