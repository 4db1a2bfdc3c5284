//! Host checks the operator or OpenShift would fail on, made at plan time.
//!
//! - A managed Route takes `SERVER_HOSTNAME` as its `spec.host`, and a Route host is a DNS
//!   name without a port: OpenShift refuses `quay.example.com:8443`, so the operator cannot
//!   create the Route and the site never converges. Refused when `route.managed` is true.
//! - With builders enabled (`FEATURE_BUILD_SUPPORT: true` and `BUILDMAN_HOSTNAME`), the operator
//!   checks the user's certificate against the build manager's host too (upstream
//!   `pkg/kustomize/secrets.go`, `EnsureTLSFor`: `SERVER_HOSTNAME` and `BUILDMAN_HOSTNAME`
//!   without its port) and blocks the rollout with `ComponentCreationFailed` when it does not
//!   cover it. Refused when a `tls` block is given.
//!
//! Pure: the checked inputs in, issues out.

use serde_json::Value;

use super::model::TlsPair;
use super::shared_config::SharedConfig;
use crate::georep::config::hostname::HostPort;
use crate::georep::issue::Issue;
use crate::georep::path::FieldPath;

/// The issues of a site's hosts; empty when they can work.
pub(super) fn check(
    config: Option<&SharedConfig>,
    route_managed: bool,
    tls: Option<&TlsPair>,
) -> Vec<Issue> {
    let Some(config) = config else {
        return Vec::new();
    };
    let mut issues = Vec::new();
    let server = config.server_hostname();
    if route_managed && let Some(port) = server.port() {
        issues.push(Issue::error(
            FieldPath::attr("config_yaml"),
            "Server Hostname With Port Cannot Be a Route Host",
            format!(
                "SERVER_HOSTNAME is {server}, with port {port}, and a managed Route serves it \
                 as its host, which OpenShift refuses with a port (Routes listen on 443); use \
                 server_hostname = \"{host}\" in data.quay_georep_config, or set route {{ \
                 managed = false }} with a tls block and serve {server} with your own load \
                 balancer",
                host = server.host()
            ),
        ));
    }
    if let (Some(tls), Some(buildman)) = (tls, build_manager(config)) {
        let host = buildman.host();
        if !tls.certificate().covers(host) {
            issues.push(Issue::error(
                FieldPath::attr("tls").field("certificate"),
                "TLS Certificate Does Not Cover Build Manager Hostname",
                format!(
                    "builders are enabled with BUILDMAN_HOSTNAME {buildman}, and the operator \
                     checks the certificate against that host too (it would block the rollout \
                     with ComponentCreationFailed, \"provided certificate pair not valid for \
                     host '{host}'\"); the certificate is valid for {}; add {host} to its \
                     subject alternative names, or use a wildcard that covers both hosts",
                    names(tls)
                ),
            ));
        }
    }
    issues
}

/// `BUILDMAN_HOSTNAME` when builders are on.
fn build_manager(config: &SharedConfig) -> Option<HostPort> {
    if config.value("FEATURE_BUILD_SUPPORT") != Some(Value::Bool(true)) {
        return None;
    }
    let text = config.value("BUILDMAN_HOSTNAME")?;
    HostPort::parse(text.as_str()?).ok()
}

fn names(tls: &TlsPair) -> String {
    let names = tls.certificate().names();
    if names.is_empty() {
        "no subject alternative name".to_owned()
    } else {
        names.join(", ")
    }
}
