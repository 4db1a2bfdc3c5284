//! `resource "quay_georep_upgrade"` through the real Terraform CLI: bad inputs are rejected at
//! validate time with the attribute they are about, before any cluster is contacted.
//!
//! The full upgrade through Terraform against simulated sites comes with the operator model
//! (`harness/src/sim/operator/`); `tests/it/upgrade.rs` runs the same loop without Terraform.

use georep_harness::terraform::{Diagnostic, Severity, TerraformBinary};

use super::{for_each_terraform, workdir};

/// A valid upgrade of two sites, with `replace` substitutions applied.
fn config(replace: &[(&str, &str)]) -> String {
    let mut body = r#"
terraform {
  required_providers {
    quay = { source = "quay-georep/quay" }
  }
}

provider "quay" {}

resource "quay_georep_upgrade" "all" {
  sites          = ["us_east/quay/registry", "eu_west/quay/registry"]
  target_version = "3.15.7"
  lease_duration = "10m"

  operator {
    method    = "deployment"
    namespace = "quay-operator"
    name      = "quay-operator"
  }

  timeouts {
    create = "30m"
  }
}
"#
    .to_owned();
    for (from, to) in replace {
        assert!(body.contains(from), "{from:?} is not in the configuration");
        body = body.replace(from, to);
    }
    body
}

fn diagnostics(tf: &TerraformBinary, name: &str, hcl: &str) -> Vec<Diagnostic> {
    let dir = workdir(tf, name);
    dir.write_main_tf(hcl).unwrap();
    dir.validate().unwrap().diagnostics
}

struct BadInput {
    name: &'static str,
    replace: (&'static str, &'static str),
    summary: &'static str,
    source: &'static str,
}

const BAD_INPUTS: &[BadInput] = &[
    BadInput {
        name: "site_id",
        replace: ("\"eu_west/quay/registry\"]", "\"eu_west/registry\"]"),
        summary: "Invalid Site Id",
        source: "sites",
    },
    BadInput {
        name: "primary",
        replace: (
            "target_version = ",
            "primary = \"ap_south/quay/registry\"\n  target_version = ",
        ),
        summary: "Primary Not Among Sites",
        source: "primary",
    },
    BadInput {
        name: "target",
        replace: ("\"3.15.7\"", "\"9.9.9\""),
        summary: "Unknown Target Version",
        source: "target_version",
    },
    BadInput {
        name: "method",
        replace: ("\"deployment\"", "\"helm\""),
        summary: "Invalid Operator Method",
        source: "method",
    },
    BadInput {
        name: "lease",
        replace: ("\"10m\"", "\"5s\""),
        summary: "Lease Too Short",
        source: "lease_duration",
    },
    BadInput {
        name: "timeout",
        replace: ("\"30m\"", "\"soon\""),
        summary: "Invalid Timeout",
        source: "create",
    },
];

#[test]
fn upgrade_resource_rejects_bad_inputs_at_the_attribute() {
    for_each_terraform(|tf| {
        let good = diagnostics(tf, "upgrade_good", &config(&[]));
        assert!(!good.iter().any(Diagnostic::is_error), "{good:#?}");
        for bad in BAD_INPUTS {
            let diags = diagnostics(
                tf,
                &format!("upgrade_bad_{}", bad.name),
                &config(&[bad.replace]),
            );
            let found: Vec<&Diagnostic> =
                diags.iter().filter(|d| d.summary == bad.summary).collect();
            assert_eq!(
                found.len(),
                1,
                "{}: expected one {:?}, got {diags:#?}",
                bad.name,
                bad.summary
            );
            assert_eq!(found[0].severity, Severity::Error, "{:#?}", found[0]);
            let snippet = found[0]
                .snippet
                .as_ref()
                .unwrap_or_else(|| panic!("{}: no source snippet: {:#?}", bad.name, found[0]));
            assert!(
                snippet.code.contains(bad.source),
                "{}: should point at {:?}, points at {:?}",
                bad.name,
                bad.source,
                snippet.code
            );
        }
    });
}
