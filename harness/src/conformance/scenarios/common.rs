//! What several scenarios read from a site's cluster: its `QuayRegistry`, the storage
//! preference of a component, conditions, the config hash its quay pods run with, and
//! whether the backend's safety ledger stayed empty.

use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use kube::api::{DynamicObject, ListParams};
use serde_json::Value;

use crate::conformance::context::Context;
use crate::conformance::failure::Failure;
use crate::conformance::target::SiteTarget;
use crate::quay::{COMPONENT_LABEL, CONFIG_HASH_ANNOTATION, quay_registry_resource};
use crate::terraform::{Outputs, Workdir};

/// The name of every site's `QuayRegistry` (the provider's default).
pub const REGISTRY: &str = "registry";

/// The `QuayRegistry` [`REGISTRY`] in `namespace` of `site`.
///
/// # Errors
/// It cannot be read or does not exist.
pub async fn registry(site: &SiteTarget, namespace: &str) -> Result<DynamicObject, Failure> {
    let client = Context::client(site).await?;
    let api: Api<DynamicObject> =
        Api::namespaced_with(client, namespace, &quay_registry_resource());
    api.get_opt(REGISTRY).await?.ok_or_else(|| {
        Failure::new(format!(
            "site {} has no QuayRegistry {namespace}/{REGISTRY}",
            site.name
        ))
    })
}

/// `type=status` of every condition of a `QuayRegistry`'s status.
#[must_use]
pub fn conditions(registry: &Value) -> Vec<String> {
    registry["status"]["conditions"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    format!(
                        "{}={}",
                        c["type"].as_str().unwrap_or_default(),
                        c["status"].as_str().unwrap_or_default()
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The config hash on the pod template of the quay-app Deployment in `namespace`.
///
/// # Errors
/// The Deployments cannot be listed, or none carries the hash.
pub async fn quay_config_hash(site: &SiteTarget, namespace: &str) -> Result<String, Failure> {
    let client = Context::client(site).await?;
    let api: Api<Deployment> = Api::namespaced(client, namespace);
    let list = api
        .list(&ListParams::default().labels(&format!("{COMPONENT_LABEL}=quay-app")))
        .await?;
    crate::quay::config_hash(&list.items).ok_or_else(|| {
        Failure::new(format!(
            "no quay-app Deployment in {namespace} on {} carries {CONFIG_HASH_ANNOTATION}",
            site.name
        ))
    })
}

/// Fails when the backend's safety ledger recorded a violation during this scenario that
/// `allowed` does not accept; notes that it was checked, or that the backend has none.
///
/// # Errors
/// The first violation not allowed.
pub fn ledger_holds_only(
    ctx: &mut Context<'_>,
    allowed: &dyn Fn(&str) -> bool,
) -> Result<(), Failure> {
    let Some(violations) = ctx.new_violations() else {
        ctx.note("safety ledger: not available on this backend, not checked");
        return Ok(());
    };
    ctx.note(format!("safety ledger: {} violations", violations.len()));
    for v in &violations {
        ctx.note(format!("ledger: {v}"));
    }
    match violations.iter().find(|v| !allowed(v)) {
        Some(first) => Err(Failure::new(format!(
            "the safety ledger recorded {} violations, first: {first}",
            violations.len()
        ))),
        None => Ok(()),
    }
}

/// Plans `dir` again and fails when the plan wants any change.
///
/// # Errors
/// The plan fails or wants changes (named).
pub fn nothing_left_to_plan(
    ctx: &mut Context<'_>,
    dir: &std::sync::Arc<Workdir>,
) -> Result<(), Failure> {
    ctx.step("terraform plan again: nothing to do");
    let replan = ctx.plan(dir)?;
    crate::ensure!(
        replan.exit == crate::terraform::PlanExit::NoChanges,
        "a second plan wants changes: {:?}",
        replan
            .events
            .planned_changes()
            .map(|c| format!("{} {:?}", c.address, c.action))
            .collect::<Vec<_>>()
    );
    Ok(())
}

/// How long replication may take to bring a blob to a location.
pub const REPLICATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(90);

/// The blob `digest` from `location`'s bucket, once it is there.
///
/// # Errors
/// The bucket cannot be read, or the blob is not there within [`REPLICATION_TIMEOUT`].
pub async fn wait_for_blob(
    location: &crate::blobs::Location,
    digest: &str,
) -> Result<bytes::Bytes, Failure> {
    Context::until(
        &format!("{digest} in {}", location.name),
        REPLICATION_TIMEOUT,
        async || {
            location
                .get(digest)
                .await
                .map_err(|e| Failure::new(crate::errors::chain(&e)))
        },
    )
    .await
}

/// What site `site`'s quay pods know about storage.
///
/// # Errors
/// The cluster, registry or bundle cannot be read.
pub async fn site_storage(site: &SiteTarget) -> Result<crate::blobs::SiteStorage, Failure> {
    let client = Context::client(site).await?;
    crate::blobs::SiteStorage::read(&site.name, &client)
        .await
        .map_err(|e| Failure::new(crate::errors::chain(&e)))
}

/// Pushes `content` through `through` with the simulated push and waits until the blob is in
/// every one of `locations`; returns it and what `through`'s pods know about storage.
///
/// # Errors
/// The run has no simulated push (a skip), the push failed, or the blob did not reach a
/// location within [`REPLICATION_TIMEOUT`].
pub fn push_replicated(
    ctx: &mut Context<'_>,
    through: &SiteTarget,
    content: &str,
    locations: &[&str],
) -> Result<
    (
        crate::conformance::capability::Pushed,
        crate::blobs::SiteStorage,
    ),
    Failure,
> {
    let push = ctx
        .capabilities()
        .push
        .clone()
        .ok_or_else(|| Failure::skip("needs simulated-push"))?;
    ctx.step(&format!("pushing a blob through {}", through.name));
    let pushed = ctx
        .block_on(push.push(&through.name, content.as_bytes().to_vec()))
        .map_err(|e| Failure::new(format!("push through {}: {e}", through.name)))?;
    let storage = ctx.block_on(async {
        let storage = site_storage(through).await?;
        for location in locations {
            let bucket = storage
                .location(location)
                .map_err(|e| Failure::new(crate::errors::chain(&e)))?;
            wait_for_blob(&bucket, &pushed.digest).await?;
        }
        Ok::<_, Failure>(storage)
    })?;
    ctx.note(format!("{} is in {}", pushed.digest, locations.join(", ")));
    Ok((pushed, storage))
}

/// The config data source's `default_locations` line for `locations`, in that order: the
/// first holds the user files and log archives, which Quay does not replicate, so a scenario
/// that adds or removes a location keeps it where it was.
#[must_use]
pub fn default_locations(locations: &[&str]) -> String {
    let quoted: Vec<String> = locations.iter().map(|l| format!("\"{l}\"")).collect();
    format!("\n  default_locations = [{}]\n", quoted.join(", "))
}

/// [`ledger_holds_only`] with nothing allowed.
///
/// # Errors
/// The first violation.
pub fn ledger_is_empty(ctx: &mut Context<'_>) -> Result<(), Failure> {
    ledger_holds_only(ctx, &|_| false)
}

/// A site's `tls` block reading the files [`write_certificate`] writes.
pub const USER_TLS: &str =
    "  tls {\n    certificate = file(\"site.crt\")\n    private_key = file(\"site.key\")\n  }\n";

/// Writes `site.crt` and `site.key` into `dir`: a self-signed certificate for `hostname`.
///
/// # Errors
/// It could not be generated or written.
pub fn write_certificate(dir: &Workdir, hostname: &str) -> Result<(), Failure> {
    let pair = rcgen::generate_simple_self_signed(vec![hostname.to_owned()])
        .map_err(|e| Failure::new(format!("generate a certificate for {hostname}: {e}")))?;
    dir.write_file("site.crt", &pair.cert.pem())?;
    dir.write_file("site.key", &pair.signing_key.serialize_pem())?;
    Ok(())
}

/// The value of output `name`.
///
/// # Errors
/// There is no such output.
pub fn output<'a>(outputs: &'a Outputs, name: &str) -> Result<&'a Value, Failure> {
    outputs
        .get(name)
        .map(|o| &o.value)
        .ok_or_else(|| Failure::new(format!("terraform has no output {name:?}")))
}

/// The site resources' `main.tf` for `sites` (storage locations) in `namespace`, each with
/// `extra` lines, and outputs of their bundle Secret, endpoint and version by location.
#[must_use]
pub fn sites_tf(sites: &[&str], namespace: &str, extra: &str) -> String {
    let mut hcl = String::new();
    for location in sites {
        hcl.push_str(&format!(
            "resource \"quay_georep_site\" \"{location}\" {{\n{}}}\n\n",
            Context::site_body(location, namespace, extra)
        ));
    }
    for (output, attribute) in [
        ("bundle_secrets", "bundle_secret_name"),
        ("endpoints", "registry_endpoint"),
        ("versions", "current_version"),
    ] {
        let entries: String = sites
            .iter()
            .map(|l| format!("    {l} = quay_georep_site.{l}.{attribute}\n"))
            .collect();
        hcl.push_str(&format!(
            "output \"{output}\" {{\n  value = {{\n{entries}  }}\n}}\n\n"
        ));
    }
    hcl
}
