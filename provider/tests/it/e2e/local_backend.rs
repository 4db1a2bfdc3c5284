//! The local backend for end-to-end tests: simulated clusters running the operator model on
//! real PostgreSQL, Redis and S3 ([`LocalRun`]), a working directory holding the three-sites
//! example's variables with this backend's values, and the shared configuration written from
//! those variables ([`shared_config_tf`]).

use std::path::Path;

use georep_harness::local::{LocalEnv, LocalOptions};
use georep_harness::sim::Flavour;
use georep_harness::terraform::{TerraformBinary, Workdir};

use super::workdir;

/// A local backend started for one test.
pub struct LocalRun {
    /// The runtime the backend's servers and the test's cluster reads run on.
    pub runtime: tokio::runtime::Runtime,
    /// The sites, their clusters and the shared services.
    pub env: LocalEnv,
    _state: tempfile::TempDir,
}

impl LocalRun {
    /// Starts one simulated cluster per site (`us-east`, ...) of `flavour`.
    pub fn start(sites: &[&str], flavour: Flavour) -> Self {
        Self::start_with(sites, flavour, |_| {})
    }

    /// [`LocalRun::start`], with `adjust` changing the backend's other options.
    pub fn start_with(
        sites: &[&str],
        flavour: Flavour,
        adjust: impl FnOnce(&mut LocalOptions),
    ) -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let state = tempfile::tempdir().unwrap();
        let mut options = LocalOptions::new(state.path());
        options.sites = sites.iter().map(|s| (*s).to_owned()).collect();
        options.flavour = flavour;
        adjust(&mut options);
        let env = runtime.block_on(LocalEnv::start(&options)).unwrap();
        Self {
            runtime,
            env,
            _state: state,
        }
    }

    /// A working directory for `tf` named after `name`, with `variables.tf` of the
    /// three-sites example and `terraform.tfvars.json` holding this backend's values.
    pub fn workdir(&self, tf: &TerraformBinary, name: &str) -> Workdir {
        let dir = workdir(tf, name);
        let variables = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/three-sites/variables.tf"
        ));
        dir.write_file("variables.tf", &std::fs::read_to_string(variables).unwrap())
            .unwrap();
        self.env
            .write_tfvars(&dir.path().join("terraform.tfvars.json"))
            .unwrap();
        dir
    }

    /// Stops the backend.
    pub fn stop(self) {
        self.runtime.block_on(self.env.stop()).unwrap();
    }
}

/// The `terraform` block, a provider with one cluster per location of `locations`
/// (`us_east`, ...) and `data "quay_georep_config" "shared"` from the three-sites variables,
/// each location's bucket from `var.storage`, and `storage_extra` (more storage blocks) at the
/// end of the data source.
pub fn shared_config_tf(locations: &[&str], storage_extra: &str) -> String {
    let clusters: String = locations
        .iter()
        .map(|l| {
            format!("  cluster \"{l}\" {{ kubeconfig_path = var.kubeconfig_paths[\"{l}\"] }}\n")
        })
        .collect();
    let storage: String = locations
        .iter()
        .map(|l| {
            format!(
                r#"
  storage "{l}" {{
    driver     = "radosgw"
    hostname   = var.storage["{l}"].hostname
    port       = var.storage["{l}"].port
    is_secure  = false
    bucket     = var.storage["{l}"].bucket
    access_key = var.storage["{l}"].access_key
    secret_key = var.storage["{l}"].secret_key
    region     = var.storage["{l}"].region
  }}"#
            )
        })
        .collect();
    format!(
        r#"
terraform {{
  required_providers {{
    quay = {{ source = "quay-georep/quay" }}
  }}
}}

provider "quay" {{
{clusters}}}

data "quay_georep_config" "shared" {{
  server_hostname     = var.server_hostname
  secret_key          = var.secret_key
  database_secret_key = var.database_secret_key
  database {{
    uri = var.database_uri
  }}
  redis {{
    host     = var.redis.host
    port     = var.redis.port
    password = var.redis.password
  }}{storage}{storage_extra}
}}
"#
    )
}

/// The namespace of the sites [`site_tf`] writes.
pub const NAMESPACE: &str = "quay-enterprise";

/// `resource "quay_georep_site" "<location>"` on the cluster of that name, in [`NAMESPACE`],
/// from [`shared_config_tf`]'s config, without Clair, with `extra` (more lines) inside it.
pub fn site_tf(location: &str, extra: &str) -> String {
    format!(
        r#"
resource "quay_georep_site" "{location}" {{
  cluster      = "{location}"
  namespace    = "{NAMESPACE}"
  config_yaml  = data.quay_georep_config.shared.config_yaml
  config_files = data.quay_georep_config.shared.config_files
  location     = "{location}"
  clair {{
    enabled = false
  }}
{extra}}}
"#
    )
}

/// [`shared_config_tf`] for `us_east`, and `resource "quay_georep_site" "us_east"` in the
/// namespace `quay-enterprise` without Clair, with `extra` (more blocks) inside it.
pub fn one_site_tf(extra: &str) -> String {
    shared_config_tf(&["us_east"], "")
        + &format!(
            r#"
resource "quay_georep_site" "us_east" {{
  cluster     = "us_east"
  namespace   = "quay-enterprise"
  config_yaml = data.quay_georep_config.shared.config_yaml
  location    = "us_east"
  clair {{
    enabled = false
  }}
{extra}}}
"#
        )
}
