//! One `cluster` block: its schema, its model, and the check that it names exactly one way to
//! reach the cluster, as the kubernetes and helm providers offer them:
//!
//! - a kubeconfig: `kubeconfig_path` or `kubeconfig_content`, with an optional `context`;
//! - the API server's address and credentials: `host`, `cluster_ca_certificate`,
//!   `tls_server_name`, `proxy_url`, and one of `token`, `client_certificate` + `client_key`
//!   or an `exec` block;
//! - `in_cluster = true`: the service account of the pod the provider runs in;
//! - none of these: the kubeconfig files `KUBE_CONFIG_PATH`, else `KUBECONFIG`, lists
//!   (colon-separated, merged as kubectl merges them), with an optional `context`.
//!
//! Credentials (`token`, `client_key`, `kubeconfig_content`, `exec.env`) are sensitive in the
//! schema, redacted in `Debug`, and never quoted in a diagnostic.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use serde_json::{Value as Json, json};

use crate::cluster::{ClusterSpec, Credentials, DirectAccess, ExecPlugin, KubeconfigSource};
use crate::georep::secret::Secret;
use crate::resources::model::{Attr, Field};
use crate::tfvalue::{
    Attribute, AttributePath, Block, Diagnostic, Diagnostics, NestedBlock, Type, Value,
};

/// The `ExecCredential` API versions kube-rs accepts from a plugin.
const EXEC_API_VERSIONS: [&str; 2] = [
    "client.authentication.k8s.io/v1",
    "client.authentication.k8s.io/v1beta1",
];

/// The schema of one `cluster` block.
pub(super) fn cluster_block() -> Block {
    let exec = Block::new(
        "a client-go credential plugin that prints an ExecCredential, as for EKS \
         (`aws eks get-token`), GKE (`gke-gcloud-auth-plugin`) or AKS (`kubelogin`); needs host; \
         it runs once per Terraform operation with stdin closed and at most 60 seconds, so one \
         that asks for input must be logged in beforehand",
    )
    .attribute(
        Attribute::required("api_version", Type::String).description(
            "the ExecCredential API version: client.authentication.k8s.io/v1 or v1beta1",
        ),
    )
    .attribute(
        Attribute::required("command", Type::String)
            .description("the plugin: a path, or a command looked up on PATH"),
    )
    .attribute(
        Attribute::optional("args", Type::list(Type::String)).description("the plugin's arguments"),
    )
    .attribute(
        Attribute::optional("env", Type::map(Type::String))
            .sensitive()
            .description("environment variables added for the plugin"),
    );
    Block::new(
        "a Kubernetes or OpenShift cluster that hosts one site, named by the block label, which \
         resources refer to in their `cluster` argument; give exactly one way to reach it: \
         kubeconfig_path, kubeconfig_content, host (with token, client_certificate and \
         client_key, or exec), or in_cluster = true; with none, the kubeconfig files that \
         KUBE_CONFIG_PATH, else KUBECONFIG, lists (colon-separated, merged as kubectl does)",
    )
    .attribute(
        Attribute::optional("kubeconfig_path", Type::String)
            .description("path of a kubeconfig file"),
    )
    .attribute(
        Attribute::optional("kubeconfig_content", Type::String)
            .sensitive()
            .description("kubeconfig YAML"),
    )
    .attribute(Attribute::optional("context", Type::String).description(
        "kubeconfig context to use with kubeconfig_path, kubeconfig_content or the \
         KUBE_CONFIG_PATH/KUBECONFIG files; default: the kubeconfig's current context",
    ))
    .attribute(
        Attribute::optional("host", Type::String)
            .description("the API server's URL, such as https://api.example.com:6443"),
    )
    .attribute(
        Attribute::optional("cluster_ca_certificate", Type::String).description(
            "PEM of the CA that signed the API server's certificate; default: the system's roots",
        ),
    )
    .attribute(
        Attribute::optional("token", Type::String)
            .sensitive()
            .description("a bearer token, such as a service account's; needs host"),
    )
    .attribute(
        Attribute::optional("client_certificate", Type::String)
            .description("PEM of a client certificate; needs host and client_key"),
    )
    .attribute(
        Attribute::optional("client_key", Type::String)
            .sensitive()
            .description("PEM of the client certificate's private key"),
    )
    .attribute(
        Attribute::optional("tls_server_name", Type::String).description(
            "the name to check the API server's certificate against, when it differs from host",
        ),
    )
    .attribute(
        Attribute::optional("proxy_url", Type::String)
            .description("an http, https or socks5 proxy to reach the API server through"),
    )
    .attribute(Attribute::optional("in_cluster", Type::Bool).description(
        "use the service account of the pod the provider runs in (its mounted token and the \
         KUBERNETES_SERVICE_HOST address)",
    ))
    .block(NestedBlock::single("exec", exec))
}

/// One `cluster` block as written. `Debug` redacts the credentials.
#[derive(Clone, Default, PartialEq)]
pub(super) struct ClusterModel {
    kubeconfig_path: Field<String>,
    kubeconfig_content: Field<String>,
    context: Field<String>,
    host: Field<String>,
    cluster_ca_certificate: Field<String>,
    token: Field<String>,
    client_certificate: Field<String>,
    client_key: Field<String>,
    tls_server_name: Field<String>,
    proxy_url: Field<String>,
    in_cluster: Field<bool>,
    exec: Field<ExecModel>,
}

/// An `exec` block as written.
#[derive(Clone, Default, PartialEq)]
struct ExecModel {
    api_version: Field<String>,
    command: Field<String>,
    args: Field<Vec<String>>,
    env: Field<BTreeMap<String, String>>,
}

impl Attr for ExecModel {
    fn from_value(value: &Value) -> Option<Self> {
        value.as_entries()?;
        Some(Self {
            api_version: Field::read(value.get("api_version")),
            command: Field::read(value.get("command")),
            args: Field::read(value.get("args")),
            env: Field::read(value.get("env")),
        })
    }
    fn to_value(&self) -> Value {
        Value::object([
            ("api_version", self.api_version.to_value()),
            ("command", self.command.to_value()),
            ("args", self.args.to_value()),
            ("env", self.env.to_value()),
        ])
    }
    fn to_json(&self) -> Json {
        json!({
            "api_version": self.api_version.to_json(),
            "command": self.command.to_json(),
            "args": self.args.to_json(),
            "env": self.env.to_json(),
        })
    }
}

impl fmt::Debug for ClusterModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterModel")
            .field("kubeconfig_path", &self.kubeconfig_path)
            .field("kubeconfig_content", &self.kubeconfig_content.redacted())
            .field("context", &self.context)
            .field("host", &self.host)
            .field("token", &self.token.redacted())
            .field("client_key", &self.client_key.redacted())
            .field("in_cluster", &self.in_cluster)
            .field("exec", &self.exec.known().map(|e| &e.command))
            .finish_non_exhaustive()
    }
}

impl ClusterModel {
    pub(super) fn read(block: &Value) -> Self {
        Self {
            kubeconfig_path: Field::read(block.get("kubeconfig_path")),
            kubeconfig_content: Field::read(block.get("kubeconfig_content")),
            context: Field::read(block.get("context")),
            host: Field::read(block.get("host")),
            cluster_ca_certificate: Field::read(block.get("cluster_ca_certificate")),
            token: Field::read(block.get("token")),
            client_certificate: Field::read(block.get("client_certificate")),
            client_key: Field::read(block.get("client_key")),
            tls_server_name: Field::read(block.get("tls_server_name")),
            proxy_url: Field::read(block.get("proxy_url")),
            in_cluster: Field::read(block.get("in_cluster")),
            exec: match block.get("exec") {
                Some(Value::Unknown) => Field::Unknown,
                Some(exec) => exec_field(exec),
                None => Field::Null,
            },
        }
    }

    pub(super) fn write(&self) -> Json {
        json!({
            "kubeconfig_path": self.kubeconfig_path.to_json(),
            "kubeconfig_content": self.kubeconfig_content.to_json(),
            "context": self.context.to_json(),
            "host": self.host.to_json(),
            "cluster_ca_certificate": self.cluster_ca_certificate.to_json(),
            "token": self.token.to_json(),
            "client_certificate": self.client_certificate.to_json(),
            "client_key": self.client_key.to_json(),
            "tls_server_name": self.tls_server_name.to_json(),
            "proxy_url": self.proxy_url.to_json(),
            "in_cluster": self.in_cluster.to_json(),
            "exec": self.exec.to_json(),
        })
    }

    /// The names of the arguments Terraform does not know yet (values of resources not
    /// created yet), in schema order; empty when the block can be judged.
    pub(super) fn unknown(&self) -> Vec<&'static str> {
        let mut unknown: Vec<&'static str> = self
            .strings()
            .into_iter()
            .filter(|(_, field)| matches!(field, Field::Unknown))
            .map(|(name, _)| name)
            .collect();
        if matches!(self.in_cluster, Field::Unknown) {
            unknown.push("in_cluster");
        }
        match &self.exec {
            Field::Unknown => unknown.push("exec"),
            Field::Known(exec) => {
                for (name, unknown_here) in [
                    (
                        "exec.api_version",
                        matches!(exec.api_version, Field::Unknown),
                    ),
                    ("exec.command", matches!(exec.command, Field::Unknown)),
                    ("exec.args", matches!(exec.args, Field::Unknown)),
                    ("exec.env", matches!(exec.env, Field::Unknown)),
                ] {
                    if unknown_here {
                        unknown.push(name);
                    }
                }
            }
            Field::Null => {}
        }
        unknown
    }

    fn strings(&self) -> [(&'static str, &Field<String>); 10] {
        [
            ("kubeconfig_path", &self.kubeconfig_path),
            ("kubeconfig_content", &self.kubeconfig_content),
            ("context", &self.context),
            ("host", &self.host),
            ("cluster_ca_certificate", &self.cluster_ca_certificate),
            ("token", &self.token),
            ("client_certificate", &self.client_certificate),
            ("client_key", &self.client_key),
            ("tls_server_name", &self.tls_server_name),
            ("proxy_url", &self.proxy_url),
        ]
    }
}

/// A single nested block reads as an object, or null when absent.
fn exec_field(value: &Value) -> Field<ExecModel> {
    match value {
        Value::Null => Field::Null,
        value => ExecModel::from_value(value).map_or(Field::Null, Field::Known),
    }
}

/// Reads the process environment; tests pass their own.
pub(super) type Env<'a> = &'a dyn Fn(&str) -> Option<OsString>;

/// Checks one block (whose arguments are all known) and returns how to reach the cluster, or
/// pushes errors naming the attribute and what to change.
pub(super) fn check_block(
    label: &str,
    block: &ClusterModel,
    path: &AttributePath,
    env: Env<'_>,
    diags: &mut Diagnostics,
) -> Option<ClusterSpec> {
    let mut check = Check {
        label,
        path,
        diags,
        failed: false,
    };
    let set = |field: &Field<String>| field.known().is_some();
    let direct_attrs: Vec<&'static str> = [
        ("host", set(&block.host)),
        ("cluster_ca_certificate", set(&block.cluster_ca_certificate)),
        ("token", set(&block.token)),
        ("client_certificate", set(&block.client_certificate)),
        ("client_key", set(&block.client_key)),
        ("tls_server_name", set(&block.tls_server_name)),
        ("proxy_url", set(&block.proxy_url)),
        ("exec", block.exec.known().is_some()),
    ]
    .into_iter()
    .filter_map(|(name, is_set)| is_set.then_some(name))
    .collect();
    let ways: Vec<&'static str> = [
        ("kubeconfig_path", set(&block.kubeconfig_path)),
        ("kubeconfig_content", set(&block.kubeconfig_content)),
        (
            direct_attrs.first().copied().unwrap_or("host"),
            !direct_attrs.is_empty(),
        ),
        ("in_cluster", block.in_cluster.known() == Some(&true)),
    ]
    .into_iter()
    .filter_map(|(name, is_set)| is_set.then_some(name))
    .collect();
    if let [first, second, ..] = ways.as_slice() {
        check.error(
            second,
            "Conflicting Cluster Access",
            format!(
                "cluster \"{label}\" gives two ways to reach it, {first} and {second}: keep \
                 exactly one of kubeconfig_path, kubeconfig_content, host (with its \
                 credentials) or in_cluster, and remove the other"
            ),
        );
        return None;
    }
    let context = check.non_empty(&block.context, "context", "name a context or remove it");
    let kubeconfig = match ways.first().copied() {
        Some("kubeconfig_path") => check
            .non_empty(
                &block.kubeconfig_path,
                "kubeconfig_path",
                "give the path of a kubeconfig file",
            )
            .map(|p| KubeconfigSource::Path(expand_home(&p))),
        Some("kubeconfig_content") => check
            .non_empty(
                &block.kubeconfig_content,
                "kubeconfig_content",
                "give the kubeconfig YAML",
            )
            .map(|c| KubeconfigSource::Content(Secret::new(c))),
        Some("in_cluster") => Some(KubeconfigSource::InCluster),
        Some(_) => direct(&mut check, block).map(|d| KubeconfigSource::Direct(Box::new(d))),
        None => from_environment(&mut check, env),
    };
    if context.is_some()
        && matches!(
            kubeconfig,
            Some(KubeconfigSource::Direct(_) | KubeconfigSource::InCluster)
        )
    {
        check.error(
            "context",
            "Context Without Kubeconfig",
            format!(
                "context of cluster \"{label}\" names a kubeconfig context, but the block \
                 reaches the cluster by {}: remove context",
                ways.first().copied().unwrap_or("host")
            ),
        );
    }
    let kubeconfig = kubeconfig?;
    (!check.failed).then_some(ClusterSpec {
        kubeconfig,
        context,
    })
}

struct Check<'a> {
    label: &'a str,
    path: &'a AttributePath,
    diags: &'a mut Diagnostics,
    failed: bool,
}

impl Check<'_> {
    fn error(&mut self, attr: &str, summary: &str, detail: String) {
        let mut path = self.path.clone();
        for part in attr.split('.') {
            path = path.attr(part);
        }
        self.diags
            .push(Diagnostic::error(summary, detail).with_attribute(path));
        self.failed = true;
    }

    /// The value of a set string argument, or an error when it is empty.
    fn non_empty(&mut self, field: &Field<String>, attr: &str, fix: &str) -> Option<String> {
        let value = field.known()?;
        if value.trim().is_empty() {
            let label = self.label;
            self.error(
                attr,
                "Empty Cluster Argument",
                format!("{attr} of cluster \"{label}\" is empty: {fix}"),
            );
            return None;
        }
        Some(value.clone())
    }

    /// A PEM argument: it must hold a block of `kind` (the value itself is never quoted).
    fn pem(&mut self, field: &Field<String>, attr: &str, kind: &str) -> Option<String> {
        let value = self.non_empty(field, attr, &format!("give the PEM of a {kind}"))?;
        if !value.contains("-----BEGIN ") || !value.contains(kind) {
            let label = self.label;
            self.error(
                attr,
                "Invalid PEM",
                format!(
                    "{attr} of cluster \"{label}\" is not PEM holding a {kind}: give the text \
                     starting with -----BEGIN, such as file(\"ca.crt\") or a module output"
                ),
            );
            return None;
        }
        Some(value)
    }
}

/// `host` and its companions.
fn direct(check: &mut Check<'_>, block: &ClusterModel) -> Option<DirectAccess> {
    let label = check.label;
    let Some(host) = block.host.known() else {
        let first = [
            ("cluster_ca_certificate", &block.cluster_ca_certificate),
            ("token", &block.token),
            ("client_certificate", &block.client_certificate),
            ("client_key", &block.client_key),
            ("tls_server_name", &block.tls_server_name),
            ("proxy_url", &block.proxy_url),
        ]
        .into_iter()
        .find(|(_, f)| f.known().is_some())
        .map_or("exec", |(name, _)| name);
        check.error(
            "host",
            "Missing Host",
            format!(
                "cluster \"{label}\" sets {first} but not host: add host = \"https://...\" with \
                 the API server's URL, or remove {first}"
            ),
        );
        return None;
    };
    if !(host.starts_with("https://") || host.starts_with("http://")) {
        check.error(
            "host",
            "Invalid Host",
            format!(
                // Not quoted: a URL may carry `user:password@`.
                "host of cluster \"{label}\" has no http:// or https:// scheme: give the API \
                 server's URL with its scheme, such as https://api.example.com:6443"
            ),
        );
    }
    let ca = check.pem(
        &block.cluster_ca_certificate,
        "cluster_ca_certificate",
        "CERTIFICATE",
    );
    let tls_server_name = check.non_empty(
        &block.tls_server_name,
        "tls_server_name",
        "give a DNS name or remove it",
    );
    let proxy_url = check.non_empty(&block.proxy_url, "proxy_url", "give a URL or remove it");
    if let Some(proxy) = &proxy_url
        && !["http://", "https://", "socks5://"]
            .iter()
            .any(|scheme| proxy.starts_with(scheme))
    {
        check.error(
            "proxy_url",
            "Invalid Proxy URL",
            format!(
                // Not quoted: a proxy URL often carries `user:password@`.
                "proxy_url of cluster \"{label}\" has no http://, https:// or socks5:// scheme: \
                 give the proxy's URL with its scheme"
            ),
        );
    }
    let credentials = credentials(check, block)?;
    Some(DirectAccess {
        host: host.clone(),
        cluster_ca_certificate: ca,
        tls_server_name,
        proxy_url,
        credentials,
    })
}

/// At most one of `token`, `client_certificate` + `client_key`, `exec`.
fn credentials(check: &mut Check<'_>, block: &ClusterModel) -> Option<Credentials> {
    let label = check.label;
    let given: Vec<&str> = [
        ("token", block.token.known().is_some()),
        (
            "client_certificate",
            block.client_certificate.known().is_some() || block.client_key.known().is_some(),
        ),
        ("exec", block.exec.known().is_some()),
    ]
    .into_iter()
    .filter_map(|(name, is_set)| is_set.then_some(name))
    .collect();
    if let [first, second, ..] = given.as_slice() {
        check.error(
            second,
            "Conflicting Credentials",
            format!(
                "cluster \"{label}\" sets both {first} and {second}: keep one way to \
                 authenticate (token, client_certificate with client_key, or exec)"
            ),
        );
        return None;
    }
    match given.first().copied() {
        None => Some(Credentials::Anonymous),
        Some("token") => check
            .non_empty(&block.token, "token", "give the bearer token or remove it")
            .map(|t| Credentials::Token(Secret::new(t))),
        Some("client_certificate") => {
            let (missing, present) =
                match (block.client_certificate.known(), block.client_key.known()) {
                    (Some(_), Some(_)) => ("", ""),
                    (Some(_), None) => ("client_key", "client_certificate"),
                    _ => ("client_certificate", "client_key"),
                };
            if !missing.is_empty() {
                check.error(
                    missing,
                    "Incomplete Client Certificate",
                    format!(
                        "cluster \"{label}\" sets {present} but not {missing}: a client \
                         certificate needs both, so add {missing} or remove {present}"
                    ),
                );
                return None;
            }
            let certificate = check.pem(
                &block.client_certificate,
                "client_certificate",
                "CERTIFICATE",
            );
            let key = check.pem(&block.client_key, "client_key", "PRIVATE KEY");
            Some(Credentials::ClientCertificate {
                certificate: certificate?,
                key: Secret::new(key?),
            })
        }
        Some(_) => exec(check, block.exec.known()?).map(Credentials::Exec),
    }
}

fn exec(check: &mut Check<'_>, exec: &ExecModel) -> Option<ExecPlugin> {
    let label = check.label;
    let command = check.non_empty(
        &exec.command,
        "exec.command",
        "give the credential plugin's command",
    );
    let api_version = exec.api_version.known().cloned().unwrap_or_default();
    if !EXEC_API_VERSIONS.contains(&api_version.as_str()) {
        check.error(
            "exec.api_version",
            "Invalid Exec API Version",
            format!(
                "exec.api_version of cluster \"{label}\" is \"{api_version}\": use {} (the \
                 version the plugin's documentation names)",
                EXEC_API_VERSIONS.join(" or ")
            ),
        );
        return None;
    }
    Some(ExecPlugin {
        api_version,
        command: command?,
        args: exec.args.known().cloned().unwrap_or_default(),
        env: exec
            .env
            .known()
            .map(|env| {
                env.iter()
                    .map(|(k, v)| (k.clone(), Secret::new(v.clone())))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// No way given: the files `KUBE_CONFIG_PATH`, else `KUBECONFIG`, lists.
fn from_environment(check: &mut Check<'_>, env: Env<'_>) -> Option<KubeconfigSource> {
    for variable in ["KUBE_CONFIG_PATH", "KUBECONFIG"] {
        let Some(value) = env(variable) else {
            continue;
        };
        let paths: Vec<_> = std::env::split_paths(&value)
            .filter(|p| !p.as_os_str().is_empty())
            .map(|p| expand_home(&p.to_string_lossy()))
            .collect();
        if !paths.is_empty() {
            return Some(KubeconfigSource::Environment { variable, paths });
        }
    }
    let label = check.label;
    let path = check.path.clone();
    check.diags.push(
        Diagnostic::error(
            "Missing Cluster Access",
            format!(
                "cluster \"{label}\" does not say how to reach it and neither KUBE_CONFIG_PATH \
                 nor KUBECONFIG is set: set kubeconfig_path, kubeconfig_content, host (with \
                 token, client_certificate and client_key, or exec), or in_cluster = true"
            ),
        )
        .with_attribute(path),
    );
    check.failed = true;
    None
}

/// Expands a leading `~/` to the home directory, as kubectl does for `--kubeconfig`.
fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}
