//! `SCEN-three-sites`: three sites with Clair on the shared Clair database, mirroring and
//! builders configured, one shared database and Redis, a bucket each, applied by Terraform;
//! every site converges with the same bundle and config hash, prefers its own location, and
//! (on OpenShift) its Route serves the global name; nothing unsafe happened, and a second
//! plan has nothing to do.

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::DynamicObject;

use super::common::{self, REGISTRY};
use crate::conformance::context::Context;
use crate::conformance::failure::Failure;
use crate::conformance::scenario::Scenario;
use crate::conformance::target::Platform;
use crate::ensure;
use crate::quay::api_resource;

/// Mirroring and builders on, in the shared config's body.
pub const MIRRORING_AND_BUILDERS: &str = r#"
  mirroring {
    enabled  = true
    interval = 60
  }

  builders {
    enabled                = true
    build_manager_hostname = "builds.quay.global.example.test:443"
    executor_config        = { EXECUTOR = "kubernetesPodman" }
  }
"#;

/// The scenario.
#[must_use]
pub fn scenario() -> Scenario {
    Scenario::new(
        "SCEN-three-sites",
        "Three sites sharing one database, Redis and config, with Clair on the shared Clair \
         database, mirroring and builders, converge with the same config hash, each preferring \
         its own storage location.",
        &[],
        run,
    )
    .namespaces(&["three-sites"])
}

fn run(ctx: &mut Context<'_>) -> Result<(), Failure> {
    let target = ctx.target().clone();
    let locations: Vec<&str> = target.sites.iter().map(|s| s.location.as_str()).collect();
    let namespace = ctx.namespace("three-sites");
    let dir = ctx.workdir("three-sites")?;
    ctx.write_shared_config(&dir, MIRRORING_AND_BUILDERS)?;
    dir.write_file(
        "main.tf",
        &common::sites_tf(
            &locations,
            &namespace,
            "  quay {\n    replicas = 2\n  }\n  mirror {\n    replicas = 1\n  }\n",
        ),
    )?;
    ctx.step(&format!(
        "terraform apply: {} sites in {namespace}",
        locations.len()
    ));
    ctx.apply(&dir)?;
    let outputs = dir.output_json()?;
    let bundles = common::output(&outputs, "bundle_secrets")?;
    let first_bundle = bundles[locations[0]]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    ensure!(
        !first_bundle.is_empty(),
        "site {} reports no bundle Secret",
        locations[0]
    );
    let hostname = &target.global.quay_hostname;
    for location in &locations {
        ensure!(
            bundles[*location] == first_bundle.as_str(),
            "{location} uses bundle {} but {} uses {first_bundle}",
            bundles[*location],
            locations[0]
        );
        let endpoint = &common::output(&outputs, "endpoints")?[*location];
        ensure!(
            *endpoint == format!("https://{hostname}").as_str(),
            "{location} reports endpoint {endpoint}, expected https://{hostname}"
        );
        let version = &common::output(&outputs, "versions")?[*location];
        ensure!(
            version.as_str().is_some_and(|v| !v.is_empty()),
            "{location} reports no current version"
        );
    }
    ctx.note(format!("bundle Secret on every site: {first_bundle}"));

    ctx.step("reading every site's registry, bundle, deployments and routes");
    let mut hashes = Vec::new();
    let mut bundle_data = Vec::new();
    for site in &target.sites {
        let registry = ctx.block_on(common::registry(site, &namespace))?;
        let conditions = common::conditions(&registry.data);
        ctx.note(format!(
            "{} conditions: {}",
            site.name,
            conditions.join(", ")
        ));
        for wanted in [
            "Available=True",
            "ComponentsCreated=True",
            "RolloutBlocked=False",
        ] {
            ensure!(
                conditions.iter().any(|c| c == wanted),
                "{} lacks {wanted}: {}",
                site.name,
                conditions.join(", ")
            );
        }
        for kind in ["quay", "mirror"] {
            let preference = crate::quay::storage_preference(&registry.data, kind);
            ctx.note(format!(
                "{} {kind} preference: {}",
                site.name,
                preference.join(" ")
            ));
            ensure!(
                preference.first() == Some(&site.location),
                "{} {kind} prefers {:?}, expected {} first",
                site.name,
                preference,
                site.location
            );
            ensure!(
                preference.len() == target.sites.len(),
                "{} {kind} preference {:?} does not name every location",
                site.name,
                preference
            );
        }
        let hash = ctx.block_on(common::quay_config_hash(site, &namespace))?;
        ctx.note(format!("{} quay pods run config {hash}", site.name));
        hashes.push((site.name.clone(), hash));
        let data = ctx.block_on(async {
            let client = Context::client(site).await?;
            let secrets: Api<Secret> = Api::namespaced(client, &namespace);
            let secret = secrets.get(&first_bundle).await?;
            Ok::<_, Failure>(secret.data.unwrap_or_default())
        })?;
        ensure!(
            data.contains_key("config.yaml") && data.contains_key("clair-config.yaml"),
            "{}'s bundle lacks config.yaml or clair-config.yaml: {:?}",
            site.name,
            data.keys().collect::<Vec<_>>()
        );
        bundle_data.push((site.name.clone(), data));
        if target.platform == Platform::Openshift {
            let hosts = ctx.block_on(async {
                let client = Context::client(site).await?;
                let routes: Api<DynamicObject> = Api::namespaced_with(
                    client,
                    &namespace,
                    &api_resource("route.openshift.io/v1", "Route"),
                );
                let list = routes.list(&Default::default()).await?;
                Ok::<_, Failure>(
                    list.items
                        .iter()
                        .filter_map(|r| r.data["spec"]["host"].as_str().map(str::to_owned))
                        .collect::<Vec<_>>(),
                )
            })?;
            ctx.note(format!("{} route hosts: {}", site.name, hosts.join(", ")));
            ensure!(
                hosts.iter().any(|h| h == hostname),
                "{}'s routes serve {hosts:?}, none the global name {hostname}",
                site.name
            );
        }
    }
    let (first_site, first_hash) = &hashes[0];
    for (site, hash) in &hashes {
        ensure!(
            hash == first_hash,
            "{site} runs config {hash} but {first_site} runs {first_hash}"
        );
    }
    let (first_site, first_data) = &bundle_data[0];
    for (site, data) in &bundle_data {
        ensure!(
            data == first_data,
            "the bundle on {site} differs from the one on {first_site}"
        );
    }
    ctx.note(format!(
        "registry {REGISTRY} on every site, one config hash {first_hash}"
    ));
    common::ledger_is_empty(ctx)?;
    common::nothing_left_to_plan(ctx, &dir)
}
