//! `UpgradeResourceState`, split from [`ProviderServer`]'s file: stored state of any earlier
//! schema version, brought to the current schema.

use super::ProviderServer;
use crate::framework::messages::DynamicValue;
use crate::framework::provider::Provider;
use crate::framework::values::{encode, normalize_json};
use crate::tfvalue::{self, Diagnostic, Diagnostics};

impl<P: Provider> ProviderServer<P> {
    /// `UpgradeResourceState`: turns stored JSON state (of any earlier schema version) into
    /// the current schema. Terraform calls it before every refresh, also for the current
    /// version, and possibly on a process that was never configured.
    pub fn upgrade_resource_state(
        &self,
        type_name: &str,
        version: i64,
        raw_json: &[u8],
        has_flatmap: bool,
    ) -> (Option<DynamicValue>, Diagnostics) {
        let mut diags = Diagnostics::default();
        let Some(entry) = self.resource(type_name, &mut diags) else {
            return (None, diags);
        };
        if raw_json.is_empty() {
            if has_flatmap {
                diags.push(Diagnostic::error(
                    "Unsupported State Format",
                    format!(
                        "the state of this {type_name} is in the pre-0.12 flatmap format, which \
                         this provider never wrote; remove it with `terraform state rm` and import it"
                    ),
                ));
            }
            return (Some(DynamicValue::msgpack(vec![0xc0])), diags);
        }
        let mut json: serde_json::Value = match serde_json::from_slice(raw_json) {
            Ok(json) => json,
            Err(err) => {
                diags.push(Diagnostic::error(
                    "Unreadable Resource State",
                    format!("the stored state of this {type_name} is not valid JSON: {err}"),
                ));
                return (None, diags);
            }
        };
        let current = entry.schema.version;
        if version > current {
            diags.push(Diagnostic::error(
                "State Written By A Newer Provider",
                format!(
                    "this {type_name} was stored with schema version {version}, but this provider \
                     knows versions up to {current}; use the provider version that wrote it"
                ),
            ));
            return (None, diags);
        }
        if version < current {
            match entry.resource.upgrade_state(version, json, &mut diags) {
                Some(upgraded) => json = upgraded,
                None => return (None, diags),
            }
        }
        let ty = entry.schema.value_type();
        let normalized = normalize_json(&ty, json);
        let bytes = match serde_json::to_vec(&normalized) {
            Ok(bytes) => bytes,
            Err(err) => {
                diags.push(Diagnostic::error(
                    "Unreadable Resource State",
                    err.to_string(),
                ));
                return (None, diags);
            }
        };
        let value = match tfvalue::json::decode(&ty, &bytes) {
            Ok(value) => value,
            Err(err) => {
                diags.push(Diagnostic::error(
                    "Unreadable Resource State",
                    format!(
                        "the stored state of this {type_name} does not match its schema: {err}"
                    ),
                ));
                return (None, diags);
            }
        };
        let value = entry.schema.block.without_write_only(&value);
        let upgraded = encode(&ty, &value, &mut diags);
        (upgraded, diags)
    }
}
