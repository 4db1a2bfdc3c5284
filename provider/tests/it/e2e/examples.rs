//! Every example is valid Terraform for this provider, with every Terraform under test: the
//! ones the reference pages embed (`examples/provider`, `examples/data-sources/*`,
//! `examples/resources/*`) and the root modules beside them (`examples/gitops`, ...). A broken
//! example fails the build.

use std::path::{Path, PathBuf};

use super::{for_each_terraform, workdir};

/// Every example folder (each a root module).
fn example_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut dirs = vec![root.join("provider")];
    for kind in ["data-sources", "resources"] {
        if let Ok(entries) = std::fs::read_dir(root.join(kind)) {
            dirs.extend(
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.is_dir()),
            );
        }
    }
    dirs.sort();
    dirs
}

#[test]
fn reference_examples_are_valid_terraform() {
    let dirs = example_dirs();
    assert!(dirs.len() >= 4, "examples missing: {dirs:?}");
    for_each_terraform(|tf| {
        for dir in &dirs {
            let name = dir
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("example");
            let work = workdir(tf, &format!("example_{name}"));
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "tf") {
                    let file = path.file_name().unwrap().to_str().unwrap().to_owned();
                    work.write_file(&file, &std::fs::read_to_string(&path).unwrap())
                        .unwrap();
                }
            }
            let outcome = work.validate().unwrap();
            assert!(
                outcome.valid,
                "{} is not valid: {:#?}",
                dir.display(),
                outcome.diagnostics
            );
        }
    });
}
