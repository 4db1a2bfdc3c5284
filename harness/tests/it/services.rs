//! The `local` backend's shared services against the real servers: PostgreSQL 15 and
//! `redis-server` processes (installed by scripts/install-services.sh; a missing binary fails
//! the test with that hint, it never skips) and the in-process S3 endpoints, checked with real
//! clients (tokio-postgres, RESP, the S3 client of `s3_client`).

use std::os::unix::fs::{MetadataExt as _, PermissionsExt};
use std::path::Path;

use georep_harness::services::postgres::{Database, Postgres, PostgresOptions};
use georep_harness::services::process::is_alive;
use georep_harness::services::redis::{self, CheckError, Redis, RedisOptions};
use georep_harness::services::s3::{S3Options, S3Server};
use georep_harness::services::s3_client::{self, S3CheckError, S3Client, S3Keys};
use georep_harness::services::secret::Secret;
use georep_harness::services::{SERVICES_JSON, ServicesFile, SharedServices};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

/// A scratch state dir named after the test, mode 0700 as `up` makes it (explicitly:
/// tempfile's default depends on the umask); PostgreSQL's own files go elsewhere as root.
fn state_dir(test: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("georep-{test}-"))
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir()
        .expect("the temp dir is writable in tests")
}

/// `err` and all its causes, so a failed start shows the install hint and the server log.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str("\n  caused by: ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

async fn start_postgres(dir: &Path, opts: &PostgresOptions) -> Postgres {
    Postgres::start(dir, opts)
        .await
        .unwrap_or_else(|err| panic!("{}", chain(&err)))
}

async fn start_redis(dir: &Path) -> Redis {
    Redis::start(dir, &RedisOptions::default())
        .await
        .unwrap_or_else(|err| panic!("{}", chain(&err)))
}

/// Connects with a URI and runs `query`, returning the first column of every row.
async fn query_strings(uri: &str, query: &str) -> Result<Vec<String>, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(uri, NoTls).await?;
    tokio::spawn(connection);
    let rows = client.query(query, &[]).await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

#[tokio::test]
async fn postgres_lets_quay_in_with_its_password_and_has_pg_trgm() {
    let dir = state_dir("pg-login");
    let pg = start_postgres(dir.path(), &PostgresOptions::default()).await;

    let uri = pg.database_uri(Database::Quay);
    let user = query_strings(uri.expose(), "SELECT current_user::text")
        .await
        .unwrap();
    assert_eq!(user, ["quay"]);
    let extensions = query_strings(
        uri.expose(),
        "SELECT extname::text FROM pg_extension WHERE extname = 'pg_trgm'",
    )
    .await
    .unwrap();
    assert_eq!(extensions, ["pg_trgm"]);

    let owner = query_strings(
        pg.database_uri(Database::Clair).expose(),
        "SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = 'clair'",
    )
    .await
    .unwrap();
    assert_eq!(owner, ["quay"]);

    let wrong = format!(
        "postgresql://quay:not-the-password@127.0.0.1:{}/quay",
        pg.port()
    );
    let err = query_strings(&wrong, "SELECT 1::text").await.unwrap_err();
    assert_eq!(
        err.code(),
        Some(&SqlState::INVALID_PASSWORD),
        "{}",
        chain(&err)
    );

    pg.stop().await.unwrap();
}

#[tokio::test]
async fn postgres_without_pg_trgm_leaves_the_extension_out() {
    let dir = state_dir("pg-no-trgm");
    let opts = PostgresOptions {
        with_pg_trgm: false,
        ..PostgresOptions::default()
    };
    let pg = start_postgres(dir.path(), &opts).await;
    let extensions = query_strings(
        pg.database_uri(Database::Quay).expose(),
        "SELECT extname::text FROM pg_extension WHERE extname = 'pg_trgm'",
    )
    .await
    .unwrap();
    assert!(extensions.is_empty(), "{extensions:?}");
    assert!(!pg.has_pg_trgm());
    pg.stop().await.unwrap();
}

#[tokio::test]
async fn postgres_stop_ends_the_postmaster_and_removes_its_directory() {
    let dir = state_dir("pg-stop");
    let pg = start_postgres(dir.path(), &PostgresOptions::default()).await;
    let pid = pg.pid().expect("a started server has a postmaster pid");
    assert!(is_alive(pid));
    pg.stop().await.unwrap();
    assert!(!is_alive(pid), "postmaster {pid} still running after stop");
    assert!(!dir.path().join("postgres").exists());
}

#[tokio::test]
async fn postgres_dropped_without_stop_still_ends_the_postmaster() {
    let dir = state_dir("pg-drop");
    let pg = start_postgres(dir.path(), &PostgresOptions::default()).await;
    let pid = pg.pid().unwrap();
    drop(pg);
    assert!(!is_alive(pid), "postmaster {pid} still running after drop");
    assert!(!dir.path().join("postgres").exists());
}

#[tokio::test]
async fn postgres_refuses_a_state_dir_that_already_holds_one() {
    let dir = state_dir("pg-exists");
    std::fs::create_dir(dir.path().join("postgres")).unwrap();
    let err = Postgres::start(dir.path(), &PostgresOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            georep_harness::services::postgres::Error::StateExists { .. }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn postgres_starts_in_a_0700_state_dir_and_leaves_nothing_behind() {
    // As root, the postgres user cannot enter a 0700 directory of root's: the server's files
    // go into a directory of its own, which the state dir links to.
    let private = tempfile::Builder::new()
        .prefix("georep-pg-private-")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir()
        .unwrap();
    let server = Postgres::start(private.path(), &PostgresOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{}", chain(&e)));
    let link = private.path().join("postgres");
    let outside = server.dir().to_owned();
    if rustix::process::geteuid().is_root() {
        assert_eq!(std::fs::read_link(&link).unwrap(), outside);
        let meta = std::fs::metadata(&outside).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o700);
        assert_ne!(meta.uid(), 0, "the server's directory belongs to postgres");
    } else {
        assert_eq!(
            outside, link,
            "without runuser the files stay in the state dir"
        );
    }
    assert!(link.join("data/postgresql.conf").exists());
    server.stop().await.unwrap();
    assert!(!outside.exists(), "stop removes the server's directory");
    assert!(
        link.symlink_metadata().is_err(),
        "stop removes the link in the state dir"
    );
}

#[tokio::test]
async fn postgres_missing_binaries_fail_with_the_install_hint() {
    let dir = state_dir("pg-missing");
    let opts = PostgresOptions {
        bindir: Some("/nonexistent/postgresql/15/bin".into()),
        ..PostgresOptions::default()
    };
    let err = Postgres::start(dir.path(), &opts).await.unwrap_err();
    let text = chain(&err);
    assert!(text.contains("scripts/install-services.sh"), "{text}");
    assert!(text.contains("/nonexistent/postgresql/15/bin"), "{text}");
}

#[tokio::test]
async fn redis_answers_its_password_and_rejects_a_wrong_one() {
    let dir = state_dir("redis-auth");
    let server = start_redis(dir.path()).await;
    redis::check_redis(redis::HOST, server.port(), server.password())
        .await
        .unwrap();
    let err = redis::check_redis(redis::HOST, server.port(), &Secret::new("wrong"))
        .await
        .unwrap_err();
    assert!(matches!(err, CheckError::AuthRejected { .. }), "{err:?}");

    let pid = server.pid().unwrap();
    server.stop().await.unwrap();
    assert!(
        !is_alive(pid),
        "redis-server {pid} still running after stop"
    );
    assert!(!dir.path().join("redis").exists());
}

#[tokio::test]
async fn redis_dropped_without_stop_still_ends_the_server() {
    let dir = state_dir("redis-drop");
    let server = start_redis(dir.path()).await;
    let pid = server.pid().unwrap();
    drop(server);
    assert!(
        !is_alive(pid),
        "redis-server {pid} still running after drop"
    );
}

#[tokio::test]
async fn redis_missing_binary_fails_with_the_install_hint() {
    let dir = state_dir("redis-missing");
    let opts = RedisOptions {
        binary: "/nonexistent/redis-server".into(),
        ..RedisOptions::default()
    };
    let err = Redis::start(dir.path(), &opts).await.unwrap_err();
    assert!(
        chain(&err).contains("scripts/install-services.sh"),
        "{}",
        chain(&err)
    );
    assert!(
        !dir.path().join("redis").exists(),
        "a failed start leaves no directory"
    );
}

#[tokio::test]
async fn s3_endpoint_accepts_only_its_own_site_keys() {
    let dir = state_dir("s3-keys");
    let us = S3Server::start(dir.path(), "us_east", &S3Options::default())
        .await
        .unwrap();
    let eu = S3Server::start(dir.path(), "eu_west", &S3Options::default())
        .await
        .unwrap();
    let (us, eu) = (us.site().clone(), eu.site().clone());
    assert_ne!(us.endpoint, eu.endpoint);
    assert_eq!(us.bucket, "quay-us-east");

    s3_client::head_bucket(&us.endpoint, &us.region, &us.bucket, &us.keys())
        .await
        .unwrap_or_else(|err| panic!("{}", chain(&err)));

    let wrong_secret = S3Keys {
        access_key: us.access_key.clone(),
        secret_key: Secret::new("not-the-secret"),
    };
    let err = s3_client::head_bucket(&us.endpoint, &us.region, &us.bucket, &wrong_secret)
        .await
        .unwrap_err();
    assert!(matches!(err, S3CheckError::AccessDenied { .. }), "{err:?}");

    let other_site = s3_client::head_bucket(&us.endpoint, &us.region, &us.bucket, &eu.keys())
        .await
        .unwrap_err();
    assert!(
        matches!(other_site, S3CheckError::AccessDenied { .. }),
        "{other_site:?}"
    );

    let missing = s3_client::head_bucket(&us.endpoint, &us.region, "quay-nowhere", &us.keys())
        .await
        .unwrap_err();
    assert!(
        matches!(missing, S3CheckError::NoSuchBucket { .. }),
        "{missing:?}"
    );

    // A request with a body names the failure: the wrong secret's signature does not match.
    let err = S3Client::new(&us.endpoint, &us.region, &wrong_secret)
        .unwrap()
        .list_objects(&us.bucket, "", None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("SignatureDoesNotMatch"), "{err:?}");
    assert_eq!(err.status(), Some(403), "{err:?}");
}

#[tokio::test]
async fn s3_endpoint_stores_objects_in_the_site_bucket_and_stop_closes_the_port() {
    let dir = state_dir("s3-objects");
    let server = S3Server::start(dir.path(), "us_east", &S3Options::default())
        .await
        .unwrap();
    let site = server.site().clone();
    let client = S3Client::new(&site.endpoint, &site.region, &site.keys()).unwrap();
    let bucket = site.bucket.as_str();
    client
        .put_object(bucket, "sha256/ab/abcdef", "blob".into())
        .await
        .unwrap_or_else(|err| panic!("{}", chain(&err)));
    client
        .put_object(bucket, "other/key", "not a blob".into())
        .await
        .unwrap();
    let body = client.get_object(bucket, "sha256/ab/abcdef").await.unwrap();
    assert_eq!(body.as_deref(), Some(&b"blob"[..]));
    assert_eq!(
        client.get_object(bucket, "sha256/ab/none").await.unwrap(),
        None
    );
    assert!(
        client
            .head_object(bucket, "sha256/ab/abcdef")
            .await
            .unwrap()
    );
    assert!(!client.head_object(bucket, "sha256/ab/none").await.unwrap());
    let page = client.list_objects(bucket, "sha256/", None).await.unwrap();
    assert_eq!(page.keys, ["sha256/ab/abcdef"]);
    assert_eq!(page.next, None);

    // A new bucket, made twice (the second time it is there already and ours to use),
    // holds objects too; a wrong secret key cannot "create" it again.
    client.create_bucket("quay-extra").await.unwrap();
    client.create_bucket("quay-extra").await.unwrap();
    let stranger = S3Client::new(
        &site.endpoint,
        &site.region,
        &S3Keys {
            access_key: site.access_key.clone(),
            secret_key: Secret::new("not-the-secret"),
        },
    )
    .unwrap();
    let refused = stranger.create_bucket("quay-extra").await.unwrap_err();
    assert_eq!(refused.status(), Some(403), "{refused:?}");
    client
        .put_object("quay-extra", "k", "v".into())
        .await
        .unwrap();
    let page = client.list_objects("quay-extra", "", None).await.unwrap();
    assert_eq!(page.keys, ["k"]);

    server.stop().await.unwrap();
    let err = s3_client::head_bucket(&site.endpoint, &site.region, &site.bucket, &site.keys())
        .await
        .unwrap_err();
    assert!(matches!(err, S3CheckError::Unreachable { .. }), "{err:?}");
    assert!(!dir.path().join("s3/us_east").exists());
}

#[tokio::test]
async fn shared_services_write_services_json_and_stop_everything_on_signal() {
    let dir = state_dir("shared");
    let state = dir.path().join("run");
    let services = SharedServices::start(&state, &["us_east", "eu_west", "ap_south"])
        .await
        .unwrap_or_else(|err| panic!("{}", chain(&err)));

    let path = services.services_json().unwrap();
    assert_eq!(path, state.join(SERVICES_JSON));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "services.json holds secrets");
    let file: ServicesFile = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(file, services.to_file());

    // Everything in the file works, as a user writing their own Terraform would use it.
    let users = query_strings(
        &file.postgres.database_uris["clair"],
        "SELECT current_user::text",
    )
    .await
    .unwrap();
    assert_eq!(users, ["quay"]);
    redis::check_redis(
        &file.redis.host,
        file.redis.port,
        &Secret::new(file.redis.password.clone()),
    )
    .await
    .unwrap();
    assert_eq!(file.sites.len(), 3);
    for (site, s3) in &file.sites {
        let keys = S3Keys {
            access_key: s3.access_key.clone(),
            secret_key: Secret::new(s3.secret_key.clone()),
        };
        s3_client::head_bucket(&s3.endpoint, &s3.region, &s3.bucket, &keys)
            .await
            .unwrap_or_else(|err| panic!("{site}: {}", chain(&err)));
    }

    let pg_pid = services.postgres().pid().unwrap();
    let redis_pid = services.redis().pid().unwrap();
    let (signal, signalled) = tokio::sync::oneshot::channel::<()>();
    let held = tokio::spawn(services.stop_when(signalled));
    assert!(
        is_alive(pg_pid) && is_alive(redis_pid),
        "services stopped before the signal"
    );
    signal.send(()).unwrap();
    held.await.unwrap().unwrap();

    assert!(!is_alive(pg_pid), "postmaster {pg_pid} still running");
    assert!(
        !is_alive(redis_pid),
        "redis-server {redis_pid} still running"
    );
    assert!(!path.exists(), "services.json outlived the services");
    assert!(!state.join("postgres").exists());
}
