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
//! The optional blocks are single-nested with `min_items = max_items = 0`: Terraform 1.3 and
//! later refuse a single block whose limits differ.

use super::convert::{diagnostic, issue_is_about_unknown, to_json};
use crate::georep::issue::Issue;
use crate::georep::site::SiteInput;
use crate::tfvalue::{
    Attribute, AttributePath, Block, Diagnostic, Diagnostics, NestedBlock, Type, Value,
};

/// The blocks that hold a `replicas` number.
const REPLICAS_BLOCKS: [&str; 3] = ["quay", "mirror", "clair"];

/// `block` with every site argument added.
pub(crate) fn site_block(block: Block) -> Block {
    let quay = Block::new("the Quay registry pods of this site").attribute(
        Attribute::optional("replicas", Type::Number)
            .description("Quay pods on this site, from 0 (scaled down) to 100; default 2"),
    );
    let mirror = Block::new("repository mirror workers of this site")
        .attribute(
            Attribute::optional("enabled", Type::Bool)
                .description("whether the operator runs mirror workers here; default true"),
        )
        .attribute(
            Attribute::optional("replicas", Type::Number)
                .description("mirror pods, from 0 to 100; default 1"),
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
    );
    let route =
        Block::new("the OpenShift Route to this site")
            .attribute(Attribute::optional("managed", Type::Bool).description(
            "whether the operator creates the Route, whose host is SERVER_HOSTNAME; default true; \
             set false on clusters without Routes and serve SERVER_HOSTNAME with your own ingress \
             or load balancer (a tls block is then required)",
        ));
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
        .attribute(Attribute::required("location", Type::String).description(
            "this site's storage location, one of the config's storage locations; this site \
             prefers it",
        ))
        .attribute(
            Attribute::optional("monitoring", Type::Bool)
                .description("whether the operator manages monitoring (OpenShift only); default false"),
        )
        .attribute(Attribute::optional("env", Type::map(Type::String)).description(
            "extra environment variables for the quay pods; QUAY_DISTRIBUTED_STORAGE_PREFERENCE \
             cannot be set here (it comes from location)",
        ))
        .block(NestedBlock::single("quay", quay))
        .block(NestedBlock::single("mirror", mirror))
        .block(NestedBlock::single("clair", clair))
        .block(NestedBlock::single("route", route))
        .block(NestedBlock::single("tls", tls))
}

/// Maps the configuration onto the domain input, leaving out `non_domain` attributes (the
/// caller's own arguments and results). Reports numbers that are not whole with their path.
pub(crate) fn site_input(
    config: &Value,
    non_domain: &[&str],
    diags: &mut Diagnostics,
) -> Option<SiteInput> {
    for block in REPLICAS_BLOCKS {
        let replicas = config.get(block).and_then(|b| b.get("replicas"));
        if let Some(number) = replicas.and_then(Value::as_number)
            && number.as_i64().is_none()
        {
            let path = AttributePath::root().attr(block).attr("replicas");
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
    let mut json = to_json(config);
    if let Some(fields) = json.as_object_mut() {
        for name in non_domain {
            fields.remove(*name);
        }
    }
    drop_null_fields(&mut json);
    match serde_json::from_value(json) {
        Ok(input) => Some(input),
        Err(err) => {
            diags.push(Diagnostic::error(
                "Provider Bug: Unmapped Configuration",
                format!(
                    "the configuration could not be mapped onto the site input: {err}; please \
                     report this"
                ),
            ));
            None
        }
    }
}

/// Removes null object fields, recursively: the domain input treats absent as "not set".
fn drop_null_fields(json: &mut serde_json::Value) {
    match json {
        serde_json::Value::Object(fields) => {
            fields.retain(|_, v| !v.is_null());
            fields.values_mut().for_each(drop_null_fields);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_null_fields),
        _ => {}
    }
}

/// Pushes a diagnostic for every issue that is not about a value Terraform does not know yet.
pub(crate) fn report(config: &Value, issues: &[Issue], diags: &mut Diagnostics) {
    for issue in issues
        .iter()
        .filter(|issue| !issue_is_about_unknown(config, issue))
    {
        diags.push(diagnostic(issue));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::georep::path::FieldPath;
    use crate::tfvalue::Schema;

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
        assert!(
            schema().check_definition().is_ok(),
            "{:?}",
            schema().check_definition()
        );
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
}
