//! `data "quay_georep_config"`: the one `config.yaml` every geo-replicated site shares.
//!
//! Pure: it reads no cluster and no network. It maps its arguments onto
//! [`crate::georep::config::ConfigInput`], validates them (every problem reported with its
//! attribute path, at plan time) and renders the file and its hash.
//!
//! `ephemeral "quay_georep_config"` (`georep_config_ephemeral.rs`) is the same schema,
//! validation and rendering (`schema`, `check`, `rendered`) without the state.
//!
//! `extra_config`, `database.connection_args` and `builders.executor_config` are maps of any
//! shape (`dynamic` in the schema), so HCL objects and `yamldecode(file(...))` both work.

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::convert::{diagnostic, domain_input, issue_is_about_unknown, to_json, whole_numbers};
use super::model::{Field, Model, dynamic_json, with_fields};
use super::provider_data::ProviderData;
use crate::framework::DataSource;
use crate::georep::config::storage_driver::{DRIVERS, drivers_taking};
use crate::georep::config::{ConfigInput, render, validate};
use crate::georep::secret::{Redacted, Secret};
use crate::stop::StopToken;
use crate::tfvalue::{
    Attribute, AttributePath, Block, Diagnostic, Diagnostics, NestedBlock, Nesting, Schema, Type,
    Value,
};

/// The data source.
#[derive(Clone, Copy, Debug, Default)]
pub struct GeoRepConfigDataSource;

/// Attributes the data source computes; they are not part of the domain input.
const OUTPUTS: [&str; 4] = ["config_yaml", "config_hash", "locations", "config_files"];

/// Arguments of `dynamic` type that must hold a map, with their paths.
const MAP_ARGUMENTS: [(&str, Option<&str>); 3] = [
    ("extra_config", None),
    ("database", Some("connection_args")),
    ("builders", Some("executor_config")),
];

/// A single nested block; required blocks take `min_items = max_items = 1`.
fn single(name: &str, block: Block, required: bool) -> NestedBlock {
    let nested = NestedBlock::single(name, block);
    if required {
        nested.min_items(1).max_items(1)
    } else {
        nested
    }
}

/// The schema; its descriptions are the reference documentation.
pub(crate) fn schema() -> Schema {
    let database = Block::new("the one PostgreSQL database all sites share (pg_trgm installed)")
        .attribute(
            Attribute::required("uri", Type::String)
                .sensitive()
                .description("database URI, must start with postgresql://, rendered as DB_URI"),
        )
        .attribute(Attribute::optional("connection_args", Type::Dynamic).sensitive().description(
            "map of connection arguments rendered as DB_CONNECTION_ARGS, such as { connect_timeout = 10 }; \
             sslmode, sslrootcert, sslcert and sslkey come from the TLS arguments when one is set",
        ))
        .attribute(Attribute::optional("ssl_mode", Type::String).description(
            "libpq sslmode rendered into DB_CONNECTION_ARGS: require, verify-ca or verify-full; default \
             verify-full with root_certificate, else require when a client certificate is given",
        ))
        .attribute(Attribute::optional("root_certificate", Type::String).description(
            "PEM CA certificate(s) of the database server, bundled as database.pem and rendered as \
             sslrootcert: /conf/stack/database.pem; required by verify-ca and verify-full",
        ))
        .attribute(Attribute::optional("client_certificate", Type::String).description(
            "PEM client certificate, bundled as database-client.crt and rendered as sslcert; \
             needs client_key",
        ))
        .attribute(Attribute::optional("client_key", Type::String).sensitive().description(
            "the client certificate's unencrypted PEM key, bundled as database-client.key and \
             rendered as sslkey",
        ));
    let redis = Block::new("the one Redis all sites share (build logs and user events)")
        .attribute(Attribute::required("host", Type::String).description("Redis host name"))
        .attribute(
            Attribute::optional("port", Type::Number).description("Redis port; default 6379"),
        )
        .attribute(
            Attribute::optional("password", Type::String)
                .sensitive()
                .description("Redis password; default none"),
        )
        .attribute(Attribute::optional("tls", Type::Bool).description(
            "connect with TLS; default false (with a password, false is a warning: the \
                 password would cross regions unencrypted)",
        ));
    let storage = storage_block();
    let clair = Block::new(
        "a Clair endpoint behind a global load balancer, shared by every site (unmanaged Clair)",
    )
    .attribute(Attribute::required("endpoint", Type::String).description(
        "http:// or https:// URL of the global Clair endpoint (http:// is a warning: \
                 the tokens signed with psk would travel unencrypted)",
    ))
    .attribute(
        Attribute::required("psk", Type::String)
            .sensitive()
            .description("base64 pre-shared key shared by Clair and Quay"),
    );
    let mirroring = Block::new("repository mirroring")
        .attribute(
            Attribute::optional("enabled", Type::Bool)
                .description("default true when the block is present"),
        )
        .attribute(
            Attribute::optional("interval", Type::Number)
                .description("seconds between mirror runs, at least 30"),
        );
    let builders = Block::new("Quay builds")
        .attribute(
            Attribute::optional("enabled", Type::Bool)
                .description("default true when the block is present"),
        )
        .attribute(
            Attribute::optional("build_manager_hostname", Type::String)
                .description("build manager host[:port]; required when enabled"),
        )
        .attribute(
            Attribute::optional("executor_config", Type::Dynamic)
                .sensitive()
                .description("one build executor's configuration map; required when enabled"),
        );
    Schema {
        version: 0,
        block: Block::new(
            "the shared configuration of a geo-replicated Quay: validates it and renders the one \
             config.yaml every site must use",
        )
        .attribute(Attribute::required("server_hostname", Type::String).description(
            "the global load balancer's FQDN, optionally with :port, rendered as SERVER_HOSTNAME; not a site's Route name",
        ))
        .attribute(Attribute::optional("preferred_url_scheme", Type::String).description("https (default) or http"))
        .attribute(Attribute::optional("default_locations", Type::list(Type::String)).description(
            "locations every blob is replicated to; default: every storage location",
        ))
        .attribute(Attribute::required("secret_key", Type::String).sensitive().description(
            "SECRET_KEY, identical on every site; at least 32 characters",
        ))
        .attribute(Attribute::required("database_secret_key", Type::String).sensitive().description(
            "DATABASE_SECRET_KEY, identical on every site; at least 32 characters",
        ))
        .attribute(Attribute::optional("super_users", Type::list(Type::String)).description("Quay superuser names"))
        .attribute(Attribute::optional("extra_config", Type::Dynamic).sensitive().description(
            "more config.yaml keys, merged last; keys this data source manages are refused with the argument to use instead",
        ))
        .attribute(Attribute::optional("extra_ca_certs", Type::map(Type::String)).description(
            "private CA certificates every site trusts (storage, database, LDAP, OIDC endpoints), \
             name to PEM; each is bundled as extra_ca_cert_<name>.crt, which the operator mounts in \
             /conf/stack/extra_ca_certs; names are letters, digits, - and _",
        ))
        .attribute(Attribute::computed("config_files", Type::map(Type::String)).sensitive().description(
            "the files every site's config bundle carries beside config.yaml (extra CA certificates, \
             the database's TLS files), bundle key to content; pass it to each site's config_files",
        ))
        .attribute(Attribute::computed("config_yaml", Type::String).sensitive().description(
            "the rendered config.yaml, byte-identical for identical input",
        ))
        .attribute(Attribute::computed("config_hash", Type::String).description("sha256:<hex> of config_yaml"))
        .attribute(Attribute::computed("locations", Type::list(Type::String)).description("the storage locations, sorted"))
        .block(single("database", database, true))
        .block(single("redis", redis, true))
        .block(NestedBlock {
            type_name: "storage".into(),
            block: storage,
            nesting: Nesting::Map,
            min_items: 0,
            max_items: 0,
        })
        .block(single("clair", clair, false))
        .block(single("mirroring", mirroring, false))
        .block(single("builders", builders, false)),
    }
}

/// Maps the configuration onto the domain input, reporting shape problems the schema cannot
/// express (a `dynamic` argument that is not a map).
fn input(config: &Value, diags: &mut Diagnostics) -> Option<ConfigInput> {
    whole_numbers(config, &AttributePath::root(), diags);
    for (outer, inner) in MAP_ARGUMENTS {
        let (value, path) = match inner {
            None => (config.get(outer), AttributePath::root().attr(outer)),
            Some(inner) => (
                config.get(outer).and_then(|block| block.get(inner)),
                AttributePath::root().attr(outer).attr(inner),
            ),
        };
        let json = value.map(to_json).unwrap_or_default();
        if !(json.is_null() || json.is_object()) {
            diags.push(
                Diagnostic::error(
                    "Map Expected",
                    format!(
                        "{path} must be a map of keys to values, such as {{ KEY = \"value\" }}"
                    ),
                )
                .with_attribute(path),
            );
        }
    }
    if diags.has_errors() {
        return None;
    }
    domain_input(config, &OUTPUTS, "the domain input", diags)
}

/// The data source's attributes: the domain input and the rendered results.
#[derive(Clone, Debug, Default, PartialEq)]
struct ConfigModel {
    /// Every argument; `None` when they do not map onto the domain input (a `dynamic`
    /// argument that is not a map).
    input: Option<ConfigInput>,
    /// What the data source computes.
    results: ConfigResults,
}

/// The computed attributes. `Debug` redacts `config_yaml`: it holds the database, Redis and
/// storage credentials.
#[derive(Clone, Default, PartialEq)]
struct ConfigResults {
    /// `config_yaml`.
    config_yaml: Field<String>,
    /// `config_hash`.
    config_hash: Field<String>,
    /// `locations`.
    locations: Field<Vec<String>>,
    /// `config_files`.
    config_files: Field<BTreeMap<String, String>>,
}

impl fmt::Debug for ConfigResults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigResults")
            .field("config_yaml", &self.config_yaml.redacted())
            .field("config_hash", &self.config_hash)
            .field("locations", &self.locations)
            .field("config_files", &self.config_files.redacted())
            .finish()
    }
}

impl ConfigResults {
    /// Sets the results on `value`, leaving its arguments as they are.
    fn write_into(&self, value: &mut Value) {
        self.config_yaml.write_into(value, "config_yaml");
        self.config_hash.write_into(value, "config_hash");
        self.locations.write_into(value, "locations");
        self.config_files.write_into(value, "config_files");
    }
}

impl Model for ConfigModel {
    fn read(value: &Value, diags: &mut Diagnostics) -> Self {
        Self {
            input: input(value, diags),
            results: ConfigResults {
                config_yaml: Field::read(value.get("config_yaml")),
                config_hash: Field::read(value.get("config_hash")),
                locations: Field::read(value.get("locations")),
                config_files: Field::read(value.get("config_files")),
            },
        }
    }

    fn write(&self) -> Json {
        let results = &self.results;
        with_fields(
            self.input.as_ref().map(arguments),
            [
                ("config_yaml", results.config_yaml.to_json()),
                ("config_hash", results.config_hash.to_json()),
                ("locations", results.locations.to_json()),
                ("config_files", results.config_files.to_json()),
            ],
        )
    }
}

/// The `storage "<location>"` block. Each driver-specific attribute's description ends with the
/// drivers that take it, from the driver table, so the docs cannot drift from validation.
fn storage_block() -> Block {
    let drivers = DRIVERS
        .iter()
        .map(|d| format!("{} ({})", d.name, d.summary))
        .collect::<Vec<_>>()
        .join("; ");
    let used_by =
        |what: &str, attribute: &str| format!("{what}; drivers: {}", drivers_taking(attribute));
    let text = |name: &str, what: &str| {
        Attribute::optional(name, Type::String).description(&used_by(what, name))
    };
    let secret = |name: &str, what: &str| {
        Attribute::optional(name, Type::String)
            .sensitive()
            .description(&used_by(what, name))
    };
    Block::new(
        "one site's object storage bucket, labelled with its location id (e.g. us_east); every \
         site prefers its own location",
    )
    .attribute(
        Attribute::required("driver", Type::String)
            .description(&format!("{drivers}. Local storage cannot replicate")),
    )
    .attribute(Attribute::required("bucket", Type::String).description(
        "bucket name (azure: the container), by the naming rules of the driver's service",
    ))
    .attribute(
        Attribute::optional("storage_path", Type::String)
            .description("object key prefix, must be absolute; default /datastorage/registry"),
    )
    .attribute(text(
        "hostname",
        "storage endpoint host (s3: a custom S3 endpoint, not with region)",
    ))
    .attribute(
        Attribute::optional("port", Type::Number).description(&used_by(
            "storage endpoint port (s3: with hostname)",
            "port",
        )),
    )
    .attribute(
        Attribute::optional("is_secure", Type::Bool).description(&used_by(
            "use TLS to reach the endpoint; default true (false is a warning with radosgw and \
         refused with s3)",
            "is_secure",
        )),
    )
    .attribute(text(
        "region",
        "bucket region (s3: Amazon's endpoint of that region)",
    ))
    .attribute(secret(
        "access_key",
        "access key id (gcs: the HMAC key's id; sts_s3: the STS user's); s3 and sts_s3 without \
         keys use the pods' own AWS credentials (web identity)",
    ))
    .attribute(secret("secret_key", "secret access key, with access_key"))
    .attribute(text(
        "sts_role_arn",
        "the IAM role Quay assumes, arn:aws:iam::<account>:role/<name>",
    ))
    .attribute(text(
        "cloudfront_distribution_domain",
        "the CloudFront distribution's domain name",
    ))
    .attribute(text(
        "cloudfront_key_id",
        "the id of the CloudFront public key",
    ))
    .attribute(secret(
        "cloudfront_private_key",
        "the unencrypted RSA private key (PEM) that signs CloudFront URLs; it reaches each \
         site's bundle through config_files",
    ))
    .attribute(text("azure_account_name", "the storage account"))
    .attribute(secret(
        "azure_account_key",
        "the storage account's base64 access key",
    ))
    .attribute(text(
        "endpoint_url",
        "the blob service URL, when not https://<account>.blob.core.windows.net",
    ))
}

/// The arguments of `input` in the JSON form of a Terraform value: the inverse of [`input`].
fn arguments(input: &ConfigInput) -> Json {
    let secret = |s: &Option<Secret>| s.as_ref().map(|s| s.expose().to_owned());
    let map = |m: &Option<Redacted<BTreeMap<String, Json>>>| {
        m.as_ref()
            .map(|m| dynamic_json(&Json::Object(m.0.clone().into_iter().collect())))
    };
    let storage: serde_json::Map<String, Json> = input
        .storage
        .iter()
        .map(|(location, s)| {
            let block = json!({
                "driver": s.driver,
                "hostname": s.hostname,
                "port": s.port,
                "is_secure": s.is_secure,
                "bucket": s.bucket,
                "access_key": secret(&s.access_key),
                "secret_key": secret(&s.secret_key),
                "region": s.region,
                "storage_path": s.storage_path,
                "sts_role_arn": s.sts_role_arn,
                "cloudfront_distribution_domain": s.cloudfront_distribution_domain,
                "cloudfront_key_id": s.cloudfront_key_id,
                "cloudfront_private_key": secret(&s.cloudfront_private_key),
                "azure_account_name": s.azure_account_name,
                "azure_account_key": secret(&s.azure_account_key),
                "endpoint_url": s.endpoint_url,
            });
            (location.clone(), block)
        })
        .collect();
    json!({
        "server_hostname": input.server_hostname,
        "preferred_url_scheme": input.preferred_url_scheme,
        "default_locations": input.default_locations,
        "secret_key": secret(&input.secret_key),
        "database_secret_key": secret(&input.database_secret_key),
        "super_users": input.super_users,
        "extra_config": map(&input.extra_config),
        "extra_ca_certs": input.extra_ca_certs,
        "database": input.database.as_ref().map(|d| json!({
            "uri": secret(&d.uri),
            "connection_args": map(&d.connection_args),
            "ssl_mode": d.ssl_mode,
            "root_certificate": d.root_certificate,
            "client_certificate": d.client_certificate,
            "client_key": secret(&d.client_key),
        })),
        "redis": input.redis.as_ref().map(|r| json!({
            "host": r.host,
            "port": r.port,
            "password": secret(&r.password),
            "tls": r.tls,
        })),
        "storage": storage,
        "clair": input.clair.as_ref().map(|c| json!({
            "endpoint": c.endpoint,
            "psk": secret(&c.psk),
        })),
        "mirroring": input.mirroring.as_ref().map(|m| json!({
            "enabled": m.enabled,
            "interval": m.interval,
        })),
        "builders": input.builders.as_ref().map(|b| json!({
            "enabled": b.enabled,
            "build_manager_hostname": b.build_manager_hostname,
            "executor_config": map(&b.executor_config),
        })),
    })
}

/// Validates and reports; returns the input when there is no error.
pub(super) fn check(config: &Value, diags: &mut Diagnostics) -> Option<ConfigInput> {
    let input = ConfigModel::read(config, diags).input?;
    let issues = match validate(&input) {
        Ok((_, warnings)) => warnings,
        Err(issues) => issues,
    };
    for issue in issues
        .iter()
        .filter(|issue| !issue_is_about_unknown(config, issue))
    {
        diags.push(diagnostic(issue));
    }
    (!diags.has_errors()).then_some(input)
}

#[async_trait]
impl DataSource<ProviderData> for GeoRepConfigDataSource {
    fn type_name(&self) -> &'static str {
        "quay_georep_config"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let _ = check(config, diags);
    }

    async fn read(
        &self,
        _data: Option<&ProviderData>,
        config: &Value,
        _stop: &StopToken,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        rendered(config, diags)
    }
}

/// `config` (wholly known, validated by [`check`]) with the results set: the rendered
/// `config.yaml`, its hash and the locations.
pub(super) fn rendered(config: &Value, diags: &mut Diagnostics) -> Option<Value> {
    // The framework has already run `validate` (and reported its diagnostics), so only the
    // domain model is needed here.
    let mut scratch = Diagnostics::default();
    let input = ConfigModel::read(config, &mut scratch).input?;
    let Ok((model, _warnings)) = validate(&input) else {
        diags.push(Diagnostic::error(
            "Provider Bug: Validation Disagrees",
            "the configuration passed validation but could not be rendered; please report this",
        ));
        return None;
    };
    let rendered = render(&model);
    let mut state = config.clone();
    ConfigResults {
        config_yaml: Field::Known(rendered.config_yaml),
        config_hash: Field::Known(rendered.config_hash),
        locations: Field::Known(rendered.locations),
        config_files: Field::Known(
            rendered
                .config_files
                .iter()
                .map(|(key, value)| (key.clone(), value.expose().to_owned()))
                .collect(),
        ),
    }
    .write_into(&mut state);
    Some(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_attribute_reads_into_the_model_and_back() {
        crate::resources::model::assert_every_attribute_round_trips::<ConfigModel>(&schema());
    }

    #[test]
    fn debug_output_hides_the_rendered_config() {
        let results = ConfigResults {
            config_yaml: Field::Known("DB_URI: postgresql://quay:hunter2@db/quay".into()),
            config_hash: Field::Known("sha256:00".into()),
            locations: Field::Unknown,
            config_files: Field::Unknown,
        };
        let shown = format!("{results:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("<redacted>") && shown.contains("sha256:00"),
            "{shown}"
        );
    }

    #[test]
    fn schema_is_a_valid_definition() {
        crate::resources::model::assert_valid_definition(&schema());
    }

    #[test]
    fn every_argument_maps_onto_the_domain_input() {
        crate::resources::model::assert_every_argument_maps(&schema(), input);
    }

    #[test]
    fn extra_config_that_is_not_a_map_is_rejected_with_its_path() {
        let config = Value::object([(
            "extra_config",
            Value::Dynamic(Type::String, Box::new(Value::string("FEATURE_X: true"))),
        )]);
        let mut diags = Diagnostics::default();
        assert!(input(&config, &mut diags).is_none());
        let paths: Vec<String> = diags
            .iter()
            .map(|d| d.attribute.clone().unwrap_or_default().to_string())
            .collect();
        assert_eq!(paths, ["extra_config"]);
    }
}
