//! kubectl (the independent client) against a simulated cluster.
//!
//! Needs kubectl 1.29 or newer: `KUBECTL`, else the `kubectl` on `PATH`. Older releases fetch
//! `/openapi/v2` for `apply` and `explain`, which the simulator does not serve (it serves v3).
//! A missing or older kubectl fails these tests loudly, saying what to install
//! (`scripts/check-kubectl.sh` says the same before the test run).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use georep_harness::sim::apiserver::quay_registry_crd_yaml;
use georep_harness::sim::{ClusterConfig, SimCluster};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::json;
use tokio::io::{AsyncBufReadExt as _, BufReader};

struct Kubectl {
    sim: SimCluster,
    dir: tempfile::TempDir,
}

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

/// The kubectl to run, found and checked once (`georep_harness::kubectl::find`); a missing or
/// old one fails the test saying what to install.
fn kubectl_binary() -> PathBuf {
    static FOUND: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    FOUND
        .get_or_init(|| georep_harness::kubectl::find().unwrap_or_else(|err| panic!("{err}")))
        .clone()
}

impl Kubectl {
    async fn start() -> Self {
        georep_harness::sim::install_crypto_provider();
        let sim = SimCluster::start(ClusterConfig::new("site-a"))
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("kubeconfig"), sim.kubeconfig().unwrap()).unwrap();
        Self { sim, dir }
    }

    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(kubectl_binary());
        cmd.arg("--kubeconfig")
            .arg(self.dir.path().join("kubeconfig"));
        cmd.arg("--cache-dir").arg(self.dir.path().join("cache"));
        cmd.args(args)
            .env_remove("KUBECONFIG")
            .env("HOME", self.dir.path());
        cmd.stdin(Stdio::null()).kill_on_drop(true);
        cmd
    }

    async fn run(&self, args: &[&str]) -> Output {
        let out = tokio::time::timeout(Duration::from_secs(60), self.command(args).output())
            .await
            .expect("kubectl finished within a minute")
            .unwrap();
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert_eq!(
            out.code, 0,
            "kubectl {args:?} failed\nstdout:\n{}\nstderr:\n{}",
            out.stdout, out.stderr
        );
        out.stdout
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path_str(&path)
    }
}

fn path_str(path: &Path) -> String {
    path.to_str().unwrap().to_owned()
}

const GOOD: &str = "apiVersion: quay.redhat.com/v1
kind: QuayRegistry
metadata:
  name: reg
  namespace: default
spec:
  components:
  - kind: postgres
    managed: false
  - kind: horizontalpodautoscaler
    managed: false
";

const BAD: &str = "apiVersion: quay.redhat.com/v1
kind: QuayRegistry
metadata:
  name: bad
  namespace: default
spec:
  components:
  - kind: postgres
    managed: false
    overrides:
      replicas: 1
";

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1
";

fn quay_api(client: &kube::Client) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("quay.redhat.com", "v1", "QuayRegistry");
    Api::namespaced_with(
        client.clone(),
        "default",
        &ApiResource::from_gvk_with_plural(&gvk, "quayregistries"),
    )
}

#[tokio::test]
async fn kubectl_applies_the_real_crd_and_a_valid_quay_registry() {
    let k = Kubectl::start().await;
    let crd = k.file("crd.yaml", quay_registry_crd_yaml());
    let out = k.ok(&["apply", "-f", &crd]).await;
    assert!(
        out.contains(
            "customresourcedefinition.apiextensions.k8s.io/quayregistries.quay.redhat.com"
        ),
        "{out}"
    );
    let good = k.file("good.yaml", GOOD);
    assert!(
        k.ok(&["apply", "-f", &good])
            .await
            .contains("quayregistry.quay.redhat.com/reg created")
    );
    assert!(k.ok(&["apply", "-f", &good]).await.contains("unchanged"));
}

#[tokio::test]
async fn kubectl_apply_of_an_invalid_quay_registry_prints_the_cel_message() {
    let k = Kubectl::start().await;
    let bad = k.file("bad.yaml", BAD);
    for args in [
        vec!["apply", "-f", &bad],
        vec!["apply", "--server-side", "-f", &bad],
    ] {
        let out = k.run(&args).await;
        assert_eq!(out.code, 1, "{args:?}: {}", out.stdout);
        assert!(
            out.stderr.contains(
                "The QuayRegistry \"bad\" is invalid: spec.components[0]: Invalid value: \"object\": cannot set overrides on unmanaged component"
            ),
            "{args:?}: {}",
            out.stderr
        );
    }
}

#[tokio::test]
async fn kubectl_server_side_apply_creates_then_reapplies() {
    let k = Kubectl::start().await;
    let good = k.file("good.yaml", GOOD);
    assert!(
        k.ok(&["apply", "--server-side", "-f", &good])
            .await
            .contains("serverside-applied")
    );
    assert!(
        k.ok(&["apply", "--server-side", "-f", &good])
            .await
            .contains("serverside-applied")
    );
    let yaml = k
        .ok(&[
            "get",
            "quayregistry",
            "reg",
            "-o",
            "yaml",
            "--show-managed-fields",
        ])
        .await;
    assert!(
        yaml.contains("manager: kubectl") && yaml.contains("operation: Apply"),
        "{yaml}"
    );
}

#[tokio::test]
async fn kubectl_get_yaml_shows_the_stored_object() {
    let k = Kubectl::start().await;
    k.ok(&["create", "configmap", "x", "--from-literal=a=1"])
        .await;
    let yaml = k.ok(&["get", "cm", "x", "-o", "yaml"]).await;
    assert!(
        yaml.contains("a: \"1\"") && yaml.contains("resourceVersion:"),
        "{yaml}"
    );
    let list = k.ok(&["get", "configmaps", "-A", "-o", "name"]).await;
    assert_eq!(list.trim(), "configmap/x");
}

#[tokio::test]
async fn kubectl_get_watch_sees_a_change() {
    let k = Kubectl::start().await;
    k.ok(&["create", "configmap", "x", "--from-literal=v=1"])
        .await;
    let mut child = k
        .command(&[
            "get",
            "configmap",
            "x",
            "-w",
            "-o",
            "jsonpath={.data.v}{\"\\n\"}",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.as_deref(), Some("1"));
    // kubectl prints what it got, then opens its watch from resourceVersion 0 and drops that
    // watch's first (synthetic ADDED) event: a change made before the watch is established
    // would be folded into the dropped event and never printed, on a real cluster too.
    tokio::time::timeout(
        Duration::from_secs(30),
        k.sim.watches().wait_for("configmaps", 1),
    )
    .await
    .expect("kubectl opened its watch");
    let api: Api<ConfigMap> = Api::namespaced(k.sim.client().await.unwrap(), "default");
    api.patch(
        "x",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"v": "2"}})),
    )
    .await
    .unwrap();
    let second = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.as_deref(), Some("2"));
    child.kill().await.unwrap();
}

#[tokio::test]
async fn kubectl_patch_merge_and_json_change_the_object() {
    let k = Kubectl::start().await;
    k.ok(&["create", "configmap", "x", "--from-literal=a=1"])
        .await;
    assert!(
        k.ok(&[
            "patch",
            "cm",
            "x",
            "--type=merge",
            "-p",
            "{\"data\":{\"m\":\"1\"}}"
        ])
        .await
        .contains("patched")
    );
    assert!(
        k.ok(&[
            "patch",
            "cm",
            "x",
            "--type=merge",
            "-p",
            "{\"data\":{\"m\":\"1\"}}"
        ])
        .await
        .contains("(no change)")
    );
    k.ok(&[
        "patch",
        "cm",
        "x",
        "--type=json",
        "-p",
        "[{\"op\":\"add\",\"path\":\"/data/j\",\"value\":\"2\"}]",
    ])
    .await;
    let data = k.ok(&["get", "cm", "x", "-o", "jsonpath={.data}"]).await;
    assert!(
        data.contains("\"m\":\"1\"") && data.contains("\"j\":\"2\""),
        "{data}"
    );
}

#[tokio::test]
async fn kubectl_scale_sets_deployment_replicas() {
    let k = Kubectl::start().await;
    let d = k.file("d.yaml", DEPLOYMENT);
    k.ok(&["apply", "-f", &d]).await;
    assert!(
        k.ok(&["scale", "deployment", "web", "--replicas=3"])
            .await
            .contains("deployment.apps/web scaled")
    );
    assert_eq!(
        k.ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"])
            .await,
        "3"
    );
    let patch = "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx:2\"}]}}}}";
    k.ok(&["patch", "deployment", "web", "-p", patch]).await;
    let images = k
        .ok(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.spec.template.spec.containers[*].image}",
        ])
        .await;
    assert_eq!(images, "nginx:2");
}

#[tokio::test]
async fn kubectl_wait_for_condition_returns_when_the_condition_turns_true() {
    let k = Kubectl::start().await;
    let client = k.sim.client().await.unwrap();
    let api = quay_api(&client);
    let reg: DynamicObject = serde_yaml_value(GOOD);
    api.create(&PostParams::default(), &reg).await.unwrap();
    let waiter = k
        .command(&[
            "wait",
            "--for=condition=Available",
            "quayregistry/reg",
            "--timeout=60s",
        ])
        .output();
    let waiter = tokio::spawn(waiter);
    // `kubectl wait` reads the object, then watches it: a condition set before its watch is
    // open would be seen by that first read, and the test would pass with a dead watch.
    tokio::time::timeout(
        Duration::from_secs(30),
        k.sim
            .watches()
            .wait_for("quayregistries.quay.redhat.com", 1),
    )
    .await
    .expect("kubectl wait opened its watch");
    let status = json!({"status": {"conditions": [{"type": "Available", "status": "True", "reason": "HealthChecksPassing", "message": "ok", "lastTransitionTime": "2025-01-01T00:00:00Z"}]}});
    api.patch_status("reg", &PatchParams::default(), &Patch::Merge(status))
        .await
        .unwrap();
    let out = tokio::time::timeout(Duration::from_secs(90), waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("quayregistry.quay.redhat.com/reg condition met"),
        "{stdout}"
    );
}

fn serde_yaml_value<T: serde::de::DeserializeOwned>(yaml: &str) -> T {
    serde_saphyr::from_str(yaml).unwrap()
}

#[tokio::test]
async fn kubectl_delete_namespace_cascades_to_its_objects() {
    let k = Kubectl::start().await;
    k.ok(&["create", "namespace", "doomed"]).await;
    k.ok(&[
        "-n",
        "doomed",
        "create",
        "configmap",
        "x",
        "--from-literal=a=1",
    ])
    .await;
    assert!(
        k.ok(&["delete", "namespace", "doomed"])
            .await
            .contains("namespace \"doomed\" deleted")
    );
    let out = k.run(&["-n", "doomed", "get", "cm", "x"]).await;
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("NotFound"), "{}", out.stderr);
}

#[tokio::test]
async fn kubectl_explain_describes_quay_registry_spec() {
    let k = Kubectl::start().await;
    let out = k.ok(&["explain", "quayregistry.spec"]).await;
    assert!(
        out.contains("KIND:       QuayRegistry") || out.contains("KIND:     QuayRegistry"),
        "{out}"
    );
    assert!(out.contains("configBundleSecret"), "{out}");
}

#[tokio::test]
async fn kubectl_creates_namespaces_and_secrets_sent_as_protobuf() {
    let k = Kubectl::start().await;
    assert!(
        k.ok(&["create", "namespace", "foo"])
            .await
            .contains("namespace/foo created")
    );
    k.ok(&[
        "-n",
        "foo",
        "create",
        "secret",
        "generic",
        "s",
        "--from-literal=a=b",
    ])
    .await;
    assert_eq!(
        k.ok(&[
            "-n",
            "foo",
            "get",
            "secret",
            "s",
            "-o",
            "jsonpath={.data.a}"
        ])
        .await,
        "Yg=="
    );
    let again = k.run(&["create", "namespace", "foo"]).await;
    assert!(again.stderr.contains("AlreadyExists"), "{}", again.stderr);
}

#[tokio::test]
async fn kubectl_strict_validation_rejects_an_unknown_field_and_warn_prunes_it() {
    let k = Kubectl::start().await;
    let unknown = k.file(
        "unknown.yaml",
        &GOOD.replace("spec:\n", "spec:\n  bogus: 1\n"),
    );
    let out = k.run(&["apply", "-f", &unknown]).await;
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stderr.contains("unknown field \"spec.bogus\""),
        "{}",
        out.stderr
    );
    let out = k.run(&["apply", "--validate=warn", "-f", &unknown]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("Warning: unknown field \"spec.bogus\""),
        "{}",
        out.stderr
    );
    let spec = k
        .ok(&["get", "quayregistry", "reg", "-o", "jsonpath={.spec}"])
        .await;
    assert!(!spec.contains("bogus"), "{spec}");
}

/// Runs one of kubectl's typed `create` generators (its body goes as protobuf) and returns
/// `jsonpath` of the created object, read back as JSON.
async fn created(k: &Kubectl, create: &[&str], get: &[&str], jsonpath: &str) -> String {
    let out = k.run(create).await;
    assert_eq!(
        out.code, 0,
        "kubectl {create:?} failed (a protobuf body the simulator refused?)\nstderr:\n{}",
        out.stderr
    );
    let mut args = vec!["get"];
    args.extend_from_slice(get);
    let jsonpath = format!("jsonpath={jsonpath}");
    args.extend_from_slice(&["-o", jsonpath.as_str()]);
    k.ok(&args).await
}

#[tokio::test]
async fn kubectl_create_deployment_sends_protobuf_the_simulator_accepts() {
    let k = Kubectl::start().await;
    let create = [
        "create",
        "deployment",
        "web",
        "--image=nginx",
        "--port=80",
        "--replicas=2",
    ];
    let path = "{.spec.replicas} {.spec.selector.matchLabels.app} \
                {.spec.template.spec.containers[0].image} \
                {.spec.template.spec.containers[0].ports[0].containerPort}";
    let got = created(&k, &create, &["deployment", "web"], path).await;
    assert_eq!(got, "2 web nginx 80");
}

#[tokio::test]
async fn kubectl_create_service_clusterip_sends_protobuf_the_simulator_accepts() {
    let k = Kubectl::start().await;
    let create = ["create", "service", "clusterip", "web", "--tcp=80:8080"];
    let path =
        "{.spec.type} {.spec.ports[0].port} {.spec.ports[0].targetPort} {.spec.selector.app}";
    let got = created(&k, &create, &["service", "web"], path).await;
    assert_eq!(got, "ClusterIP 80 8080 web");
}

#[tokio::test]
async fn kubectl_create_service_nodeport_sends_protobuf_the_simulator_accepts() {
    let k = Kubectl::start().await;
    let create = [
        "create",
        "service",
        "nodeport",
        "np",
        "--tcp=443:8443",
        "--node-port=30443",
    ];
    let path = "{.spec.type} {.spec.ports[0].nodePort} {.spec.ports[0].targetPort}";
    let got = created(&k, &create, &["service", "np"], path).await;
    assert_eq!(got, "NodePort 30443 8443");
}

#[tokio::test]
async fn kubectl_create_service_loadbalancer_sends_protobuf_the_simulator_accepts() {
    let k = Kubectl::start().await;
    let create = ["create", "service", "loadbalancer", "lb", "--tcp=80:http"];
    let path = "{.spec.type} {.spec.ports[0].targetPort}";
    let got = created(&k, &create, &["service", "lb"], path).await;
    assert_eq!(got, "LoadBalancer http");
}

#[tokio::test]
async fn kubectl_create_service_externalname_sends_protobuf_the_simulator_accepts() {
    let k = Kubectl::start().await;
    let create = [
        "create",
        "service",
        "externalname",
        "ext",
        "--external-name=quay.example.com",
    ];
    let path = "{.spec.type} {.spec.externalName}";
    let got = created(&k, &create, &["service", "ext"], path).await;
    assert_eq!(got, "ExternalName quay.example.com");
}

#[tokio::test]
async fn kubectl_create_job_sends_protobuf_the_simulator_accepts() {
    let k = Kubectl::start().await;
    let create = [
        "create",
        "job",
        "once",
        "--image=busybox",
        "--",
        "echo",
        "hi",
    ];
    let path = "{.spec.template.spec.restartPolicy} \
                {.spec.template.spec.containers[0].command}";
    let got = created(&k, &create, &["job", "once"], path).await;
    assert_eq!(got, "Never [\"echo\",\"hi\"]");
}

#[tokio::test]
async fn kubectl_create_serviceaccount_sends_protobuf_the_simulator_accepts() {
    let k = Kubectl::start().await;
    let create = ["create", "serviceaccount", "robot"];
    let got = created(
        &k,
        &create,
        &["serviceaccount", "robot"],
        "{.metadata.name}",
    )
    .await;
    assert_eq!(got, "robot");
}

#[tokio::test]
async fn kubectl_create_ingress_sends_protobuf_the_simulator_accepts() {
    let k = Kubectl::start().await;
    let create = [
        "create",
        "ingress",
        "quay",
        "--class=default",
        "--rule=quay.example.com/=quay:443,tls=quay-tls",
    ];
    let path = "{.spec.ingressClassName} {.spec.rules[0].host} \
                {.spec.rules[0].http.paths[0].backend.service.port.number} \
                {.spec.tls[0].secretName}";
    let got = created(&k, &create, &["ingress", "quay"], path).await;
    assert_eq!(got, "default quay.example.com 443 quay-tls");
}

#[tokio::test]
async fn kubectl_create_secret_tls_and_docker_registry_send_protobuf_the_simulator_accepts() {
    let k = Kubectl::start().await;
    let cert = rcgen::generate_simple_self_signed(vec!["quay.example.com".to_owned()]).unwrap();
    let crt = k.file("tls.crt", &cert.cert.pem());
    let key = k.file("tls.key", &cert.signing_key.serialize_pem());
    let (cert_arg, key_arg) = (format!("--cert={crt}"), format!("--key={key}"));
    let create = [
        "create",
        "secret",
        "tls",
        "quay-tls",
        cert_arg.as_str(),
        key_arg.as_str(),
    ];
    let got = created(&k, &create, &["secret", "quay-tls"], "{.type}").await;
    assert_eq!(got, "kubernetes.io/tls");
    let create = [
        "create",
        "secret",
        "docker-registry",
        "pull",
        "--docker-server=quay.example.com",
        "--docker-username=robot",
        "--docker-password=not-printed",
    ];
    let got = created(&k, &create, &["secret", "pull"], "{.type}").await;
    assert_eq!(got, "kubernetes.io/dockerconfigjson");
}

#[tokio::test]
async fn kubectl_run_sends_a_protobuf_pod_the_simulator_accepts() {
    let k = Kubectl::start().await;
    let create = [
        "run",
        "shell",
        "--image=busybox",
        "--restart=Never",
        "--",
        "sleep",
        "1",
    ];
    let path = "{.spec.restartPolicy} {.spec.containers[0].image} {.spec.containers[0].args}";
    let got = created(&k, &create, &["pod", "shell"], path).await;
    assert_eq!(got, "Never busybox [\"sleep\",\"1\"]");
}
