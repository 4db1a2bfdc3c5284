//! `data "quay_georep_versions"`: the Quay versions this provider knows and, given the
//! version the sites run, the next upgrade `quay_georep_upgrade` accepts.
//!
//! Everything comes from the embedded release catalogue and the hop rule
//! ([`crate::georep::upgrade::versions`], [`next_target`], [`upgrade_path`]); nothing is
//! contacted, so it plans offline.

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::model::{Field, Model, text, with_fields};
use super::provider_data::ProviderData;
use crate::framework::DataSource;
use crate::georep::upgrade::{QuayVersion, catalogue, next_target, upgrade_path};
use crate::stop::StopToken;
use crate::tfvalue::{
    Attribute, AttributePath, Block, Diagnostic, Diagnostics, Schema, Type, Value,
};

/// The data source.
#[derive(Clone, Copy, Debug, Default)]
pub struct GeoRepVersionsDataSource;

/// The schema; its descriptions are the reference documentation.
pub(crate) fn schema() -> Schema {
    let block = Block::new(
        "the Quay versions this provider knows and the upgrade path from the version the sites \
         run (one minor at a time, as quay_georep_upgrade allows); contacts no cluster",
    )
    .attribute(
        Attribute::optional("current_version", Type::String).description(
            "the version the sites run, such as quay_georep_site.<name>.current_version; without \
         it only the known versions are listed",
        ),
    )
    .attribute(
        Attribute::computed("versions", Type::list(Type::String)).description(
            "the newest patch of every released Quay minor this provider knows, oldest first",
        ),
    )
    .attribute(
        Attribute::computed("newest_version", Type::String)
            .description("the newest release this provider knows"),
    )
    .attribute(
        Attribute::computed("next_version", Type::String).description(
            "the furthest release one quay_georep_upgrade may take current_version to: the \
         newest patch of the next minor, else a newer patch of the same minor; null when \
         current_version is the newest or not given",
        ),
    )
    .attribute(
        Attribute::computed("next_olm_channel", Type::String)
            .description("the OLM channel that offers next_version, such as stable-3.14"),
    )
    .attribute(
        Attribute::computed("upgrade_path", Type::list(Type::String)).description(
            "every upgrade from current_version to newest_version, one minor per step; empty when \
         current_version is the newest or not given",
        ),
    );
    Schema { version: 0, block }
}

/// The data source's attributes.
#[derive(Clone, Debug, Default, PartialEq)]
struct VersionsModel {
    /// `current_version`.
    current_version: Option<String>,
    /// `versions`.
    versions: Field<Vec<String>>,
    /// `newest_version`.
    newest_version: Field<String>,
    /// `next_version`.
    next_version: Field<String>,
    /// `next_olm_channel`.
    next_olm_channel: Field<String>,
    /// `upgrade_path`.
    upgrade_path: Field<Vec<String>>,
}

impl Model for VersionsModel {
    fn read(value: &Value, _diags: &mut Diagnostics) -> Self {
        Self {
            current_version: text(value, "current_version"),
            versions: Field::read(value.get("versions")),
            newest_version: Field::read(value.get("newest_version")),
            next_version: Field::read(value.get("next_version")),
            next_olm_channel: Field::read(value.get("next_olm_channel")),
            upgrade_path: Field::read(value.get("upgrade_path")),
        }
    }

    fn write(&self) -> Json {
        with_fields(
            None,
            [
                ("current_version", json!(self.current_version)),
                ("versions", self.versions.to_json()),
                ("newest_version", self.newest_version.to_json()),
                ("next_version", self.next_version.to_json()),
                ("next_olm_channel", self.next_olm_channel.to_json()),
                ("upgrade_path", self.upgrade_path.to_json()),
            ],
        )
    }
}

/// `current_version` parsed, or the diagnostic saying what is wrong with it.
fn parse_current(text: &str) -> Result<QuayVersion, Diagnostic> {
    text.parse::<QuayVersion>().map_err(|err| {
        Diagnostic::error("Invalid Quay Version", err.to_string())
            .with_attribute(AttributePath::root().attr("current_version"))
    })
}

/// The results for `current`: every field known (null where there is nothing to say).
///
/// # Errors
///
/// A diagnostic on `current_version` when it is malformed or of a minor the provider does
/// not know.
fn results(current: Option<&str>) -> Result<VersionsModel, Diagnostic> {
    let catalogue = catalogue();
    let versions: Vec<QuayVersion> = catalogue
        .minors()
        .iter()
        .filter_map(crate::georep::upgrade::versions::MinorSeries::newest_patch)
        .collect();
    let (next, path) = match current {
        None => (None, Vec::new()),
        Some(text) => {
            let current = parse_current(text)?;
            let on_attribute = |err: crate::georep::upgrade::HopError| {
                Diagnostic::error("Unknown Quay Version", err.to_string())
                    .with_attribute(AttributePath::root().attr("current_version"))
            };
            (
                next_target(current).map_err(on_attribute)?,
                upgrade_path(current).map_err(on_attribute)?,
            )
        }
    };
    let channel = next.and_then(|v| catalogue.channel(v)).map(str::to_owned);
    let shown = |list: &[QuayVersion]| list.iter().map(ToString::to_string).collect::<Vec<_>>();
    Ok(VersionsModel {
        current_version: current.map(str::to_owned),
        versions: Field::Known(shown(&versions)),
        newest_version: versions
            .last()
            .map_or(Field::Null, |v| Field::Known(v.to_string())),
        next_version: next.map_or(Field::Null, |v| Field::Known(v.to_string())),
        next_olm_channel: channel.map_or(Field::Null, Field::Known),
        upgrade_path: Field::Known(shown(&path)),
    })
}

#[async_trait]
impl DataSource<ProviderData> for GeoRepVersionsDataSource {
    fn type_name(&self) -> &'static str {
        "quay_georep_versions"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let model = VersionsModel::read(config, diags);
        if let Some(Err(diag)) = model.current_version.as_deref().map(|v| results(Some(v))) {
            diags.push(diag);
        }
    }

    async fn read(
        &self,
        _data: Option<&ProviderData>,
        config: &Value,
        _stop: &StopToken,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let model = VersionsModel::read(config, diags);
        match results(model.current_version.as_deref()) {
            Ok(found) => {
                let mut state = config.clone();
                found.versions.write_into(&mut state, "versions");
                found
                    .newest_version
                    .write_into(&mut state, "newest_version");
                found.next_version.write_into(&mut state, "next_version");
                found
                    .next_olm_channel
                    .write_into(&mut state, "next_olm_channel");
                found.upgrade_path.write_into(&mut state, "upgrade_path");
                Some(state)
            }
            Err(diag) => {
                diags.push(diag);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_attribute_reads_into_the_model_and_back() {
        crate::resources::model::assert_every_attribute_round_trips::<VersionsModel>(&schema());
    }

    #[test]
    fn schema_is_a_valid_definition() {
        crate::resources::model::assert_valid_definition(&schema());
    }

    #[test]
    fn a_current_version_gives_the_next_hop_its_channel_and_the_whole_path() {
        let found = results(Some("3.16.2")).unwrap();
        assert_eq!(found.next_version, Field::Known("3.17.4".to_owned()));
        assert_eq!(
            found.next_olm_channel,
            Field::Known("stable-3.17".to_owned())
        );
        assert_eq!(
            found.upgrade_path,
            Field::Known(vec!["3.17.4".to_owned(), "3.18.0".to_owned()])
        );
        assert_eq!(found.newest_version, Field::Known("3.18.0".to_owned()));
        let versions = found.versions.known().unwrap();
        assert_eq!(versions.first().map(String::as_str), Some("3.10.25"));
    }

    #[test]
    fn without_a_current_version_only_the_known_versions_are_listed() {
        let found = results(None).unwrap();
        assert_eq!(found.next_version, Field::Null);
        assert_eq!(found.upgrade_path, Field::Known(Vec::new()));
    }

    #[test]
    fn a_malformed_or_unknown_version_is_an_error_on_current_version() {
        for (input, summary) in [
            ("three", "Invalid Quay Version"),
            ("3.40.1", "Unknown Quay Version"),
        ] {
            let diag = results(Some(input)).unwrap_err();
            assert_eq!(diag.summary, summary, "{input}");
            assert_eq!(
                diag.attribute,
                Some(AttributePath::root().attr("current_version")),
                "{input}"
            );
        }
    }
}
