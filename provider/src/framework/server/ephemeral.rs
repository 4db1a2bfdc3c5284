//! The ephemeral resource operations of protocol 5.7 (Terraform 1.10 and later), split from
//! [`ProviderServer`]'s file: validate, open, renew and close.
//!
//! Open is checked like a data source read: the result must conform to the schema, be wholly
//! known and keep every configured argument. The provider's ephemeral resources hold nothing
//! between calls, so open never asks for a renewal and close has nothing to release; both
//! still name an unknown type as such.

use tracing::debug;

use super::{EphemeralEntry, ProviderServer};
use crate::framework::consistency::check_apply_result;
use crate::framework::messages::{DynamicValue, OpenResponse};
use crate::framework::provider::Provider;
use crate::framework::values::{config_as_plan, decode, encode, unknown_type};
use crate::tfvalue::Diagnostics;

impl<P: Provider> ProviderServer<P> {
    /// `ValidateEphemeralResourceConfig`.
    pub fn validate_ephemeral_resource_config(
        &self,
        type_name: &str,
        config: &DynamicValue,
    ) -> Diagnostics {
        let mut diags = Diagnostics::default();
        let Some(entry) = self.ephemeral(type_name, &mut diags) else {
            return diags;
        };
        let ty = entry.schema.value_type();
        if let Some(config) = decode(&ty, config, "configuration", &mut diags) {
            entry.ephemeral.validate(&config, &mut diags);
        }
        diags
    }

    /// `OpenEphemeralResource`: the value for this run. A configuration that is not wholly
    /// known yet (during plan) gets its computed results unknown, without calling the
    /// resource.
    pub async fn open_ephemeral_resource(
        &self,
        type_name: &str,
        config: &DynamicValue,
    ) -> OpenResponse {
        let mut diags = Diagnostics::default();
        let mut response = OpenResponse::default();
        let Some(entry) = self.ephemeral(type_name, &mut diags) else {
            response.diagnostics = diags;
            return response;
        };
        let ty = entry.schema.value_type();
        let Some(config) = decode(&ty, config, "configuration", &mut diags) else {
            response.diagnostics = diags;
            return response;
        };
        entry.ephemeral.validate(&config, &mut diags);
        if diags.has_errors() {
            response.diagnostics = diags;
            return response;
        }
        let expected = config_as_plan(&entry.schema, &config);
        if !config.is_wholly_known() {
            response.result = encode(&ty, &expected, &mut diags);
            response.diagnostics = diags;
            return response;
        }
        debug!(type_name, "opening ephemeral resource");
        let data = self.data();
        let opened = entry
            .ephemeral
            .open(data.as_deref(), &config, &self.stop, &mut diags)
            .await;
        let Some(result) = opened.filter(|_| !diags.has_errors()) else {
            response.diagnostics = diags;
            return response;
        };
        let violations = check_apply_result(type_name, &entry.schema, &expected, &result);
        if violations.is_empty() {
            response.result = encode(&ty, &result, &mut diags);
        } else {
            diags.extend(violations);
        }
        response.diagnostics = diags;
        response
    }

    /// `RenewEphemeralResource`: never requested, since open sets no renewal time; answered
    /// without effect.
    pub fn renew_ephemeral_resource(&self, type_name: &str) -> Diagnostics {
        let mut diags = Diagnostics::default();
        let _ = self.ephemeral(type_name, &mut diags);
        diags
    }

    /// `CloseEphemeralResource`: nothing to release.
    pub fn close_ephemeral_resource(&self, type_name: &str) -> Diagnostics {
        let mut diags = Diagnostics::default();
        let _ = self.ephemeral(type_name, &mut diags);
        diags
    }

    fn ephemeral(
        &self,
        type_name: &str,
        diags: &mut Diagnostics,
    ) -> Option<&EphemeralEntry<P::Data>> {
        let entry = self.ephemerals.get(type_name);
        if entry.is_none() {
            diags.push(unknown_type(
                "ephemeral resource",
                type_name,
                self.ephemerals.keys(),
            ));
        }
        entry
    }
}
