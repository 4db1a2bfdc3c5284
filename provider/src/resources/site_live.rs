//! Reads about live sites that both `resource "quay_georep_site"` and
//! `data "quay_georep_site"` need: the objects a site's endpoints come from
//! ([`SiteEndpoints`]), and the operator version on every cluster that runs a site
//! ([`check_operator_versions`]).
//!
//! I/O only: what the objects mean is decided in [`crate::georep::site`].

use serde_json::Value as Json;

use super::convert::{cluster_detail, diagnostic};
use super::model::Field;
use super::provider_data::{OperatorRead, ProviderData};
use crate::cluster::{Cluster, Error, Kind, within};
use crate::georep::site::{
    EndpointObjects, MANAGED_BY, MANAGED_BY_LABEL, OperatorVersions, SiteEndpoints,
    check_operator_versions,
};
use crate::orchestrate::deployment_operator;
use crate::stop::StopToken;
use crate::tfvalue::{Attribute, AttributePath, Block, Diagnostic, Diagnostics, Type, Value};

/// The endpoints of the site whose live `QuayRegistry` is `registry`: see [`EndpointReads`].
///
/// # Errors
///
/// [`Error::Api`] when the cluster cannot be read.
pub(super) async fn read_endpoints(
    cluster: &Cluster,
    registry: &Json,
) -> Result<SiteEndpoints, Error> {
    let name = registry["metadata"]["name"].as_str().unwrap_or_default();
    let namespace = registry["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default();
    Ok(EndpointReads::read(cluster, namespace, name)
        .await?
        .endpoints(registry))
}

/// What a site's endpoints come from besides its `QuayRegistry`: its Route `<n>-quay` (none
/// on a cluster without Routes: the API answers 404 there as for a missing object), and the
/// Ingresses and Services of its namespace. Read by name, so a refresh can read them while
/// it reads the registry.
#[derive(Debug)]
pub(super) struct EndpointReads {
    route: Option<Json>,
    ingresses: Vec<Json>,
    services: Vec<Json>,
}

impl EndpointReads {
    /// Reads the objects of registry `name` in `namespace`, at once: each is a round trip to
    /// a cluster that may be a continent away.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] when the cluster cannot be read.
    pub(super) async fn read(
        cluster: &Cluster,
        namespace: &str,
        name: &str,
    ) -> Result<Self, Error> {
        let route = format!("{name}-quay");
        let (route, ingresses, services) = tokio::try_join!(
            cluster.get(&Kind::ROUTE, Some(namespace), &route),
            cluster.list(&Kind::INGRESS, Some(namespace), ""),
            cluster.list(&Kind::SERVICE, Some(namespace), ""),
        )?;
        Ok(Self {
            route,
            ingresses,
            services,
        })
    }

    /// The Route `<n>-quay`, when the cluster has it.
    pub(super) fn route(&self) -> Option<&Json> {
        self.route.as_ref()
    }

    /// The endpoints of the site whose live `QuayRegistry` is `registry`.
    pub(super) fn endpoints(&self, registry: &Json) -> SiteEndpoints {
        SiteEndpoints::read(&EndpointObjects {
            registry,
            route: self.route.as_ref(),
            ingresses: &self.ingresses,
            services: &self.services,
        })
    }
}

/// The Quay Operator's `QUAY_VERSION` on `cluster`: of the first Deployment, in any
/// namespace, with a container named `quay-operator` (the name in the operator's CSV and its
/// plain manifests); `None` when there is none.
pub(super) async fn operator_version(cluster: &Cluster) -> Result<Option<String>, Error> {
    let deployments = cluster.list(&Kind::DEPLOYMENT, None, "").await?;
    Ok(deployments
        .iter()
        .filter(|d| {
            d["spec"]["template"]["spec"]["containers"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["name"] == "quay-operator"))
        })
        .find_map(|d| deployment_operator(d).quay_version))
}

/// The operator version on `cluster` when it runs a site of this provider (or is the planned
/// site's own cluster, `own`); `Ok(None)` when it runs none.
async fn site_operator(cluster: &Cluster, own: bool) -> Result<Option<Option<String>>, Error> {
    if !own {
        let selector = format!("{MANAGED_BY_LABEL}={MANAGED_BY}");
        let sites = match cluster.list(&Kind::QUAY_REGISTRY, None, &selector).await {
            Ok(sites) => sites,
            // No QuayRegistry API (no operator): no site there.
            Err(err) if err.status_code() == Some(404) => return Ok(None),
            Err(err) => return Err(err),
        };
        if sites.is_empty() {
            return Ok(None);
        }
    }
    Ok(Some(operator_version(cluster).await?))
}

/// The operator versions of every reachable cluster of the provider block that runs a site,
/// and of `own` (the planned site's cluster); a cluster that cannot be read is skipped with a
/// warning, one whose block is not known yet silently.
pub(super) async fn operator_versions(
    data: &ProviderData,
    own: &str,
    diags: &mut Diagnostics,
) -> OperatorVersions {
    // Every cluster at once: each may be a continent away.
    let reads = data
        .clusters
        .keys()
        .filter(|key| data.clusters.pending(key).is_none())
        .map(|key| async move {
            let read = match data.clusters.get(key).await {
                Ok(cluster) => site_operator(&cluster, key == own).await,
                Err(err) => Err(err),
            };
            (key.to_owned(), read)
        });
    let mut found = OperatorVersions::new();
    for (key, read) in futures_util::future::join_all(reads).await {
        match read {
            Ok(Some(version)) => {
                found.insert(key, version);
            }
            Ok(None) => {}
            Err(err) => diags.push(not_compared(&key, &err)),
        }
    }
    found
}

/// Checks, at a site's plan, that every site's operator runs the same version (see
/// `georep/site/operator_versions.rs` for the severity), reporting what differs.
///
/// A new site's plan reads every cluster (a differing operator is an error there); an
/// existing site's plan compares fewer, from a per-process cache ([`compare_operators`]).
/// `budget` (the plan's deadline and Terraform's stop signal) bounds the reads.
async fn check_operators(
    data: &ProviderData,
    cluster: &str,
    budget: (tokio::time::Instant, &StopToken),
    diags: &mut Diagnostics,
) -> Option<String> {
    let (deadline, stop) = budget;
    let found = within(
        Some(deadline),
        stop.clone(),
        operator_versions(data, cluster, diags),
    )
    .await;
    if let Some(issue) = check_operator_versions(cluster, true, &found) {
        diags.push(diagnostic(&issue));
    }
    found.get(cluster).cloned().flatten()
}

/// The operator guard of a site's plan: [`check_operators`] for a new site (every cluster
/// read), [`compare_operators`] for an existing one (the clusters of the sites planned so
/// far, each read once per process). Returns the operator version of the site's own cluster,
/// when it was read.
pub(super) async fn guard_operators(
    data: &ProviderData,
    cluster: &str,
    creating: bool,
    budget: (tokio::time::Instant, &StopToken),
    diags: &mut Diagnostics,
) -> Option<String> {
    if creating {
        check_operators(data, cluster, budget, diags).await
    } else {
        compare_operators(data, cluster, budget, diags).await
    }
}

/// Checks, at an existing site's plan, that the operators of its cluster and of the clusters
/// of the sites this process planned before it run one version; a warning names what differs
/// (the upgrade brings them together; a new site on a differing operator is refused by
/// [`check_operators`]). Terraform plans every site in one process, so the last site planned
/// compares them all. Each cluster's operator is read once per process, within `budget`.
async fn compare_operators(
    data: &ProviderData,
    cluster: &str,
    budget: (tokio::time::Instant, &StopToken),
    diags: &mut Diagnostics,
) -> Option<String> {
    let (deadline, stop) = budget;
    let mut clusters = data.planned_sites.clusters();
    clusters.insert(cluster.to_owned());
    let found = within(Some(deadline), stop.clone(), async {
        // Every cluster at once: each may be a continent away.
        let reads = clusters
            .into_iter()
            .filter(|key| data.clusters.pending(key).is_none())
            .map(|key| async move {
                let version = data
                    .operators
                    .get_or_read(&key, async || {
                        operator_version(&data.clusters.get(&key).await?).await
                    })
                    .await;
                (key, version)
            });
        let mut found = OperatorVersions::new();
        for (key, version) in futures_util::future::join_all(reads).await {
            match version {
                Ok(OperatorRead::Found(version)) => {
                    found.insert(key, version);
                }
                Ok(OperatorRead::FailedBefore) => {}
                Err(err) => diags.push(not_compared(&key, &err)),
            }
        }
        found
    })
    .await;
    // Sites planned at the same moment see the same clusters: one of them says it.
    if let Some(issue) = check_operator_versions(cluster, false, &found)
        && data.operators.first_report(&found)
    {
        diags.push(diagnostic(&issue));
    }
    found.get(cluster).cloned().flatten()
}

/// The warning for an operator that could not be read.
fn not_compared(key: &str, err: &Error) -> Diagnostic {
    Diagnostic::warning(
        "Operator Versions Not Compared",
        format!(
            "the Quay Operator on cluster \"{key}\" could not be read, so it was not compared \
             with the other sites' operators: {}",
            cluster_detail(err)
        ),
    )
    .with_attribute(AttributePath::root().attr("cluster"))
}

/// The computed attributes for a global load balancer and DNS, shared by
/// `resource "quay_georep_site"` and `data "quay_georep_site"`.
pub(super) const ENDPOINT_ATTRIBUTES: [&str; 4] = [
    "load_balancer_target",
    "health_check_url",
    "clair_health_check_url",
    "site_hostname",
];

/// `block` with the [`ENDPOINT_ATTRIBUTES`]; their descriptions are the reference docs.
pub(super) fn endpoint_attributes(block: Block) -> Block {
    block
        .attribute(Attribute::computed("load_balancer_target", Type::String).description(
            "where the global load balancer sends this site's traffic for SERVER_HOSTNAME: on \
             OpenShift the router's canonical hostname (the managed Route's \
             status.ingress[].routerCanonicalHostname once a router admitted it); on plain \
             Kubernetes the load balancer address (hostname, else IP) of your Ingress for \
             SERVER_HOSTNAME or for the <name>-quay-app Service, else of a LoadBalancer \
             Service selecting the Quay pods; empty until the cluster reports one",
        ))
        .attribute(Attribute::computed("health_check_url", Type::String).description(
            "Quay's health check, https://SERVER_HOSTNAME/health/instance: probe it at \
             load_balancer_target with SERVER_HOSTNAME as Host header and TLS server name \
             (curl --resolve), since the site serves only that name; empty until the operator \
             reports the endpoint",
        ))
        .attribute(Attribute::computed("clair_health_check_url", Type::String).description(
            "with a managed Clair, its health check on the <name>-clair-app Service's \
             introspection port (http://<name>-clair-app.<namespace>.svc.cluster.local:8089/healthz), \
             an in-cluster address for whatever exposes Clair to a global Clair endpoint; \
             empty without a managed Clair",
        ))
        .attribute(Attribute::computed("site_hostname", Type::String).description(
            "the per-site host the operator generates when SERVER_HOSTNAME is unset, \
             <name>-quay-<namespace>.<apps domain of the router>; with the global \
             SERVER_HOSTNAME no managed Route serves it, so it is the name for a per-site \
             Route or DNS record of your own; empty off OpenShift or before a router admitted \
             the Route",
        ))
}

/// The [`ENDPOINT_ATTRIBUTES`] as a plan or state holds them.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct EndpointResults {
    /// `load_balancer_target`.
    pub(super) load_balancer_target: Field<String>,
    /// `health_check_url`.
    pub(super) health_check_url: Field<String>,
    /// `clair_health_check_url`.
    pub(super) clair_health_check_url: Field<String>,
    /// `site_hostname`.
    pub(super) site_hostname: Field<String>,
}

impl EndpointResults {
    /// The results of a plan or a state.
    pub(super) fn read(value: &Value) -> Self {
        Self {
            load_balancer_target: Field::read(value.get("load_balancer_target")),
            health_check_url: Field::read(value.get("health_check_url")),
            clair_health_check_url: Field::read(value.get("clair_health_check_url")),
            site_hostname: Field::read(value.get("site_hostname")),
        }
    }

    /// Every result known: what the cluster reports, empty where it reports nothing yet.
    pub(super) fn known(endpoints: &SiteEndpoints) -> Self {
        let text = |value: &Option<String>| Field::Known(value.clone().unwrap_or_default());
        Self {
            load_balancer_target: text(&endpoints.target),
            health_check_url: text(&endpoints.quay_health_url),
            clair_health_check_url: text(&endpoints.clair_health_url),
            site_hostname: text(&endpoints.site_hostname),
        }
    }

    /// Every result known after apply.
    pub(super) fn unknown() -> Self {
        Self {
            load_balancer_target: Field::Unknown,
            health_check_url: Field::Unknown,
            clair_health_check_url: Field::Unknown,
            site_hostname: Field::Unknown,
        }
    }

    /// Sets the results on `value`, leaving its other attributes as they are.
    pub(super) fn write_into(&self, value: &mut Value) {
        self.load_balancer_target
            .write_into(value, "load_balancer_target");
        self.health_check_url.write_into(value, "health_check_url");
        self.clair_health_check_url
            .write_into(value, "clair_health_check_url");
        self.site_hostname.write_into(value, "site_hostname");
    }

    /// The results in JSON form, by attribute name.
    pub(super) fn to_json(&self) -> [(&'static str, Json); 4] {
        [
            ("load_balancer_target", self.load_balancer_target.to_json()),
            ("health_check_url", self.health_check_url.to_json()),
            (
                "clair_health_check_url",
                self.clair_health_check_url.to_json(),
            ),
            ("site_hostname", self.site_hostname.to_json()),
        ]
    }
}
