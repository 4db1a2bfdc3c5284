//! [`observe`]: one round of reads turned into an [`Observation`] for the state machine.
//!
//! Per site: the `QuayRegistry` (status, conditions, generations, quay/clair/mirror and HPA
//! components), the pods of its quay, clair and mirror Deployments (labels
//! `quay-operator/quayregistry=<name>` and `quay-component`), the operator (Deployment image
//! and `QUAY_VERSION`, or Subscription, InstallPlans and installed CSV), the migration Job and
//! the config hash (sha256 of the bundle Secret's `config.yaml`, as `georep::site` computes
//! it). From the primary cluster: the Lease and the progress ConfigMap. A site whose reads
//! fail (the cluster is unreachable, or the `QuayRegistry` is missing) becomes
//! [`SiteObservation::Unreachable`] with the reason: reads never fail the round, the state
//! machine decides what a missing site means.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::clock;
use super::lease::LeaseClock;
use crate::cluster::{Cluster, Clusters, Error as ClusterError, Kind};
use crate::georep::errors;
use crate::georep::site::{JOB_NAME_LABEL, RegistryStatus, Rollout, failing_pod_message};
use crate::georep::upgrade::{
    Approval, CatalogSourceRef, ChannelOffer, Component, ComponentState, Condition, InstallPlan,
    JobObservation, JobState, LEASE_NAME, Observation, OperatorMethod, OperatorObservation,
    PROGRESS_CONFIG_MAP, STATUS_REQUESTED_ANNOTATION, STATUS_REQUESTS_ANNOTATION, SiteId,
    SiteObservation, SiteState, StatusRequest, Timestamp, UpgradeRequest,
};

/// The Deployment label naming a pod's component.
pub const COMPONENT_LABEL: &str = "quay-component";
/// The label naming a pod's `QuayRegistry`.
pub const REGISTRY_LABEL: &str = "quay-operator/quayregistry";

/// Reads every site of `request`, and the Lease and progress record on the primary cluster,
/// with the Lease's expiry measured from now (a process that has not watched it before).
///
/// Never fails: a site that cannot be read is reported as unreachable, and the Lease and
/// progress record are `None` when the primary cannot be read (the state machine then waits).
/// A round cut short by the deadline or Terraform's stop holds the sites read before the cut.
pub async fn observe(clusters: &Clusters, request: &UpgradeRequest) -> Observation {
    observe_with(clusters, request, &mut LeaseClock::default(), clock::now())
        .await
        .0
}

/// A round of reads that ran into the operation's deadline or Terraform's stop: the request
/// that was in flight, in words.
///
/// Why a round is not judged once cut: the reads cut and every read after them failed
/// without an answer from their cluster, so the round would report a cluster that merely
/// came last (the primary's Lease, read after every site) as unreachable. Why in our own
/// words: the cluster error's ("the cluster did not answer before the operation's deadline")
/// would blame a cluster that was answering in time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CutShort(String);

impl CutShort {
    /// `Some` when `error` is a request the deadline or the stop cut short.
    pub(crate) fn of(error: &ClusterError) -> Option<Self> {
        match error {
            ClusterError::Deadline {
                cluster,
                action,
                object,
            } => Some(Self(format!(
                "the time ran out during: {action} {object} on cluster {cluster:?}"
            ))),
            ClusterError::Stopped { cluster, what } => Some(Self(format!(
                "Terraform stopped it during: {what} on cluster {cluster:?}"
            ))),
            _ => None,
        }
    }

    /// The status a loop ends with: `status`, what its last judged round said it was waiting
    /// for, then the cut request.
    pub(crate) fn after(&self, status: &str) -> String {
        format!("{status} ({})", self.0)
    }
}

/// [`observe`], with the Lease seen through `lease_clock` at `now` (see [`LeaseClock`]); ends
/// at the first read the deadline or the stop cuts short (its site then reported unreachable
/// with that error), and says which.
pub(crate) async fn observe_with(
    clusters: &Clusters,
    request: &UpgradeRequest,
    lease_clock: &mut LeaseClock,
    now: Timestamp,
) -> (Observation, Option<CutShort>) {
    let mut observation = Observation::default();
    let mut primary_ok = false;
    // Every site, and the primary's Lease and progress record, at once: a round is as long as
    // its slowest cluster, not the sum of them (each may be a continent away). The results are
    // taken in the sites' order, as if read one after the other: the first read cut short ends
    // the round, and what came after it is dropped.
    let site_reads = request.sites().iter().map(|site| async move {
        match clusters.get(site.cluster()).await {
            Ok(cluster) => read_site(&cluster, site, request.operator()).await,
            Err(e) => Err(e),
        }
    });
    let coordination = async {
        let primary = request.primary();
        match clusters.get(primary.cluster()).await {
            Ok(cluster) => Some(read_coordination(&cluster, primary.namespace()).await),
            Err(_) => None,
        }
    };
    let (reads, coordination) =
        tokio::join!(futures_util::future::join_all(site_reads), coordination);
    for (site, read) in request.sites().iter().zip(reads) {
        let (entry, cut) = match read {
            Ok(state) => {
                primary_ok |= site == request.primary();
                (SiteObservation::Observed(Box::new(state)), None)
            }
            Err(e) => (
                SiteObservation::Unreachable {
                    error: errors::chain(&e),
                },
                CutShort::of(&e),
            ),
        };
        observation.sites.insert(site.clone(), entry);
        if cut.is_some() {
            return (observation, cut);
        }
    }
    if primary_ok {
        let primary = request.primary();
        if let Some(read) = coordination {
            match read {
                Ok((lease, progress)) => {
                    observation.lease = lease_clock.observe(lease.as_ref(), now);
                    observation.progress = progress;
                }
                Err(e) => {
                    observation.sites.insert(
                        primary.clone(),
                        SiteObservation::Unreachable {
                            error: errors::chain(&e),
                        },
                    );
                    if let Some(cut) = CutShort::of(&e) {
                        return (observation, Some(cut));
                    }
                }
            }
        }
    }
    (observation, None)
}

/// The Lease object and the progress ConfigMap's data, each `None` when absent.
async fn read_coordination(
    cluster: &Cluster,
    namespace: &str,
) -> Result<(Option<Value>, Option<BTreeMap<String, String>>), ClusterError> {
    let (lease, progress) = tokio::try_join!(
        cluster.get(&Kind::LEASE, Some(namespace), LEASE_NAME),
        cluster.get(&Kind::CONFIG_MAP, Some(namespace), PROGRESS_CONFIG_MAP),
    )?;
    Ok((lease, progress.map(|cm| string_map(&cm["data"]))))
}

/// The holder of a Lease object, `None` when released.
pub(crate) fn lease_holder(lease: &Value) -> Option<&str> {
    lease["spec"]["holderIdentity"]
        .as_str()
        .filter(|h| !h.is_empty())
}

fn string_map(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// Everything about one site; an error when the cluster or the `QuayRegistry` cannot be read.
async fn read_site(
    cluster: &Cluster,
    site: &SiteId,
    operator: &OperatorMethod,
) -> Result<SiteState, ClusterError> {
    let ns = Some(site.namespace());
    let selector = format!("{REGISTRY_LABEL}={}", site.name());
    let job_name = site.migration_job_name();
    // The reads that need nothing from another, at once; then the two that do.
    let (registry, pods, deployments, job, operator) = tokio::try_join!(
        read_registry(cluster, site),
        cluster.list(&Kind::POD, ns, &selector),
        cluster.list(&Kind::DEPLOYMENT, ns, &selector),
        cluster.get(&Kind::JOB, ns, &job_name),
        read_operator(cluster, operator),
    )?;
    let mut state = registry_state(&registry);
    for (component, counted) in pod_counts(&pods) {
        if let Some(c) = state.components.get_mut(&component) {
            c.running_pods = counted;
        }
    }
    state.rollouts = deployments.iter().map(Rollout::read).collect();
    let job_pods = async {
        match &job {
            Some(job) if job["status"]["succeeded"].as_u64().unwrap_or(0) == 0 => {
                let selector = format!("{JOB_NAME_LABEL}={job_name}");
                cluster.list(&Kind::POD, ns, &selector).await.map(Some)
            }
            _ => Ok(None),
        }
    };
    let bundle = async {
        match registry["spec"]["configBundleSecret"].as_str() {
            Some(secret) => cluster.get(&Kind::SECRET, ns, secret).await,
            None => Ok(None),
        }
    };
    let (job_pods, bundle) = tokio::try_join!(job_pods, bundle)?;
    let pod_message = job_pods.and_then(|pods| failing_pod_message(&pods));
    state.migration_job =
        job.map(|job| job_observation(&job, &state.registry.conditions, pod_message.as_deref()));
    state.config_hash = bundle.and_then(|s| config_hash(&s));
    state.operator = operator;
    Ok(state)
}

/// The site's `QuayRegistry`; a missing one is an error (the site cannot be observed).
pub(crate) async fn read_registry(cluster: &Cluster, site: &SiteId) -> Result<Value, ClusterError> {
    cluster
        .get(&Kind::QUAY_REGISTRY, Some(site.namespace()), site.name())
        .await?
        .ok_or_else(|| ClusterError::WaitFailed {
            cluster: site.cluster().to_owned(),
            what: format!("QuayRegistry {}/{}", site.namespace(), site.name()),
            message: "it does not exist".to_owned(),
        })
}

/// The parts of a `QuayRegistry` read from the object itself.
pub(crate) fn registry_state(registry: &Value) -> SiteState {
    let status = RegistryStatus::read(registry);
    let mut components = BTreeMap::new();
    // The operator's default: the HPA is managed unless the spec says otherwise.
    let mut hpa_managed = true;
    for entry in &status.components {
        let managed = entry.managed.unwrap_or(true);
        if entry.kind == "horizontalpodautoscaler" {
            hpa_managed = managed;
        }
        let component = match entry.kind.as_str() {
            "quay" => Component::Quay,
            "clair" => Component::Clair,
            "mirror" => Component::Mirror,
            _ => continue,
        };
        let replicas = entry.replicas.and_then(|r| u32::try_from(r).ok());
        components.insert(
            component,
            ComponentState {
                managed,
                replicas,
                running_pods: 0,
            },
        );
    }
    SiteState {
        registry: status,
        components,
        hpa_managed,
        status_request: status_request(registry),
        available_evaluated: available_evaluated(registry),
        ..SiteState::default()
    }
}

/// The last request for a fresh status recorded on `registry` ([`StatusRequest::read`]).
pub(crate) fn status_request(registry: &Value) -> Option<StatusRequest> {
    let annotations = &registry["metadata"]["annotations"];
    StatusRequest::read(
        annotations[STATUS_REQUESTED_ANNOTATION]
            .as_str()
            .and_then(clock::parse_rfc3339),
        annotations[STATUS_REQUESTS_ANNOTATION].as_str(),
    )
}

/// When the operator last evaluated `Available` on `registry`: the condition's
/// `lastUpdateTime`, which every evaluation of its status controller stamps.
pub(crate) fn available_evaluated(registry: &Value) -> Option<Timestamp> {
    registry["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Available")?["lastUpdateTime"]
        .as_str()
        .and_then(clock::parse_rfc3339)
}

/// Pods per component that are not finished (running, starting or terminating).
pub(crate) fn pod_counts(pods: &[Value]) -> BTreeMap<Component, u32> {
    let mut counts = BTreeMap::new();
    for pod in pods {
        let finished = matches!(
            pod["status"]["phase"].as_str(),
            Some("Succeeded" | "Failed")
        );
        let component = match pod["metadata"]["labels"][COMPONENT_LABEL].as_str() {
            Some("quay-app") => Component::Quay,
            Some("clair-app") => Component::Clair,
            Some("quay-mirror") => Component::Mirror,
            _ => continue,
        };
        if !finished {
            *counts.entry(component).or_insert(0) += 1;
        }
    }
    counts
}

/// The migration Job's state; a failure carries the Job's message (or the operator's
/// `MigrationsFailed` condition message) and what its failing pod said, `pod_message`: a Job
/// that gave up says only "Job has reached the specified backoff limit", the pod says why.
pub(crate) fn job_observation(
    job: &Value,
    conditions: &[Condition],
    pod_message: Option<&str>,
) -> JobObservation {
    let status = &job["status"];
    let count = |key: &str| status[key].as_u64().unwrap_or(0);
    let failed = status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Failed" && c["status"] == "True");
    let state = if count("succeeded") > 0 {
        JobState::Succeeded
    } else if let Some(failure) = failed {
        let from_operator = conditions
            .iter()
            .find(|c| c.reason == "MigrationsFailed" && !c.message.is_empty())
            .map(|c| c.message.clone());
        let message = failure["message"]
            .as_str()
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .or(from_operator)
            .unwrap_or_else(|| "the Job failed without a message".to_owned());
        let message = match pod_message {
            Some(pod) if !message.contains(pod) => {
                format!("{message}; the migration pod said: {pod}")
            }
            _ => message,
        };
        JobState::Failed { message }
    } else {
        JobState::Active
    };
    JobObservation {
        name: job["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        state,
    }
}

/// `sha256:<hex>` of the Secret's `config.yaml`, as `georep::site::Site::config_hash`.
pub(crate) fn config_hash(secret: &Value) -> Option<String> {
    let encoded = secret["data"]["config.yaml"].as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    Some(format!("sha256:{}", hex::encode(Sha256::digest(bytes))))
}

async fn read_operator(
    cluster: &Cluster,
    operator: &OperatorMethod,
) -> Result<OperatorObservation, ClusterError> {
    match operator {
        OperatorMethod::Deployment {
            namespace, name, ..
        } => Ok(cluster
            .get(&Kind::DEPLOYMENT, Some(namespace), name)
            .await?
            .map(|d| deployment_operator(&d))
            .unwrap_or_default()),
        OperatorMethod::Olm {
            namespace,
            subscription,
            channel,
            catalog,
        } => {
            let Some(sub) = cluster
                .get(&Kind::SUBSCRIPTION, Some(namespace), subscription)
                .await?
            else {
                return Ok(OperatorObservation::default());
            };
            let plans = cluster
                .list(&Kind::INSTALL_PLAN, Some(namespace), "")
                .await?;
            let installed = sub["status"]["installedCSV"].as_str().map(str::to_owned);
            let csv = match &installed {
                Some(name) => {
                    cluster
                        .get(&Kind::CLUSTER_SERVICE_VERSION, Some(namespace), name)
                        .await?
                }
                None => None,
            };
            let mut seen = olm_operator(&sub, &plans, csv.as_ref());
            seen.channel_offer =
                read_channel_offer(cluster, namespace, &sub, channel, catalog.as_ref()).await?;
            let subs = cluster
                .list(&Kind::SUBSCRIPTION, Some(namespace), "")
                .await?;
            seen.other_pending_csvs = other_pending_csvs(&subs, subscription);
            Ok(seen)
        }
    }
}

/// What `channel` of the Subscription's package offers, from the package's PackageManifest of
/// `catalog` (the request's CatalogSource, such as a mirror), else of the Subscription's own
/// catalog; `None` when the cluster does not serve PackageManifests.
///
/// Why the PackageManifest (`packages.operators.coreos.com/v1`): on OpenShift, OLM's package
/// server serves one per package and catalog, in every namespace for the global catalogs of
/// `openshift-marketplace`, labelled `catalog` and `catalog-namespace`; its
/// `status.channels[]` give each channel's head (`currentCSV`, `currentCSVDesc.version`),
/// which is exactly what a Subscription on that channel is offered. Reading it changes
/// nothing, so preflight can ask before anything is scaled down. The catalog itself is a gRPC
/// registry in a pod, which the API server does not expose, and the Subscription's own
/// `status.currentCSV` says what is offered only after its channel was switched.
async fn read_channel_offer(
    cluster: &Cluster,
    namespace: &str,
    sub: &Value,
    channel: &str,
    catalog: Option<&CatalogSourceRef>,
) -> Result<Option<ChannelOffer>, ClusterError> {
    let catalog = catalog.cloned().unwrap_or_else(|| subscription_source(sub));
    let selector = format!(
        "catalog={},catalog-namespace={}",
        catalog.name, catalog.namespace
    );
    match cluster
        .list(&Kind::PACKAGE_MANIFEST, Some(namespace), &selector)
        .await
    {
        Ok(manifests) => Ok(Some(channel_offer(sub, &manifests, channel, &catalog))),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// The `status.currentCSV` of the Subscriptions other than `own` whose `installedCSV`
/// differs: upgrades OLM has resolved but not installed, which it would put into the same
/// InstallPlan as the Quay CSV.
pub(crate) fn other_pending_csvs(subs: &[Value], own: &str) -> Vec<String> {
    subs.iter()
        .filter(|s| s["metadata"]["name"] != own)
        .filter_map(|s| {
            let current = s["status"]["currentCSV"]
                .as_str()
                .filter(|c| !c.is_empty())?;
            (s["status"]["installedCSV"].as_str() != Some(current)).then(|| current.to_owned())
        })
        .collect()
}

/// The Subscription's `spec.source` and `spec.sourceNamespace` (empty when unset).
fn subscription_source(sub: &Value) -> CatalogSourceRef {
    let text = |key: &str| sub["spec"][key].as_str().unwrap_or_default().to_owned();
    CatalogSourceRef {
        name: text("source"),
        namespace: text("sourceNamespace"),
    }
}

/// What `channel` offers according to the PackageManifests of `catalog`.
pub(crate) fn channel_offer(
    sub: &Value,
    manifests: &[Value],
    channel: &str,
    catalog: &CatalogSourceRef,
) -> ChannelOffer {
    let package = sub["spec"]["name"].as_str().unwrap_or_default();
    let Some(manifest) = manifests
        .iter()
        .find(|m| m["metadata"]["name"] == package || m["status"]["packageName"] == package)
    else {
        return ChannelOffer::NoPackage {
            package: package.to_owned(),
            catalog: catalog.to_string(),
        };
    };
    let channels = manifest["status"]["channels"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    match channels.iter().find(|c| c["name"] == channel) {
        Some(found) => ChannelOffer::Head {
            csv: found["currentCSV"].as_str().unwrap_or_default().to_owned(),
            version: found["currentCSVDesc"]["version"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        },
        None => ChannelOffer::NoChannel {
            channel: channel.to_owned(),
            channels: channels
                .iter()
                .filter_map(|c| c["name"].as_str().map(str::to_owned))
                .collect(),
        },
    }
}

/// The operator as its Deployment shows it: image and `QUAY_VERSION` of its first container
/// (the one named `quay-operator` when there are several), as a value or through the pod
/// template annotation it is read from.
pub(crate) fn deployment_operator(deployment: &Value) -> OperatorObservation {
    let containers = deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let container = containers
        .iter()
        .find(|c| c["name"] == "quay-operator")
        .or_else(|| containers.first());
    let Some(container) = container else {
        return OperatorObservation::default();
    };
    let version = container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["name"] == "QUAY_VERSION")
        .and_then(|e| env_value(e, &deployment["spec"]["template"]))
        .map(str::to_owned);
    OperatorObservation {
        quay_version: version,
        deployment_image: container["image"].as_str().map(str::to_owned),
        ..OperatorObservation::default()
    }
}

/// An env var's value as the pod sees it: its `value`, or the pod template annotation its
/// `valueFrom.fieldRef` names (the CSV's Deployment reads `QUAY_VERSION` from the
/// `quay-version` annotation OLM copies onto the pod template).
fn env_value<'a>(var: &'a Value, template: &'a Value) -> Option<&'a str> {
    if let Some(value) = var["value"].as_str() {
        return Some(value);
    }
    let key = annotation_key(var["valueFrom"]["fieldRef"]["fieldPath"].as_str()?)?;
    template["metadata"]["annotations"][key].as_str()
}

/// The key of a downward-API field path `metadata.annotations['key']` (or with double
/// quotes); `None` for any other field.
pub(crate) fn annotation_key(field_path: &str) -> Option<&str> {
    let inner = field_path
        .strip_prefix("metadata.annotations[")?
        .strip_suffix(']')?;
    inner
        .strip_prefix('\'')
        .and_then(|k| k.strip_suffix('\''))
        .or_else(|| inner.strip_prefix('"').and_then(|k| k.strip_suffix('"')))
}

/// The operator as OLM shows it: Subscription, InstallPlans of the Quay Operator, and the
/// installed CSV's `quay-version` annotation (or the version in its name).
pub(crate) fn olm_operator(
    sub: &Value,
    plans: &[Value],
    csv: Option<&Value>,
) -> OperatorObservation {
    let installed = sub["status"]["installedCSV"].as_str().map(str::to_owned);
    let quay_version = csv
        .and_then(|c| c["metadata"]["annotations"]["quay-version"].as_str())
        .map(str::to_owned)
        .or_else(|| {
            installed
                .as_deref()
                .and_then(|n| n.strip_prefix("quay-operator.v"))
                .map(str::to_owned)
        });
    let install_plans = plans
        .iter()
        .filter_map(|p| {
            let csvs: Vec<String> = p["spec"]["clusterServiceVersionNames"]
                .as_array()?
                .iter()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect();
            csvs.iter()
                .any(|c| c.starts_with("quay-operator."))
                .then(|| InstallPlan {
                    name: p["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    csvs,
                    approved: p["spec"]["approved"].as_bool().unwrap_or(false),
                })
        })
        .collect();
    OperatorObservation {
        quay_version,
        deployment_image: None,
        subscription_channel: sub["spec"]["channel"].as_str().map(str::to_owned),
        subscription_source: Some(subscription_source(sub))
            .filter(|c| !c.name.is_empty() && !c.namespace.is_empty()),
        approval: match sub["spec"]["installPlanApproval"].as_str() {
            Some("Manual") => Some(Approval::Manual),
            // OLM's default is Automatic.
            _ => Some(Approval::Automatic),
        },
        installed_csv: installed,
        install_plans,
        channel_offer: None,
        other_pending_csvs: Vec::new(),
    }
}

#[cfg(test)]
mod tests;
