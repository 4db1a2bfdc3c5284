use super::*;
use crate::backend::kind::config;

fn harness_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn sites() -> Vec<(String, PathBuf, Cluster)> {
    let names: Vec<String> = crate::local::DEFAULT_SITES.map(String::from).to_vec();
    config::read_sites(&harness_dir().join("../kind-configs"), &names)
        .unwrap()
        .into_iter()
        .zip(names)
        .map(|((path, cluster), site)| (site, path, cluster))
        .collect()
}

fn operator() -> OperatorManifests {
    OperatorManifests::read(&harness_dir().join("src/backend/kind/testdata/operator-bundle"))
        .unwrap()
}

fn plan_with(existing: &Existing, reuse: bool) -> Result<Plan, ExistsError> {
    let sites = sites();
    let names: Vec<String> = sites.iter().map(|(s, _, _)| s.clone()).collect();
    let operator = operator();
    let inputs = Inputs {
        sites: &sites,
        state_dir: Path::new("/state"),
        images: &Images::default(),
        ingress_manifest: "ingress.yaml",
        operator: &operator,
        credentials: &Credentials::placeholders(&names),
        reuse,
    };
    build(&inputs, existing)
}

fn shell_lines(plan: &Plan) -> Vec<String> {
    plan.commands().map(Cmd::shell).collect()
}

#[test]
fn a_fresh_host_gets_every_cluster_and_container_created() {
    let plan = plan_with(&Existing::default(), false).unwrap();
    let lines = shell_lines(&plan);
    let creates: Vec<_> = lines
        .iter()
        .filter(|l| l.starts_with("kind create cluster"))
        .collect();
    assert_eq!(creates.len(), 3, "{lines:#?}");
    assert!(
        creates[0].contains("kind-configs/us-east.yaml"),
        "{}",
        creates[0]
    );
    let runs: Vec<_> = lines
        .iter()
        .filter(|l| l.starts_with("docker run"))
        .map(|l| l.split_whitespace().nth(4).unwrap())
        .collect();
    assert_eq!(
        runs,
        [
            "georep-postgres",
            "georep-redis",
            "georep-s3-us-east",
            "georep-s3-eu-west",
            "georep-s3-ap-south",
            "georep-lb-quay",
            "georep-lb-clair"
        ]
    );
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with("'CREATE EXTENSION IF NOT EXISTS pg_trgm'")),
        "{lines:#?}"
    );
    let operator_applies = lines
        .iter()
        .filter(|l| l.ends_with("apply --server-side --force-conflicts -f -"))
        .count();
    assert_eq!(operator_applies, 3, "the operator goes onto every cluster");
}

#[test]
fn an_existing_cluster_without_reuse_names_it_and_the_way_out() {
    let existing = Existing {
        clusters: ["georep-eu-west".to_owned()].into(),
        ..Existing::default()
    };
    let err = plan_with(&existing, false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "kind cluster georep-eu-west already exists: pass --reuse to use it, or remove it with \
         `georep-harness down --backend kind`"
    );
}

#[test]
fn an_existing_container_without_reuse_is_refused_too() {
    let existing = Existing {
        containers: ["georep-redis".to_owned()].into(),
        ..Existing::default()
    };
    let err = plan_with(&existing, false).unwrap_err();
    assert_eq!(err.what, "container georep-redis");
}

#[test]
fn reuse_creates_only_what_is_missing_and_sets_up_only_new_containers() {
    let existing = Existing {
        clusters: ["georep-us-east".to_owned(), "some-other-cluster".to_owned()].into(),
        containers: ["georep-postgres".to_owned()].into(),
    };
    let plan = plan_with(&existing, true).unwrap();
    let lines = shell_lines(&plan);
    let creates: Vec<_> = lines
        .iter()
        .filter(|l| l.starts_with("kind create cluster"))
        .collect();
    assert_eq!(creates.len(), 2, "{lines:#?}");
    assert!(!creates.iter().any(|l| l.contains("us-east.yaml")));
    assert!(lines.contains(&"docker start georep-postgres".to_owned()));
    assert!(
        !lines.iter().any(|l| l.contains("CREATE DATABASE")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("docker run --detach --name georep-redis"))
    );
    // Applying is idempotent, so reused clusters still get the operator (for an upgrade).
    assert_eq!(
        lines.iter().filter(|l| l.ends_with("-f -")).count(),
        3,
        "{lines:#?}"
    );
}

#[test]
fn the_dry_run_prints_the_whole_plan() {
    let opts = crate::backend::kind::KindOptions {
        operator_bundle: harness_dir().join("src/backend/kind/testdata/operator-bundle"),
        ..crate::backend::kind::KindOptions::new(&harness_dir().join(".."), Path::new("/state"))
    };
    let got = crate::backend::kind::dry_run(&opts)
        .unwrap()
        .replace(&harness_dir().display().to_string(), "$HARNESS");
    let golden = harness_dir().join("src/backend/kind/testdata/dry-run.golden");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &got).unwrap();
    }
    let want = std::fs::read_to_string(&golden).unwrap_or_default();
    assert!(
        got == want,
        "dry-run output differs from {} (UPDATE_GOLDEN=1 to accept)\n--- expected\n{want}\n+++ got\n{got}",
        golden.display()
    );
    assert!(
        !got.contains("georep-harness down"),
        "a fresh plan refuses nothing"
    );
}

#[test]
fn the_dry_run_without_a_fetched_bundle_still_prints_the_whole_plan() {
    let state = Path::new("/state");
    let opts = crate::backend::kind::KindOptions {
        operator_bundle: PathBuf::from("/nonexistent/manifests"),
        ..crate::backend::kind::KindOptions::new(&harness_dir().join(".."), state)
    };
    let got = crate::backend::kind::dry_run(&opts).unwrap();
    assert!(
        got.contains("-f - <<'EOF'\n# Namespace, ServiceAccount, ClusterRole"),
        "{got}"
    );
    assert!(got.contains("which is not fetched yet:\n# bash scripts/fetch-operator-bundle.sh"));
    assert_eq!(got.matches("kind create cluster").count(), 3);
    assert!(got.contains("rollout status deployment/quay-operator-tng"));
}

#[test]
fn debug_of_the_plan_hides_every_password_and_key() {
    let sites = sites();
    let names: Vec<String> = sites.iter().map(|(s, _, _)| s.clone()).collect();
    let operator = operator();
    let credentials = Credentials::generate(&names).unwrap();
    let inputs = Inputs {
        sites: &sites,
        state_dir: Path::new("/state"),
        images: &Images::default(),
        ingress_manifest: "ingress.yaml",
        operator: &operator,
        credentials: &credentials,
        reuse: false,
    };
    let plan = build(&inputs, &Existing::default()).unwrap();
    let printed = format!("{plan:?} {plan:#?} {inputs:?}");
    let mut secrets = credentials.secrets();
    secrets.extend(credentials.s3.values().map(|s3| s3.access_key.clone()));
    for secret in &secrets {
        assert!(!printed.contains(secret.as_str()), "a secret is printed");
    }
    // Still useful: the commands are there, the secrets marked.
    assert!(printed.contains("\"redis-server\", \"--requirepass\", \"<redacted>\""));
    assert!(printed.contains("POSTGRES_PASSWORD=<redacted>"));
    assert!(printed.contains("contents: <"), "files by size");
    // What runs is not redacted.
    assert!(
        plan.commands()
            .any(|c| c.shell().contains(&credentials.redis_password)),
        "the commands keep their passwords"
    );
}

#[test]
fn the_plan_writes_a_conformance_target_of_the_kind_clusters() {
    let plan = plan_with(&Existing::default(), false).unwrap();
    let contents = plan
        .sections
        .iter()
        .flat_map(|s| &s.steps)
        .find_map(|step| match step {
            Step::Write { path, contents } if path.ends_with("conformance-target.yaml") => {
                Some(contents.clone())
            }
            _ => None,
        })
        .expect("the outputs hold the target file");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conformance-target.yaml");
    std::fs::write(&path, &contents).unwrap();
    let target = crate::conformance::Target::load(&path).unwrap();
    let contexts: Vec<_> = target.sites.iter().map(|s| s.context.as_str()).collect();
    assert_eq!(contexts, ["us-east", "eu-west", "ap-south"]);
    assert_eq!(target.sites[0].kubeconfig, Path::new("/state/kubeconfig"));
    assert_eq!(
        target.platform,
        crate::conformance::target::Platform::Kubernetes
    );
    assert_eq!(
        target.services.sites["eu_west"].endpoint, "http://georep-s3-eu-west:3900",
        "the addresses pods use"
    );
    assert_eq!(target.services.redis.host, "georep-redis");
    assert_eq!(
        target.global.quay_endpoint.as_deref(),
        Some("http://127.0.0.1:17080"),
        "the Quay balancer, published on loopback"
    );
    assert_eq!(
        target.global.clair_endpoint.as_deref(),
        Some("http://127.0.0.1:17081")
    );
    assert_eq!(
        target.operator.method,
        crate::conformance::target::OperatorMethod::Deployment
    );
    assert_eq!(target.operator.namespace, "quay-operator");
    assert_eq!(target.operator.name, "quay-operator-tng");
}
