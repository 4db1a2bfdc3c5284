//! The real Quay Operator on a kind cluster without OLM: the objects an OLM install of the
//! release's bundle would create, rendered from that bundle's own files.
//!
//! The bundle directory is a release's `manifests/` as published for OLM (the
//! `operators/project-quay/<version>/manifests/` folder of
//! k8s-operatorhub/community-operators; `scripts/fetch-operator-bundle.sh` fetches it): one
//! ClusterServiceVersion and the `QuayRegistry` CRD. From the CSV's `install.spec` we take
//! the Deployment and the service account's rules, as OLM does for an `AllNamespaces`
//! OperatorGroup (operator-framework/operator-lifecycle-manager,
//! `pkg/controller/operators/olm/operatorgroup.go`: namespaced `permissions` become cluster
//! wide): a ServiceAccount, one ClusterRole with `permissions` and `clusterPermissions`, its
//! binding, and the Deployment with the pod annotations OLM adds (`olm.targetNamespaces`
//! empty: watch every namespace; the CSV's `quay-version`, which the operator reads as
//! `QUAY_VERSION`). Pure: text in, objects out; `kubectl apply` happens elsewhere.
//!
//! Not modelled: OLM's CSV status, webhooks, `olm.operatorGroup` annotations, and upgrades
//! through InstallPlans (the `deployment` install method replaces the Deployment instead).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// The namespace the operator runs in.
pub const NAMESPACE: &str = "quay-operator";

/// Why the bundle could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bundle directory could not be listed or a file read.
    #[error("read operator bundle {}", path.display())]
    Read {
        /// The directory or file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The bundle directory does not exist.
    #[error(
        "operator bundle {} is not there: fetch it with `bash scripts/fetch-operator-bundle.sh` (or pass --operator-bundle DIR)",
        dir.display()
    )]
    NotFetched {
        /// The directory.
        dir: PathBuf,
    },
    /// The bundle lacks a file.
    #[error(
        "operator bundle {} has no {what}; fetch it with scripts/fetch-operator-bundle.sh",
        dir.display()
    )]
    Missing {
        /// The directory.
        dir: PathBuf,
        /// What is missing.
        what: &'static str,
    },
    /// A file is not the YAML expected.
    #[error("operator bundle file {}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// The operator's objects for one cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorManifests {
    /// The Quay version the operator deploys (the CSV's `quay-version`).
    pub quay_version: String,
    /// The operator Deployment's name.
    pub deployment: String,
    /// The CRD files, applied as they are.
    pub crds: Vec<PathBuf>,
    /// Namespace, ServiceAccount, ClusterRole, ClusterRoleBinding, Deployment.
    pub objects: Vec<Value>,
    /// Set when the bundle is not there yet ([`OperatorManifests::pending`]): what
    /// `--dry-run` shows instead of the objects.
    pub pending: Option<String>,
}

impl OperatorManifests {
    /// Reads the bundle in `dir` and renders the objects.
    ///
    /// # Errors
    /// [`Error`] naming the file at fault.
    pub fn read(dir: &Path) -> Result<Self, Error> {
        if !dir.is_dir() {
            return Err(Error::NotFetched {
                dir: dir.to_owned(),
            });
        }
        let read_err = |path: &Path| {
            let path = path.to_owned();
            move |source| Error::Read { path, source }
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(read_err(dir))?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(read_err(dir))?;
        files.sort();
        let name_ends = |p: &PathBuf, suffix: &str| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(suffix))
        };
        let csv_path = files
            .iter()
            .find(|p| name_ends(p, ".clusterserviceversion.yaml"))
            .ok_or_else(|| Error::Missing {
                dir: dir.to_owned(),
                what: "*.clusterserviceversion.yaml",
            })?;
        let crds: Vec<PathBuf> = files
            .iter()
            .filter(|p| name_ends(p, ".crd.yaml"))
            .cloned()
            .collect();
        if crds.is_empty() {
            return Err(Error::Missing {
                dir: dir.to_owned(),
                what: "*.crd.yaml",
            });
        }
        let text = std::fs::read_to_string(csv_path).map_err(read_err(csv_path))?;
        let csv: Value = serde_saphyr::from_str(&text).map_err(|e| Error::Invalid {
            path: csv_path.clone(),
            message: e.to_string(),
        })?;
        let mut manifests = render(&csv).map_err(|message| Error::Invalid {
            path: csv_path.clone(),
            message,
        })?;
        manifests.crds = crds;
        Ok(manifests)
    }

    /// Stands in for a bundle that is not fetched yet, so `--dry-run` can still print the
    /// whole plan: the release's names, and a comment where the objects would be.
    #[must_use]
    pub fn pending(dir: &Path, quay_version: &str) -> Self {
        Self {
            quay_version: quay_version.to_owned(),
            deployment: "quay-operator-tng".to_owned(),
            crds: vec![dir.join("quayregistries.crd.yaml")],
            objects: Vec::new(),
            pending: Some(format!(
                "# Namespace, ServiceAccount, ClusterRole, ClusterRoleBinding and Deployment,\n\
                 # rendered from {}/*.clusterserviceversion.yaml, which is not fetched yet:\n\
                 # bash scripts/fetch-operator-bundle.sh\n",
                dir.display()
            )),
        }
    }

    /// The objects as one multi-document YAML stream, for `kubectl apply -f -`.
    #[must_use]
    pub fn to_yaml(&self) -> String {
        if let Some(pending) = &self.pending {
            return pending.clone();
        }
        self.objects
            .iter()
            .map(|o| serde_saphyr::to_string(o).expect("JSON values always render as YAML"))
            .collect::<Vec<_>>()
            .join("---\n")
    }
}

/// Renders the objects of a parsed CSV (without CRDs).
///
/// # Errors
/// What the CSV lacks, as text.
pub fn render(csv: &Value) -> Result<OperatorManifests, String> {
    if csv["kind"] != "ClusterServiceVersion" {
        return Err(format!(
            "kind is {}, not ClusterServiceVersion",
            csv["kind"]
        ));
    }
    let quay_version = csv["metadata"]["annotations"]["quay-version"]
        .as_str()
        .ok_or("metadata.annotations.quay-version is missing")?
        .to_owned();
    let install = &csv["spec"]["install"]["spec"];
    let deployment = install["deployments"]
        .as_array()
        .and_then(|d| d.first())
        .ok_or("spec.install.spec.deployments is empty")?;
    let name = deployment["name"]
        .as_str()
        .ok_or("spec.install.spec.deployments[0].name is missing")?
        .to_owned();
    let mut spec = deployment["spec"].clone();
    let account = spec["template"]["spec"]["serviceAccountName"]
        .as_str()
        .ok_or("the operator Deployment names no serviceAccountName")?
        .to_owned();
    let annotations = &mut spec["template"]["metadata"]["annotations"];
    if !annotations.is_object() {
        *annotations = json!({});
    }
    annotations["olm.targetNamespaces"] = json!("");
    annotations["quay-version"] = json!(quay_version);
    let mut rules = Vec::new();
    for key in ["permissions", "clusterPermissions"] {
        for grant in install[key].as_array().into_iter().flatten() {
            if grant["serviceAccountName"] != account.as_str() {
                return Err(format!(
                    "{key} is for service account {}, the Deployment runs as {account}",
                    grant["serviceAccountName"]
                ));
            }
            rules.extend(grant["rules"].as_array().into_iter().flatten().cloned());
        }
    }
    if rules.is_empty() {
        return Err("the CSV grants its service account no rules".to_owned());
    }
    let labels = json!({"app.kubernetes.io/managed-by": "georep-harness"});
    let objects = vec![
        json!({"apiVersion": "v1", "kind": "Namespace",
               "metadata": {"name": NAMESPACE, "labels": labels}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"name": account, "namespace": NAMESPACE, "labels": labels}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
               "metadata": {"name": "quay-operator", "labels": labels},
               "rules": rules}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": "quay-operator", "labels": labels},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                           "name": "quay-operator"},
               "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE}]}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels},
               "spec": spec}),
    ];
    Ok(OperatorManifests {
        quay_version,
        deployment: name,
        crds: Vec::new(),
        objects,
        pending: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn testdata() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/backend/kind/testdata/operator-bundle")
    }

    #[test]
    fn the_bundle_becomes_an_all_namespaces_install_of_its_deployment() {
        let m = OperatorManifests::read(&testdata()).unwrap();
        assert_eq!(m.quay_version, "3.16.5");
        assert_eq!(m.deployment, "quay-operator-tng");
        assert_eq!(m.crds.len(), 1);
        let kinds: Vec<_> = m
            .objects
            .iter()
            .map(|o| o["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "Namespace",
                "ServiceAccount",
                "ClusterRole",
                "ClusterRoleBinding",
                "Deployment"
            ]
        );
        let deployment = &m.objects[4];
        let pod = &deployment["spec"]["template"];
        assert_eq!(pod["metadata"]["annotations"]["quay-version"], "3.16.5");
        assert_eq!(pod["metadata"]["annotations"]["olm.targetNamespaces"], "");
        assert_eq!(
            pod["spec"]["containers"][0]["image"],
            "quay.io/projectquay/quay-operator:3.16.5"
        );
        let rules = m.objects[2]["rules"].as_array().unwrap();
        assert!(
            rules.iter().any(|r| r["apiGroups"][0] == "quay.redhat.com"),
            "{rules:?}"
        );
        assert!(m.to_yaml().contains("---\n"), "one stream of documents");
    }

    #[test]
    fn a_bundle_not_fetched_says_how_to_fetch_it() {
        let err = OperatorManifests::read(Path::new("/nonexistent/manifests")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "operator bundle /nonexistent/manifests is not there: fetch it with \
             `bash scripts/fetch-operator-bundle.sh` (or pass --operator-bundle DIR)"
        );
        let pending = OperatorManifests::pending(Path::new("/b"), "3.16.5");
        assert!(
            pending
                .to_yaml()
                .contains("bash scripts/fetch-operator-bundle.sh")
        );
    }

    #[test]
    fn a_bundle_without_a_csv_says_how_to_fetch_one() {
        let dir = tempfile::tempdir().unwrap();
        let err = OperatorManifests::read(dir.path()).unwrap_err();
        assert!(
            err.to_string()
                .contains("has no *.clusterserviceversion.yaml")
                && err.to_string().contains("scripts/fetch-operator-bundle.sh"),
            "{err}"
        );
    }

    #[test]
    fn a_csv_without_a_quay_version_is_refused() {
        let csv = json!({"kind": "ClusterServiceVersion", "metadata": {"annotations": {}}});
        assert_eq!(
            render(&csv).unwrap_err(),
            "metadata.annotations.quay-version is missing"
        );
    }
}
