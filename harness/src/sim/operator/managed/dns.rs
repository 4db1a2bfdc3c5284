//! The cluster's name table for the services the model stands in for: what cluster DNS and
//! a Service give a pod, reduced to "this Service name and port reach that server".
//!
//! A managed database or Redis Service (`<n>-quay-database`, `<n>-clair-postgres`,
//! `<n>-quay-redis`) is entered once its pod is running and removed when that pod goes (a
//! Service without ready endpoints refuses connections; here the name does not resolve,
//! which fails the same checks), and
//! NooBaa's S3 Service `s3.openshift-storage.svc` when the bucket provisioner runs. Names
//! resolve as a pod's resolver does: `x` in the pod's namespace, `x.ns`, `x.ns.svc` and
//! `x.ns.svc.cluster.local`.
//!
//! The simulated pods and the migration Job see their config through [`ClusterDns::resolve_bundle`]:
//! `DB_URI`, `BUILDLOGS_REDIS`/`USER_EVENTS_REDIS` and the storage hosts rewritten to the
//! server behind the name. Not modelled: TLS (NooBaa's endpoint is HTTPS on port 443; the
//! site's S3 server behind it speaks HTTP), ClusterIPs, and names of Services the model does
//! not stand in for (they do not resolve, so a pod's checks fail on them as on a cluster
//! where nothing listens).

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use serde_json::{Value, json};

use crate::quay::Bundle;
use crate::services::secret::Secret;

/// The server behind a Service port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Host to connect to.
    pub host: String,
    /// Port to connect to.
    pub port: u16,
    /// The password the server behind the name asks for where the managed image asks for
    /// none (the Redis image runs without `requirepass`; the backing Redis has one).
    pub password: Option<Secret>,
    /// Whether the server speaks plain HTTP behind a Service the clients reach over HTTPS.
    pub plain_http: bool,
}

/// Service name and port → server, and the pod that stands for it; shared by the
/// controllers of one model.
#[derive(Debug, Default)]
pub struct ClusterDns(Mutex<BTreeMap<(String, u16), (Endpoint, String)>>);

/// The fully qualified name of `name` as seen from a pod in `namespace`.
#[must_use]
pub fn qualify(name: &str, namespace: &str) -> String {
    let name = name.trim_end_matches('.');
    match name.matches('.').count() {
        0 => format!("{name}.{namespace}.svc.cluster.local"),
        1 => format!("{name}.svc.cluster.local"),
        2 if name.ends_with(".svc") => format!("{name}.cluster.local"),
        _ => name.to_owned(),
    }
}

impl ClusterDns {
    /// Enters Service `name` in `namespace` on `port`, served by pod `backer` (its
    /// endpoint: the name goes when that pod goes, [`ClusterDns::forget_pod`]).
    pub fn register(
        &self,
        name: &str,
        namespace: &str,
        port: u16,
        endpoint: Endpoint,
        backer: &str,
    ) {
        self.lock().insert(
            (qualify(name, namespace), port),
            (endpoint, backer.to_owned()),
        );
    }

    /// Removes the names pod `pod` in `namespace` stood for (a Service without ready
    /// endpoints refuses connections).
    pub fn forget_pod(&self, namespace: &str, pod: &str) {
        let suffix = format!(".{namespace}.svc.cluster.local");
        self.lock()
            .retain(|(fqdn, _), (_, backer)| !(backer == pod && fqdn.ends_with(&suffix)));
    }

    /// Removes every port of Service `name` in `namespace`.
    pub fn remove(&self, name: &str, namespace: &str) {
        let fqdn = qualify(name, namespace);
        self.lock().retain(|(n, _), _| *n != fqdn);
    }

    /// The server behind `host:port` for a pod in `namespace`, if the name is a Service the
    /// model stands in for.
    #[must_use]
    pub fn resolve(&self, host: &str, port: u16, namespace: &str) -> Option<Endpoint> {
        self.lock()
            .get(&(qualify(host, namespace), port))
            .map(|(e, _)| e.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, u16), (Endpoint, String)>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `bundle` as a pod in `namespace` reaches its services: every host the table knows
    /// replaced by the server behind it.
    #[must_use]
    pub fn resolve_bundle(&self, bundle: &Bundle, namespace: &str) -> Bundle {
        let mut out = bundle.clone();
        let config = &mut out.config;
        if let Some(uri) = config.get("DB_URI").and_then(Value::as_str)
            && let Some(resolved) = self.resolve_db_uri(uri, namespace)
        {
            config.insert("DB_URI".to_owned(), json!(resolved));
        }
        for key in ["BUILDLOGS_REDIS", "USER_EVENTS_REDIS"] {
            if let Some(redis) = config.get_mut(key).and_then(Value::as_object_mut) {
                let host = redis
                    .get("host")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let port = redis
                    .get("port")
                    .and_then(Value::as_u64)
                    .and_then(|p| u16::try_from(p).ok())
                    .unwrap_or(6379);
                if let Some(e) = self.resolve(host, port, namespace) {
                    redis.insert("host".to_owned(), json!(e.host));
                    redis.insert("port".to_owned(), json!(e.port));
                    let no_password = redis.get("password").is_none_or(Value::is_null);
                    if let (true, Some(p)) = (no_password, &e.password) {
                        redis.insert("password".to_owned(), json!(p.expose()));
                    }
                }
            }
        }
        if let Some(storage) = config
            .get_mut("DISTRIBUTED_STORAGE_CONFIG")
            .and_then(Value::as_object_mut)
        {
            for entry in storage.values_mut() {
                let Some(args) = entry.get_mut(1).and_then(Value::as_object_mut) else {
                    continue;
                };
                let key = if args.contains_key("hostname") {
                    "hostname"
                } else {
                    "host"
                };
                let host = args.get(key).and_then(Value::as_str).unwrap_or_default();
                let secure = args
                    .get("is_secure")
                    .and_then(Value::as_bool)
                    .unwrap_or(true);
                let port = args
                    .get("port")
                    .and_then(Value::as_u64)
                    .and_then(|p| u16::try_from(p).ok())
                    .unwrap_or(if secure { 443 } else { 80 });
                if let Some(e) = self.resolve(host, port, namespace) {
                    args.insert(key.to_owned(), json!(e.host));
                    args.insert("port".to_owned(), json!(e.port));
                    if e.plain_http {
                        args.insert("is_secure".to_owned(), json!(false));
                    }
                }
            }
        }
        out
    }

    /// `uri` (`postgresql://user:password@host:port/db`) with its host and port replaced by
    /// the server behind them; `None` when the table does not know the host.
    #[must_use]
    pub fn resolve_db_uri(&self, uri: &str, namespace: &str) -> Option<String> {
        let (scheme, rest) = uri.split_once("://")?;
        let after_user = rest.rfind('@').map_or(0, |i| i + 1);
        let path_at = rest[after_user..]
            .find(['/', '?'])
            .map_or(rest.len(), |i| after_user + i);
        let (userinfo, hostport, path) = (
            &rest[..after_user],
            &rest[after_user..path_at],
            &rest[path_at..],
        );
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().ok()?),
            None => (hostport, 5432),
        };
        let e = self.resolve(host, port, namespace)?;
        Some(format!("{scheme}://{userinfo}{}:{}{path}", e.host, e.port))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(port: u16) -> Endpoint {
        Endpoint {
            host: "127.0.0.1".into(),
            port,
            password: None,
            plain_http: false,
        }
    }

    #[test]
    fn short_names_resolve_in_the_pods_namespace_only() {
        let dns = ClusterDns::default();
        dns.register("reg-quay-database", "ns1", 5432, endpoint(15432), "pod-a");
        assert_eq!(
            dns.resolve("reg-quay-database", 5432, "ns1"),
            Some(endpoint(15432))
        );
        assert_eq!(
            dns.resolve("reg-quay-database.ns1.svc.cluster.local", 5432, "other"),
            Some(endpoint(15432))
        );
        assert_eq!(dns.resolve("reg-quay-database", 5432, "other"), None);
        assert_eq!(dns.resolve("reg-quay-database", 5433, "ns1"), None);
        dns.remove("reg-quay-database", "ns1");
        assert_eq!(dns.resolve("reg-quay-database", 5432, "ns1"), None);
    }

    #[test]
    fn a_name_goes_with_the_pod_behind_it_not_with_an_older_one() {
        let dns = ClusterDns::default();
        dns.register("db", "ns", 5432, endpoint(1), "db-old-0");
        dns.register("db", "ns", 5432, endpoint(2), "db-new-0");
        dns.forget_pod("ns", "db-old-0");
        assert_eq!(dns.resolve("db", 5432, "ns"), Some(endpoint(2)));
        dns.forget_pod("other", "db-new-0");
        assert_eq!(dns.resolve("db", 5432, "ns"), Some(endpoint(2)));
        dns.forget_pod("ns", "db-new-0");
        assert_eq!(dns.resolve("db", 5432, "ns"), None);
    }

    #[test]
    fn a_db_uri_keeps_its_credentials_and_database() {
        let dns = ClusterDns::default();
        dns.register("reg-quay-database", "ns", 5432, endpoint(15432), "p");
        assert_eq!(
            dns.resolve_db_uri(
                "postgresql://u:p@reg-quay-database:5432/reg-quay-database",
                "ns"
            )
            .as_deref(),
            Some("postgresql://u:p@127.0.0.1:15432/reg-quay-database")
        );
        assert_eq!(
            dns.resolve_db_uri("postgresql://u:p@elsewhere:5432/db", "ns"),
            None
        );
    }
}
