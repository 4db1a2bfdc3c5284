//! The attributes of `resource "quay_georep_site"`: its schema, the site it describes, and the
//! state it records.
//!
//! The site arguments (shared with `data "quay_georep_site_manifests"`, `site_schema.rs`) are
//! read into the domain's [`SiteInput`] and validated into a
//! [`Site`]; the resource's own arguments (`wait_for_ready`, `timeouts`) and its results are
//! listed here. The operations (`georep_site_resource.rs`) and the import
//! (`georep_site_import.rs`) both build on this file, so neither depends on the other.
//!
//! `config_yaml_wo`, `clair { database_uri_wo }` and `tls { private_key_wo }` are the
//! write-only twins of the shared secret arguments (Terraform 1.11 and later,
//! `georep_site_twins.rs`): [`site`] renders with each twin's value in place of its stored
//! argument, and at most one of the two may be set.

use std::time::Duration;

use serde_json::{Value as Json, json};

use super::georep_site_twins::{CONFIG_YAML, TWINS, without_twins};
use super::model::{Field, Model, flag, with_fields};
use super::provider_data::ProviderData;
use super::site_live::{ENDPOINT_ATTRIBUTES, EndpointResults, endpoint_attributes};
use super::site_schema::{report, site_arguments, site_block, site_input};
use super::timeouts::{self, Operation, Timeouts};
use crate::georep::site::{
    BLOCKED_GRACE, RegistryStatus, STATUS_REQUEST_EVERY, STATUS_REQUESTED_ANNOTATION,
    STATUS_REQUESTS_ANNOTATION, Site, SiteEndpoints, SiteInput, validate_site,
};
use crate::tfvalue::{
    Attribute, AttributePath, Block, Diagnostic, Diagnostics, Presence, Schema, Type, Value,
};

/// Results the resource computes.
pub(super) const COMPUTED: [&str; 12] = [
    "id",
    "bundle_secret_name",
    "config_hash",
    "registry_endpoint",
    "current_version",
    "conditions",
    "drift",
    "namespace_created",
    ENDPOINT_ATTRIBUTES[0],
    ENDPOINT_ATTRIBUTES[1],
    ENDPOINT_ATTRIBUTES[2],
    ENDPOINT_ATTRIBUTES[3],
];

/// The write-only twin of `config_yaml`.
pub(super) const CONFIG_YAML_WO: &str = CONFIG_YAML.write_only;

/// Attributes that are not part of the site's domain input.
pub(super) const NON_DOMAIN: [&str; 18] = [
    CONFIG_YAML_WO,
    "id",
    "bundle_secret_name",
    "config_hash",
    "registry_endpoint",
    "current_version",
    "conditions",
    "drift",
    "namespace_created",
    ENDPOINT_ATTRIBUTES[0],
    ENDPOINT_ATTRIBUTES[1],
    ENDPOINT_ATTRIBUTES[2],
    ENDPOINT_ATTRIBUTES[3],
    "wait_for_ready",
    "timeouts",
    "acknowledge_key_changes",
    "acknowledge_location_removals",
    "deletion_protection",
];

/// The operations the `timeouts` block bounds.
const OPERATIONS: [Operation; 3] = [Operation::Create, Operation::Update, Operation::Delete];

pub(super) const DEFAULT_CREATE: Duration = Duration::from_secs(20 * 60);
pub(super) const DEFAULT_UPDATE: Duration = Duration::from_secs(20 * 60);
pub(super) const DEFAULT_DELETE: Duration = Duration::from_secs(10 * 60);

/// What `wait_for_ready` waits for: everything [`Settle`](crate::georep::site::Settle) judges
/// (`georep/site/settle.rs`), so the docs say why an apply still waits or fails.
fn wait_for_ready_description() -> String {
    format!(
        "wait until the site has settled; default true. The wait reads the site about once a \
         second until: the QuayRegistry's Available and ComponentsCreated conditions are True \
         and its status.currentVersion is known; the operator has seen the change \
         (status.observedGeneration from Quay 3.17; before 3.17, which has none, \
         status.lastUpdated has moved since the apply); every Deployment of the site has rolled \
         out (its latest template observed, every replica updated and available, no pod of an \
         older template left), since the operator recomputes Available only about once a \
         minute; and no migration Job is running. When every Deployment has rolled out and \
         Available is the one condition still False, the wait sets the annotations \
         {STATUS_REQUESTED_ANNOTATION} (the time) and {STATUS_REQUESTS_ANNOTATION} (a count) on \
         the QuayRegistry: a change of the object makes the operator's status controller \
         evaluate Available again at once instead of within its minute. A request the operator \
         did not answer (Available's lastUpdateTime did not move) is repeated after {} s; an \
         answered one that still says False at once, then after 1, 2, 4 and 8 s, then every \
         {} s. A RolloutBlocked condition or a \
         MigrationsFailed reason fails the wait only once it has persisted for {} s (the \
         operator may still recompute it, and Kubernetes retries a failing migration Job for \
         about ten minutes) or the migration Job has failed for good; the failure quotes the \
         migration pod's own message. While waiting, a new site (or a new config bundle) holds \
         the shared database: other sites of the same apply on that database wait, so their \
         migration Jobs never overlap",
        STATUS_REQUEST_EVERY.as_secs(),
        STATUS_REQUEST_EVERY.as_secs(),
        BLOCKED_GRACE.as_secs()
    )
}

/// The schema.
pub(crate) fn schema() -> Schema {
    let block = Block::new(
        "one geo-replicated Quay site on one cluster: its namespace, config bundle Secret and \
         QuayRegistry, applied with server-side apply and awaited until the operator reports it \
         converged",
    )
    .attribute(Attribute::optional("wait_for_ready", Type::Bool).description(&wait_for_ready_description()))
    .attribute(Attribute::optional("acknowledge_key_changes", Type::list(Type::String)).description(
        "the shared secret keys this apply may change: \"secret_key\" and/or \"database_secret_key\"; \
         default none. A plan that changes SECRET_KEY or DATABASE_SECRET_KEY in config_yaml is \
         refused unless the key is named here: a new SECRET_KEY logs every user out and voids the \
         encrypted Docker CLI passwords of external-authentication users; a new \
         DATABASE_SECRET_KEY leaves every encrypted field of the shared database unreadable \
         (robot tokens, OAuth application secrets, app tokens, build trigger, mirror and proxy \
         cache credentials). Remove the word after the apply",
    ))
    .attribute(Attribute::optional("acknowledge_location_removals", Type::list(Type::String)).description(
        "the storage locations this apply may remove from config_yaml; default none. A plan \
         whose config_yaml drops a location this site was applied with is refused unless the \
         location is named here: no site reads it again, so a blob whose only copy is there \
         becomes unreadable. Check that every blob has another copy first; after the apply, run \
         Quay's removal tool (python -m util.removelocation <location>) in one site's Quay pod \
         and remove the word",
    ))
    .attribute(Attribute::optional("deletion_protection", Type::Bool).description(
        "whether terraform destroy (or a replacement) of this site is refused; default false. \
         Destroying a site removes its QuayRegistry (and so the Deployments and Services the \
         operator made), its config bundle Secrets, and its namespace only when this resource \
         created it (namespace_created); it never touches the shared database, Redis or the \
         storage buckets. To destroy a protected site, set false and apply first",
    ))
    .attribute(Attribute::computed("id", Type::String).description("cluster/namespace/name; also the import id"))
    .attribute(Attribute::computed("bundle_secret_name", Type::String).description(
        "the config bundle Secret, <name>-config-bundle-<content hash>; a new name on every content change makes the operator reconcile",
    ))
    .attribute(Attribute::computed("config_hash", Type::String).description("sha256:<hex> of config_yaml"))
    .attribute(Attribute::computed("registry_endpoint", Type::String).description(
        "the operator's status.registryEndpoint: https://SERVER_HOSTNAME, the global name",
    ))
    .attribute(Attribute::computed("current_version", Type::String).description(
        "the Quay version whose database migrations completed on this site (status.currentVersion)",
    ))
    .attribute(Attribute::computed("conditions", Type::list(Type::String)).description(
        "the QuayRegistry conditions as \"Type=Status (Reason): message\"",
    ))
    .attribute(Attribute::computed("drift", Type::list(Type::String)).description(
        "differences between the live QuayRegistry and this configuration found by the last refresh; apply removes them",
    ))
    .attribute(Attribute::computed("namespace_created", Type::Bool).description(
        "whether this resource created the namespace, and so deletes it",
    ))
    ;
    let block = endpoint_attributes(block).block(timeouts::block(&[
        (Operation::Create, DEFAULT_CREATE),
        (Operation::Update, DEFAULT_UPDATE),
        (Operation::Delete, DEFAULT_DELETE),
    ]));
    let mut block = site_block(block);
    if let Some(config_yaml) = block
        .attributes
        .iter_mut()
        .find(|a| a.name == "config_yaml")
    {
        config_yaml.presence = Presence::Optional;
        config_yaml.description = "the shared config.yaml, normally \
             data.quay_georep_config.<name>.config_yaml; must enable FEATURE_STORAGE_REPLICATION. \
             Stored in the state (marked sensitive); on Terraform 1.11 and later set \
             config_yaml_wo instead to keep it out. Exactly one of the two is required"
            .to_owned();
    }
    for twin in &TWINS {
        let write_only = Attribute::optional(twin.write_only, Type::String)
            .sensitive()
            .write_only()
            .description(twin.description);
        let Some(name) = twin.block else {
            block = block.attribute(write_only);
            continue;
        };
        if let Some(nested) = block.block_types.iter_mut().find(|b| b.type_name == name) {
            if let Some(stored) = nested
                .block
                .attributes
                .iter_mut()
                .find(|a| a.name == twin.stored)
            {
                let required = if stored.presence == Presence::Required {
                    format!("; this or {} is required", twin.write_only)
                } else {
                    String::new()
                };
                stored.presence = Presence::Optional;
                stored.description = format!(
                    "{}{required}; stored in the state (marked sensitive): on Terraform 1.11 and \
                     later set {} instead to keep it out",
                    stored.description, twin.write_only
                );
            }
            nested.block.attributes.push(write_only);
        }
    }
    Schema { version: 0, block }
}

/// Whether [`site`] reports the validation's warnings or only its errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Warnings {
    /// Report them: validation, which Terraform runs again with the final values during
    /// plan (and which `terraform validate` shows).
    Report,
    /// Leave them to validation: the plan and the apply, so a warning appears once.
    Skip,
}

/// The validated site for a configuration or state, with diagnostics for what is wrong.
///
/// Each write-only twin that is set stands in for its stored argument (both set is an
/// error at the twin); what the domain says about a stored argument the twin stood in for
/// points at the twin, and a missing one names the twin as the other way to give it.
pub(super) fn site(
    value: &Value,
    data: Option<&ProviderData>,
    warnings: Warnings,
    diags: &mut Diagnostics,
) -> Option<Site> {
    let mut effective = value.clone();
    let mut moved = Vec::new();
    for twin in &TWINS {
        let Some(secret) = twin.write_only_value(value) else {
            continue;
        };
        if twin.stored_value(value).is_some() {
            diags.push(
                Diagnostic::error(
                    "Conflicting Config",
                    format!(
                        "{stored} and {wo} are both set: keep one, {wo} to keep the value out \
                         of the state, or {stored}",
                        stored = twin.path(twin.stored),
                        wo = twin.path(twin.write_only),
                    ),
                )
                .with_attribute(twin.path(twin.write_only)),
            );
            return None;
        }
        twin.set(&mut effective, twin.stored, secret.clone());
        moved.push((twin.path(twin.stored), twin.path(twin.write_only)));
    }
    let mut found = Diagnostics::default();
    let site = validated_site(&effective, data, warnings, &mut found);
    diags.extend(found.into_iter().map(|mut diag| {
        if let Some((_, twin)) = moved
            .iter()
            .find(|(stored, _)| diag.attribute.as_ref() == Some(stored))
        {
            diag.attribute = Some(twin.clone());
        }
        if let Some(twin) = TWINS.iter().find(|t| t.missing == diag.summary) {
            diag.detail = if twin.block.is_none() {
                "config_yaml or config_yaml_wo is required: set config_yaml to \
                 data.quay_georep_config.<name>.config_yaml or, on Terraform 1.11 and later, \
                 config_yaml_wo to ephemeral.quay_georep_config.<name>.config_yaml"
                    .to_owned()
            } else {
                format!(
                    "{} On Terraform 1.11 and later, set {} instead to keep it out of the state.",
                    diag.detail,
                    twin.path(twin.write_only)
                )
            };
        }
        diag
    }));
    site
}

fn validated_site(
    value: &Value,
    data: Option<&ProviderData>,
    warnings: Warnings,
    diags: &mut Diagnostics,
) -> Option<Site> {
    let input = SiteModel::read(value, diags).input?;
    let clusters: Option<Vec<String>> =
        data.map(|d| d.clusters.keys().map(str::to_owned).collect());
    match validate_site(&input, clusters.as_deref()) {
        Ok((site, found)) => {
            if warnings == Warnings::Report {
                report(value, &found, diags);
                // The one check that needs the clock, so it is made here at the edge.
                let now = crate::orchestrate::clock::now().unix_seconds();
                if let Some(problem) = site
                    .tls()
                    .and_then(|tls| tls.certificate().validity_problem(now))
                {
                    let path = AttributePath::root()
                        .attr("tls")
                        .index(0)
                        .attr("certificate");
                    diags.push(
                        Diagnostic::error(
                            "TLS Certificate Not Valid Now",
                            format!(
                                "the certificate in tls.certificate {problem}; Quay would serve \
                                 a certificate every client refuses: use one valid now"
                            ),
                        )
                        .with_attribute(path),
                    );
                    return None;
                }
            }
            Some(site)
        }
        Err(issues) => {
            report(value, &issues, diags);
            None
        }
    }
}

/// The resource's attributes: the site arguments as the domain reads them, the resource's
/// own arguments, and its results.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct SiteModel {
    /// The site arguments (`site_schema.rs`); `None` when they do not map onto the domain
    /// input (a fractional number of replicas).
    pub(super) input: Option<SiteInput>,
    /// `wait_for_ready`.
    pub(super) wait_for_ready: Option<bool>,
    /// The `timeouts` block.
    pub(super) timeouts: Option<Timeouts>,
    /// `acknowledge_key_changes`: the shared keys this apply may change.
    pub(super) acknowledge_key_changes: Option<Vec<String>>,
    /// `acknowledge_location_removals`: the storage locations this apply may remove.
    pub(super) acknowledge_location_removals: Option<Vec<String>>,
    /// `deletion_protection`: whether a destroy is refused. Default false.
    pub(super) deletion_protection: Option<bool>,
    /// What the resource computes.
    pub(super) results: SiteResults,
}

/// The computed attributes.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct SiteResults {
    /// `id`: `cluster/namespace/name`.
    pub(super) id: Field<String>,
    /// `bundle_secret_name`.
    pub(super) bundle_secret_name: Field<String>,
    /// `config_hash`.
    pub(super) config_hash: Field<String>,
    /// `registry_endpoint`.
    pub(super) registry_endpoint: Field<String>,
    /// `current_version`.
    pub(super) current_version: Field<String>,
    /// `conditions`.
    pub(super) conditions: Field<Vec<String>>,
    /// `drift`.
    pub(super) drift: Field<Vec<String>>,
    /// `namespace_created`.
    pub(super) namespace_created: Field<bool>,
    /// What a global load balancer and DNS need (`site_live.rs`).
    pub(super) endpoints: EndpointResults,
}

impl SiteResults {
    /// The results of a plan or a state.
    pub(super) fn read(value: &Value) -> Self {
        Self {
            id: Field::read(value.get("id")),
            bundle_secret_name: Field::read(value.get("bundle_secret_name")),
            config_hash: Field::read(value.get("config_hash")),
            registry_endpoint: Field::read(value.get("registry_endpoint")),
            current_version: Field::read(value.get("current_version")),
            conditions: Field::read(value.get("conditions")),
            drift: Field::read(value.get("drift")),
            namespace_created: Field::read(value.get("namespace_created")),
            endpoints: EndpointResults::read(value),
        }
    }

    /// Sets the results on `value`, a plan or a state, leaving its arguments as they are.
    pub(super) fn write_into(&self, value: &mut Value) {
        self.id.write_into(value, "id");
        self.bundle_secret_name
            .write_into(value, "bundle_secret_name");
        self.config_hash.write_into(value, "config_hash");
        self.registry_endpoint
            .write_into(value, "registry_endpoint");
        self.current_version.write_into(value, "current_version");
        self.conditions.write_into(value, "conditions");
        self.drift.write_into(value, "drift");
        self.namespace_created
            .write_into(value, "namespace_created");
        self.endpoints.write_into(value);
    }

    /// Whether this resource created the site's namespace (and so deletes it).
    pub(super) fn is_namespace_created(&self) -> bool {
        self.namespace_created.known() == Some(&true)
    }
}

impl Model for SiteModel {
    fn read(value: &Value, diags: &mut Diagnostics) -> Self {
        Self {
            input: site_input(&without_twins(value), &NON_DOMAIN, diags),
            wait_for_ready: flag(value, "wait_for_ready"),
            timeouts: Timeouts::read(value),
            acknowledge_key_changes: Field::<Vec<String>>::read(
                value.get("acknowledge_key_changes"),
            )
            .known()
            .cloned(),
            acknowledge_location_removals: Field::<Vec<String>>::read(
                value.get("acknowledge_location_removals"),
            )
            .known()
            .cloned(),
            deletion_protection: flag(value, "deletion_protection"),
            results: SiteResults::read(value),
        }
    }

    fn write(&self) -> Json {
        let results = &self.results;
        let mut fields = vec![
            // Write-only: never in a plan or state this model writes.
            (CONFIG_YAML_WO, Json::Null),
            ("wait_for_ready", json!(self.wait_for_ready)),
            (
                "timeouts",
                json!(self.timeouts.as_ref().map(|t| t.write(&OPERATIONS))),
            ),
            (
                "acknowledge_key_changes",
                json!(self.acknowledge_key_changes),
            ),
            (
                "acknowledge_location_removals",
                json!(self.acknowledge_location_removals),
            ),
            ("deletion_protection", json!(self.deletion_protection)),
            ("id", results.id.to_json()),
            ("bundle_secret_name", results.bundle_secret_name.to_json()),
            ("config_hash", results.config_hash.to_json()),
            ("registry_endpoint", results.registry_endpoint.to_json()),
            ("current_version", results.current_version.to_json()),
            ("conditions", results.conditions.to_json()),
            ("drift", results.drift.to_json()),
            ("namespace_created", results.namespace_created.to_json()),
        ];
        fields.extend(results.endpoints.to_json());
        with_fields(self.input.as_ref().map(site_arguments), fields)
    }
}

/// The state after a successful apply or read: the arguments of `base` (the plan, or the
/// prior state) plus the results; `endpoints` empty when not read (an import, whose read
/// follows).
pub(super) fn state_of(
    base: &Value,
    site: &Site,
    registry: Option<&RegistryStatus>,
    endpoints: Option<&SiteEndpoints>,
    namespace_created: bool,
) -> Value {
    let text = |value: Option<&String>| Field::Known(value.cloned().unwrap_or_default());
    let mut state = base.clone();
    SiteResults {
        id: Field::Known(site.id()),
        bundle_secret_name: Field::Known(site.bundle_secret_name()),
        config_hash: Field::Known(site.config_hash()),
        registry_endpoint: text(registry.and_then(|r| r.registry_endpoint.as_ref())),
        current_version: text(registry.and_then(|r| r.current_version.as_ref())),
        conditions: Field::Known(
            registry
                .map(RegistryStatus::condition_lines)
                .unwrap_or_default(),
        ),
        drift: Field::Known(Vec::new()),
        namespace_created: Field::Known(namespace_created),
        endpoints: EndpointResults::known(endpoints.unwrap_or(&SiteEndpoints::default())),
    }
    .write_into(&mut state);
    state
}

/// Whether a site's plan changes any of its arguments (not its computed results) from
/// `prior`, or its bundle: a new `config_yaml_wo` (null in both) shows as a new bundle name.
pub(super) fn inputs_changed(prior: &Value, planned: &Value, site: &Site) -> bool {
    let strip = |v: &Value| {
        let mut json = crate::resources::convert::to_json(v);
        if let Some(fields) = json.as_object_mut() {
            for name in COMPUTED {
                fields.remove(name);
            }
        }
        json
    };
    let bundle = SiteResults::read(prior).bundle_secret_name;
    strip(prior) != strip(planned) || bundle.known() != Some(&site.bundle_secret_name())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::georep_site_twins::{with_write_only, written_from_twins};

    #[test]
    fn every_attribute_reads_into_the_model_and_back() {
        crate::resources::model::assert_every_attribute_round_trips::<SiteModel>(&schema());
    }

    #[test]
    fn wait_for_ready_says_everything_the_wait_checks() {
        let schema = schema();
        let description = &schema
            .block
            .attributes
            .iter()
            .find(|a| a.name == "wait_for_ready")
            .expect("the schema has wait_for_ready")
            .description;
        for check in [
            "Available",
            "ComponentsCreated",
            "status.currentVersion",
            "status.observedGeneration",
            "before 3.17",
            "status.lastUpdated",
            "rolled out",
            "every replica updated and available",
            "no migration Job is running",
            "RolloutBlocked",
            "MigrationsFailed",
            &format!("{} s", BLOCKED_GRACE.as_secs()),
            "failed for good",
            "migration pod's own message",
            "migration Jobs never overlap",
        ] {
            assert!(
                description.contains(check),
                "wait_for_ready's description does not mention {check:?}: {description}"
            );
        }
    }

    #[test]
    fn schema_is_a_valid_definition() {
        crate::resources::model::assert_valid_definition(&schema());
    }

    #[test]
    fn every_argument_maps_onto_the_domain_input() {
        crate::resources::model::assert_every_argument_maps(&schema(), |config, diags| {
            site_input(config, &NON_DOMAIN, diags)
        });
        for name in COMPUTED {
            assert!(
                NON_DOMAIN.contains(&name),
                "{name} must be left out of the domain input"
            );
        }
    }

    fn config_errors(value: &Value) -> Vec<(String, String, String)> {
        let mut diags = Diagnostics::default();
        assert!(site(value, None, Warnings::Skip, &mut diags).is_none());
        diags
            .errors()
            .map(|d| {
                let path = d
                    .attribute
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                (path, d.summary.clone(), d.detail.clone())
            })
            .collect()
    }

    fn arguments(config: (&str, &str)) -> Value {
        Value::object([
            ("cluster", Value::string("us_east")),
            ("namespace", Value::string("quay-enterprise")),
            ("location", Value::string("us_east")),
            (config.0, Value::string(config.1)),
        ])
    }

    #[test]
    fn a_problem_with_config_yaml_wo_points_at_config_yaml_wo() {
        let errors = config_errors(&arguments((CONFIG_YAML_WO, "[not, a, map]")));
        assert!(!errors.is_empty());
        for (path, summary, _) in &errors {
            assert_ne!(
                path, "config_yaml",
                "{summary} points at the unset attribute"
            );
        }
        assert!(
            errors.iter().any(|(path, _, _)| path == CONFIG_YAML_WO),
            "{errors:?}"
        );
    }

    #[test]
    fn config_yaml_and_config_yaml_wo_together_are_refused_at_the_write_only_one() {
        let mut value = arguments((CONFIG_YAML_WO, "SERVER_HOSTNAME: a"));
        if let Value::Object(fields) = &mut value {
            fields.insert("config_yaml".into(), Value::string("SERVER_HOSTNAME: a"));
        }
        let errors = config_errors(&value);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].0, CONFIG_YAML_WO);
        assert_eq!(errors[0].1, "Conflicting Config");
    }

    fn with_block(mut value: Value, name: &str, fields: &[(&str, Value)]) -> Value {
        if let Value::Object(all) = &mut value {
            all.insert(
                name.to_owned(),
                Value::list([Value::object(fields.iter().cloned())]),
            );
        }
        value
    }

    #[test]
    fn both_a_secret_and_its_twin_in_a_block_are_refused_at_the_twin() {
        let value = with_block(
            arguments(("config_yaml", "SERVER_HOSTNAME: a")),
            "tls",
            &[
                ("certificate", Value::string("PEM")),
                ("private_key", Value::string("KEY")),
                ("private_key_wo", Value::string("KEY")),
            ],
        );
        let errors = config_errors(&value);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].0, "tls[0].private_key_wo");
        assert_eq!(errors[0].1, "Conflicting Config");
    }

    #[test]
    fn a_problem_with_a_twin_in_a_block_points_at_the_twin() {
        let config = include_str!("../georep/testdata/three_sites.config.yaml");
        let value = with_block(
            arguments(("config_yaml", config)),
            "clair",
            &[("database_uri_wo", Value::string("mysql://not-postgres"))],
        );
        let errors = config_errors(&value);
        assert!(
            errors
                .iter()
                .any(|(path, _, _)| path == "clair[0].database_uri_wo"),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .all(|(path, _, _)| path != "clair[0].database_uri"),
            "{errors:?}"
        );
    }

    #[test]
    fn a_missing_tls_key_names_its_twin() {
        let value = with_block(
            arguments(("config_yaml", "SERVER_HOSTNAME: a")),
            "tls",
            &[("certificate", Value::string("PEM"))],
        );
        let errors = config_errors(&value);
        let missing = errors
            .iter()
            .find(|(_, summary, _)| summary == "Missing TLS Private Key")
            .expect("a Missing TLS Private Key error");
        assert!(missing.2.contains("tls[0].private_key_wo"), "{}", missing.2);
    }

    #[test]
    fn the_nested_twins_are_write_only_and_their_secrets_optional() {
        let schema = schema();
        for (block, stored, twin) in [
            ("clair", "database_uri", "database_uri_wo"),
            ("tls", "private_key", "private_key_wo"),
        ] {
            let nested = &schema.block.find_block(block).unwrap().block;
            let stored = nested.find_attribute(stored).unwrap();
            let twin = nested.find_attribute(twin).unwrap();
            assert_eq!(stored.presence, Presence::Optional);
            assert!(twin.write_only && twin.sensitive && !stored.write_only);
        }
    }

    #[test]
    fn a_site_without_config_names_both_ways_to_give_it() {
        let value = Value::object([("cluster", Value::string("us_east"))]);
        let errors = config_errors(&value);
        let missing = errors
            .iter()
            .find(|(_, summary, _)| summary == "Missing Config")
            .expect("a Missing Config error");
        assert!(
            missing.2.contains("config_yaml_wo") && missing.2.contains("ephemeral."),
            "{}",
            missing.2
        );
    }

    #[test]
    fn config_yaml_is_optional_and_its_write_only_twin_is_write_only() {
        let schema = schema();
        let stored = schema.block.find_attribute("config_yaml").unwrap();
        let write_only = schema.block.find_attribute(CONFIG_YAML_WO).unwrap();
        assert_eq!(stored.presence, Presence::Optional);
        assert!(!stored.write_only);
        assert!(write_only.write_only && write_only.sensitive);
        assert_eq!(write_only.presence, Presence::Optional);
    }

    #[test]
    fn the_plan_gets_config_yaml_wo_from_the_configuration_only() {
        let planned = Value::object([(CONFIG_YAML_WO, Value::Null), ("config_yaml", Value::Null)]);
        let config = Value::object([(CONFIG_YAML_WO, Value::string("yaml"))]);
        let merged = with_write_only(&planned, &config);
        assert_eq!(merged.get(CONFIG_YAML_WO), Some(&Value::string("yaml")));
        assert!(written_from_twins(&planned));
        assert!(!written_from_twins(&Value::object([(
            "config_yaml",
            Value::string("yaml")
        )])));
    }
}
