//! Executing a [`Plan`], finding what exists ([`observe`]), and removing it again
//! ([`down`]), all through the [`Runner`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::config::Cluster;
use super::container::{Placement, remove_cmd};
use super::error::Error;
use super::plan::{Existing, Plan, Step};
use super::process::{Cmd, Runner};

/// How often a [`Step::Poll`] probe is repeated.
const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// The commands [`observe`] runs.
#[must_use]
pub fn observe_commands() -> [Cmd; 2] {
    [
        Cmd::new("kind", ["get", "clusters"]),
        Placement::kind().list_cmd(),
    ]
}

/// What exists: kind's clusters and the backend's labelled containers.
///
/// # Errors
/// [`Error::Process`] when `kind` or `docker` fails.
pub fn observe(runner: &Runner) -> Result<Existing, Error> {
    let [clusters, containers] = observe_commands();
    let lines = |out: String| {
        out.lines()
            .map(str::trim)
            // `kind get clusters` says so on standard error when there are none, but older
            // releases printed it on standard output.
            .filter(|l| !l.is_empty() && !l.starts_with("No kind clusters"))
            .map(str::to_owned)
            .collect()
    };
    Ok(Existing {
        clusters: lines(runner.output(&clusters)?),
        containers: lines(runner.output(&containers)?),
    })
}

/// Runs every step of `plan`, printing each section's title.
///
/// # Errors
/// The first failing step's [`Error`].
pub fn execute(runner: &Runner, plan: &Plan, secrets: &[String]) -> Result<(), Error> {
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    let total = plan.sections.len();
    for (i, section) in plan.sections.iter().enumerate() {
        println!("[{}/{total}] {}", i + 1, section.title);
        for step in &section.steps {
            run_step(runner, step, &mut vars).map_err(|e| redact(e, secrets))?;
        }
    }
    Ok(())
}

/// Replaces every secret in the error's text (command lines carry passwords).
fn redact(err: Error, secrets: &[String]) -> Error {
    match err {
        Error::Process(source) => {
            let mut text = crate::errors::chain(&source);
            for secret in secrets.iter().filter(|s| !s.is_empty()) {
                text = text.replace(secret.as_str(), "<redacted>");
            }
            Error::Step { message: text }
        }
        other => other,
    }
}

fn substitute(cmd: &Cmd, vars: &BTreeMap<String, String>) -> Cmd {
    let mut cmd = cmd.clone();
    for arg in &mut cmd.args {
        for (var, value) in vars {
            *arg = arg.replace(&format!("${{{var}}}"), value);
        }
    }
    cmd
}

fn run_step(
    runner: &Runner,
    step: &Step,
    vars: &mut BTreeMap<String, String>,
) -> Result<(), Error> {
    match step {
        Step::Run(cmd) => {
            runner.output(&substitute(cmd, vars))?;
        }
        Step::Poll {
            cmd,
            purpose,
            timeout,
        } => {
            runner.poll(&substitute(cmd, vars), purpose, *timeout, POLL_INTERVAL)?;
        }
        Step::Capture { cmd, var } => {
            let out = runner.output(&substitute(cmd, vars))?;
            vars.insert(var.clone(), out.trim().to_owned());
        }
        Step::Write { path, contents } => write_private(path, contents)?,
        Step::WritePublic { path, contents } => write_public(path, contents)?,
        Step::Kubeconfig {
            cluster,
            site,
            path,
        } => {
            let text =
                runner.output(&Cmd::new("kind", ["get", "kubeconfig", "--name", cluster]))?;
            let renamed = rename_context(&text, site).map_err(|message| Error::Kubeconfig {
                path: path.clone(),
                message,
            })?;
            write_private(path, &renamed)?;
        }
        Step::MergeKubeconfigs { sites, path } => {
            let merged = merge_kubeconfigs(sites).map_err(|message| Error::Kubeconfig {
                path: path.clone(),
                message,
            })?;
            write_private(path, &merged)?;
        }
        Step::Skip(why) => println!("  skipped: {why}"),
    }
    Ok(())
}

/// Writes `contents` to `path` with mode 0600, making its directory.
fn write_private(path: &Path, contents: &str) -> Result<(), Error> {
    let io = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    crate::secrets::write_private(path, contents.as_bytes()).map_err(io)
}

/// Writes `contents` to `path` with mode 0644 (also when it was there with another mode),
/// making its directory.
fn write_public(path: &Path, contents: &str) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt as _;
    let io = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::write(path, contents).map_err(io)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).map_err(io)
}

/// kind's kubeconfig of one cluster with its cluster, user and context all named `site`,
/// and `site` current.
///
/// # Errors
/// What is wrong with the text.
pub fn rename_context(text: &str, site: &str) -> Result<String, String> {
    let mut doc: Value = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
    for list in ["clusters", "users", "contexts"] {
        let entries = doc[list]
            .as_array_mut()
            .filter(|l| l.len() == 1)
            .ok_or_else(|| format!("expected one entry in {list}"))?;
        entries[0]["name"] = Value::from(site);
    }
    doc["contexts"][0]["context"]["cluster"] = Value::from(site);
    doc["contexts"][0]["context"]["user"] = Value::from(site);
    doc["current-context"] = Value::from(site);
    serde_saphyr::to_string(&doc).map_err(|e| e.to_string())
}

/// One kubeconfig holding every entry of `files`; the first file's context is current.
fn merge_kubeconfigs(files: &[PathBuf]) -> Result<String, String> {
    let mut merged: Option<Value> = None;
    for file in files {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let doc: Value = serde_saphyr::from_str(&text).map_err(|e| e.to_string())?;
        match &mut merged {
            None => merged = Some(doc),
            Some(all) => {
                for list in ["clusters", "users", "contexts"] {
                    let extra = doc[list].as_array().cloned().unwrap_or_default();
                    if let Some(entries) = all[list].as_array_mut() {
                        entries.extend(extra);
                    }
                }
            }
        }
    }
    let merged = merged.ok_or("no kubeconfig to merge")?;
    serde_saphyr::to_string(&merged).map_err(|e| e.to_string())
}

/// The commands [`down`] runs for what exists: delete each configured cluster that exists,
/// remove every container with the backend's label.
#[must_use]
pub fn down_commands(clusters: &[Cluster], existing: &Existing) -> Vec<Cmd> {
    let mut cmds: Vec<Cmd> = clusters
        .iter()
        .filter(|c| existing.clusters.contains(&c.name))
        .map(|c| Cmd::new("kind", ["delete", "cluster", "--name", &c.name]))
        .collect();
    let containers: Vec<String> = existing.containers.iter().cloned().collect();
    cmds.extend(remove_cmd(&containers));
    cmds
}

/// Removes exactly what `up` made: the clusters named in the configs, and the containers
/// with the backend's label. Others are left alone.
///
/// # Errors
/// [`Error::Process`] for the first failing command.
pub fn down(runner: &Runner, clusters: &[Cluster]) -> Result<Vec<Cmd>, Error> {
    let existing = observe(runner)?;
    let cmds = down_commands(clusters, &existing);
    for cmd in &cmds {
        println!("{}", cmd.shell());
        runner.output(cmd)?;
    }
    Ok(cmds)
}
