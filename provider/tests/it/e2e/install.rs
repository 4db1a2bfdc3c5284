//! Installing the provider as a user does: `scripts/install-provider.sh` lays this build's
//! binary out as a local filesystem mirror, the Go null provider is mirrored the same way, and
//! with the `provider_installation` block the script printed (and nothing else: no development
//! overrides) `terraform init` installs both offline, then plan and apply a configuration
//! using both, on every Terraform under test.
//!
//! Offline is enforced, not assumed: every command runs behind an HTTP(S) proxy that does not
//! exist, so any registry query would fail `init`.

use std::path::{Path, PathBuf};
use std::process::Command;

use georep_harness::terraform::{PlanExit, Workdir, repo_root};

use super::{for_each_terraform, null_provider_dir};

/// This build's version, the one the script reads from `Cargo.toml`.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The null provider's version, as `scripts/install-null-provider.sh` installs it.
const NULL_VERSION: &str = "2.1.2";

/// An address nothing listens on, as proxy: a request leaving the machine fails at once.
const NO_PROXY_HERE: &str = "http://127.0.0.1:9";

/// Runs `scripts/install-provider.sh` with `args` and returns the block it printed.
fn install(args: &[&str]) -> String {
    let script = repo_root().unwrap().join("scripts/install-provider.sh");
    let output = Command::new("bash")
        .arg(&script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{} {args:?}: {}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// `OS_ARCH` of this machine as Terraform names platforms.
fn platform() -> String {
    let os = std::env::consts::OS;
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    format!("{os}_{arch}")
}

/// The mirror with this build's provider and the null provider, and the block the script
/// printed after installing the second.
fn mirror(dir: &Path) -> String {
    let quay = PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-quay"));
    let null = null_provider_dir().join(format!("terraform-provider-null_v{NULL_VERSION}_x4"));
    let mirror = dir.to_str().unwrap();
    let first = install(&["--binary", quay.to_str().unwrap(), "--mirror", mirror]);
    assert!(
        first.contains("\"registry.terraform.io/quay-georep/quay\""),
        "{first}"
    );
    install(&[
        "--binary",
        null.to_str().unwrap(),
        "--source",
        "hashicorp/null",
        "--version",
        NULL_VERSION,
        "--mirror",
        mirror,
    ])
}

const CONFIG: &str = r#"
terraform {
  required_version = ">= 1.0.3"
  required_providers {
    quay = { source = "quay-georep/quay", version = "~> VERSION" }
    null = { source = "hashicorp/null", version = "NULL_VERSION" }
  }
}

provider "quay" {}

data "quay_georep_config" "shared" {
  server_hostname     = "quay.global.example.com"
  secret_key          = "0123456789abcdef0123456789abcdef-secret"
  database_secret_key = "fedcba9876543210fedcba9876543210-dbkey"

  database {
    uri = "postgresql://quay:db-password@db.example.com:5432/quay"
  }

  redis {
    host     = "redis.example.com"
    password = "redis-password"
  }

  storage "us_east" {
    driver     = "radosgw"
    hostname   = "s3.us-east.example.com"
    port       = 443
    bucket     = "quay-us-east"
    access_key = "ak-us_east"
    secret_key = "sk-us_east-0123456789"
  }
}

resource "null_resource" "rollout" {
  triggers = {
    config_hash = data.quay_georep_config.shared.config_hash
  }
}

output "rollout_hash" {
  value = null_resource.rollout.triggers.config_hash
}
"#;

#[test]
fn mirror_lays_out_the_provider_for_terraform_and_opentofu() {
    let dir = tempfile::tempdir().unwrap();
    let block = mirror(dir.path());
    for hostname in ["registry.terraform.io", "registry.opentofu.org"] {
        let binary = dir.path().join(format!(
            "{hostname}/quay-georep/quay/{VERSION}/{}/terraform-provider-quay_v{VERSION}",
            platform()
        ));
        assert!(binary.is_file(), "{} is missing", binary.display());
        for source in ["quay-georep/quay", "hashicorp/null"] {
            let address = format!("\"{hostname}/{source}\"");
            assert_eq!(
                block.matches(&address).count(),
                2,
                "{address} should be in the mirror's include and direct's exclude:\n{block}"
            );
        }
    }
    assert!(block.contains("filesystem_mirror {"), "{block}");
    assert!(!block.contains("dev_overrides"), "{block}");
}

#[test]
fn terraform_init_installs_from_the_mirror_offline_then_plans_and_applies() {
    let dir = tempfile::tempdir().unwrap();
    let block = mirror(dir.path());
    let hcl = CONFIG
        .replace("NULL_VERSION", NULL_VERSION)
        .replace("VERSION", VERSION);
    for_each_terraform(|terraform| {
        let work = Workdir::with_provider_installation(
            terraform,
            &format!("install_mirror-tf{}", terraform.version),
            &block,
        )
        .unwrap()
        .with_env("HTTPS_PROXY", NO_PROXY_HERE)
        .with_env("HTTP_PROXY", NO_PROXY_HERE);
        work.write_main_tf(&hcl).unwrap();

        let init = work.init().unwrap_or_else(|error| panic!("{error}"));
        assert!(
            !init.stdout.contains("development overrides"),
            "{}",
            init.stdout
        );
        let lock = std::fs::read_to_string(work.path().join(".terraform.lock.hcl")).unwrap();
        for (address, version) in [
            ("registry.terraform.io/quay-georep/quay", VERSION),
            ("registry.terraform.io/hashicorp/null", NULL_VERSION),
        ] {
            assert!(
                lock.contains(&format!(
                    "provider \"{address}\" {{\n  version     = \"{version}\""
                )),
                "the lock file does not pin {address} {version}:\n{lock}"
            );
        }

        let plan = work.plan().unwrap();
        assert_eq!(plan.exit, PlanExit::Changes, "{:#?}", plan.events);
        work.apply()
            .unwrap()
            .require_success()
            .unwrap_or_else(|error| panic!("{error}"));
        let outputs = work.output_json().unwrap();
        let hash = outputs["rollout_hash"].value.as_str().unwrap();
        assert!(hash.starts_with("sha256:"), "not the config hash: {hash:?}");
        let plan = work.plan().unwrap();
        assert_eq!(plan.exit, PlanExit::NoChanges, "{:#?}", plan.events);
    });
}
