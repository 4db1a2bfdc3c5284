//! `status.conditions` of a `QuayRegistry`, computed from what the registry controller
//! observed (reference/quay-operator.md §1.5): `RolloutBlocked`, `ComponentsCreated`,
//! `Available` and one `Component<X>Ready` per kind, with the operator's reasons.
//!
//! Pure: observations in, conditions out; [`merge`] keeps `lastTransitionTime` while a
//! condition's status holds. Not modelled: the status reconciler's own 60 s period (the
//! conditions are recomputed on every reconcile), Postgres-upgrade reasons, and
//! readiness of the managed database, Redis, Clair database and storage on a cluster without
//! backing services (the model deploys none of them there, so a managed one reports
//! [`NOT_MODELLED`] with status `False`; with them, [`super::managed::status`] computes
//! them) and monitoring
//! (a managed one reports `ComponentReady`).
//!
//! One choice where DESIGN.md §4 and the reference differ, following the reference: `Available=True` needs ready quay-app
//! pods, except when quay-app was deliberately scaled to 0 and has no pods left, which the
//! reference counts as healthy (§1.5).

use serde_json::{Value, json};

use super::components::{Blocked, ComponentKind, Components};
use super::status_write::MAIN_RECONCILE_CONDITIONS;

/// The migration as the registry controller sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Migration {
    /// `currentVersion` matches and the database config did not change.
    Done,
    /// The Job is running.
    Running,
    /// The Job failed with this message.
    Failed(String),
    /// The Job should exist but does not.
    Missing,
}

/// A Deployment's replica counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Replicas {
    /// `spec.replicas`.
    pub desired: i32,
    /// `status.availableReplicas`.
    pub available: i32,
}

/// What the registry controller observed.
#[derive(Debug, Clone)]
pub struct Observation<'a> {
    /// Registry name.
    pub name: &'a str,
    /// Why the rollout is blocked, if it is.
    pub blocked: Option<&'a Blocked>,
    /// The migration.
    pub migration: Migration,
    /// The components.
    pub components: &'a Components,
    /// quay-app, mirror and clair-app Deployments (when they exist).
    pub quay: Option<Replicas>,
    /// `<n>-quay-mirror`.
    pub mirror: Option<Replicas>,
    /// `<n>-clair-app`.
    pub clair: Option<Replicas>,
    /// For a `tls` with `secretRef`: `Ok` with the ready message, `Err` with why not
    /// ([`super::external_tls::condition_message`]); `None` otherwise.
    pub external_tls: Option<Result<String, String>>,
    /// The conditions of the managed backing components on a cluster that has backing
    /// services ([`super::managed::status`]); a managed kind without one here reports
    /// [`NOT_MODELLED`].
    pub managed: &'a [Condition],
}

/// One condition, without timestamps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// Type.
    pub type_: &'static str,
    /// Status.
    pub status: bool,
    /// Reason.
    pub reason: &'static str,
    /// Message.
    pub message: String,
}

fn cond(
    type_: &'static str,
    status: bool,
    reason: &'static str,
    message: impl Into<String>,
) -> Condition {
    Condition {
        type_,
        status,
        reason,
        message: message.into(),
    }
}

fn workload(kind: ComponentKind, label: &str, replicas: Option<Replicas>) -> Condition {
    let t = kind.condition_type();
    match replicas {
        None => cond(
            t,
            false,
            "ComponentNotReady",
            format!("{label} deployment not found"),
        ),
        Some(r) if r.desired == 0 && r.available == 0 => cond(
            t,
            true,
            "ComponentReady",
            format!("{label} manually scaled down"),
        ),
        Some(r) if r.desired == 0 => cond(
            t,
            false,
            "ComponentNotReady",
            format!("{label} is being scaled down"),
        ),
        Some(r) if r.available > 0 => cond(
            t,
            true,
            "ComponentReady",
            format!("{label} component healthy"),
        ),
        Some(r) => cond(
            t,
            false,
            "ComponentNotReady",
            format!("{label} has 0 of {} replicas available", r.desired),
        ),
    }
}

/// A managed component the model does not deploy on a cluster without backing services
/// (the database, Clair's database, Redis, object storage: no images run here). The real operator checks their Deployments, PVCs
/// or `ObjectBucketClaim` (upstream `pkg/cmpstatus/postgres.go`, `redis.go`,
/// `objectstorage.go`, `clairpostgres.go`); the simulator cannot, so it says so instead of
/// claiming health. `Available` does not count it (only `ComponentNotReady` does), so the
/// simulated registry still converges on what the model does run.
fn not_modelled(kind: ComponentKind) -> Condition {
    cond(
        kind.condition_type(),
        false,
        NOT_MODELLED,
        format!("managed {kind} is not modelled by the simulator: nothing is deployed for it"),
    )
}

/// The reason of a component the simulator does not model (not one of the operator's).
pub const NOT_MODELLED: &str = "ComponentNotModelled";

/// The conditions for `obs`. While blocked, `ComponentsCreated` is left out (the previous
/// one stays).
#[must_use]
pub fn conditions(obs: &Observation<'_>) -> Vec<Condition> {
    let mut out = Vec::new();
    match obs.blocked {
        Some(b) => out.push(cond("RolloutBlocked", true, b.reason, b.message.clone())),
        None => {
            out.push(cond(
                "RolloutBlocked",
                false,
                "ComponentsCreationSuccess",
                "All objects created/updated successfully",
            ));
            let job = format!("{}-quay-app-upgrade", obs.name);
            out.push(match &obs.migration {
                Migration::Done => cond(
                    "ComponentsCreated",
                    true,
                    "ComponentsCreationSuccess",
                    "All objects created/updated successfully",
                ),
                Migration::Running => cond(
                    "ComponentsCreated",
                    false,
                    "MigrationsInProgress",
                    "running database migrations",
                ),
                Migration::Failed(message) => cond(
                    "ComponentsCreated",
                    false,
                    "MigrationsFailed",
                    message.clone(),
                ),
                Migration::Missing => cond(
                    "ComponentsCreated",
                    false,
                    "MigrationsJobMissing",
                    format!("job {job} not found"),
                ),
            });
        }
    }
    let mut quay_ready = false;
    for kind in ComponentKind::ALL {
        let c = if let (ComponentKind::Tls, Some(external)) = (kind, &obs.external_tls) {
            // Upstream `pkg/cmpstatus/tls.go`, for a certificate from `tls.secretRef`.
            match external {
                Ok(message) => cond(kind.condition_type(), true, "ComponentReady", message),
                Err(why) => cond(kind.condition_type(), false, "ComponentNotReady", why),
            }
        } else if !obs.components.is_managed(kind) {
            cond(
                kind.condition_type(),
                true,
                "ComponentNotManaged",
                format!("{kind} not managed by the operator"),
            )
        } else {
            match kind {
                ComponentKind::Quay => {
                    let job = format!("job {}-quay-app-upgrade", obs.name);
                    let c = match &obs.migration {
                        Migration::Done => workload(kind, "Quay", obs.quay),
                        Migration::Running => cond(
                            kind.condition_type(),
                            false,
                            "ComponentNotReady",
                            format!("{job} not finished"),
                        ),
                        Migration::Missing => cond(
                            kind.condition_type(),
                            false,
                            "ComponentNotReady",
                            format!("{job} not found"),
                        ),
                        Migration::Failed(m) => cond(
                            kind.condition_type(),
                            false,
                            "ComponentNotReady",
                            format!("{job} failed: {m}"),
                        ),
                    };
                    quay_ready = c.status;
                    c
                }
                ComponentKind::Mirror => workload(kind, "Mirror", obs.mirror),
                ComponentKind::Clair => workload(kind, "Clair", obs.clair),
                ComponentKind::Postgres
                | ComponentKind::ClairPostgres
                | ComponentKind::Redis
                | ComponentKind::ObjectStorage => obs
                    .managed
                    .iter()
                    .find(|c| c.type_ == kind.condition_type())
                    .cloned()
                    .unwrap_or_else(|| not_modelled(kind)),
                _ => cond(
                    kind.condition_type(),
                    true,
                    "ComponentReady",
                    format!("{kind} component healthy"),
                ),
            }
        };
        out.push(c);
    }
    let not_ready: Vec<&str> = out
        .iter()
        .filter(|c| c.reason == "ComponentNotReady")
        .map(|c| c.type_)
        .collect();
    out.push(
        if quay_ready && not_ready.is_empty() && obs.blocked.is_none() {
            cond(
                "Available",
                true,
                "HealthChecksPassing",
                "all registry component healthchecks passing",
            )
        } else if not_ready.is_empty() && obs.blocked.is_some() {
            cond(
                "Available",
                false,
                "ComponentNotReady",
                "rollout blocked; components not checked",
            )
        } else {
            cond(
                "Available",
                false,
                "ComponentNotReady",
                format!("not ready: {}", not_ready.join(", ")),
            )
        },
    );
    out
}

/// `old` (the current `status.conditions`) updated with `new` at time `now`: a condition
/// keeps its `lastTransitionTime` while its status holds; old types missing from `new` stay.
///
/// `lastUpdateTime` is `now` for every condition the status reconciler evaluated: upstream
/// `pkg/cmpstatus` stamps each condition it computes with the time, and
/// `overwriteConditions` in `controllers/quay/quayregistry_status_controller.go` does the same
/// for `Available`, changed or not (clients tell an evaluation from it). The main reconcile's
/// own conditions (`MAIN_RECONCILE_CONDITIONS`) keep theirs while nothing about them changes.
#[must_use]
pub fn merge(old: &[Value], new: &[Condition], now: &str) -> Vec<Value> {
    let mut out: Vec<Value> = old
        .iter()
        .filter(|o| !new.iter().any(|n| o["type"] == n.type_))
        .cloned()
        .collect();
    for n in new {
        let status = if n.status { "True" } else { "False" };
        let previous = old.iter().find(|o| o["type"] == n.type_);
        let same_status = previous.is_some_and(|p| p["status"] == status);
        let unchanged = same_status
            && previous
                .is_some_and(|p| p["reason"] == n.reason && p["message"] == n.message.as_str());
        let stamp = |field: &str, keep: bool| match previous {
            Some(p) if keep && p.get(field).is_some() => p[field].clone(),
            _ => json!(now),
        };
        out.push(json!({
            "type": n.type_,
            "status": status,
            "reason": n.reason,
            "message": n.message,
            "lastUpdateTime": stamp(
                "lastUpdateTime",
                unchanged && MAIN_RECONCILE_CONDITIONS.contains(&n.type_),
            ),
            "lastTransitionTime": stamp("lastTransitionTime", same_status),
        }));
    }
    out.sort_by_key(|c| rank(c["type"].as_str().unwrap_or_default()));
    out
}

/// The order the real operator's conditions end up in: the status reconciler's checks in
/// the order `cmpstatus.Evaluate` runs them (upstream `pkg/cmpstatus/evaluator.go`: the
/// independent components, then Quay's dependencies, then Quay and mirror), then
/// `Available` (`controllers/quay/quayregistry_status_controller.go`), then the registry
/// controller's own. `SetCondition` replaces a condition in place and appends new ones, so
/// clients (and Chainsaw's positional list asserts) see this order, not an alphabetical one.
/// Unknown types go last, in the order they had.
const ORDER: [&str; 14] = [
    "ComponentHPAReady",
    "ComponentRouteReady",
    "ComponentMonitoringReady",
    "ComponentPostgresReady",
    "ComponentObjectStorageReady",
    "ComponentClairReady",
    "ComponentClairPostgresReady",
    "ComponentTLSReady",
    "ComponentRedisReady",
    "ComponentQuayReady",
    "ComponentMirrorReady",
    "Available",
    "ComponentsCreated",
    "RolloutBlocked",
];

fn rank(type_: &str) -> usize {
    ORDER
        .iter()
        .position(|t| *t == type_)
        .unwrap_or(ORDER.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs<'a>(
        components: &'a Components,
        migration: Migration,
        quay: Option<Replicas>,
    ) -> Observation<'a> {
        Observation {
            name: "r",
            blocked: None,
            migration,
            components,
            quay,
            mirror: None,
            clair: None,
            external_tls: None,
            managed: &[],
        }
    }

    fn find<'a>(c: &'a [Condition], t: &str) -> &'a Condition {
        c.iter().find(|c| c.type_ == t).unwrap()
    }

    fn quay_only() -> Components {
        Components::from_spec(&json!({"components": [{"kind": "quay", "managed": true}]}))
    }

    #[test]
    fn available_only_with_ready_quay_pods_after_migration() {
        let c = quay_only();
        let ready = Some(Replicas {
            desired: 2,
            available: 1,
        });
        let done = conditions(&obs(&c, Migration::Done, ready));
        assert!(find(&done, "Available").status);
        let running = conditions(&obs(&c, Migration::Running, ready));
        assert!(!find(&running, "Available").status);
        assert_eq!(
            find(&running, "ComponentsCreated").reason,
            "MigrationsInProgress"
        );
        let unready = conditions(&obs(
            &c,
            Migration::Done,
            Some(Replicas {
                desired: 2,
                available: 0,
            }),
        ));
        assert!(!find(&unready, "Available").status);
        assert_eq!(
            find(&unready, "ComponentQuayReady").reason,
            "ComponentNotReady"
        );
    }

    #[test]
    fn failed_migration_reports_the_job_message() {
        let c = quay_only();
        let out = conditions(&obs(&c, Migration::Failed("boom".into()), None));
        let created = find(&out, "ComponentsCreated");
        assert_eq!(
            (created.reason, created.message.as_str()),
            ("MigrationsFailed", "boom")
        );
    }

    #[test]
    fn unmanaged_components_report_not_managed() {
        let c = quay_only();
        let out = conditions(&obs(&c, Migration::Done, None));
        assert_eq!(
            find(&out, "ComponentPostgresReady").reason,
            "ComponentNotManaged"
        );
    }

    #[test]
    fn managed_components_nothing_deploys_are_reported_not_modelled_not_healthy() {
        let c = Components::from_spec(&json!({"components": [
            {"kind": "quay", "managed": true},
            {"kind": "postgres", "managed": true},
            {"kind": "redis", "managed": true},
        ]}));
        let ready = Some(Replicas {
            desired: 1,
            available: 1,
        });
        let out = conditions(&obs(&c, Migration::Done, ready));
        for t in ["ComponentPostgresReady", "ComponentRedisReady"] {
            let got = find(&out, t);
            assert_eq!((got.status, got.reason), (false, NOT_MODELLED), "{t}");
        }
        assert!(find(&out, "Available").status);
    }

    #[test]
    fn an_external_tls_secret_decides_the_tls_condition() {
        let c = quay_only();
        let ready = Some(Replicas {
            desired: 1,
            available: 1,
        });
        let mut o = obs(&c, Migration::Done, ready);
        o.external_tls = Some(Err("External TLS secret not found".into()));
        let out = conditions(&o);
        let tls = find(&out, "ComponentTLSReady");
        assert_eq!(
            (tls.status, tls.reason, tls.message.as_str()),
            (false, "ComponentNotReady", "External TLS secret not found")
        );
        assert!(!find(&out, "Available").status);
        o.external_tls = Some(Ok("Using externally managed TLS certificate".into()));
        assert!(find(&conditions(&o), "ComponentTLSReady").status);
    }

    #[test]
    fn managed_components_with_backing_services_report_what_was_observed() {
        let c = Components::from_spec(&json!({"components": [
            {"kind": "quay", "managed": true},
            {"kind": "postgres", "managed": true},
            {"kind": "redis", "managed": true},
        ]}));
        let observed = [cond(
            "ComponentPostgresReady",
            false,
            "PVCPending",
            "Postgres PersistentVolumeClaim r-quay-postgres-13 is pending",
        )];
        let ready = Some(Replicas {
            desired: 1,
            available: 1,
        });
        let mut o = obs(&c, Migration::Done, ready);
        o.managed = &observed;
        let out = conditions(&o);
        assert_eq!(find(&out, "ComponentPostgresReady"), &observed[0]);
        assert_eq!(find(&out, "ComponentRedisReady").reason, NOT_MODELLED);
    }

    #[test]
    fn conditions_come_in_the_operators_order_not_alphabetically() {
        let c = quay_only();
        let merged = merge(&[], &conditions(&obs(&c, Migration::Done, None)), "t");
        let types: Vec<&str> = merged.iter().filter_map(|c| c["type"].as_str()).collect();
        assert_eq!(types, ORDER);
    }

    #[test]
    fn merge_keeps_transition_time_while_status_holds() {
        let first = merge(&[], &[cond("A", true, "R", "m1")], "t1");
        let second = merge(&first, &[cond("A", true, "R", "m2")], "t2");
        assert_eq!(second[0]["lastTransitionTime"], "t1");
        assert_eq!(second[0]["lastUpdateTime"], "t2");
        let third = merge(&second, &[cond("A", false, "R", "m2")], "t3");
        assert_eq!(third[0]["lastTransitionTime"], "t3");
        // An evaluation stamps its time though nothing changed; the main reconcile's
        // conditions keep theirs.
        let again = merge(&third, &[cond("A", false, "R", "m2")], "t4");
        assert_eq!(again[0]["lastUpdateTime"], "t4");
        assert_eq!(again[0]["lastTransitionTime"], "t3");
        let created = cond("ComponentsCreated", true, "R", "m");
        let first = merge(&[], std::slice::from_ref(&created), "t1");
        assert_eq!(merge(&first, &[created], "t2"), first);
    }
}
