//! Every example is valid Terraform for this provider: every folder under `examples/` that
//! holds `.tf` files is a root module, found by walking the tree (so a new folder cannot be
//! left out), and `terraform validate` passes on it with every Terraform under test. A broken
//! example fails the build.
//!
//! Validating is not enough: an example that needs no cluster (no `quay_georep_site` or
//! `quay_georep_upgrade` resource, no `quay_georep_site` data source; the other data sources
//! render without one) must also plan, offline,
//! with the variable values in its `example.tfvars` (Terraform refuses some things, such as
//! `for_each` over a sensitive value, only at plan). Every example states the Terraform and
//! provider versions it needs (`required_version`, a `version` constraint), and none holds a
//! symlink (Windows checkouts and `cp -r` break them).
//!
//! A folder whose README says `Requires Terraform X.Y.Z or newer.`, or whose
//! `required_version` is `>= X.Y.Z` above 1.0.3 (ephemeral resources need 1.10, write-only
//! attributes 1.11), is validated only with the Terraforms at or above that version, and at
//! least one must be under test: an example no Terraform validated fails too.

use std::path::{Path, PathBuf};

use georep_harness::terraform::{PlanExit, TerraformBinary, Version, binaries_under_test};

use super::workdir;

/// The examples' root.
fn examples_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// Every folder under `root` (itself included) that holds a `.tf` file, sorted.
fn example_dirs(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_owned()];
    while let Some(dir) = pending.pop() {
        let mut has_tf = false;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            assert!(
                !entry.file_type().unwrap().is_symlink(),
                "{} is a symlink: Windows checkouts and `cp -r` break them, copy the file",
                path.display()
            );
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "tf") {
                has_tf = true;
            }
        }
        if has_tf {
            found.push(dir);
        }
    }
    found.sort();
    found
}

/// The oldest Terraform the example in `dir` supports: the higher of its README's
/// `Requires Terraform X.Y.Z or newer.` and a `required_version = ">= X.Y.Z"` in its `.tf`
/// files; none when neither says.
fn required_terraform(dir: &Path) -> Option<Version> {
    let parse = |version: &str, file: &str| -> Version {
        version.trim().parse().unwrap_or_else(|e| {
            panic!("{}/{file}: {version:?}: {e}", dir.display());
        })
    };
    let readme = std::fs::read_to_string(dir.join("README.md")).ok();
    let from_readme = readme.as_deref().and_then(|readme| {
        let (_, rest) = readme.split_once("Requires Terraform ")?;
        let (version, _) = rest.split_once(" or newer")?;
        Some(parse(version, "README.md"))
    });
    let from_tf = example_files(dir)
        .into_iter()
        .filter(|(name, _)| name.ends_with(".tf"))
        .flat_map(|(name, text)| {
            text.lines()
                .filter_map(|line| {
                    let constraint = line.trim().strip_prefix("required_version")?;
                    let constraint = constraint.trim_start().strip_prefix('=')?.trim();
                    let lowest = constraint.trim_matches('"').trim().strip_prefix(">=")?;
                    Some(parse(lowest, &name))
                })
                .collect::<Vec<_>>()
        });
    from_readme.into_iter().chain(from_tf).max()
}

/// The file holding the variable values an example plans with.
const EXAMPLE_TFVARS: &str = "example.tfvars";

/// Whether the example's `.tf` files need a cluster to plan: they manage sites or upgrades,
/// or read a live site.
fn needs_cluster(files: &[(String, String)]) -> bool {
    files.iter().any(|(name, text)| {
        name.ends_with(".tf")
            && [
                "resource \"quay_georep_site\"",
                "resource \"quay_georep_upgrade\"",
                "data \"quay_georep_site\"",
            ]
            .iter()
            .any(|resource| text.contains(resource))
    })
}

/// The example's `.tf` and `.tfvars` files, by name.
fn example_files(dir: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "tf" || e == "tfvars") {
            let file = path.file_name().unwrap().to_str().unwrap().to_owned();
            files.push((file, std::fs::read_to_string(&path).unwrap()));
        }
    }
    files.sort();
    files
}

/// Checks the example in `dir` with `tf`: it validates, states its versions, and, when it
/// needs no cluster, plans offline with its `example.tfvars`. Says what is wrong otherwise.
fn check_example(tf: &TerraformBinary, root: &Path, dir: &Path) -> Result<(), String> {
    let name = dir
        .strip_prefix(root)
        .unwrap()
        .to_string_lossy()
        .replace('/', "_");
    let files = example_files(dir);
    let all_tf: String = files
        .iter()
        .filter(|(name, _)| name.ends_with(".tf"))
        .map(|(_, text)| text.as_str())
        .collect();
    if !all_tf.contains("required_version") {
        return Err(format!("{} sets no required_version", dir.display()));
    }
    let quay_line = all_tf
        .lines()
        .find(|line| line.contains("source = \"quay-georep/quay\""))
        .unwrap_or_default();
    if !quay_line.contains("version") {
        return Err(format!(
            "{} requires quay-georep/quay without a version constraint: {quay_line:?}",
            dir.display()
        ));
    }
    let work = workdir(tf, &format!("example_{name}"));
    for (file, text) in &files {
        work.write_file(file, text).unwrap();
    }
    let outcome = work.validate().unwrap();
    if !outcome.valid {
        return Err(format!(
            "{} is not valid with {tf}: {:#?}",
            dir.display(),
            outcome.diagnostics
        ));
    }
    if needs_cluster(&files) {
        return Ok(());
    }
    let var_file = format!("-var-file={EXAMPLE_TFVARS}");
    let args: &[&str] = if files.iter().any(|(name, _)| name == EXAMPLE_TFVARS) {
        &[&var_file]
    } else {
        &[]
    };
    let plan = work.plan_with(args).unwrap();
    if plan.exit == PlanExit::Error {
        return Err(format!(
            "{} validates but does not plan with {tf} (it needs no cluster; variable values \
             go in its {EXAMPLE_TFVARS}): {:#?}",
            dir.display(),
            plan.events.errors().collect::<Vec<_>>()
        ));
    }
    Ok(())
}

#[test]
fn every_example_is_valid_terraform() {
    let root = examples_root();
    let dirs = example_dirs(&root);
    for expected in ["provider", "gitops", "three-sites", "upgrade"] {
        assert!(
            dirs.contains(&root.join(expected)),
            "examples/{expected} not found in {dirs:?}"
        );
    }
    let terraforms = binaries_under_test().unwrap_or_else(|error| panic!("{error}"));
    for dir in &dirs {
        let required = required_terraform(dir);
        let able: Vec<&TerraformBinary> = terraforms
            .iter()
            .filter(|tf| required.as_ref().is_none_or(|r| tf.version >= *r))
            .collect();
        assert!(
            !able.is_empty(),
            "{} requires Terraform {} or newer, and none is under test (put one on PATH)",
            dir.display(),
            required.map(|v| v.to_string()).unwrap_or_default()
        );
        for tf in able {
            check_example(tf, &root, dir).unwrap_or_else(|error| panic!("{error}"));
        }
    }
}

#[test]
fn a_readme_can_raise_the_terraform_an_example_needs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("README.md"),
        "# x\n\nRequires Terraform 1.5.0 or newer.\n",
    )
    .unwrap();
    assert_eq!(required_terraform(dir.path()), Some(Version::new(1, 5, 0)));
    std::fs::write(
        dir.path().join("main.tf"),
        "terraform {\n  required_version = \">= 1.11.0\"\n}\n",
    )
    .unwrap();
    assert_eq!(required_terraform(dir.path()), Some(Version::new(1, 11, 0)));
    assert_eq!(
        required_terraform(&examples_root().join("ephemeral-resources/quay_georep_config")),
        Some(Version::new(1, 11, 0))
    );
    assert_eq!(
        required_terraform(&examples_root().join("gitops")),
        Some(Version::new(1, 0, 3))
    );
}

#[test]
fn an_example_that_validates_but_cannot_plan_fails_the_check() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("unplannable");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("main.tf"),
        r#"
terraform {
  required_version = ">= 1.0.3"
  required_providers {
    quay = { source = "quay-georep/quay", version = "~> 0.1.0" }
  }
}

variable "hostname" {
  type = string
}

output "hostname" {
  value = var.hostname
}
"#,
    )
    .unwrap();
    let tf = &binaries_under_test().unwrap()[0];
    let error = check_example(tf, root.path(), &dir).unwrap_err();
    assert!(error.contains("validates but does not plan"), "{error}");
    std::fs::write(
        dir.join(EXAMPLE_TFVARS),
        "hostname = \"quay.example.com\"\n",
    )
    .unwrap();
    check_example(tf, root.path(), &dir).unwrap();
}

#[test]
fn upgrade_holds_identical_copies_of_three_sites() {
    let root = examples_root();
    for file in ["main.tf", "variables.tf", "outputs.tf"] {
        let original = std::fs::read_to_string(root.join("three-sites").join(file)).unwrap();
        let copy = std::fs::read_to_string(root.join("upgrade").join(file)).unwrap();
        assert!(
            copy == original,
            "examples/upgrade/{file} differs from examples/three-sites/{file}: copy it again"
        );
    }
}

#[test]
fn operator_olm_subscribes_with_manual_approval_beside_its_operator_group() {
    let dir = examples_root().join("operator-olm");
    let mut kinds = std::collections::BTreeMap::new();
    for file in ["namespace.yaml", "operatorgroup.yaml", "subscription.yaml"] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let object: serde_json::Value = serde_saphyr::from_str(&text)
            .unwrap_or_else(|error| panic!("examples/operator-olm/{file}: {error}"));
        let kind = object["kind"].as_str().unwrap().to_owned();
        kinds.insert(kind, object);
    }
    let subscription = &kinds["Subscription"];
    assert_eq!(subscription["spec"]["installPlanApproval"], "Manual");
    let namespace = &kinds["Namespace"]["metadata"]["name"];
    assert_eq!(&kinds["OperatorGroup"]["metadata"]["namespace"], namespace);
    assert_eq!(&subscription["metadata"]["namespace"], namespace);
    assert!(
        kinds["OperatorGroup"]["spec"]
            .get("targetNamespaces")
            .is_none(),
        "the operator must watch all namespaces"
    );
}
