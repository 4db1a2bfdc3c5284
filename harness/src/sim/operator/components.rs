//! The `spec.components` rules of the Quay Operator (reference/quay-operator.md §1.3, §1.4,
//! §3.1): defaults per cluster flavour, the structural config checks (`ConfigInvalid`), the
//! override checks (`ComponentOverrideInvalid`) and the replicas each Deployment gets.
//!
//! Pure: components in, decisions out. The overrides are applied by [`super::overrides`];
//! `volumeSize` and `storageClassName` of the databases go to their PVCs in
//! [`super::managed::objects`]. Not modelled: `clairpostgres` config checks; the
//! ObjectBucketClaim API in the defaults (managed `objectstorage` defaults to managed on
//! OpenShift; with backing services, a cluster without the API blocks the rollout in the
//! registry controller). Monitoring support is checked by
//! [`super::monitoring`] and passed in as [`ClusterSupport`].
//!
//! One deliberate difference: a managed `route` on a cluster without the Route API gives
//! `ConfigInvalid` here, where the real operator only logs and requeues (no condition), so
//! that the mistake is visible in status as issue 5 asks.

use std::fmt;
use std::str::FromStr;

use serde_json::{Value, json};

use crate::quay::{Bundle, QuayVersion};
use crate::sim::Flavour;

/// A component kind (`spec.components[].kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ComponentKind {
    /// `quay`.
    Quay,
    /// `postgres`.
    Postgres,
    /// `clair`.
    Clair,
    /// `clairpostgres`.
    ClairPostgres,
    /// `redis`.
    Redis,
    /// `horizontalpodautoscaler`.
    Hpa,
    /// `objectstorage`.
    ObjectStorage,
    /// `route`.
    Route,
    /// `mirror`.
    Mirror,
    /// `monitoring`.
    Monitoring,
    /// `tls`.
    Tls,
}

impl ComponentKind {
    /// Every kind, in the CRD enum's order.
    pub const ALL: [Self; 11] = [
        Self::Quay,
        Self::Postgres,
        Self::Clair,
        Self::ClairPostgres,
        Self::Redis,
        Self::Hpa,
        Self::ObjectStorage,
        Self::Route,
        Self::Mirror,
        Self::Monitoring,
        Self::Tls,
    ];

    /// The kind as written in the spec.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Quay => "quay",
            Self::Postgres => "postgres",
            Self::Clair => "clair",
            Self::ClairPostgres => "clairpostgres",
            Self::Redis => "redis",
            Self::Hpa => "horizontalpodautoscaler",
            Self::ObjectStorage => "objectstorage",
            Self::Route => "route",
            Self::Mirror => "mirror",
            Self::Monitoring => "monitoring",
            Self::Tls => "tls",
        }
    }

    /// The `Component<X>Ready` condition type.
    #[must_use]
    pub fn condition_type(self) -> &'static str {
        match self {
            Self::Quay => "ComponentQuayReady",
            Self::Postgres => "ComponentPostgresReady",
            Self::Clair => "ComponentClairReady",
            Self::ClairPostgres => "ComponentClairPostgresReady",
            Self::Redis => "ComponentRedisReady",
            Self::Hpa => "ComponentHPAReady",
            Self::ObjectStorage => "ComponentObjectStorageReady",
            Self::Route => "ComponentRouteReady",
            Self::Mirror => "ComponentMirrorReady",
            Self::Monitoring => "ComponentMonitoringReady",
            Self::Tls => "ComponentTLSReady",
        }
    }

    /// Whether an unmanaged component needs its fields in the bundle (`requiredComponents`).
    #[must_use]
    pub fn is_required(self) -> bool {
        matches!(
            self,
            Self::Postgres | Self::Redis | Self::ObjectStorage | Self::Route | Self::Tls
        )
    }

    /// The `config.yaml` keys of the component's field group (empty: no field group; `tls`
    /// is checked on the bundle's `ssl.cert`/`ssl.key` keys instead).
    #[must_use]
    pub fn config_fields(self) -> &'static [&'static str] {
        match self {
            Self::Postgres => &["DB_URI", "DB_CONNECTION_ARGS"],
            Self::Redis => &["BUILDLOGS_REDIS", "USER_EVENTS_REDIS", "PULL_METRICS_REDIS"],
            Self::ObjectStorage => &[
                "DISTRIBUTED_STORAGE_CONFIG",
                "DISTRIBUTED_STORAGE_PREFERENCE",
                "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS",
                "FEATURE_STORAGE_REPLICATION",
            ],
            Self::Route => &[
                "SERVER_HOSTNAME",
                "PREFERRED_URL_SCHEME",
                "EXTERNAL_TLS_TERMINATION",
            ],
            Self::Clair => &[
                "FEATURE_SECURITY_SCANNER",
                "SECURITY_SCANNER_ENDPOINT",
                "SECURITY_SCANNER_INDEXING_INTERVAL",
                "SECURITY_SCANNER_NOTIFICATIONS",
                "SECURITY_SCANNER_V4_ENDPOINT",
                "SECURITY_SCANNER_V4_NAMESPACE_WHITELIST",
            ],
            Self::Mirror => &[
                "FEATURE_REPO_MIRROR",
                "REPO_MIRROR_INTERVAL",
                "REPO_MIRROR_SERVER_HOSTNAME",
                "REPO_MIRROR_TLS_VERIFY",
            ],
            _ => &[],
        }
    }

    /// Whether the bundle holds the component's config (one field is enough, as upstream).
    #[must_use]
    pub fn has_config(self, bundle: &Bundle) -> bool {
        match self {
            Self::Tls => bundle.has_certs(),
            _ => self.config_fields().iter().any(|f| bundle.has_key(f)),
        }
    }

    /// Whether the bundle may hold the component's config while it is managed
    /// (`ComponentSupportsConfigWhenManaged`).
    #[must_use]
    pub fn allows_config_when_managed(self) -> bool {
        matches!(self, Self::Route | Self::Mirror | Self::Redis)
    }

    /// Whether `overrides.replicas` is allowed (quay, clair, mirror).
    #[must_use]
    pub fn supports_replicas(self) -> bool {
        self.supports_override("replicas")
    }

    /// Whether the override `key` (`overrides.<key>`) is allowed on this kind
    /// (`ComponentSupportsOverride` and its `supports*Override` lists, upstream
    /// `apis/quay/v1/quayregistry_types.go`); `labels` and `annotations` on every kind.
    #[must_use]
    pub fn supports_override(self, key: &str) -> bool {
        use ComponentKind::{Clair, ClairPostgres, Mirror, Postgres, Quay, Redis};
        let kinds: &[Self] = match key {
            "labels" | "annotations" => return true,
            "volumeSize" | "storageClassName" => &[Postgres, Clair, ClairPostgres],
            "env" | "resources" => &[Quay, Clair, Mirror, Postgres, Redis, ClairPostgres],
            "replicas" | "affinity" => &[Clair, Mirror, Quay],
            "securityContext" => &[Quay, Mirror],
            _ => &[],
        };
        kinds.contains(&self)
    }
}

impl fmt::Display for ComponentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ComponentKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown component kind {s:?}"))
    }
}

/// One entry of `spec.components`.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// The kind.
    pub kind: ComponentKind,
    /// `managed`.
    pub managed: bool,
    /// `overrides`, when present (an explicit `null` counts as absent).
    pub overrides: Option<serde_json::Map<String, Value>>,
}

/// Why a rollout is blocked: `RolloutBlocked=True` with this reason and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// `ConfigInvalid` or `ComponentOverrideInvalid`.
    pub reason: &'static str,
    /// The message.
    pub message: String,
}

impl Blocked {
    fn config(message: String) -> Self {
        Self {
            reason: "ConfigInvalid",
            message,
        }
    }

    fn overrides(message: String) -> Self {
        Self {
            reason: "ComponentOverrideInvalid",
            message: format!("invalid overrides: {message}"),
        }
    }
}

/// The components of a spec, in spec order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Components(pub Vec<Component>);

impl Components {
    /// Reads `spec.components`; entries with an unknown kind are skipped (the CRD rejects
    /// them at admission).
    #[must_use]
    pub fn from_spec(spec: &Value) -> Self {
        let list = spec
            .get("components")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Self(
            list.iter()
                .filter_map(|c| {
                    let kind = c.get("kind")?.as_str()?.parse().ok()?;
                    Some(Component {
                        kind,
                        managed: c.get("managed").and_then(Value::as_bool).unwrap_or(false),
                        overrides: c.get("overrides").and_then(Value::as_object).cloned(),
                    })
                })
                .collect(),
        )
    }

    /// The component of `kind`, if declared.
    #[must_use]
    pub fn get(&self, kind: ComponentKind) -> Option<&Component> {
        self.0.iter().find(|c| c.kind == kind)
    }

    /// Whether `kind` is declared and managed.
    #[must_use]
    pub fn is_managed(&self, kind: ComponentKind) -> bool {
        self.get(kind).is_some_and(|c| c.managed)
    }
}

/// What the cluster offers that the component defaults depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterSupport {
    /// The cluster flavour.
    pub flavour: Flavour,
    /// Whether monitoring is supported ([`super::monitoring::supported`]).
    pub monitoring: bool,
}

impl From<Flavour> for ClusterSupport {
    /// The flavour's defaults, without monitoring support.
    fn from(flavour: Flavour) -> Self {
        Self {
            flavour,
            monitoring: false,
        }
    }
}

/// The default `managed` of a kind that the spec omits (`EnsureDefaultComponents`;
/// `monitoring` only where it is supported, `apis/quay/v1/quayregistry_types.go`).
#[must_use]
pub fn default_managed(
    kind: ComponentKind,
    cluster: impl Into<ClusterSupport>,
    bundle_has_certs: bool,
) -> bool {
    let cluster = cluster.into();
    let openshift = cluster.flavour == Flavour::Openshift;
    match kind {
        ComponentKind::Route | ComponentKind::ObjectStorage => openshift,
        ComponentKind::Monitoring => openshift && cluster.monitoring,
        ComponentKind::Tls => openshift && !bundle_has_certs,
        _ => true,
    }
}

/// The spec's `components` list after the operator's write-back: missing kinds appended with
/// their defaults, `quay` forced to managed. `None` when nothing changes.
#[must_use]
pub fn ensure_defaults(
    spec: &Value,
    cluster: impl Into<ClusterSupport>,
    bundle_has_certs: bool,
) -> Option<Value> {
    let cluster = cluster.into();
    let mut list = spec
        .get("components")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut changed = false;
    for entry in &mut list {
        if entry.get("kind").and_then(Value::as_str) == Some("quay")
            && entry.get("managed").and_then(Value::as_bool) != Some(true)
        {
            entry["managed"] = json!(true);
            changed = true;
        }
    }
    let declared = Components::from_spec(&json!({ "components": list.clone() }));
    for kind in ComponentKind::ALL {
        if declared.get(kind).is_none() {
            list.push(json!({
                "kind": kind.as_str(),
                "managed": default_managed(kind, cluster, bundle_has_certs),
            }));
            changed = true;
        }
    }
    changed.then_some(Value::Array(list))
}

/// The override checks (`ValidateOverrides` of upstream `apis/quay/v1/quayregistry_types.go`):
/// no overrides on an unmanaged component, no replicas but 0 with a managed HPA, and each
/// override only on the kinds that support it ([`ComponentKind::supports_override`]) in the
/// operator's `version`: 3.16 and 3.17 list no Clair in `supportsStorageClassOverride`
/// (Clair's came with 9b6e9885, first in `redhat-3.18`; before 3.16 the CRD has no such field,
/// which the API server prunes, not modelled).
///
/// # Errors
/// [`Blocked`] with reason `ComponentOverrideInvalid` for the first failing component.
pub fn validate_overrides(components: &Components, version: &QuayVersion) -> Result<(), Blocked> {
    let clair_class_refused =
        (3, 16) <= (version.major, version.minor) && (version.major, version.minor) < (3, 18);
    let hpa_managed = components.is_managed(ComponentKind::Hpa);
    for c in &components.0 {
        let Some(overrides) = &c.overrides else {
            continue;
        };
        if !c.managed {
            return Err(Blocked::overrides(format!(
                "cannot set overrides on unmanaged component {}",
                c.kind
            )));
        }
        let set = |key: &str| {
            overrides.get(key).is_some_and(|v| match v {
                Value::Null => false,
                Value::Array(items) => !items.is_empty(),
                _ => true,
            })
        };
        if set("replicas") && hpa_managed && overrides["replicas"].as_i64() != Some(0) {
            return Err(Blocked::overrides(format!(
                "component {}: cannot override replicas with managed HPA",
                c.kind
            )));
        }
        for key in CHECKED_OVERRIDES {
            let refused_here =
                clair_class_refused && c.kind == ComponentKind::Clair && key == "storageClassName";
            if set(key) && (!c.kind.supports_override(key) || refused_here) {
                return Err(Blocked::overrides(format!(
                    "component {} does not support {key} overrides",
                    c.kind
                )));
            }
        }
    }
    Ok(())
}

/// The overrides `ValidateOverrides` checks, in its order (`labels` and `annotations` are
/// allowed on every kind).
const CHECKED_OVERRIDES: [&str; 7] = [
    "affinity",
    "volumeSize",
    "storageClassName",
    "env",
    "replicas",
    "resources",
    "securityContext",
];

/// The structural config checks (`hasNecessaryConfig` and the API checks).
///
/// # Errors
/// [`Blocked`] with reason `ConfigInvalid` for the first failing component.
pub fn validate_config(
    components: &Components,
    bundle: &Bundle,
    flavour: Flavour,
) -> Result<(), Blocked> {
    for c in &components.0 {
        if c.managed && c.kind == ComponentKind::Route && flavour != Flavour::Openshift {
            return Err(Blocked::config(
                "error validating component route: Route API not available".to_owned(),
            ));
        }
        if !c.managed && c.kind.is_required() && !c.kind.has_config(bundle) {
            return Err(Blocked::config(format!(
                "required component {} marked as unmanaged, but configBundleSecret is missing \
                 necessary fields",
                c.kind
            )));
        }
        if c.managed
            && !c.kind.allows_config_when_managed()
            && (!c.kind.config_fields().is_empty() || c.kind == ComponentKind::Tls)
            && c.kind.has_config(bundle)
        {
            return Err(Blocked::config(format!(
                "{} component marked as managed, but configBundleSecret contains required fields",
                c.kind
            )));
        }
    }
    Ok(())
}

/// What a component's Deployment gets as `spec.replicas`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replicas {
    /// This value.
    Set(i32),
    /// Left out of the apply: Kubernetes keeps or defaults it (1 on create).
    LeftOut,
}

/// The replicas rule of §3.1 for `kind`'s Deployment (quay, clair, mirror).
///
/// With a managed HPA the replicas override is skipped and the HPA's `minReplicas` (2)
/// holds; without one: no `overrides` → 2, `overrides.replicas: N` → N, `overrides` without
/// `replicas` (or `null`) → [`Replicas::LeftOut`].
#[must_use]
pub fn replicas_for(components: &Components, kind: ComponentKind) -> Replicas {
    if components.is_managed(ComponentKind::Hpa) {
        return Replicas::Set(HPA_MIN_REPLICAS);
    }
    match components.get(kind).and_then(|c| c.overrides.as_ref()) {
        None => Replicas::Set(2),
        Some(o) => match o.get("replicas").and_then(Value::as_i64) {
            Some(n) => Replicas::Set(i32::try_from(n).unwrap_or(i32::MAX)),
            None => Replicas::LeftOut,
        },
    }
}

/// `minReplicas` of the managed HPAs.
pub const HPA_MIN_REPLICAS: i32 = 2;
/// `maxReplicas` of the managed HPAs.
pub const HPA_MAX_REPLICAS: i32 = 20;

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn newest() -> QuayVersion {
        crate::quay::Catalogue::builtin().newest().version
    }

    #[test]
    fn clair_storage_class_is_refused_by_3_16_and_3_17_only() {
        let clair = Components(vec![Component {
            kind: ComponentKind::Clair,
            managed: true,
            overrides: serde_json::json!({"storageClassName": "fast"})
                .as_object()
                .cloned(),
        }]);
        let at = |v: &str| v.parse::<QuayVersion>().unwrap();
        let err = validate_overrides(&clair, &at("3.17.4")).unwrap_err();
        assert!(
            err.message
                .contains("component clair does not support storageClassName overrides"),
            "{}",
            err.message
        );
        assert!(validate_overrides(&clair, &at("3.16.5")).is_err());
        assert!(validate_overrides(&clair, &at("3.18.0")).is_ok());
    }

    fn bundle(yaml: &str, certs: bool) -> Bundle {
        let mut data = BTreeMap::from([("config.yaml".to_owned(), yaml.as_bytes().to_vec())]);
        if certs {
            data.insert("ssl.cert".into(), b"c".to_vec());
            data.insert("ssl.key".into(), b"k".to_vec());
        }
        Bundle::parse("b", data).unwrap()
    }

    fn comps(v: Value) -> Components {
        Components::from_spec(&json!({ "components": v }))
    }

    #[test]
    fn defaults_differ_per_flavour_and_quay_is_forced_managed() {
        let spec = json!({"components": [{"kind": "quay", "managed": false}]});
        let k8s = ensure_defaults(&spec, Flavour::Kubernetes, false).unwrap();
        let k8s = Components::from_spec(&json!({ "components": k8s }));
        assert_eq!(k8s.0.len(), 11);
        assert!(k8s.is_managed(ComponentKind::Quay));
        assert!(!k8s.is_managed(ComponentKind::Route));
        assert!(!k8s.is_managed(ComponentKind::Tls));
        assert!(k8s.is_managed(ComponentKind::Postgres));
        let os = ensure_defaults(&spec, Flavour::Openshift, false).unwrap();
        let os = Components::from_spec(&json!({ "components": os }));
        assert!(os.is_managed(ComponentKind::Route) && os.is_managed(ComponentKind::Tls));
        let os_certs = ensure_defaults(&spec, Flavour::Openshift, true).unwrap();
        let os_certs = Components::from_spec(&json!({ "components": os_certs }));
        assert!(!os_certs.is_managed(ComponentKind::Tls));
    }

    #[test]
    fn complete_spec_is_left_alone() {
        let all: Vec<Value> = ComponentKind::ALL
            .iter()
            .map(|k| json!({"kind": k.as_str(), "managed": true}))
            .collect();
        assert_eq!(
            ensure_defaults(&json!({ "components": all }), Flavour::Openshift, false),
            None
        );
    }

    #[test]
    fn replicas_rules() {
        let c = comps(json!([
            {"kind": "quay", "managed": true, "overrides": {"replicas": 3}},
            {"kind": "mirror", "managed": true, "overrides": {"env": []}},
            {"kind": "clair", "managed": true},
            {"kind": "horizontalpodautoscaler", "managed": false},
        ]));
        assert_eq!(replicas_for(&c, ComponentKind::Quay), Replicas::Set(3));
        assert_eq!(replicas_for(&c, ComponentKind::Mirror), Replicas::LeftOut);
        assert_eq!(replicas_for(&c, ComponentKind::Clair), Replicas::Set(2));
    }

    #[test]
    fn override_rules() {
        let unmanaged = comps(json!([
            {"kind": "postgres", "managed": false, "overrides": {"env": []}}
        ]));
        let err = validate_overrides(&unmanaged, &newest()).unwrap_err();
        assert_eq!(err.reason, "ComponentOverrideInvalid");
        assert!(
            err.message.contains("unmanaged component postgres"),
            "{err:?}"
        );
        let redis =
            comps(json!([{"kind": "redis", "managed": true, "overrides": {"replicas": 1}}]));
        assert!(
            validate_overrides(&redis, &newest())
                .unwrap_err()
                .message
                .contains("redis")
        );
        let hpa = |n: i64| {
            comps(json!([
                {"kind": "quay", "managed": true, "overrides": {"replicas": n}},
                {"kind": "horizontalpodautoscaler", "managed": true}
            ]))
        };
        assert!(
            validate_overrides(&hpa(2), &newest())
                .unwrap_err()
                .message
                .contains("managed HPA")
        );
        assert!(validate_overrides(&hpa(0), &newest()).is_ok());
    }

    #[test]
    fn config_rules() {
        let b = bundle("SERVER_HOSTNAME: x\n", false);
        let err = validate_config(
            &comps(json!([{"kind": "postgres", "managed": false}])),
            &b,
            Flavour::Openshift,
        )
        .unwrap_err();
        assert!(
            err.message.starts_with("required component postgres"),
            "{err:?}"
        );
        let b = bundle("DB_URI: x\n", false);
        let err = validate_config(
            &comps(json!([{"kind": "postgres", "managed": true}])),
            &b,
            Flavour::Openshift,
        )
        .unwrap_err();
        assert!(
            err.message
                .starts_with("postgres component marked as managed"),
            "{err:?}"
        );
        let route = comps(json!([{"kind": "route", "managed": true}]));
        assert!(validate_config(&route, &b, Flavour::Kubernetes).is_err());
        assert!(validate_config(&route, &b, Flavour::Openshift).is_ok());
        let redis = comps(json!([{"kind": "redis", "managed": true}]));
        let b = bundle("BUILDLOGS_REDIS: {host: r}\n", false);
        assert!(validate_config(&redis, &b, Flavour::Openshift).is_ok());
    }
}
