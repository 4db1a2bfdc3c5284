//! The timeline `bench upgrade` records and what it derives from it: the critical path of
//! the upgrade and where the rest of the time went.
//!
//! Pure: [`analyse`] reads [`Seen`] entries in time order; the recorder that fills them lives
//! in the parent module.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use k8s_openapi::api::core::v1::Pod;

use crate::quay::{COMPONENT_LABEL, is_pod_ready};

/// The Lease and progress record the upgrade keeps on the primary.
pub const LEASE: &str = "quay-georep-upgrade";
/// See [`LEASE`].
pub const PROGRESS: &str = "quay-georep-upgrade-progress";
/// The pods the upgrade scales down and restores.
const SCALED_COMPONENTS: [&str; 3] = ["quay-app", "quay-mirror", "clair-app"];

/// The timeline lacks a moment the critical path needs.
#[derive(Debug, thiserror::Error)]
#[error("the timeline has no {0}: did the upgrade run?")]
pub struct Missing(pub String);

/// What a timeline entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A `QuayRegistry`.
    Registry,
    /// A pod in the sites' namespace.
    Pod,
    /// A Job in the sites' namespace.
    Job,
    /// The operator's Subscription.
    Subscription,
    /// An InstallPlan.
    InstallPlan,
    /// The operator Deployment.
    OperatorDeployment,
    /// A Lease in the sites' namespace.
    Lease,
    /// A ConfigMap in the sites' namespace.
    ConfigMap,
}

/// One change the recorder saw.
#[derive(Debug, Clone)]
pub struct Seen {
    /// When it was seen.
    pub at: Instant,
    /// Index of the site (0 is the primary).
    pub site: usize,
    /// What kind of object.
    pub kind: Kind,
    /// Its name.
    pub name: String,
    /// Whether it was deleted (else created or changed).
    pub deleted: bool,
    /// The object as seen.
    pub object: Value,
}

/// The critical path's parts and the times measured, of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct UpgradeRun {
    /// Wall time of `terraform apply` of the upgrade.
    pub apply: Duration,
    /// Lease taken to progress record deleted.
    pub upgrade: Duration,
    /// Slowest secondary's pods gone after the scale-down.
    pub scale_down: Duration,
    /// Primary operator upgrade to `currentVersion == target` and Available.
    pub primary: Duration,
    /// Of which the migration Job ran (Job active to succeeded).
    pub migration: Option<Duration>,
    /// Each secondary's operator upgrade, in order.
    pub secondaries: Vec<Duration>,
    /// Slowest secondary's restore to its ready pods.
    pub restore: Duration,
    /// Time InstallPlans waited for approval (excluded from the critical path).
    pub approval_waits: Duration,
    /// Where the rest went: the time between one part of the critical path and the next,
    /// when the sites waited for the provider to notice and act.
    pub gaps: Vec<(String, Duration)>,
}

impl UpgradeRun {
    /// The sum of the parts that must happen in sequence.
    #[must_use]
    pub fn critical_path(&self) -> Duration {
        self.scale_down + self.primary + self.secondaries.iter().sum::<Duration>() + self.restore
    }

    /// Upgrade time over critical path.
    #[must_use]
    pub fn ratio(&self) -> f64 {
        self.upgrade.as_secs_f64() / self.critical_path().as_secs_f64().max(f64::EPSILON)
    }
}

fn quay_replicas(registry: &Value) -> Option<i64> {
    registry["spec"]["components"]
        .as_array()?
        .iter()
        .find(|c| c["kind"] == "quay")
        .and_then(|c| c["overrides"]["replicas"].as_i64())
}

fn available_at(registry: &Value, target: &str) -> bool {
    registry["status"]["currentVersion"] == json!(target)
        && registry["status"]["conditions"]
            .as_array()
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "Available" && c["status"] == "True")
            })
}

/// The watch hands pods over as JSON; one that does not read as a Pod is not ready.
fn pod_ready(pod: &Value) -> bool {
    serde_json::from_value::<Pod>(pod.clone()).is_ok_and(|p| is_pod_ready(&p))
}

fn scaled_component(pod: &Value) -> bool {
    pod["metadata"]["labels"][COMPONENT_LABEL]
        .as_str()
        .is_some_and(|c| SCALED_COMPONENTS.contains(&c))
}

/// Per site, the scaled components' pods after each pod event: (time, live pods, ready pods).
fn pod_counts(timeline: &[Seen], site: usize) -> Vec<(Instant, usize, usize)> {
    let mut pods: BTreeMap<&str, bool> = BTreeMap::new();
    let mut out = Vec::new();
    for s in timeline
        .iter()
        .filter(|s| s.site == site && s.kind == Kind::Pod && scaled_component(&s.object))
    {
        if s.deleted {
            pods.remove(s.name.as_str());
        } else {
            pods.insert(&s.name, pod_ready(&s.object));
        }
        out.push((s.at, pods.len(), pods.values().filter(|r| **r).count()));
    }
    out
}

fn first(
    timeline: &[Seen],
    after: Instant,
    site: usize,
    kind: Kind,
    pred: impl Fn(&Seen) -> bool,
) -> Option<&Seen> {
    timeline
        .iter()
        .find(|s| s.at >= after && s.site == site && s.kind == kind && pred(s))
}

/// One site's operator upgrade: (start, end, time waiting for approval).
fn operator_upgrade(
    timeline: &[Seen],
    after: Instant,
    site: usize,
    target: &str,
) -> Option<(Instant, Instant, Duration)> {
    let initial = |kind| {
        timeline
            .iter()
            .find(|s| s.site == site && s.kind == kind)
            .map(|s| s.object["spec"].clone())
    };
    let channel = initial(Kind::Subscription).map(|spec| spec["channel"].clone());
    let template = initial(Kind::OperatorDeployment).map(|spec| spec["template"].clone());
    let subscription_change = channel.as_ref().and_then(|channel| {
        first(timeline, after, site, Kind::Subscription, |s| {
            s.object["spec"]["channel"] != *channel
        })
    });
    let approved = first(timeline, after, site, Kind::InstallPlan, |s| {
        s.object["spec"]["approved"] == json!(true)
    });
    let deployment_change = template.as_ref().and_then(|template| {
        first(timeline, after, site, Kind::OperatorDeployment, |s| {
            s.object["spec"]["template"] != *template
        })
    });
    let start = subscription_change.or(approved).or(deployment_change)?.at;
    let waited = approved.map_or(Duration::ZERO, |approved| {
        let offered = timeline
            .iter()
            .find(|s| s.site == site && s.kind == Kind::InstallPlan && s.name == approved.name)
            .map_or(start, |s| s.at.max(start));
        approved.at.saturating_duration_since(offered)
    });
    let end = first(timeline, start, site, Kind::Registry, |s| {
        available_at(&s.object, target)
    })?
    .at;
    Some((start, end, waited))
}

/// The primary's migration Job: active to succeeded.
fn migration(timeline: &[Seen], after: Instant) -> Option<Duration> {
    let active = first(timeline, after, 0, Kind::Job, |s| {
        s.object["status"]["active"].as_i64().unwrap_or(0) > 0
    })?;
    let done = first(timeline, active.at, 0, Kind::Job, |s| {
        s.name == active.name && s.object["status"]["succeeded"].as_i64().unwrap_or(0) > 0
    })?;
    Some(done.at - active.at)
}

/// Derives one run's figures from its timeline; `sites` counts the sites (0 is the primary).
///
/// # Errors
/// [`Missing`] naming the first moment that is missing.
pub fn analyse(
    timeline: &[Seen],
    sites: usize,
    target: &str,
    apply: Duration,
) -> Result<UpgradeRun, Missing> {
    let missing = |what: &str| Missing(what.to_owned());
    let lease = first(
        timeline,
        timeline.first().map_or_else(Instant::now, |s| s.at),
        0,
        Kind::Lease,
        |s| s.name == LEASE && !s.object["spec"]["holderIdentity"].is_null(),
    )
    .ok_or_else(|| missing("Lease taken"))?
    .at;
    let cleared = first(timeline, lease, 0, Kind::ConfigMap, |s| {
        s.name == PROGRESS && s.deleted
    })
    .ok_or_else(|| missing("progress record deleted"))?
    .at;
    let mut scale_down = Duration::ZERO;
    let mut restore = Duration::ZERO;
    let mut secondaries = Vec::new();
    let mut approval_waits = Duration::ZERO;
    let (p_start, p_end, p_wait) =
        operator_upgrade(timeline, lease, 0, target).ok_or_else(|| missing("primary upgrade"))?;
    approval_waits += p_wait;
    let mut after = p_end;
    let mut first_asked: Option<Instant> = None;
    let mut last_gone = lease;
    let mut first_restored: Option<Instant> = None;
    let mut last_ready = lease;
    let mut gaps = Vec::new();
    for site in 1..sites {
        let counts = pod_counts(timeline, site);
        let before_ready = counts
            .iter()
            .take_while(|(at, _, _)| *at < lease)
            .last()
            .map_or(0, |c| c.2);
        let asked = first(timeline, lease, site, Kind::Registry, |s| {
            quay_replicas(&s.object) == Some(0)
        })
        .ok_or_else(|| missing(&format!("scale-down of site {site}")))?
        .at;
        let gone = counts
            .iter()
            .find(|(at, live, _)| *at >= asked && *live == 0)
            .map_or(asked, |c| c.0);
        scale_down = scale_down.max(gone - asked);
        first_asked = Some(first_asked.map_or(asked, |a| a.min(asked)));
        last_gone = last_gone.max(gone);
        let (start, end, wait) = operator_upgrade(timeline, after, site, target)
            .ok_or_else(|| missing(&format!("operator upgrade of site {site}")))?;
        secondaries.push((end - start).saturating_sub(wait));
        approval_waits += wait;
        gaps.push((
            format!(
                "site {} at target -> site {site}'s operator change",
                site - 1
            ),
            start.saturating_duration_since(after),
        ));
        after = end;
        let restored = first(timeline, end, site, Kind::Registry, |s| {
            quay_replicas(&s.object).is_some_and(|r| r != 0)
        })
        .ok_or_else(|| missing(&format!("restore of site {site}")))?
        .at;
        let ready = counts
            .iter()
            .find(|(at, _, ready)| *at >= restored && *ready >= before_ready)
            .ok_or_else(|| missing(&format!("ready pods of site {site} after restore")))?
            .0;
        restore = restore.max(ready - restored);
        first_restored = Some(first_restored.map_or(restored, |r| r.min(restored)));
        last_ready = last_ready.max(ready);
    }
    let mut all_gaps = vec![
        (
            "Lease taken -> first scale-down written".to_owned(),
            first_asked.map_or(Duration::ZERO, |a| a.saturating_duration_since(lease)),
        ),
        (
            "secondaries' pods gone -> primary's operator change".to_owned(),
            p_start.saturating_duration_since(last_gone),
        ),
    ];
    all_gaps.append(&mut gaps);
    all_gaps.push((
        "last secondary at target -> first restore written".to_owned(),
        first_restored.map_or(Duration::ZERO, |r| r.saturating_duration_since(after)),
    ));
    all_gaps.push((
        "pods ready -> progress record deleted".to_owned(),
        cleared.saturating_duration_since(last_ready),
    ));
    Ok(UpgradeRun {
        apply,
        upgrade: cleared - lease,
        scale_down,
        primary: (p_end - p_start).saturating_sub(p_wait),
        migration: migration(timeline, p_start),
        secondaries,
        restore,
        approval_waits,
        gaps: all_gaps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(replicas: i64, version: &str) -> Value {
        json!({
            "spec": {"components": [{"kind": "quay", "managed": true, "overrides": {"replicas": replicas}}]},
            "status": {"currentVersion": version, "conditions": [{"type": "Available", "status": "True"}]},
        })
    }

    fn pod(ready: bool) -> Value {
        json!({
            "metadata": {"labels": {COMPONENT_LABEL: "quay-app"}},
            "status": {"conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]},
        })
    }

    /// A two-site upgrade whose every moment is known, in milliseconds from `base`.
    fn timeline(base: Instant) -> Vec<Seen> {
        let at = |ms| base + Duration::from_millis(ms);
        let seen = |ms, site, kind, name: &str, deleted, object| Seen {
            at: at(ms),
            site,
            kind,
            name: name.to_owned(),
            deleted,
            object,
        };
        let channel = |c: &str| json!({"spec": {"channel": c}});
        let plan = |approved: bool| json!({"spec": {"approved": approved}});
        vec![
            seen(
                0,
                0,
                Kind::Registry,
                "registry",
                false,
                registry(2, "3.17.4"),
            ),
            seen(
                0,
                1,
                Kind::Registry,
                "registry",
                false,
                registry(2, "3.17.4"),
            ),
            seen(
                0,
                0,
                Kind::Subscription,
                "quay",
                false,
                channel("stable-3.17"),
            ),
            seen(
                0,
                1,
                Kind::Subscription,
                "quay",
                false,
                channel("stable-3.17"),
            ),
            seen(0, 1, Kind::Pod, "p1", false, pod(true)),
            seen(
                100,
                0,
                Kind::Lease,
                LEASE,
                false,
                json!({"spec": {"holderIdentity": "me"}}),
            ),
            seen(
                150,
                1,
                Kind::Registry,
                "registry",
                false,
                registry(0, "3.17.4"),
            ),
            seen(200, 1, Kind::Pod, "p1", true, pod(true)),
            seen(
                300,
                0,
                Kind::Subscription,
                "quay",
                false,
                channel("stable-3.18"),
            ),
            seen(350, 0, Kind::InstallPlan, "ip0", false, plan(false)),
            seen(450, 0, Kind::InstallPlan, "ip0", false, plan(true)),
            seen(
                1300,
                0,
                Kind::Registry,
                "registry",
                false,
                registry(2, "3.18.0"),
            ),
            seen(
                1400,
                1,
                Kind::Subscription,
                "quay",
                false,
                channel("stable-3.18"),
            ),
            seen(1420, 1, Kind::InstallPlan, "ip1", false, plan(false)),
            seen(1500, 1, Kind::InstallPlan, "ip1", false, plan(true)),
            seen(
                1700,
                1,
                Kind::Registry,
                "registry",
                false,
                registry(0, "3.18.0"),
            ),
            seen(
                1800,
                1,
                Kind::Registry,
                "registry",
                false,
                registry(2, "3.18.0"),
            ),
            seen(1850, 1, Kind::Pod, "p2", false, pod(false)),
            seen(1900, 1, Kind::Pod, "p2", false, pod(true)),
            seen(2000, 0, Kind::ConfigMap, PROGRESS, true, json!({})),
        ]
    }

    #[test]
    fn the_critical_path_is_the_sites_work_in_sequence_without_approval_waits() {
        let base = Instant::now();
        let run = analyse(&timeline(base), 2, "3.18.0", Duration::from_secs(3)).unwrap();
        let ms = Duration::from_millis;
        assert_eq!(run.upgrade, ms(1900), "Lease taken to progress deleted");
        assert_eq!(run.scale_down, ms(50));
        assert_eq!(
            run.primary,
            ms(900),
            "1000 ms minus 100 ms waiting for approval"
        );
        assert_eq!(run.secondaries, [ms(220)]);
        assert_eq!(run.restore, ms(100));
        assert_eq!(run.approval_waits, ms(180));
        assert_eq!(run.critical_path(), ms(1270));
        let gaps: Vec<Duration> = run.gaps.iter().map(|(_, d)| *d).collect();
        assert_eq!(gaps, [ms(50), ms(100), ms(100), ms(100), ms(100)]);
        assert!((run.ratio() - 1900.0 / 1270.0).abs() < 1e-9);
    }

    #[test]
    fn a_timeline_without_the_upgrade_names_what_is_missing() {
        let base = Instant::now();
        let mut events = timeline(base);
        events.retain(|s| s.kind != Kind::Lease);
        let err = analyse(&events, 2, "3.18.0", Duration::ZERO).unwrap_err();
        assert!(err.to_string().contains("Lease taken"), "{err}");
    }
}
