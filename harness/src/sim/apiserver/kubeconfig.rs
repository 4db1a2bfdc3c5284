//! Kubeconfig files for simulated clusters.
//!
//! Renders one kubeconfig with a context per site (cluster, user and context all named
//! after the site) and writes it with mode 0600, since it holds bearer tokens. It does not
//! read kubeconfigs; kube-rs does that.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::json;

/// Writing a kubeconfig failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Rendering YAML failed.
    #[error("render kubeconfig")]
    Render(#[source] serde_saphyr::ser::Error),
    /// The file could not be written.
    #[error("write kubeconfig {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// How to reach one simulated cluster. `Debug` does not show the token.
#[derive(Clone)]
pub struct Endpoint {
    /// Site name; also the context, cluster and user name.
    pub site: String,
    /// Server URL, `https://127.0.0.1:PORT` (or `http://` without TLS).
    pub server: String,
    /// CA certificate PEM (absent for plain HTTP).
    pub ca_pem: Option<String>,
    /// Bearer token.
    pub token: String,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("site", &self.site)
            .field("server", &self.server)
            .field("ca_pem", &self.ca_pem.is_some())
            .field("token", &"<redacted>")
            .finish()
    }
}

/// Render a kubeconfig with one context per endpoint; the first is the current context.
///
/// # Errors
/// [`Error::Render`] if YAML serialisation fails.
pub fn render(endpoints: &[Endpoint]) -> Result<String, Error> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let clusters: Vec<_> = endpoints
        .iter()
        .map(|e| {
            let mut cluster = json!({"server": e.server});
            if let Some(pem) = &e.ca_pem {
                cluster["certificate-authority-data"] = json!(b64.encode(pem));
            }
            json!({"name": e.site, "cluster": cluster})
        })
        .collect();
    let users: Vec<_> = endpoints
        .iter()
        .map(|e| json!({"name": e.site, "user": {"token": e.token}}))
        .collect();
    let contexts: Vec<_> = endpoints
        .iter()
        .map(|e| json!({"name": e.site, "context": {"cluster": e.site, "user": e.site, "namespace": "default"}}))
        .collect();
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "current-context": endpoints.first().map(|e| e.site.clone()).unwrap_or_default(),
        "clusters": clusters,
        "users": users,
        "contexts": contexts,
    });
    serde_saphyr::to_string(&doc).map_err(Error::Render)
}

/// Write `render(endpoints)` to `path` with mode 0600.
///
/// # Errors
/// [`Error::Render`] or [`Error::Write`].
pub fn write(path: &Path, endpoints: &[Endpoint]) -> Result<(), Error> {
    use std::io::Write as _;
    let text = render(endpoints)?;
    let io = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io)?;
    }
    file.write_all(text.as_bytes()).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(site: &str) -> Endpoint {
        Endpoint {
            site: site.into(),
            server: "https://127.0.0.1:1".into(),
            ca_pem: Some("PEM".into()),
            token: "t0k".into(),
        }
    }

    #[test]
    fn kubeconfig_has_one_context_per_site_named_after_it() {
        let yaml = render(&[endpoint("site-a"), endpoint("site-b")]).unwrap();
        let kc = kube::config::Kubeconfig::from_yaml(&yaml).unwrap();
        let names: Vec<_> = kc.contexts.iter().map(|c| c.name.clone()).collect();
        assert_eq!(names, ["site-a", "site-b"]);
        assert_eq!(kc.current_context.as_deref(), Some("site-a"));
    }

    #[cfg(unix)]
    #[test]
    fn written_kubeconfig_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubeconfig");
        write(&path, &[endpoint("site-a")]).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
