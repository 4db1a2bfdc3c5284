//! The `QuayRegistry` controller (kube-runtime `Controller`, owning Deployments and Jobs).
//!
//! One reconcile: finalizer (its update writes the spec's quantities back canonical,
//! [`super::quantity`]); default components written back with an update of `spec`
//! (the GitOps drift trap: the next reconcile comes from that write); the bundle Secret, the
//! certificate of `tls.secretRef` ([`super::external_tls`]) and the structural and override
//! checks (`RolloutBlocked`); for an unmanaged `tls`, the cluster's TLS security profile
//! ([`super::tls_profile`]); the migration decision
//! (`currentVersion` differs from the operator version, or `DB_URI` differs from the one in
//! `<n>-quay-registry-managed-secret-keys`); server-side apply of the owned objects
//! ([`super::render`]); the Job created, kept, or deleted and re-created; status.
//!
//! On a cluster with backing services the managed backing components are deployed
//! ([`super::managed`]), and quay-app, mirror, Clair and the Job wait until their databases
//! are available and their bucket is bound. Not modelled: the operator's ordering of partial
//! failures (an apply error is returned and retried). An empty
//! `configBundleSecret` gets a base bundle ([`super::initial_bundle`]); previous rendered
//! config Secrets are deleted after the quay-app rollout ([`super::config_cleanup`]). A failed Job is re-created only when the version or
//! `config.yaml` changes (the real operator retries every reconcile).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Resource as _, ResourceExt as _};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::components::{self, Blocked, ClusterSupport, ComponentKind, Components};
use super::conditions::{self, Migration, Observation, Replicas};
use super::config_cleanup;
use super::context::{Context, FIELD_MANAGER};
use super::effective_config;
use super::external_tls;
use super::images;
use super::initial_bundle;
use super::managed;
use super::monitoring;
use super::render::{self, Inputs};
use super::status_write::{MAIN_RECONCILE_CONDITIONS, StatusWrite};
use super::tls_check;
use super::tls_profile;
use crate::quay::{
    Bundle, CONFIG_HASH_ANNOTATION, FINALIZER, REGISTRY_LABEL, VERSION_ANNOTATION, dynamic_api,
    quay_registry_resource,
};

/// Why a reconcile failed (it is retried).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An API call failed.
    #[error("{action} for QuayRegistry {namespace}/{name}")]
    Api {
        /// What was being done.
        action: String,
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// Why.
        #[source]
        source: kube::Error,
    },
}

struct Target<'a> {
    ns: &'a str,
    name: &'a str,
}

impl Target<'_> {
    fn err(&self, action: impl Into<String>) -> impl FnOnce(kube::Error) -> Error + '_ {
        let action = action.into();
        move |source| Error::Api {
            action,
            namespace: self.ns.to_owned(),
            name: self.name.to_owned(),
            source,
        }
    }
}

/// Runs the controller until the task is aborted.
pub async fn run(ctx: Arc<Context>, trigger: mpsc::Receiver<()>) {
    let ar = quay_registry_resource();
    let registries: Api<DynamicObject> = Api::all_with(ctx.client.clone(), &ar);
    let owned = watcher::Config::default().labels(REGISTRY_LABEL);
    let controller = Controller::new_with(registries, watcher::Config::default(), ar.clone());
    let cache = controller.store();
    let controller = controller
        .owns(Api::<Deployment>::all(ctx.client.clone()), owned.clone())
        .owns(Api::<Job>::all(ctx.client.clone()), owned)
        .watches(
            Api::<Secret>::all(ctx.client.clone()),
            external_tls::watched(),
            move |secret: Secret| external_tls::registries_of(&cache.state(), &secret, &ar),
        )
        .reconcile_all_on(ReceiverStream::new(trigger))
        .run(reconcile, error_policy, Arc::clone(&ctx));
    ctx.reconciles.drive("QuayRegistry", controller).await;
}

fn error_policy(_obj: Arc<DynamicObject>, _err: &Error, _ctx: Arc<Context>) -> Action {
    Action::requeue(Duration::from_millis(500))
}

fn secret_data(secret: &Secret) -> BTreeMap<String, Vec<u8>> {
    secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect()
}

async fn reconcile(reg: Arc<DynamicObject>, ctx: Arc<Context>) -> Result<Action, Error> {
    let ns = reg.namespace().unwrap_or_default();
    let name = reg.name_any();
    let t = Target {
        ns: &ns,
        name: &name,
    };
    let registries: Api<DynamicObject> =
        Api::namespaced_with(ctx.client.clone(), &ns, &quay_registry_resource());

    if reg.meta().deletion_timestamp.is_some() {
        let rest: Vec<String> = reg
            .finalizers()
            .iter()
            .filter(|f| *f != FINALIZER)
            .cloned()
            .collect();
        if rest.len() != reg.finalizers().len() {
            let patch = json!({"metadata": {"finalizers": rest}});
            registries
                .patch(&name, &PatchParams::default(), &Patch::Merge(patch))
                .await
                .map_err(t.err("remove finalizer"))?;
        }
        return Ok(Action::await_change());
    }
    if !reg.finalizers().iter().any(|f| f == FINALIZER) {
        let mut list = reg.finalizers().to_vec();
        list.push(FINALIZER.to_owned());
        let mut patch =
            json!({"metadata": {"finalizers": list, "resourceVersion": reg.resource_version()}});
        // Upstream's `r.Update` of the whole object writes quantities back canonical.
        if let Some(components) = super::quantity::canonical_components(&reg.data["spec"]) {
            patch["spec"] = json!({ "components": components });
        }
        registries
            .patch(&name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .map_err(t.err("add finalizer"))?;
        return Ok(Action::await_change());
    }

    let spec = reg.data.get("spec").cloned().unwrap_or_else(|| json!({}));
    let bundle_name = spec
        .get("configBundleSecret")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
    if bundle_name.is_empty() {
        initial_bundle::create(&ctx.client, &registries, &reg)
            .await
            .map_err(t.err("create the initial config bundle"))?;
        return Ok(Action::await_change());
    }
    let bundle = match secrets
        .get_opt(&bundle_name)
        .await
        .map_err(t.err("read config bundle"))?
    {
        None => Err(Blocked {
            reason: "ConfigInvalid",
            message: format!(
                "unable to get config bundle secret: secrets \"{bundle_name}\" not found"
            ),
        }),
        Some(secret) => Bundle::parse(&bundle_name, secret_data(&secret)).map_err(|e| Blocked {
            reason: "ConfigInvalid",
            message: e.to_string(),
        }),
    };

    // A certificate from `tls.secretRef` stands in for the bundle's (`external_tls`).
    let external = external_tls::resolve(&ctx.client, &ns, &spec, bundle)
        .await
        .map_err(t.err("read the external TLS secret"))?;
    let bundle = external.bundle;
    let has_certs = bundle.as_ref().is_ok_and(Bundle::has_certs);
    let monitoring_support = monitoring::supported(&ctx).await;
    let support = ClusterSupport {
        flavour: ctx.flavour,
        monitoring: monitoring_support.is_ok(),
    };
    if let Some(list) = components::ensure_defaults(&spec, support, has_certs) {
        let mut updated = (*reg).clone();
        updated.data["spec"]["components"] = list;
        if let Some(components) = super::quantity::canonical_components(&updated.data["spec"]) {
            updated.data["spec"]["components"] = components;
        }
        registries
            .replace(&name, &PostParams::default(), &updated)
            .await
            .map_err(t.err("write default components"))?;
        return Ok(Action::await_change());
    }
    let components = Components::from_spec(&spec);
    let uid = reg.uid().unwrap_or_default();
    let seen = managed::observe(&ctx, &ns, &name, &uid, &components)
        .await
        .map_err(t.err("read the managed components"))?;

    let checked = bundle.and_then(|b| {
        if let (true, Err(why)) = (
            components.is_managed(ComponentKind::Monitoring),
            &monitoring_support,
        ) {
            return Err(monitoring::blocked(why));
        }
        components::validate_overrides(&components, &ctx.version())?;
        components::validate_config(&components, &b, ctx.flavour)?;
        if let Some(Err(blocked)) = &seen {
            return Err(blocked.clone());
        }
        let host = render::route_host(&b, &name, &ns, &ctx.site);
        tls_check::check(&b, &components, &host)?;
        Ok(b)
    });
    let mut bundle = match checked {
        Ok(b) => b,
        Err(blocked) => {
            let obs = Observation {
                name: &name,
                blocked: Some(&blocked),
                migration: Migration::Done,
                components: &components,
                quay: None,
                mirror: None,
                clair: None,
                external_tls: external.condition.clone(),
                managed: managed::conditions_of(seen.as_ref()),
            };
            let how = StatusWrite::now(&ctx, &reg);
            let held = write_status(&registries, &reg, &obs, None, &how, &t).await?;
            return Ok(Action::requeue(how.requeue(&ctx, held, ctx.opts.resync)));
        }
    };

    if !components.is_managed(ComponentKind::Tls)
        && let Some(profile) = tls_profile::read(&ctx.client)
            .await
            .map_err(t.err("read the cluster TLS security profile"))?
    {
        tls_profile::inject(&mut bundle.config, Some(&profile));
    }

    let version = ctx.version();
    let keys_name = format!("{name}-quay-registry-managed-secret-keys");
    let stored_keys = secrets
        .get_opt(&keys_name)
        .await
        .map_err(t.err("read managed secret keys"))?
        .map(|s| secret_data(&s))
        .unwrap_or_default();
    let prepared = match &seen {
        Some(Ok(observed)) => Some(managed::prepare(
            &managed::Owner {
                name: &name,
                namespace: &ns,
                uid: &uid,
            },
            &components,
            &bundle,
            &stored_keys
                .iter()
                .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
                .collect(),
            observed,
            &mut || random_key(&name, "password"),
        )),
        _ => None,
    };
    let bundle = prepared.as_ref().map_or(bundle, |p| p.bundle.clone());
    let db_uri = bundle.db_uri().map(str::to_owned);
    let stored_db_uri = stored_keys
        .get("DB_URI")
        .map(|v| String::from_utf8_lossy(v).into_owned());
    let current_version = reg
        .data
        .get("status")
        .and_then(|s| s.get("currentVersion"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let needs_migration =
        current_version.as_deref() != Some(version.to_string().as_str()) || stored_db_uri != db_uri;

    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), &ns);
    let job_name = format!("{name}-quay-app-upgrade");
    let config_hash = bundle.config_hash();
    let mut migration = Migration::Done;
    let mut create_job = false;
    if needs_migration {
        let existing = jobs
            .get_opt(&job_name)
            .await
            .map_err(t.err("read migration job"))?;
        migration = match existing {
            None => {
                create_job = true;
                Migration::Running
            }
            Some(job) => {
                let annotations = job.metadata.annotations.clone().unwrap_or_default();
                let current = annotations.get(VERSION_ANNOTATION) == Some(&version.to_string())
                    && annotations.get(CONFIG_HASH_ANNOTATION) == Some(&config_hash);
                let status = job.status.clone().unwrap_or_default();
                let active = status.active.unwrap_or(0) > 0;
                if status.succeeded.unwrap_or(0) > 0 && current {
                    Migration::Done
                } else if status.failed.unwrap_or(0) > 0 && current {
                    Migration::Failed(job_failure(&job))
                } else if current || active {
                    Migration::Running
                } else {
                    jobs.delete(&job_name, &DeleteParams::background())
                        .await
                        .map_err(t.err("delete stale migration job"))?;
                    create_job = true;
                    Migration::Running
                }
            }
        };
    }
    let migrated_now = needs_migration && migration == Migration::Done;

    let mut keys: serde_json::Map<String, Value> = stored_keys
        .iter()
        .map(|(k, v)| (k.clone(), json!(render::base64_encode(v))))
        .collect();
    for key in ["SECRET_KEY", "DATABASE_SECRET_KEY"] {
        if !keys.contains_key(key) {
            let value = bundle
                .config
                .get(key)
                .and_then(Value::as_str)
                .map_or_else(|| random_key(&name, key), str::to_owned);
            keys.insert(
                key.to_owned(),
                json!(render::base64_encode(value.as_bytes())),
            );
        }
    }
    if components.is_managed(ComponentKind::Clair) && !keys.contains_key(effective_config::PSK_KEY)
    {
        let psk = random_key(&name, effective_config::PSK_KEY);
        keys.insert(
            effective_config::PSK_KEY.to_owned(),
            json!(render::base64_encode(psk.as_bytes())),
        );
    }
    let mut kept: BTreeMap<String, String> = stored_keys
        .iter()
        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
        .collect();
    for key in [
        "SECRET_KEY",
        "DATABASE_SECRET_KEY",
        effective_config::PSK_KEY,
    ] {
        if let Some(value) = keys
            .get(key)
            .and_then(Value::as_str)
            .and_then(base64_decode)
        {
            kept.insert(key.to_owned(), value);
        }
    }
    for (key, value) in prepared.iter().flat_map(|p| &p.keys) {
        keys.insert(key.clone(), json!(render::base64_encode(value.as_bytes())));
    }
    if migrated_now {
        match &db_uri {
            Some(uri) => keys.insert(
                "DB_URI".to_owned(),
                json!(render::base64_encode(uri.as_bytes())),
            ),
            None => keys.remove("DB_URI"),
        };
    }

    let inputs = Inputs {
        name: &name,
        namespace: &ns,
        uid: &uid,
        version,
        components: &components,
        bundle: &bundle,
        flavour: ctx.flavour,
        site: &ctx.site,
        upgrading: migration != Migration::Done,
        kept: &kept,
    };
    // The images are the operator Deployment's RELATED_IMAGE_COMPONENT_* (see `images`).
    let images = ctx.images();
    let mut objects = render::objects(&inputs, &Value::Object(keys), false);
    images::apply(&mut objects, &images, version);
    if let Some(hash) = &external.hash {
        external_tls::annotate(&mut objects, hash);
    }
    // The managed components' objects first; the workloads wait for them
    // (`filterDeferredWorkloads`).
    let defer = prepared.as_ref().is_some_and(|p| p.defer_workloads);
    if let Some(p) = prepared {
        let rest = std::mem::replace(&mut objects, p.objects);
        objects.extend(rest);
    }
    if defer {
        objects.retain(|o| !managed::objects::is_deferrable(o));
        create_job = false;
    }
    for object in objects {
        apply(&ctx, &ns, &object).await.map_err(t.err(format!(
            "apply {} {}",
            object["kind"].as_str().unwrap_or_default(),
            object["metadata"]["name"].as_str().unwrap_or_default()
        )))?;
    }
    config_cleanup::delete_stale(
        &ctx.client,
        &ns,
        &name,
        &bundle_name,
        &inputs.config_secret_name(),
    )
    .await
    .map_err(t.err("delete previous config secrets"))?;
    if create_job {
        let mut job = [render::job(&inputs)];
        images::apply(&mut job, &images, version);
        let [job] = job;
        let job: Job =
            serde_json::from_value(job).expect("the rendered Job is a valid batch/v1 Job");
        match jobs.create(&PostParams::default(), &job).await {
            Ok(_) => {}
            // Still being deleted, or created by a racing reconcile: the next one sorts it out.
            Err(kube::Error::Api(s)) if s.code == 409 => {
                return Ok(Action::requeue(Duration::from_millis(200)));
            }
            Err(e) => return Err(t.err("create migration job")(e)),
        }
    }

    let deployments: Api<Deployment> = Api::namespaced(ctx.client.clone(), &ns);
    let replicas = |d: Option<Deployment>| {
        d.map(|d| Replicas {
            desired: d.spec.and_then(|s| s.replicas).unwrap_or(1),
            available: d.status.and_then(|s| s.available_replicas).unwrap_or(0),
        })
    };
    let mut observed = BTreeMap::new();
    for (kind, suffix) in [
        (ComponentKind::Quay, "quay-app"),
        (ComponentKind::Mirror, "quay-mirror"),
        (ComponentKind::Clair, "clair-app"),
    ] {
        if components.is_managed(kind) {
            let d = deployments
                .get_opt(&format!("{name}-{suffix}"))
                .await
                .map_err(t.err(format!("read {suffix}")))?;
            observed.insert(kind, replicas(d));
        }
    }
    let quay = observed.remove(&ComponentKind::Quay).flatten();
    let mirror = observed.remove(&ComponentKind::Mirror).flatten();
    let clair = observed.remove(&ComponentKind::Clair).flatten();
    let obs = Observation {
        name: &name,
        blocked: None,
        migration: migration.clone(),
        components: &components,
        quay,
        mirror,
        clair,
        external_tls: external.condition,
        managed: managed::conditions_of(seen.as_ref()),
    };
    let endpoint = format!("https://{}", inputs.hostname());
    let new_version = if migrated_now {
        Some(version.to_string())
    } else {
        current_version
    };
    let extra = json!({"currentVersion": new_version, "registryEndpoint": endpoint});
    let how = StatusWrite::now(&ctx, &reg);
    let held = write_status(&registries, &reg, &obs, Some(extra), &how, &t).await?;
    let next = match migration {
        Migration::Running => Duration::from_secs(1),
        _ => ctx.opts.resync,
    };
    Ok(Action::requeue(how.requeue(&ctx, held, next)))
}

fn job_failure(job: &Job) -> String {
    job.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Failed" && c.status == "True"))
        .and_then(|c| c.message.clone())
        .unwrap_or_else(|| "failed to run migrations".to_owned())
}

fn base64_decode(text: &str) -> Option<String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()?;
    String::from_utf8(bytes).ok()
}

fn random_key(name: &str, key: &str) -> String {
    crate::services::secret::Secret::generate(30).map_or_else(
        // The OS random source failing is not worth blocking a simulated rollout.
        |_| format!("{name}-{key}-not-random"),
        |s| s.expose().to_owned(),
    )
}

async fn apply(ctx: &Context, ns: &str, object: &Value) -> Result<(), kube::Error> {
    let api = dynamic_api(
        &ctx.client,
        ns,
        object["apiVersion"].as_str().unwrap_or_default(),
        object["kind"].as_str().unwrap_or_default(),
    );
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    api.patch(
        name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(object),
    )
    .await
    .map(|_| ())
}

/// Writes the status; returns whether conditions that would change were held back (see
/// [`StatusWrite`]).
async fn write_status(
    registries: &Api<DynamicObject>,
    reg: &DynamicObject,
    obs: &Observation<'_>,
    extra: Option<Value>,
    how: &StatusWrite,
    t: &Target<'_>,
) -> Result<bool, Error> {
    let old_status = reg.data.get("status").cloned().unwrap_or_else(|| json!({}));
    let old_conditions = old_status
        .get("conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    // `metav1.Time`: whole seconds, which is all a client can compare.
    let now = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let mut computed = conditions::conditions(obs);
    let mut held = false;
    if !how.refresh {
        computed.retain(|c| {
            let previous = old_conditions.iter().find(|o| o["type"] == c.type_);
            let keep = MAIN_RECONCILE_CONDITIONS.contains(&c.type_) || previous.is_none();
            if !keep {
                let status = if c.status { "True" } else { "False" };
                held |= previous.is_some_and(|p| {
                    p["status"] != status
                        || p["reason"] != c.reason
                        || p["message"] != c.message.as_str()
                });
            }
            keep
        });
    }
    let merged = conditions::merge(&old_conditions, &computed, &now);
    // Before 3.17 the operator has no `observedGeneration`; null removes it.
    let generation = if how.observed_generation {
        json!(reg.meta().generation)
    } else {
        Value::Null
    };
    let mut status = json!({
        "conditions": merged,
        "observedGeneration": generation,
    });
    if let Some(Value::Object(extra)) = extra {
        for (k, v) in extra {
            status[k] = v;
        }
    }
    let differs = |k: &str, v: &Value| old_status.get(k).unwrap_or(&Value::Null) != v;
    let changed = status
        .as_object()
        .into_iter()
        .flatten()
        .any(|(k, v)| differs(k, v));
    if !changed && !how.new_generation {
        return Ok(held);
    }
    // The main reconcile rewrites `lastUpdated`; the status reconciler's evaluations (every
    // condition but the main reconcile's own) leave it alone upstream.
    let main_condition =
        |conditions: &[Value], kind: &str| conditions.iter().find(|c| c["type"] == kind).cloned();
    let main_changed = how.new_generation
        || status
            .as_object()
            .into_iter()
            .flatten()
            .any(|(k, v)| k != "conditions" && differs(k, v))
        || MAIN_RECONCILE_CONDITIONS
            .iter()
            .any(|kind| main_condition(&old_conditions, kind) != main_condition(&merged, kind));
    if main_changed {
        // Upstream writes `time.Now().UTC().String()` there: nanoseconds, so two reconciles
        // in one second still differ (the pre-3.17 wait watches it move).
        status["lastUpdated"] = json!(jiff::Timestamp::now().to_string());
    }
    registries
        .patch_status(
            &reg.name_any(),
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": status })),
        )
        .await
        .map_err(t.err("write status"))?;
    Ok(held)
}
