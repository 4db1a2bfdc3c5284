//! Reading a live `QuayRegistry`, once, for every caller: its conditions, versions and
//! components, and the questions asked of them.
//!
//! The site resource waits on [`RegistryStatus::convergence`], refuses to touch a site while
//! [`RegistryStatus::is_held_for_upgrade`], and takes the migration gate when
//! [`may_migrate`]; the upgrade's observation (`orchestrate/observe.rs`) carries a
//! [`RegistryStatus`] in its `SiteState`: its preflight decides convergence by the same
//! [`RegistryStatus::gap`] and words the gap with [`describe_condition`], and its waits ask
//! [`RegistryStatus::is_available`] and [`RegistryStatus::is_generation_observed`]. The operator's
//! status contract is `reference/quay-operator.md` §1.5 (upstream: the operator's
//! `apis/quay/v1/quayregistry_types.go`, `Condition*` constants).
//!
//! Pure: values in, answers out. It reads JSON, as every Kubernetes client hands it over; it
//! does not fetch anything.

use serde_json::Value as Json;

/// Annotation the upgrade puts on a secondary's `QuayRegistry` while it holds the site at 0
/// replicas, and removes when it restores it. While it is there, the scaled-down replicas and
/// unmanaged HPA are the upgrade's, not drift, and the site resource must not restore them
/// (that would serve an old version against the migrated database).
pub const SCALED_DOWN_ANNOTATION: &str = "quay-georep/scaled-down-for-upgrade";

/// One `status.conditions` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// `type`, such as `Available`.
    pub kind: String,
    /// `status`.
    pub status: ConditionStatus,
    /// `reason`, possibly empty.
    pub reason: String,
    /// `message`, possibly empty.
    pub message: String,
}

/// A condition's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionStatus {
    /// `"True"`.
    True,
    /// `"False"`.
    False,
    /// `"Unknown"` or anything else.
    Unknown,
}

impl ConditionStatus {
    /// The status as Kubernetes writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::True => "True",
            Self::False => "False",
            Self::Unknown => "Unknown",
        }
    }

    fn read(text: Option<&str>) -> Self {
        match text {
            Some("True") => Self::True,
            Some("False") => Self::False,
            _ => Self::Unknown,
        }
    }
}

impl Condition {
    /// The condition from its JSON object; missing fields read as empty.
    pub fn read(value: &Json) -> Self {
        let text = |key: &str| value[key].as_str().unwrap_or_default().to_owned();
        Self {
            kind: text("type"),
            status: ConditionStatus::read(value["status"].as_str()),
            reason: text("reason"),
            message: text("message"),
        }
    }

    /// `Type=Status (Reason): message`, the message part only when there is one.
    pub fn line(&self) -> String {
        let mut line = format!("{}={} ({})", self.kind, self.status.as_str(), self.reason);
        if !self.message.is_empty() {
            line.push_str(": ");
            line.push_str(&self.message);
        }
        line
    }
}

/// One entry of `spec.components`, as the operator left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentSpec {
    /// `kind`, such as `quay` or `horizontalpodautoscaler`.
    pub kind: String,
    /// `managed`, `None` when absent.
    pub managed: Option<bool>,
    /// `overrides.replicas`, `None` when absent or not a whole number.
    pub replicas: Option<i64>,
    /// `overrides.env` as name and value, in spec order (entries without a string value are
    /// left out).
    pub env: Vec<(String, String)>,
    /// `overrides` as it is (`null` when absent), for the pod overrides
    /// (read back by import as the pod override attributes).
    pub overrides: Json,
}

impl ComponentSpec {
    fn read(value: &Json) -> Self {
        let overrides = &value["overrides"];
        let env = overrides["env"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| {
                Some((
                    e["name"].as_str()?.to_owned(),
                    e["value"].as_str()?.to_owned(),
                ))
            })
            .collect();
        Self {
            kind: value["kind"].as_str().unwrap_or_default().to_owned(),
            managed: value["managed"].as_bool(),
            replicas: overrides["replicas"].as_i64(),
            env,
            overrides: overrides.clone(),
        }
    }
}

/// What a live `QuayRegistry` says about itself: its status, and the spec fields the callers
/// compare with it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistryStatus {
    /// `status.currentVersion`, `None` when unset or empty.
    pub current_version: Option<String>,
    /// `status.registryEndpoint`, `None` when unset or empty.
    pub registry_endpoint: Option<String>,
    /// `status.conditions`, in the operator's order.
    pub conditions: Vec<Condition>,
    /// `metadata.generation`.
    pub generation: Option<i64>,
    /// `status.observedGeneration` (Quay 3.17+; `None` before).
    pub observed_generation: Option<i64>,
    /// `status.lastUpdated`, rewritten by every full reconcile of the operator.
    pub last_updated: Option<String>,
    /// `spec.components`, in spec order.
    pub components: Vec<ComponentSpec>,
    /// `spec.configBundleSecret`.
    pub config_bundle_secret: Option<String>,
    /// Whether [`SCALED_DOWN_ANNOTATION`] is set.
    pub(crate) held_for_upgrade: bool,
}

/// What a wait for a site makes of its `QuayRegistry`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Convergence {
    /// Available, components created, a current version, the latest generation observed.
    Converged,
    /// Not yet; the text says what is seen, for progress logs and timeouts.
    Pending(String),
    /// It will not converge without a change; the text says why.
    Failed(String),
}

impl RegistryStatus {
    /// Reads `registry`, a `QuayRegistry` as the API server returns it.
    pub fn read(registry: &Json) -> Self {
        let status = &registry["status"];
        let text = |value: &Json| value.as_str().filter(|v| !v.is_empty()).map(str::to_owned);
        Self {
            current_version: text(&status["currentVersion"]),
            registry_endpoint: text(&status["registryEndpoint"]),
            conditions: status["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(Condition::read)
                .collect(),
            generation: registry["metadata"]["generation"].as_i64(),
            observed_generation: status["observedGeneration"].as_i64(),
            last_updated: text(&status["lastUpdated"]),
            components: registry["spec"]["components"]
                .as_array()
                .into_iter()
                .flatten()
                .map(ComponentSpec::read)
                .collect(),
            config_bundle_secret: registry["spec"]["configBundleSecret"]
                .as_str()
                .map(str::to_owned),
            held_for_upgrade: registry["metadata"]["annotations"][SCALED_DOWN_ANNOTATION]
                .is_string(),
        }
    }

    /// The condition of type `kind`, if reported.
    pub fn condition(&self, kind: &str) -> Option<&Condition> {
        find_condition(&self.conditions, kind)
    }

    /// Every condition as `Type=Status (Reason): message`.
    pub fn condition_lines(&self) -> Vec<String> {
        self.conditions.iter().map(Condition::line).collect()
    }

    /// The first `spec.components` entry of `kind`.
    pub fn component(&self, kind: &str) -> Option<&ComponentSpec> {
        self.components.iter().find(|c| c.kind == kind)
    }

    /// The quay component's storage preference override, word by word (empty without one).
    pub fn storage_preference(&self) -> Vec<String> {
        self.component("quay")
            .and_then(|quay| {
                quay.env
                    .iter()
                    .find(|(name, _)| name == super::render::PREFERENCE_ENV)
            })
            .map(|(_, value)| value.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// Whether an unfinished `quay_georep_upgrade` holds this site scaled down (see
    /// [`SCALED_DOWN_ANNOTATION`]).
    pub fn is_held_for_upgrade(&self) -> bool {
        self.held_for_upgrade
    }

    /// Whether the operator has seen the latest spec (always true before Quay 3.17, which
    /// does not report `observedGeneration`).
    pub fn is_generation_observed(&self) -> bool {
        is_generation_observed(self.generation, self.observed_generation)
    }

    /// Whether `Available` is reported `True`: the operator's health checks pass.
    pub fn is_available(&self) -> bool {
        self.is_true("Available")
    }

    fn is_true(&self, kind: &str) -> bool {
        self.condition(kind)
            .is_some_and(|c| c.status == ConditionStatus::True)
    }

    /// The first convergence rule (reference: quay-operator §1.5) the site breaks, `None` when
    /// it is converged. [`Self::convergence`] and the upgrade's preflight both decide on this,
    /// and word it each for their reader.
    pub fn gap(&self) -> Option<Gap<'_>> {
        if let Some(blocked) = self
            .condition("RolloutBlocked")
            .filter(|c| c.status == ConditionStatus::True)
        {
            return Some(Gap::RolloutBlocked(blocked));
        }
        for kind in ["Available", "ComponentsCreated"] {
            if let Some(failed) = self
                .condition(kind)
                .filter(|c| c.reason == "MigrationsFailed")
            {
                return Some(Gap::MigrationFailed(failed));
            }
        }
        if !self.is_generation_observed() {
            return Some(Gap::GenerationNotObserved {
                generation: self.generation.unwrap_or_default(),
                observed: self.observed_generation.unwrap_or_default(),
            });
        }
        if let Some(kind) = ["Available", "ComponentsCreated"]
            .into_iter()
            .find(|kind| !self.is_true(kind))
        {
            return Some(Gap::NotTrue(kind));
        }
        self.current_version.is_none().then_some(Gap::NoVersion)
    }

    /// Whether the operator reports the site converged (reference: quay-operator §1.5): a
    /// blocked rollout or a failed migration fails at once, with the operator's message.
    pub fn convergence(&self) -> Convergence {
        match self.gap() {
            None => Convergence::Converged,
            Some(Gap::RolloutBlocked(blocked)) => Convergence::Failed(format!(
                "the operator blocked the rollout: {}: {}. Conditions: {}",
                blocked.reason,
                blocked.message,
                self.condition_lines().join("; ")
            )),
            Some(Gap::MigrationFailed(failed)) => {
                Convergence::Failed(format!("the database migration failed: {}", failed.message))
            }
            Some(Gap::GenerationNotObserved { generation, .. }) => Convergence::Pending(format!(
                "the operator has not reconciled generation {generation} yet"
            )),
            Some(Gap::NotTrue(_) | Gap::NoVersion) => {
                let seen = self.condition_lines();
                Convergence::Pending(if seen.is_empty() {
                    "no status yet".into()
                } else {
                    seen.join("; ")
                })
            }
        }
    }
}

/// Why a `QuayRegistry` is not converged, by [`RegistryStatus::gap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gap<'a> {
    /// `RolloutBlocked` is `True`: it will not converge without a change.
    RolloutBlocked(&'a Condition),
    /// `Available` or `ComponentsCreated` has reason `MigrationsFailed`.
    MigrationFailed(&'a Condition),
    /// The operator has not processed the latest spec yet.
    GenerationNotObserved {
        /// `metadata.generation`.
        generation: i64,
        /// `status.observedGeneration`.
        observed: i64,
    },
    /// This condition (`Available` or `ComponentsCreated`) is not `True`.
    NotTrue(&'static str),
    /// `status.currentVersion` is not set.
    NoVersion,
}

/// [`RegistryStatus::convergence`] of a `QuayRegistry` that may not exist (yet, or any more).
pub fn convergence(registry: Option<&RegistryStatus>) -> Convergence {
    registry.map_or_else(
        || Convergence::Pending("the QuayRegistry does not exist".into()),
        RegistryStatus::convergence,
    )
}

/// Whether applying a site whose bundle Secret is `bundle_secret_name` over `live` can make
/// the operator start a migration Job: a new `QuayRegistry`, one that never finished installing
/// (no `currentVersion`), or a new config bundle (which may change `DB_URI`).
pub fn may_migrate(live: Option<&RegistryStatus>, bundle_secret_name: &str) -> bool {
    live.is_none_or(|live| {
        live.current_version.is_none()
            || live.config_bundle_secret.as_deref() != Some(bundle_secret_name)
    })
}

/// The condition of type `kind` among `conditions`.
pub fn find_condition<'a>(conditions: &'a [Condition], kind: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.kind == kind)
}

/// Whether the operator has seen the latest spec (always true before Quay 3.17, which does not
/// report `observedGeneration`).
pub fn is_generation_observed(generation: Option<i64>, observed: Option<i64>) -> bool {
    match (generation, observed) {
        (Some(generation), Some(observed)) => observed >= generation,
        _ => true,
    }
}

/// `Available is False (ComponentNotReady: ...)`, or that the condition is missing.
pub fn describe_condition(conditions: &[Condition], kind: &str) -> String {
    match find_condition(conditions, kind) {
        None => format!("condition {kind} is not reported"),
        Some(c) if c.reason.is_empty() && c.message.is_empty() => {
            format!("{kind} is {}", c.status.as_str())
        }
        Some(c) => format!(
            "{kind} is {} ({}: {})",
            c.status.as_str(),
            c.reason,
            c.message
        ),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn registry(conditions: &Json, version: &str, generation: i64, observed: i64) -> Json {
        json!({
            "metadata": {"generation": generation},
            "status": {"conditions": conditions, "currentVersion": version, "observedGeneration": observed},
        })
    }

    fn converged() -> Json {
        json!([
            {"type": "Available", "status": "True", "reason": "HealthChecksPassing"},
            {"type": "ComponentsCreated", "status": "True", "reason": "ComponentsCreationSuccess"},
            {"type": "RolloutBlocked", "status": "False", "reason": "ComponentsCreationSuccess"},
        ])
    }

    fn check(registry: &Json) -> Convergence {
        convergence(Some(&RegistryStatus::read(registry)))
    }

    #[test]
    fn a_converged_site_is_done() {
        assert_eq!(
            check(&registry(&converged(), "3.16.5", 2, 2)),
            Convergence::Converged
        );
    }

    #[test]
    fn a_missing_registry_or_version_is_pending() {
        assert!(matches!(convergence(None), Convergence::Pending(_)));
        assert!(matches!(
            check(&registry(&converged(), "", 2, 2)),
            Convergence::Pending(_)
        ));
    }

    #[test]
    fn an_unobserved_generation_is_pending_even_if_available() {
        let check = check(&registry(&converged(), "3.16.5", 3, 2));
        assert!(
            matches!(&check, Convergence::Pending(text) if text.contains("generation 3")),
            "{check:?}"
        );
    }

    #[test]
    fn a_blocked_rollout_fails_with_the_operators_message() {
        let blocked = json!([{"type": "RolloutBlocked", "status": "True", "reason": "ConfigInvalid", "message": "required component `postgres` marked as unmanaged, but `configBundleSecret` is missing necessary fields"}]);
        let check = check(&registry(&blocked, "", 1, 1));
        assert!(
            matches!(&check, Convergence::Failed(text) if text.contains("ConfigInvalid") && text.contains("necessary fields")),
            "{check:?}"
        );
    }

    #[test]
    fn a_failed_migration_fails_the_wait() {
        let failed = json!([{"type": "ComponentsCreated", "status": "False", "reason": "MigrationsFailed", "message": "Can't locate revision identified by 'abc'"}]);
        let check = check(&registry(&failed, "", 1, 1));
        assert!(
            matches!(&check, Convergence::Failed(text) if text.contains("locate revision")),
            "{check:?}"
        );
    }

    #[test]
    fn conditions_read_as_type_status_reason_and_message() {
        let r = registry(
            &json!([{"type": "Available", "status": "False", "reason": "ComponentNotReady", "message": "quay not ready"}]),
            "",
            1,
            1,
        );
        assert_eq!(
            RegistryStatus::read(&r).condition_lines(),
            ["Available=False (ComponentNotReady): quay not ready"]
        );
    }

    #[test]
    fn an_upgrade_scale_down_is_recognised_only_when_marked() {
        let marked = json!({"metadata": {"annotations": {SCALED_DOWN_ANNOTATION: "true"}}});
        assert!(RegistryStatus::read(&marked).is_held_for_upgrade());
        assert!(!RegistryStatus::read(&json!({"metadata": {}})).is_held_for_upgrade());
    }

    #[test]
    fn a_new_unfinished_or_rebundled_site_may_migrate() {
        let live = |version: &str, bundle: &str| {
            RegistryStatus::read(&json!({
                "spec": {"configBundleSecret": bundle},
                "status": {"currentVersion": version},
            }))
        };
        assert!(may_migrate(None, "b-1"));
        assert!(may_migrate(Some(&live("", "b-1")), "b-1"));
        assert!(may_migrate(Some(&live("3.15.7", "b-0")), "b-1"));
        assert!(!may_migrate(Some(&live("3.15.7", "b-1")), "b-1"));
    }

    #[test]
    fn components_read_managed_replicas_and_env_in_spec_order() {
        let status = RegistryStatus::read(&json!({"spec": {"components": [
            {"kind": "quay", "managed": true, "overrides": {"replicas": 3, "env": [{"name": "A", "value": "1"}]}},
            {"kind": "horizontalpodautoscaler", "managed": false},
        ]}}));
        let quay = status.component("quay").unwrap();
        assert_eq!(
            (quay.managed, quay.replicas, quay.env.clone()),
            (Some(true), Some(3), vec![("A".to_owned(), "1".to_owned())])
        );
        assert_eq!(
            status.component("horizontalpodautoscaler").unwrap().managed,
            Some(false)
        );
        assert!(status.component("clair").is_none());
    }

    #[test]
    fn a_condition_is_described_with_its_reason_or_as_missing() {
        let conditions = [Condition::read(
            &json!({"type": "Available", "status": "False", "reason": "R", "message": "m"}),
        )];
        assert_eq!(
            describe_condition(&conditions, "Available"),
            "Available is False (R: m)"
        );
        assert_eq!(
            describe_condition(&conditions, "RolloutBlocked"),
            "condition RolloutBlocked is not reported"
        );
    }
}
