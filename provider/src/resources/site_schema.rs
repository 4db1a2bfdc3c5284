//! The inputs of one site, defined once: the schema shared by `data "quay_georep_site_manifests"`
//! and `resource "quay_georep_site"`, and the mapping of a Terraform value onto
//! [`SiteInput`].
//!
//! [`site_block`] adds every site argument to a block; each Terraform type adds its own extra
//! arguments and computed results around them and lists their names when it calls
//! [`site_input`], which drops them before deserializing (the domain input refuses unknown
//! fields, so a schema attribute without a domain field is caught by the unit test below). Null
//! and unknown values become absent fields; [`report`] turns domain issues into diagnostics,
//! skipping those about values Terraform does not know yet. Defaults live in the domain
//! ([`crate::georep::site::validate_site`]); the descriptions state them.
//!
//! The optional blocks without secrets are single-nested with `min_items = max_items = 0`:
//! Terraform 1.3 and later refuse a single block whose limits differ. The blocks that hold a
//! sensitive attribute ([`LIST_BLOCKS`]: `clair`, `tls`) are list-nested with at most one
//! item instead, because Terraform 1.0's plan renderer crashes ("value is marked, so must be
//! unmarked first") on any in-place update or refresh change of a resource with a sensitive
//! attribute inside a single-nested block. The HCL is the same (`clair { ... }`); the domain
//! sees every block as one object ([`domain_view`]) and diagnostics point into `clair[0]`.

use super::convert::{attribute_path, diagnostic, domain_input, issue_is_about_unknown};
use crate::georep::issue::Issue;
use crate::georep::path::{FieldPath, Segment};
use serde_json::{Value as Json, json};

use crate::georep::secret::Secret;
use crate::georep::site::{PodsInput, SiteInput};
use crate::tfvalue::{Attribute, Block, Diagnostic, Diagnostics, NestedBlock, Type, Value};

/// The blocks that hold a `replicas` number.
const REPLICAS_BLOCKS: [&str; 3] = ["quay", "mirror", "clair"];

/// The blocks with a sensitive attribute, list-nested with at most one item (see the module
/// documentation for the Terraform 1.0 crash this avoids).
pub(crate) const LIST_BLOCKS: [&str; 2] = ["clair", "tls"];

/// `config` as the domain sees it: each of [`LIST_BLOCKS`] as its one object (null when
/// absent), like the single-nested blocks.
pub(crate) fn domain_view(config: &Value) -> Value {
    let Value::Object(fields) = config else {
        return config.clone();
    };
    let mut fields = fields.clone();
    for name in LIST_BLOCKS {
        if let Some(Value::List(items)) = fields.get(name) {
            let one = items.first().cloned().unwrap_or(Value::Null);
            fields.insert(name.to_owned(), one);
        }
    }
    Value::Object(fields)
}

/// `path` with the list index of [`LIST_BLOCKS`] put back (`clair.x` -> `clair[0].x`), so
/// that [`attribute_path`] gives the Terraform attribute.
fn in_list_blocks(path: &FieldPath) -> FieldPath {
    path.segments()
        .iter()
        .enumerate()
        .fold(FieldPath::root(), |path, (n, segment)| match segment {
            Segment::Field(name) if n == 0 && LIST_BLOCKS.contains(name) => {
                path.field(name).index(0)
            }
            Segment::Field(name) => path.field(name),
            Segment::Key(key) => path.key(key.clone()),
            Segment::Index(i) => path.index(*i),
        })
}

/// `block` with every site argument added.
pub(crate) fn site_block(block: Block) -> Block {
    let quay = with_pods(
        Block::new("the Quay registry pods of this site").attribute(
            Attribute::optional("replicas", Type::Number)
                .description("Quay pods on this site, from 0 (scaled down) to 100; default 2"),
        ),
    );
    let mirror = with_pods(
        Block::new("repository mirror workers of this site")
            .attribute(
                Attribute::optional("enabled", Type::Bool)
                    .description("whether the operator runs mirror workers here; default true"),
            )
            .attribute(
                Attribute::optional("replicas", Type::Number)
                    .description("mirror pods, from 0 to 100; default 1"),
            ),
    );
    let clair = Block::new(
        "Clair on this site, using the Clair database every site shares (clairpostgres stays \
         unmanaged)",
    )
    .attribute(Attribute::optional("enabled", Type::Bool).description(
        "whether the operator runs Clair here; default true, or false when config_yaml names a \
         global Clair endpoint (and true is then refused)",
    ))
    .attribute(
        Attribute::optional("replicas", Type::Number)
            .description("Clair pods, from 0 to 100; default 1"),
    )
    .attribute(
        Attribute::optional("database_uri", Type::String)
            .sensitive()
            .description(
                "the shared Clair database, a postgresql:// URI, rendered into clair-config.yaml; \
                 required when Clair is enabled",
            ),
    )
    .attribute(
        Attribute::optional("volume_size", Type::String).description(
            "size of Clair's indexer volume (overrides.volumeSize; operator 3.18 and later, which \
         applies it), a Kubernetes quantity such as 50Gi",
        ),
    )
    .attribute(
        Attribute::optional("storage_class_name", Type::String).description(
            "StorageClass of Clair's indexer volume (overrides.storageClassName; operator 3.18 and \
         later)",
        ),
    );
    let clair = with_pods(clair);
    let route = Block::new("the OpenShift Route to this site")
        .attribute(Attribute::optional("managed", Type::Bool).description(
            "whether the operator creates the Route, whose host is SERVER_HOSTNAME; default true; \
             set false on clusters without Routes and serve SERVER_HOSTNAME with your own ingress \
             or load balancer (a tls block is then required)",
        ))
        .attribute(
            Attribute::optional("labels", Type::map(Type::String)).description(
                "extra labels of the Route (the route component's overrides.labels; with a managed \
             Route only); quay-component, app and quay-operator/quayregistry are the operator's",
            ),
        )
        .attribute(
            Attribute::optional("annotations", Type::map(Type::String)).description(
                "extra annotations of the Route (overrides.annotations), such as a router's \
             haproxy.router.openshift.io/timeout; with a managed Route only",
            ),
        );
    let tls = Block::new(
        "the TLS certificate for SERVER_HOSTNAME, put in the config bundle (the Route becomes \
         passthrough); without it the router's certificate is used",
    )
    .attribute(
        Attribute::required("certificate", Type::String).description(
            "PEM certificate (chain) whose subject alternative names cover SERVER_HOSTNAME",
        ),
    )
    .attribute(
        Attribute::required("private_key", Type::String)
            .sensitive()
            .description("the certificate's unencrypted PEM private key"),
    );
    block
        .attribute(Attribute::required("cluster", Type::String).description(
            "the label of the provider's cluster block this site runs on, such as us_east",
        ))
        .attribute(Attribute::required("namespace", Type::String).description(
            "the site's namespace, a DNS-1123 label; use the same on every site",
        ))
        .attribute(Attribute::optional("name", Type::String).description(
            "the QuayRegistry name, a DNS-1123 label; default registry; use the same on every site",
        ))
        .attribute(
            Attribute::optional("create_namespace", Type::Bool)
                .description("whether the namespace is created with the site; default true"),
        )
        .attribute(
            Attribute::required("config_yaml", Type::String)
                .sensitive()
                .description(
                    "the shared config.yaml, normally data.quay_georep_config.<name>.config_yaml; \
                     must enable FEATURE_STORAGE_REPLICATION",
                ),
        )
        .attribute(
            Attribute::optional("config_files", Type::map(Type::String))
                .sensitive()
                .description(
                    "the bundle files the shared configuration brings beside config.yaml, normally \
                     data.quay_georep_config.<name>.config_files: extra_ca_cert_<name>.crt, \
                     database.pem, database-client.crt and database-client.key; every file \
                     config_yaml's DB_CONNECTION_ARGS names under /conf/stack must be here",
                ),
        )
        .attribute(Attribute::required("location", Type::String).description(
            "this site's storage location, one of the config's storage locations; this site \
             prefers it",
        ))
        .attribute(
            Attribute::optional("monitoring", Type::Bool)
                .description(
                    "whether the operator manages monitoring (OpenShift only): needs the \
                     Prometheus API (monitoring.coreos.com) and the operator installed for all \
                     namespaces, refused otherwise; default false",
                ),
        )
        .attribute(Attribute::optional("env", Type::map(Type::String)).sensitive().description(
            "extra environment variables for the quay pods; QUAY_DISTRIBUTED_STORAGE_PREFERENCE \
             cannot be set here (it comes from location)",
        ))
        .block(NestedBlock::single("quay", quay))
        .block(NestedBlock::single("mirror", mirror))
        .block(NestedBlock::list("clair", clair).max_items(1))
        .block(NestedBlock::single("route", route))
        .block(NestedBlock::list("tls", tls).max_items(1))
}

/// `block` with the pod overrides the QuayRegistry CRD allows on a managed component
/// (`crate::georep::site::PodOverrides`): refused on a disabled component, as the CRD does.
fn with_pods(block: Block) -> Block {
    block
        .attribute(Attribute::optional("requests", Type::map(Type::String)).description(
            "resource requests of each pod (overrides.resources.requests; operator 3.11 and \
             later): cpu, memory, ephemeral-storage, hugepages-<size> or an extended resource, \
             to a Kubernetes quantity, such as { cpu = \"2\", memory = \"8Gi\" }",
        ))
        .attribute(Attribute::optional("limits", Type::map(Type::String)).description(
            "resource limits of each pod (overrides.resources.limits; operator 3.11 and later); \
             a request may not exceed its limit",
        ))
        .attribute(Attribute::optional("affinity", Type::String).description(
            "a Kubernetes Affinity for the pods (overrides.affinity), as JSON: \
             jsonencode({ podAntiAffinity = { ... } }); a field Kubernetes does not have there \
             is refused, since the API server would drop it",
        ))
        .attribute(Attribute::optional("labels", Type::map(Type::String)).description(
            "extra labels of the component's Deployments and pods (overrides.labels); \
             quay-component, app and quay-operator/quayregistry are the operator's",
        ))
        .attribute(Attribute::optional("annotations", Type::map(Type::String)).description(
            "extra annotations of the component's Deployments and pods (overrides.annotations)",
        ))
}

/// Maps the configuration onto the domain input, leaving out `non_domain` attributes (the
/// caller's own arguments and results). Reports numbers that are not whole with their path.
pub(crate) fn site_input(
    config: &Value,
    non_domain: &[&str],
    diags: &mut Diagnostics,
) -> Option<SiteInput> {
    let config = &domain_view(config);
    for block in REPLICAS_BLOCKS {
        let replicas = config.get(block).and_then(|b| b.get("replicas"));
        if let Some(number) = replicas.and_then(Value::as_number)
            && number.as_i64().is_none()
        {
            let path = attribute_path(&in_list_blocks(&FieldPath::attr(block).field("replicas")));
            diags.push(
                Diagnostic::error(
                    "Whole Number Expected",
                    format!("{path} is {number}; use a whole number of pods, such as 2"),
                )
                .with_attribute(path),
            );
        }
    }
    if diags.has_errors() {
        return None;
    }
    domain_input(config, non_domain, "the site input", diags)
}

/// `block`'s arguments with the pod override attributes of `pods` added.
fn with_pod_arguments(mut block: Json, pods: PodsInput<'_>) -> Json {
    if let Json::Object(fields) = &mut block {
        for (name, value) in [
            ("requests", json!(pods.requests)),
            ("limits", json!(pods.limits)),
            ("affinity", json!(pods.affinity)),
            ("labels", json!(pods.labels)),
            ("annotations", json!(pods.annotations)),
        ] {
            fields.insert(name.to_owned(), value);
        }
    }
    block
}

/// The site arguments of `input` as the JSON form of a Terraform value: the inverse of
/// [`site_input`]. Unset fields are left out (they decode as null), and each of
/// [`LIST_BLOCKS`] is a list of its one object.
pub(crate) fn site_arguments(input: &SiteInput) -> Json {
    let secret = |s: &Option<Secret>| s.as_ref().map(|s| s.expose().to_owned());
    let fields = [
        ("cluster", json!(input.cluster)),
        ("namespace", json!(input.namespace)),
        ("name", json!(input.name)),
        ("create_namespace", json!(input.create_namespace)),
        ("config_yaml", json!(secret(&input.config_yaml))),
        (
            "config_files",
            json!(input.config_files.as_ref().map(|files| {
                files
                    .iter()
                    .map(|(k, v)| (k.clone(), v.expose().to_owned()))
                    .collect::<std::collections::BTreeMap<_, _>>()
            })),
        ),
        ("location", json!(input.location)),
        ("monitoring", json!(input.monitoring)),
        ("env", json!(input.env.as_deref())),
        ("secret_mode", json!(input.secret_mode)),
        ("external_secret_name", json!(input.external_secret_name)),
        (
            "quay",
            json!(
                input
                    .quay
                    .as_ref()
                    .map(|q| with_pod_arguments(json!({"replicas": q.replicas}), q.pods()))
            ),
        ),
        (
            "mirror",
            json!(input.mirror.as_ref().map(|m| with_pod_arguments(
                json!({"enabled": m.enabled, "replicas": m.replicas}),
                m.pods()
            ))),
        ),
        (
            "clair",
            json!(input.clair.as_ref().map(|c| json!([with_pod_arguments(
                json!({
                    "enabled": c.enabled,
                    "replicas": c.replicas,
                    "database_uri": secret(&c.database_uri),
                    "volume_size": c.volume_size,
                    "storage_class_name": c.storage_class_name,
                }),
                c.pods()
            )]))),
        ),
        (
            "route",
            json!(input.route.as_ref().map(|r| json!({
                "managed": r.managed,
                "labels": r.labels,
                "annotations": r.annotations,
            }))),
        ),
        (
            "tls",
            json!(input.tls.as_ref().map(|t| json!([{
                "certificate": t.certificate,
                "private_key": secret(&t.private_key),
            }]))),
        ),
    ];
    Json::Object(
        fields
            .into_iter()
            .filter(|(_, value)| !value.is_null())
            .map(|(name, value)| (name.to_owned(), value))
            .collect(),
    )
}

/// Pushes a diagnostic for every issue that is not about a value Terraform does not know yet.
pub(crate) fn report(config: &Value, issues: &[Issue], diags: &mut Diagnostics) {
    let config = domain_view(config);
    for issue in issues
        .iter()
        .filter(|issue| !issue_is_about_unknown(&config, issue))
    {
        diags.push(diagnostic(&Issue {
            path: in_list_blocks(&issue.path),
            ..issue.clone()
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::georep::path::FieldPath;
    use crate::tfvalue::{Nesting, Schema};

    fn schema() -> Schema {
        Schema {
            version: 0,
            block: site_block(Block::new("test")),
        }
    }

    fn null_config() -> Value {
        let Type::Object(attrs) = schema().value_type() else {
            panic!("object type")
        };
        Value::Object(attrs.keys().map(|k| (k.clone(), Value::Null)).collect())
    }

    #[test]
    fn site_schema_is_a_valid_definition() {
        crate::resources::model::assert_valid_definition(&schema());
    }

    #[test]
    fn every_site_argument_maps_onto_the_domain_input() {
        let mut diags = Diagnostics::default();
        let input = site_input(&null_config(), &[], &mut diags);
        assert_eq!(input, Some(SiteInput::default()), "{diags:?}");
    }

    #[test]
    fn blocks_and_maps_map_by_name() {
        let mut config = null_config();
        if let Value::Object(attrs) = &mut config {
            attrs.insert("cluster".into(), Value::string("us_east"));
            attrs.insert(
                "quay".into(),
                Value::object([("replicas", Value::number(3))]),
            );
            attrs.insert(
                "env".into(),
                Value::map([("DEBUGLOG", Value::string("true"))]),
            );
            attrs.insert("secret_mode".into(), Value::string("external"));
        }
        let mut diags = Diagnostics::default();
        let input = site_input(&config, &["secret_mode"], &mut diags).unwrap();
        assert_eq!(input.cluster.as_deref(), Some("us_east"));
        assert_eq!(input.quay.unwrap().replicas, Some(3));
        assert_eq!(input.env.unwrap()["DEBUGLOG"], "true");
        assert_eq!(input.secret_mode, None);
    }

    #[test]
    fn fractional_replicas_are_rejected_with_their_path() {
        let config = Value::object([(
            "mirror",
            Value::object([("replicas", Value::Number(1.5.into()))]),
        )]);
        let mut diags = Diagnostics::default();
        assert!(site_input(&config, &[], &mut diags).is_none());
        let paths: Vec<String> = diags
            .iter()
            .map(|d| d.attribute.clone().unwrap_or_default().to_string())
            .collect();
        assert_eq!(paths.len(), 1);
        assert!(paths[0].contains("replicas"), "{paths:?}");
    }

    #[test]
    fn issues_about_unknown_values_are_not_reported() {
        let config = Value::object([
            ("config_yaml", Value::Unknown),
            ("location", Value::string("mars")),
        ]);
        let issues = [
            Issue::error(FieldPath::attr("config_yaml"), "Missing Config", "d"),
            Issue::error(FieldPath::attr("location"), "Unknown Storage Location", "d"),
        ];
        let mut diags = Diagnostics::default();
        report(&config, &issues, &mut diags);
        let summaries: Vec<&str> = diags.iter().map(|d| d.summary.as_str()).collect();
        assert_eq!(summaries, ["Unknown Storage Location"]);
    }

    #[test]
    fn blocks_with_secrets_are_lists_of_at_most_one_and_the_rest_single() {
        let block = schema().block;
        for nested in &block.block_types {
            let expected = if LIST_BLOCKS.contains(&nested.type_name.as_str()) {
                (Nesting::List, 1)
            } else {
                (Nesting::Single, 0)
            };
            assert_eq!(
                (nested.nesting, nested.max_items),
                expected,
                "{}",
                nested.type_name
            );
            let holds_secret = nested.block.attributes.iter().any(|a| a.sensitive);
            assert_eq!(
                holds_secret,
                LIST_BLOCKS.contains(&nested.type_name.as_str()),
                "{}: a sensitive attribute in a single block crashes Terraform 1.0's plan output",
                nested.type_name
            );
        }
    }

    #[test]
    fn a_list_block_maps_onto_its_one_domain_object() {
        let mut config = null_config();
        if let Value::Object(fields) = &mut config {
            fields.insert(
                "clair".into(),
                Value::list([Value::object([
                    ("enabled", Value::Bool(false)),
                    ("replicas", Value::Null),
                    ("database_uri", Value::Null),
                ])]),
            );
            fields.insert("tls".into(), Value::list([]));
        }
        let mut diags = Diagnostics::default();
        let input = site_input(&config, &[], &mut diags).expect("maps");
        assert_eq!(input.clair.and_then(|c| c.enabled), Some(false));
        assert!(input.tls.is_none());
    }

    #[test]
    fn issues_inside_a_list_block_point_at_its_first_item() {
        let config = Value::object([(
            "clair",
            Value::list([Value::object([("database_uri", Value::Null)])]),
        )]);
        let issues = [Issue::error(
            FieldPath::attr("clair").field("database_uri"),
            "Missing Clair Database",
            "d",
        )];
        let mut diags = Diagnostics::default();
        report(&config, &issues, &mut diags);
        let paths: Vec<String> = diags
            .iter()
            .filter_map(|d| d.attribute.as_ref().map(ToString::to_string))
            .collect();
        assert_eq!(paths, ["clair[0].database_uri"]);
    }
}
