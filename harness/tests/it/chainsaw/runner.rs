//! A small Chainsaw runner: runs one test directory (`chainsaw-test.yaml` and the files it
//! names) against a cluster, the way `chainsaw test` would, with the operations the
//! quay-operator cases use.
//!
//! - `apply` (and `create`): each document, templated, is created, or merged into the live
//!   object with a JSON merge patch when it exists (Chainsaw's apply); namespaced objects
//!   without a namespace go into the test's namespace.
//! - `assert` / `error`: polled until every document matches (for `error`: until none does)
//!   or the timeout passes. A document with a name is compared with that object, one without
//!   with every object of its kind in the namespace (any may match). Matching is
//!   [`super::matching::mismatch`].
//! - `script`: `content` run by `shell` (default `sh`) with `-c`, in the test's directory,
//!   with `NAMESPACE` and `KUBECONFIG` set and kubectl first on `PATH`; a non-zero exit or
//!   the timeout fails the step. Before kubectl on `PATH` comes a `sleep` that waits a tenth
//!   of what it is asked ([`SLEEP_SHIM`]): the cases' scripts pace themselves for a real
//!   operator (`sleep 5` between polls, two minutes of watching that nothing becomes
//!   available), while the simulated operator runs its minute-long loops every second or two.
//!
//! Not implemented (a test using them fails, naming the operation): `delete`, `patch`,
//! `update`, `command`, `sleep`, `wait`, JMESPath expressions beyond `$values`/`$namespace`,
//! `catch`/`finally`/`cleanup` (ignored: each case runs on a cluster of its own).

use std::path::{Path, PathBuf};
use std::time::Duration;

use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::Scope;
use serde_json::{Value, json};

use super::matching::{Bindings, mismatch, render};

/// Why a case failed: the step, the operation, and what went wrong.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The step's name.
    pub step: String,
    /// The operation, e.g. `assert 00-assert.yaml`.
    pub operation: String,
    /// What went wrong.
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "step {:?}, {}: {}",
            self.step, self.operation, self.message
        )
    }
}

/// The `sleep` scripts find first on `PATH`: a plain number of seconds is divided by ten; any
/// other argument (`2m`, `infinity`) goes to the system's `sleep` unchanged.
pub const SLEEP_SHIM: &str = r#"#!/bin/sh
case "$1" in
  ''|*[!0-9.]*) exec /bin/sleep "$@" ;;
  *) exec /bin/sleep "$(awk -v s="$1" 'BEGIN { printf "%.3f", s / 10 }')" ;;
esac
"#;

/// Writes [`SLEEP_SHIM`] as `dir/sleep` (executable), for [`Runner::shims`].
///
/// # Errors
/// The file could not be written.
pub fn write_shims(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::create_dir_all(dir)?;
    let sleep = dir.join("sleep");
    std::fs::write(&sleep, SLEEP_SHIM)?;
    std::fs::set_permissions(&sleep, std::fs::Permissions::from_mode(0o755))
}

/// Where and how to run cases.
pub struct Runner {
    /// A client of the cluster.
    pub client: kube::Client,
    /// Its kubeconfig, for scripts.
    pub kubeconfig: PathBuf,
    /// The kubectl scripts run.
    pub kubectl: PathBuf,
    /// A directory put first on scripts' `PATH` ([`write_shims`]).
    pub shims: PathBuf,
    /// The `--values` document.
    pub values: Value,
    /// How long an `assert` or `error` polls.
    pub assert_timeout: Duration,
    /// How long a script may run (the case's own `timeout` when shorter).
    pub script_timeout: Duration,
}

fn yaml_docs(text: &str) -> Result<Vec<Value>, String> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(text).map_err(|e| e.to_string())?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

fn parse_duration(text: &str) -> Option<Duration> {
    // Go durations as Chainsaw writes them: `2m0s`, `30s`, `1m`.
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number.parse().ok()?;
        number.clear();
        total += match c {
            'h' => n * 3600,
            'm' => n * 60,
            's' => n,
            _ => return None,
        };
    }
    number.is_empty().then_some(Duration::from_secs(total))
}

impl Runner {
    /// Run the case in `dir`.
    ///
    /// # Errors
    /// The first failed operation.
    pub async fn run(&self, dir: &Path) -> Result<(), Failure> {
        let setup = |message: String| Failure {
            step: "(setup)".into(),
            operation: "read chainsaw-test.yaml".into(),
            message,
        };
        let text = std::fs::read_to_string(dir.join("chainsaw-test.yaml"))
            .map_err(|e| setup(e.to_string()))?;
        let test = yaml_docs(&text)
            .map_err(setup)?
            .into_iter()
            .next()
            .ok_or_else(|| setup("no document".into()))?;
        let name = test["metadata"]["name"].as_str().unwrap_or("test");
        let namespace = test["spec"]["namespace"]
            .as_str()
            .map_or_else(|| format!("chainsaw-{name}"), str::to_owned);
        self.namespace(&namespace).await.map_err(setup)?;
        let steps = test["spec"]["steps"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for (i, step) in steps.iter().enumerate() {
            let step_name = step["name"]
                .as_str()
                .map_or_else(|| format!("step-{i}"), str::to_owned);
            for op in step["try"].as_array().into_iter().flatten() {
                let (operation, result) = self.operation(dir, &namespace, op).await;
                result.map_err(|message| Failure {
                    step: step_name.clone(),
                    operation,
                    message,
                })?;
            }
        }
        Ok(())
    }

    async fn namespace(&self, name: &str) -> Result<(), String> {
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &namespace_resource());
        let ns: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}
        }))
        .map_err(|e| e.to_string())?;
        api.create(&PostParams::default(), &ns)
            .await
            .map(drop)
            .map_err(|e| format!("create namespace {name}: {e}"))
    }

    async fn operation(&self, dir: &Path, ns: &str, op: &Value) -> (String, Result<(), String>) {
        let Some((verb, body)) = op.as_object().and_then(|o| o.iter().next()) else {
            return ("(empty)".into(), Err("an operation with no verb".into()));
        };
        let label = match body["file"].as_str() {
            Some(file) => format!("{verb} {file}"),
            None => verb.clone(),
        };
        let result = match verb.as_str() {
            "apply" | "create" => match self.documents(dir, ns, body) {
                Ok(docs) => self.apply(ns, docs).await,
                Err(e) => Err(e),
            },
            "assert" | "error" => match self.documents(dir, ns, body) {
                Ok(docs) => {
                    let timeout = body["timeout"]
                        .as_str()
                        .and_then(parse_duration)
                        .map_or(self.assert_timeout, |t| t.min(self.assert_timeout));
                    self.poll(ns, &docs, verb == "error", timeout).await
                }
                Err(e) => Err(e),
            },
            "script" => self.script(dir, ns, body).await,
            other => Err(format!(
                "operation {other} is not implemented by this runner"
            )),
        };
        (label, result)
    }

    fn documents(&self, dir: &Path, ns: &str, body: &Value) -> Result<Vec<Value>, String> {
        let raw = match (body["file"].as_str(), body.get("resource")) {
            (Some(file), _) => {
                let text = std::fs::read_to_string(dir.join(file))
                    .map_err(|e| format!("read {file}: {e}"))?;
                yaml_docs(&text)?
            }
            (None, Some(resource)) => vec![resource.clone()],
            (None, None) => return Err("neither file nor resource".into()),
        };
        let bindings = Bindings {
            values: &self.values,
            namespace: ns,
        };
        raw.iter().map(|d| render(d, &bindings)).collect()
    }

    /// The API of `doc`'s kind, and the namespace it lives in (`None`: cluster-scoped).
    async fn api(
        &self,
        ns: &str,
        doc: &Value,
    ) -> Result<(Api<DynamicObject>, Option<String>), String> {
        let api_version = doc["apiVersion"].as_str().unwrap_or_default();
        let kind = doc["kind"].as_str().unwrap_or_default();
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let (resource, caps) = kube::discovery::pinned_kind(&self.client, &gvk)
            .await
            .map_err(|e| format!("{api_version} {kind} is not served: {e}"))?;
        Ok(match caps.scope {
            Scope::Namespaced => {
                let ns = doc["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or(ns)
                    .to_owned();
                let api = Api::namespaced_with(self.client.clone(), &ns, &resource);
                (api, Some(ns))
            }
            Scope::Cluster => (Api::all_with(self.client.clone(), &resource), None),
        })
    }

    async fn apply(&self, ns: &str, docs: Vec<Value>) -> Result<(), String> {
        for mut doc in docs {
            let (api, namespace) = self.api(ns, &doc).await?;
            if let Some(namespace) = namespace {
                doc["metadata"]["namespace"] = json!(namespace);
            }
            let name = doc["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let what = format!("{} {name}", doc["kind"].as_str().unwrap_or_default());
            let exists = !name.is_empty()
                && api
                    .get_opt(&name)
                    .await
                    .map_err(|e| format!("get {what}: {e}"))?
                    .is_some();
            if exists {
                api.patch(&name, &PatchParams::default(), &Patch::Merge(&doc))
                    .await
                    .map_err(|e| format!("patch {what}: {e}"))?;
            } else {
                let object: DynamicObject =
                    serde_json::from_value(doc).map_err(|e| format!("{what}: {e}"))?;
                api.create(&PostParams::default(), &object)
                    .await
                    .map_err(|e| format!("create {what}: {e}"))?;
            }
        }
        Ok(())
    }

    /// Why `expected` does not match any live object, or `None` when one matches.
    async fn unmatched(&self, ns: &str, expected: &Value) -> Result<Option<String>, String> {
        let (api, _) = self.api(ns, expected).await?;
        let kind = expected["kind"].as_str().unwrap_or_default();
        let candidates: Vec<Value> = match expected["metadata"]["name"].as_str() {
            Some(name) => match api.get_opt(name).await.map_err(|e| e.to_string())? {
                Some(o) => vec![serde_json::to_value(o).map_err(|e| e.to_string())?],
                None => return Ok(Some(format!("{kind} {name} not found"))),
            },
            None => {
                let list = api
                    .list(&ListParams::default())
                    .await
                    .map_err(|e| e.to_string())?;
                let items = list.items.into_iter().map(serde_json::to_value);
                items.collect::<Result<_, _>>().map_err(|e| e.to_string())?
            }
        };
        let mut why = format!("no {kind} found");
        for candidate in &candidates {
            match mismatch(expected, candidate) {
                None => return Ok(None),
                Some(m) => why = format!("{kind} {}: {m}", candidate["metadata"]["name"]),
            }
        }
        Ok(Some(why))
    }

    async fn poll(
        &self,
        ns: &str,
        docs: &[Value],
        error: bool,
        timeout: Duration,
    ) -> Result<(), String> {
        let start = tokio::time::Instant::now();
        loop {
            let mut failing = None;
            for doc in docs {
                let unmatched = self.unmatched(ns, doc).await?;
                failing = match (error, unmatched) {
                    (false, Some(why)) => Some(why),
                    (true, None) => Some(format!("{} matches but must not", label_of(doc))),
                    _ => None,
                };
                if failing.is_some() {
                    break;
                }
            }
            match failing {
                None => return Ok(()),
                Some(why) if start.elapsed() >= timeout => {
                    return Err(format!("still failing after {timeout:?}: {why}"));
                }
                Some(_) => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    }

    async fn script(&self, dir: &Path, ns: &str, body: &Value) -> Result<(), String> {
        let content = body["content"].as_str().ok_or("a script without content")?;
        let shell = body["shell"].as_str().unwrap_or("sh");
        let timeout = body["timeout"]
            .as_str()
            .and_then(parse_duration)
            .map_or(self.script_timeout, |t| t.min(self.script_timeout));
        let kubectl_dir = self.kubectl.parent().unwrap_or(Path::new("/"));
        let path = std::env::var_os("PATH").unwrap_or_default();
        let path = std::env::join_paths(
            [self.shims.clone(), kubectl_dir.to_path_buf()]
                .into_iter()
                .chain(std::env::split_paths(&path)),
        )
        .map_err(|e| e.to_string())?;
        let mut cmd = tokio::process::Command::new(shell);
        cmd.arg("-c")
            .arg(content)
            .current_dir(dir)
            .env("NAMESPACE", ns)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("PATH", path)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            // A group of its own, so a timed-out script's kubectl and sleep end with it.
            .process_group(0)
            .kill_on_drop(true);
        let child = cmd.spawn().map_err(|e| format!("run {shell}: {e}"))?;
        let group = child
            .id()
            .and_then(|id| rustix::process::Pid::from_raw(i32::try_from(id).ok()?));
        let out = match tokio::time::timeout(timeout, child.wait_with_output()).await {
            Ok(out) => out.map_err(|e| format!("run {shell}: {e}"))?,
            Err(_) => {
                if let Some(group) = group {
                    let _ =
                        rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
                }
                return Err(format!("script still running after {timeout:?}"));
            }
        };
        if out.status.success() {
            return Ok(());
        }
        let tail = |bytes: &[u8]| {
            let text = String::from_utf8_lossy(bytes);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(8)..].join("\n")
        };
        Err(format!(
            "script exited with {}\nstdout:\n{}\nstderr:\n{}",
            out.status,
            tail(&out.stdout),
            tail(&out.stderr)
        ))
    }
}

fn label_of(doc: &Value) -> String {
    format!(
        "{} {}",
        doc["kind"].as_str().unwrap_or_default(),
        doc["metadata"]["name"].as_str().unwrap_or("(any)")
    )
}

fn namespace_resource() -> kube::core::ApiResource {
    kube::core::ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("", "v1", "Namespace"),
        "namespaces",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse() {
        assert_eq!(parse_duration("2m0s"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("10"), None);
    }
}
