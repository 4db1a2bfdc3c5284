use std::ffi::OsString;
use std::path::PathBuf;

use super::*;
use crate::cluster::{Credentials, KubeconfigSource};
use crate::georep::secret::Secret;

fn cluster<const N: usize>(attrs: [(&str, Value); N]) -> Value {
    Value::object(attrs)
}

fn config(clusters: Vec<(&str, Value)>) -> Value {
    Value::object([(
        "cluster",
        Value::Map(
            clusters
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        ),
    )])
}

fn no_env(_: &str) -> Option<OsString> {
    None
}

fn checked(config: &Value, env: Env<'_>) -> (CheckedClusters, Diagnostics) {
    let mut diags = Diagnostics::default();
    let clusters = check_clusters(config, env, &mut diags);
    (clusters, diags)
}

/// The attribute paths of the errors, and their details.
fn problems(config: &Value) -> Vec<(String, String)> {
    let (_, diags) = checked(config, &no_env);
    diags
        .iter()
        .map(|d| {
            (
                d.attribute.clone().unwrap_or_default().to_string(),
                d.detail.clone(),
            )
        })
        .collect()
}

fn paths(config: &Value) -> Vec<String> {
    problems(config).into_iter().map(|(path, _)| path).collect()
}

const CA: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const KEY: &str = "-----BEGIN PRIVATE KEY-----\ns3cr3t-key\n-----END PRIVATE KEY-----\n";

fn exec_block(api_version: &str, command: &str) -> Value {
    Value::object([
        ("api_version", Value::string(api_version)),
        ("command", Value::string(command)),
        ("args", Value::list([Value::string("token")])),
        (
            "env",
            Value::map([("AWS_SECRET".to_owned(), Value::string("s3cr3t-env"))]),
        ),
    ])
}

#[test]
fn every_attribute_reads_into_the_model_and_back() {
    crate::resources::model::assert_every_attribute_round_trips::<ProviderModel>(&provider_schema());
}

#[test]
fn provider_schema_is_a_valid_definition() {
    crate::resources::model::assert_valid_definition(&provider_schema());
}

#[test]
fn credentials_are_sensitive_in_the_schema() {
    let schema = provider_schema();
    let cluster = &schema.block.block_types[0].block;
    let sensitive: Vec<&str> = cluster
        .attributes
        .iter()
        .filter(|a| a.sensitive)
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(sensitive, ["kubeconfig_content", "token", "client_key"]);
    let exec = &cluster.block_types[0].block;
    let env = exec.attributes.iter().find(|a| a.name == "env").unwrap();
    assert!(env.sensitive);
}

#[test]
fn each_way_to_reach_a_cluster_is_accepted() {
    let c = config(vec![
        (
            "path",
            cluster([
                ("kubeconfig_path", Value::string("/k/a")),
                ("context", Value::string("ctx")),
            ]),
        ),
        (
            "content",
            cluster([("kubeconfig_content", Value::string("apiVersion: v1"))]),
        ),
        (
            "token",
            cluster([
                ("host", Value::string("https://api.example.com:6443")),
                ("cluster_ca_certificate", Value::string(CA)),
                ("token", Value::string("s3cr3t")),
                ("tls_server_name", Value::string("api.internal")),
                ("proxy_url", Value::string("socks5://127.0.0.1:1080")),
            ]),
        ),
        (
            "cert",
            cluster([
                ("host", Value::string("https://api.example.com")),
                ("client_certificate", Value::string(CA)),
                ("client_key", Value::string(KEY)),
            ]),
        ),
        (
            "exec",
            cluster([
                ("host", Value::string("https://api.example.com")),
                (
                    "exec",
                    exec_block("client.authentication.k8s.io/v1beta1", "aws"),
                ),
            ]),
        ),
        ("pod", cluster([("in_cluster", Value::Bool(true))])),
    ]);
    let (clusters, diags) = checked(&c, &no_env);
    assert!(diags.is_empty(), "{diags:?}");
    let ready = &clusters.ready;
    assert_eq!(ready["path"].context.as_deref(), Some("ctx"));
    assert!(matches!(
        ready["content"].kubeconfig,
        KubeconfigSource::Content(_)
    ));
    let KubeconfigSource::Direct(direct) = &ready["token"].kubeconfig else {
        panic!("{:?}", ready["token"]);
    };
    assert_eq!(direct.tls_server_name.as_deref(), Some("api.internal"));
    assert!(matches!(direct.credentials, Credentials::Token(_)));
    assert!(matches!(
        &ready["cert"].kubeconfig,
        KubeconfigSource::Direct(d) if matches!(d.credentials, Credentials::ClientCertificate { .. })
    ));
    let KubeconfigSource::Direct(direct) = &ready["exec"].kubeconfig else {
        panic!("{:?}", ready["exec"]);
    };
    let Credentials::Exec(plugin) = &direct.credentials else {
        panic!("{direct:?}");
    };
    assert_eq!(plugin.args, ["token"]);
    assert_eq!(plugin.env["AWS_SECRET"].expose(), "s3cr3t-env");
    assert_eq!(ready["pod"].kubeconfig, KubeconfigSource::InCluster);
}

#[test]
fn no_way_falls_back_to_kube_config_path_then_kubeconfig() {
    let c = config(vec![("a", cluster([("context", Value::string("site-a"))]))]);
    let both = |name: &str| match name {
        "KUBE_CONFIG_PATH" => Some(OsString::from("/k/one:/k/two")),
        "KUBECONFIG" => Some(OsString::from("/k/three")),
        _ => None,
    };
    let (clusters, diags) = checked(&c, &both);
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(
        clusters.ready["a"].kubeconfig,
        KubeconfigSource::Environment {
            variable: "KUBE_CONFIG_PATH",
            paths: vec!["/k/one".into(), "/k/two".into()],
        }
    );
    assert_eq!(clusters.ready["a"].context.as_deref(), Some("site-a"));
    let kubeconfig_only = |name: &str| (name == "KUBECONFIG").then(|| OsString::from("/k/three"));
    let (clusters, _) = checked(&c, &kubeconfig_only);
    assert!(matches!(
        &clusters.ready["a"].kubeconfig,
        KubeconfigSource::Environment { variable: "KUBECONFIG", paths } if paths == &[PathBuf::from("/k/three")]
    ));
}

#[test]
fn no_way_and_no_environment_is_refused_at_the_block() {
    let c = config(vec![("a", cluster([("in_cluster", Value::Bool(false))]))]);
    let empty = |_: &str| Some(OsString::new());
    let (_, diags) = checked(&c, &empty);
    let problems: Vec<_> = diags
        .iter()
        .map(|d| d.attribute.clone().unwrap_or_default().to_string())
        .collect();
    assert_eq!(problems, [r#"cluster["a"]"#]);
    assert!(diags.iter().next().unwrap().detail.contains("KUBECONFIG"));
}

/// Each wrong block: the path of the error, and a word its detail must say.
#[test]
fn wrong_blocks_are_refused_at_the_attribute_to_change() {
    let host = ("host", Value::string("https://api.example.com"));
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            cluster([
                ("kubeconfig_path", Value::string("/k")),
                ("kubeconfig_content", Value::string("x")),
            ]),
            "kubeconfig_content",
            "kubeconfig_path and kubeconfig_content",
        ),
        (
            cluster([
                ("kubeconfig_path", Value::string("/k")),
                ("token", Value::string("s3cr3t")),
            ]),
            "token",
            "kubeconfig_path and token",
        ),
        (
            cluster([host.clone(), ("in_cluster", Value::Bool(true))]),
            "in_cluster",
            "host and in_cluster",
        ),
        (
            cluster([("token", Value::string("s3cr3t"))]),
            "host",
            "sets token but not host",
        ),
        (
            cluster([
                host.clone(),
                ("token", Value::string("s3cr3t")),
                ("client_certificate", Value::string(CA)),
                ("client_key", Value::string(KEY)),
            ]),
            "client_certificate",
            "token and client_certificate",
        ),
        (
            cluster([host.clone(), ("client_certificate", Value::string(CA))]),
            "client_key",
            "add client_key",
        ),
        (
            cluster([
                host.clone(),
                ("client_certificate", Value::string(CA)),
                ("client_key", Value::string("s3cr3t")),
            ]),
            "client_key",
            "PRIVATE KEY",
        ),
        (
            cluster([
                host.clone(),
                ("cluster_ca_certificate", Value::string("not pem")),
            ]),
            "cluster_ca_certificate",
            "-----BEGIN",
        ),
        (
            cluster([("host", Value::string("api.example.com"))]),
            "host",
            "https://",
        ),
        (
            cluster([host.clone(), ("proxy_url", Value::string("ftp://p"))]),
            "proxy_url",
            "socks5://",
        ),
        // A URL's `user:password@` never reaches the message.
        (
            cluster([("host", Value::string("admin:s3cr3t@api.example.com"))]),
            "host",
            "https://",
        ),
        (
            cluster([
                host.clone(),
                (
                    "proxy_url",
                    Value::string("user:s3cr3t@proxy.example.com:3128"),
                ),
            ]),
            "proxy_url",
            "socks5://",
        ),
        (
            cluster([
                host.clone(),
                (
                    "exec",
                    exec_block("client.authentication.k8s.io/v1alpha1", "aws"),
                ),
            ]),
            "exec.api_version",
            "v1beta1",
        ),
        (
            cluster([
                host.clone(),
                ("exec", exec_block("client.authentication.k8s.io/v1", " ")),
            ]),
            "exec.command",
            "empty",
        ),
        (
            cluster([host.clone(), ("context", Value::string("ctx"))]),
            "context",
            "remove context",
        ),
        (
            cluster([("kubeconfig_path", Value::string(""))]),
            "kubeconfig_path",
            "empty",
        ),
    ];
    for (block, attr, word) in cases {
        let found = problems(&config(vec![("a", block.clone())]));
        let expected = format!("cluster[\"a\"].{attr}");
        assert_eq!(found.len(), 1, "{block:?}: {found:?}");
        assert_eq!(found[0].0, expected, "{block:?}");
        assert!(found[0].1.contains(word), "{block:?}: {}", found[0].1);
        for secret in ["s3cr3t", "s3cr3t-key"] {
            assert!(!found[0].1.contains(secret), "{}", found[0].1);
        }
    }
}

#[test]
fn cluster_label_must_be_an_identifier() {
    let c = config(vec![(
        "1st site",
        cluster([("kubeconfig_path", Value::string("/k"))]),
    )]);
    assert_eq!(paths(&c), [r#"cluster["1st site"]"#]);
}

#[test]
fn unknown_values_leave_the_cluster_pending_with_what_it_waits_for() {
    let c = config(vec![(
        "a",
        cluster([
            ("host", Value::Unknown),
            ("cluster_ca_certificate", Value::Unknown),
            (
                "exec",
                Value::object([
                    (
                        "api_version",
                        Value::string("client.authentication.k8s.io/v1"),
                    ),
                    ("command", Value::string("aws")),
                    ("args", Value::Unknown),
                    ("env", Value::Null),
                ]),
            ),
        ]),
    )]);
    let (clusters, diags) = checked(&c, &no_env);
    assert!(diags.is_empty(), "{diags:?}");
    assert!(clusters.ready.is_empty());
    assert_eq!(
        clusters.pending["a"],
        ["host", "cluster_ca_certificate", "exec.args"]
    );
}

#[test]
fn credentials_are_redacted_in_debug_output() {
    let source = KubeconfigSource::Content(Secret::new("token: s3cr3t"));
    assert!(!format!("{source:?}").contains("s3cr3t"));
    let c = config(vec![(
        "a",
        cluster([
            ("host", Value::string("https://api.example.com")),
            ("client_certificate", Value::string(CA)),
            ("client_key", Value::string(KEY)),
        ]),
    )]);
    let (clusters, _) = checked(&c, &no_env);
    assert!(!format!("{:?}", clusters.ready["a"]).contains("s3cr3t"));
    let exec = config(vec![(
        "a",
        cluster([
            ("host", Value::string("https://api.example.com")),
            ("exec", exec_block("client.authentication.k8s.io/v1", "aws")),
        ]),
    )]);
    let (clusters, _) = checked(&exec, &no_env);
    assert!(!format!("{:?}", clusters.ready["a"]).contains("s3cr3t"));
    let mut diags = Diagnostics::default();
    let model = ProviderModel::read(&exec, &mut diags);
    assert!(!format!("{model:?}").contains("s3cr3t"));
}
