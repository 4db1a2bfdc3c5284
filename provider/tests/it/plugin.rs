//! The provider binary as Terraform sees it: launched without the cookie, refused by
//! protocol, and a full plaintext handshake ending with `GRPCController.Shutdown`.
//!
//! These spawn the built binary. The TLS path is covered by unit tests in `plugin::tls` and by
//! running real Terraform (see the project notes); a tonic client here speaks plaintext only.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::process::Stdio;
use std::time::Duration;

use terraform_provider_quay::plugin::handshake::{
    CLIENT_CERT_KEY, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE, MAX_PORT_KEY, MIN_PORT_KEY,
    PROTOCOL_VERSIONS_KEY, RUN_BY_HAND_HELP,
};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tonic::transport::Endpoint;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// A hang guard, far above anything the provider needs; never a performance assertion.
const DEADLINE: Duration = Duration::from_secs(30);

/// The provider binary with a clean go-plugin environment (nothing inherited from a
/// Terraform that might be running these tests).
fn provider() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_terraform-provider-quay"));
    for key in [
        MAGIC_COOKIE_KEY,
        PROTOCOL_VERSIONS_KEY,
        MIN_PORT_KEY,
        MAX_PORT_KEY,
        CLIENT_CERT_KEY,
        "TF_LOG",
        "TF_LOG_PROVIDER",
    ] {
        command.env_remove(key);
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

#[tokio::test]
async fn run_by_hand_it_prints_one_sentence_on_how_to_use_it_and_exits_1() {
    let output = tokio::time::timeout(DEADLINE, provider().output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr, format!("{RUN_BY_HAND_HELP}\n"));
    assert!(stderr.contains("dev_overrides"), "{stderr}");
}

#[tokio::test]
async fn refuses_a_host_that_offers_only_protocol_6() {
    let output = tokio::time::timeout(
        DEADLINE,
        provider()
            .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
            .env(PROTOCOL_VERSIONS_KEY, "6")
            .output(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(!output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "",
        "no handshake line may be printed"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("offers protocol versions \"6\"") && stderr.contains("only protocol 5"),
        "{stderr}"
    );
}

#[tokio::test]
async fn serves_plaintext_without_client_cert_and_exits_on_controller_shutdown() {
    let mut child = provider()
        .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
        .env(PROTOCOL_VERSIONS_KEY, "6,5")
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    tokio::time::timeout(DEADLINE, stdout.read_line(&mut line))
        .await
        .unwrap()
        .unwrap();

    let fields: Vec<&str> = line.trim_end().split('|').collect();
    assert_eq!(
        fields.len(),
        5,
        "plaintext handshake has no cert field: {line:?}"
    );
    assert_eq!(fields[..3], ["1", "5", "tcp"], "{line:?}");
    assert!(fields[3].starts_with("127.0.0.1:"), "{line:?}");
    assert_eq!(fields[4], "grpc", "{line:?}");

    let channel = Endpoint::from_shared(format!("http://{}", fields[3]))
        .unwrap()
        .connect()
        .await
        .unwrap();

    let health = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: "plugin".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(health.status(), ServingStatus::Serving);

    // `plugin.GRPCController/Shutdown(Empty) returns (Empty)`; prost encodes `()` as the
    // empty message, so no generated client is needed.
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    grpc.unary::<(), (), _>(
        tonic::Request::new(()),
        "/plugin.GRPCController/Shutdown".parse().unwrap(),
        tonic_prost::ProstCodec::default(),
    )
    .await
    .unwrap();

    let status = tokio::time::timeout(DEADLINE, child.wait())
        .await
        .expect("the provider must exit by itself after Shutdown")
        .unwrap();
    assert!(status.success(), "{status}");
}
