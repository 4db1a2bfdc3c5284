//! The [`Resource`] trait: one per `resource "<type>"` block, each in its own file under
//! `crate::resources`.
//!
//! Only [`Resource::type_name`], [`Resource::schema`] and the four CRUD operations are
//! required. Optional capabilities, each with a default:
//!
//! - [`Resource::validate`]: semantic checks of the configuration (default: none);
//! - [`Resource::modify_plan`]: fill in known computed values or mark values that will change
//!   as unknown (default: the plan from [`super::default_plan`] is kept);
//! - [`Resource::requires_replace`]: attributes whose change forces a new object;
//! - [`Resource::import`]: adopt an existing object by id (default: not supported);
//! - [`Resource::upgrade_state`]: migrate state written by an older schema version.

use async_trait::async_trait;

use crate::stop::StopToken;
use crate::tfvalue::{AttributePath, Diagnostic, Diagnostics, Schema, Value};

/// What a resource sees when Terraform asks it to plan a change.
#[derive(Debug)]
pub struct PlanRequest<'a> {
    /// The state before the change; [`Value::Null`] on create.
    pub prior: &'a Value,
    /// The configuration as written (computed attributes are null, values may be unknown).
    pub config: &'a Value,
    /// The framework's default plan (see [`super::default_plan`]), which the resource may
    /// refine in place.
    pub planned: &'a mut Value,
    /// Terraform's stop signal (Ctrl-C): reads a plan makes must give up when it fires.
    pub stop: &'a StopToken,
}

impl PlanRequest<'_> {
    /// Whether this plan creates the object.
    #[must_use]
    pub fn is_create(&self) -> bool {
        self.prior.is_null()
    }
}

/// A Terraform managed resource.
///
/// The framework guarantees:
/// - every value handed to a method has been decoded against [`Resource::schema`];
/// - `create`, `update` and `delete` are only called with provider data (after `Configure`);
/// - results are checked against Terraform's rules before they are sent, so a bug here becomes
///   a clear "provider bug" diagnostic rather than a corrupted or tainted state.
#[async_trait]
pub trait Resource<D: Send + Sync>: Send + Sync {
    /// The type name, e.g. `quay_georep_site`.
    fn type_name(&self) -> &'static str;

    /// The schema. Its `version` is the state schema version.
    fn schema(&self) -> Schema;

    /// Checks the configuration and reports every problem with its attribute path.
    /// Unknown values must be skipped, not reported. Must not contact any cluster.
    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let _ = (config, diags);
    }

    /// Attribute paths whose change forces Terraform to destroy and re-create the object.
    fn requires_replace(&self) -> Vec<AttributePath> {
        Vec::new()
    }

    /// Refines the default plan. `data` is `None` when the provider is not configured yet
    /// (for example when its configuration depends on values unknown until apply).
    async fn modify_plan(
        &self,
        data: Option<&D>,
        request: PlanRequest<'_>,
        diags: &mut Diagnostics,
    ) {
        let _ = (data, request, diags);
    }

    /// Checks a planned destroy of `prior` and reports why it must not happen. Terraform 1.3
    /// and later plan destroys through the provider; earlier versions do not, so a refusal
    /// here must be repeated in [`Resource::delete`]. The default allows every destroy.
    fn plan_destroy(&self, prior: &Value, diags: &mut Diagnostics) {
        let _ = (prior, diags);
    }

    /// Creates the object and returns its full state, with no unknown values left.
    /// Returns `None` with error diagnostics when nothing was created.
    async fn create(
        &self,
        data: &D,
        planned: &Value,
        config: &Value,
        stop: &StopToken,
        diags: &mut Diagnostics,
    ) -> Option<Value>;

    /// Reads the live object. Returns `Some(Value::Null)` when it no longer exists (Terraform
    /// then plans to create it) and `None` with error diagnostics when it cannot be read.
    async fn read(
        &self,
        data: &D,
        state: &Value,
        stop: &StopToken,
        diags: &mut Diagnostics,
    ) -> Option<Value>;

    /// Brings the object from `prior` to `planned` and returns its full new state.
    /// Returns `None` with error diagnostics when the object is unchanged.
    async fn update(
        &self,
        data: &D,
        prior: &Value,
        planned: &Value,
        config: &Value,
        stop: &StopToken,
        diags: &mut Diagnostics,
    ) -> Option<Value>;

    /// Deletes the object. Errors go into `diags`; Terraform then keeps the prior state.
    async fn delete(&self, data: &D, prior: &Value, stop: &StopToken, diags: &mut Diagnostics);

    /// Builds the state of an existing object from an import id. The framework reads it
    /// afterwards as Terraform does. The default says the resource cannot be imported.
    async fn import(
        &self,
        data: &D,
        id: &str,
        stop: &StopToken,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let _ = (data, id, stop);
        diags.push(Diagnostic::error(
            "Resource Import Not Implemented",
            format!(
                "{} cannot be imported: remove the import and create it from configuration",
                self.type_name()
            ),
        ));
        None
    }

    /// Migrates a state written with schema version `version` (always lower than the current
    /// one) to the current schema, as JSON. The default refuses, since no resource has had an
    /// earlier schema version yet.
    fn upgrade_state(
        &self,
        version: i64,
        state: serde_json::Value,
        diags: &mut Diagnostics,
    ) -> Option<serde_json::Value> {
        let _ = state;
        diags.push(Diagnostic::error(
            "Unsupported State Version",
            format!(
                "the state of this {} was written with schema version {version}, which this \
                 provider version cannot upgrade; this is a provider bug, please report it",
                self.type_name()
            ),
        ));
        None
    }
}
