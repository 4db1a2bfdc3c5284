//! The component images the operator model deploys: taken from its own Deployment's
//! `RELATED_IMAGE_COMPONENT_*` env vars, as the real operator does (quay-operator
//! `pkg/kustomize/kustomize.go`, `ComponentImageFor`: `RELATED_IMAGE_COMPONENT_QUAY` for
//! quay-app, quay-mirror and the upgrade Job, `RELATED_IMAGE_COMPONENT_CLAIR` for clair-app).
//! Its version (`QUAY_VERSION`) decides only whether to migrate and what `currentVersion`
//! becomes, so an operator upgraded in its version but not in its images runs the migration
//! Job and the pods on the old image: the pods and the Job run the version of their image
//! ([`version_of_image`]), not the operator's.
//!
//! Differs from the real operator: without the env var, the real operator keeps kustomize's
//! base image (`quay.io/projectquay/quay:latest`, `kustomize/base/quay.deployment.yaml`),
//! which names no version; the model uses the operator version's release image instead, so
//! that operators installed without the env vars (the plain Deployment of
//! `crate::sim::olm::install_operator_deployment`; the simulated OLM's CSV names them) still
//! deploy their version.

use serde_json::{Value, json};

use crate::quay::{COMPONENT_LABEL, QuayVersion};

/// The env var naming the Quay image (quay-app, quay-mirror, the upgrade Job).
pub const QUAY_IMAGE_ENV: &str = "RELATED_IMAGE_COMPONENT_QUAY";
/// The env var naming the Clair image (clair-app).
pub const CLAIR_IMAGE_ENV: &str = "RELATED_IMAGE_COMPONENT_CLAIR";

/// The component images an operator Deployment names; `None` where it names none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComponentImages {
    /// `RELATED_IMAGE_COMPONENT_QUAY`.
    pub quay: Option<String>,
    /// `RELATED_IMAGE_COMPONENT_CLAIR`.
    pub clair: Option<String>,
}

impl ComponentImages {
    /// The images named by `env` (name and value pairs of the operator's container).
    #[must_use]
    pub fn from_env<'a>(env: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut images = Self::default();
        for (name, value) in env {
            let slot = match name {
                QUAY_IMAGE_ENV => &mut images.quay,
                CLAIR_IMAGE_ENV => &mut images.clair,
                _ => continue,
            };
            *slot = Some(value.to_owned()).filter(|v| !v.is_empty());
        }
        images
    }

    /// The Quay image to deploy for an operator at `version`.
    #[must_use]
    pub fn quay_for(&self, version: QuayVersion) -> String {
        self.quay
            .clone()
            .unwrap_or_else(|| release_quay_image(version))
    }

    /// The Clair image to deploy for an operator at `version`.
    #[must_use]
    pub fn clair_for(&self, version: QuayVersion) -> String {
        self.clair
            .clone()
            .unwrap_or_else(|| release_clair_image(version))
    }
}

/// `RELATED_IMAGE_COMPONENT_QUAY` of `version`'s released CSV: `hack/prepare-upstream.sh`
/// writes `quay.io/projectquay/quay:${RELEASE}`, the version without a `v`.
#[must_use]
pub fn release_quay_image(version: QuayVersion) -> String {
    format!("quay.io/projectquay/quay:{version}")
}

/// `RELATED_IMAGE_COMPONENT_CLAIR` of `version`'s released CSV (community-operators
/// `operators/project-quay/<version>/`; the release input `CLAIR_RELEASE` of
/// `hack/prepare-upstream.sh`): 4.7.4 in 3.11, 4.9.0 from 3.17, 4.8.0 otherwise.
#[must_use]
pub fn release_clair_image(version: QuayVersion) -> String {
    let clair = match (version.major, version.minor) {
        (3, 11) => "4.7.4",
        (3, 17..) | (4.., _) => "4.9.0",
        _ => "4.8.0",
    };
    format!("quay.io/projectquay/clair:{clair}")
}

/// The `RELATED_IMAGE_COMPONENT_*` env vars a released CSV of `version` gives the operator,
/// as far as the model reads them.
#[must_use]
pub fn release_env(version: QuayVersion) -> Vec<Value> {
    vec![
        json!({"name": QUAY_IMAGE_ENV, "value": release_quay_image(version)}),
        json!({"name": CLAIR_IMAGE_ENV, "value": release_clair_image(version)}),
    ]
}

/// The Quay version an image runs: its tag (`quay:3.15.7` or `quay:v3.15.7`); `None` for a
/// digest, no tag, or a tag that is not a version.
#[must_use]
pub fn version_of_image(image: &str) -> Option<QuayVersion> {
    if image.contains('@') {
        return None;
    }
    let (repository, tag) = image.rsplit_once(':')?;
    if tag.contains('/') || repository.is_empty() {
        return None;
    }
    tag.parse().ok()
}

/// Sets the container images of the rendered quay-app, quay-mirror and clair-app
/// Deployments and of the upgrade Job (found by their `quay-component` label) to `images`
/// for an operator at `version`.
pub fn apply(objects: &mut [Value], images: &ComponentImages, version: QuayVersion) {
    for object in objects {
        let component = object["metadata"]["labels"][COMPONENT_LABEL]
            .as_str()
            .unwrap_or_default();
        let image = match (object["kind"].as_str(), component) {
            (Some("Deployment"), "quay-app" | "quay-mirror") | (Some("Job"), _) => {
                images.quay_for(version)
            }
            (Some("Deployment"), "clair-app") => images.clair_for(version),
            _ => continue,
        };
        if let Some(containers) = object["spec"]["template"]["spec"]["containers"].as_array_mut() {
            for container in containers {
                container["image"] = json!(image);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> QuayVersion {
        text.parse().unwrap()
    }

    #[test]
    fn images_come_from_the_related_image_env_vars() {
        let images = ComponentImages::from_env([
            ("QUAY_VERSION", "3.15.7"),
            (QUAY_IMAGE_ENV, "quay.io/projectquay/quay:3.14.8"),
            (CLAIR_IMAGE_ENV, "quay.io/projectquay/clair:4.8.0"),
        ]);
        assert_eq!(
            images.quay_for(v("3.15.7")),
            "quay.io/projectquay/quay:3.14.8"
        );
        assert_eq!(
            images.clair_for(v("3.15.7")),
            "quay.io/projectquay/clair:4.8.0"
        );
        let none = ComponentImages::default();
        assert_eq!(
            none.quay_for(v("3.15.7")),
            "quay.io/projectquay/quay:3.15.7"
        );
        assert_eq!(
            none.clair_for(v("3.17.4")),
            "quay.io/projectquay/clair:4.9.0"
        );
    }

    #[test]
    fn an_image_runs_the_version_of_its_tag() {
        assert_eq!(
            version_of_image("quay.io/projectquay/quay:3.14.8"),
            Some(v("3.14.8"))
        );
        assert_eq!(
            version_of_image("quay.io/projectquay/quay:v3.14.8"),
            Some(v("3.14.8"))
        );
        assert_eq!(version_of_image("quay.io/projectquay/quay:latest"), None);
        assert_eq!(version_of_image("quay.io/projectquay/quay@sha256:ab"), None);
        assert_eq!(version_of_image("localhost:5000/quay"), None);
    }

    #[test]
    fn the_rendered_quay_objects_get_the_operators_quay_image() {
        let deployment = |component: &str| {
            json!({"kind": "Deployment", "metadata": {"labels": {COMPONENT_LABEL: component}},
                   "spec": {"template": {"spec": {"containers": [{"name": component, "image": "x"}]}}}})
        };
        let mut objects = vec![
            deployment("quay-app"),
            deployment("quay-mirror"),
            deployment("clair-app"),
            json!({"kind": "Job", "metadata": {"labels": {COMPONENT_LABEL: "quay-app-upgrade"}},
                   "spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}),
            json!({"kind": "Service", "metadata": {"labels": {COMPONENT_LABEL: "quay-app"}}}),
        ];
        let images = ComponentImages {
            quay: Some("quay.io/projectquay/quay:3.14.8".to_owned()),
            clair: None,
        };
        apply(&mut objects, &images, v("3.15.7"));
        let image =
            |i: usize| objects[i]["spec"]["template"]["spec"]["containers"][0]["image"].clone();
        assert_eq!(image(0), json!("quay.io/projectquay/quay:3.14.8"));
        assert_eq!(image(1), json!("quay.io/projectquay/quay:3.14.8"));
        assert_eq!(image(2), json!("quay.io/projectquay/clair:4.8.0"));
        assert_eq!(image(3), json!("quay.io/projectquay/quay:3.14.8"));
        assert_eq!(objects[4].get("spec"), None);
    }
}
