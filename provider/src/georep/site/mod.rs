//! One geo-replicated Quay site: validation of its inputs and the objects that make it.
//!
//! This is the domain of `resource "quay_georep_site"` and `data "quay_georep_site_manifests"`
//! (both map their attributes onto the same [`SiteInput`]). Pure: no Kubernetes client, no
//! async runtime, no filesystem or environment. Facts about the operator come from
//! `reference/quay-operator.md` §0–§5; each rule below says which trap it takes off the user.
//!
//! # Brief overview
//!
//! 1. [`SiteInput`] (`input.rs`): the raw Terraform attributes, every one optional.
//! 2. [`validate_site`] (`validate.rs`): checks them all, collects every
//!    [`Issue`](crate::georep::issue::Issue), applies the defaults and builds a [`Site`]
//!    (`model.rs`) from parsed values: [`ObjectName`]s, the [`SharedConfig`] facts read from
//!    `config_yaml`, [`Replicas`], a [`ClairSetup`], a checked [`TlsPair`], a [`SecretMode`].
//! 3. Rendering (`render.rs`): [`Site::manifests`] / [`Site::objects`] give the [`SiteObjects`]
//!    (Namespace, content-hashed bundle Secret, `QuayRegistry` with all 11 components) as JSON
//!    values and as YAML documents; [`Site::bundle_secret_name`], [`Site::config_hash`],
//!    [`Site::id`] are the data source's and resource's computed values.
//! 4. Drift (`drift.rs`): [`Site::expected_spec_matches`] compares a live `QuayRegistry` spec
//!    with the rendered one and lists every [`Drift`].
//! 5. Status (`status.rs`): [`RegistryStatus`] reads a live `QuayRegistry` once (conditions,
//!    versions, components) and answers [`RegistryStatus::convergence`],
//!    [`RegistryStatus::is_held_for_upgrade`] and [`may_migrate`] for every caller.
//!    [`Settle`] (`settle.rs`) judges a wait over time from the objects as well: rollouts
//!    done, no migration Job running, a blocking condition only once it persisted or the Job
//!    gave up, quoting the migration pod. When only `Available` is missing, a wait asks the
//!    operator for a fresh one: [`StatusRequest::due`] (`status_request.rs`) says when.
//! 6. Shared keys (`keys.rs`): [`key_change_issues`] refuses a change of `SECRET_KEY` or
//!    `DATABASE_SECRET_KEY` between two `config_yaml` texts unless it is acknowledged, and
//!    says what the change breaks.
//! 7. Import (`import.rs`): [`import_site`] rebuilds the [`SiteInput`] of a live site from its
//!    `QuayRegistry` and bundle Secret.
//! 7. Endpoints (`endpoints.rs`): [`SiteEndpoints`] reads, from a site's live objects, what a
//!    global load balancer and DNS need: the address to send traffic to, the health check
//!    URLs, the per-site host.
//! 8. Operator versions (`operator_versions.rs`): [`check_operator_versions`] compares the
//!    operator versions found on every cluster that runs a site of the same configuration.
//!
//! What this module is not: it does not apply, read or wait for anything (that is `cluster/`
//! and the resource), and it does not re-validate the whole shared configuration (that is
//! [`crate::georep::config`]); it reads only the keys a site depends on.

mod drift;
mod endpoints;
mod files;
mod hosts;
mod import;
mod input;
mod keys;
mod model;
mod name;
mod operator_versions;
mod overrides;
mod pods;
mod removals;
mod render;
mod report;
mod settle;
mod shared_config;
mod siblings;
mod status;
mod status_request;
mod tls;
mod validate;

pub use drift::Drift;
pub use endpoints::{EndpointObjects, SiteEndpoints};
pub use import::{ImportError, import_site};
pub use input::{ClairInput, MirrorInput, QuayInput, RouteInput, SiteInput, TlsInput};
pub use keys::{
    DATABASE_FIELDS, SharedKey, acknowledgement_issues, changed_keys, key_change_issues,
};
pub use model::{ClairSetup, MAX_REPLICAS, Replicas, SecretMode, Site, TlsPair, Workers};
pub use name::{Error as NameError, MAX_LABEL_LEN, MAX_SUBDOMAIN_LEN, ObjectName};
pub use operator_versions::{OperatorVersions, check_operator_versions};
pub use pods::{ComponentPods, PodOverrides, PodsInput, check_operator_support};
pub use removals::{files_location_issues, location_removal_issues};
pub use render::{
    COMPONENT_KINDS, LOCATION_LABEL, MANAGED_BY, MANAGED_BY_LABEL, PREFERENCE_ENV,
    QUAY_REGISTRY_API_VERSION, SITE_LABEL, SiteObjects,
};
pub use report::SiteReport;
pub use settle::{
    BLOCKED_GRACE, JOB_NAME_LABEL, JobPhase, LiveSite, MigrationJob, Rollout, Settle,
    failing_pod_message,
};
pub use shared_config::{Error as SharedConfigError, SECURITY_SCANNER_KEYS, SharedConfig};
pub use siblings::{Slot, conflicts as sibling_conflicts};
pub use status::{
    ComponentSpec, Condition, ConditionStatus, Convergence, Gap, RegistryStatus,
    SCALED_DOWN_ANNOTATION, convergence, describe_condition, find_condition,
    is_generation_observed, may_migrate,
};
pub use status_request::{
    STATUS_REQUEST_EVERY, STATUS_REQUESTED_ANNOTATION, STATUS_REQUESTS_ANNOTATION, StatusRequest,
};
pub use tls::{Certificate, Error as TlsError, KeyCheck};
pub use validate::{
    DEFAULT_CLAIR_REPLICAS, DEFAULT_MIRROR_REPLICAS, DEFAULT_NAME, DEFAULT_QUAY_REPLICAS,
    validate_site,
};

#[cfg(test)]
mod tests;
