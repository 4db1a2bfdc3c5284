//! [`SiteId`]: which Quay site a step is about, written `cluster/namespace/name`.
//!
//! `cluster` is a cluster label of the provider block (a letter or `_`, then letters, digits,
//! `_` or `-`, as the provider accepts it); `namespace` and `name` are the Kubernetes namespace
//! and `QuayRegistry` name, both DNS-1123 labels (1 to 63 characters of `a-z`, `0-9` and `-`,
//! starting and ending with a letter or digit). The registry name is held to a label rather
//! than a subdomain because the operator prefixes it to Deployment and Service names. Parsing
//! only; whether the site exists is for `cluster/` to find out.

use std::fmt;
use std::str::FromStr;

/// The longest Kubernetes label (namespace, registry name).
pub const MAX_LABEL_LEN: usize = 63;

/// Why a string is not a [`SiteId`]. Each variant carries the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SiteIdError {
    /// Not three parts separated by `/`.
    #[error("site id `{input}` is not cluster/namespace/name")]
    Shape {
        /// The id given.
        input: String,
    },
    /// The cluster label is not an identifier.
    #[error(
        "site id `{input}` has cluster `{cluster}`, which is not a provider cluster label \
         (a letter or underscore, then letters, digits, underscores or dashes)"
    )]
    Cluster {
        /// The id given.
        input: String,
        /// The cluster part.
        cluster: String,
    },
    /// The namespace or name is not a DNS-1123 label.
    #[error(
        "site id `{input}` has {part} `{value}`, which is not a Kubernetes name \
         (1 to 63 lowercase letters, digits or dashes, starting and ending with a letter or digit)"
    )]
    Label {
        /// The id given.
        input: String,
        /// `namespace` or `name`.
        part: &'static str,
        /// The offending part.
        value: String,
    },
}

/// One Quay site: a `QuayRegistry` `name` in `namespace` on the provider cluster `cluster`.
///
/// # Examples
///
/// ```
/// use terraform_provider_quay::georep::upgrade::SiteId;
///
/// let site: SiteId = "us_east/quay/registry".parse().unwrap();
/// assert_eq!(site.cluster(), "us_east");
/// assert_eq!(site.to_string(), "us_east/quay/registry");
/// assert!("us_east/Quay/registry".parse::<SiteId>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SiteId {
    cluster: String,
    namespace: String,
    name: String,
}

impl SiteId {
    /// The provider cluster label.
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// The Kubernetes namespace of the `QuayRegistry`.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The `QuayRegistry` name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The name of the migration Job the operator runs for this registry
    /// (`<name>-quay-app-upgrade`, reference §3.2).
    pub fn migration_job_name(&self) -> String {
        format!("{}-quay-app-upgrade", self.name)
    }
}

/// Whether `label` is a provider cluster label.
pub(crate) fn is_cluster_label(label: &str) -> bool {
    let mut chars = label.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Whether `label` is a DNS-1123 label.
pub(crate) fn is_dns_label(label: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    !label.is_empty()
        && label.len() <= MAX_LABEL_LEN
        && label.chars().all(|c| alnum(c) || c == '-')
        && label.starts_with(alnum)
        && label.ends_with(alnum)
}

impl FromStr for SiteId {
    type Err = SiteIdError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = input.split('/').collect();
        let [cluster, namespace, name] = parts[..] else {
            return Err(SiteIdError::Shape {
                input: input.to_owned(),
            });
        };
        if !is_cluster_label(cluster) {
            return Err(SiteIdError::Cluster {
                input: input.to_owned(),
                cluster: cluster.to_owned(),
            });
        }
        for (part, value) in [("namespace", namespace), ("name", name)] {
            if !is_dns_label(value) {
                return Err(SiteIdError::Label {
                    input: input.to_owned(),
                    part,
                    value: value.to_owned(),
                });
            }
        }
        Ok(Self {
            cluster: cluster.to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        })
    }
}

impl fmt::Display for SiteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.cluster, self.namespace, self.name)
    }
}

impl serde::Serialize for SiteId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for SiteId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cluster_namespace_and_name() {
        let site: SiteId = "eu-west_2/quay-prod/registry".parse().unwrap();
        assert_eq!(
            (site.cluster(), site.namespace(), site.name()),
            ("eu-west_2", "quay-prod", "registry")
        );
        assert_eq!(site.migration_job_name(), "registry-quay-app-upgrade");
    }

    #[test]
    fn rejects_ids_without_three_parts() {
        for bad in ["", "us_east", "us_east/quay", "us_east/quay/registry/x"] {
            assert!(
                matches!(bad.parse::<SiteId>(), Err(SiteIdError::Shape { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn rejects_parts_kubernetes_or_the_provider_would_refuse() {
        for bad in ["1east/quay/registry", "//"] {
            assert!(
                matches!(bad.parse::<SiteId>(), Err(SiteIdError::Cluster { .. })),
                "{bad:?}"
            );
        }
        let too_long = format!("us_east/quay/{}", "r".repeat(64));
        for bad in [
            "us_east/Quay/registry",
            "us_east/-quay/registry",
            "us_east/quay/registry-",
            "us_east/quay/reg.istry",
            too_long.as_str(),
        ] {
            let err = bad.parse::<SiteId>().unwrap_err();
            assert!(matches!(err, SiteIdError::Label { .. }), "{bad:?}");
            assert!(err.to_string().contains(bad), "{err}");
        }
    }
}
