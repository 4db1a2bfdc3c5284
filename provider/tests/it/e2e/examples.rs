//! Every example is valid Terraform for this provider: every folder under `examples/` that
//! holds `.tf` files is a root module, found by walking the tree (so a new folder cannot be
//! left out), and `terraform validate` passes on it with every Terraform under test. A broken
//! example fails the build.
//!
//! A folder whose README says `Requires Terraform X.Y.Z or newer.` is validated only with the
//! Terraforms at or above that version, and at least one must be under test: an example no
//! Terraform validated fails too.

use std::path::{Path, PathBuf};

use georep_harness::terraform::{TerraformBinary, Version, binaries_under_test};

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
            let path = entry.unwrap().path();
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

/// The oldest Terraform the example in `dir` supports, from its README's
/// `Requires Terraform X.Y.Z or newer.`; none when it does not say.
fn required_terraform(dir: &Path) -> Option<Version> {
    let readme = std::fs::read_to_string(dir.join("README.md")).ok()?;
    let (_, rest) = readme.split_once("Requires Terraform ")?;
    let (version, _) = rest.split_once(" or newer")?;
    Some(version.parse().unwrap_or_else(|e| {
        panic!("{}/README.md: {e}", dir.display());
    }))
}

/// Validates the example in `dir` with `tf` and panics with its diagnostics when invalid.
fn assert_valid(tf: &TerraformBinary, root: &Path, dir: &Path) {
    let name = dir
        .strip_prefix(root)
        .unwrap()
        .to_string_lossy()
        .replace('/', "_");
    let work = workdir(tf, &format!("example_{name}"));
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "tf") {
            let file = path.file_name().unwrap().to_str().unwrap().to_owned();
            // Reads through symlinks (examples/upgrade links three-sites' files).
            work.write_file(&file, &std::fs::read_to_string(&path).unwrap())
                .unwrap();
        }
    }
    let outcome = work.validate().unwrap();
    assert!(
        outcome.valid,
        "{} is not valid with {tf}: {:#?}",
        dir.display(),
        outcome.diagnostics
    );
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
            assert_valid(tf, &root, dir);
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
    assert_eq!(required_terraform(&examples_root().join("gitops")), None);
}
