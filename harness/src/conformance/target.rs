//! The [`Target`]: everything the suite knows about the clusters it runs on, and nothing of
//! how they were made. The `existing` backend reads it from a YAML file a platform team
//! writes for its own clusters; the `local` backend (and `georep-harness up`) builds it for
//! the simulated clusters ([`super::local::target`]), so both run the same scenarios.
//!
//! ```yaml
//! name: staging
//! platform: openshift            # or kubernetes (no Route API: the user's ingress serves the name)
//! sites:
//!   - name: us-east
//!     location: us_east          # the site's storage location id
//!     kubeconfig: /home/me/.kube/config
//!     context: us-east
//!   # ... one entry per site (three for the suite's scenarios)
//! services:                      # the shape of the services.json `georep-harness up` writes
//!   postgres: { host: db.example.com, port: 5432, user: quay, password: ..., pg_trgm: true,
//!               database_uris: { quay: "postgresql://...", clair: "postgresql://..." } }
//!   redis: { host: redis.example.com, port: 6379, password: ... }
//!   sites:                       # by storage location
//!     us_east: { endpoint: "https://s3.us-east.example.com", bucket: quay-us-east,
//!                region: us-east-1, access_key: ..., secret_key: ... }
//! global:
//!   quay_hostname: quay.example.com      # SERVER_HOSTNAME
//!   clair_hostname: clair.example.com
//!   quay_endpoint: https://quay.example.com    # optional: where the suite can reach it
//!   clair_endpoint: https://clair.example.com
//! operator: { method: olm, namespace: openshift-operators, name: quay-operator }
//! terraform: [/usr/local/bin/terraform]  # optional; --terraform wins
//! provider_dir: /opt/terraform-provider-quay   # optional; --provider-dir wins
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::failure::Failure;
use crate::services::ServicesFile;

/// Why a target file could not be read or written, or is not usable.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read or written.
    #[error("{action} target file {}", path.display())]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a target.
    #[error("parse target file {}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why (boxed: the parser's error is large).
        #[source]
        source: Box<serde_saphyr::Error>,
    },
    /// The target could not be rendered as YAML.
    #[error("render the target as YAML")]
    Render(#[source] Box<serde_saphyr::ser::Error>),
    /// The target is readable but wrong.
    #[error("target {path}: {problem}")]
    Invalid {
        /// The file (or `<built>`).
        path: String,
        /// What to change.
        problem: String,
    },
}

/// The clusters, services and tools of one conformance run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// A name for the reports (`local`, `staging`, ...).
    pub name: String,
    /// OpenShift (Routes) or plain Kubernetes. Default OpenShift.
    #[serde(default)]
    pub platform: Platform,
    /// The sites, one cluster (context) each.
    pub sites: Vec<SiteTarget>,
    /// The shared PostgreSQL and Redis and each location's bucket, as `services.json`.
    pub services: ServicesFile,
    /// The global names and, when the suite can reach them, the global endpoints.
    pub global: GlobalTarget,
    /// How the Quay Operator is installed on every site.
    pub operator: OperatorInstall,
    /// Terraform executables to run the suite with (one report suite each); `--terraform`
    /// wins. Default: the pinned one of the repository, else `terraform` on PATH.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub terraform: Vec<PathBuf>,
    /// The directory holding `terraform-provider-quay`; `--provider-dir` wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_dir: Option<PathBuf>,
}

/// The kind of cluster every site runs on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// OpenShift: the operator makes a Route whose host is `SERVER_HOSTNAME`.
    #[default]
    Openshift,
    /// Kubernetes: no Route API; the user's ingress serves the global name.
    Kubernetes,
}

/// One site: its cluster and its storage location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteTarget {
    /// The site's name (reports, evidence).
    pub name: String,
    /// Its storage location id (`us_east`): its key in `services.sites` and the provider's
    /// cluster key.
    pub location: String,
    /// The kubeconfig file that holds [`SiteTarget::context`].
    pub kubeconfig: PathBuf,
    /// The kubeconfig context of the site's cluster.
    pub context: String,
}

/// The global load balancer's names and endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalTarget {
    /// The global Quay name: `SERVER_HOSTNAME` on every site.
    pub quay_hostname: String,
    /// The global Clair name, when one fronts Clair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clair_hostname: Option<String>,
    /// A URL the suite reaches the global Quay endpoint at (`/health/instance`), when it can.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quay_endpoint: Option<String>,
    /// A URL the suite reaches the global Clair endpoint at (`/healthz`), when it can.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clair_endpoint: Option<String>,
}

/// How the Quay Operator is installed (what `quay_georep_upgrade`'s `operator` block names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorInstall {
    /// `olm` (Subscription + InstallPlan) or `deployment` (a plain Deployment).
    pub method: OperatorMethod,
    /// The namespace of the Subscription or Deployment.
    pub namespace: String,
    /// The name of the Subscription or Deployment.
    pub name: String,
}

/// How the operator is installed and upgraded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OperatorMethod {
    /// Through OLM.
    Olm,
    /// As a plain Deployment.
    Deployment,
}

impl Target {
    /// Reads and checks a target file.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Parse`] or [`Error::Invalid`].
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            action: "read",
            path: path.to_owned(),
            source,
        })?;
        let target: Self = serde_saphyr::from_str(&text).map_err(|source| Error::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })?;
        target.check(&path.display().to_string())?;
        Ok(target)
    }

    /// The target as YAML.
    ///
    /// # Errors
    /// [`Error::Render`].
    pub fn to_yaml(&self) -> Result<String, Error> {
        serde_saphyr::to_string(self).map_err(|e| Error::Render(Box::new(e)))
    }

    /// Writes the target to `path` (mode 0600: it holds every password).
    ///
    /// # Errors
    /// [`Error::Render`] or [`Error::Io`].
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        let yaml = self.to_yaml()?;
        crate::secrets::write_private(path, yaml.as_bytes()).map_err(|source| Error::Io {
            action: "write",
            path: path.to_owned(),
            source,
        })
    }

    /// Checks what the scenarios rely on: at least two sites, distinct names, contexts and
    /// locations, a bucket per location, a `quay` database URI.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the first problem (`origin` names the file).
    pub fn check(&self, origin: &str) -> Result<(), Error> {
        let invalid = |problem: String| Error::Invalid {
            path: origin.to_owned(),
            problem,
        };
        if self.sites.len() < 2 {
            return Err(invalid(format!(
                "geo-replication needs at least two sites, the target has {}",
                self.sites.len()
            )));
        }
        for (i, site) in self.sites.iter().enumerate() {
            let earlier = &self.sites[..i];
            if earlier.iter().any(|s| s.name == site.name) {
                return Err(invalid(format!("site {} is listed twice", site.name)));
            }
            if earlier.iter().any(|s| s.location == site.location) {
                return Err(invalid(format!(
                    "location {} is given to two sites",
                    site.location
                )));
            }
            if !self.services.sites.contains_key(&site.location) {
                return Err(invalid(format!(
                    "services.sites has no bucket for location {} (site {})",
                    site.location, site.name
                )));
            }
        }
        if !self.services.postgres.database_uris.contains_key("quay") {
            return Err(invalid(
                "services.postgres.database_uris has no `quay` entry".to_owned(),
            ));
        }
        Ok(())
    }

    /// The site at storage location `location`.
    #[must_use]
    pub fn site_at(&self, location: &str) -> Option<&SiteTarget> {
        self.sites.iter().find(|s| s.location == location)
    }

    /// Every secret value in the target (passwords, database URIs, bucket keys), each with
    /// a label, for the run's [`crate::secrets::SecretScanner`].
    #[must_use]
    pub fn secrets(&self) -> Vec<(String, String)> {
        let services = &self.services;
        let mut secrets = vec![
            (
                "the database password".to_owned(),
                services.postgres.password.clone(),
            ),
            (
                "the Redis password".to_owned(),
                services.redis.password.clone(),
            ),
        ];
        for (name, uri) in &services.postgres.database_uris {
            secrets.push((format!("the {name} database URI"), uri.clone()));
        }
        for (location, s3) in &services.sites {
            secrets.push((format!("{location} access key"), s3.access_key.clone()));
            secrets.push((format!("{location} secret key"), s3.secret_key.clone()));
        }
        secrets
    }
}

impl SiteTarget {
    /// A kube client for this site's context.
    ///
    /// # Errors
    /// The kubeconfig could not be read or has no such context.
    pub async fn client(&self) -> Result<kube::Client, Failure> {
        let kubeconfig = kube::config::Kubeconfig::read_from(&self.kubeconfig).map_err(|e| {
            Failure::new(format!(
                "read kubeconfig {} of site {}: {}",
                self.kubeconfig.display(),
                self.name,
                crate::errors::chain(&e)
            ))
        })?;
        let options = kube::config::KubeConfigOptions {
            context: Some(self.context.clone()),
            ..Default::default()
        };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| {
                Failure::new(format!(
                    "context {} of site {}: {}",
                    self.context,
                    self.name,
                    crate::errors::chain(&e)
                ))
            })?;
        kube::Client::try_from(config).map_err(Failure::from)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::services::{PostgresEntry, RedisEntry, S3Entry};

    pub(crate) fn sample() -> Target {
        let sites: Vec<SiteTarget> = ["us-east", "eu-west", "ap-south"]
            .iter()
            .map(|name| SiteTarget {
                name: (*name).to_owned(),
                location: name.replace('-', "_"),
                kubeconfig: PathBuf::from("/tmp/kubeconfig"),
                context: (*name).to_owned(),
            })
            .collect();
        let buckets = sites
            .iter()
            .map(|s| {
                (
                    s.location.clone(),
                    S3Entry {
                        endpoint: "http://127.0.0.1:9000".to_owned(),
                        bucket: format!("quay-{}", s.name),
                        region: "us-east-1".to_owned(),
                        access_key: format!("ak-{}", s.location),
                        secret_key: format!("sk-{}-0123456789", s.location),
                    },
                )
            })
            .collect();
        Target {
            name: "sample".to_owned(),
            platform: Platform::Openshift,
            sites,
            services: ServicesFile {
                postgres: PostgresEntry {
                    host: "127.0.0.1".to_owned(),
                    port: 5432,
                    user: "quay".to_owned(),
                    password: "db-password-123".to_owned(),
                    database_uris: BTreeMap::from([(
                        "quay".to_owned(),
                        "postgresql://quay:db-password-123@127.0.0.1:5432/quay".to_owned(),
                    )]),
                    pg_trgm: true,
                },
                redis: RedisEntry {
                    host: "127.0.0.1".to_owned(),
                    port: 6379,
                    password: "redis-password-123".to_owned(),
                },
                sites: buckets,
                load_balancer: None,
            },
            global: GlobalTarget {
                quay_hostname: "quay.global.example.test".to_owned(),
                clair_hostname: None,
                quay_endpoint: None,
                clair_endpoint: None,
            },
            operator: OperatorInstall {
                method: OperatorMethod::Olm,
                namespace: "openshift-operators".to_owned(),
                name: "quay-operator".to_owned(),
            },
            terraform: Vec::new(),
            provider_dir: None,
        }
    }

    #[test]
    fn a_target_survives_its_yaml_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("target.yaml");
        let target = sample();
        target.save(&path).unwrap();
        assert_eq!(Target::load(&path).unwrap(), target);
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the file holds passwords");
    }

    #[test]
    fn a_target_with_one_site_is_refused_with_what_to_change() {
        let mut target = sample();
        target.sites.truncate(1);
        let err = target.check("t.yaml").unwrap_err().to_string();
        assert!(err.contains("at least two sites"), "{err}");
    }

    #[test]
    fn a_site_without_a_bucket_is_refused_naming_its_location() {
        let mut target = sample();
        target.services.sites.remove("eu_west");
        let err = target.check("t.yaml").unwrap_err().to_string();
        assert!(err.contains("location eu_west"), "{err}");
    }

    #[test]
    fn the_guides_target_example_is_a_valid_target() {
        let guide =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/guides/conformance.md");
        let text = std::fs::read_to_string(&guide).unwrap();
        let start = text.find("```yaml\n").unwrap() + "```yaml\n".len();
        let end = start + text[start..].find("```").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("staging.yaml");
        std::fs::write(&path, &text[start..end]).unwrap();
        let target = Target::load(&path).unwrap_or_else(|e| panic!("{}", crate::errors::chain(&e)));
        assert_eq!(target.sites.len(), 3);
        assert_eq!(target.operator.method, OperatorMethod::Olm);
    }

    #[test]
    fn an_unknown_field_is_an_error_not_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("target.yaml");
        let yaml = sample()
            .to_yaml()
            .unwrap()
            .replace("name: sample", "name: sample\ncolour: blue");
        std::fs::write(&path, yaml).unwrap();
        assert!(matches!(Target::load(&path), Err(Error::Parse { .. })));
    }
}
