//! [`ObjectName`]: a Kubernetes object name, checked the way the API server checks it.
//!
//! Namespaces and the `QuayRegistry` name must be DNS-1123 *labels* (1 to 63 lowercase letters,
//! digits or `-`, starting and ending with a letter or digit): a namespace is one by definition,
//! and the operator builds Service and Route names from the registry name. Secret names may be
//! DNS-1123 *subdomains* (labels joined by `.`, 253 characters in all). Parsing only.

use std::fmt;

/// The longest DNS-1123 label.
pub const MAX_LABEL_LEN: usize = 63;
/// The longest DNS-1123 subdomain.
pub const MAX_SUBDOMAIN_LEN: usize = 253;

/// Why a name was refused. Each variant carries the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The name is empty.
    #[error("the name is empty")]
    Empty,
    /// The name is longer than allowed.
    #[error("`{input}` is {len} characters long, more than {max}")]
    TooLong {
        /// The name given.
        input: String,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A character other than `a-z`, `0-9`, `-` (and `.` in a subdomain).
    #[error("`{input}` contains `{character}`")]
    BadCharacter {
        /// The name given.
        input: String,
        /// The first offending character.
        character: char,
    },
    /// A label starts or ends with something other than a letter or digit.
    #[error("`{input}` must start and end with a lowercase letter or digit")]
    BadEdge {
        /// The name given.
        input: String,
    },
}

/// A valid Kubernetes object name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectName(String);

impl ObjectName {
    /// Parses a DNS-1123 label, as namespaces and the `QuayRegistry` name must be.
    ///
    /// # Errors
    ///
    /// [`Error`] naming the first rule the input breaks.
    ///
    /// # Examples
    ///
    /// ```
    /// use terraform_provider_quay::georep::site::ObjectName;
    ///
    /// assert!(ObjectName::label("quay-enterprise").is_ok());
    /// assert!(ObjectName::label("Quay_Enterprise").is_err());
    /// ```
    pub fn label(input: &str) -> Result<Self, Error> {
        check_label(input, input, MAX_LABEL_LEN)?;
        Ok(Self(input.to_owned()))
    }

    /// Parses a DNS-1123 subdomain, as Secret names may be.
    ///
    /// # Errors
    ///
    /// [`Error`] naming the first rule the input breaks.
    pub fn subdomain(input: &str) -> Result<Self, Error> {
        if input.len() > MAX_SUBDOMAIN_LEN {
            return Err(Error::TooLong {
                input: input.to_owned(),
                len: input.len(),
                max: MAX_SUBDOMAIN_LEN,
            });
        }
        if input.is_empty() {
            return Err(Error::Empty);
        }
        for label in input.split('.') {
            check_label(input, label, MAX_SUBDOMAIN_LEN)?;
        }
        Ok(Self(input.to_owned()))
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn check_label(input: &str, label: &str, max: usize) -> Result<(), Error> {
    if input.is_empty() {
        return Err(Error::Empty);
    }
    if input.len() > max {
        return Err(Error::TooLong {
            input: input.to_owned(),
            len: input.chars().count(),
            max,
        });
    }
    if let Some(character) = label
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(Error::BadCharacter {
            input: input.to_owned(),
            character,
        });
    }
    let is_edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !is_edge(label.chars().next()) || !is_edge(label.chars().last()) {
        return Err(Error::BadEdge {
            input: input.to_owned(),
        });
    }
    Ok(())
}

impl Error {
    /// The error as a phrase following the attribute name: `is empty`, `is invalid: ...`.
    pub(crate) fn phrase(&self) -> String {
        match self {
            Self::Empty => "is empty".to_owned(),
            other => format!("is invalid: {other}"),
        }
    }
}

/// The longest `QuayRegistry` name: the operator names its migration Job
/// `<name>-quay-app-upgrade` (quay-operator `kustomize/components/job`), and a Job's name
/// must fit the 63-character `job-name` label of its pods, so 63 less 17.
pub const MAX_REGISTRY_NAME_LEN: usize = MAX_LABEL_LEN - "-quay-app-upgrade".len();

/// Why the operator cannot use `name` for a `QuayRegistry`, or `None`.
pub(crate) fn registry_name_problem(name: &str) -> Option<String> {
    (name.len() > MAX_REGISTRY_NAME_LEN).then(|| {
        format!(
            "name `{name}` is {} characters long: the operator derives `{name}-quay-app-upgrade` \
             and other names from it that must fit 63 characters; use at most \
             {MAX_REGISTRY_NAME_LEN}",
            name.len()
        )
    })
}

/// Why a site must not go into `namespace` (Kubernetes' and OpenShift's own), or `None`.
pub(crate) fn reserved_namespace_problem(namespace: &str) -> Option<String> {
    let reserved = matches!(
        namespace,
        "kube-system" | "kube-public" | "kube-node-lease" | "openshift"
    ) || namespace.starts_with("openshift-");
    reserved.then(|| {
        format!(
            "namespace `{namespace}` belongs to Kubernetes or OpenShift itself (kube-system, \
             kube-public, kube-node-lease, openshift and openshift-*): put the site in a \
             namespace of its own, such as quay-enterprise"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_namespaces_and_over_long_registry_names_are_refused() {
        for reserved in [
            "kube-system",
            "openshift-operators",
            "openshift",
            "kube-node-lease",
        ] {
            assert!(reserved_namespace_problem(reserved).is_some(), "{reserved}");
        }
        for free in ["quay-enterprise", "openshiftish", "kube"] {
            assert_eq!(reserved_namespace_problem(free), None, "{free}");
        }
        assert_eq!(registry_name_problem(&"r".repeat(46)), None);
        assert!(registry_name_problem(&"r".repeat(47)).is_some());
    }

    #[test]
    fn labels_accept_lowercase_digits_and_inner_hyphens_only() {
        for ok in ["registry", "quay-enterprise", "a", "0ab", &"a".repeat(63)] {
            assert_eq!(ObjectName::label(ok).unwrap().as_str(), ok);
        }
        assert!(matches!(
            ObjectName::label("Quay"),
            Err(Error::BadCharacter { character: 'Q', .. })
        ));
        assert!(matches!(
            ObjectName::label("quay_enterprise"),
            Err(Error::BadCharacter { character: '_', .. })
        ));
        assert!(matches!(
            ObjectName::label("a.b"),
            Err(Error::BadCharacter { character: '.', .. })
        ));
        assert!(matches!(
            ObjectName::label("-quay"),
            Err(Error::BadEdge { .. })
        ));
        assert!(matches!(
            ObjectName::label(&"a".repeat(64)),
            Err(Error::TooLong { len: 64, .. })
        ));
        assert_eq!(ObjectName::label(""), Err(Error::Empty));
    }

    #[test]
    fn subdomains_accept_dotted_labels() {
        assert!(ObjectName::subdomain("quay-bundle.sealed").is_ok());
        assert!(matches!(
            ObjectName::subdomain("quay..bundle"),
            Err(Error::BadEdge { .. })
        ));
        assert!(matches!(
            ObjectName::subdomain("quay.bundle-"),
            Err(Error::BadEdge { .. })
        ));
    }
}
