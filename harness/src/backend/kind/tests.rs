//! The backend against fake `docker`, `kind` and `kubectl` scripts: each logs its arguments
//! and answers from files in its directory, so preflight, idempotence and the outputs are
//! tested without Docker.
use std::os::unix::fs::PermissionsExt as _;

use super::*;
use crate::services::process::write_executable;

/// A directory of fake tools and the state they answer from.
struct Fakes {
    dir: tempfile::TempDir,
}

impl Fakes {
    /// Fakes for `tools` (a subset of docker, kind, kubectl).
    fn new(tools: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        let scripts = [
            (
                "docker",
                format!(
                    r#"echo "docker $*" >> {d}/log
case "$1" in
  version) echo 27.5.1 ;;
  info) [ -e {d}/engine-down ] && {{ echo "Cannot connect to the Docker daemon" >&2; exit 1; }}; echo 27.5.1 ;;
  ps) cat {d}/containers 2>/dev/null ;;
  exec) case "$*" in *"node id"*) echo "f00d@127.0.0.1:3901" ;; esac ;;
esac
exit 0"#
                ),
            ),
            (
                "kind",
                format!(
                    r#"echo "kind $*" >> {d}/log
case "$1 $2" in
  "version ") echo "kind v0.33.0 go1.24.0 linux/amd64" ;;
  "get clusters") cat {d}/clusters 2>/dev/null || echo "No kind clusters found." >&2 ;;
  "get kubeconfig") n="kind-$4"; printf 'apiVersion: v1\nkind: Config\nclusters:\n- name: %s\n  cluster:\n    server: https://127.0.0.1:6443\ncontexts:\n- name: %s\n  context:\n    cluster: %s\n    user: %s\ncurrent-context: %s\nusers:\n- name: %s\n  user:\n    token: t\n' $n $n $n $n $n $n ;;
esac
exit 0"#
                ),
            ),
            (
                "kubectl",
                format!(
                    r#"echo "kubectl $*" >> {d}/log
cat > /dev/null
case "$1" in
  version) echo '{{"clientVersion": {{"gitVersion": "v1.33.2"}}}}' ;;
esac
exit 0"#
                ),
            ),
        ];
        // The scripts' own helpers, so a PATH of only this directory still runs them.
        for helper in ["cat", "sh"] {
            let target = ["/bin", "/usr/bin"]
                .iter()
                .map(|d| Path::new(d).join(helper))
                .find(|p| p.exists())
                .unwrap();
            std::os::unix::fs::symlink(target, dir.path().join(helper)).unwrap();
        }
        for (name, body) in scripts {
            if tools.contains(&name) {
                let path = dir.path().join(name);
                write_executable(&path, &format!("#!/bin/sh\n{body}\n"), 0o755).unwrap();
            }
        }
        Self { dir }
    }

    fn all() -> Self {
        Self::new(&["docker", "kind", "kubectl"])
    }

    /// A runner whose PATH holds only the fakes (so a missing fake is a missing tool, even
    /// on a machine that has the real one).
    fn runner(&self) -> Runner {
        Runner::new(self.dir.path().as_os_str().to_owned())
    }

    fn set(&self, file: &str, lines: &str) {
        std::fs::write(self.dir.path().join(file), lines).unwrap();
    }

    fn log(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

fn options(state: &Path) -> KindOptions {
    let harness = Path::new(env!("CARGO_MANIFEST_DIR"));
    KindOptions {
        operator_bundle: harness.join("src/backend/kind/testdata/operator-bundle"),
        ..KindOptions::new(&harness.join(".."), state)
    }
}

#[test]
fn a_path_without_docker_names_it_and_what_to_install() {
    let fakes = Fakes::new(&["kind", "kubectl"]);
    let err = preflight::check(&fakes.runner()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the kind backend needs docker: install Docker Engine 20.10 or newer \
         (https://docs.docker.com/engine/install/)"
    );
}

#[test]
fn a_path_without_any_tool_names_all_three() {
    let fakes = Fakes::new(&[]);
    let err = preflight::check(&fakes.runner()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("the kind backend needs docker, kind, kubectl: install Docker Engine"),
        "{text}"
    );
    assert!(
        text.contains("kind v0.33.0") && text.contains("kubectl 1.29"),
        "{text}"
    );
}

#[test]
fn each_missing_tool_alone_is_named() {
    for missing in ["kind", "kubectl"] {
        let present: Vec<_> = ["docker", "kind", "kubectl"]
            .into_iter()
            .filter(|t| *t != missing)
            .collect();
        let fakes = Fakes::new(&present);
        let err = preflight::check(&fakes.runner()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("the kind backend needs {missing}: install")),
            "{err}"
        );
    }
}

#[test]
fn an_engine_that_does_not_answer_is_reported_as_such() {
    let fakes = Fakes::all();
    fakes.set("engine-down", "");
    let err = preflight::check(&fakes.runner()).unwrap_err();
    assert!(
        matches!(err, preflight::Error::DockerUnreachable(_)),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("no Docker engine answers"),
        "{err}"
    );
}

#[test]
fn preflight_reports_every_version() {
    let fakes = Fakes::all();
    let versions = preflight::check(&fakes.runner()).unwrap();
    assert_eq!(
        versions.to_string(),
        "docker 27.5.1 (engine 27.5.1), kind v0.33.0 go1.24.0 linux/amd64, kubectl v1.33.2"
    );
}

#[test]
fn up_runs_the_plan_and_writes_the_local_backends_outputs() {
    let fakes = Fakes::all();
    let state = tempfile::tempdir().unwrap();
    let plan = up(&options(state.path()), &fakes.runner()).unwrap();
    let log = fakes.log();
    assert_eq!(
        log.iter()
            .filter(|l| l.starts_with("kind create cluster"))
            .count(),
        3,
        "{log:#?}"
    );
    assert!(
        log.iter()
            .any(|l| l.ends_with("layout assign -z dc1 -c 1G f00d@127.0.0.1:3901")),
        "the captured node id is passed on: {log:#?}"
    );
    assert_eq!(plan.sections.len(), 3 + 2 + 3 + 2 + 1);
    let lb = state.path().join("kind").join("georep-lb-quay.cfg");
    let mode = std::fs::metadata(&lb).unwrap().permissions().mode();
    assert_eq!(
        mode & 0o777,
        0o644,
        "HAProxy reads its configuration as an unprivileged user"
    );
    assert!(
        std::fs::read_to_string(&lb)
            .unwrap()
            .contains("server ap-south georep-ap-south-control-plane:443")
    );

    let kc = kube::config::Kubeconfig::read_from(state.path().join("kubeconfig")).unwrap();
    let contexts: Vec<_> = kc.contexts.iter().map(|c| c.name.clone()).collect();
    assert_eq!(contexts, ["us-east", "eu-west", "ap-south"]);
    assert_eq!(kc.current_context.as_deref(), Some("us-east"));
    let site =
        kube::config::Kubeconfig::read_from(state.path().join("eu-west.kubeconfig")).unwrap();
    assert_eq!(site.clusters[0].name, "eu-west");

    let services: crate::services::ServicesFile =
        serde_json::from_str(&std::fs::read_to_string(state.path().join("services.json")).unwrap())
            .unwrap();
    let creds: Credentials =
        serde_json::from_str(&std::fs::read_to_string(credentials_file(state.path())).unwrap())
            .unwrap();
    assert_eq!(services.redis.password, creds.redis_password);
    assert_eq!(
        services.sites["ap_south"].access_key,
        creds.s3["ap-south"].access_key
    );
    let tfvars: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(state.path().join("terraform.tfvars.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        tfvars["kubeconfig_paths"]["us_east"],
        state
            .path()
            .join("us-east.kubeconfig")
            .display()
            .to_string()
    );
    let mode = std::fs::metadata(state.path().join("services.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "services.json holds passwords");

    let target =
        crate::conformance::Target::load(&state.path().join("conformance-target.yaml")).unwrap();
    assert_eq!(
        target.services, services,
        "the target names the services up started"
    );
    assert_eq!(target.sites[2].kubeconfig, state.path().join("kubeconfig"));
    let mode = std::fs::metadata(state.path().join("conformance-target.yaml"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the target holds passwords");
}

#[test]
fn a_second_up_with_reuse_keeps_the_clusters_and_the_passwords() {
    let fakes = Fakes::all();
    let state = tempfile::tempdir().unwrap();
    up(&options(state.path()), &fakes.runner()).unwrap();
    let first = std::fs::read_to_string(state.path().join("services.json")).unwrap();
    fakes.set(
        "clusters",
        "georep-us-east\ngeorep-eu-west\ngeorep-ap-south\n",
    );
    fakes.set(
        "containers",
        "georep-postgres\ngeorep-redis\ngeorep-s3-us-east\ngeorep-s3-eu-west\ngeorep-s3-ap-south\n\
         georep-lb-quay\ngeorep-lb-clair\n",
    );

    let err = up(&options(state.path()), &fakes.runner()).unwrap_err();
    assert!(err.to_string().contains("pass --reuse"), "{err}");

    std::fs::remove_file(fakes.dir.path().join("log")).unwrap();
    let opts = KindOptions {
        reuse: true,
        ..options(state.path())
    };
    up(&opts, &fakes.runner()).unwrap();
    let log = fakes.log();
    assert!(
        !log.iter().any(|l| l.starts_with("kind create")),
        "{log:#?}"
    );
    assert!(!log.iter().any(|l| l.starts_with("docker run")), "{log:#?}");
    assert!(
        log.contains(&"docker start georep-redis".to_owned()),
        "{log:#?}"
    );
    assert!(
        log.contains(&"docker kill --signal USR2 georep-lb-quay".to_owned()),
        "a reused balancer loads its rewritten configuration: {log:#?}"
    );
    let second = std::fs::read_to_string(state.path().join("services.json")).unwrap();
    assert_eq!(first, second, "reused containers keep their passwords");
}

#[test]
fn reuse_without_the_previous_credentials_is_refused() {
    let fakes = Fakes::all();
    fakes.set("containers", "georep-redis\n");
    let state = tempfile::tempdir().unwrap();
    let opts = KindOptions {
        reuse: true,
        ..options(state.path())
    };
    let err = up(&opts, &fakes.runner()).unwrap_err();
    assert!(
        err.to_string().contains("--reuse needs the credentials"),
        "{err}"
    );
}

#[test]
fn down_removes_only_the_configured_clusters_and_labelled_containers() {
    let fakes = Fakes::all();
    fakes.set("clusters", "georep-us-east\nsomeone-elses\n");
    fakes.set("containers", "georep-redis\ngeorep-s3-us-east\n");
    let state = tempfile::tempdir().unwrap();
    let cmds = down(&options(state.path()), &fakes.runner()).unwrap();
    let lines: Vec<_> = cmds.iter().map(process::Cmd::shell).collect();
    assert_eq!(
        lines,
        [
            "kind delete cluster --name georep-us-east",
            "docker rm --force --volumes georep-redis georep-s3-us-east"
        ]
    );
    let log = fakes.log();
    assert!(
        log.iter().any(|l| l
            == "docker ps --all --filter label=io.quay-georep.backend=kind --format {{.Names}}"),
        "containers are found by label: {log:#?}"
    );
}

#[test]
fn a_failing_command_reports_it_without_its_secrets() {
    let fakes = Fakes::all();
    // Redis never answers: its probe carries the password on its command line.
    std::fs::write(
        fakes.dir.path().join("docker"),
        "#!/bin/sh\ncase \"$1 $3\" in\n  \"exec redis-cli\") echo refused >&2; exit 1 ;;\n  \"version \"*|\"info \"*) echo 27.5.1 ;;\nesac\nexit 0\n",
    )
    .unwrap();
    let runner = fakes.runner();
    let creds = Credentials::generate(&["us-east".to_owned()]).unwrap();
    let (_, ready) = services::redis("redis", &creds);
    let plan = Plan {
        sections: vec![plan::Section {
            title: "redis".into(),
            steps: vec![plan::Step::Poll {
                cmd: ready,
                purpose: "Redis answers PING".into(),
                timeout: std::time::Duration::ZERO,
            }],
        }],
    };
    let err = run::execute(&runner, &plan, &creds.secrets()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("Redis answers PING") && text.contains("refused"),
        "{text}"
    );
    assert!(text.contains("<redacted>"), "{text}");
    assert!(!text.contains(&creds.redis_password), "{text}");
}

/// Needs a Docker engine (our build machines have one, without images); skipped, saying
/// so, where none answers.
#[test]
fn the_real_engine_accepts_the_label_filter_that_down_uses() {
    let runner = Runner::from_env();
    let info = process::Cmd::new("docker", ["info", "--format", "{{.ServerVersion}}"]);
    if runner.output(&info).is_err() {
        eprintln!("skipped: no Docker engine answers");
        return;
    }
    let [_, containers] = run::observe_commands();
    let out = runner.output(&containers).unwrap();
    assert!(
        out.lines().all(|name| name.starts_with("georep-")),
        "the label selects only the backend's containers: {out}"
    );
}
