//! The kind backend's containers for real, on this machine's Docker engine: the same
//! [`Container`]s, readiness probes, setup commands, HAProxy configuration and clean-up by
//! label that `up --backend kind` runs, placed on a network of the test's own.
//!
//! No image can be pulled here, so the images are built locally by
//! `scripts/build-test-images.sh` (Debian bookworm with PostgreSQL, Redis and HAProxy from
//! Debian's packages); S3 storage is the harness's own server (`georep-harness s3-serve`,
//! the binary mounted into the base image) where kind runs Garage. What runs only on GitHub:
//! kind clusters, Garage and the published images.
//!
//! A test is skipped, saying so, only when no Docker engine answers; with an engine and no
//! images it fails and names the script.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use georep_harness::backend::kind::balancer::{Backend, CONFIG_PATH, GlobalLb, LISTEN_PORT};
use georep_harness::backend::kind::container::{Container, Placement};
use georep_harness::backend::kind::process::{Cmd, Runner};
use georep_harness::backend::kind::services::{self, Credentials, S3_PORT};
use georep_harness::services::s3_client::{self, S3Keys};
use georep_harness::services::secret::Secret;

/// The locally built images (scripts/build-test-images.sh).
const BASE: &str = "quay-georep-test/base:bookworm";
const POSTGRES: &str = "quay-georep-test/postgres:15";
const REDIS: &str = "quay-georep-test/redis:7";
const HAPROXY: &str = "quay-georep-test/haproxy:2.6";
/// How long a service may take to answer after `docker run`.
const READY: Duration = Duration::from_secs(60);
/// How long the balancer may take to follow a site going or coming back.
const ROUTING: Duration = Duration::from_secs(20);

/// The engine and a network of the test's own; removes every container with the test's
/// label and the network when dropped (and any left by a killed earlier run when made).
struct Docker {
    runner: Runner,
    placement: Placement,
}

impl Docker {
    /// `None` (and a line saying why) when no Docker engine answers.
    fn for_test(name: &str) -> Option<Self> {
        let runner = Runner::from_env();
        if runner
            .output(&Cmd::new(
                "docker",
                ["info", "--format", "{{.ServerVersion}}"],
            ))
            .is_err()
        {
            eprintln!("skipped: no Docker engine answers (`docker info` failed)");
            return None;
        }
        for image in [BASE, POSTGRES, REDIS, HAPROXY] {
            assert!(
                runner
                    .output(&Cmd::new("docker", ["image", "inspect", image]))
                    .is_ok(),
                "image {image} is missing: run scripts/build-test-images.sh \
                 (scripts/test.sh does)"
            );
        }
        let placement = Placement {
            network: format!("georep-it-{name}"),
            backend: format!("it-{name}"),
            fixed_ports: false,
        };
        let docker = Self { runner, placement };
        docker.clean();
        docker.run(&Cmd::new(
            "docker",
            ["network", "create", &docker.placement.network],
        ));
        Some(docker)
    }

    fn run(&self, cmd: &Cmd) -> String {
        self.runner
            .output(cmd)
            .unwrap_or_else(|e| panic!("{}: {e}", cmd.redacted()))
    }

    fn start(&self, container: Container) -> Container {
        let container = container.placed(&self.placement);
        self.run(&container.run_cmd());
        container
    }

    /// `127.0.0.1:PORT` where `container_port` of `container` is published.
    fn address(&self, container: &Container, container_port: u16) -> String {
        let out = self.run(&container.host_port_cmd(container_port));
        out.lines()
            .find(|l| l.starts_with("127.0.0.1:"))
            .unwrap_or_else(|| panic!("{} publishes no loopback port: {out}", container.name))
            .trim()
            .to_owned()
    }

    fn poll(&self, cmd: &Cmd, purpose: &str) {
        self.runner
            .poll(cmd, purpose, READY, Duration::from_millis(250))
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Removes the test's containers (returning their names) and its network.
    fn clean(&self) -> Vec<String> {
        self.try_clean().unwrap()
    }

    fn try_clean(&self) -> Result<Vec<String>, georep_harness::backend::kind::process::Error> {
        let removed = self.placement.remove_all(&self.runner)?;
        // Absent on a first run: nothing to remove.
        let _ = self.runner.output(&Cmd::new(
            "docker",
            ["network", "rm", &self.placement.network],
        ));
        Ok(removed)
    }

    fn labelled(&self) -> Vec<String> {
        self.run(&self.placement.list_cmd())
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Docker {
    fn drop(&mut self) {
        // A failed test still leaves nothing behind; a failure here cannot fail it again.
        let _ = self.try_clean();
    }
}

/// One site's S3 container: the harness's own S3 server in the base image, with the site's
/// key pair from the backend's credentials, where kind runs Garage.
fn s3_container(site: &str, creds: &Credentials) -> Container {
    let keys = &creds.s3[site];
    Container {
        name: services::s3_name(site),
        image: BASE.to_owned(),
        site: Some(site.to_owned()),
        env: vec![
            ("GEOREP_S3_ACCESS_KEY".into(), keys.access_key.clone()),
            ("GEOREP_S3_SECRET_KEY".into(), keys.secret_key.clone()),
        ],
        ports: vec![(0, S3_PORT)],
        mounts: vec![(
            env!("CARGO_BIN_EXE_georep-harness").to_owned(),
            "/usr/local/bin/georep-harness".to_owned(),
        )],
        args: [
            "georep-harness",
            "s3-serve",
            "--site",
            site,
            "--data-dir",
            "/var/lib/georep",
        ]
        .map(str::to_owned)
        .to_vec(),
        secrets: vec![keys.secret_key.clone()],
        placement: Placement::kind(),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn shared_services_run_as_containers_and_answer_only_with_their_passwords() {
    let Some(docker) = Docker::for_test("services") else {
        return;
    };
    let sites = vec!["us-east".to_owned(), "eu-west".to_owned()];
    let creds = Credentials::generate(&sites).unwrap();

    // PostgreSQL and Redis exactly as the backend starts and sets them up.
    let (pg, pg_ready, pg_setup) = services::postgres(POSTGRES, &creds);
    let pg = docker.start(pg);
    docker.poll(&pg_ready, "PostgreSQL accepts connections");
    for cmd in &pg_setup {
        docker.run(cmd);
    }
    let (redis, redis_ready) = services::redis(REDIS, &creds);
    docker.start(redis);
    docker.poll(&redis_ready, "Redis answers PING");
    let s3: Vec<Container> = sites
        .iter()
        .map(|site| docker.start(s3_container(site, &creds)))
        .collect();

    let rt = runtime();
    // From the host, through the published ports, with the passwords.
    let pg_address = docker.address(&pg, 5432);
    let (host, port) = pg_address.split_once(':').unwrap();
    for db in ["quay", "clair"] {
        let uri = format!(
            "postgresql://{}:{}@{host}:{port}/{db}",
            services::DB_USER,
            creds.postgres_password
        );
        let extensions: Vec<String> = rt.block_on(async {
            let (client, connection) = tokio_postgres::connect(&uri, tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| panic!("connect to {db}: {e}"));
            tokio::spawn(connection);
            let rows = client
                .query("SELECT extname::text FROM pg_extension", &[])
                .await
                .unwrap();
            rows.iter().map(|r| r.get(0)).collect()
        });
        assert!(
            extensions.iter().any(|e| e == "pg_trgm"),
            "{db} has no pg_trgm: {extensions:?}"
        );
    }
    let wrong = format!(
        "postgresql://{}:wrong@{host}:{port}/quay",
        services::DB_USER
    );
    let refused = rt.block_on(tokio_postgres::connect(&wrong, tokio_postgres::NoTls));
    assert!(refused.is_err(), "a wrong password was accepted");

    for (site, container) in sites.iter().zip(&s3) {
        let endpoint = format!("http://{}", docker.address(container, S3_PORT));
        let keys = |s: &str| S3Keys {
            access_key: creds.s3[s].access_key.clone(),
            secret_key: Secret::new(creds.s3[s].secret_key.clone()),
        };
        let bucket = services::bucket(site);
        let deadline = Instant::now() + READY;
        let answered = loop {
            let result = rt.block_on(s3_client::head_bucket(
                &endpoint,
                services::S3_REGION,
                &bucket,
                &keys(site),
            ));
            if result.is_ok() || Instant::now() > deadline {
                break result;
            }
            std::thread::sleep(Duration::from_millis(250));
        };
        answered.unwrap_or_else(|e| panic!("{site}'s bucket {bucket} at {endpoint}: {e}"));
        let other = if site == "us-east" {
            "eu-west"
        } else {
            "us-east"
        };
        let denied = rt.block_on(s3_client::head_bucket(
            &endpoint,
            services::S3_REGION,
            &bucket,
            &keys(other),
        ));
        assert!(
            denied.is_err(),
            "{other}'s keys opened {site}'s bucket {bucket}"
        );
    }

    // From the network, at the names services.json gives pods: what a Quay pod reaches.
    let file = services::services_file(&sites, &creds);
    let probe = |script: &str| {
        Cmd::new(
            "docker",
            [
                "run",
                "--rm",
                "--network",
                &docker.placement.network,
                "--label",
                &format!(
                    "{}={}",
                    georep_harness::backend::kind::container::BACKEND_LABEL,
                    docker.placement.backend
                ),
                BASE,
                "bash",
                "-c",
                script,
            ],
        )
    };
    docker.run(&probe(&format!(
        "pg_isready --quiet --host {} --port {}",
        file.postgres.host, file.postgres.port
    )));
    let pong = docker.run(
        &probe(&format!(
            "redis-cli --no-auth-warning -h {} -p {} -a {} ping",
            file.redis.host, file.redis.port, file.redis.password
        ))
        .secret(&file.redis.password),
    );
    assert_eq!(pong.trim(), "PONG");
    let without = docker.run(&probe(&format!(
        "redis-cli -h {} -p {} ping",
        file.redis.host, file.redis.port
    )));
    assert!(
        without.contains("NOAUTH"),
        "Redis answered without its password: {without}"
    );
    for entry in file.sites.values() {
        let host_port = entry.endpoint.trim_start_matches("http://");
        let (host, port) = host_port.split_once(':').unwrap();
        docker.run(&probe(&format!("echo > /dev/tcp/{host}/{port}")));
    }

    // `down` finds them by label, removes them all, and leaves nothing behind.
    let removed: BTreeSet<String> = docker.clean().into_iter().collect();
    let expected: BTreeSet<String> = [
        "georep-postgres",
        "georep-redis",
        "georep-s3-us-east",
        "georep-s3-eu-west",
    ]
    .map(str::to_owned)
    .into();
    assert_eq!(removed, expected);
    assert!(docker.labelled().is_empty(), "{:?}", docker.labelled());
}

/// A site stand-in: HAProxy answering `{"site": NAME}` to requests for `host` and 421 to any
/// other `Host`, so routing at all proves the balancer sends the global name, in its health
/// checks and upstream.
fn site_config(site: &str, host: &str) -> String {
    format!(
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    \
         timeout server 10s\n\
         frontend site\n    bind :{LISTEN_PORT}\n    \
         http-request return status 421 content-type text/plain string \"not {host}\" \
         unless {{ req.hdr(host) -m str {host} }}\n    \
         http-request return status 200 content-type application/json \
         string \"{{\\\"site\\\":\\\"{site}\\\"}}\"\n"
    )
}

fn write_config(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    path
}

/// The sites that answered `n` requests, and how many got no site's answer.
fn sample(rt: &tokio::runtime::Runtime, url: &str, n: usize) -> (BTreeSet<String>, usize) {
    let mut sites = BTreeSet::new();
    let mut refused = 0;
    for _ in 0..n {
        match rt.block_on(georep_harness::lb::get(url)) {
            Ok(answer) if answer.status == 200 => {
                let named = answer.site.clone().unwrap_or_default();
                assert_eq!(
                    answer.json()["site"].as_str(),
                    Some(named.as_str()),
                    "the site header names the site that answered"
                );
                sites.insert(named);
            }
            _ => refused += 1,
        }
    }
    (sites, refused)
}

/// Samples until `want` holds, at most [`ROUTING`]; the last sample either way.
fn until(
    rt: &tokio::runtime::Runtime,
    url: &str,
    want: impl Fn(&BTreeSet<String>, usize) -> bool,
) -> (BTreeSet<String>, usize) {
    let deadline = Instant::now() + ROUTING;
    loop {
        let (sites, refused) = sample(rt, url, 12);
        if want(&sites, refused) || Instant::now() > deadline {
            return (sites, refused);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Fails with `why` unless, within [`ROUTING`], a sample is answered by exactly `sites` and
/// none is refused.
fn routes_only_to(rt: &tokio::runtime::Runtime, url: &str, sites: &[&str], why: &str) {
    let want: BTreeSet<String> = sites.iter().map(|s| (*s).to_owned()).collect();
    let (answered, refused) = until(rt, url, |s, r| *s == want && r == 0);
    assert_eq!((&answered, refused), (&want, 0), "{why}");
}

#[test]
fn the_global_balancer_routes_only_to_healthy_sites() {
    let Some(docker) = Docker::for_test("balancer") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let host = "quay.global.example.test";
    let sites = ["us-east", "eu-west"];
    let stand_ins: Vec<Container> = sites
        .iter()
        .map(|site| {
            let config = write_config(dir.path(), &format!("{site}.cfg"), &site_config(site, host));
            docker.start(Container {
                name: format!("georep-site-{site}"),
                image: HAPROXY.to_owned(),
                site: Some((*site).to_owned()),
                env: Vec::new(),
                ports: Vec::new(),
                mounts: vec![(config.display().to_string(), CONFIG_PATH.to_owned())],
                args: Vec::new(),
                secrets: Vec::new(),
                placement: Placement::kind(),
            })
        })
        .collect();
    let lb = GlobalLb {
        name: "georep-lb-quay".to_owned(),
        hostname: host.to_owned(),
        health_path: "/health/instance".to_owned(),
        host_port: 0,
        backends: sites
            .iter()
            .map(|site| Backend {
                site: (*site).to_owned(),
                address: format!("georep-site-{site}:{LISTEN_PORT}"),
                tls: false,
            })
            .collect(),
    };
    let config = write_config(dir.path(), "lb.cfg", &lb.haproxy_cfg());
    let container = docker.start(lb.container(HAPROXY, &config));
    docker.poll(&lb.ready_cmd(), "HAProxy accepts its configuration");
    let url = format!(
        "http://{}/health/instance",
        docker.address(&container, LISTEN_PORT)
    );
    let rt = runtime();
    routes_only_to(&rt, &url, &sites, "both healthy sites answer");

    let stop = |index: usize| {
        Cmd::new(
            "docker",
            ["stop", "--time", "1", stand_ins[index].name.as_str()],
        )
    };
    docker.run(&stop(1));
    routes_only_to(
        &rt,
        &url,
        &["us-east"],
        "a stopped site gets no request, and no request is refused",
    );

    docker.run(&stop(0));
    let (answered, refused) = until(&rt, &url, |s, r| s.is_empty() && r == 12);
    assert!(
        answered.is_empty() && refused == 12,
        "with no healthy site every request is refused: {answered:?}, {refused} refused"
    );
    let answer = rt.block_on(georep_harness::lb::get(&url)).unwrap();
    assert_eq!(answer.status, 503);

    // Back, possibly at another address: the balancer resolves the name again.
    docker.run(&Cmd::new("docker", ["start", &stand_ins[1].name]));
    routes_only_to(
        &rt,
        &url,
        &["eu-west"],
        "a site that comes back is routed to again",
    );

    let removed: BTreeSet<String> = docker.clean().into_iter().collect();
    assert_eq!(
        removed,
        [
            "georep-lb-quay",
            "georep-site-us-east",
            "georep-site-eu-west"
        ]
        .map(str::to_owned)
        .into()
    );
    assert!(docker.labelled().is_empty(), "{:?}", docker.labelled());
}
