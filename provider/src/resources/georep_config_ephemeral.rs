//! `ephemeral "quay_georep_config"`: the shared `config.yaml`, rendered for one Terraform run
//! and never stored (Terraform 1.10 and later).
//!
//! The same arguments, validation and rendering as `data "quay_georep_config"`
//! (`georep_config_data_source.rs`): only the lifetime differs. A data source's results are
//! written to the state and to saved plans, so its `config_yaml` (database URI, Redis
//! password, bucket keys, secret keys) ends up there, marked sensitive but in clear text. This
//! one's results live only in Terraform's memory, and may flow only into write-only
//! attributes such as `quay_georep_site.config_yaml_wo`, provider blocks and other ephemeral
//! values.

use async_trait::async_trait;

use super::georep_config_data_source::{check, rendered, schema};
use super::provider_data::ProviderData;
use crate::framework::EphemeralResource;
use crate::stop::StopToken;
use crate::tfvalue::{Diagnostics, Schema, Value};

/// The ephemeral resource.
#[derive(Clone, Copy, Debug, Default)]
pub struct GeoRepConfigEphemeral;

/// The block description, which opens the generated page.
const DESCRIPTION: &str = "the shared configuration of a geo-replicated Quay, rendered for one \
     Terraform run and never stored in plan or state: validates it and renders the one \
     config.yaml every site must use, for quay_georep_site's write-only config_yaml_wo \
     (Terraform 1.11 and later; ephemeral resources need Terraform 1.10)";

#[async_trait]
impl EphemeralResource<ProviderData> for GeoRepConfigEphemeral {
    fn type_name(&self) -> &'static str {
        "quay_georep_config"
    }

    fn schema(&self) -> Schema {
        let mut schema = schema();
        DESCRIPTION.clone_into(&mut schema.block.description);
        schema
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let _ = check(config, diags);
    }

    async fn open(
        &self,
        _data: Option<&ProviderData>,
        config: &Value,
        _stop: &StopToken,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        rendered(config, diags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::DataSource;
    use crate::resources::georep_config_data_source::GeoRepConfigDataSource;

    #[test]
    fn it_has_the_data_source_arguments_and_results() {
        let ephemeral = GeoRepConfigEphemeral.schema();
        let data = GeoRepConfigDataSource.schema();
        assert_eq!(ephemeral.value_type(), data.value_type());
        assert_eq!(ephemeral.block.attributes, data.block.attributes);
        assert_eq!(ephemeral.block.block_types, data.block.block_types);
        assert!(ephemeral.block.description.contains("never stored"));
    }
}
