//! The simulated cluster, driven by a kube-rs client like any real cluster.

use std::time::Duration;

use georep_harness::sim::apiserver::UNNAMED_CLIENT;
use georep_harness::sim::{ClusterConfig, FaultKind, FaultRule, Flavour, SimCluster};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, WatchEvent,
    WatchParams,
};
use kube::core::{ApiResource, GroupVersionKind, Status};
use kube::runtime::wait::await_condition;
use kube::{Client, Error as KubeError};
use serde_json::{Value, json};
use tokio_stream::StreamExt as _;

async fn cluster() -> (SimCluster, Client) {
    cluster_with(ClusterConfig::new("site-a")).await
}

async fn cluster_with(config: ClusterConfig) -> (SimCluster, Client) {
    georep_harness::sim::install_crypto_provider();
    let sim = SimCluster::start(config).await.unwrap();
    let client = sim.client().await.unwrap();
    (sim, client)
}

fn cm(name: &str, data: Value) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": data})).unwrap()
}

/// An empty ConfigMap `name` held by the finalizer `example.com/hold`.
fn held_cm(name: &str) -> ConfigMap {
    let mut held = cm(name, json!({}));
    held.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    held
}

/// An empty ConfigMap `name` whose `ownerReferences` name the ConfigMaps `owners`
/// (name, uid), as a controller writes them for its dependents.
fn dependent_cm(name: &str, owners: &[(&str, &str)]) -> ConfigMap {
    let mut dependent = cm(name, json!({}));
    let references = owners
        .iter()
        .map(|(owner, uid)| {
            serde_json::from_value(json!({
                "apiVersion": "v1", "kind": "ConfigMap", "name": owner, "uid": uid
            }))
            .unwrap()
        })
        .collect();
    dependent.metadata.owner_references = Some(references);
    dependent
}

/// Clears the finalizers of the ConfigMap `name`, as the controller holding it would.
async fn remove_finalizers(api: &Api<ConfigMap>, name: &str) {
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
}

fn api_code(err: &KubeError) -> u16 {
    match err {
        KubeError::Api(status) => status.code,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// The API server's Status in `err`, asserted to carry `code` and `reason` and to mention
/// `needle` in its message.
fn assert_status(err: KubeError, code: u16, reason: &str, needle: &str) -> Box<Status> {
    let KubeError::Api(status) = err else {
        panic!("expected an API error, got {err:?}")
    };
    assert_eq!(
        (status.code, status.reason.as_str()),
        (code, reason),
        "{status:?}"
    );
    assert!(status.message.contains(needle), "{}", status.message);
    status
}

fn quay_api(client: &Client, ns: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("quay.redhat.com", "v1", "QuayRegistry");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "quayregistries");
    Api::namespaced_with(client.clone(), ns, &ar)
}

fn quay_registry(name: &str, components: Value) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "quay.redhat.com/v1", "kind": "QuayRegistry",
        "metadata": {"name": name}, "spec": {"components": components}
    }))
    .unwrap()
}

async fn create_ns(client: &Client, name: &str) {
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
}

#[tokio::test]
async fn kube_client_creates_gets_and_lists_configmaps_over_https() {
    let (sim, client) = cluster().await;
    assert!(sim.url().starts_with("https://127.0.0.1:"));
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let created = api
        .create(&PostParams::default(), &cm("a", json!({"k": "v"})))
        .await
        .unwrap();
    let meta = &created.metadata;
    assert!(meta.uid.is_some() && meta.creation_timestamp.is_some());
    assert_eq!(meta.namespace.as_deref(), Some("default"));
    let got = api.get("a").await.unwrap();
    assert_eq!(got.data.unwrap()["k"], "v");
    let list = api.list(&ListParams::default()).await.unwrap();
    assert_eq!(list.items.len(), 1);
    assert!(list.metadata.resource_version.is_some());
}

#[tokio::test]
async fn rejects_requests_with_a_wrong_token_with_401_status() {
    let (sim, _) = cluster().await;
    let yaml = sim
        .kubeconfig()
        .unwrap()
        .replace(sim.token().unwrap(), "wrong-token");
    let kc = kube::config::Kubeconfig::from_yaml(&yaml).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    let client = Client::try_from(config).unwrap();
    let err = Api::<ConfigMap>::namespaced(client, "default")
        .list(&ListParams::default())
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), 401);
}

#[tokio::test]
async fn create_of_an_existing_name_is_already_exists() {
    let (_sim, client) = cluster().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    api.create(&PostParams::default(), &cm("dup", json!({})))
        .await
        .unwrap();
    let err = api
        .create(&PostParams::default(), &cm("dup", json!({})))
        .await
        .unwrap_err();
    assert_status(err, 409, "AlreadyExists", "");
}

#[tokio::test]
async fn update_with_a_stale_resource_version_conflicts() {
    let (_sim, client) = cluster().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let first = api
        .create(&PostParams::default(), &cm("x", json!({"a": "1"})))
        .await
        .unwrap();
    let mut fresh = first.clone();
    fresh.data = Some([("a".to_owned(), "2".to_owned())].into());
    let second = api
        .replace("x", &PostParams::default(), &fresh)
        .await
        .unwrap();
    assert_ne!(
        second.metadata.resource_version,
        first.metadata.resource_version
    );
    let mut stale = first;
    stale.data = Some([("a".to_owned(), "3".to_owned())].into());
    let err = api
        .replace("x", &PostParams::default(), &stale)
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), 409);
    assert_eq!(api.get("x").await.unwrap().data.unwrap()["a"], "2");
}

#[tokio::test]
async fn creating_in_a_missing_namespace_is_not_found() {
    let (_sim, client) = cluster().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "nowhere");
    let err = api
        .create(&PostParams::default(), &cm("x", json!({})))
        .await
        .unwrap_err();
    assert_status(err, 404, "NotFound", "namespaces \"nowhere\" not found");
}

#[tokio::test]
async fn generation_moves_on_spec_changes_only() {
    let (_sim, client) = cluster().await;
    let api: Api<Deployment> = Api::namespaced(client, "default");
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx:1"}]}}}
    })).unwrap();
    let created = api.create(&PostParams::default(), &d).await.unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    let pp = PatchParams::default();
    let labelled = api
        .patch(
            "web",
            &pp,
            &Patch::Merge(json!({"metadata": {"labels": {"x": "1"}}})),
        )
        .await
        .unwrap();
    assert_eq!(labelled.metadata.generation, Some(1));
    let status = api
        .patch_status(
            "web",
            &pp,
            &Patch::Merge(json!({"status": {"replicas": 1}})),
        )
        .await
        .unwrap();
    assert_eq!(status.metadata.generation, Some(1));
    let scaled = api
        .patch("web", &pp, &Patch::Merge(json!({"spec": {"replicas": 3}})))
        .await
        .unwrap();
    assert_eq!(scaled.metadata.generation, Some(2));
}

#[tokio::test]
async fn status_written_on_the_main_resource_is_ignored_when_a_status_subresource_exists() {
    let (_sim, client) = cluster().await;
    let api = quay_api(&client, "default");
    let reg = quay_registry("r", json!([]));
    api.create(&PostParams::default(), &reg).await.unwrap();
    let pp = PatchParams::default();
    let main = api
        .patch(
            "r",
            &pp,
            &Patch::Merge(json!({"status": {"currentVersion": "3.9"}})),
        )
        .await
        .unwrap();
    assert!(
        main.data
            .get("status")
            .is_none_or(|s| s.get("currentVersion").is_none())
    );
    let via_status = api
        .patch_status(
            "r",
            &pp,
            &Patch::Merge(json!({"status": {"currentVersion": "3.9"}})),
        )
        .await
        .unwrap();
    assert_eq!(via_status.data["status"]["currentVersion"], "3.9");
}

#[tokio::test]
async fn noop_patch_keeps_the_resource_version() {
    let (_sim, client) = cluster().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let created = api
        .create(&PostParams::default(), &cm("n", json!({"a": "1"})))
        .await
        .unwrap();
    let patched = api
        .patch(
            "n",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"a": "1"}})),
        )
        .await
        .unwrap();
    assert_eq!(
        patched.metadata.resource_version,
        created.metadata.resource_version
    );
}

#[tokio::test]
async fn json_patch_and_strategic_merge_patch_change_the_object() {
    let (_sim, client) = cluster().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    api.create(&PostParams::default(), &cm("p", json!({"a": "1"})))
        .await
        .unwrap();
    let ops: json_patch::Patch =
        serde_json::from_value(json!([{"op": "add", "path": "/data/b", "value": "2"}])).unwrap();
    let patched = api
        .patch("p", &PatchParams::default(), &Patch::<()>::Json(ops))
        .await
        .unwrap();
    assert_eq!(patched.data.as_ref().unwrap()["b"], "2");
    let smp = api
        .patch(
            "p",
            &PatchParams::default(),
            &Patch::Strategic(json!({"data": {"c": "3"}})),
        )
        .await
        .unwrap();
    assert_eq!(smp.data.unwrap().len(), 3);
}

#[tokio::test]
async fn label_and_field_selectors_filter_lists() {
    let (_sim, client) = cluster().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    for (name, env) in [("a", "prod"), ("b", "dev"), ("c", "prod")] {
        let mut c = cm(name, json!({}));
        c.metadata.labels = Some([("env".to_owned(), env.to_owned())].into());
        api.create(&PostParams::default(), &c).await.unwrap();
    }
    let names = |l: kube::core::ObjectList<ConfigMap>| -> Vec<String> {
        l.items
            .into_iter()
            .map(|c| c.metadata.name.unwrap())
            .collect()
    };
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("env=prod"))
                .await
                .unwrap()
        ),
        ["a", "c"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("env notin (prod)"))
                .await
                .unwrap()
        ),
        ["b"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().fields("metadata.name=c"))
                .await
                .unwrap()
        ),
        ["c"]
    );
    let err = api
        .list(&ListParams::default().fields("data.a=1"))
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), 400);
}

#[tokio::test]
async fn limit_and_continue_page_through_a_list() {
    let (_sim, client) = cluster().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    for i in 0..5 {
        api.create(&PostParams::default(), &cm(&format!("c{i}"), json!({})))
            .await
            .unwrap();
    }
    let first = api.list(&ListParams::default().limit(2)).await.unwrap();
    assert_eq!(first.items.len(), 2);
    let token = first.metadata.continue_.clone().unwrap();
    let second = api
        .list(&ListParams::default().limit(10).continue_token(&token))
        .await
        .unwrap();
    let names: Vec<_> = second
        .items
        .iter()
        .map(|c| c.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["c2", "c3", "c4"]);
    assert!(second.metadata.continue_.is_none());
}

#[tokio::test]
async fn discovery_finds_builtin_and_quay_registry_resources() {
    let (_sim, client) = cluster().await;
    let discovery = kube::discovery::Discovery::new(client.clone())
        .run()
        .await
        .unwrap();
    let groups: Vec<String> = discovery.groups().map(|g| g.name().to_owned()).collect();
    assert!(groups.contains(&"quay.redhat.com".to_owned()), "{groups:?}");
    assert!(groups.contains(&"apps".to_owned()));
    let gvk = GroupVersionKind::gvk("apps", "v1", "Deployment");
    let (_, caps) = kube::discovery::pinned_kind(&client, &gvk).await.unwrap();
    assert!(
        caps.subresources
            .iter()
            .any(|(r, _)| r.plural == "deployments/scale" || r.plural == "scale"),
        "{:?}",
        caps.subresources
    );
}

#[tokio::test]
async fn openshift_flavour_serves_routes_olm_types_and_the_monitoring_stack() {
    let mut config = ClusterConfig::new("site-b");
    config.flavour = Flavour::Openshift;
    let (_sim, client) = cluster_with(config).await;
    let discovery = kube::discovery::Discovery::new(client.clone())
        .run()
        .await
        .unwrap();
    let groups: Vec<String> = discovery.groups().map(|g| g.name().to_owned()).collect();
    assert!(
        groups.contains(&"route.openshift.io".to_owned()),
        "{groups:?}"
    );
    assert!(groups.contains(&"operators.coreos.com".to_owned()));
    // What OpenShift's monitoring stack brings, and the Quay Operator's monitoring check
    // reads (quay-operator `controllers/quay/features.go`, `checkMonitoringAvailable`).
    let monitoring: Vec<String> = client
        .list_api_group_resources("monitoring.coreos.com/v1")
        .await
        .unwrap()
        .resources
        .into_iter()
        .map(|r| r.name)
        .collect();
    for plural in ["servicemonitors", "prometheusrules"] {
        assert!(monitoring.contains(&plural.to_owned()), "{monitoring:?}");
    }
    let namespaces = Api::<Namespace>::all(client.clone());
    assert!(
        namespaces
            .get_opt("openshift-config-managed")
            .await
            .unwrap()
            .is_some()
    );

    let (_sim2, plain) = cluster().await;
    let plain_groups: Vec<String> = kube::discovery::Discovery::new(plain.clone())
        .run()
        .await
        .unwrap()
        .groups()
        .map(|g| g.name().to_owned())
        .collect();
    assert!(!plain_groups.contains(&"route.openshift.io".to_owned()));
    assert!(!plain_groups.contains(&"monitoring.coreos.com".to_owned()));
    assert!(
        Api::<Namespace>::all(plain)
            .get_opt("openshift-config-managed")
            .await
            .unwrap()
            .is_none()
    );

    let mut config = ClusterConfig::new("site-c");
    config.flavour = Flavour::Openshift;
    config.monitoring = false;
    let (_sim3, bare) = cluster_with(config).await;
    let bare_groups: Vec<String> = kube::discovery::Discovery::new(bare)
        .run()
        .await
        .unwrap()
        .groups()
        .map(|g| g.name().to_owned())
        .collect();
    assert!(bare_groups.contains(&"route.openshift.io".to_owned()));
    assert!(!bare_groups.contains(&"monitoring.coreos.com".to_owned()));
}

#[tokio::test]
async fn invalid_quay_registry_is_rejected_with_the_cel_message_and_field() {
    let (sim, client) = cluster().await;
    let api = quay_api(&client, "default");
    let before = sim.faults().counters().writes;
    let bad = quay_registry(
        "bad",
        json!([{"kind": "postgres", "managed": false, "overrides": {"replicas": 1}}]),
    );
    let err = api.create(&PostParams::default(), &bad).await.unwrap_err();
    let status = assert_status(
        err,
        422,
        "Invalid",
        "cannot set overrides on unmanaged component",
    );
    assert!(
        status.message.contains("spec.components[0]"),
        "{}",
        status.message
    );
    assert_eq!(
        sim.faults().counters().writes,
        before,
        "a rejected create is no write"
    );
    let good = quay_registry("good", json!([{"kind": "postgres", "managed": false}]));
    api.create(&PostParams::default(), &good).await.unwrap();
}

#[tokio::test]
async fn quay_registry_rejects_an_unknown_component_kind() {
    let (_sim, client) = cluster().await;
    let api = quay_api(&client, "default");
    let bad = quay_registry("bad", json!([{"kind": "bogus", "managed": true}]));
    let err = api.create(&PostParams::default(), &bad).await.unwrap_err();
    assert_status(err, 422, "Invalid", "spec.components[0].kind");
}

#[tokio::test]
async fn created_crd_is_served_and_deleted_crd_stops_being_served() {
    let (_sim, client) = cluster().await;
    let crds: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
            "customresourcedefinitions",
        ),
    );
    let crd: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                     "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object",
                         "properties": {"size": {"type": "integer", "default": 1}}}}}}}]}
    })).unwrap();
    crds.create(&PostParams::default(), &crd).await.unwrap();
    let established = await_condition(
        crds.clone(),
        "widgets.example.com",
        |o: Option<&DynamicObject>| {
            o.and_then(|o| o.data.pointer("/status/conditions"))
                .and_then(Value::as_array)
                .is_some_and(|c| {
                    c.iter()
                        .any(|c| c["type"] == "Established" && c["status"] == "True")
                })
        },
    );
    tokio::time::timeout(Duration::from_secs(10), established)
        .await
        .unwrap()
        .unwrap();
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.com", "v1", "Widget"),
        "widgets",
    );
    let widgets: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &ar);
    let w: DynamicObject =
        serde_json::from_value(json!({"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w"}, "spec": {"extra": true}}))
        .unwrap();
    let created = widgets.create(&PostParams::default(), &w).await.unwrap();
    assert_eq!(
        created.data["spec"],
        json!({"size": 1}),
        "defaulted and pruned"
    );
    crds.delete("widgets.example.com", &DeleteParams::default())
        .await
        .unwrap();
    let err = widgets.get("w").await.unwrap_err();
    assert_eq!(api_code(&err), 404);
}

#[tokio::test]
async fn watch_from_a_resource_version_sees_later_changes_in_order() {
    let (_sim, client) = cluster().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let created = api
        .create(&PostParams::default(), &cm("w", json!({"a": "1"})))
        .await
        .unwrap();
    let rv = created.metadata.resource_version.clone().unwrap();
    api.patch(
        "w",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"a": "2"}})),
    )
    .await
    .unwrap();
    api.delete("w", &DeleteParams::default()).await.unwrap();
    let stream = api
        .watch(&WatchParams::default().timeout(5), &rv)
        .await
        .unwrap();
    let mut stream = std::pin::pin!(stream);
    let mut seen = Vec::new();
    while let Some(event) = stream.try_next().await.unwrap() {
        match event {
            WatchEvent::Modified(c) => seen.push(format!("MODIFIED {}", c.data.unwrap()["a"])),
            WatchEvent::Deleted(_) => {
                seen.push("DELETED".to_owned());
                break;
            }
            other => seen.push(format!("{other:?}")),
        }
    }
    assert_eq!(seen, ["MODIFIED 2", "DELETED"]);
}

/// What `kubectl get x -w` relies on: it GETs, then watches from "0" and drops the first event.
#[tokio::test]
async fn watch_from_zero_folds_a_write_made_after_a_get_into_its_first_added_event() {
    let (_sim, client) = cluster().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    api.create(&PostParams::default(), &cm("x", json!({"v": "1"})))
        .await
        .unwrap();
    assert_eq!(api.get("x").await.unwrap().data.unwrap()["v"], "1");
    api.patch(
        "x",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"v": "2"}})),
    )
    .await
    .unwrap();
    let stream = api
        .watch(
            &WatchParams::default().fields("metadata.name=x").timeout(1),
            "0",
        )
        .await
        .unwrap();
    let mut stream = std::pin::pin!(stream);
    let mut seen = Vec::new();
    while let Some(event) = stream.try_next().await.unwrap() {
        match event {
            WatchEvent::Added(c) => seen.push(format!("ADDED {}", c.data.unwrap()["v"])),
            WatchEvent::Modified(c) => seen.push(format!("MODIFIED {}", c.data.unwrap()["v"])),
            WatchEvent::Bookmark(_) => {}
            other => seen.push(format!("{other:?}")),
        }
    }
    assert_eq!(seen, ["ADDED 2"], "the current state only, no replay");
}

#[tokio::test]
async fn open_watches_count_a_watch_from_its_answer_until_its_client_goes() {
    let (sim, client) = cluster().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    assert_eq!(sim.watches().count("configmaps"), 0);
    let stream = api
        .watch(&WatchParams::default().timeout(60), "0")
        .await
        .unwrap();
    assert_eq!(sim.watches().count("configmaps"), 1);
    assert_eq!(sim.watches().count("quayregistries.quay.redhat.com"), 0);
    drop(stream);
    let gone = async {
        while sim.watches().count("configmaps") > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), gone)
        .await
        .expect("the watch stopped counting once its client went away");
}

#[tokio::test]
async fn watch_from_a_compacted_resource_version_gets_410_gone() {
    let mut config = ClusterConfig::new("site-a");
    config.history_limit = 3;
    let (_sim, client) = cluster_with(config).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    for i in 0..10 {
        api.create(&PostParams::default(), &cm(&format!("g{i}"), json!({})))
            .await
            .unwrap();
    }
    let stream = api
        .watch(&WatchParams::default().timeout(5), "1")
        .await
        .unwrap();
    let mut stream = std::pin::pin!(stream);
    match stream.try_next().await.unwrap() {
        Some(WatchEvent::Error(e)) => assert_eq!(e.code, 410),
        other => panic!("expected a 410 error event, got {other:?}"),
    }
}

#[tokio::test]
async fn await_condition_sees_a_status_change() {
    let (_sim, client) = cluster().await;
    let api = quay_api(&client, "default");
    api.create(&PostParams::default(), &quay_registry("r", json!([])))
        .await
        .unwrap();
    let waiter = tokio::spawn(await_condition(
        api.clone(),
        "r",
        |o: Option<&DynamicObject>| {
            o.and_then(|o| o.data.pointer("/status/currentVersion"))
                .is_some()
        },
    ));
    api.patch_status(
        "r",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"currentVersion": "3.15.0"}})),
    )
    .await
    .unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(seen.unwrap().data["status"]["currentVersion"], "3.15.0");
}

#[tokio::test]
async fn finalizers_hold_deletion_until_removed() {
    let (_sim, client) = cluster().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    api.create(&PostParams::default(), &held_cm("f"))
        .await
        .unwrap();
    api.delete("f", &DeleteParams::default()).await.unwrap();
    let held = api.get("f").await.unwrap();
    assert!(held.metadata.deletion_timestamp.is_some());
    remove_finalizers(&api, "f").await;
    assert_eq!(api_code(&api.get("f").await.unwrap_err()), 404);
}

#[tokio::test]
async fn dependents_are_garbage_collected_when_their_owner_goes() {
    let (_sim, client) = cluster().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let owner = api
        .create(&PostParams::default(), &cm("owner", json!({})))
        .await
        .unwrap();
    let dep = dependent_cm("dep", &[("owner", &owner.metadata.uid.unwrap())]);
    api.create(&PostParams::default(), &dep).await.unwrap();
    api.delete("owner", &DeleteParams::background())
        .await
        .unwrap();
    assert_eq!(api_code(&api.get("dep").await.unwrap_err()), 404);
}

/// An owner held by a finalizer goes when its finalizer is removed, and its dependents with
/// it, before anything else is written (a real cluster's garbage collector does not wait for
/// an unrelated write either).
#[tokio::test]
async fn dependents_go_when_the_owners_last_finalizer_is_removed() {
    let (_sim, client) = cluster().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let owner = api
        .create(&PostParams::default(), &held_cm("owner"))
        .await
        .unwrap();
    let dep = dependent_cm("dep", &[("owner", &owner.metadata.uid.unwrap())]);
    api.create(&PostParams::default(), &dep).await.unwrap();
    api.delete("owner", &DeleteParams::background())
        .await
        .unwrap();
    assert!(api.get("dep").await.is_ok(), "kept while the owner is held");
    remove_finalizers(&api, "owner").await;
    assert_eq!(api_code(&api.get("owner").await.unwrap_err()), 404);
    assert_eq!(api_code(&api.get("dep").await.unwrap_err()), 404);
}

/// An object created with owners that are all gone (a controller acting on a stale cache)
/// is garbage: the collector removes it, as a real cluster's does, so it cannot hold a name
/// a new owner's dependent needs.
#[tokio::test]
async fn an_object_created_for_a_vanished_owner_is_collected() {
    let (_sim, client) = cluster().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let owner = api
        .create(&PostParams::default(), &cm("owner", json!({})))
        .await
        .unwrap();
    let owner_uid = owner.metadata.uid.unwrap();
    api.delete("owner", &DeleteParams::background())
        .await
        .unwrap();
    let late = dependent_cm("late", &[("owner", &owner_uid)]);
    api.create(&PostParams::default(), &late).await.unwrap();
    assert_eq!(api_code(&api.get("late").await.unwrap_err()), 404);
    // One live owner among gone ones keeps it.
    let live = api
        .create(&PostParams::default(), &cm("live", json!({})))
        .await
        .unwrap();
    let kept = dependent_cm(
        "kept",
        &[("owner", &owner_uid), ("live", &live.metadata.uid.unwrap())],
    );
    api.create(&PostParams::default(), &kept).await.unwrap();
    assert!(api.get("kept").await.is_ok());
}

#[tokio::test]
async fn deleting_a_namespace_deletes_its_contents() {
    let (_sim, client) = cluster().await;
    create_ns(&client, "doomed").await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "doomed");
    api.create(&PostParams::default(), &cm("x", json!({})))
        .await
        .unwrap();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .delete("doomed", &DeleteParams::default())
        .await
        .unwrap();
    assert_eq!(api_code(&api.get("x").await.unwrap_err()), 404);
    assert_eq!(api_code(&namespaces.get("doomed").await.unwrap_err()), 404);
}

#[tokio::test]
async fn scale_subresource_reads_and_writes_replicas() {
    let (_sim, client) = cluster().await;
    let api: Api<Deployment> = Api::namespaced(client, "default");
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}
    })).unwrap();
    api.create(&PostParams::default(), &d).await.unwrap();
    assert_eq!(
        api.get_scale("web").await.unwrap().spec.unwrap().replicas,
        Some(2)
    );
    api.patch_scale(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 5}})),
    )
    .await
    .unwrap();
    assert_eq!(
        api.get("web").await.unwrap().spec.unwrap().replicas,
        Some(5)
    );
}

#[tokio::test]
async fn server_side_apply_creates_a_missing_object() {
    let (_sim, client) = cluster().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"a": "1"}});
    let created = api
        .patch("ssa", &PatchParams::apply("test"), &Patch::Apply(&obj))
        .await
        .unwrap();
    assert_eq!(created.data.unwrap()["a"], "1");
}

#[tokio::test]
async fn injected_faults_fail_the_next_matching_requests_then_stop() {
    let (sim, client) = cluster().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    sim.faults().inject(FaultRule {
        verb: Some("get".into()),
        resource: Some("configmaps".into()),
        name: None,
        count: 1,
        fault: FaultKind::InternalError,
    });
    api.create(&PostParams::default(), &cm("f", json!({})))
        .await
        .unwrap();
    assert_eq!(api_code(&api.get("f").await.unwrap_err()), 500);
    api.get("f").await.unwrap();
}

#[tokio::test]
async fn counters_show_that_reads_made_no_write() {
    let (sim, client) = cluster().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    sim.faults().reset_counters();
    api.list(&ListParams::default()).await.unwrap();
    let _ = api.get("missing").await;
    let counters = sim.faults().counters();
    assert_eq!(counters.writes, 0);
    assert_eq!(counters.by_verb["list"], 1);
    assert_eq!(counters.by_verb["get"], 1);
}

#[tokio::test]
async fn counters_tell_one_reused_connection_from_one_per_client() {
    let (sim, client) = cluster().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    for _ in 0..5 {
        api.list(&ListParams::default()).await.unwrap();
    }
    let counters = sim.faults().counters();
    // Exactly one: the five lists go one after another on one client, so its pool always has
    // the first connection idle when the next request starts. A second would mean the server
    // closed the connection after a response (no keep-alive) or the client did not reuse it;
    // none would mean the requests were not counted under the client that sent them.
    assert_eq!(
        counters.connections_of(UNNAMED_CLIENT),
        1,
        "one client, one kept connection: {counters:?}"
    );

    let fresh: Vec<String> = (0..3).map(|i| format!("fresh-{i}")).collect();
    for name in &fresh {
        let api: Api<ConfigMap> = Api::namespaced(sim.client_for(name).await.unwrap(), "default");
        api.list(&ListParams::default()).await.unwrap();
    }
    let counters = sim.faults().counters();
    for name in &fresh {
        assert_eq!(
            counters.connections_of(name),
            1,
            "each new client connects anew: {counters:?}"
        );
    }
    assert_eq!(counters.connections_of(UNNAMED_CLIENT), 1, "{counters:?}");
    // A connection carries requests only after its TLS handshake.
    assert!(counters.tls_handshakes >= 4, "{counters:?}");
}

#[tokio::test]
async fn unreachable_cluster_refuses_connections_until_restored() {
    let (sim, client) = cluster().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    // The in-cluster client (the operator's) keeps its watch and its reads while the
    // network between the outside and the cluster is cut.
    let in_cluster: Api<ConfigMap> =
        Api::namespaced(sim.client_for("in-cluster-test").await.unwrap(), "default");
    let watch = in_cluster
        .watch(&WatchParams::default(), "0")
        .await
        .unwrap();
    let mut watch = Box::pin(watch);
    sim.faults().set_unreachable(true);
    let addr = sim.address();
    let refused = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if tokio::net::TcpStream::connect(addr).await.is_err() {
                return;
            }
            tokio::task::yield_now().await;
        }
    });
    refused.await.unwrap();
    assert!(api.list(&ListParams::default()).await.is_err());
    let made = ConfigMap {
        metadata: kube::api::ObjectMeta {
            name: Some("made-while-cut-off".to_owned()),
            ..Default::default()
        },
        ..Default::default()
    };
    in_cluster
        .create(&PostParams::default(), &made)
        .await
        .unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(event) = watch.next().await {
            if let Ok(WatchEvent::Added(cm)) = event
                && cm.metadata.name.as_deref() == Some("made-while-cut-off")
            {
                return true;
            }
        }
        false
    });
    assert!(
        seen.await.unwrap(),
        "the in-cluster watch ended while the cluster was cut off from outside"
    );
    sim.faults().set_unreachable(false);
    let back = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if api.list(&ListParams::default()).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    back.await.unwrap();
}

#[tokio::test]
async fn server_side_apply_conflicts_with_another_manager_unless_forced() {
    let (_sim, client) = cluster().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let obj = |v: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "s"}, "data": {"a": v}});
    api.patch("s", &PatchParams::apply("alice"), &Patch::Apply(&obj("1")))
        .await
        .unwrap();
    let err = api
        .patch("s", &PatchParams::apply("bob"), &Patch::Apply(&obj("2")))
        .await
        .unwrap_err();
    assert_status(err, 409, "Conflict", "conflict with \"alice\"");
    let forced = api
        .patch(
            "s",
            &PatchParams::apply("bob").force(),
            &Patch::Apply(&obj("2")),
        )
        .await
        .unwrap();
    assert_eq!(forced.data.unwrap()["a"], "2");
    let managers: Vec<String> = forced
        .metadata
        .managed_fields
        .unwrap()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert_eq!(managers, ["bob"]);
}

#[tokio::test]
async fn server_side_apply_removes_fields_the_manager_stops_applying() {
    let (_sim, client) = cluster().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let pp = PatchParams::apply("tf");
    let full = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "r", "labels": {"keep": "1", "drop": "1"}}, "data": {"a": "1", "b": "2"}});
    api.patch("r", &pp, &Patch::Apply(&full)).await.unwrap();
    api.patch(
        "r",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"c": "3"}})),
    )
    .await
    .unwrap();
    let shrunk = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "r", "labels": {"keep": "1"}}, "data": {"a": "1"}});
    let after = api.patch("r", &pp, &Patch::Apply(&shrunk)).await.unwrap();
    let data = after.data.unwrap();
    assert_eq!(
        data.keys().cloned().collect::<Vec<_>>(),
        ["a", "c"],
        "b dropped, c owned by the merge patch"
    );
    assert_eq!(
        after
            .metadata
            .labels
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>(),
        ["keep"]
    );
}

#[tokio::test]
async fn repeated_identical_server_side_apply_is_a_noop() {
    let (_sim, client) = cluster().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "same"}, "data": {"a": "1"}});
    let first = api
        .patch("same", &PatchParams::apply("tf"), &Patch::Apply(&obj))
        .await
        .unwrap();
    let second = api
        .patch("same", &PatchParams::apply("tf"), &Patch::Apply(&obj))
        .await
        .unwrap();
    assert_eq!(
        first.metadata.resource_version,
        second.metadata.resource_version
    );
}

#[tokio::test]
async fn strategic_merge_patch_merges_containers_by_name() {
    let (_sim, client) = cluster().await;
    let api: Api<Deployment> = Api::namespaced(client, "default");
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                     {"name": "web", "image": "nginx:1"}, {"name": "side", "image": "busybox"}]}}}
    }))
    .unwrap();
    api.create(&PostParams::default(), &d).await.unwrap();
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}});
    let patched = api
        .patch("web", &PatchParams::default(), &Patch::Strategic(patch))
        .await
        .unwrap();
    let containers = patched.spec.unwrap().template.spec.unwrap().containers;
    let images: Vec<_> = containers
        .iter()
        .map(|c| c.image.clone().unwrap())
        .collect();
    assert_eq!(images, ["nginx:2", "busybox"]);
}

#[tokio::test]
async fn delete_collection_removes_only_selected_objects() {
    let (_sim, client) = cluster().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    for (name, tier) in [("a", "x"), ("b", "x"), ("c", "y")] {
        let mut c = cm(name, json!({}));
        c.metadata.labels = Some([("tier".to_owned(), tier.to_owned())].into());
        api.create(&PostParams::default(), &c).await.unwrap();
    }
    api.delete_collection(
        &DeleteParams::default(),
        &ListParams::default().labels("tier=x"),
    )
    .await
    .unwrap();
    let left: Vec<_> = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|c| c.metadata.name.unwrap())
        .collect();
    assert_eq!(left, ["c"]);
}

#[tokio::test]
async fn watch_with_bookmarks_reports_progress() {
    let mut config = ClusterConfig::new("site-a");
    config.bookmark_interval = Duration::from_millis(50);
    let (_sim, client) = cluster_with(config).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let stream = api
        .watch(&WatchParams::default().timeout(10), "0")
        .await
        .unwrap();
    let mut stream = std::pin::pin!(stream);
    let first = tokio::time::timeout(Duration::from_secs(10), stream.try_next())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(first, Some(WatchEvent::Bookmark(_))), "{first:?}");
}

#[tokio::test]
async fn closing_watches_ends_open_streams() {
    let (sim, client) = cluster().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let stream = api
        .watch(&WatchParams::default().timeout(60), "0")
        .await
        .unwrap();
    let mut stream = std::pin::pin!(stream);
    sim.faults().close_watches();
    let end = tokio::time::timeout(Duration::from_secs(10), stream.try_next())
        .await
        .unwrap()
        .unwrap();
    assert!(end.is_none(), "{end:?}");
}

#[tokio::test]
async fn kube_client_retries_a_too_many_requests_fault() {
    let (sim, client) = cluster().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    sim.faults().reset_counters();
    sim.faults().inject(FaultRule {
        verb: Some("list".into()),
        resource: None,
        name: None,
        count: 1,
        fault: FaultKind::TooManyRequests {
            retry_after_seconds: 1,
        },
    });
    api.list(&ListParams::default()).await.unwrap();
    assert_eq!(
        sim.faults().counters().by_verb["list"],
        2,
        "one 429, one retry"
    );
}

#[tokio::test]
async fn admin_endpoint_injects_faults_and_reports_counters() {
    let (_sim, client) = cluster().await;
    let rule = json!({"verb": "get", "resource": "configmaps", "name": "x", "count": 1, "fault": {"type": "conflict"}});
    let request = http::Request::post("/sim/faults")
        .body(serde_json::to_vec(&rule).unwrap())
        .unwrap();
    client.request_text(request).await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    api.create(&PostParams::default(), &cm("x", json!({})))
        .await
        .unwrap();
    assert_eq!(api_code(&api.get("x").await.unwrap_err()), 409);
    api.get("x").await.unwrap();
    let counters: Value = serde_json::from_str(
        &client
            .request_text(
                http::Request::get("/sim/counters")
                    .body(Vec::new())
                    .unwrap(),
            )
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(counters["byVerb"]["get"], 2);
    assert_eq!(counters["writes"], 1);
}

#[tokio::test]
async fn dry_run_create_stores_nothing() {
    let (sim, client) = cluster().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let pp = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let answered = api
        .create(&pp, &cm("dry", json!({"a": "1"})))
        .await
        .unwrap();
    assert_eq!(answered.metadata.name.as_deref(), Some("dry"));
    assert_eq!(api_code(&api.get("dry").await.unwrap_err()), 404);
    assert_eq!(sim.faults().counters().writes, 0);
}

#[tokio::test]
async fn secret_string_data_keys_with_dots_stay_plain_keys() {
    use k8s_openapi::api::core::v1::Secret;
    let (_sim, client) = cluster().await;
    let secrets: Api<Secret> = Api::namespaced(client, "default");
    let secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "bundle"},
        "stringData": {"config.yaml": "SERVER_HOSTNAME: quay.example.com\n", "ssl.cert": "pem"},
    }))
    .unwrap();
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let stored = secrets.get("bundle").await.unwrap();
    let data = stored.data.unwrap();
    assert_eq!(
        data["config.yaml"].0,
        b"SERVER_HOSTNAME: quay.example.com\n"
    );
    assert_eq!(data["ssl.cert"].0, b"pem");
    assert!(stored.string_data.is_none());
}

/// Asked for metadata only, as kube-rs's `get_metadata` and `list_metadata` ask, the server
/// answers a Secret's metadata and never its data: what the provider's refresh relies on to
/// learn that a site's bundle exists without fetching the secrets in it.
#[tokio::test]
async fn a_secret_read_as_metadata_only_carries_no_data() {
    use k8s_openapi::api::core::v1::Secret;
    let (sim, client) = cluster().await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "default");
    let secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "bundle", "labels": {"app": "quay"}},
        "stringData": {"config.yaml": "DB_URI: postgresql://quay:hunter2@db/quay\n"},
    }))
    .unwrap();
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let raw = |path: &str, accept: &str| {
        http::Request::get(path)
            .header(http::header::ACCEPT, accept)
            .body(Vec::new())
            .unwrap()
    };
    let one = client
        .request_text(raw(
            "/api/v1/namespaces/default/secrets/bundle",
            "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
        ))
        .await
        .unwrap();
    let one: Value = serde_json::from_str(&one).unwrap();
    assert_eq!(one["kind"], "PartialObjectMetadata", "{one:#}");
    assert_eq!(one["apiVersion"], "meta.k8s.io/v1", "{one:#}");
    assert_eq!(one["metadata"]["labels"]["app"], "quay", "{one:#}");
    assert!(one.get("data").is_none(), "{one:#}");
    let all = client
        .request_text(raw(
            "/api/v1/namespaces/default/secrets",
            "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
        ))
        .await
        .unwrap();
    assert!(
        !all.contains("hunter2") && !all.contains("\"data\""),
        "{all}"
    );
    let all: Value = serde_json::from_str(&all).unwrap();
    assert_eq!(all["kind"], "PartialObjectMetadataList", "{all:#}");
    assert_eq!(all["items"][0]["metadata"]["name"], "bundle", "{all:#}");

    // Negotiated as kube-apiserver does: the version asked for; a list form for one object
    // is not acceptable; a Table request falls back to the whole object (kubectl's).
    let beta = client
        .request_text(raw(
            "/api/v1/namespaces/default/secrets/bundle",
            "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1beta1",
        ))
        .await
        .unwrap();
    let beta: Value = serde_json::from_str(&beta).unwrap();
    assert_eq!(beta["apiVersion"], "meta.k8s.io/v1beta1", "{beta:#}");
    let refused = client
        .request_text(raw(
            "/api/v1/namespaces/default/secrets/bundle",
            "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
        ))
        .await
        .unwrap_err();
    assert_eq!(api_code(&refused), 406);
    let table_or_json = client
        .request_text(raw(
            "/api/v1/namespaces/default/secrets/bundle",
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
        ))
        .await
        .unwrap();
    assert!(table_or_json.contains("\"data\""), "{table_or_json}");

    // What kube-rs makes of it, and a missing object is still a 404.
    let meta = secrets.get_metadata("bundle").await.unwrap();
    assert_eq!(meta.metadata.name.as_deref(), Some("bundle"));
    assert!(secrets.get_metadata_opt("absent").await.unwrap().is_none());
    let whole = || {
        sim.faults()
            .counters()
            .whole_objects_served
            .get("secrets")
            .copied()
    };
    assert_eq!(
        whole(),
        Some(1),
        "only the Table request's fallback was served whole"
    );
    // Without the media type parameter, the whole object, as before, and counted.
    assert!(secrets.get("bundle").await.unwrap().data.is_some());
    assert_eq!(whole(), Some(2));
}

fn hpa_api(client: &Client, version: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("autoscaling", version, "HorizontalPodAutoscaler");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "horizontalpodautoscalers");
    Api::namespaced_with(client.clone(), "default", &ar)
}

#[tokio::test]
async fn hpas_are_served_as_autoscaling_v1_by_conversion_from_v2() {
    let (sim, client) = cluster().await;
    let v2 = hpa_api(&client, "v2");
    let hpa: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "quay-app"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "quay-app"},
                 "minReplicas": 2, "maxReplicas": 20, "metrics": [
            {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 90}}},
            {"type": "Resource", "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 90}}}]},
    }))
    .unwrap();
    v2.create(&PostParams::default(), &hpa).await.unwrap();

    let v1 = hpa_api(&client, "v1");
    let read = v1.get("quay-app").await.unwrap();
    assert_eq!(read.types.as_ref().unwrap().api_version, "autoscaling/v1");
    assert_eq!(read.data["spec"]["targetCPUUtilizationPercentage"], 90);
    // Its metadata alone is that of the object as v1 serves it: with the annotations the
    // conversion adds for what v1 cannot express.
    let meta = v1.get_metadata("quay-app").await.unwrap();
    assert!(
        meta.metadata
            .annotations
            .as_ref()
            .is_some_and(|a| !a.is_empty()),
        "{meta:?}"
    );
    assert_eq!(meta.metadata.annotations, read.metadata.annotations);
    assert_eq!(
        v1.list(&ListParams::default()).await.unwrap().items.len(),
        1
    );
    // The hpa case's bump: a v1 client raises minReplicas.
    v1.patch(
        "quay-app",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"minReplicas": 3}})),
    )
    .await
    .unwrap();
    let stored = v2.get("quay-app").await.unwrap();
    assert_eq!(stored.data["spec"]["minReplicas"], 3);
    assert_eq!(
        stored.data["spec"]["metrics"], hpa.data["spec"]["metrics"],
        "the memory metric v1 cannot express survives a v1 write"
    );
    assert!(stored.metadata.annotations.is_none(), "{stored:?}");

    let discovery = kube::discovery::Discovery::new(client.clone())
        .run()
        .await
        .unwrap();
    let autoscaling = discovery.get("autoscaling").unwrap();
    assert_eq!(autoscaling.preferred_version_or_latest(), "v2");
    sim.stop().await;
}
