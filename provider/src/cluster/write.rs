//! Writes that must not overwrite someone else's change: create (409 when the object exists)
//! and replace with the observed `resourceVersion` (409 when it changed since). Used for
//! compare-and-swap, such as taking the upgrade Lease; everything else uses server-side apply
//! ([`Cluster::apply`]).

use kube::api::{DynamicObject, PostParams};
use serde_json::Value;
use tracing::debug;

use super::connect::Cluster;
use super::error::Error;
use super::ops::FIELD_MANAGER;
use super::retry::with_retry;

impl Cluster {
    /// Creates `manifest`; fails with a 409 [`Error::Api`] when the object exists.
    ///
    /// # Errors
    ///
    /// [`Error::BadManifest`] for a manifest without kind or name; [`Error::Api`] when the
    /// cluster refuses (see [`Error::is_conflict`]).
    pub async fn create(&self, manifest: &Value) -> Result<Value, Error> {
        self.write(manifest, "create").await
    }

    /// Replaces the object with `manifest`, which must carry the `metadata.resourceVersion`
    /// it was read at; fails with a 409 [`Error::Api`] when the object changed since.
    ///
    /// # Errors
    ///
    /// As [`Cluster::create`].
    pub async fn replace(&self, manifest: &Value) -> Result<Value, Error> {
        self.write(manifest, "replace").await
    }

    async fn write(&self, manifest: &Value, action: &'static str) -> Result<Value, Error> {
        let (kind, namespace, name) = super::ops::identify(manifest)?;
        let object = kind.describe(namespace.as_deref(), &name);
        debug!(cluster = %self.key, %object, action, "write");
        let api = self.api(&kind, namespace.as_deref());
        let data: DynamicObject =
            serde_json::from_value(manifest.clone()).map_err(|e| Error::BadManifest {
                what: format!("{object}: {e}"),
            })?;
        let params = PostParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PostParams::default()
        };
        let stored = if action == "create" {
            with_retry(&object, || api.create(&params, &data)).await
        } else {
            with_retry(&object, || api.replace(&name, &params, &data)).await
        }
        .map_err(|failure| self.failed(action, object.clone(), failure))?;
        serde_json::to_value(stored).map_err(|e| Error::BadManifest {
            what: format!("{object} could not be read back: {e}"),
        })
    }
}
