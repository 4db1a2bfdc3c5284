//! The shared config kept out of Terraform's files: `ephemeral "quay_georep_config"` feeding
//! `quay_georep_site.config_yaml_wo`, and the Clair database and TLS key through
//! `clair { database_uri_wo }` and `tls { private_key_wo }` (Terraform 1.11 and later),
//! write every secret to the cluster's bundle Secret and none to the state or a saved plan,
//! checked with the project's secret scanner on `terraform show -json` of both. On Terraform 1.0.3, which
//! has neither feature, `config_yaml_wo` is refused at its attribute and `config_yaml` works
//! as before. The simulated cluster runs no operator model, so the sites are applied with
//! `wait_for_ready = false`.

use georep_harness::secrets::{SecretScanner, describe};
use georep_harness::sim::{ClusterConfig, Flavour, SimCluster, install_crypto_provider};
use georep_harness::terraform::{PlanExit, TerraformBinary, Version, Workdir, binaries_under_test};
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::ListParams;

use super::{shared_config_secrets, workdir};

const NAMESPACE: &str = "quay-enterprise";

/// The shared config's arguments. With `ephemeral`, every secret comes from an ephemeral
/// variable ([`SECRET_VARIABLES`], set through the environment: a saved plan stores the values
/// of the other variables, and the configuration's literals); otherwise they are literals.
fn config_arguments(ephemeral: bool) -> String {
    let value = |variable: &str, literal: &str| {
        if ephemeral {
            variable.to_owned()
        } else {
            format!("\"{literal}\"")
        }
    };
    let storage = |location: &str| {
        let host = location.replace('_', "-");
        format!(
            r#"
  storage "{location}" {{
    driver     = "radosgw"
    hostname   = "s3.{host}.example.com"
    bucket     = "quay-{host}"
    access_key = {}
    secret_key = {}
  }}"#,
            value(
                &format!("var.bucket_keys.{location}.access_key"),
                &format!("ak-{location}")
            ),
            value(
                &format!("var.bucket_keys.{location}.secret_key"),
                &format!("sk-{location}-0123456789")
            ),
        )
    };
    let uri = if ephemeral {
        "\"postgresql://quay:${var.db_password}@db.example.com:5432/quay\"".to_owned()
    } else {
        "\"postgresql://quay:db-password@db.example.com:5432/quay\"".to_owned()
    };
    format!(
        r#"
  server_hostname     = "quay.global.example.com"
  secret_key          = {}
  database_secret_key = {}
  database {{
    uri = {uri}
  }}
  redis {{
    host = "redis.example.com"
  }}{}{}"#,
        value("var.secret_key", "0123456789abcdef0123456789abcdef-secret"),
        value(
            "var.database_secret_key",
            "fedcba9876543210fedcba9876543210-dbkey"
        ),
        storage("us_east"),
        storage("eu_west")
    )
}

/// The ephemeral variables of [`config_arguments`] and of the site's Clair database, with the
/// values the scanner looks for (the TLS key, generated, is set by the test).
const SECRET_VARIABLES: [(&str, &str); 5] = [
    ("clair_password", "clair-password-0123"),
    ("db_password", "db-password"),
    ("secret_key", "0123456789abcdef0123456789abcdef-secret"),
    (
        "database_secret_key",
        "fedcba9876543210fedcba9876543210-dbkey",
    ),
    (
        "bucket_keys",
        r#"{ us_east = { access_key = "ak-us_east", secret_key = "sk-us_east-0123456789" }, eu_west = { access_key = "ak-eu_west", secret_key = "sk-eu_west-0123456789" } }"#,
    ),
];

/// A configuration with the shared config as `source` (`ephemeral` or `data`) and one site
/// on the simulated cluster whose kubeconfig is `kubeconfig`, taking it through `argument`;
/// with `twins`, the site runs Clair and serves a certificate, its Clair database and TLS key
/// given through `database_uri_wo` and `private_key_wo` from ephemeral variables.
fn main_tf(kubeconfig: &str, source: &str, argument: &str, twins: bool) -> String {
    let ephemeral = source == "ephemeral";
    let variables = if ephemeral {
        r#"
variable "db_password" {
  type      = string
  sensitive = true
  ephemeral = true
}
variable "secret_key" {
  type      = string
  sensitive = true
  ephemeral = true
}
variable "database_secret_key" {
  type      = string
  sensitive = true
  ephemeral = true
}
variable "bucket_keys" {
  type      = map(object({ access_key = string, secret_key = string }))
  sensitive = true
  ephemeral = true
}
"#
    } else {
        ""
    };
    let site_variables = if twins {
        r#"
variable "clair_password" {
  type      = string
  sensitive = true
  ephemeral = true
}
variable "tls_key" {
  type      = string
  sensitive = true
  ephemeral = true
}
"#
    } else {
        ""
    };
    let site_secrets = if twins {
        r#"clair {
    database_uri_wo = "postgresql://clair:${var.clair_password}@db.example.com:5432/clair"
  }
  tls {
    certificate    = file("quay.crt")
    private_key_wo = var.tls_key
  }"#
    } else {
        "clair {
    enabled = false
  }"
    };
    format!(
        r#"
terraform {{
  required_providers {{
    quay = {{ source = "quay-georep/quay" }}
  }}
}}

provider "quay" {{
  cluster "us_east" {{
    kubeconfig_path = "{kubeconfig}"
  }}
}}
{variables}{site_variables}
{source} "quay_georep_config" "shared" {{{arguments}
}}

resource "quay_georep_site" "us_east" {{
  cluster        = "us_east"
  namespace      = "{NAMESPACE}"
  {argument} = {prefix}quay_georep_config.shared.config_yaml
  location       = "us_east"
  wait_for_ready = false
  {site_secrets}
}}

output "config_hash" {{
  value = quay_georep_site.us_east.config_hash
}}
"#,
        arguments = config_arguments(ephemeral),
        prefix = if ephemeral { "ephemeral." } else { "data." },
    )
}

/// Every secret of [`config_arguments`] and the site's Clair password.
fn secrets() -> SecretScanner {
    shared_config_secrets(&["us_east", "eu_west"]).with("the Clair password", SECRET_VARIABLES[0].1)
}

/// A certificate for the global name and its PEM key.
fn tls_pair() -> (String, String) {
    let pair =
        rcgen::generate_simple_self_signed(vec!["quay.global.example.com".to_owned()]).unwrap();
    (pair.cert.pem(), pair.signing_key.serialize_pem())
}

/// `scanner` also looking for every full base64 line of the PEM `key` (a short last line
/// could match by chance, and the scanner refuses it).
fn with_key_lines(scanner: SecretScanner, key: &str) -> SecretScanner {
    key.lines()
        .filter(|line| !line.starts_with("-----") && line.len() >= 32)
        .enumerate()
        .fold(scanner, |scanner, (i, line)| {
            scanner.with(&format!("line {i} of the TLS key"), line)
        })
}

/// A working directory for `test` for a site with the twins of [`main_tf`]: the certificate
/// in `quay.crt`, the Clair password and the key in the environment. Its kubeconfig path and
/// the key.
fn twins_setup(tf: &TerraformBinary, sim: &SimCluster, test: &str) -> (Workdir, String, String) {
    let (dir, kubeconfig) = setup(tf, sim, test);
    let (certificate, key) = tls_pair();
    dir.write_file("quay.crt", &certificate).unwrap();
    let dir = dir
        .with_env("TF_VAR_clair_password", SECRET_VARIABLES[0].1)
        .with_env("TF_VAR_tls_key", &key);
    (dir, kubeconfig, key)
}

fn start_cluster(runtime: &tokio::runtime::Runtime) -> SimCluster {
    install_crypto_provider();
    let mut config = ClusterConfig::new("us-east");
    config.flavour = Flavour::Openshift;
    runtime.block_on(SimCluster::start(config)).unwrap()
}

/// A working directory for `test` with the cluster's kubeconfig in it; its path.
fn setup(tf: &TerraformBinary, sim: &SimCluster, test: &str) -> (Workdir, String) {
    let dir = workdir(tf, test);
    let kubeconfig = dir
        .write_file("us-east.kubeconfig", &sim.kubeconfig().unwrap())
        .unwrap();
    (dir, kubeconfig.display().to_string())
}

/// The site's config bundle Secrets on the cluster: their `config.yaml` and annotations.
fn bundles(runtime: &tokio::runtime::Runtime, sim: &SimCluster) -> Vec<(String, Secret)> {
    runtime.block_on(async {
        let client = sim.client().await.unwrap();
        let secrets: Api<Secret> = Api::namespaced(client, NAMESPACE);
        let list = secrets
            .list(&ListParams::default().labels("quay-georep/site=registry"))
            .await
            .unwrap();
        list.items
            .into_iter()
            .map(|secret| (bundle_file(&secret, "config.yaml"), secret))
            .collect()
    })
}

/// The file `name` of a bundle Secret, empty when it has none.
fn bundle_file(secret: &Secret, name: &str) -> String {
    secret
        .data
        .as_ref()
        .and_then(|data| data.get(name))
        .map(|bytes| String::from_utf8_lossy(&bytes.0).into_owned())
        .unwrap_or_default()
}

/// `terraform show -json` of the state.
fn shown_state(dir: &Workdir) -> String {
    dir.run(["show", "-json"])
        .unwrap()
        .require_success()
        .unwrap_or_else(|error| panic!("{error}"))
        .stdout
}

/// `dir` with the variable `name` set to the new secret `value`: the plan must show a change,
/// the apply succeed, and the state after it not hold `value`.
fn rotated(dir: Workdir, name: &str, value: &str) -> Workdir {
    let dir = dir.with_env(format!("TF_VAR_{name}"), value);
    let plan = dir.plan().unwrap();
    assert_eq!(plan.exit, PlanExit::Changes, "{:#?}", plan.events);
    dir.apply().unwrap();
    let scanner = SecretScanner::new().with(&format!("the new {name}"), value);
    let leaked = scanner.scan_text("show -json", &shown_state(&dir));
    assert!(leaked.is_empty(), "{}", describe(&leaked));
    dir
}

/// The first Terraform under test at or above 1.11, or `None` with the reason printed.
fn terraform_with_write_only() -> Option<TerraformBinary> {
    let found = binaries_under_test()
        .unwrap_or_else(|error| panic!("{error}"))
        .into_iter()
        .find(|tf| tf.version >= Version::new(1, 11, 0));
    if found.is_none() {
        eprintln!(
            "skipped: no Terraform 1.11 or newer under test (put one on PATH); write-only \
             attributes and ephemeral resources need it"
        );
    }
    found
}

#[test]
fn config_from_the_ephemeral_resource_reaches_the_cluster_and_never_the_state_or_plan() {
    let Some(tf) = terraform_with_write_only() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sim = start_cluster(&runtime);
    let (dir, kubeconfig, key) = twins_setup(&tf, &sim, "write_only_site");
    let dir = SECRET_VARIABLES.iter().fold(dir, |dir, (name, value)| {
        dir.with_env(format!("TF_VAR_{name}"), value)
    });
    dir.write_main_tf(&main_tf(&kubeconfig, "ephemeral", "config_yaml_wo", true))
        .unwrap();
    let scanner = with_key_lines(secrets(), &key);

    let plan = dir
        .run(["plan", "-no-color", "-input=false", "-out=tfplan"])
        .unwrap()
        .require_success()
        .unwrap_or_else(|error| panic!("{error}"));
    let mut findings = scanner.scan_text("plan output", &plan.stdout);
    let shown_plan = dir
        .run(["show", "-json", "tfplan"])
        .unwrap()
        .require_success()
        .unwrap_or_else(|error| panic!("{error}"));
    findings.extend(scanner.scan_text("show -json tfplan", &shown_plan.stdout));
    assert!(
        shown_plan.stdout.contains("quay_georep_site.us_east"),
        "the saved plan does not plan the site: {}",
        shown_plan.stdout
    );

    dir.run(["apply", "-no-color", "-input=false", "tfplan"])
        .unwrap()
        .require_success()
        .unwrap_or_else(|error| panic!("{error}"));
    let state = shown_state(&dir);
    findings.extend(scanner.scan_text("show -json", &state));
    let skip_inputs = |path: &std::path::Path| path == std::path::Path::new("main.tf");
    findings.extend(scanner.scan_dir(dir.path(), &skip_inputs).unwrap());
    assert!(
        findings.is_empty(),
        "secrets of the shared config reached Terraform's files:\n{}",
        describe(&findings)
    );

    // The cluster has them: the bundle Secret holds the rendered config, the Clair database
    // and the key, marked write-only.
    let written = bundles(&runtime, &sim);
    assert_eq!(written.len(), 1, "one bundle Secret");
    let (yaml, secret) = &written[0];
    assert!(
        yaml.contains("postgresql://quay:db-password@"),
        "{}",
        yaml.len()
    );
    assert!(bundle_file(secret, "clair-config.yaml").contains("clair-password-0123"));
    assert_eq!(bundle_file(secret, "ssl.key"), key);
    let annotations = secret.metadata.annotations.clone().unwrap_or_default();
    for annotation in [
        "quay-georep/config-yaml",
        "quay-georep/clair-database-uri",
        "quay-georep/tls-private-key",
    ] {
        assert_eq!(
            annotations.get(annotation).map(String::as_str),
            Some("write-only"),
            "{annotation}"
        );
    }
    let outputs = dir.output_json().unwrap();
    let hash = outputs["config_hash"].value.as_str().unwrap_or_default();
    assert!(hash.starts_with("sha256:"), "{hash}");

    // A refresh renders the site from the live bundle: nothing to change, nothing stored.
    let again = dir.plan().unwrap();
    assert_eq!(again.exit, PlanExit::NoChanges, "{:#?}", again.events);

    // A new secret changes config_hash, which plans the update.
    let dir = rotated(dir, "db_password", "rotated-password");
    let written = bundles(&runtime, &sim);
    assert!(
        written
            .iter()
            .any(|(yaml, _)| yaml.contains("quay:rotated-password@")),
        "the rotated config did not reach the cluster"
    );

    // So does a new Clair password, which only the bundle's name records.
    let dir = rotated(dir, "clair_password", "rotated-clair-password");
    let again = dir.plan().unwrap();
    assert_eq!(again.exit, PlanExit::NoChanges, "{:#?}", again.events);
    runtime.block_on(sim.stop());
}

#[test]
fn terraform_1_0_3_refuses_config_yaml_wo_at_the_attribute_and_applies_config_yaml() {
    let tf = binaries_under_test().unwrap_or_else(|error| panic!("{error}"))[0].clone();
    assert_eq!(
        tf.version,
        Version::new(1, 0, 3),
        "the pinned Terraform comes first"
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sim = start_cluster(&runtime);
    let (dir, kubeconfig) = setup(&tf, &sim, "write_only_refused");
    dir.write_main_tf(&main_tf(&kubeconfig, "data", "config_yaml_wo", false))
        .unwrap();
    sim.faults().reset_counters();
    let plan = dir.plan().unwrap();
    assert_eq!(plan.exit, PlanExit::Error, "{:#?}", plan.events);
    let errors: Vec<_> = plan.events.errors().cloned().collect();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let error = &errors[0];
    assert_eq!(error.summary, "Write-Only Attribute Not Supported");
    assert!(
        error.detail.contains("config_yaml_wo") && error.detail.contains("set config_yaml"),
        "{}",
        error.detail
    );
    let snippet = error.snippet.as_ref().expect("points at the configuration");
    assert!(
        snippet.code.contains("config_yaml_wo"),
        "{:?}",
        snippet.code
    );
    assert_eq!(sim.faults().counters().writes, 0, "nothing may be written");

    dir.write_main_tf(&main_tf(&kubeconfig, "data", "config_yaml", false))
        .unwrap();
    let applied = dir.apply().unwrap();
    assert!(applied.succeeded(), "{:#?}", applied.events);
    let written = bundles(&runtime, &sim);
    assert_eq!(written.len(), 1);
    assert!(
        written[0]
            .1
            .metadata
            .annotations
            .as_ref()
            .is_none_or(|a| !a.contains_key("quay-georep/config-yaml")),
        "a bundle written from config_yaml is not marked write-only"
    );
    let again = dir.plan().unwrap();
    assert_eq!(again.exit, PlanExit::NoChanges, "{:#?}", again.events);
    runtime.block_on(sim.stop());
}

#[test]
fn a_stored_config_with_write_only_clair_and_tls_secrets_refreshes_without_them() {
    let Some(tf) = terraform_with_write_only() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sim = start_cluster(&runtime);
    let (dir, kubeconfig, key) = twins_setup(&tf, &sim, "write_only_twins_only");
    dir.write_main_tf(&main_tf(&kubeconfig, "data", "config_yaml", true))
        .unwrap();
    let applied = dir.apply().unwrap();
    assert!(applied.succeeded(), "{:#?}", applied.events);
    let state = shown_state(&dir);
    let scanner = with_key_lines(
        SecretScanner::new().with("the Clair password", SECRET_VARIABLES[0].1),
        &key,
    );
    let leaked = scanner.scan_text("show -json", &state);
    assert!(leaked.is_empty(), "{}", describe(&leaked));
    // The shared config is stored; the two twins' secrets come from the live bundle at refresh.
    assert!(state.contains("config_yaml"), "the config is stored");
    let written = bundles(&runtime, &sim);
    assert_eq!(written.len(), 1, "one bundle Secret");
    let annotations = written[0]
        .1
        .metadata
        .annotations
        .clone()
        .unwrap_or_default();
    assert_eq!(annotations.get("quay-georep/config-yaml"), None);
    assert_eq!(
        annotations
            .get("quay-georep/tls-private-key")
            .map(String::as_str),
        Some("write-only")
    );
    let again = dir.plan().unwrap();
    assert_eq!(again.exit, PlanExit::NoChanges, "{:#?}", again.events);
    runtime.block_on(sim.stop());
}
