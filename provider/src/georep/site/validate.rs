//! [`validate_site`]: checks a [`SiteInput`] and turns it into a [`Site`].
//!
//! Every attribute is checked and every [`Issue`] returned, each with its attribute path, a
//! title and a detail that says what was seen and what to change; details never contain secret
//! values. The rules, the defaults and why:
//!
//! - `cluster`: required; when the caller knows the provider's cluster keys, one of them (the
//!   detail lists them). The manifests data source passes them only when the provider block was
//!   configured: it needs no cluster.
//! - `namespace` (required) and `name` (default `registry`): DNS-1123 labels. Use the same on
//!   every site: Clair's notifier callback uses the short in-cluster name (§4.3).
//! - `create_namespace`: default true.
//! - `config_yaml`: required; YAML map with `SERVER_HOSTNAME`, non-empty
//!   `DISTRIBUTED_STORAGE_CONFIG` and `FEATURE_STORAGE_REPLICATION: true` ([`SharedConfig`]).
//! - `location`: required; a `DISTRIBUTED_STORAGE_CONFIG` key (the detail lists them).
//! - replicas (`quay` default 2, `mirror` and `clair` default 1): from 0 (scaled down) to
//!   [`MAX_REPLICAS`]. A negative count is refused by the CRD (`minimum: 0`); above 100 is taken
//!   for a typo. Replicas of a disabled component are a warning: they are ignored.
//! - `mirror.enabled`: default true.
//! - `clair.enabled`: default true, **unless** the config has SecurityScanner keys (a global
//!   Clair, option B of §4.3), then false. Enabled next to such keys is an error (the operator
//!   would answer `ConfigInvalid`). Enabled needs `clair.database_uri`, a PostgreSQL URI: every
//!   site's Clair shares one database (option A; `clairpostgres` stays unmanaged).
//! - `route.managed`: default true. `route.labels`/`route.annotations` go on the Route (the
//!   pod overrides' rules, `pods/`), refused with an unmanaged Route.
//! - `tls`: `certificate` and `private_key` together; the certificate must parse, cover
//!   `SERVER_HOSTNAME`'s host (exact or one-level wildcard SAN), and the key must be its key (a
//!   key algorithm we cannot read is a warning). Without `tls`, `route.managed = false` is an
//!   error: `tls` can then be neither managed (no Routes) nor unmanaged (the operator requires
//!   `ssl.cert`/`ssl.key` in the bundle for an unmanaged `tls`, §1.3).
//! - `monitoring`: default false.
//! - Hosts (`hosts.rs`): no port in `SERVER_HOSTNAME` with a managed Route; a `tls`
//!   certificate also covers `BUILDMAN_HOSTNAME` when builders are on.
//! - Warnings for `config_yaml` keys a managed component overrides (`overrides.rs`).
//! - `env`: names non-empty, printable ASCII without spaces or `=`; never
//!   `QUAY_DISTRIBUTED_STORAGE_PREFERENCE` (set from `location`).
//! - `secret_mode`: `inline` (default) or `external`; `external` needs `external_secret_name`
//!   (a DNS-1123 subdomain), which is refused in inline mode.

use std::collections::BTreeMap;

use super::files;
use super::hosts;
use super::input::{ClairInput, MirrorInput, QuayInput, RouteInput, SiteInput};
use super::model::{ClairSetup, MAX_REPLICAS, Replicas, SecretMode, Site, Workers};
use super::name::{self, ObjectName};
use super::overrides;
use super::pods::{self, ComponentPods, PodsInput};
use super::render::PREFERENCE_ENV;
use super::shared_config::SharedConfig;
use crate::georep::config::db_uri::DbUri;
use crate::georep::issue::Issue;
use crate::georep::path::FieldPath;
use crate::georep::secret::{Redacted, Secret};

/// `name` when not given.
pub const DEFAULT_NAME: &str = "registry";
/// `quay.replicas` when not given.
pub const DEFAULT_QUAY_REPLICAS: u16 = 2;
/// `mirror.replicas` when not given.
pub const DEFAULT_MIRROR_REPLICAS: u16 = 1;
/// `clair.replicas` when not given.
pub const DEFAULT_CLAIR_REPLICAS: u16 = 1;

/// Checks `input` and builds the validated site.
///
/// `known_clusters` are the provider's `cluster` block keys, when known; `None` skips that
/// check. On success returns the site and the warnings (possibly none).
///
/// # Errors
///
/// When any error is found, every issue found, errors and warnings, in attribute order.
///
/// # Examples
///
/// ```
/// use terraform_provider_quay::georep::site::{validate_site, SiteInput};
///
/// let issues = validate_site(&SiteInput::default(), None).unwrap_err();
/// assert!(issues.iter().any(|i| i.path.to_string() == "config_yaml"));
/// ```
pub fn validate_site(
    input: &SiteInput,
    known_clusters: Option<&[String]>,
) -> Result<(Site, Vec<Issue>), Vec<Issue>> {
    let mut v = Validator::default();
    let cluster = v.cluster(input.cluster.as_deref(), known_clusters);
    let (namespace, name) = v.namespace_and_name(input);
    let config = v.config(input.config_yaml.as_ref());
    let (config_files, file_issues) = files::check(input.config_files.as_ref(), config.as_ref());
    v.issues.extend(file_issues);
    let location = v.location(input.location.as_deref(), config.as_ref());
    let quay_replicas = v.replicas(
        &FieldPath::attr("quay").field("replicas"),
        input.quay.as_ref().and_then(|q| q.replicas),
        DEFAULT_QUAY_REPLICAS,
    );
    let mirror = v.mirror(input.mirror.as_ref());
    let clair = v.clair(input.clair.as_ref(), config.as_ref());
    let pods = v.pods(input, mirror.as_ref(), clair.as_ref());
    let route_managed = input.route.as_ref().and_then(|r| r.managed).unwrap_or(true);
    let tls = v.tls(input.tls.as_ref(), config.as_ref(), route_managed);
    let pair = tls.as_ref().ok().and_then(Option::as_ref);
    v.issues
        .extend(hosts::check(config.as_ref(), route_managed, pair));
    let env = Redacted(v.env(input.env.as_deref()));
    let secret_mode = v.secret_mode(
        input.secret_mode.as_deref(),
        input.external_secret_name.as_deref(),
    );

    let has_errors = v.issues.iter().any(Issue::is_error);
    match (
        cluster,
        namespace,
        name,
        config,
        location,
        quay_replicas,
        mirror,
        clair,
        pods,
        tls,
        secret_mode,
    ) {
        (
            Some(cluster),
            Some(namespace),
            Some(name),
            Some(config),
            Some(location),
            Some(quay_replicas),
            Some(mirror),
            Some(clair),
            Some(pods),
            Ok(tls),
            Some(secret_mode),
        ) if !has_errors => {
            let site = Site {
                cluster,
                namespace,
                name,
                create_namespace: input.create_namespace.unwrap_or(true),
                config,
                config_files,
                location,
                quay_replicas,
                mirror,
                clair,
                pods,
                route_managed,
                tls,
                monitoring: input.monitoring.unwrap_or(false),
                env,
                secret_mode,
            };
            v.issues.extend(overrides::warnings(&site));
            Ok((site, v.issues))
        }
        _ => {
            if !has_errors {
                v.error(
                    FieldPath::root(),
                    "Provider Bug",
                    "validation rejected the site without saying why; this is a bug in \
                     terraform-provider-quay, please report it with your configuration (without \
                     secrets)",
                );
            }
            Err(v.issues)
        }
    }
}

/// Marks a value whose problems were already pushed as issues.
struct Reported;

mod tls_checks;

/// Collects issues while each attribute is checked.
#[derive(Default)]
struct Validator {
    issues: Vec<Issue>,
}

impl Validator {
    /// The site's `namespace` and `name`: labels, not a reserved namespace, and a name short
    /// enough for the names the operator derives from it.
    fn namespace_and_name(
        &mut self,
        input: &SiteInput,
    ) -> (Option<ObjectName>, Option<ObjectName>) {
        let namespace = self.label(
            "namespace",
            input.namespace.as_deref(),
            "Namespace",
            "the Kubernetes namespace of this site, such as quay-enterprise",
        );
        let name = self.label(
            "name",
            Some(input.name.as_deref().unwrap_or(DEFAULT_NAME)),
            "Registry Name",
            "the QuayRegistry name, such as registry",
        );
        let namespace = namespace.filter(|ns| {
            self.allowed(
                "namespace",
                "Reserved Namespace",
                name::reserved_namespace_problem(ns.as_str()),
            )
        });
        let name = name.filter(|n| {
            self.allowed(
                "name",
                "Registry Name Too Long",
                name::registry_name_problem(n.as_str()),
            )
        });
        (namespace, name)
    }

    /// The pod overrides of `quay`, `mirror` and `clair` (`pods.rs`); a component whose own
    /// block failed counts as managed when its input says so.
    fn pods(
        &mut self,
        input: &SiteInput,
        mirror: Option<&Workers>,
        clair: Option<&ClairSetup>,
    ) -> Option<ComponentPods> {
        let mirror_managed = mirror.map_or_else(
            || {
                input
                    .mirror
                    .as_ref()
                    .and_then(|m| m.enabled)
                    .unwrap_or(true)
            },
            |m| matches!(m, Workers::Enabled { .. }),
        );
        let clair_managed = clair.map_or_else(
            || input.clair.as_ref().and_then(|c| c.enabled).unwrap_or(true),
            |c| matches!(c, ClairSetup::Managed { .. }),
        );
        let mut check =
            |block: &'static str, given: Option<PodsInput<'_>>, managed: bool, volumes| {
                let (overrides, issues) =
                    pods::check(block, given.unwrap_or_default(), managed, volumes);
                self.issues.extend(issues);
                overrides
            };
        let quay = check(
            "quay",
            input.quay.as_ref().map(QuayInput::pods),
            true,
            false,
        );
        let mirror = check(
            "mirror",
            input.mirror.as_ref().map(MirrorInput::pods),
            mirror_managed,
            false,
        );
        let clair = check(
            "clair",
            input.clair.as_ref().map(ClairInput::pods),
            clair_managed,
            true,
        );
        let route_managed = input.route.as_ref().and_then(|r| r.managed).unwrap_or(true);
        let route = check(
            "route",
            input.route.as_ref().map(RouteInput::pods),
            route_managed,
            false,
        );
        Some(ComponentPods {
            quay: quay?,
            mirror: mirror?,
            clair: clair?,
            route: route?,
        })
    }

    fn error(&mut self, path: FieldPath, summary: &str, detail: impl Into<String>) {
        self.issues.push(Issue::error(path, summary, detail));
    }

    /// `true` without a `problem`; otherwise reports it at `attr` and returns `false`.
    fn allowed(&mut self, attr: &'static str, summary: &str, problem: Option<String>) -> bool {
        problem
            .map(|detail| self.error(FieldPath::attr(attr), summary, detail))
            .is_none()
    }

    fn warning(&mut self, path: FieldPath, summary: &str, detail: impl Into<String>) {
        self.issues.push(Issue::warning(path, summary, detail));
    }

    fn cluster(&mut self, value: Option<&str>, known: Option<&[String]>) -> Option<String> {
        let path = FieldPath::attr("cluster");
        let Some(cluster) = value.filter(|c| !c.is_empty()) else {
            self.error(
                path,
                "Missing Cluster",
                "cluster is required: set it to the label of one of the provider's cluster \
                 blocks, such as \"us_east\"",
            );
            return None;
        };
        match known {
            Some(known) if !known.iter().any(|k| k == cluster) => {
                let detail = if known.is_empty() {
                    format!(
                        "cluster \"{cluster}\" is not configured: the provider block has no \
                         cluster blocks; add cluster \"{cluster}\" {{ kubeconfig_path = ... }} \
                         to provider \"quay\""
                    )
                } else {
                    format!(
                        "cluster \"{cluster}\" is not one of the provider's clusters ({}); use \
                         one of them or add a cluster \"{cluster}\" block to provider \"quay\"",
                        quoted_list(known)
                    )
                };
                self.error(path, "Unknown Cluster", detail);
                None
            }
            _ => Some(cluster.to_owned()),
        }
    }

    fn label(
        &mut self,
        attr: &'static str,
        value: Option<&str>,
        what: &str,
        example: &str,
    ) -> Option<ObjectName> {
        let path = FieldPath::attr(attr);
        let Some(value) = value else {
            self.error(
                path,
                &format!("Missing {what}"),
                format!("{attr} is required: set it to {example}"),
            );
            return None;
        };
        match ObjectName::label(value) {
            Ok(name) => Some(name),
            Err(err) => {
                self.error(
                    path,
                    &format!("Invalid {what}"),
                    format!(
                        "{attr} {}; use at most 63 lowercase letters, digits or `-`, starting \
                         and ending with a letter or digit",
                        err.phrase()
                    ),
                );
                None
            }
        }
    }

    fn config(&mut self, value: Option<&Secret>) -> Option<SharedConfig> {
        let path = FieldPath::attr("config_yaml");
        let Some(yaml) = value else {
            self.error(
                path,
                "Missing Config",
                "config_yaml is required: set it to data.quay_georep_config.<name>.config_yaml, \
                 the config.yaml every site shares",
            );
            return None;
        };
        match SharedConfig::parse(yaml) {
            Ok(config) => Some(config),
            Err(errors) => {
                for err in errors {
                    let (summary, fix) = err.summary_and_fix();
                    self.error(
                        path.clone(),
                        summary,
                        format!("{}; {fix}", crate::georep::errors::chain(&err)),
                    );
                }
                None
            }
        }
    }

    fn location(&mut self, value: Option<&str>, config: Option<&SharedConfig>) -> Option<String> {
        let path = FieldPath::attr("location");
        let Some(location) = value.filter(|l| !l.is_empty()) else {
            self.error(
                path,
                "Missing Location",
                "location is required: set it to this site's storage location, one of the \
                 storage block labels of data.quay_georep_config, such as \"us_east\"",
            );
            return None;
        };
        let config = config?;
        if config.locations().iter().any(|l| l == location) {
            Some(location.to_owned())
        } else {
            self.error(
                path,
                "Unknown Storage Location",
                format!(
                    "location \"{location}\" is not a storage location of config_yaml (its \
                     locations: {}); use one of them, or add a storage \"{location}\" block to \
                     data.quay_georep_config",
                    quoted_list(config.locations())
                ),
            );
            None
        }
    }

    fn replicas(&mut self, path: &FieldPath, value: Option<i64>, default: u16) -> Option<Replicas> {
        let Some(value) = value else {
            return Some(Replicas(default));
        };
        match u16::try_from(value) {
            Ok(count) if count <= MAX_REPLICAS => Some(Replicas(count)),
            _ if value < 0 => {
                self.error(
                    path.clone(),
                    "Invalid Replicas",
                    format!("{path} is {value}; use 0 (scaled down) or more"),
                );
                None
            }
            _ => {
                self.error(
                    path.clone(),
                    "Too Many Replicas",
                    format!(
                        "{path} is {value}, more than {MAX_REPLICAS} pods on one site; use a \
                         count from 0 to {MAX_REPLICAS}"
                    ),
                );
                None
            }
        }
    }

    fn mirror(&mut self, value: Option<&MirrorInput>) -> Option<Workers> {
        let path = FieldPath::attr("mirror");
        let enabled = value.and_then(|m| m.enabled).unwrap_or(true);
        let replicas = value.and_then(|m| m.replicas);
        if !enabled {
            if replicas.is_some() {
                self.ignored_replicas(path.field("replicas"), "mirror");
            }
            return Some(Workers::Disabled);
        }
        let replicas = self.replicas(&path.field("replicas"), replicas, DEFAULT_MIRROR_REPLICAS)?;
        Some(Workers::Enabled { replicas })
    }

    fn ignored_replicas(&mut self, path: FieldPath, block: &str) {
        self.warning(
            path,
            "Replicas Ignored",
            format!(
                "{block}.replicas has no effect while {block}.enabled is false; remove it, or \
                 enable {block}"
            ),
        );
    }

    fn clair(
        &mut self,
        value: Option<&ClairInput>,
        config: Option<&SharedConfig>,
    ) -> Option<ClairSetup> {
        let path = FieldPath::attr("clair");
        let explicit = value.and_then(|c| c.enabled);
        let scanner_keys = config.map(SharedConfig::security_scanner_keys);
        if explicit == Some(true)
            && let Some(keys) = scanner_keys.filter(|keys| !keys.is_empty())
        {
            self.error(
                path.clone().field("enabled"),
                "Clair Configured Twice",
                format!(
                    "config_yaml names a global Clair ({}), and the operator refuses a managed \
                     Clair next to those keys (ConfigInvalid); set clair {{ enabled = false }} \
                     on this site to use the global Clair, or remove the clair block from \
                     data.quay_georep_config to run Clair on every site",
                    keys.join(", ")
                ),
            );
            return None;
        }
        // Without a parsed config the default is unknown; the config's own issue is reported.
        let enabled = explicit.or_else(|| scanner_keys.map(<[_]>::is_empty))?;
        let database_uri = value.and_then(|c| c.database_uri.as_ref());
        let replicas = value.and_then(|c| c.replicas);
        if !enabled {
            if replicas.is_some() {
                self.ignored_replicas(path.clone().field("replicas"), "clair");
            }
            if database_uri.is_some() {
                self.warning(
                    path.field("database_uri"),
                    "Clair Database Ignored",
                    "clair.database_uri has no effect while Clair is disabled on this site; \
                     remove it, or set clair { enabled = true }",
                );
            }
            return Some(ClairSetup::Disabled);
        }
        let replicas = self.replicas(
            &path.clone().field("replicas"),
            replicas,
            DEFAULT_CLAIR_REPLICAS,
        );
        let database_uri = match database_uri {
            None => {
                let at = if value.is_some() {
                    path.field("database_uri")
                } else {
                    path
                };
                self.error(
                    at,
                    "Missing Clair Database",
                    "Clair runs on this site and needs the Clair database every site shares: \
                     set clair { database_uri = \"postgresql://USER:PASSWORD@HOST:5432/clair\" }, \
                     or clair { enabled = false } when the config names a global Clair or no \
                     scanning is wanted",
                );
                None
            }
            Some(uri) => match DbUri::parse(uri) {
                Ok(uri) if config.and_then(SharedConfig::database) == Some(uri.database()) => {
                    self.error(
                        path.field("database_uri"),
                        "Clair Database Is Quay's",
                        format!(
                            "clair.database_uri points at {}, the database in config_yaml's \
                             DB_URI; Clair's migrations would write into Quay's schema: give \
                             Clair a database of its own, such as .../clair",
                            uri.database()
                        ),
                    );
                    None
                }
                Ok(uri) => Some(uri),
                Err(err) => {
                    self.error(
                        path.field("database_uri"),
                        "Invalid Clair Database URI",
                        format!(
                            "clair.database_uri: {err}; set it to the shared Clair database, \
                             such as postgresql://USER:PASSWORD@HOST:5432/clair"
                        ),
                    );
                    None
                }
            },
        };
        Some(ClairSetup::Managed {
            replicas: replicas?,
            database_uri: database_uri?,
        })
    }

    fn env(&mut self, value: Option<&BTreeMap<String, String>>) -> BTreeMap<String, String> {
        let path = FieldPath::attr("env");
        let mut env = BTreeMap::new();
        for (name, value) in value.into_iter().flatten() {
            if name == PREFERENCE_ENV {
                self.error(
                    path.clone().key(name.clone()),
                    "Managed Environment Variable",
                    format!(
                        "env sets {PREFERENCE_ENV}, which this site sets itself from location \
                         (this location first, then the default locations); remove it from \
                         env and set location instead"
                    ),
                );
            } else if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b'=') {
                self.error(
                    path.clone().key(name.clone()),
                    "Invalid Environment Variable Name",
                    format!(
                        "env name {name:?} is not a valid variable name; use printable \
                         characters without spaces or `=`, such as DEBUGLOG"
                    ),
                );
            } else {
                env.insert(name.clone(), value.clone());
            }
        }
        env
    }

    fn secret_mode(&mut self, mode: Option<&str>, external: Option<&str>) -> Option<SecretMode> {
        match (mode.unwrap_or("inline"), external) {
            ("inline", None) => Some(SecretMode::Inline),
            ("inline", Some(_)) => {
                self.error(
                    FieldPath::attr("external_secret_name"),
                    "External Secret Name Without External Mode",
                    "external_secret_name is only used with secret_mode = \"external\"; set \
                     that, or remove external_secret_name to render the bundle Secret inline",
                );
                None
            }
            ("external", None) => {
                self.error(
                    FieldPath::attr("secret_mode"),
                    "Missing External Secret Name",
                    "secret_mode = \"external\" leaves the config bundle Secret out, so the \
                     QuayRegistry must name yours: set external_secret_name to the Secret your \
                     SealedSecret or ExternalSecret creates",
                );
                None
            }
            ("external", Some(name)) => match ObjectName::subdomain(name) {
                Ok(name) => Some(SecretMode::External { name }),
                Err(err) => {
                    self.error(
                        FieldPath::attr("external_secret_name"),
                        "Invalid External Secret Name",
                        format!(
                            "external_secret_name {}; use a Kubernetes Secret name (lowercase \
                             letters, digits, `-` and `.`)",
                            err.phrase()
                        ),
                    );
                    None
                }
            },
            (other, _) => {
                self.error(
                    FieldPath::attr("secret_mode"),
                    "Invalid Secret Mode",
                    format!("secret_mode is \"{other}\"; use \"inline\" or \"external\""),
                );
                None
            }
        }
    }
}

/// `"a", "b", "c"`.
fn quoted_list(items: &[String]) -> String {
    items
        .iter()
        .map(|item| format!("\"{item}\""))
        .collect::<Vec<_>>()
        .join(", ")
}
