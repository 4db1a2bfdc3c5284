//! Running a kubeconfig's `exec` credential plugin (client-go's `ExecCredential` protocol)
//! ourselves, instead of letting kube-rs run it.
//!
//! kube-rs runs the plugin with a blocking `std::process::Command` on the async runtime, with
//! no time limit, hands it the terminal's stdin, and quotes the command (with its environment)
//! and the plugin's output, which is the token, in its errors. Here the plugin runs as a child
//! process the runtime waits on without blocking, with stdin closed, at most
//! [`EXEC_TIMEOUT`], and with `spec.interactive = false` in `KUBERNETES_EXEC_INFO`, so a plugin
//! that would prompt fails instead of hanging. Errors name the command, its exit status and,
//! for output that is not an `ExecCredential`, the line and column only: never what it
//! printed.
//!
//! The credential is fetched once, when the cluster's client is built (once per provider
//! process, that is once per Terraform operation), and the client then uses it as if the
//! kubeconfig had held it. Modelled on client-go's
//! `staging/src/k8s.io/client-go/plugin/pkg/client/auth/exec/exec.go`.

use std::process::Stdio;
use std::time::Duration;

use kube::config::{AuthInfo, ExecConfig, ExecInteractiveMode};
use serde::Deserialize;

use crate::georep::secret::Secret;

/// Longest a credential plugin may run before it is killed.
pub const EXEC_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a credential plugin gave no credential. No variant holds what the plugin printed.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The `exec` entry names no command.
    #[error("the exec entry names no command")]
    NoCommand,
    /// The plugin asks for `interactiveMode: Always`, and Terraform gives it no terminal.
    #[error(
        "credential plugin {command} wants to interact with a terminal (interactiveMode: \
         Always), which a Terraform provider cannot give it"
    )]
    WantsInteraction {
        /// The command.
        command: String,
    },
    /// The plugin could not be started.
    #[error("start credential plugin {command}")]
    Start {
        /// The command.
        command: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The plugin did not finish in time; it was killed.
    #[error("credential plugin {command} did not finish within {}s and was stopped", timeout.as_secs())]
    Timeout {
        /// The command.
        command: String,
        /// How long it was given.
        timeout: Duration,
    },
    /// The plugin exited with an error.
    #[error(
        "credential plugin {command} failed ({status}); it ran without a terminal (stdin \
         closed), so if it needs to ask for something, log in beforehand; its output is not \
         shown because it may hold credentials"
    )]
    Failed {
        /// The command.
        command: String,
        /// The exit status.
        status: std::process::ExitStatus,
    },
    /// The plugin printed something that is not an `ExecCredential`.
    #[error(
        "credential plugin {command} printed no valid ExecCredential (at line {line}, column \
         {column} of its output; the output is not shown because it may hold credentials)"
    )]
    Parse {
        /// The command.
        command: String,
        /// The 1-based line of the fault (0 when unknown).
        line: u64,
        /// The 1-based column of the fault (0 when unknown).
        column: u64,
    },
    /// The `ExecCredential` has neither a token nor a client certificate and key.
    #[error("credential plugin {command} returned no token and no client certificate and key")]
    NoCredential {
        /// The command.
        command: String,
    },
}

/// What a plugin returned.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Credential {
    /// A bearer token.
    pub token: Option<Secret>,
    /// A client certificate, PEM.
    pub client_certificate_data: Option<String>,
    /// Its private key, PEM.
    pub client_key_data: Option<Secret>,
}

#[derive(Deserialize)]
struct ExecCredentialOut {
    status: Option<StatusOut>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusOut {
    token: Option<String>,
    client_certificate_data: Option<String>,
    client_key_data: Option<String>,
}

/// Runs `exec` and returns its credential.
///
/// # Errors
///
/// An [`ExecError`] when the plugin cannot run, fails, times out (after `timeout`) or prints
/// no usable `ExecCredential`.
///
/// # Cancel safety
///
/// Dropping the future kills the plugin.
pub async fn run(exec: &ExecConfig, timeout: Duration) -> Result<Credential, ExecError> {
    let command = exec.command.clone().ok_or(ExecError::NoCommand)?;
    if exec.interactive_mode == Some(ExecInteractiveMode::Always) {
        return Err(ExecError::WantsInteraction { command });
    }
    let mut cmd = tokio::process::Command::new(&command);
    cmd.args(exec.args.iter().flatten());
    for entry in exec.env.iter().flatten() {
        if let (Some(name), Some(value)) = (entry.get("name"), entry.get("value")) {
            cmd.env(name, value);
        }
    }
    for name in exec.drop_env.iter().flatten() {
        cmd.env_remove(name);
    }
    let mut spec = serde_json::json!({ "interactive": false });
    if exec.provide_cluster_info
        && let Some(cluster) = &exec.cluster
        && let Ok(cluster) = serde_json::to_value(cluster)
    {
        spec["cluster"] = cluster;
    }
    let info = serde_json::json!({
        "apiVersion": exec.api_version,
        "kind": "ExecCredential",
        "spec": spec,
    });
    cmd.env("KUBERNETES_EXEC_INFO", info.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd.spawn().map_err(|source| ExecError::Start {
        command: command.clone(),
        source,
    })?;
    let output = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(source)) => {
            return Err(ExecError::Start { command, source });
        }
        Err(_) => return Err(ExecError::Timeout { command, timeout }),
    };
    if !output.status.success() {
        return Err(ExecError::Failed {
            command,
            status: output.status,
        });
    }
    parse(&command, &output.stdout)
}

/// Reads an `ExecCredential` (JSON, or YAML as client-go also accepts).
fn parse(command: &str, stdout: &[u8]) -> Result<Credential, ExecError> {
    let parsed: ExecCredentialOut = match serde_json::from_slice(stdout) {
        Ok(parsed) => parsed,
        Err(json_error) => serde_saphyr::from_slice(stdout).map_err(|yaml_error| {
            // The JSON parser's position is the useful one for output that looks like JSON.
            let (line, column) = if stdout.trim_ascii_start().starts_with(b"{") {
                (
                    u64::try_from(json_error.line()).unwrap_or(0),
                    u64::try_from(json_error.column()).unwrap_or(0),
                )
            } else {
                yaml_error
                    .location()
                    .map_or((0, 0), |at| (at.line(), at.column()))
            };
            ExecError::Parse {
                command: command.to_owned(),
                line,
                column,
            }
        })?,
    };
    let status = parsed.status.ok_or_else(|| ExecError::NoCredential {
        command: command.to_owned(),
    })?;
    let credential = Credential {
        token: status.token.filter(|t| !t.is_empty()).map(Secret::new),
        client_certificate_data: status.client_certificate_data,
        client_key_data: status.client_key_data.map(Secret::new),
    };
    let has_certificate =
        credential.client_certificate_data.is_some() && credential.client_key_data.is_some();
    if credential.token.is_none() && !has_certificate {
        return Err(ExecError::NoCredential {
            command: command.to_owned(),
        });
    }
    Ok(credential)
}

/// `user` with its `exec` entry replaced by what the plugin returned, as kube-rs would use it.
pub fn apply(mut user: AuthInfo, credential: Credential) -> AuthInfo {
    user.exec = None;
    if let Some(token) = credential.token {
        user.token = Some(token.expose().to_owned().into());
    }
    if let (Some(certificate), Some(key)) = (
        credential.client_certificate_data,
        credential.client_key_data,
    ) {
        // kube-rs reads `*-data` as base64 of the PEM, as kubeconfig files carry it.
        use base64::Engine as _;
        let b64 = |pem: &str| base64::engine::general_purpose::STANDARD.encode(pem);
        user.client_certificate_data = Some(b64(&certificate));
        user.client_key_data = Some(b64(key.expose()).into());
    }
    user
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use georep_harness::services::process::write_executable;

    use super::*;

    const TOKEN: &str = "tok-3x3c-plugin-s3cr3t";

    fn script(dir: &tempfile::TempDir, body: &str) -> ExecConfig {
        let path = dir.path().join("plugin.sh");
        write_executable(&path, &format!("#!/bin/sh\n{body}\n"), 0o700).unwrap();
        ExecConfig {
            api_version: Some("client.authentication.k8s.io/v1".into()),
            command: Some(path.display().to_string()),
            env: Some(vec![HashMap::from([
                ("name".to_owned(), "PLUGIN_TOKEN".to_owned()),
                ("value".to_owned(), TOKEN.to_owned()),
            ])]),
            ..ExecConfig::default()
        }
    }

    fn text(error: &ExecError) -> String {
        crate::georep::errors::chain(error)
    }

    #[tokio::test]
    async fn a_plugin_that_prints_a_credential_gives_its_token() {
        let dir = tempfile::tempdir().unwrap();
        let exec = script(
            &dir,
            r#"printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}' "$PLUGIN_TOKEN""#,
        );
        let credential = run(&exec, EXEC_TIMEOUT).await.unwrap();
        assert_eq!(credential.token.unwrap().expose(), TOKEN);
    }

    #[tokio::test]
    async fn a_failing_plugin_is_reported_without_its_output() {
        let dir = tempfile::tempdir().unwrap();
        let exec = script(
            &dir,
            r#"echo "token: $PLUGIN_TOKEN"; echo "$PLUGIN_TOKEN" >&2; exit 3"#,
        );
        let error = run(&exec, EXEC_TIMEOUT).await.unwrap_err();
        assert!(matches!(error, ExecError::Failed { .. }), "{error:?}");
        let shown = format!("{} {error:?}", text(&error));
        assert!(!shown.contains(TOKEN), "{shown}");
        assert!(shown.contains("plugin.sh"), "{shown}");
    }

    #[tokio::test]
    async fn output_that_is_no_credential_is_reported_by_line_and_column_only() {
        let dir = tempfile::tempdir().unwrap();
        let exec = script(
            &dir,
            r#"printf '{"status": {\n  "token": "%s",\n  [oops }}' "$PLUGIN_TOKEN""#,
        );
        let error = run(&exec, EXEC_TIMEOUT).await.unwrap_err();
        let ExecError::Parse { line, .. } = &error else {
            panic!("{error:?}");
        };
        assert_eq!(*line, 3);
        let shown = format!("{} {error:?}", text(&error));
        assert!(!shown.contains(TOKEN), "{shown}");
    }

    #[tokio::test]
    async fn a_plugin_reading_stdin_sees_it_closed_instead_of_hanging() {
        let dir = tempfile::tempdir().unwrap();
        // `read` fails at once on a closed stdin; with an inherited terminal it would wait.
        let exec = script(&dir, "read answer || exit 7\necho \"$answer\"");
        let error = run(&exec, Duration::from_secs(3600)).await.unwrap_err();
        assert!(matches!(error, ExecError::Failed { .. }), "{error:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_plugin_that_never_finishes_is_stopped_at_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let exec = script(&dir, "exec sleep 3600");
        let error = run(&exec, Duration::from_secs(5)).await.unwrap_err();
        assert!(matches!(error, ExecError::Timeout { .. }), "{error:?}");
    }

    #[tokio::test]
    async fn a_plugin_that_insists_on_a_terminal_is_refused_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let mut exec = script(&dir, "exit 0");
        exec.interactive_mode = Some(ExecInteractiveMode::Always);
        let error = run(&exec, EXEC_TIMEOUT).await.unwrap_err();
        assert!(text(&error).contains("interact"), "{}", text(&error));
    }
}
