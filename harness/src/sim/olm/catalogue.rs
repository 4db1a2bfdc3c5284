//! The OLM catalogue the simulated clusters offer: channels `stable-3.x` with their CSVs
//! `quay-operator.v3.x.y` and operator images, from the data file `catalogue.json` beside
//! this file.
//!
//! The file is the harness's own copy, derived from the provider's version catalogue
//! (`provider/src/georep/upgrade/versions.json`): per Quay minor, the first patch that carries
//! the minor's newest schema head (when it differs from the newest patch) and the newest patch,
//! in upgrade order, so a channel can offer an upgrade within itself. It is not a real
//! catalogue source: no bundles, no `skipRange`, no dependency resolution.

use std::sync::OnceLock;

use serde::Deserialize;

/// The file's `format`; another value is refused.
pub const FORMAT: &str = "quay-georep.olm-catalogue/v1";

/// The OLM package every entry belongs to.
pub const PACKAGE: &str = "project-quay";

/// One CSV of a channel.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Entry {
    /// The CSV name, such as `quay-operator.v3.14.8`.
    pub csv: String,
    /// The Quay version it installs (the operator's `QUAY_VERSION`).
    pub version: String,
    /// The operator image.
    pub image: String,
}

impl Entry {
    /// The entry of Quay `version` as the operator's release templates name it
    /// (`hack/prepare-upstream.sh`: CSV `quay-operator.v<version>`, image
    /// `quay.io/projectquay/quay-operator:<version>`, the version without a `v`).
    #[must_use]
    pub fn release(version: &str) -> Self {
        Self {
            csv: format!("quay-operator.v{version}"),
            version: version.to_owned(),
            image: operator_image(version),
        }
    }

    /// The version as `(major, minor, patch)`, for ordering; `None` when it does not parse.
    pub fn version_key(&self) -> Option<(u32, u32, u32)> {
        version_key(&self.version)
    }
}

/// One channel: its entries, oldest first; the last is the channel's head.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Channel {
    /// The channel name, such as `stable-3.14`.
    pub name: String,
    /// The CSVs, oldest first.
    pub entries: Vec<Entry>,
}

/// Every channel of the package.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Catalogue {
    format: String,
    package: String,
    channels: Vec<Channel>,
}

/// The data file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not JSON of the expected shape.
    #[error("parse the OLM catalogue")]
    Parse {
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// A format or package this code does not know.
    #[error(
        "OLM catalogue has format {format:?} and package {package:?}; expected {FORMAT:?} and {PACKAGE:?}"
    )]
    Format {
        /// The format found.
        format: String,
        /// The package found.
        package: String,
    },
    /// An entry whose version is not `x.y.z`, or a channel out of order or empty.
    #[error(
        "OLM catalogue channel {channel:?} is empty, out of order, or has a version that is not x.y.z"
    )]
    Channel {
        /// The channel at fault.
        channel: String,
    },
}

impl Catalogue {
    /// Parses and checks a catalogue file.
    ///
    /// # Errors
    /// [`Error`] when the text is not a catalogue of this format, or a channel is empty, has a
    /// version that does not parse, or is not in ascending version order.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let catalogue: Self =
            serde_json::from_str(text).map_err(|source| Error::Parse { source })?;
        if catalogue.format != FORMAT || catalogue.package != PACKAGE {
            return Err(Error::Format {
                format: catalogue.format,
                package: catalogue.package,
            });
        }
        for channel in &catalogue.channels {
            let keys: Option<Vec<_>> = channel.entries.iter().map(Entry::version_key).collect();
            let ordered = keys.is_some_and(|k| !k.is_empty() && k.windows(2).all(|w| w[0] < w[1]));
            if !ordered {
                return Err(Error::Channel {
                    channel: channel.name.clone(),
                });
            }
        }
        Ok(catalogue)
    }

    /// The channels, in file order.
    pub fn channels(&self) -> &[Channel] {
        &self.channels
    }

    /// The newest CSV of `channel`, or `None` for an unknown channel.
    pub fn head(&self, channel: &str) -> Option<&Entry> {
        self.channels
            .iter()
            .find(|c| c.name == channel)
            .and_then(|c| c.entries.last())
    }

    /// The entry named `csv`, in whichever channel lists it.
    pub fn entry(&self, csv: &str) -> Option<&Entry> {
        self.channels
            .iter()
            .flat_map(|c| &c.entries)
            .find(|e| e.csv == csv)
    }

    /// Adds `entry` as the new head of `channel` (created when missing), as a catalog update
    /// publishing a patch release does. The entry may be one the provider never heard of.
    ///
    /// # Errors
    /// [`Error::Channel`] when the entry's version does not parse or is not newer than the
    /// channel's head.
    pub fn publish(&mut self, channel: &str, entry: Entry) -> Result<(), Error> {
        let refused = || Error::Channel {
            channel: channel.to_owned(),
        };
        let key = entry.version_key().ok_or_else(refused)?;
        match self.channels.iter_mut().find(|c| c.name == channel) {
            Some(found) => {
                if found.entries.last().and_then(Entry::version_key) >= Some(key) {
                    return Err(refused());
                }
                found.entries.push(entry);
            }
            None => self.channels.push(Channel {
                name: channel.to_owned(),
                entries: vec![entry],
            }),
        }
        Ok(())
    }

    /// The entry installing Quay `version`.
    pub fn by_version(&self, version: &str) -> Option<&Entry> {
        self.channels
            .iter()
            .flat_map(|c| &c.entries)
            .find(|e| e.version == version)
    }
}

/// The embedded catalogue.
///
/// # Panics
/// Never for the file shipped with the harness: its test parses it.
pub fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        Catalogue::parse(include_str!("catalogue.json"))
            .expect("the embedded catalogue is checked by its unit test")
    })
}

/// The operator image of Quay `version` in the released convention: the tag is the version
/// without a `v` (`quay.io/projectquay/quay-operator:3.17.4`), as `hack/prepare-upstream.sh`
/// writes it into the released CSV (`.github/workflows/prepare-release.yml` strips the tag's
/// `v` from `RELEASE`); the provider's `versions.json` and `shared/fixtures/quay-versions.json`
/// use the same.
#[must_use]
pub fn operator_image(version: &str) -> String {
    format!("quay.io/projectquay/quay-operator:{version}")
}

/// `"3.14.8"` as `(3, 14, 8)`.
pub fn version_key(version: &str) -> Option<(u32, u32, u32)> {
    let mut parts = version.split('.').map(str::parse::<u32>);
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(Ok(a)), Some(Ok(b)), Some(Ok(c)), None) => Some((a, b, c)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalogue_offers_a_stable_channel_per_released_minor() {
        let cat = catalogue();
        let head = cat.head("stable-3.14").unwrap();
        assert_eq!(head.csv, "quay-operator.v3.14.8");
        assert_eq!(head.image, "quay.io/projectquay/quay-operator:3.14.8");
        assert_eq!(
            cat.entry("quay-operator.v3.14.0").unwrap().version,
            "3.14.0"
        );
        assert!(cat.head("stable-3.19").is_none(), "3.19 is not released");
        for channel in cat.channels() {
            for entry in &channel.entries {
                assert_eq!(entry.csv, format!("quay-operator.v{}", entry.version));
            }
        }
    }

    #[test]
    fn rejects_a_channel_out_of_version_order() {
        let text = r#"{"format": "quay-georep.olm-catalogue/v1", "package": "project-quay",
            "channels": [{"name": "stable-3.14", "entries": [
                {"csv": "quay-operator.v3.14.8", "version": "3.14.8", "image": "i"},
                {"csv": "quay-operator.v3.14.0", "version": "3.14.0", "image": "i"}]}]}"#;
        assert!(
            matches!(Catalogue::parse(text), Err(Error::Channel { channel }) if channel == "stable-3.14")
        );
    }
}
