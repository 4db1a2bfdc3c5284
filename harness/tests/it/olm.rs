//! The OLM model against an OpenShift-flavoured simulated cluster, driven with kube-rs as the
//! provider drives real OLM: InstallPlans wait for approval, approval installs the CSV and the
//! operator Deployment, a channel change offers the next minor.

use std::time::Duration;

use georep_harness::sim::olm::{self, OlmModel};
use georep_harness::sim::{ClusterConfig, Flavour, SimCluster};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde_json::json;

const NS: &str = "openshift-operators";

async fn openshift() -> (SimCluster, Client, OlmModel) {
    georep_harness::sim::install_crypto_provider();
    let mut config = ClusterConfig::new("site-a");
    config.flavour = Flavour::Openshift;
    let sim = SimCluster::start(config).await.unwrap();
    let client = sim.client().await.unwrap();
    let model = OlmModel::start(&sim).await.unwrap();
    (sim, client, model)
}

fn olm_api(client: &Client, kind: &str, plural: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("operators.coreos.com", "v1alpha1", kind);
    Api::namespaced_with(
        client.clone(),
        NS,
        &ApiResource::from_gvk_with_plural(&gvk, plural),
    )
}

fn plans(client: &Client) -> Api<DynamicObject> {
    olm_api(client, "InstallPlan", "installplans")
}

fn subs(client: &Client) -> Api<DynamicObject> {
    olm_api(client, "Subscription", "subscriptions")
}

/// Polls `read` until it returns `Some`, for at most 10 s.
async fn eventually<T, F, Fut>(what: &str, mut read: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(found) = read().await {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The image and `QUAY_VERSION` of the operator Deployment `name`: the env var's value, or
/// the pod template annotation its `valueFrom.fieldRef` names (as the CSV's Deployment reads
/// it).
async fn deployment_env(client: &Client, name: &str) -> (String, String) {
    let d = Api::<Deployment>::namespaced(client.clone(), NS)
        .get(name)
        .await
        .unwrap();
    let template = d.spec.unwrap().template;
    let c = &template.spec.unwrap().containers[0];
    let var = c
        .env
        .iter()
        .flatten()
        .find(|e| e.name == "QUAY_VERSION")
        .unwrap();
    let version = match &var.value {
        Some(value) => value.clone(),
        None => {
            let path = &var
                .value_from
                .as_ref()
                .unwrap()
                .field_ref
                .as_ref()
                .unwrap()
                .field_path;
            let key = path
                .strip_prefix("metadata.annotations['")
                .and_then(|k| k.strip_suffix("']"))
                .unwrap();
            template.metadata.unwrap().annotations.unwrap()[key].clone()
        }
    };
    (c.image.clone().unwrap(), version)
}

/// [`deployment_env`] of the Deployment the Quay CSV names.
async fn operator_env(client: &Client) -> (String, String) {
    deployment_env(client, olm::OPERATOR_DEPLOYMENT).await
}

/// Starts `sub` at `version` on its own channel, then installs `olm` as if approved once.
async fn install(client: &Client, version: &str) {
    olm::install_operator(client, NS, "quay-operator", version)
        .await
        .unwrap();
}

async fn set_channel(client: &Client, channel: &str) {
    subs(client)
        .patch(
            "quay-operator",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"channel": channel}})),
        )
        .await
        .unwrap();
}

/// Waits until the model has completed `at_least` reconciles of `kind`, for at most 10 s.
async fn reconciled(model: &OlmModel, kind: &str, at_least: u64) {
    tokio::time::timeout(
        Duration::from_secs(10),
        model.reconciles().wait_for(kind, at_least),
    )
    .await
    .unwrap_or_else(|_| {
        panic!(
            "the {kind} controller completed {} of {at_least} reconciles in 10 s",
            model.reconciles().count(kind)
        )
    });
}

/// Waits for the InstallPlan offering 3.14.8 (the stable-3.14 head), for at most 10 s.
async fn plan_for_3_14_8(client: &Client, what: &str) -> DynamicObject {
    eventually(what, || async {
        plans(client)
            .get_opt("install-quay-operator-v3-14-8")
            .await
            .unwrap()
    })
    .await
}

fn names(list: &kube::core::ObjectList<DynamicObject>) -> Vec<String> {
    list.items.iter().map(ResourceExt::name_any).collect()
}

#[tokio::test]
async fn install_plan_appears_for_a_newer_csv_and_waits_for_approval() {
    let (_sim, client, model) = openshift().await;
    install(&client, "3.14.0").await;
    let plan = plan_for_3_14_8(&client, "an InstallPlan for 3.14.8").await;
    assert_eq!(plan.data["spec"]["approved"], json!(false));
    assert_eq!(plan.data["spec"]["approval"], json!("Manual"));
    assert_eq!(
        plan.data["spec"]["clusterServiceVersionNames"],
        json!(["quay-operator.v3.14.8"])
    );
    let phase = eventually("the plan's phase", || async {
        let p = plans(&client)
            .get("install-quay-operator-v3-14-8")
            .await
            .unwrap();
        p.data["status"]["phase"].as_str().map(str::to_owned)
    })
    .await;
    assert_eq!(phase, "RequiresApproval");
    let sub = eventually("the subscription to report the pending upgrade", || async {
        let s = subs(&client).get("quay-operator").await.unwrap();
        (s.data["status"]["state"] == json!("UpgradePending")).then_some(s)
    })
    .await;
    assert_eq!(
        sub.data["status"]["installedCSV"],
        json!("quay-operator.v3.14.0")
    );
    assert_eq!(
        sub.data["status"]["currentCSV"],
        json!("quay-operator.v3.14.8")
    );
    // Unapproved, nothing is installed. The InstallPlan controller has reconciled the plan
    // (the only one, unapproved since it was created) and created no CSV; an approved plan
    // gets its CSV within that same reconcile, and without a new CSV nothing touches the
    // operator Deployment.
    reconciled(&model, "InstallPlan", 1).await;
    let csvs = olm_api(&client, "ClusterServiceVersion", "clusterserviceversions")
        .list(&Default::default())
        .await
        .unwrap();
    assert_eq!(names(&csvs), ["quay-operator.v3.14.0"]);
    assert_eq!(
        operator_env(&client).await,
        (
            "quay.io/projectquay/quay-operator:3.14.0".to_owned(),
            "3.14.0".to_owned()
        )
    );
}

#[tokio::test]
async fn olm_installs_the_operator_deployment_under_the_name_its_csv_gives() {
    let (_sim, client, _model) = openshift().await;
    install(&client, "3.14.8").await;
    let csv = olm_api(&client, "ClusterServiceVersion", "clusterserviceversions")
        .get("quay-operator.v3.14.8")
        .await
        .unwrap();
    // As quay-operator's bundle/manifests/quay-operator.clusterserviceversion.yaml has it.
    let strategy = &csv.data["spec"]["install"]["spec"]["deployments"][0];
    assert_eq!(strategy["name"], json!("quay-operator-tng"));
    assert_eq!(csv.annotations()["olm.targetNamespaces"], "");
    let deployments = Api::<Deployment>::namespaced(client.clone(), NS);
    assert!(
        deployments
            .get_opt("quay-operator")
            .await
            .unwrap()
            .is_none(),
        "OLM names the Deployment after the CSV, not the Subscription"
    );
    let deployment = deployments.get("quay-operator-tng").await.unwrap();
    assert_eq!(
        deployment.labels()["olm.owner"],
        "quay-operator.v3.14.8",
        "OLM labels what it installs with the owner CSV"
    );
    let template = deployment.spec.unwrap().template;
    let annotations = template.metadata.unwrap().annotations.unwrap();
    assert_eq!(annotations["quay-version"], "3.14.8");
    assert_eq!(annotations["olm.targetNamespaces"], "");
    let env: Vec<(String, Option<String>, Option<String>)> = template.spec.unwrap().containers[0]
        .env
        .iter()
        .flatten()
        .map(|e| {
            let path = e
                .value_from
                .as_ref()
                .and_then(|f| f.field_ref.as_ref())
                .map(|f| f.field_path.clone());
            (e.name.clone(), e.value.clone(), path)
        })
        .collect();
    for wanted in [
        (
            "QUAY_VERSION",
            None,
            Some("metadata.annotations['quay-version']"),
        ),
        (
            "WATCH_NAMESPACE",
            None,
            Some("metadata.annotations['olm.targetNamespaces']"),
        ),
        (
            "RELATED_IMAGE_COMPONENT_QUAY",
            Some("quay.io/projectquay/quay:3.14.8"),
            None,
        ),
    ] {
        let wanted = (
            wanted.0.to_owned(),
            wanted.1.map(str::to_owned),
            wanted.2.map(str::to_owned),
        );
        assert!(env.contains(&wanted), "{wanted:?} is not in {env:#?}");
    }
    assert_eq!(
        operator_env(&client).await,
        (
            "quay.io/projectquay/quay-operator:3.14.8".to_owned(),
            "3.14.8".to_owned()
        )
    );
}

#[tokio::test]
async fn approval_replaces_the_operator_image_and_quay_version() {
    let (_sim, client, _model) = openshift().await;
    install(&client, "3.14.0").await;
    plan_for_3_14_8(&client, "an InstallPlan for 3.14.8").await;
    plans(&client)
        .patch(
            "install-quay-operator-v3-14-8",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"approved": true}})),
        )
        .await
        .unwrap();
    let env = eventually("the operator Deployment to run 3.14.8", || async {
        let env = operator_env(&client).await;
        (env.1 == "3.14.8").then_some(env)
    })
    .await;
    assert_eq!(env.0, "quay.io/projectquay/quay-operator:3.14.8");
    let sub = eventually("the subscription to report 3.14.8 installed", || async {
        let s = subs(&client).get("quay-operator").await.unwrap();
        (s.data["status"]["installedCSV"] == json!("quay-operator.v3.14.8")).then_some(s)
    })
    .await;
    assert_eq!(sub.data["status"]["state"], json!("AtLatestKnown"));
    let csvs = olm_api(&client, "ClusterServiceVersion", "clusterserviceversions");
    let names = eventually("the old CSV to be replaced", || async {
        let names: Vec<String> = csvs
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .iter()
            .map(ResourceExt::name_any)
            .collect();
        (names.len() == 1).then_some(names)
    })
    .await;
    assert_eq!(names, ["quay-operator.v3.14.8"]);
    let csv = csvs.get("quay-operator.v3.14.8").await.unwrap();
    assert_eq!(csv.data["status"]["phase"], json!("Succeeded"));
}

#[tokio::test]
async fn channel_change_offers_the_next_minor() {
    let (_sim, client, _model) = openshift().await;
    install(&client, "3.13.11").await;
    set_channel(&client, "stable-3.14").await;
    let plan = plan_for_3_14_8(&client, "an InstallPlan for the stable-3.14 head").await;
    assert_eq!(
        plan.data["spec"]["clusterServiceVersionNames"],
        json!(["quay-operator.v3.14.8"])
    );
}

#[tokio::test]
async fn no_install_plan_when_already_at_the_channel_head() {
    let (_sim, client, model) = openshift().await;
    install(&client, "3.13.11").await;
    let sub = eventually("the subscription to be reconciled", || async {
        let s = subs(&client).get("quay-operator").await.unwrap();
        (s.data["status"]["state"] == json!("AtLatestKnown")).then_some(s)
    })
    .await;
    assert_eq!(
        sub.data["status"]["installedCSV"],
        json!("quay-operator.v3.13.11")
    );
    // Several rounds of the Subscription controller pass without an offer. Each one (the
    // Subscription is the only one, created after its CSV was installed) decided whether to
    // offer a plan, and creates the plan within the round when it does.
    reconciled(&model, "Subscription", 3).await;
    let list = plans(&client).list(&Default::default()).await.unwrap();
    assert!(list.items.is_empty(), "{:?}", names(&list));
    // The same controller still offers the head of a newer channel: it was alive to decide.
    set_channel(&client, "stable-3.14").await;
    plan_for_3_14_8(&client, "an InstallPlan for the stable-3.14 head").await;
}

#[tokio::test]
async fn kubernetes_flavour_has_no_olm_and_a_plain_operator_deployment() {
    georep_harness::sim::install_crypto_provider();
    let sim = SimCluster::start(ClusterConfig::new("site-k"))
        .await
        .unwrap();
    assert!(matches!(
        OlmModel::start(&sim).await,
        Err(olm::Error::NotOpenshift { .. })
    ));
    let client = sim.client().await.unwrap();
    olm::install_operator_deployment(&client, NS, "quay-operator", "3.14.8")
        .await
        .unwrap();
    let env = deployment_env(&client, "quay-operator").await;
    assert_eq!(
        env,
        (
            "quay.io/projectquay/quay-operator:3.14.8".to_owned(),
            "3.14.8".to_owned()
        )
    );
}

fn package_manifests(client: &Client) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("packages.operators.coreos.com", "v1", "PackageManifest");
    Api::namespaced_with(
        client.clone(),
        NS,
        &ApiResource::from_gvk_with_plural(&gvk, "packagemanifests"),
    )
}

/// The head the PackageManifest shows for `channel`, once it shows `csv`.
async fn manifest_head(client: &Client, channel: &str, csv: &str) -> serde_json::Value {
    eventually(&format!("the PackageManifest to show {csv}"), || async {
        let manifest = package_manifests(client)
            .get_opt("project-quay")
            .await
            .unwrap()?;
        let found = manifest.data["status"]["channels"]
            .as_array()?
            .iter()
            .find(|c| c["name"] == channel)?
            .clone();
        (found["currentCSV"] == json!(csv)).then_some((manifest, found))
    })
    .await
    .1
}

#[tokio::test]
async fn a_published_patch_the_provider_never_heard_of_is_offered_and_installed() {
    let (_sim, client, model) = openshift().await;
    install(&client, "3.14.8").await;
    let head = manifest_head(&client, "stable-3.14", "quay-operator.v3.14.8").await;
    assert_eq!(head["currentCSVDesc"]["version"], json!("3.14.8"));
    let labels = package_manifests(&client)
        .get("project-quay")
        .await
        .unwrap()
        .metadata
        .labels
        .unwrap();
    assert_eq!(labels["catalog"], "redhat-operators");
    assert_eq!(labels["catalog-namespace"], "openshift-marketplace");

    model
        .publish("stable-3.14", olm::catalogue::Entry::release("3.14.11"))
        .unwrap();
    let head = manifest_head(&client, "stable-3.14", "quay-operator.v3.14.11").await;
    assert_eq!(head["currentCSVDesc"]["version"], json!("3.14.11"));
    let plan = eventually("an InstallPlan for 3.14.11", || async {
        plans(&client)
            .get_opt("install-quay-operator-v3-14-11")
            .await
            .unwrap()
    })
    .await;
    assert_eq!(
        plan.data["spec"]["clusterServiceVersionNames"],
        json!(["quay-operator.v3.14.11"])
    );
    plans(&client)
        .patch(
            "install-quay-operator-v3-14-11",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"approved": true}})),
        )
        .await
        .unwrap();
    let env = eventually("the operator Deployment to run 3.14.11", || async {
        let env = operator_env(&client).await;
        (env.1 == "3.14.11").then_some(env)
    })
    .await;
    assert_eq!(env.0, "quay.io/projectquay/quay-operator:3.14.11");
}

#[tokio::test]
async fn a_plan_also_installs_the_pending_csvs_of_other_operators_in_the_namespace() {
    let (_sim, client, _model) = openshift().await;
    let etcd = json!({"apiVersion": "operators.coreos.com/v1alpha1", "kind": "Subscription",
        "metadata": {"name": "etcd", "namespace": NS},
        "spec": {"name": "etcd", "channel": "singlenamespace-alpha", "source": "community-operators",
                 "sourceNamespace": "openshift-marketplace", "installPlanApproval": "Manual"}});
    georep_harness::sim::olm::install_operator(&client, NS, "quay-operator", "3.14.0")
        .await
        .unwrap();
    subs(&client)
        .patch(
            "etcd",
            &PatchParams::apply("test").force(),
            &Patch::Apply(&etcd),
        )
        .await
        .unwrap();
    subs(&client)
        .patch_status(
            "etcd",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"installedCSV": "etcdoperator.v0.9.2",
                "currentCSV": "etcdoperator.v0.9.4", "state": "UpgradePending"}})),
        )
        .await
        .unwrap();
    // The plan may predate the etcd Subscription; a new channel head gets a new plan.
    set_channel(&client, "stable-3.15").await;
    let plan = eventually("an InstallPlan for 3.15.7", || async {
        plans(&client)
            .get_opt("install-quay-operator-v3-15-7")
            .await
            .unwrap()
    })
    .await;
    assert_eq!(
        plan.data["spec"]["clusterServiceVersionNames"],
        json!(["quay-operator.v3.15.7", "etcdoperator.v0.9.4"])
    );
    plans(&client)
        .patch(
            "install-quay-operator-v3-15-7",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"approved": true}})),
        )
        .await
        .unwrap();
    eventually("the other operator to be upgraded too", || async {
        let s = subs(&client).get("etcd").await.unwrap();
        (s.data["status"]["installedCSV"] == json!("etcdoperator.v0.9.4")).then_some(())
    })
    .await;
}
