//! [`perform`]: carries out one [`Action`] of the upgrade state machine on the clusters.
//!
//! Every action is idempotent (performing it twice is harmless). The Lease is taken as a
//! compare-and-swap: create when absent, otherwise replace with the `resourceVersion` just
//! read, so of two runs racing for it exactly one wins and the other gets
//! [`Error::LeaseHeld`]. A write whose reply was lost is settled by reading the Lease again:
//! if it holds our identity and the renewal we sent, the write landed. Before every other
//! change the run calls [`check_lease`], so nothing is changed on a Lease that lapsed or
//! was taken over meanwhile. `QuayRegistry` components are changed by reading the object and
//! writing its whole `spec.components` list back with a merge patch that carries the
//! `resourceVersion` read, keeping every other component and override as found.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use tracing::info;

use super::clock::micro_time;
use super::lease::LeaseClock;
use super::observe::{CutShort, annotation_key, lease_holder};
use crate::cluster::{Cluster, Clusters, Error as ClusterError, Kind};
use crate::georep::upgrade::{
    Action, Component, LEASE_NAME, OperatorUpgrade, PROGRESS_CONFIG_MAP, RegistryStatus,
    RelatedImages, SCALED_DOWN_ANNOTATION, SiteId, StatusRequest, Timestamp, UpgradeRequest,
};

/// Why an action could not be performed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A cluster request failed.
    #[error("{what}")]
    Cluster {
        /// What was being done, in words.
        what: String,
        /// The cause.
        #[source]
        source: ClusterError,
    },
    /// Someone else holds the Lease (or took it between our read and our write).
    #[error(
        "Lease {LEASE_NAME} in namespace {namespace} on cluster {cluster} is held by {holder} until {expires}"
    )]
    LeaseHeld {
        /// The primary's cluster.
        cluster: String,
        /// The primary's namespace.
        namespace: String,
        /// The holder found.
        holder: String,
        /// When its hold expires, RFC 3339 (or `unknown`).
        expires: String,
    },
    /// Before a change, the Lease was found no longer ours (lapsed, released or taken).
    #[error(
        "Lease {LEASE_NAME} in namespace {namespace} on cluster {cluster} is no longer held by this run ({found}); nothing was changed"
    )]
    LeaseLost {
        /// The primary's cluster.
        cluster: String,
        /// The primary's namespace.
        namespace: String,
        /// What was found instead, in words.
        found: String,
    },
    /// An object the action changes does not exist.
    #[error("{object} on cluster {cluster} does not exist")]
    Missing {
        /// The cluster.
        cluster: String,
        /// The object, `Kind namespace/name`.
        object: String,
    },
}

impl Error {
    /// The request the operation's deadline or Terraform's stop cut short, if that is what
    /// failed.
    pub(crate) fn cut_short(&self) -> Option<CutShort> {
        match self {
            Self::Cluster { source, .. } => CutShort::of(source),
            _ => None,
        }
    }

    /// Whether observing again and retrying may succeed: connection failures, 409, 429 and
    /// 5xx answers, and a Lease found lost before a change (the next round takes it again or
    /// reports its holder). A Lease held by someone else, a missing object and other
    /// refusals are final. A request cut short by the deadline or a stop counts as retryable
    /// (the run's loop asks `Error::cut_short` first and ends with the timeout or the
    /// interruption).
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Cluster { source, .. } => match source.status_code() {
                None => matches!(
                    source,
                    ClusterError::Api { .. }
                        | ClusterError::Deadline { .. }
                        | ClusterError::Stopped { .. }
                ),
                Some(code) => code == 409 || code == 429 || code >= 500,
            },
            Self::LeaseLost { .. } => true,
            Self::LeaseHeld { .. } | Self::Missing { .. } => false,
        }
    }
}

fn cluster_error(what: impl Into<String>) -> impl FnOnce(ClusterError) -> Error {
    let what = what.into();
    move |source| Error::Cluster { what, source }
}

async fn cluster_of(clusters: &Clusters, site: &SiteId) -> Result<Cluster, Error> {
    clusters
        .get(site.cluster())
        .await
        .map_err(cluster_error(format!(
            "connect to cluster {}",
            site.cluster()
        )))
}

/// Performs `action` at time `now` for `request`; `lease_clock` hears of Lease writes.
///
/// # Errors
///
/// [`Error`] when a cluster request fails, the Lease is held by another run, or an object to
/// change is missing; [`Error::is_retryable`] says whether the next round may succeed.
pub async fn perform(
    clusters: &Clusters,
    request: &UpgradeRequest,
    action: &Action,
    now: Timestamp,
    lease_clock: &mut LeaseClock,
) -> Result<(), Error> {
    let primary = request.primary();
    match action {
        Action::Wait { .. } => Ok(()),
        Action::AcquireLease { holder, duration } => {
            let cluster = cluster_of(clusters, primary).await?;
            let write = LeaseWrite {
                cluster: &cluster,
                namespace: primary.namespace(),
                holder,
                seconds: duration.as_secs(),
                now,
            };
            let stored = write.acquire(lease_clock).await?;
            lease_clock.wrote(&stored, now);
            Ok(())
        }
        Action::RenewLease { holder, duration } => {
            let cluster = cluster_of(clusters, primary).await?;
            let write = LeaseWrite {
                cluster: &cluster,
                namespace: primary.namespace(),
                holder,
                seconds: duration.as_secs(),
                now,
            };
            let stored = write.renew(lease_clock).await?;
            lease_clock.wrote(&stored, now);
            Ok(())
        }
        Action::ReleaseLease { holder } => {
            let cluster = cluster_of(clusters, primary).await?;
            release_lease(&cluster, primary.namespace(), holder).await
        }
        Action::WriteProgress(progress) => {
            let cluster = cluster_of(clusters, primary).await?;
            let manifest = json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {
                    "name": PROGRESS_CONFIG_MAP, "namespace": primary.namespace(),
                    "labels": {"app.kubernetes.io/managed-by": "terraform-provider-quay"},
                },
                "data": progress.to_configmap_data(),
            });
            cluster
                .apply(&manifest)
                .await
                .map(|_| ())
                .map_err(cluster_error(format!(
                    "record progress in ConfigMap {PROGRESS_CONFIG_MAP}"
                )))
        }
        Action::ClearProgress => {
            let cluster = cluster_of(clusters, primary).await?;
            cluster
                .delete(
                    &Kind::CONFIG_MAP,
                    Some(primary.namespace()),
                    PROGRESS_CONFIG_MAP,
                )
                .await
                .map(|_| ())
                .map_err(cluster_error(format!(
                    "delete ConfigMap {PROGRESS_CONFIG_MAP}"
                )))
        }
        Action::ScaleDown { site, components } => {
            let replicas = components.iter().map(|c| (*c, Some(0))).collect();
            edit_components(clusters, site, &replicas, false, true).await
        }
        Action::Restore {
            site,
            replicas,
            hpa_managed,
        } => edit_components(clusters, site, replicas, *hpa_managed, false).await,
        Action::UpgradeOperator { site, how } => upgrade_operator(clusters, site, how).await,
        Action::RequestStatus { site, request } => request_status(clusters, site, *request).await,
    }
}

async fn request_status(
    clusters: &Clusters,
    site: &SiteId,
    request: StatusRequest,
) -> Result<(), Error> {
    let cluster = cluster_of(clusters, site).await?;
    ask_for_status(&cluster, site.namespace(), site.name(), request)
        .await
        .map_err(cluster_error(format!(
            "ask the operator for a fresh status of QuayRegistry {}/{}",
            site.namespace(),
            site.name()
        )))
}

/// Sets the annotations of `request` on the `QuayRegistry` `namespace/name`: a change of the
/// object, which the operator's status controller answers by evaluating its status again
/// (the upgrade's waits and the site resource's share it).
///
/// # Errors
/// The cluster's, when the patch fails.
pub(crate) async fn ask_for_status(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
    request: StatusRequest,
) -> Result<(), ClusterError> {
    let annotations: serde_json::Map<String, Value> = request
        .annotations()
        .into_iter()
        .map(|(key, value)| (key.to_owned(), Value::String(value)))
        .collect();
    let patch = json!({"metadata": {"annotations": annotations}});
    cluster
        .merge_patch(&Kind::QUAY_REGISTRY, Some(namespace), name, &patch)
        .await
        .map(|_| ())
}

fn lease_manifest(
    namespace: &str,
    holder: Option<&str>,
    seconds: u64,
    now: Timestamp,
    previous: Option<&Value>,
) -> Value {
    let mut manifest = json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": LEASE_NAME, "namespace": namespace},
        "spec": {"leaseDurationSeconds": seconds, "renewTime": micro_time(now)},
    });
    if let Some(holder) = holder {
        manifest["spec"]["holderIdentity"] = json!(holder);
    }
    if let Some(previous) = previous {
        manifest["metadata"]["resourceVersion"] = previous["metadata"]["resourceVersion"].clone();
        manifest["spec"]["acquireTime"] = previous["spec"]["acquireTime"].clone();
        manifest["spec"]["leaseTransitions"] = previous["spec"]["leaseTransitions"].clone();
    }
    manifest
}

async fn read_lease(cluster: &Cluster, namespace: &str) -> Result<Option<Value>, Error> {
    cluster
        .get(&Kind::LEASE, Some(namespace), LEASE_NAME)
        .await
        .map_err(cluster_error(format!("read Lease {LEASE_NAME}")))
}

/// Checks, just before a change, that the Lease is still held by `request`'s holder and has
/// not lapsed on this process's clock.
///
/// # Errors
///
/// [`Error::LeaseLost`] (retryable: the next round observes again) when it is not; a
/// cluster error when it cannot be read.
pub(crate) async fn check_lease(
    clusters: &Clusters,
    request: &UpgradeRequest,
    lease_clock: &mut LeaseClock,
    now: Timestamp,
) -> Result<(), Error> {
    let primary = request.primary();
    let cluster = cluster_of(clusters, primary).await?;
    let found = read_lease(&cluster, primary.namespace()).await?;
    let seen = lease_clock.observe(found.as_ref(), now);
    let lost = |found: String| Error::LeaseLost {
        cluster: cluster.key().to_owned(),
        namespace: primary.namespace().to_owned(),
        found,
    };
    match seen {
        None => Err(lost("the Lease does not exist".to_owned())),
        Some(seen) => match seen.live_holder(now) {
            Some(holder) if holder == request.holder() => Ok(()),
            Some(other) => Err(lost(format!("held by {other}"))),
            None if seen.holder.as_deref() == Some(request.holder()) => {
                Err(lost("it lapsed before it was renewed".to_owned()))
            }
            None => Err(lost("released".to_owned())),
        },
    }
}

/// One write of the Lease by `holder` at `now`.
struct LeaseWrite<'a> {
    cluster: &'a Cluster,
    namespace: &'a str,
    holder: &'a str,
    seconds: u64,
    now: Timestamp,
}

impl LeaseWrite<'_> {
    fn held(&self, holder: &str, expires: Option<Timestamp>) -> Error {
        Error::LeaseHeld {
            cluster: self.cluster.key().to_owned(),
            namespace: self.namespace.to_owned(),
            holder: holder.to_owned(),
            expires: expires.map_or_else(|| "unknown".to_owned(), |t| t.to_string()),
        }
    }

    /// Settles a write that failed or whose reply was lost (the cluster layer's retry of a
    /// write that had landed meets a 409): read the Lease again; if it holds our identity
    /// and the renewal we sent, the write landed. Otherwise `failed` stands, or (after a
    /// conflict) the holder found.
    async fn settle(
        &self,
        failed: ClusterError,
        what: &str,
        lease_clock: &mut LeaseClock,
    ) -> Result<Value, Error> {
        let conflict = failed.is_conflict();
        let found = read_lease(self.cluster, self.namespace)
            .await
            .ok()
            .flatten();
        if let Some(found) = found.as_ref()
            && lease_holder(found) == Some(self.holder)
            && found["spec"]["renewTime"].as_str() == Some(micro_time(self.now).as_str())
        {
            info!(
                holder = self.holder,
                "the Lease write landed though its reply was lost"
            );
            return Ok(found.clone());
        }
        if !conflict {
            return Err(cluster_error(format!("{what} Lease {LEASE_NAME}"))(failed));
        }
        let seen = lease_clock.observe(found.as_ref(), self.now);
        let holder = seen
            .as_ref()
            .and_then(|s| s.holder.clone())
            .unwrap_or_else(|| "another run".to_owned());
        Err(self.held(&holder, seen.and_then(|s| s.expires)))
    }

    async fn acquire(&self, lease_clock: &mut LeaseClock) -> Result<Value, Error> {
        let (namespace, holder, now) = (self.namespace, self.holder, self.now);
        match read_lease(self.cluster, namespace).await? {
            None => {
                let mut manifest = lease_manifest(namespace, Some(holder), self.seconds, now, None);
                manifest["spec"]["acquireTime"] = json!(micro_time(now));
                manifest["spec"]["leaseTransitions"] = json!(0);
                match self.cluster.create(&manifest).await {
                    Ok(stored) => Ok(stored),
                    Err(e) => self.settle(e, "create", lease_clock).await,
                }
            }
            Some(lease) => {
                let seen = lease_clock.observe(Some(&lease), now);
                if let Some(seen) = &seen
                    && let Some(other) = seen.live_holder(now)
                    && other != holder
                {
                    return Err(self.held(other, seen.expires));
                }
                let mut manifest =
                    lease_manifest(namespace, Some(holder), self.seconds, now, Some(&lease));
                if lease_holder(&lease) != Some(holder) {
                    manifest["spec"]["acquireTime"] = json!(micro_time(now));
                    let transitions = lease["spec"]["leaseTransitions"].as_i64().unwrap_or(0);
                    manifest["spec"]["leaseTransitions"] = json!(transitions.saturating_add(1));
                }
                match self.cluster.replace(&manifest).await {
                    Ok(stored) => {
                        info!(holder, "took Lease {LEASE_NAME}");
                        Ok(stored)
                    }
                    Err(e) => self.settle(e, "take", lease_clock).await,
                }
            }
        }
    }

    async fn renew(&self, lease_clock: &mut LeaseClock) -> Result<Value, Error> {
        let (namespace, holder, now) = (self.namespace, self.holder, self.now);
        let lease = read_lease(self.cluster, namespace).await?;
        match lease {
            Some(lease) if lease_holder(&lease) == Some(holder) => {
                let manifest =
                    lease_manifest(namespace, Some(holder), self.seconds, now, Some(&lease));
                match self.cluster.replace(&manifest).await {
                    Ok(stored) => Ok(stored),
                    Err(e) => self.settle(e, "renew", lease_clock).await,
                }
            }
            other => {
                let seen = lease_clock.observe(other.as_ref(), now);
                let holder = seen
                    .as_ref()
                    .and_then(|s| s.holder.clone())
                    .unwrap_or_else(|| "another run".to_owned());
                Err(self.held(&holder, seen.and_then(|s| s.expires)))
            }
        }
    }
}

async fn release_lease(cluster: &Cluster, namespace: &str, holder: &str) -> Result<(), Error> {
    let Some(lease) = read_lease(cluster, namespace).await? else {
        return Ok(());
    };
    if lease_holder(&lease) != Some(holder) {
        return Ok(());
    }
    let mut manifest = lease.clone();
    if let Some(spec) = manifest["spec"].as_object_mut() {
        spec.remove("holderIdentity");
    }
    cluster
        .replace(&manifest)
        .await
        .map(|_| ())
        .map_err(cluster_error(format!("release Lease {LEASE_NAME}")))
}

/// Sets `overrides.replicas` of the given components (`None` removes it) and the HPA's
/// `managed`, keeping everything else of `spec.components`.
pub(crate) fn edited_components(
    components: &[Value],
    replicas: &BTreeMap<Component, Option<u32>>,
    hpa_managed: bool,
) -> Vec<Value> {
    let mut out: Vec<Value> = components.to_vec();
    let mut hpa_seen = false;
    for entry in &mut out {
        let kind = entry["kind"].as_str().unwrap_or_default().to_owned();
        if kind == "horizontalpodautoscaler" {
            entry["managed"] = json!(hpa_managed);
            hpa_seen = true;
            continue;
        }
        let Some((_, value)) = replicas.iter().find(|(c, _)| c.kind() == kind) else {
            continue;
        };
        let Some(object) = entry.as_object_mut() else {
            continue;
        };
        let overrides = object
            .entry("overrides")
            .or_insert_with(|| Value::Object(Map::new()));
        if !overrides.is_object() {
            *overrides = Value::Object(Map::new());
        }
        if let Some(overrides) = overrides.as_object_mut() {
            match value {
                Some(n) => {
                    overrides.insert("replicas".to_owned(), json!(n));
                }
                None => {
                    overrides.remove("replicas");
                }
            }
        }
    }
    if !hpa_seen {
        out.push(json!({"kind": "horizontalpodautoscaler", "managed": hpa_managed}));
    }
    out
}

async fn edit_components(
    clusters: &Clusters,
    site: &SiteId,
    replicas: &BTreeMap<Component, Option<u32>>,
    hpa_managed: bool,
    scaled_down: bool,
) -> Result<(), Error> {
    let cluster = cluster_of(clusters, site).await?;
    let ns = Some(site.namespace());
    let object = Kind::QUAY_REGISTRY.describe(ns, site.name());
    let registry = cluster
        .get(&Kind::QUAY_REGISTRY, ns, site.name())
        .await
        .map_err(cluster_error(format!("read {object}")))?
        .ok_or_else(|| Error::Missing {
            cluster: site.cluster().to_owned(),
            object: object.clone(),
        })?;
    let components = registry["spec"]["components"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let edited = edited_components(&components, replicas, hpa_managed);
    let marked = RegistryStatus::read(&registry).is_held_for_upgrade();
    if edited == components && marked == scaled_down {
        return Ok(());
    }
    // The mark tells the site resource these replicas are the upgrade's (see
    // SCALED_DOWN_ANNOTATION); null removes it in a merge patch.
    let mark = if scaled_down {
        json!("true")
    } else {
        Value::Null
    };
    let patch = json!({
        "metadata": {
            "resourceVersion": registry["metadata"]["resourceVersion"],
            "annotations": {SCALED_DOWN_ANNOTATION: mark},
        },
        "spec": {"components": edited},
    });
    cluster
        .merge_patch(&Kind::QUAY_REGISTRY, ns, site.name(), &patch)
        .await
        .map(|_| ())
        .map_err(cluster_error(format!("set replicas and HPA on {object}")))
}

async fn upgrade_operator(
    clusters: &Clusters,
    site: &SiteId,
    how: &OperatorUpgrade,
) -> Result<(), Error> {
    let cluster = cluster_of(clusters, site).await?;
    match how {
        OperatorUpgrade::SetSubscriptionChannel {
            namespace,
            subscription,
            channel,
            catalog,
        } => cluster
            .merge_patch(
                &Kind::SUBSCRIPTION,
                Some(namespace),
                subscription,
                &match catalog {
                    None => json!({"spec": {"channel": channel}}),
                    Some(c) => json!({"spec": {
                        "channel": channel, "source": c.name, "sourceNamespace": c.namespace,
                    }}),
                },
            )
            .await
            .map(|_| ())
            .map_err(cluster_error(format!(
                "set channel {channel} on Subscription {namespace}/{subscription}"
            ))),
        OperatorUpgrade::ApproveInstallPlan {
            namespace, name, ..
        } => cluster
            .merge_patch(
                &Kind::INSTALL_PLAN,
                Some(namespace),
                name,
                &json!({"spec": {"approved": true}}),
            )
            .await
            .map(|_| ())
            .map_err(cluster_error(format!(
                "approve InstallPlan {namespace}/{name}"
            ))),
        OperatorUpgrade::PatchDeployment {
            namespace,
            name,
            image,
            quay_version,
            related_images,
        } => {
            let object = Kind::DEPLOYMENT.describe(Some(namespace), name);
            let deployment = cluster
                .get(&Kind::DEPLOYMENT, Some(namespace), name)
                .await
                .map_err(cluster_error(format!("read {object}")))?
                .ok_or_else(|| Error::Missing {
                    cluster: site.cluster().to_owned(),
                    object: object.clone(),
                })?;
            let template = &deployment["spec"]["template"];
            let Some(edited) = operator_template(template, image, quay_version, related_images)
            else {
                return Err(Error::Missing {
                    cluster: site.cluster().to_owned(),
                    object: format!("a container in {object}"),
                });
            };
            if edited == *template {
                return Ok(());
            }
            let patch = json!({
                "metadata": {"resourceVersion": deployment["metadata"]["resourceVersion"]},
                "spec": {"template": edited},
            });
            cluster
                .merge_patch(&Kind::DEPLOYMENT, Some(namespace), name, &patch)
                .await
                .map(|_| ())
                .map_err(cluster_error(format!(
                    "set the operator image, QUAY_VERSION and component images of {object}"
                )))
        }
    }
}

/// The operator Deployment's pod `template` with the target set on the operator's container
/// (named `quay-operator`, else the first): its image, every `RELATED_IMAGE_COMPONENT_*` env
/// var of `related_images`, and `QUAY_VERSION`. A `QUAY_VERSION` that comes from
/// `valueFrom.fieldRef` on `metadata.annotations['<key>']` (how the CSV's Deployment
/// `quay-operator-tng` reads the CSV's `quay-version` annotation, which OLM copies onto the
/// pod template) keeps that form and gets the annotation set instead; any other form becomes
/// a plain value. `None` when there is no container.
pub(crate) fn operator_template(
    template: &Value,
    image: &str,
    quay_version: &str,
    related_images: &RelatedImages,
) -> Option<Value> {
    let mut out = template.clone();
    let containers = out["spec"]["containers"].as_array_mut()?;
    let index = containers
        .iter()
        .position(|c| c["name"] == "quay-operator")
        .or(if containers.is_empty() { None } else { Some(0) })?;
    let container = &mut containers[index];
    container["image"] = json!(image);
    let mut env = container["env"].as_array().cloned().unwrap_or_default();
    let set = |env: &mut Vec<Value>, name: &str, value: &str| {
        let var = json!({"name": name, "value": value});
        match env.iter_mut().find(|e| e["name"] == name) {
            Some(found) => *found = var,
            None => env.push(var),
        }
    };
    for (name, value) in related_images {
        set(&mut env, name, value);
    }
    let annotation = env
        .iter()
        .find(|e| e["name"] == "QUAY_VERSION")
        .and_then(|e| e["valueFrom"]["fieldRef"]["fieldPath"].as_str())
        .and_then(annotation_key)
        .map(str::to_owned);
    match &annotation {
        Some(key) => {
            if !out["metadata"]["annotations"].is_object() {
                out["metadata"]["annotations"] = json!({});
            }
            out["metadata"]["annotations"][key.as_str()] = json!(quay_version);
        }
        None => set(&mut env, "QUAY_VERSION", quay_version),
    }
    out["spec"]["containers"][index]["env"] = Value::Array(env);
    Some(out)
}

#[cfg(test)]
mod tests;
