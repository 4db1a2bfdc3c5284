//! quay-operator's Chainsaw cases with what blocks them on the simulator taken away: the
//! managed `postgres`, `clairpostgres`, `redis` and `objectstorage` (never deployed here)
//! set unmanaged, a config bundle naming unreachable services for them, and the status
//! asserts that need a running Quay left out. What remains is each case's own check of
//! what the operator renders (overrides, Clair's volume, the HPAs through `autoscaling/v1`,
//! the external TLS Secret, the TLS security profile), run by the same runner against the
//! operator model, with the case's documents and scripts where they apply unchanged.

use std::path::Path;

use serde_json::{Value, json};

use super::{fixtures, run_dir};

/// Kinds the simulator never deploys: unmanaged here.
const BLOCKING: [&str; 4] = ["postgres", "clairpostgres", "redis", "objectstorage"];

/// A config bundle for the unmanaged kinds (nothing listens there: the rendered objects
/// are what is checked, not a running Quay).
const CONFIG: &str = "SERVER_HOSTNAME: localhost
DB_URI: postgresql://quay:quay@127.0.0.1:9/quay
BUILDLOGS_REDIS: {host: 127.0.0.1, port: 9}
USER_EVENTS_REDIS: {host: 127.0.0.1, port: 9}
DISTRIBUTED_STORAGE_CONFIG:
  default: [S3Storage, {host: 127.0.0.1, port: 9, s3_bucket: quay, storage_path: /,
                        s3_access_key: a, s3_secret_key: b}]
DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [default]
DISTRIBUTED_STORAGE_PREFERENCE: [default]
";

fn yaml(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

/// The `QuayRegistry` of `case/file` with the blocking kinds unmanaged (their overrides
/// dropped: an unmanaged component takes none) and the bundle `unblocked-config`.
fn registry(case: &str, file: &str) -> Value {
    let mut registry = yaml(&fixtures().join(case).join(file)).remove(0);
    registry["spec"]["configBundleSecret"] = json!("unblocked-config");
    for component in registry["spec"]["components"].as_array_mut().unwrap() {
        if BLOCKING.iter().any(|k| component["kind"] == *k) {
            *component = json!({"kind": component["kind"], "managed": false});
        }
    }
    registry
}

/// The try list of step `name` of `case`'s `chainsaw-test.yaml`.
fn upstream_step(case: &str, name: &str) -> Value {
    let test = yaml(&fixtures().join(case).join("chainsaw-test.yaml")).remove(0);
    test["spec"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("{case} has no step {name}"))["try"]
        .clone()
}

fn script(content: &str) -> Value {
    json!({"script": {"shell": "/bin/bash", "content": content}})
}

/// A script creating the bundle `unblocked-config` with [`CONFIG`] plus `extra`
/// (`--from-...` arguments).
fn bundle_script(extra: &str) -> Value {
    script(&format!(
        "set -euo pipefail\ncat > /tmp/unblocked-$NAMESPACE.yaml <<'EOF'\n{CONFIG}EOF\n\
         kubectl create secret generic unblocked-config -n $NAMESPACE \
         --from-file=config.yaml=/tmp/unblocked-$NAMESPACE.yaml {extra}\n"
    ))
}

/// Openssl making a self-signed pair for `localhost` as `/tmp/<stem>-$NAMESPACE.{crt,key}`.
fn cert_script(stem: &str, cn: &str) -> String {
    format!(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
         -keyout /tmp/{stem}-$NAMESPACE.key -out /tmp/{stem}-$NAMESPACE.crt -days 1 \
         -subj \"/O=Quay E2E/CN={cn}\" -addext \"subjectAltName=DNS:localhost\" 2>/dev/null\n"
    )
}

/// Writes a case: `chainsaw-test.yaml` with `steps` (name, operations) and `files`.
fn write_case(
    name: &str,
    steps: &[(&str, Vec<Value>)],
    files: &[(&str, Vec<Value>)],
) -> tempfile::TempDir {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let steps: Vec<Value> = steps
        .iter()
        .map(|(step, ops)| json!({"name": step, "try": ops}))
        .collect();
    let test = json!({"apiVersion": "chainsaw.kyverno.io/v1alpha1", "kind": "Test",
                      "metadata": {"name": name}, "spec": {"steps": steps}});
    std::fs::write(dir.join("chainsaw-test.yaml"), test.to_string()).unwrap();
    for (file, docs) in files {
        let text: Vec<String> = docs.iter().map(Value::to_string).collect();
        std::fs::write(dir.join(file), text.join("\n---\n")).unwrap();
    }
    scratch
}

/// Waits (10 s at most) until `kubectl get <what>` finds it.
fn wait_for(what: &str) -> Value {
    script(&format!(
        "for i in $(seq 1 50); do kubectl get {what} -n $NAMESPACE >/dev/null 2>&1 && exit 0; \
         sleep 0.2; done; echo \"{what} never came\"; exit 1"
    ))
}

/// Waits (20 s at most) until the `hpa` registry reports its HPA component unmanaged.
fn hpa_let_go() -> Value {
    script(
        "for i in $(seq 1 100); do \
         reason=$(kubectl get quayregistry hpa -n $NAMESPACE \
         -o jsonpath='{.status.conditions[?(@.type==\"ComponentHPAReady\")].reason}'); \
         [ \"$reason\" = ComponentNotManaged ] && exit 0; sleep 2; done; \
         echo \"the operator never reported the HPA unmanaged (last: $reason)\"; exit 1",
    )
}

fn apply(file: &str) -> Value {
    json!({"apply": {"file": file}})
}

fn assert(file: &str) -> Value {
    json!({"assert": {"file": file}})
}

async fn pass(case: tempfile::TempDir) {
    if let Err(failure) = run_dir(case.path()).await {
        panic!("{failure}");
    }
}

#[tokio::test]
async fn unblocked_reconcile_overrides_reach_deployments_and_route() {
    // reconcile/00-assert-overrides.yaml for what the model renders (the database and Redis
    // are unmanaged here), and the case's route step unchanged.
    let asserts: Vec<Value> = yaml(&fixtures().join("reconcile/00-assert-overrides.yaml"))
        .into_iter()
        .filter(|d| {
            let name = d["metadata"]["name"].as_str().unwrap_or_default();
            !name.ends_with("quay-database") && !name.ends_with("quay-redis")
        })
        .collect();
    assert_eq!(asserts.len(), 3);
    let reg = registry("reconcile", "00-create-quay-registry.yaml");
    let route_step = upstream_step("reconcile", "assert-route-overrides");
    let dir = write_case(
        "reconcile",
        &[
            (
                "create-registry",
                vec![
                    bundle_script(""),
                    apply("registry.yaml"),
                    assert("overrides.yaml"),
                ],
            ),
            (
                "assert-route-overrides",
                [
                    vec![wait_for("route reconcile-quay")],
                    route_step.as_array().unwrap().clone(),
                ]
                .concat(),
            ),
        ],
        &[("registry.yaml", vec![reg]), ("overrides.yaml", asserts)],
    );
    pass(dir).await;
}

#[tokio::test]
async fn unblocked_resource_overrides_set_requests_and_limits() {
    // The case's verify step without its two database lines.
    let mut verify = upstream_step("resource_overrides", "verify-resource-overrides");
    let content = verify[0]["script"]["content"].as_str().unwrap().to_owned();
    let kept: Vec<&str> = content
        .lines()
        .filter(|l| {
            !l.contains("\"resource-override-quay-database\"")
                && !l.contains("\"resource-override-clair-postgres\"")
        })
        .collect();
    assert_eq!(content.lines().count() - kept.len(), 2);
    verify[0]["script"]["content"] = json!(kept.join("\n"));
    let dir = write_case(
        "resource-overrides",
        &[
            (
                "create-registry-with-resource-overrides",
                vec![
                    bundle_script(""),
                    apply("registry.yaml"),
                    wait_for("deployment resource-override-quay-mirror"),
                ],
            ),
            (
                "verify-resource-overrides",
                verify.as_array().unwrap().clone(),
            ),
        ],
        &[(
            "registry.yaml",
            vec![registry(
                "resource_overrides",
                "00-create-quay-registry.yaml",
            )],
        )],
    );
    pass(dir).await;
}

#[tokio::test]
async fn unblocked_clair_ephemeral_volume_is_resized() {
    let verify = upstream_step("clair_ephemeral_volume", "verify-clair-ephemeral-volume");
    let wait = wait_for("deployment clair-vol-clair-app");
    let dir = write_case(
        "clair-ephemeral-volume",
        &[
            (
                "create-registry-with-clair-volume-overrides",
                vec![bundle_script(""), apply("registry.yaml"), wait],
            ),
            (
                "verify-clair-ephemeral-volume",
                verify.as_array().unwrap().clone(),
            ),
        ],
        &[(
            "registry.yaml",
            vec![registry(
                "clair_ephemeral_volume",
                "00-create-quay-registry.yaml",
            )],
        )],
    );
    pass(dir).await;
}

#[tokio::test]
async fn unblocked_hpa_bumped_through_autoscaling_v1_and_taken_back() {
    // The hpa case's four applies; its bump and HPA asserts unchanged, the registry
    // status asserts left out.
    let hpas = |min: [i64; 3]| -> Vec<Value> {
        ["hpa-clair-app", "hpa-quay-app", "hpa-quay-mirror"]
            .iter()
            .zip(min)
            .map(|(name, min)| {
                json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
                       "metadata": {"name": name}, "spec": {"minReplicas": min}})
            })
            .collect()
    };
    let remanaged: Vec<Value> = yaml(&fixtures().join("hpa/03-assert.yaml"))
        .into_iter()
        .filter(|d| d["kind"] == "HorizontalPodAutoscaler")
        .collect();
    let bump = yaml(&fixtures().join("hpa/02-bump-hpas.yaml"));
    let bumped = yaml(&fixtures().join("hpa/02-assert.yaml"));
    let dir = write_case(
        "hpa",
        &[
            (
                "create-registry",
                vec![bundle_script(""), apply("00.yaml"), assert("00-hpas.yaml")],
            ),
            // Upstream asserts the registry's status here (01-assert.yaml), which also makes
            // the bump wait until the operator has let go of the HPAs: a reconcile of the
            // old spec would take the bump back. Of that status, the HPA condition.
            ("unmanage-hpa", vec![apply("01.yaml"), hpa_let_go()]),
            (
                "bump-hpa-replicas",
                vec![apply("02-bump-hpas.yaml"), assert("02-assert.yaml")],
            ),
            (
                "remanage-hpa",
                vec![apply("03.yaml"), assert("03-hpas.yaml")],
            ),
        ],
        &[
            (
                "00.yaml",
                vec![registry("hpa", "00-create-quay-registry.yaml")],
            ),
            ("00-hpas.yaml", hpas([2, 2, 2])),
            ("01.yaml", vec![registry("hpa", "01-unmanage-hpa.yaml")]),
            ("02-bump-hpas.yaml", bump),
            ("02-assert.yaml", bumped),
            ("03.yaml", vec![registry("hpa", "03-manage-hpa.yaml")]),
            ("03-hpas.yaml", remanaged),
        ],
    );
    pass(dir).await;
}

#[tokio::test]
async fn unblocked_external_tls_secret_is_labelled_and_rolled_by_its_hash() {
    // external_tls's checks of the label and the hash, and its rotation, on a certificate
    // for the bundle's SERVER_HOSTNAME.
    let create = script(&format!(
        "set -euo pipefail\n{}kubectl create secret tls external-tls-cert -n $NAMESPACE \
         --cert=/tmp/ext-$NAMESPACE.crt --key=/tmp/ext-$NAMESPACE.key\n",
        cert_script("ext", "external-tls")
    ));
    let check = script(
        "set -euo pipefail
for i in $(seq 1 100); do
  HASH=$(kubectl get deployment external-tls-quay-app -n $NAMESPACE \
    -o jsonpath='{.spec.template.metadata.annotations.quay\\.redhat\\.com/tls-secret-hash}' 2>/dev/null || true)
  [ -n \"${HASH}\" ] && break
  sleep 0.2
done
LABEL=$(kubectl get secret external-tls-cert -n $NAMESPACE \
  -o jsonpath='{.metadata.labels.quay\\.redhat\\.com/tls-secret}')
[ \"${LABEL}\" = \"true\" ] || { echo \"ERROR: external TLS secret missing auto-label, got '${LABEL}'\"; exit 1; }
[ -n \"${HASH}\" ] || { echo 'ERROR: quay-app deployment missing tls-secret-hash annotation'; exit 1; }
echo \"${HASH}\" > /tmp/initial-tls-hash-${NAMESPACE}
",
    );
    let rotate = script(&format!(
        "set -euo pipefail
OLD_HASH=$(cat /tmp/initial-tls-hash-${{NAMESPACE}})
{}kubectl create secret tls external-tls-cert -n $NAMESPACE \
  --cert=/tmp/rot-$NAMESPACE.crt --key=/tmp/rot-$NAMESPACE.key --dry-run=client -o yaml | kubectl apply -f -
for i in $(seq 1 120); do
  NEW_HASH=$(kubectl get deployment external-tls-quay-app -n $NAMESPACE \
    -o jsonpath='{{.spec.template.metadata.annotations.quay\\.redhat\\.com/tls-secret-hash}}')
  if [ -n \"${{NEW_HASH}}\" ] && [ \"${{NEW_HASH}}\" != \"${{OLD_HASH}}\" ]; then break; fi
  [ \"$i\" -eq 120 ] && {{ echo 'ERROR: TLS hash rotation timeout'; exit 1; }}
  sleep 0.2
done
CLAIR_HASH=$(kubectl get deployment external-tls-clair-app -n $NAMESPACE \
  -o jsonpath='{{.spec.template.metadata.annotations.quay\\.redhat\\.com/tls-secret-hash}}')
[ \"${{CLAIR_HASH}}\" = \"${{NEW_HASH}}\" ] || {{ echo \"ERROR: clair-app hash (${{CLAIR_HASH}}) != quay-app hash (${{NEW_HASH}})\"; exit 1; }}
",
        cert_script("rot", "rotated")
    ));
    let tls_ready = script(
        "for i in $(seq 1 100); do [ \"$(kubectl get quayregistry external-tls -n $NAMESPACE \
         -o jsonpath='{.status.conditions[?(@.type==\"ComponentTLSReady\")].status}')\" = True ] \
         && exit 0; sleep 0.2; done; echo 'ComponentTLSReady never came back'; exit 1",
    );
    let dir = write_case(
        "external-tls",
        &[
            (
                "create-registry-with-external-tls",
                vec![create, bundle_script(""), apply("registry.yaml"), check],
            ),
            ("rotate-certificate", vec![rotate]),
            // The case's own delete and recreate scripts (its status assert needs a running
            // Quay), then its TLS condition back.
            (
                "delete-and-recreate-secret",
                [
                    upstream_step("external_tls", "delete-and-recreate-secret")
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|op| op.get("script").is_some())
                        .cloned()
                        .collect(),
                    vec![tls_ready],
                ]
                .concat(),
            ),
        ],
        &[(
            "registry.yaml",
            vec![registry("external_tls", "00-create-quay-registry.yaml")],
        )],
    );
    pass(dir).await;
}

#[tokio::test]
async fn unblocked_tls_security_profile_reaches_the_config_secret() {
    let verify = upstream_step("tls_security_profile", "verify-tls-profile-injected");
    let wait = script(
        "for i in $(seq 1 50); do kubectl get secret -n $NAMESPACE -o name \
         | grep -q tls-profile-quay-config-secret && exit 0; sleep 0.2; done; exit 1",
    );
    let certs = script(&cert_script("ssl", "tls-profile"));
    let dir = write_case(
        "tls-security-profile",
        &[
            (
                "create-registry-with-unmanaged-tls",
                vec![
                    certs,
                    bundle_script(
                        "--from-file=ssl.cert=/tmp/ssl-$NAMESPACE.crt \
                         --from-file=ssl.key=/tmp/ssl-$NAMESPACE.key",
                    ),
                    apply("registry.yaml"),
                    wait,
                ],
            ),
            (
                "verify-tls-profile-injected",
                verify.as_array().unwrap().clone(),
            ),
        ],
        &[(
            "registry.yaml",
            vec![registry(
                "tls_security_profile",
                "00-create-quay-registry.yaml",
            )],
        )],
    );
    pass(dir).await;
}
