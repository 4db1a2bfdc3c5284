//! What the OLM model's controllers share: its errors, the OLM kinds and their API, and the
//! writes every controller makes (status merge patches, server-side applies).

use std::time::Duration;

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};

/// The field manager of every write the model makes.
pub const FIELD_MANAGER: &str = "olm-sim";

/// A failed OLM model operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The cluster's client could not be built.
    #[error("connect the OLM model to simulated cluster {site}")]
    Connect {
        /// The site.
        site: String,
        /// The cause.
        #[source]
        source: crate::sim::apiserver::Error,
    },
    /// The cluster is not OpenShift-flavoured, so it serves no OLM types.
    #[error("simulated cluster {site} is not OpenShift-flavoured: it has no OLM")]
    NotOpenshift {
        /// The site.
        site: String,
    },
    /// An API request failed.
    #[error("{action} {object}")]
    Api {
        /// What was being done.
        action: &'static str,
        /// The object, `Kind namespace/name`.
        object: String,
        /// The cause.
        #[source]
        source: Box<kube::Error>,
    },
    /// A CSV or version the catalogue does not list.
    #[error("the OLM catalogue has no {what}")]
    NotInCatalogue {
        /// The CSV name or version asked for.
        what: String,
    },
}

/// An OLM kind: `(kind, plural)` in `operators.coreos.com/v1alpha1`.
pub(crate) type OlmKind = (&'static str, &'static str);

/// Subscription.
pub(crate) const SUBSCRIPTION: OlmKind = ("Subscription", "subscriptions");
/// InstallPlan.
pub(crate) const INSTALL_PLAN: OlmKind = ("InstallPlan", "installplans");
/// ClusterServiceVersion.
pub(crate) const CSV: OlmKind = ("ClusterServiceVersion", "clusterserviceversions");
/// PackageManifest (`packages.operators.coreos.com/v1`, see [`package_manifest_api`]).
pub(crate) const PACKAGE_MANIFEST: OlmKind = ("PackageManifest", "packagemanifests");

/// The `apiVersion` of the OLM kinds.
pub const API_VERSION: &str = "operators.coreos.com/v1alpha1";

pub(crate) fn resource(kind: OlmKind) -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("operators.coreos.com", "v1alpha1", kind.0),
        kind.1,
    )
}

/// The PackageManifests of `namespace`: another group and version than the other OLM kinds.
pub(crate) fn package_manifest_api(client: &kube::Client, namespace: &str) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("packages.operators.coreos.com", "v1", PACKAGE_MANIFEST.0),
        PACKAGE_MANIFEST.1,
    );
    Api::namespaced_with(client.clone(), namespace, &ar)
}

pub(crate) fn api(client: &kube::Client, kind: OlmKind, namespace: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), namespace, &resource(kind))
}

/// What a reconcile needs: the client and the model's catalogue.
pub(crate) struct Ctx {
    pub(crate) client: kube::Client,
    pub(crate) catalogue: std::sync::Arc<std::sync::RwLock<super::catalogue::Catalogue>>,
}

impl Ctx {
    /// A snapshot of the model's catalogue (never held across an await).
    pub(crate) fn catalogue(&self) -> super::catalogue::Catalogue {
        match self.catalogue.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// How long the Subscription controller waits before looking at a Subscription again on its own.
pub const RESYNC: Duration = Duration::from_millis(500);

pub(crate) fn api_error(action: &'static str, object: String) -> impl FnOnce(kube::Error) -> Error {
    move |source| Error::Api {
        action,
        object,
        source: Box::new(source),
    }
}

/// Merge-patches `status` of an OLM object.
pub(crate) async fn patch_status(
    api: &Api<DynamicObject>,
    kind: OlmKind,
    name: &str,
    status: Value,
) -> Result<(), Error> {
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": status})),
    )
    .await
    .map(|_| ())
    .map_err(api_error("update status of", format!("{} {name}", kind.0)))
}

/// Server-side applies an OLM object.
pub(crate) async fn apply(
    api: &Api<DynamicObject>,
    kind: OlmKind,
    name: &str,
    manifest: &Value,
) -> Result<DynamicObject, Error> {
    api.patch(
        name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(manifest),
    )
    .await
    .map_err(api_error("apply", format!("{} {name}", kind.0)))
}

/// A string at `path` in an object's JSON.
pub(crate) fn str_at<'a>(object: &'a DynamicObject, path: &[&str]) -> Option<&'a str> {
    let (first, rest) = path.split_first()?;
    rest.iter()
        .try_fold(object.data.get(first)?, |v, key| v.get(key))
        .and_then(Value::as_str)
}
