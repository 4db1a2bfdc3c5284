//! A site's life after `apply`, one site each:
//! - `DRIFT-restore`: someone scales the site's quay by hand and removes its storage
//!   preference; the plan (JSON and as a person reads it) shows both, apply restores them; a
//!   deleted `QuayRegistry` is planned again and re-created;
//! - `IMPORT-then-empty-plan`: a fresh working directory imports the live site and plans
//!   nothing (before Terraform 1.8, no change of a value: only the sensitivity of the
//!   configuration's values is recorded), with the same identity, config hash and bundle;
//! - `DESTROY-clean`: destroy leaves no `QuayRegistry`, bundle Secret or namespace behind.

use std::time::Duration;

use kube::Api;
use kube::api::{DynamicObject, ListParams, Patch, PatchParams};
use serde_json::{Value, json};

use super::common::{self, REGISTRY};
use crate::conformance::context::Context;
use crate::conformance::failure::Failure;
use crate::conformance::scenario::Scenario;
use crate::conformance::target::SiteTarget;
use crate::ensure;
use crate::quay::{api_resource, quay_registry_resource};
use crate::terraform::{Action, PlanExit, Workdir};

/// How long a deleted `QuayRegistry` may keep its finalizer.
const DELETE_TIMEOUT: Duration = Duration::from_secs(60);

/// The scenarios.
#[must_use]
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new(
            "DRIFT-restore",
            "Replicas scaled by hand, a removed storage preference and a deleted QuayRegistry \
             show in the plan and are restored by the next apply.",
            &[],
            drift,
        )
        .namespaces(&["drift"]),
        Scenario::new(
            "IMPORT-then-empty-plan",
            "A live site imported into a fresh working directory plans no changes and keeps \
             its identity, config hash and bundle.",
            &[],
            import,
        )
        .namespaces(&["import"]),
        Scenario::new(
            "DESTROY-clean",
            "Destroy leaves no QuayRegistry, bundle Secret or namespace of the site behind.",
            &[],
            destroy,
        )
        .namespaces(&["destroy"]),
    ]
}

/// Applies one site (the target's first) in a namespace named `suffix`, in a working
/// directory of that name.
fn one_site(
    ctx: &mut Context<'_>,
    suffix: &str,
) -> Result<(SiteTarget, String, std::sync::Arc<Workdir>), Failure> {
    let site = ctx.target().sites[0].clone();
    let namespace = ctx.namespace(suffix);
    let dir = ctx.workdir(suffix)?;
    ctx.write_shared_config(&dir, "")?;
    dir.write_file(
        "main.tf",
        &common::sites_tf(
            &[&site.location],
            &namespace,
            "  quay {\n    replicas = 2\n  }\n",
        ),
    )?;
    ctx.step(&format!("terraform apply: {} in {namespace}", site.name));
    ctx.apply(&dir)?;
    Ok((site, namespace, dir))
}

async fn registries(site: &SiteTarget, namespace: &str) -> Result<Api<DynamicObject>, Failure> {
    let client = Context::client(site).await?;
    Ok(Api::namespaced_with(
        client,
        namespace,
        &quay_registry_resource(),
    ))
}

fn drift(ctx: &mut Context<'_>) -> Result<(), Failure> {
    let (site, namespace, dir) = one_site(ctx, "drift")?;
    let address = format!("quay_georep_site.{}", site.location);
    ctx.step("scaling quay to 5 and removing its storage preference by hand");
    ctx.block_on(async {
        let api = registries(&site, &namespace).await?;
        let registry = api.get(REGISTRY).await?;
        let mut components = registry.data["spec"]["components"].clone();
        for c in components.as_array_mut().into_iter().flatten() {
            if c["kind"] == "quay" {
                c["overrides"]["replicas"] = json!(5);
                c["overrides"]["env"] = json!([]);
            }
        }
        let patch = json!({"spec": {"components": components}});
        api.patch(REGISTRY, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        Ok::<_, Failure>(())
    })?;
    let drifted = ctx.plan(&dir)?;
    ensure!(
        drifted.exit == PlanExit::Changes,
        "the plan shows no drift ({:?})",
        drifted.exit
    );
    let updated: Vec<(String, Action)> = drifted
        .events
        .planned_changes()
        .filter(|c| c.action != Action::Noop)
        .map(|c| (c.address.clone(), c.action.clone()))
        .collect();
    ensure!(
        updated == [(address.clone(), Action::Update)],
        "the plan should update {address} in place, it plans {updated:?}"
    );
    let human = dir.run(["plan", "-no-color", "-input=false"])?;
    ensure!(
        human.succeeded() && !human.stdout.contains("TERRAFORM CRASH"),
        "the plan as a person reads it failed: {}",
        human.stderr_tail()
    );
    for expected in [
        "expected 2, found 5",
        "overrides.env[QUAY_DISTRIBUTED_STORAGE_PREFERENCE]: expected",
        "will be updated in-place",
    ] {
        ensure!(
            human.stdout.contains(expected),
            "the human plan lacks {expected:?}"
        );
    }
    ctx.note("the human plan names the replicas and the preference");
    ctx.step("terraform apply restores the site");
    ctx.apply(&dir)?;
    let registry = ctx.block_on(common::registry(&site, &namespace))?;
    let preference = crate::quay::storage_preference(&registry.data, "quay");
    ensure!(
        preference.first() == Some(&site.location),
        "the preference was not restored: {preference:?}"
    );
    let replan = ctx.plan(&dir)?;
    ensure!(
        replan.exit == PlanExit::NoChanges,
        "a plan after the restore wants changes"
    );

    ctx.step("deleting the QuayRegistry by hand");
    ctx.block_on(async {
        let api = registries(&site, &namespace).await?;
        api.delete(REGISTRY, &Default::default()).await?;
        Context::until(
            "the deleted QuayRegistry gone",
            DELETE_TIMEOUT,
            async || Ok(api.get_opt(REGISTRY).await?.is_none().then_some(())),
        )
        .await
    })?;
    let deleted = ctx.plan(&dir)?;
    let planned: Vec<(String, Action)> = deleted
        .events
        .planned_changes()
        .filter(|c| c.action != Action::Noop)
        .map(|c| (c.address.clone(), c.action.clone()))
        .collect();
    ensure!(
        planned == [(address.clone(), Action::Create)],
        "the plan should create {address} again, it plans {planned:?}"
    );
    ctx.apply(&dir)?;
    let replan = ctx.plan(&dir)?;
    ensure!(
        replan.exit == PlanExit::NoChanges,
        "a plan after the re-creation wants changes"
    );
    // While the site ran without its preference its pods served preferring another location:
    // the ledger may have caught that (how often depends on timing), and nothing else.
    let name = site.name.clone();
    common::ledger_holds_only(ctx, &|v| {
        v.contains("serving_without_own_storage_preference") && v.contains(&name)
    })
}

fn import(ctx: &mut Context<'_>) -> Result<(), Failure> {
    let (site, namespace, dir) = one_site(ctx, "import")?;
    let address = format!("quay_georep_site.{}", site.location);
    // A second directory with the same configuration, not registered for clean-up: the
    // first one's destroy removes the site.
    let adopted = ctx.workdir("import-adopt")?;
    ctx.write_shared_config(&adopted, "")?;
    adopted.write_file(
        "main.tf",
        &std::fs::read_to_string(dir.path().join("main.tf"))
            .map_err(|e| Failure::new(format!("read main.tf: {e}")))?,
    )?;
    let id = format!("{}/{namespace}/{REGISTRY}", site.location);
    ctx.step(&format!("terraform import {address} {id}"));
    let imported = adopted.import(&address, &id)?;
    ensure!(
        imported.succeeded(),
        "terraform import failed: {}",
        imported.stderr_tail()
    );
    let plan = ctx.plan(&adopted)?;
    if plan.exit != PlanExit::NoChanges {
        // Terraform before 1.8 (hashicorp/terraform#33597) plans an in-place update of an
        // imported resource whose configuration takes sensitive values (`config_yaml` from the
        // data source, the Clair database variable) only to record their sensitivity, which an
        // import cannot; and the outputs are new to this working directory. Neither changes a
        // value of the site, which is what the saved plan is checked for.
        let changed = changed_values(&adopted)?;
        ensure!(
            changed.is_empty(),
            "the imported site plans changes: {changed:?} (planned: {:?})",
            plan.events
                .planned_changes()
                .map(|c| format!("{} {:?}", c.address, c.action))
                .collect::<Vec<_>>()
        );
        ctx.note(
            "the plan after the import only marks sensitive values (Terraform before 1.8)"
                .to_owned(),
        );
    }
    let original = dir.show_json()?;
    let adopted_state = adopted.show_json()?;
    let before = original
        .resource_values(&address)
        .ok_or_else(|| Failure::new(format!("{address} is not in the first state")))?;
    let after = adopted_state
        .resource_values(&address)
        .ok_or_else(|| Failure::new(format!("{address} is not in the imported state")))?;
    for attribute in [
        "id",
        "location",
        "namespace",
        "config_hash",
        "bundle_secret_name",
        "current_version",
    ] {
        ensure!(
            after[attribute] == before[attribute],
            "imported {attribute} is {}, applied it was {}",
            after[attribute],
            before[attribute]
        );
    }
    ctx.note(format!(
        "imported {id}: same identity, config hash and bundle"
    ));
    Ok(())
}

/// The resources whose saved plan in `dir` changes a value, each with the attributes that
/// change (names only: the values may be secrets); a change of sensitivity alone is none.
fn changed_values(dir: &Workdir) -> Result<Vec<String>, Failure> {
    let planned = dir.run(["plan", "-input=false", "-no-color", "-out=import.tfplan"])?;
    ensure!(
        planned.exit_code == 0,
        "terraform plan -out failed: {}",
        planned.stderr
    );
    let shown = dir.run(["show", "-json", "import.tfplan"])?;
    ensure!(
        shown.exit_code == 0,
        "terraform show -json failed: {}",
        shown.stderr
    );
    let plan: Value = serde_json::from_str(&shown.stdout)
        .map_err(|e| Failure::new(format!("terraform show -json is not JSON: {e}")))?;
    let empty = serde_json::Map::new();
    let mut changed = Vec::new();
    for change in plan["resource_changes"].as_array().into_iter().flatten() {
        let address = change["address"].as_str().unwrap_or_default();
        let actions = &change["change"]["actions"];
        if actions == &json!(["no-op"]) {
            continue;
        }
        if actions != &json!(["update"]) {
            changed.push(format!("{address}: {actions}"));
            continue;
        }
        let before = change["change"]["before"].as_object().unwrap_or(&empty);
        let after = change["change"]["after"].as_object().unwrap_or(&empty);
        let unknown = change["change"]["after_unknown"]
            .as_object()
            .unwrap_or(&empty);
        let mut names: Vec<&str> = before
            .keys()
            .chain(after.keys())
            .filter(|k| before.get(*k) != after.get(*k) || unknown.get(*k).is_some_and(holds_true))
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        names.dedup();
        if !names.is_empty() {
            changed.push(format!("{address}: {}", names.join(", ")));
        }
    }
    Ok(changed)
}

/// Whether an `after_unknown` entry marks anything unknown.
fn holds_true(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::Array(items) => items.iter().any(holds_true),
        Value::Object(fields) => fields.values().any(holds_true),
        _ => false,
    }
}

fn destroy(ctx: &mut Context<'_>) -> Result<(), Failure> {
    let (site, namespace, dir) = one_site(ctx, "destroy")?;
    ctx.step("terraform destroy");
    ctx.destroy(&dir)?;
    let (left, secrets, namespace_left) = ctx.block_on(async {
        let client = Context::client(&site).await?;
        let registries: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), &namespace, &quay_registry_resource());
        let left = registries.list(&ListParams::default()).await?.items.len();
        let secrets: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), &namespace, &api_resource("v1", "Secret"));
        let ours = secrets
            .list(
                &ListParams::default()
                    .labels("app.kubernetes.io/managed-by=terraform-provider-quay"),
            )
            .await?
            .items
            .len();
        let namespaces: Api<DynamicObject> =
            Api::all_with(client, &api_resource("v1", "Namespace"));
        let namespace_left: Option<Value> = namespaces
            .get_opt(&namespace)
            .await?
            .map(|n| n.metadata.deletion_timestamp.is_some())
            .map(Value::Bool);
        Ok::<_, Failure>((left, ours, namespace_left))
    })?;
    ctx.note(format!(
        "after destroy: {left} registries, {secrets} bundle Secrets, namespace {namespace_left:?}"
    ));
    ensure!(
        left == 0,
        "{} keeps {left} QuayRegistries in {namespace}",
        site.name
    );
    ensure!(
        secrets == 0,
        "{} keeps {secrets} bundle Secrets in {namespace}",
        site.name
    );
    ensure!(
        namespace_left.is_none(),
        "{} keeps namespace {namespace}, which the provider created",
        site.name
    );
    common::ledger_is_empty(ctx)
}
