//! The GitHub workflows and release packaging, checked here so a broken workflow fails
//! before it reaches GitHub: every workflow passes check-jsonschema's GitHub workflow schema
//! (scripts/lint-workflows.sh installs it into .cache/ on first use), every action is pinned
//! by full commit SHA with its release in a comment (design/kind-backend.md), and
//! scripts/release.sh makes the registry layout from a linux amd64 build.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn workflows() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join(".github/workflows"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn there_are_the_three_workflows() {
    let names: Vec<_> = workflows()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["ci.yml", "e2e-kind.yml", "release.yml"]);
}

#[test]
fn every_workflow_passes_the_github_workflow_schema() {
    let out = Command::new("bash")
        .arg(repo().join("scripts/lint-workflows.sh"))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "scripts/lint-workflows.sh failed:\n{text}"
    );
    assert!(text.contains("ok -- validation done"), "{text}");
}

/// `(file, uses, comment)` of every step that uses an action.
fn uses_lines() -> Vec<(String, String, String)> {
    let mut all = Vec::new();
    for file in workflows() {
        let text = std::fs::read_to_string(&file).unwrap();
        let doc: Value = serde_saphyr::from_str(&text).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        for (_, job) in doc["jobs"].as_object().unwrap() {
            for step in job["steps"].as_array().into_iter().flatten() {
                let Some(uses) = step["uses"].as_str() else {
                    continue;
                };
                // The release comment is not in the parsed YAML: find it on the line.
                let comment = text
                    .lines()
                    .find(|l| l.contains(&format!("uses: {uses}")))
                    .and_then(|l| l.split_once(" # "))
                    .map(|(_, c)| c.trim().to_owned())
                    .unwrap_or_default();
                all.push((name.clone(), uses.to_owned(), comment));
            }
        }
    }
    all
}

#[test]
fn every_action_is_pinned_by_full_commit_sha_with_its_release() {
    let uses = uses_lines();
    assert!(uses.len() >= 10, "{uses:#?}");
    for (file, uses, comment) in &uses {
        let (action, pin) = uses.split_once('@').unwrap_or((uses, ""));
        assert!(
            !action.starts_with("./"),
            "{file}: local actions are not used"
        );
        assert!(
            pin.len() == 40
                && pin
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "{file}: {uses} is not pinned by a full commit SHA"
        );
        assert!(
            comment.starts_with('v') && comment[1..].split('.').count() == 3,
            "{file}: {uses} needs its release as a `# vX.Y.Z` comment, has {comment:?}"
        );
    }
}

#[test]
fn one_action_release_has_one_sha_everywhere() {
    let mut seen = std::collections::BTreeMap::new();
    for (file, uses, comment) in uses_lines() {
        let (action, pin) = uses.split_once('@').unwrap();
        let key = format!("{action} {comment}");
        if let Some((other_file, other_pin)) =
            seen.insert(key.clone(), (file.clone(), pin.to_owned()))
        {
            assert_eq!(
                other_pin, pin,
                "{key}: {other_file} and {file} pin different commits"
            );
        }
    }
}

#[test]
fn the_release_script_zips_in_the_registry_layout_with_checksums() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("terraform-provider-quay");
    std::fs::write(&binary, b"#!/bin/sh\necho provider\n").unwrap();
    let out = dir.path().join("dist");
    let script = repo().join("scripts/release.sh");
    let run = |args: &[&str]| {
        let o = Command::new("bash")
            .arg(&script)
            .args(args)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "release.sh {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).trim().to_owned()
    };
    let b = binary.to_str().unwrap();
    let o = out.to_str().unwrap();
    let zip = run(&["package", "1.2.3", "linux", "amd64", b, o]);
    assert!(
        zip.ends_with("dist/terraform-provider-quay_1.2.3_linux_amd64.zip"),
        "{zip}"
    );
    run(&["package", "1.2.3", "windows", "amd64", b, o]);
    let sums = run(&["sums", "1.2.3", o]);

    let listing = Command::new("python3")
        .args(["-c", "import sys, zipfile\nfor i in zipfile.ZipFile(sys.argv[1]).infolist(): print(i.filename, oct(i.external_attr >> 16))"])
        .arg(&zip)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&listing.stdout).trim(),
        "terraform-provider-quay_v1.2.3 0o100755",
        "one executable named as the registry expects"
    );
    let sums_text = std::fs::read_to_string(&sums).unwrap();
    let files: Vec<_> = sums_text
        .lines()
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "terraform-provider-quay_1.2.3_linux_amd64.zip",
            "terraform-provider-quay_1.2.3_manifest.json",
            "terraform-provider-quay_1.2.3_windows_amd64.zip",
        ]
    );
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("terraform-provider-quay_1.2.3_manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["metadata"]["protocol_versions"][0], "5.0");

    let bad = Command::new("bash")
        .arg(&script)
        .args(["package", "v1.2.3", "linux", "amd64", b, o])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not semantic"));
}

#[test]
fn the_e2e_workflow_runs_the_kind_backend_and_cleans_up() {
    let text = std::fs::read_to_string(repo().join(".github/workflows/e2e-kind.yml")).unwrap();
    for needed in [
        "georep-harness up --backend kind --dry-run",
        "georep-harness up --backend kind\n",
        "georep-harness down --backend kind",
        "bash scripts/fetch-operator-bundle.sh",
        "georep-harness conformance --backend kind --dry-run",
        "georep-harness conformance --backend kind \\\n",
    ] {
        assert!(text.contains(needed), "e2e-kind.yml lacks {needed:?}");
    }
    assert!(
        !text.contains("did not run"),
        "the suite runs on kind: no step may pass without it"
    );
    let ci = std::fs::read_to_string(repo().join(".github/workflows/ci.yml")).unwrap();
    assert!(
        ci.contains("run: bash .ci/run"),
        "CI runs what .ci/run runs"
    );
}
