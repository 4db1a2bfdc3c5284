//! What the upgrade and fault scenarios share: sites applied for an upgrade, the hop one
//! minor up from the version they run, `quay_georep_upgrade` written for them, what the
//! upgrade leaves on the primary (its Lease and progress record), `terraform apply` in the
//! background (to act while it runs, or kill it), and a client of a global name throughout.
//!
//! Everything goes through the [`Target`](crate::conformance::Target): the sites' kubeconfig
//! contexts, the operator install it names, its global endpoints.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{DynamicObject, ListParams};
use serde_json::{Value, json};

use super::common::{self, REGISTRY};
use crate::conformance::context::Context;
use crate::conformance::failure::Failure;
use crate::conformance::target::{OperatorMethod, SiteTarget};
use crate::ensure;
use crate::quay::{COMPONENT_LABEL, Catalogue, QuayVersion, quay_registry_resource};
use crate::terraform::Workdir;

pub use super::background::Background;
pub use super::global_client::{Client, outages, served_throughout, summarize};

/// The upgrade's Lease on the primary.
pub const LEASE: &str = "quay-georep-upgrade";
/// The upgrade's progress record (a ConfigMap) on the primary.
pub const PROGRESS: &str = "quay-georep-upgrade-progress";
/// The operator's migration Job of [`REGISTRY`].
pub const MIGRATION_JOB: &str = "registry-quay-app-upgrade";
/// How long each migration revision takes while a scenario that must act during the
/// primary's migration runs, on a backend that can slow them ([`MigrationPace`]).
pub const SLOW_MIGRATION: Duration = Duration::from_millis(700);

/// The sites a scenario applied: primary first.
pub struct Sites {
    /// The sites, primary first.
    pub sites: Vec<SiteTarget>,
    /// Their namespace.
    pub namespace: String,
    /// The working directory holding them (and the upgrade).
    pub dir: Arc<Workdir>,
}

impl Sites {
    /// The primary.
    #[must_use]
    pub fn primary(&self) -> &SiteTarget {
        &self.sites[0]
    }

    /// The last secondary.
    #[must_use]
    pub fn last(&self) -> &SiteTarget {
        &self.sites[self.sites.len() - 1]
    }

    /// The provider's id of `site`: `location/namespace/registry`.
    #[must_use]
    pub fn id(&self, site: &SiteTarget) -> String {
        format!("{}/{}/{REGISTRY}", site.location, self.namespace)
    }
}

/// Applies the target's first `count` sites (every one with `None`), quay at two replicas, in
/// a namespace and working directory named `suffix`.
///
/// # Errors
/// The target has fewer than two sites, or the apply failed.
pub fn install(
    ctx: &mut Context<'_>,
    suffix: &str,
    count: Option<usize>,
) -> Result<Sites, Failure> {
    let all = &ctx.target().sites;
    let sites: Vec<SiteTarget> = all[..count.unwrap_or(all.len()).min(all.len())].to_vec();
    ensure!(
        sites.len() >= 2,
        "an upgrade needs a primary and a secondary; the target has {} sites",
        sites.len()
    );
    let namespace = ctx.namespace(suffix);
    let dir = ctx.workdir(suffix)?;
    ctx.write_shared_config(&dir, "")?;
    let locations: Vec<&str> = sites.iter().map(|s| s.location.as_str()).collect();
    dir.write_file(
        "main.tf",
        &common::sites_tf(&locations, &namespace, "  quay {\n    replicas = 2\n  }\n"),
    )?;
    ctx.step(&format!(
        "terraform apply: {} in {namespace}",
        sites
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    ctx.apply(&dir)?;
    Ok(Sites {
        sites,
        namespace,
        dir,
    })
}

/// The version every site of `sites` runs (`status.currentVersion`).
///
/// # Errors
/// A registry cannot be read, has no version, or the sites run different ones.
pub fn running_version(ctx: &Context<'_>, sites: &Sites) -> Result<QuayVersion, Failure> {
    let mut versions = Vec::new();
    for site in &sites.sites {
        let registry = ctx.block_on(common::registry(site, &sites.namespace))?;
        let version = registry.data["status"]["currentVersion"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        versions.push((site.name.clone(), version));
    }
    let first = versions[0].1.clone();
    ensure!(
        versions.iter().all(|(_, v)| *v == first),
        "the sites run different Quay versions: {versions:?}"
    );
    first.parse().map_err(|_| {
        Failure::new(format!(
            "{} reports currentVersion {first:?}, not a Quay version",
            versions[0].0
        ))
    })
}

/// The first release of the catalogue one minor or more above `version`.
#[must_use]
pub fn next_minor(version: QuayVersion) -> Option<QuayVersion> {
    Catalogue::builtin()
        .releases()
        .iter()
        .map(|r| r.version)
        .find(|v| (v.major, v.minor) > (version.major, version.minor))
}

/// The release right below `version`'s minor.
#[must_use]
pub fn previous_minor(version: QuayVersion) -> Option<QuayVersion> {
    Catalogue::builtin()
        .releases()
        .iter()
        .map(|r| r.version)
        .rfind(|v| (v.major, v.minor) < (version.major, version.minor))
}

/// The sites' version and the next minor's release.
///
/// # Errors
/// As [`running_version`]; a skip when the sites already run the newest release the provider
/// knows.
pub fn hop(ctx: &mut Context<'_>, sites: &Sites) -> Result<(QuayVersion, QuayVersion), Failure> {
    let from = running_version(ctx, sites)?;
    let to = next_minor(from).ok_or_else(|| {
        Failure::skip(format!(
            "every site runs Quay {from}, the newest release the provider knows: no upgrade \
             is left to take (a target one minor or more below it has one)"
        ))
    })?;
    ctx.note(format!("upgrading from Quay {from} to {to}"));
    Ok((from, to))
}

/// Writes `upgrade.tf`: `quay_georep_upgrade.all` of `sites` (primary first) to `to` with the
/// target's operator install, create/update timeouts `timeout`, and its outputs.
///
/// # Errors
/// The file could not be written.
pub fn write_upgrade(
    ctx: &Context<'_>,
    sites: &Sites,
    to: &str,
    timeout: &str,
) -> Result<(), Failure> {
    let operator = &ctx.target().operator;
    let method = match operator.method {
        OperatorMethod::Olm => "olm",
        OperatorMethod::Deployment => "deployment",
    };
    let ids: Vec<String> = sites
        .sites
        .iter()
        .map(|s| format!("    quay_georep_site.{}.id,\n", s.location))
        .collect();
    sites.dir.write_file(
        "upgrade.tf",
        &format!(
            r#"resource "quay_georep_upgrade" "all" {{
  sites = [
{ids}  ]
  target_version = "{to}"

  operator {{
    method    = "{method}"
    namespace = "{namespace}"
    name      = "{name}"
  }}

  timeouts {{
    create = "{timeout}"
    update = "{timeout}"
  }}
}}

output "upgrade_steps" {{
  value = quay_georep_upgrade.all.steps
}}

output "upgraded_version" {{
  value = quay_georep_upgrade.all.completed_version
}}
"#,
            ids = ids.concat(),
            namespace = operator.namespace,
            name = operator.name,
        ),
    )?;
    Ok(())
}

/// Removes `upgrade.tf` (a refused upgrade that must not stay in the configuration).
///
/// # Errors
/// It could not be removed.
pub fn remove_upgrade(sites: &Sites) -> Result<(), Failure> {
    match std::fs::remove_file(sites.dir.path().join("upgrade.tf")) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Failure::new(format!("remove upgrade.tf: {e}")))
        }
        _ => Ok(()),
    }
}

/// The resource the operator install of the target is upgraded through: `installplans`
/// (OLM approves an InstallPlan) or `deployments` (the operator's image).
#[must_use]
pub fn operator_resource(ctx: &Context<'_>) -> &'static str {
    match ctx.target().operator.method {
        OperatorMethod::Olm => "installplans",
        OperatorMethod::Deployment => "deployments",
    }
}

/// Per site: `status.currentVersion` and its quay, clair, mirror and HPA components as the
/// spec holds them.
///
/// # Errors
/// A registry cannot be read.
pub async fn registries(sites: &Sites) -> Result<Vec<(String, Value, Value)>, Failure> {
    let mut out = Vec::new();
    for site in &sites.sites {
        let registry = common::registry(site, &sites.namespace).await?;
        let components: Vec<Value> = registry.data["spec"]["components"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| {
                ["quay", "clair", "mirror", "horizontalpodautoscaler"]
                    .contains(&c["kind"].as_str().unwrap_or_default())
            })
            .cloned()
            .collect();
        out.push((
            site.name.clone(),
            registry.data["status"]["currentVersion"].clone(),
            json!(components),
        ));
    }
    Ok(out)
}

/// The progress record's data on the primary, if there is one.
///
/// # Errors
/// It cannot be read.
pub async fn progress(sites: &Sites) -> Result<Option<Value>, Failure> {
    let client = Context::client(sites.primary()).await?;
    let record = Api::<ConfigMap>::namespaced(client, &sites.namespace)
        .get_opt(PROGRESS)
        .await?;
    Ok(record.map(|r| json!(r.data)))
}

/// The phase of the progress record on the primary; `None` without one, or when the primary
/// cannot be reached.
pub async fn phase(sites: &Sites) -> Option<String> {
    progress(sites).await.ok()??["phase"]
        .as_str()
        .map(str::to_owned)
}

/// The Lease's spec on the primary, if it exists.
///
/// # Errors
/// It cannot be read.
pub async fn lease(sites: &Sites) -> Result<Option<Value>, Failure> {
    let client = Context::client(sites.primary()).await?;
    let lease = Api::<Lease>::namespaced(client, &sites.namespace)
        .get_opt(LEASE)
        .await?;
    Ok(lease.map(|l| json!(l.spec)))
}

/// Everything an upgrade could change: the registries, the progress record, the Lease.
///
/// # Errors
/// One of them cannot be read.
pub async fn snapshot(sites: &Sites) -> Result<Value, Failure> {
    Ok(json!({
        "registries": registries(sites)
            .await?
            .into_iter()
            .map(|(site, version, components)| json!([site, version, components]))
            .collect::<Vec<_>>(),
        "progress": progress(sites).await?,
        "lease": lease(sites).await?,
    }))
}

/// Whether the primary's migration Job is running (`false` when it cannot be read).
pub async fn migrating(sites: &Sites) -> bool {
    let Ok(client) = Context::client(sites.primary()).await else {
        return false;
    };
    let job = Api::<Job>::namespaced(client, &sites.namespace)
        .get_opt(MIGRATION_JOB)
        .await
        .ok()
        .flatten();
    job.and_then(|j| j.status)
        .and_then(|s| s.active)
        .is_some_and(|a| a > 0)
}

/// Ready pods of `component` (`quay-app`, `clair-app`) of `site` in `namespace`.
///
/// # Errors
/// The Deployments cannot be listed.
pub async fn ready_pods(
    site: &SiteTarget,
    namespace: &str,
    component: &str,
) -> Result<i32, Failure> {
    let client = Context::client(site).await?;
    let api: Api<Deployment> = Api::namespaced(client, namespace);
    let list = api
        .list(&ListParams::default().labels(&format!("{COMPONENT_LABEL}={component}")))
        .await?;
    Ok(list
        .items
        .iter()
        .map(|d| {
            d.status
                .as_ref()
                .and_then(|s| s.ready_replicas)
                .unwrap_or(0)
        })
        .sum())
}

/// `overrides.replicas` of quay on `site`, if set.
///
/// # Errors
/// The registry cannot be read.
pub async fn quay_replicas(site: &SiteTarget, namespace: &str) -> Result<Option<u64>, Failure> {
    let registry = common::registry(site, namespace).await?;
    Ok(registry.data["spec"]["components"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["kind"] == "quay"))
        .and_then(|c| c["overrides"]["replicas"].as_u64()))
}

/// Fails unless every secondary's managed quay, clair and mirror have `replicas: 0` and no
/// quay pod of a secondary is ready.
///
/// # Errors
/// A secondary serves, or cannot be read.
pub async fn secondaries_down(sites: &Sites) -> Result<(), Failure> {
    for site in &sites.sites[1..] {
        let registry = common::registry(site, &sites.namespace).await?;
        for c in registry.data["spec"]["components"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if ["quay", "clair", "mirror"].contains(&c["kind"].as_str().unwrap_or_default())
                && c["managed"] == json!(true)
            {
                ensure!(
                    c["overrides"]["replicas"] == json!(0),
                    "{}'s {} is not scaled to 0: {c}",
                    site.name,
                    c["kind"]
                );
            }
        }
        let ready = ready_pods(site, &sites.namespace, "quay-app").await?;
        ensure!(
            ready == 0,
            "{} serves with {ready} ready quay pods",
            site.name
        );
    }
    Ok(())
}

/// Fails unless every site runs `to` with the components of `before`, its quay is ready, the
/// Lease is released, the progress record gone, and `terraform output upgraded_version` is
/// `to`.
///
/// # Errors
/// The first difference.
pub fn upgraded(
    ctx: &mut Context<'_>,
    sites: &Sites,
    before: &[(String, Value, Value)],
    to: QuayVersion,
) -> Result<(), Failure> {
    let outputs = sites.dir.output_json()?;
    let version = common::output(&outputs, "upgraded_version")?;
    ensure!(
        *version == json!(to.to_string()),
        "upgraded_version is {version}, expected {to}"
    );
    let (after, lease, progress, ready) = ctx.block_on(async {
        let mut ready = Vec::new();
        for site in &sites.sites {
            ready.push((
                site.name.clone(),
                ready_pods(site, &sites.namespace, "quay-app").await?,
            ));
        }
        Ok::<_, Failure>((
            registries(sites).await?,
            lease(sites).await?,
            progress(sites).await?,
            ready,
        ))
    })?;
    for ((site, version, components), (_, _, before)) in after.iter().zip(before) {
        ensure!(
            *version == json!(to.to_string()),
            "{site} runs {version} after the upgrade, expected {to}"
        );
        ensure!(
            components == before,
            "{site}'s replicas or HPA settings changed: {components} (before: {before})"
        );
    }
    for (site, pods) in &ready {
        ensure!(*pods > 0, "{site} has no ready quay pod after the upgrade");
    }
    ensure!(
        lease.as_ref().is_none_or(|l| l["holderIdentity"].is_null()),
        "the Lease {LEASE} is still held: {lease:?}"
    );
    ensure!(
        progress.is_none(),
        "the progress record {PROGRESS} is left behind: {progress:?}"
    );
    ctx.note(format!(
        "every site runs Quay {to} with its replicas and HPA settings, the Lease is released"
    ));
    Ok(())
}

/// The error diagnostics of a failed apply, summary and detail on one line each.
///
/// # Errors
/// The apply succeeded.
pub fn errors(outcome: &crate::terraform::ApplyOutcome) -> Result<String, Failure> {
    ensure!(
        !outcome.succeeded(),
        "the apply succeeded where it should fail"
    );
    Ok(outcome
        .events
        .errors()
        .map(|d| format!("{}: {}", d.summary, d.detail))
        .collect::<Vec<_>>()
        .join("\n"))
}

/// Fails unless `text` contains every one of `needles`.
///
/// # Errors
/// The first one missing, with `text`.
pub fn mentions(text: &str, needles: &[&str]) -> Result<(), Failure> {
    for needle in needles {
        ensure!(text.contains(needle), "{needle:?} is not in: {text}");
    }
    Ok(())
}

/// Slows the backend's migrations down while it lives (where the backend can), and sets
/// them back when dropped, also after a failure.
pub struct SlowedMigrations<'a> {
    migrations: Option<&'a Arc<dyn crate::conformance::capability::SlowMigrations>>,
}

impl<'a> SlowedMigrations<'a> {
    /// Migrations take `time` per revision on `ctx`'s backend until this is dropped.
    pub fn new(ctx: &mut Context<'a>, time: Duration) -> Self {
        let capabilities: &'a crate::conformance::Capabilities = ctx.capabilities;
        let migrations = capabilities.migrations.as_ref();
        if let Some(m) = migrations {
            m.set_time_per_revision(time);
            ctx.note(format!(
                "migrations slowed to {} ms per revision",
                time.as_millis()
            ));
        }
        Self { migrations }
    }
}

impl Drop for SlowedMigrations<'_> {
    fn drop(&mut self) {
        if let Some(m) = self.migrations {
            m.set_time_per_revision(m.time_per_revision());
        }
    }
}

/// The `QuayRegistry` API of `site` in `namespace`.
///
/// # Errors
/// No client for the site.
pub async fn registry_api(
    site: &SiteTarget,
    namespace: &str,
) -> Result<Api<DynamicObject>, Failure> {
    let client = Context::client(site).await?;
    Ok(Api::namespaced_with(
        client,
        namespace,
        &quay_registry_resource(),
    ))
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::conformance::scenarios::global_client::Probe;

    fn probe(status: Option<u16>, version: Option<&str>) -> Probe {
        Probe {
            at: Instant::now(),
            status,
            site: Some("us-east".to_owned()),
            version: version.map(str::to_owned),
        }
    }

    #[test]
    fn an_old_version_after_the_new_one_or_two_outages_break_the_served_throughout_claim() {
        let from: QuayVersion = "3.17.4".parse().unwrap();
        let to: QuayVersion = "3.18.0".parse().unwrap();
        let good = [
            probe(Some(200), Some("3.17.4")),
            probe(Some(503), None),
            probe(Some(200), Some("3.18.0")),
        ];
        assert!(served_throughout(&good, from, to, None).is_ok());
        let back = [
            probe(Some(200), Some("3.17.4")),
            probe(Some(200), Some("3.18.0")),
            probe(Some(200), Some("3.17.4")),
            probe(Some(200), Some("3.18.0")),
        ];
        assert!(served_throughout(&back, from, to, None).is_err());
        let twice = [
            probe(Some(200), Some("3.17.4")),
            probe(None, None),
            probe(Some(200), Some("3.17.4")),
            probe(Some(503), None),
            probe(Some(200), Some("3.18.0")),
        ];
        let err = served_throughout(&twice, from, to, None).unwrap_err();
        assert!(err.message().contains("2 outages"), "{}", err.message());
        assert!(
            err.message().contains("1x us-east 3.17.4, 1x no answer"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn answers_without_versions_are_judged_by_their_outages_alone() {
        // Quay's own /health/instance names no version (real sites behind a balancer).
        let from: QuayVersion = "3.17.4".parse().unwrap();
        let to: QuayVersion = "3.18.0".parse().unwrap();
        let one = [
            probe(Some(200), None),
            probe(Some(503), None),
            probe(Some(200), None),
        ];
        assert!(served_throughout(&one, from, to, None).is_ok());
        let two = [
            probe(Some(200), None),
            probe(None, None),
            probe(Some(200), None),
            probe(Some(503), None),
        ];
        assert!(served_throughout(&two, from, to, None).is_err());
    }

    #[test]
    fn an_old_answer_after_the_migration_was_seen_breaks_the_claim() {
        let from: QuayVersion = "3.17.4".parse().unwrap();
        let to: QuayVersion = "3.18.0".parse().unwrap();
        let before = probe(Some(200), Some("3.17.4"));
        let seen = Instant::now();
        let probes = [
            before,
            probe(Some(200), Some("3.17.4")),
            probe(Some(200), Some("3.18.0")),
        ];
        assert!(served_throughout(&probes, from, to, Some(seen)).is_err());
        assert!(served_throughout(&probes, from, to, None).is_ok());
    }

    #[test]
    fn the_next_and_previous_minor_come_from_the_catalogue() {
        let releases = Catalogue::builtin().releases();
        let [.., older, newest] = releases else {
            panic!("fewer than two releases");
        };
        assert_eq!(next_minor(older.version), Some(newest.version));
        assert_eq!(next_minor(newest.version), None);
        assert_eq!(previous_minor(newest.version), Some(older.version));
        assert_eq!(previous_minor(releases[0].version), None);
    }
}
