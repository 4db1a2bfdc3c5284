//! What a managed database or Redis pod does when it starts, on the backing servers.
//!
//! A database pod (`postgres`, `clair-postgres`) waits while the PVC it mounts is not
//! `Bound` (the scheduler holds a pod whose claim is unbound), reads `POSTGRESQL_USER`,
//! `POSTGRESQL_PASSWORD` and `POSTGRESQL_DATABASE` from the Secret its env names, and does
//! what the sclorg image's start scripts do: create the role with that password (or set the
//! password again), create the database owned by it, and for Quay's database run
//! `create-extensions.sh` (`CREATE EXTENSION IF NOT EXISTS pg_trgm`;
//! `kustomize/components/postgres/create-extensions.sh`). Then its Service resolves to the
//! backing server ([`super::dns`]). A Redis pod enters its Service at once.
//!
//! On the shared server a database is marked with the pod's owner (`COMMENT ON DATABASE`,
//! `<site>/<namespace>/<deployment>`); a database already marked for another owner fails
//! the pod, so two registries never share one by accident.

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret};
use kube::api::Api;
use serde_json::Value;
use tokio_postgres::NoTls;

use super::BackingServices;
use super::dns::Endpoint;
use crate::services::postgres::pg_error;

/// How a managed pod's start went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// Running and ready.
    Ready,
    /// Not started: waiting for this.
    Waiting(String),
    /// Exited with this message.
    Failed(String),
}

/// The superuser's name on the backing server, and its maintenance database.
const RESERVED: &str = "postgres";

/// Starts pod `pod` of `deployment` (component `component`, pod template `template`) in
/// `namespace` of `site`.
#[allow(
    clippy::too_many_arguments,
    reason = "what a kubelet knows of the pod it starts, each one a plain value"
)]
pub async fn start(
    client: &kube::Client,
    backing: &BackingServices,
    site: &str,
    namespace: &str,
    pod: &str,
    deployment: &str,
    component: &str,
    template: &Value,
) -> Start {
    match component {
        "redis" => {
            backing.dns.register(
                deployment,
                namespace,
                6379,
                Endpoint {
                    host: backing.redis.host.clone(),
                    port: backing.redis.port,
                    password: Some(backing.redis.password.clone()),
                    plain_http: false,
                },
                pod,
            );
            Start::Ready
        }
        "postgres" | "clair-postgres" => {
            match database(
                client, backing, site, namespace, deployment, component, template,
            )
            .await
            {
                Ok(None) => {
                    backing.dns.register(
                        deployment,
                        namespace,
                        5432,
                        Endpoint {
                            host: backing.postgres.host.clone(),
                            port: backing.postgres.port,
                            password: None,
                            plain_http: false,
                        },
                        pod,
                    );
                    Start::Ready
                }
                Ok(Some(waiting)) => Start::Waiting(waiting),
                Err(message) => Start::Failed(message),
            }
        }
        _ => Start::Ready,
    }
}

/// `Ok(Some(why))`: still waiting; `Ok(None)`: provisioned.
async fn database(
    client: &kube::Client,
    backing: &BackingServices,
    site: &str,
    namespace: &str,
    deployment: &str,
    component: &str,
    template: &Value,
) -> Result<Option<String>, String> {
    let spec = &template["spec"];
    let claim = spec["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|v| v["persistentVolumeClaim"]["claimName"].as_str());
    if let Some(claim) = claim {
        let pvc = Api::<PersistentVolumeClaim>::namespaced(client.clone(), namespace)
            .get_opt(claim)
            .await
            .map_err(|e| format!("read persistentvolumeclaim {claim}: {e}"))?;
        let phase = pvc
            .as_ref()
            .and_then(|p| p.status.as_ref())
            .and_then(|s| s.phase.clone());
        if phase.as_deref() != Some("Bound") {
            return Ok(Some(format!(
                "pod has unbound immediate PersistentVolumeClaims: {claim}"
            )));
        }
    }
    let container = &spec["containers"][0];
    let mut values = std::collections::BTreeMap::new();
    for e in container["env"].as_array().into_iter().flatten() {
        let (Some(name), Some(secret), Some(key)) = (
            e["name"].as_str(),
            e["valueFrom"]["secretKeyRef"]["name"].as_str(),
            e["valueFrom"]["secretKeyRef"]["key"].as_str(),
        ) else {
            if let (Some(name), Some(value)) = (e["name"].as_str(), e["value"].as_str()) {
                values.insert(name.to_owned(), value.to_owned());
            }
            continue;
        };
        let found = Api::<Secret>::namespaced(client.clone(), namespace)
            .get_opt(secret)
            .await
            .map_err(|e| format!("read secret {secret}: {e}"))?
            .and_then(|s| s.data)
            .and_then(|d| {
                d.get(key)
                    .map(|v| String::from_utf8_lossy(&v.0).into_owned())
            });
        let Some(value) = found else {
            return Err(format!(
                "CreateContainerConfigError: couldn't find key {key} in Secret {namespace}/{secret}"
            ));
        };
        values.insert(name.to_owned(), value);
    }
    let get = |k: &str| values.get(k).cloned().unwrap_or_default();
    let (mut user, password, mut name) = (
        get("POSTGRESQL_USER"),
        get("POSTGRESQL_PASSWORD"),
        get("POSTGRESQL_DATABASE"),
    );
    if user.is_empty() || password.is_empty() || name.is_empty() {
        return Err(
            "For general container run, you must either specify the following \
                    environment variables: POSTGRESQL_USER POSTGRESQL_PASSWORD \
                    POSTGRESQL_DATABASE"
                .to_owned(),
        );
    }
    if user == RESERVED {
        user = deployment.to_owned();
    }
    if name == RESERVED {
        name = deployment.to_owned();
    }
    let owner = format!("{site}/{namespace}/{deployment}");
    provision(
        backing,
        &user,
        &password,
        &name,
        &owner,
        component == "postgres",
    )
    .await
    .map(|()| None)
}

fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

async fn connect(uri: &str, database: &str) -> Result<tokio_postgres::Client, String> {
    let mut config: tokio_postgres::Config = uri
        .parse()
        .map_err(|e: tokio_postgres::Error| format!("backing postgres URI: {}", pg_error(&e)))?;
    config.dbname(database);
    let (client, connection) = config
        .connect(NoTls)
        .await
        .map_err(|e| format!("connect to the backing postgres: {}", pg_error(&e)))?;
    tokio::spawn(connection);
    Ok(client)
}

async fn provision(
    backing: &BackingServices,
    user: &str,
    password: &str,
    database: &str,
    owner: &str,
    pg_trgm: bool,
) -> Result<(), String> {
    let uri = backing.postgres.superuser_uri.expose();
    let admin = connect(uri, RESERVED).await?;
    let sql = |e: tokio_postgres::Error| pg_error(&e);
    let marked: Option<Option<String>> = admin
        .query_opt(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
            &[&database],
        )
        .await
        .map_err(sql)?
        .map(|row| row.get(0));
    if let Some(other) = marked.as_ref().filter(|m| m.as_deref() != Some(owner)) {
        return Err(format!(
            "database {database} on the backing server belongs to {}, not {owner}",
            other.as_deref().unwrap_or("nobody the model knows")
        ));
    }
    let role_exists = admin
        .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&user])
        .await
        .map_err(sql)?
        .is_some();
    let verb = if role_exists { "ALTER" } else { "CREATE" };
    admin
        .batch_execute(&format!(
            "{verb} ROLE {} LOGIN PASSWORD {}",
            ident(user),
            literal(password)
        ))
        .await
        .map_err(sql)?;
    if marked.is_none() {
        // CREATE DATABASE cannot run in the implicit transaction of a multi-statement query.
        admin
            .batch_execute(&format!(
                "CREATE DATABASE {} OWNER {}",
                ident(database),
                ident(user)
            ))
            .await
            .map_err(sql)?;
        admin
            .batch_execute(&format!(
                "COMMENT ON DATABASE {} IS {}",
                ident(database),
                literal(owner)
            ))
            .await
            .map_err(sql)?;
    }
    if pg_trgm {
        connect(uri, database)
            .await?
            .batch_execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            .await
            .map_err(sql)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_literals_are_quoted() {
        assert_eq!(ident("reg-quay-database"), "\"reg-quay-database\"");
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(literal("it's"), "'it''s'");
    }
}
