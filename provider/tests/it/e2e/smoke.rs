//! The smallest end-to-end check: Terraform can start the provider and read its schema.

use super::{for_each_terraform, workdir};

/// A root module that requires our provider and configures it with no arguments.
const EMPTY_PROVIDER: &str = r#"
terraform {
  required_providers {
    quay = {
      source = "quay-georep/quay"
    }
  }
}

provider "quay" {}
"#;

#[test]
fn validate_accepts_an_empty_provider_block() {
    for_each_terraform(|terraform| {
        let workdir = workdir(terraform, "validate_accepts_an_empty_provider_block");
        workdir.write_main_tf(EMPTY_PROVIDER).unwrap();
        let outcome = workdir.validate().unwrap();
        assert!(outcome.valid, "{terraform}: {:#?}", outcome.diagnostics);
        assert_eq!(outcome.error_count, 0);
    });
}
