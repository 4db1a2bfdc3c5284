//! The parts of `resource "quay_georep_site"` for a site written from write-only twins
//! (`georep_site_twins.rs`), whose secrets are in neither plan nor state: which site a state
//! is about ([`Target`], from its `id`), and the site rendered with those secrets from the
//! live bundle for a refresh ([`live_site`]; they stay in memory).

use serde_json::Value as Json;

use super::convert::cluster_error;
use super::georep_site_model::{SiteResults, Warnings, site};
use super::georep_site_twins::TWINS;
use super::model::Field;
use super::provider_data::ProviderData;
use crate::cluster::Kind;
use crate::georep::site::{MANAGED_BY, MANAGED_BY_LABEL, SITE_LABEL, Site, import_site};
use crate::tfvalue::{Diagnostic, Diagnostics, Value};

/// The label selector of a site's bundle Secrets.
pub(super) fn labels(name: &str) -> String {
    format!("{MANAGED_BY_LABEL}={MANAGED_BY},{SITE_LABEL}={name}")
}

/// Which site an operation is about, when no configuration says it: the parts of the `id`
/// recorded in the state.
pub(super) struct Target {
    pub(super) cluster: String,
    pub(super) namespace: String,
    pub(super) name: String,
}

impl Target {
    pub(super) fn of(site: &Site) -> Self {
        Self {
            cluster: site.cluster().to_owned(),
            namespace: site.namespace().as_str().to_owned(),
            name: site.name().as_str().to_owned(),
        }
    }

    /// The site of a state, from its `id` (`cluster/namespace/name`).
    pub(super) fn of_state(state: &Value) -> Result<Self, Diagnostic> {
        let id = SiteResults::read(state)
            .id
            .known()
            .cloned()
            .unwrap_or_default();
        match id.split('/').collect::<Vec<_>>().as_slice() {
            [cluster, namespace, name] => Ok(Self {
                cluster: (*cluster).to_owned(),
                namespace: (*namespace).to_owned(),
                name: (*name).to_owned(),
            }),
            _ => Err(Diagnostic::error(
                "Provider Bug: Site Id",
                format!(
                    "the state's id {id:?} is not cluster/namespace/name; this is a bug in \
                     terraform-provider-quay, please report it"
                ),
            )),
        }
    }

    pub(super) fn id(&self) -> String {
        format!("{}/{}/{}", self.cluster, self.namespace, self.name)
    }
}

/// What [`live_site`] found.
pub(super) enum LiveSite {
    /// The `QuayRegistry` is gone.
    Gone,
    /// No bundle Secret to read the config from: the state as it was, with the missing Secret
    /// as drift.
    BundleMissing(Value),
    /// The site as its live config bundle describes it.
    Rendered(Box<Site>),
}

/// The site `state` (written from write-only twins) describes, rendered with each twin's
/// secret from its live bundle Secret (the one the state records, else the one the
/// `QuayRegistry` names): `config.yaml`, the Clair database of `clair-config.yaml`, `ssl.key`.
/// The secrets stay in memory.
///
/// # Errors
///
/// When the cluster cannot be read, or the live config no longer describes the site.
pub(super) async fn live_site(
    data: &ProviderData,
    target: &Target,
    state: &Value,
) -> Result<LiveSite, Diagnostic> {
    let cluster = data.cluster(&target.cluster).await?;
    let namespace = target.namespace.as_str();
    let read_failed = |err: crate::cluster::Error| cluster_error("Read Failed", &err);
    let Some(registry) = cluster
        .get(&Kind::QUAY_REGISTRY, Some(namespace), &target.name)
        .await
        .map_err(read_failed)?
    else {
        return Ok(LiveSite::Gone);
    };
    let recorded = SiteResults::read(state).bundle_secret_name.known().cloned();
    let named = registry
        .pointer("/spec/configBundleSecret")
        .and_then(Json::as_str)
        .map(str::to_owned);
    let mut bundle = None;
    for name in [recorded.clone(), named].into_iter().flatten() {
        bundle = cluster
            .get(&Kind::SECRET, Some(namespace), &name)
            .await
            .map_err(read_failed)?;
        if bundle.is_some() {
            break;
        }
    }
    let Some(bundle) = bundle else {
        let mut kept = state.clone();
        let mut results = SiteResults::read(&kept);
        let missing = recorded.unwrap_or_default();
        results.drift = Field::Known(vec![format!("Secret {namespace}/{missing} is missing")]);
        results.write_into(&mut kept);
        return Ok(LiveSite::BundleMissing(kept));
    };
    let live = import_site(&target.cluster, &registry, &bundle)
        .map_err(|err| Diagnostic::error("Config Bundle Without config.yaml", err.to_string()))?;
    let mut rendered = state.clone();
    for twin in TWINS.iter().filter(|t| t.maybe_written_from_twin(state)) {
        if let Some(secret) = twin.live_value(&live) {
            twin.set(
                &mut rendered,
                twin.write_only,
                Value::string(secret.expose()),
            );
        }
    }
    let mut found = Diagnostics::default();
    let Some(site) = site(&rendered, Some(data), Warnings::Skip, &mut found) else {
        return Err(Diagnostic::error(
            "Live Config Unusable",
            format!(
                "{}: its live config bundle (config.yaml, clair-config.yaml, ssl.key) no \
                 longer describes this site ({}); apply the configuration to write it again",
                target.id(),
                found
                    .errors()
                    .map(|d| d.summary.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    };
    Ok(LiveSite::Rendered(Box::new(site)))
}
