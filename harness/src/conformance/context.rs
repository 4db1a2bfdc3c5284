//! The [`Context`] a scenario runs in: the target, the backend's capabilities, one Terraform
//! and the provider, a directory of its own, the run's namespace prefix, and the evidence it
//! collects. Everything a scenario does to a cluster goes through a kubeconfig context of the
//! target (kube-rs), the Terraform CLI, kubectl, or HTTP to the global endpoints.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::capability::Capabilities;
use super::failure::Failure;
use super::target::{SiteTarget, Target};
use crate::terraform::{ApplyOutcome, DevOverride, PlanOutcome, TerraformBinary, Workdir};

/// How long one Terraform command of a scenario may run.
pub const TERRAFORM_TIMEOUT: Duration = Duration::from_secs(600);

/// What the runner gives a scenario.
pub struct Context<'a> {
    pub(super) target: &'a Target,
    pub(super) capabilities: &'a Capabilities,
    pub(super) terraform: &'a TerraformBinary,
    pub(super) provider_dir: &'a Path,
    pub(super) runtime: &'a tokio::runtime::Handle,
    pub(super) dir: PathBuf,
    pub(super) prefix: &'a str,
    pub(super) scenario: &'a str,
    pub(super) progress: &'a (dyn Fn(&str) + Sync),
    pub(super) evidence: Vec<String>,
    pub(super) applied: Vec<Arc<Workdir>>,
    pub(super) namespaces: Vec<String>,
    pub(super) operator_upgrade_allowed: bool,
    pub(super) secret_key: &'a str,
    pub(super) database_secret_key: &'a str,
    pub(super) ledger_baseline: usize,
}

impl Context<'_> {
    /// The target.
    #[must_use]
    pub fn target(&self) -> &Target {
        self.target
    }

    /// The backend's capabilities.
    #[must_use]
    pub fn capabilities(&self) -> &Capabilities {
        self.capabilities
    }

    /// Whether this run may upgrade the target's operator (`--allow-operator-upgrade`, or
    /// the local backend).
    #[must_use]
    pub fn operator_upgrade_allowed(&self) -> bool {
        self.operator_upgrade_allowed
    }

    /// The Terraform this suite runs with.
    #[must_use]
    pub fn terraform(&self) -> &TerraformBinary {
        self.terraform
    }

    /// The safety ledger's violations recorded since this scenario started (`None` on a
    /// backend without one).
    #[must_use]
    pub fn new_violations(&self) -> Option<Vec<String>> {
        let ledger = self.capabilities.ledger.as_ref()?;
        Some(
            ledger
                .violations()
                .into_iter()
                .skip(self.ledger_baseline)
                .collect(),
        )
    }

    /// Records a step in the evidence and shows it in the progress display.
    pub fn step(&mut self, what: &str) {
        (self.progress)(what);
        self.evidence.push(format!("step: {what}"));
    }

    /// Adds `text` to the evidence.
    pub fn note(&mut self, text: impl Into<String>) {
        self.evidence.push(text.into());
    }

    /// Runs `future` to completion on the run's runtime (kube-rs and HTTP calls).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// A namespace for this scenario: the run's prefix and `suffix`, at most 63 characters.
    /// The provider creates it for the scenario's sites; the runner deletes it on every site
    /// after the scenario.
    pub fn namespace(&mut self, suffix: &str) -> String {
        let mut name = format!("{}-{suffix}", self.prefix)
            .to_ascii_lowercase()
            .replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "-");
        name.truncate(63);
        let name = name.trim_end_matches('-').to_owned();
        if !self.namespaces.contains(&name) {
            self.namespaces.push(name.clone());
        }
        name
    }

    /// A Terraform working directory `name` in the scenario's directory, serving the
    /// provider under test.
    ///
    /// # Errors
    /// The directory could not be made.
    pub fn workdir(&mut self, name: &str) -> Result<Arc<Workdir>, Failure> {
        let dir = Workdir::at(
            self.terraform,
            &self.dir.join(name),
            &[DevOverride::quay(self.provider_dir)],
        )?
        .with_timeout(TERRAFORM_TIMEOUT)
        // The provider blocks the scenarios write name every cluster; the runner's own
        // kubeconfig must not fill in for one they leave out.
        .with_env("KUBE_CONFIG_PATH", "")
        .with_env("KUBECONFIG", "");
        Ok(Arc::new(dir))
    }

    /// `terraform apply` in `dir`; what it created is destroyed after the scenario, and the
    /// namespaces it named are labelled as the run's ([`super::namespaces`]). The evidence
    /// gets the change summary and every error diagnostic.
    ///
    /// # Errors
    /// Terraform could not run, or the apply failed (with its first error).
    pub fn apply(&mut self, dir: &Arc<Workdir>) -> Result<ApplyOutcome, Failure> {
        if !self.applied.iter().any(|d| Arc::ptr_eq(d, dir)) {
            self.applied.push(Arc::clone(dir));
        }
        let applied = dir.apply();
        let problems = self.block_on(super::namespaces::label(
            self.target,
            &self.namespaces,
            self.prefix,
            self.scenario,
        ));
        for problem in problems {
            self.note(format!("labelling the run's namespaces: {problem}"));
        }
        let outcome = applied?;
        self.note_events("apply", &outcome.events);
        if !outcome.succeeded() {
            return Err(Failure::new(format!(
                "terraform apply failed: {}",
                first_error(&outcome.events)
            )));
        }
        Ok(outcome)
    }

    /// `terraform plan` in `dir`, with its diagnostics in the evidence.
    ///
    /// # Errors
    /// Terraform could not run.
    pub fn plan(&mut self, dir: &Arc<Workdir>) -> Result<PlanOutcome, Failure> {
        let outcome = dir.plan()?;
        self.note_events("plan", &outcome.events);
        Ok(outcome)
    }

    /// `terraform destroy` in `dir`, now.
    ///
    /// # Errors
    /// Terraform could not run, or the destroy failed.
    pub fn destroy(&mut self, dir: &Arc<Workdir>) -> Result<(), Failure> {
        let outcome = dir.destroy()?;
        self.note_events("destroy", &outcome.events);
        if !outcome.succeeded() {
            return Err(Failure::new(format!(
                "terraform destroy failed: {}",
                first_error(&outcome.events)
            )));
        }
        self.applied.retain(|d| !Arc::ptr_eq(d, dir));
        Ok(())
    }

    fn note_events(&mut self, command: &str, events: &crate::terraform::EventLog) {
        if let Some(summary) = events.change_summary() {
            self.note(format!("terraform {command}: {summary:?}"));
        }
        for diag in events.diagnostics() {
            self.note(format!(
                "terraform {command} {:?}: {}: {}",
                diag.severity, diag.summary, diag.detail
            ));
        }
    }

    /// The lines of a provider `cluster` block that reach `site`.
    #[must_use]
    pub fn cluster_lines(site: &SiteTarget) -> String {
        format!(
            "    kubeconfig_path = \"{}\"\n    context         = \"{}\"\n",
            site.kubeconfig.display(),
            site.context
        )
    }

    /// The lines of the provider `cluster` block of storage location `location`.
    #[must_use]
    pub fn cluster_lines_at(&self, location: &str) -> String {
        self.target.site_at(location).map_or_else(
            || format!("    kubeconfig_path = \"/nonexistent/{location}\"\n"),
            Self::cluster_lines,
        )
    }

    /// Writes the shared configuration of the target into `dir`: `variables.tf` and
    /// `terraform.tfvars.json` (mode 0600) with every secret, and `shared.tf` with the
    /// provider (one cluster per site) and `data "quay_georep_config" "shared"`, with
    /// `config_extra` in its body. Sites go into the caller's `main.tf`.
    ///
    /// # Errors
    /// A file could not be written.
    pub fn write_shared_config(&self, dir: &Workdir, config_extra: &str) -> Result<(), Failure> {
        let all: Vec<&str> = self
            .target
            .sites
            .iter()
            .map(|s| s.location.as_str())
            .collect();
        self.write_shared_config_of(dir, &all, config_extra)
    }

    /// [`Context::write_shared_config`] with storage blocks for the sites at `locations`
    /// only (the provider still gets a cluster block for every site).
    ///
    /// # Errors
    /// A file could not be written.
    pub fn write_shared_config_of(
        &self,
        dir: &Workdir,
        locations: &[&str],
        config_extra: &str,
    ) -> Result<(), Failure> {
        let target = self.target;
        let mut clusters = String::new();
        let mut storages = String::new();
        let mut access_keys = serde_json::Map::new();
        let mut secret_keys = serde_json::Map::new();
        for site in &target.sites {
            clusters.push_str(&format!(
                "  cluster \"{}\" {{\n{}  }}\n",
                site.location,
                Self::cluster_lines(site)
            ));
            if !locations.contains(&site.location.as_str()) {
                continue;
            }
            let Some(s3) = target.services.sites.get(&site.location) else {
                return Err(Failure::new(format!(
                    "the target has no bucket for {}",
                    site.location
                )));
            };
            let (secure, host, port) = split_endpoint(&s3.endpoint)?;
            storages.push_str(&format!(
                r#"
  storage "{location}" {{
    driver     = "radosgw"
    hostname   = "{host}"
    port       = {port}
    is_secure  = {secure}
    bucket     = "{bucket}"
    access_key = var.storage_access_keys["{location}"]
    secret_key = var.storage_secret_keys["{location}"]
    region     = "{region}"
  }}
"#,
                location = site.location,
                bucket = s3.bucket,
                region = s3.region,
            ));
            access_keys.insert(site.location.clone(), json!(s3.access_key));
            secret_keys.insert(site.location.clone(), json!(s3.secret_key));
        }
        let services = &target.services;
        let hcl = format!(
            r#"terraform {{
  required_providers {{
    quay = {{ source = "quay-georep/quay" }}
  }}
}}

provider "quay" {{
{clusters}}}

data "quay_georep_config" "shared" {{
  server_hostname     = "{hostname}"
  secret_key          = var.secret_key
  database_secret_key = var.database_secret_key
  super_users         = ["quayadmin"]

  database {{
    uri = var.database_uri
  }}

  redis {{
    host     = "{redis_host}"
    port     = {redis_port}
    password = var.redis_password
  }}
{storages}{config_extra}}}

output "config_hash" {{
  value = data.quay_georep_config.shared.config_hash
}}
"#,
            hostname = target.global.quay_hostname,
            redis_host = services.redis.host,
            redis_port = services.redis.port,
        );
        let mut variables = String::new();
        for (name, kind) in [
            ("secret_key", "string"),
            ("database_secret_key", "string"),
            ("database_uri", "string"),
            ("clair_database_uri", "string"),
            ("redis_password", "string"),
            ("storage_access_keys", "map(string)"),
            ("storage_secret_keys", "map(string)"),
        ] {
            variables.push_str(&format!(
                "variable \"{name}\" {{\n  type      = {kind}\n  sensitive = true\n}}\n\n"
            ));
        }
        let clair = services
            .postgres
            .database_uris
            .get("clair")
            .or_else(|| services.postgres.database_uris.get("quay"))
            .cloned()
            .unwrap_or_default();
        let tfvars = json!({
            "secret_key": self.secret_key,
            "database_secret_key": self.database_secret_key,
            "database_uri": services.postgres.database_uris.get("quay").cloned().unwrap_or_default(),
            "clair_database_uri": clair,
            "redis_password": services.redis.password,
            "storage_access_keys": Value::Object(access_keys),
            "storage_secret_keys": Value::Object(secret_keys),
        });
        dir.write_file("shared.tf", &hcl)?;
        dir.write_file("variables.tf", &variables)?;
        write_private(
            &dir.path().join("terraform.tfvars.json"),
            &format!("{tfvars:#}\n"),
        )
    }

    /// The body of a site resource at `location` in `namespace`, with Clair on the shared
    /// Clair database and `extra` lines appended.
    #[must_use]
    pub fn site_body(location: &str, namespace: &str, extra: &str) -> String {
        format!(
            r#"  cluster     = "{location}"
  namespace   = "{namespace}"
  config_yaml = data.quay_georep_config.shared.config_yaml
  location    = "{location}"
  clair {{
    enabled      = true
    database_uri = var.clair_database_uri
  }}
{extra}"#
        )
    }

    /// A kube client for `site`'s context ([`SiteTarget::client`]).
    ///
    /// # Errors
    /// The kubeconfig could not be read or has no such context.
    pub async fn client(site: &SiteTarget) -> Result<kube::Client, Failure> {
        site.client().await
    }

    /// Polls `check` every 200 ms until it gives `Some`, at most `timeout`; `what` names the
    /// wait in the failure.
    ///
    /// # Errors
    /// The deadline passed (with `what` and the last note `check` left), or `check` failed.
    pub async fn until<T>(
        what: &str,
        timeout: Duration,
        mut check: impl AsyncFnMut() -> Result<Option<T>, Failure>,
    ) -> Result<T, Failure> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if super::interrupt::requested() {
                return Err(Failure::new(format!("{what}: interrupted (Ctrl-C)")));
            }
            if let Some(value) = check().await? {
                return Ok(value);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Failure::new(format!(
                    "{what}: not within {} s",
                    timeout.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// `(is_secure, host, port)` of `http[s]://host[:port]`.
fn split_endpoint(endpoint: &str) -> Result<(bool, String, u16), Failure> {
    let (secure, rest) = if let Some(rest) = endpoint.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = endpoint.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(Failure::new(format!(
            "storage endpoint {endpoint:?} must start with http:// or https://"
        )));
    };
    let rest = rest.trim_end_matches('/');
    match rest.rsplit_once(':') {
        Some((host, port)) => port
            .parse()
            .map(|port| (secure, host.to_owned(), port))
            .map_err(|_| Failure::new(format!("storage endpoint {endpoint:?}: bad port"))),
        None => Ok((secure, rest.to_owned(), if secure { 443 } else { 80 })),
    }
}

/// The first error diagnostic of `events`, or a note that there was none.
#[must_use]
pub fn first_error(events: &crate::terraform::EventLog) -> String {
    events.errors().next().map_or_else(
        || "no error diagnostic (see the evidence)".to_owned(),
        |d| format!("{}: {}", d.summary, d.detail),
    )
}

fn write_private(path: &Path, text: &str) -> Result<(), Failure> {
    crate::secrets::write_private(path, text.as_bytes())
        .map_err(|e| Failure::new(format!("write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_storage_endpoints_with_and_without_port() {
        assert_eq!(
            split_endpoint("http://127.0.0.1:9000").unwrap(),
            (false, "127.0.0.1".to_owned(), 9000)
        );
        assert_eq!(
            split_endpoint("https://s3.example.com/").unwrap(),
            (true, "s3.example.com".to_owned(), 443)
        );
        assert!(split_endpoint("s3.example.com").is_err());
    }
}
