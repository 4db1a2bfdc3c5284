//! Each way a `cluster` block reaches a cluster, against the simulated API server over HTTPS
//! (per-run CA, bearer token, client certificates signed by that CA): token, client
//! certificate, an exec credential plugin, the `KUBE_CONFIG_PATH`/`KUBECONFIG` files, and the
//! errors of the ways that cannot work here.

use std::collections::BTreeMap;

use georep_harness::services::process::write_executable;
use georep_harness::sim::{ClusterConfig, SimCluster, install_crypto_provider};
use serde_json::json;
use terraform_provider_quay::cluster::{
    ClusterSpec, Clusters, Credentials, DirectAccess, Error, ExecPlugin, Kind, KubeconfigSource,
};
use terraform_provider_quay::georep::secret::Secret;

async fn sim(site: &str) -> SimCluster {
    install_crypto_provider();
    SimCluster::start(ClusterConfig::new(site)).await.unwrap()
}

fn direct(sim: &SimCluster, credentials: Credentials) -> DirectAccess {
    DirectAccess {
        host: sim.url(),
        cluster_ca_certificate: sim.ca_pem().map(str::to_owned),
        tls_server_name: None,
        proxy_url: None,
        credentials,
    }
}

fn clusters(source: KubeconfigSource, context: Option<&str>) -> Clusters {
    let spec = ClusterSpec {
        kubeconfig: source,
        context: context.map(str::to_owned),
    };
    Clusters::new(BTreeMap::from([("us_east".to_owned(), spec)]))
}

/// Reads the `default` namespace through the block's way: the cluster accepted it.
async fn reach(source: KubeconfigSource) -> Result<(), Error> {
    let cluster = clusters(source, None).get("us_east").await?;
    cluster.get(&Kind::NAMESPACE, None, "default").await?;
    Ok(())
}

fn token(sim: &SimCluster) -> Credentials {
    Credentials::Token(Secret::new(sim.token().unwrap()))
}

#[tokio::test]
async fn host_with_a_bearer_token_reaches_the_cluster_and_a_wrong_token_does_not() {
    let sim = sim("site-a").await;
    reach(KubeconfigSource::Direct(Box::new(direct(
        &sim,
        token(&sim),
    ))))
    .await
    .unwrap();
    let wrong = direct(&sim, Credentials::Token(Secret::new("not-the-token")));
    let err = reach(KubeconfigSource::Direct(Box::new(wrong)))
        .await
        .unwrap_err();
    assert_eq!(err.status_code(), Some(401), "{err}");
    assert!(!format!("{err:?}").contains("not-the-token"));
}

#[tokio::test]
async fn host_with_a_client_certificate_of_the_cluster_ca_reaches_it() {
    let sim = sim("site-a").await;
    let other = sim_other().await;
    let issued = sim.client_certificate("admin").unwrap().unwrap();
    let access = |cert: &georep_harness::sim::ClientCertificate| {
        KubeconfigSource::Direct(Box::new(direct(
            &sim,
            Credentials::ClientCertificate {
                certificate: cert.cert_pem.clone(),
                key: Secret::new(cert.key_pem.clone()),
            },
        )))
    };
    reach(access(&issued)).await.unwrap();
    // A certificate another CA signed authenticates nobody.
    let foreign = other.client_certificate("admin").unwrap().unwrap();
    assert!(reach(access(&foreign)).await.is_err());
}

async fn sim_other() -> SimCluster {
    sim("site-b").await
}

#[tokio::test]
async fn tls_server_name_is_what_the_server_certificate_is_checked_against() {
    let sim = sim("site-a").await;
    let named = |name: &str| {
        KubeconfigSource::Direct(Box::new(DirectAccess {
            tls_server_name: Some(name.to_owned()),
            ..direct(&sim, token(&sim))
        }))
    };
    // The simulator's certificate names 127.0.0.1 and localhost, not other names.
    reach(named("localhost")).await.unwrap();
    let err = reach(named("api.elsewhere.example")).await.unwrap_err();
    assert_eq!(err.status_code(), None, "{err}");
}

#[cfg(unix)]
#[tokio::test]
async fn exec_plugin_credentials_reach_the_cluster() {
    let sim = sim("site-a").await;
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("credential-plugin.sh");
    // Prints an ExecCredential of the API version it is given, with the token from its
    // environment, as cloud credential plugins do.
    write_executable(
        &script,
        "#!/bin/sh\nprintf '{\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"%s\"}}' \"$1\" \"$SIM_TOKEN\"\n",
        0o700,
    )
    .unwrap();
    let plugin = |token: &str| {
        KubeconfigSource::Direct(Box::new(direct(
            &sim,
            Credentials::Exec(ExecPlugin {
                api_version: "client.authentication.k8s.io/v1".into(),
                command: script.display().to_string(),
                args: vec!["client.authentication.k8s.io/v1".into()],
                env: BTreeMap::from([("SIM_TOKEN".to_owned(), Secret::new(token))]),
            }),
        )))
    };
    reach(plugin(sim.token().unwrap())).await.unwrap();
    let err = reach(plugin("revoked")).await.unwrap_err();
    assert_eq!(err.status_code(), Some(401), "{err}");
}

#[tokio::test]
async fn environment_kubeconfig_files_merge_as_kubectl_merges_them() {
    let (a, b) = (sim("site-a").await, sim("site-b").await);
    // A namespace only site-b has tells which cluster a client reached.
    clusters(
        KubeconfigSource::Content(Secret::new(b.kubeconfig().unwrap())),
        None,
    )
    .get("us_east")
    .await
    .unwrap()
    .apply(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "only-on-b"}}))
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (file_a, file_b) = (dir.path().join("a.yaml"), dir.path().join("b.yaml"));
    std::fs::write(&file_a, a.kubeconfig().unwrap()).unwrap();
    std::fs::write(&file_b, b.kubeconfig().unwrap()).unwrap();
    let source = KubeconfigSource::Environment {
        variable: "KUBECONFIG",
        // kubectl skips files that do not exist.
        paths: vec![dir.path().join("missing.yaml"), file_a.clone(), file_b],
    };
    let on = |context: Option<&str>| {
        let source = source.clone();
        let context = context.map(str::to_owned);
        async move {
            clusters(source, context.as_deref())
                .get("us_east")
                .await
                .unwrap()
                .get(&Kind::NAMESPACE, None, "only-on-b")
                .await
                .unwrap()
                .is_some()
        }
    };
    // The first file's current context wins; the second file's context is there by name.
    assert!(!on(None).await);
    assert!(on(Some("site-b")).await);

    let none = KubeconfigSource::Environment {
        variable: "KUBE_CONFIG_PATH",
        paths: vec![dir.path().join("missing.yaml")],
    };
    let err = clusters(none, None).get("us_east").await.unwrap_err();
    assert!(matches!(err, Error::NoKubeconfigFile { .. }), "{err}");
    assert!(err.to_string().contains("missing.yaml"), "{err}");
    assert!(err.hint().contains("KUBE_CONFIG_PATH"), "{}", err.hint());
}

#[tokio::test]
async fn in_cluster_outside_a_pod_says_where_it_works() {
    if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
        eprintln!("skipped: this test runs in a pod, where in-cluster configuration works");
        return;
    }
    let err = clusters(KubeconfigSource::InCluster, None)
        .get("us_east")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InCluster { .. }), "{err}");
    assert!(err.hint().contains("pod"), "{}", err.hint());
}

#[tokio::test]
async fn a_cluster_not_known_yet_says_what_it_waits_for() {
    let clusters = Clusters::with_pending(
        BTreeMap::new(),
        BTreeMap::from([(
            "us_east".to_owned(),
            vec!["host".to_owned(), "token".to_owned()],
        )]),
    );
    assert!(clusters.contains("us_east"));
    let err = clusters.get("us_east").await.unwrap_err();
    assert!(matches!(err, Error::Pending { .. }), "{err}");
    assert!(err.to_string().contains("host, token"), "{err}");
}
