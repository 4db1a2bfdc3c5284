//! No secret in any output, log, diagnostic or Kubernetes Event: a plan and an apply with
//! `TF_LOG=trace` through the real Terraform CLI, with a configuration whose every
//! credential-bearing argument holds a recognisable secret, against a simulated cluster
//! reached through an inline kubeconfig; then an apply whose clusters cannot be used (a
//! kubeconfig that does not parse, around a token and a client key, and a credential plugin
//! that prints its token and fails). The one secret scanner
//! (`georep_harness::secrets::SecretScanner`, the one the conformance suite redacts with)
//! searches everything they wrote.

use georep_harness::secrets::{Finding, SecretScanner, describe};
use georep_harness::services::process::write_executable;
use georep_harness::sim::{ClusterConfig, Flavour, SimCluster, install_crypto_provider};
use georep_harness::terraform::{Diagnostic, TerraformBinary};

use super::{for_each_terraform, secret_findings, workdir};

const EXTRA_CONFIG_SECRET: &str = "xc-mail-password-s3cr3t";
const CONNECTION_ARGS_SECRET: &str = "ca-sslpassword-s3cr3t";
const EXECUTOR_CONFIG_SECRET: &str = "ec-service-account-s3cr3t";
const SITE_ENV_SECRET: &str = "env-api-token-s3cr3t";
const BROKEN_KUBECONFIG_TOKEN: &str = "bk-token-s3cr3t-in-yaml";
const BROKEN_KUBECONFIG_KEY: &str = "bk-client-key-s3cr3t-in-yaml";
const PLUGIN_TOKEN: &str = "plugin-printed-token-s3cr3t";

/// Every secret of these tests, the simulated cluster's token among them.
fn secrets(sim: &SimCluster) -> SecretScanner {
    super::shared_config_secrets(&["us_east"])
        .with("extra_config's MAIL_PASSWORD", EXTRA_CONFIG_SECRET)
        .with("connection_args' sslpassword", CONNECTION_ARGS_SECRET)
        .with("executor_config's token", EXECUTOR_CONFIG_SECRET)
        .with("the site's env", SITE_ENV_SECRET)
        .with("the broken kubeconfig's token", BROKEN_KUBECONFIG_TOKEN)
        .with("the broken kubeconfig's client key", BROKEN_KUBECONFIG_KEY)
        .with("the plugin's token", PLUGIN_TOKEN)
        .with("the cluster's token", sim.token().unwrap())
}

/// The shared configuration with a secret in every argument that may hold one, and one site
/// per `(cluster, namespace)`, each not waiting for the operator (there is none).
fn config(provider: &str, sites: &[(&str, &str)]) -> String {
    // One location per site: two sites may not share one.
    let storages: String = sites
        .iter()
        .map(|(cluster, _)| {
            let host = cluster.replace('_', "-");
            format!(
                "  storage \"{cluster}\" {{\n    driver     = \"radosgw\"\n    hostname   = \"s3.{host}.example.com\"\n    bucket     = \"quay-{host}\"\n    access_key = \"ak-{cluster}\"\n    secret_key = \"sk-{cluster}-0123456789\"\n  }}\n"
            )
        })
        .collect();
    let mut hcl = format!(
        r#"
terraform {{
  required_providers {{
    quay = {{ source = "quay-georep/quay" }}
  }}
}}

{provider}

data "quay_georep_config" "shared" {{
  server_hostname     = "quay.global.example.com"
  secret_key          = "0123456789abcdef0123456789abcdef-secret"
  database_secret_key = "fedcba9876543210fedcba9876543210-dbkey"
  database {{
    uri             = "postgresql://quay:db-password@db.example.com:5432/quay"
    connection_args = {{ sslmode = "require", sslpassword = "{CONNECTION_ARGS_SECRET}" }}
  }}
  redis {{
    host = "redis.example.com"
  }}
{storages}  builders {{
    build_manager_hostname = "builds.example.com"
    executor_config = {{
      EXECUTOR              = "kubernetesPodman"
      SERVICE_ACCOUNT_TOKEN = "{EXECUTOR_CONFIG_SECRET}"
    }}
  }}
  extra_config = {{ MAIL_PASSWORD = "{EXTRA_CONFIG_SECRET}" }}
}}
"#
    );
    for (cluster, namespace) in sites {
        hcl.push_str(&format!(
            r#"
resource "quay_georep_site" "{cluster}" {{
  cluster        = "{cluster}"
  namespace      = "{namespace}"
  config_yaml    = data.quay_georep_config.shared.config_yaml
  location       = "{cluster}"
  wait_for_ready = false
  env            = {{ API_TOKEN = "{SITE_ENV_SECRET}" }}
  clair {{
    enabled = false
  }}
}}
"#
        ));
    }
    hcl
}

fn inline_kubeconfig(yaml: &str) -> String {
    format!("    kubeconfig_content = <<-EOT\n{yaml}\n    EOT\n")
}

/// Where `scanner`'s secrets are in the sim's Events.
fn event_findings(
    runtime: &tokio::runtime::Runtime,
    sim: &SimCluster,
    scanner: &SecretScanner,
) -> Vec<Finding> {
    use kube::api::{Api, DynamicObject, ListParams};
    use kube::discovery::ApiResource;
    let events = runtime.block_on(async {
        let client = sim.client().await.unwrap();
        let resource = ApiResource {
            group: String::new(),
            version: "v1".into(),
            api_version: "v1".into(),
            kind: "Event".into(),
            plural: "events".into(),
        };
        let api: Api<DynamicObject> = Api::all_with(client, &resource);
        api.list(&ListParams::default()).await.unwrap()
    });
    let text = serde_json::to_string_pretty(&events.items).unwrap();
    scanner.scan_text("the cluster's Events", &text)
}

#[test]
fn no_secret_reaches_any_output_log_diagnostic_or_event() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    install_crypto_provider();
    let mut cluster = ClusterConfig::new("us-east");
    cluster.flavour = Flavour::Openshift;
    let sim = runtime.block_on(SimCluster::start(cluster)).unwrap();
    let scanner = secrets(&sim);
    for_each_terraform(|tf: &TerraformBinary| {
        // A working apply: every sensitive argument set, the cluster reached with a token.
        let provider = format!(
            "provider \"quay\" {{\n  cluster \"us_east\" {{\n{}  }}\n}}\n",
            inline_kubeconfig(&sim.kubeconfig().unwrap())
        );
        let hcl = config(&provider, &[("us_east", "quay-enterprise")]);
        let mut findings = secret_findings(tf, "no_secrets_working", &hcl, &scanner);
        findings.extend(event_findings(&runtime, &sim, &scanner));
        assert!(
            findings.is_empty(),
            "secrets leaked:\n{}",
            describe(&findings)
        );

        // Clusters that cannot be used: the errors must say why without the secrets.
        let dir = workdir(tf, "no_secrets_broken");
        let log = dir.path().join("terraform.log");
        let dir = dir.with_tf_log("trace").with_env("TF_LOG_PATH", &log);
        let broken = format!(
            "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: {BROKEN_KUBECONFIG_TOKEN}\n    client-key-data: {{{BROKEN_KUBECONFIG_KEY}\n"
        );
        let broken_path = dir.write_file("broken.kubeconfig", &broken).unwrap();
        let plugin = dir.path().join("credential-plugin.sh");
        write_executable(
            &plugin,
            "#!/bin/sh\necho \"{\\\"status\\\": {\\\"token\\\": \\\"$PLUGIN_TOKEN\\\"\"\necho \"token $PLUGIN_TOKEN refused\" >&2\nexit 1\n",
            0o700,
        )
        .unwrap();
        let exec_kubeconfig = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster:\n    server: {}\ncontexts:\n- name: c\n  context: {{cluster: c, user: u}}\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      env:\n      - {{name: PLUGIN_TOKEN, value: {PLUGIN_TOKEN}}}",
            sim.url(),
            plugin.display()
        );
        let provider = format!(
            "provider \"quay\" {{\n  cluster \"broken_file\" {{\n    kubeconfig_path = \"{}\"\n  }}\n  cluster \"broken_exec\" {{\n{}  }}\n}}\n",
            broken_path.display(),
            inline_kubeconfig(&exec_kubeconfig)
        );
        dir.write_main_tf(&config(
            &provider,
            &[("broken_file", "quay-file"), ("broken_exec", "quay-exec")],
        ))
        .unwrap();
        let plan = dir.run(["plan", "-no-color", "-input=false"]).unwrap();
        let apply = dir.apply().unwrap();
        assert!(!apply.succeeded());
        let errors: Vec<Diagnostic> = apply
            .events
            .diagnostics()
            .filter(|d| d.is_error())
            .cloned()
            .collect();
        assert_eq!(errors.len(), 2, "{errors:#?}");
        let details: String = errors.iter().map(|d| format!("{}\n", d.detail)).collect();
        assert!(
            details.contains("broken.kubeconfig") && details.contains("line"),
            "{details}"
        );
        assert!(details.contains("credential-plugin.sh"), "{details}");
        let mut findings = Vec::new();
        findings.extend(scanner.scan_text("plan stdout", &plan.stdout));
        findings.extend(scanner.scan_text("plan stderr", &plan.stderr));
        findings.extend(scanner.scan_text("apply output", &format!("{:?}", apply.events)));
        findings.extend(scanner.scan_text("diagnostics", &details));
        let by_design = |path: &std::path::Path| {
            [
                "main.tf",
                "broken.kubeconfig",
                "terraform.tfstate",
                "terraform.tfstate.backup",
            ]
            .iter()
            .any(|name| path == std::path::Path::new(name))
        };
        findings.extend(scanner.scan_dir(dir.path(), &by_design).unwrap());
        findings.extend(event_findings(&runtime, &sim, &scanner));
        assert!(
            findings.is_empty(),
            "secrets leaked:\n{}",
            describe(&findings)
        );
        let trace = std::fs::read_to_string(&log).unwrap();
        assert!(
            trace.contains("provider.terraform-provider-quay"),
            "TF_LOG=trace did not log the provider's lines"
        );
    });
    runtime.block_on(sim.stop());
}
