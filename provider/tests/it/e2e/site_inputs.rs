//! What the site resource and the manifests data source share in their end-to-end tests:
//! the provider block and shared config they are planned with, the table of bad inputs both
//! must reject at plan (one schema, one validation), and the checks on the diagnostics.
//!
//! A site's body is the same text for both types (only the block header differs), so one
//! table row breaks one thing the same way for both; rows that only one type has an attribute
//! for say so.

use georep_harness::terraform::{Diagnostic, Severity, Workdir};

/// The sites' storage locations, which are also the provider's cluster keys.
pub const LOCATIONS: [&str; 3] = ["us_east", "eu_west", "ap_south"];
/// The shared Clair database every site's body names.
pub const CLAIR_DB: &str = "postgresql://clair:clair-password@db.example.com:5432/clair";

/// The provider with one cluster per location, each reading `kubeconfig(location)`, and the
/// shared config (`config_extra` inserted in its body).
pub fn header(config_extra: &str, kubeconfig: &dyn Fn(&str) -> String) -> String {
    let clusters: String = LOCATIONS
        .iter()
        .map(|l| {
            format!(
                "  cluster \"{l}\" {{\n    kubeconfig_path = \"{}\"\n  }}\n",
                kubeconfig(l)
            )
        })
        .collect();
    let storages: String = LOCATIONS
        .iter()
        .map(|l| {
            let host = l.replace('_', "-");
            format!(
                r#"
  storage "{l}" {{
    driver     = "radosgw"
    hostname   = "s3.{host}.example.com"
    bucket     = "quay-{host}"
    access_key = "ak-{l}"
    secret_key = "sk-{l}-0123456789"
  }}
"#
            )
        })
        .collect();
    format!(
        r#"
terraform {{
  required_providers {{
    quay = {{ source = "quay-georep/quay" }}
  }}
}}

provider "quay" {{
{clusters}}}

data "quay_georep_config" "shared" {{
  server_hostname     = "quay.global.example.com"
  secret_key          = "0123456789abcdef0123456789abcdef-secret"
  database_secret_key = "fedcba9876543210fedcba9876543210-dbkey"
  database {{
    uri = "postgresql://quay:db-password@db.example.com:5432/quay"
  }}
  redis {{
    host = "redis.example.com"
  }}
{storages}{config_extra}}}

output "config_hash" {{
  value = data.quay_georep_config.shared.config_hash
}}
"#
    )
}

/// The arguments of the site at `location` (`extra` lines appended), the same for the
/// resource and the data source.
pub fn site_body(location: &str, extra: &str) -> String {
    format!(
        r#"  cluster     = "{location}"
  namespace   = "quay-enterprise"
  config_yaml = data.quay_georep_config.shared.config_yaml
  location    = "{location}"
  clair {{
    database_uri = "{CLAIR_DB}"
  }}
{extra}"#
    )
}

/// `hcl` with each `(from, to)` applied once; `from` must occur (else the table is wrong).
pub fn replace_once(mut hcl: String, replace: &[(&str, &str)]) -> String {
    for (from, to) in replace {
        assert!(
            hcl.contains(from),
            "test bug: {from:?} is not in the config"
        );
        hcl = hcl.replacen(from, to, 1);
    }
    hcl
}

/// Writes the certificates the TLS rows read with `file()`: `other.*` for another host,
/// `good.*` for the global host, and `wrong.key` belonging to neither.
pub fn write_certificates(dir: &Workdir) {
    for (name, host) in [
        ("other", "other.example.com"),
        ("good", "quay.global.example.com"),
    ] {
        let pair = rcgen::generate_simple_self_signed(vec![host.to_owned()]).unwrap();
        dir.write_file(format!("{name}.crt"), &pair.cert.pem())
            .unwrap();
        dir.write_file(format!("{name}.key"), &pair.signing_key.serialize_pem())
            .unwrap();
    }
    let wrong = rcgen::KeyPair::generate().unwrap();
    dir.write_file("wrong.key", &wrong.serialize_pem()).unwrap();
}

/// Asserts that exactly one error with `summary` was reported, pointing at source text
/// containing `source` and explaining itself with `detail`.
pub fn assert_reported(diags: &[Diagnostic], summary: &str, source: &str, detail: &str) {
    super::assert_diagnostic(diags, Severity::Error, summary, source, detail);
}

/// Which Terraform type a bad input applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum For {
    /// `resource "quay_georep_site"` and `data "quay_georep_site_manifests"`.
    Both,
    /// Only the resource (it alone has `timeouts`).
    Resource,
    /// Only the data source (it alone has `secret_mode`).
    Manifests,
}

/// One bad input: how to break the `us_east` site, and what the plan must say about it.
pub struct BadInput {
    /// Names the test's working directory.
    pub name: &'static str,
    /// Which types have the attribute this row breaks.
    pub applies_to: For,
    /// Lines added to the shared config's body.
    pub config_extra: &'static str,
    /// Lines added to the `us_east` site's body.
    pub extra: &'static str,
    /// Text replacements, each applied once to the whole configuration.
    pub replace: &'static [(&'static str, &'static str)],
    /// The diagnostic's summary.
    pub summary: &'static str,
    /// Text of the source the diagnostic points at; [`BLOCK`] stands for the block's type.
    pub source: &'static str,
    /// Text the detail must contain.
    pub detail: &'static str,
}

/// In [`BadInput::source`]: the site block's type name (its header is what is pointed at).
pub const BLOCK: &str = "<block type>";

const GLOBAL_CLAIR: &str = "  clair {\n    endpoint = \"https://clair.global.example.com\"\n    psk      = \"c2VjcmV0LXBzaw==\"\n  }\n";

/// The inputs both site types must reject at plan.
pub const BAD_INPUTS: &[BadInput] = &[
    BadInput {
        name: "cluster_reached_two_ways",
        applies_to: For::Both,
        config_extra: "",
        extra: "",
        replace: &[(
            "  cluster \"us_east\" {\n",
            "  cluster \"us_east\" {\n    in_cluster = true\n",
        )],
        summary: "Conflicting Cluster Access",
        source: "in_cluster",
        detail: "kubeconfig_path and in_cluster",
    },
    // The runners clear KUBE_CONFIG_PATH and KUBECONFIG, so no fallback applies.
    BadInput {
        name: "cluster_reached_no_way",
        applies_to: For::Both,
        config_extra: "",
        extra: "",
        replace: &[("kubeconfig_path = \"", "context = \"")],
        summary: "Missing Cluster Access",
        // Terraform shows a diagnostic on a whole `cluster` block at the provider block; the
        // detail names the cluster.
        source: "provider \"quay\"",
        detail: "cluster \"us_east\" does not say how to reach it and neither KUBE_CONFIG_PATH nor KUBECONFIG is set",
    },
    BadInput {
        name: "unknown_cluster",
        applies_to: For::Both,
        config_extra: "",
        extra: "",
        replace: &[("cluster     = \"us_east\"", "cluster     = \"mars\"")],
        summary: "Unknown Cluster",
        source: "cluster",
        detail: "\"us_east\"",
    },
    BadInput {
        name: "location_not_in_config",
        applies_to: For::Both,
        config_extra: "",
        extra: "",
        replace: &[("location    = \"us_east\"", "location    = \"mars\"")],
        summary: "Unknown Storage Location",
        source: "location",
        detail: "\"ap_south\", \"eu_west\", \"us_east\"",
    },
    BadInput {
        name: "negative_quay_replicas",
        applies_to: For::Both,
        config_extra: "",
        extra: "  quay {\n    replicas = -1\n  }\n",
        replace: &[],
        summary: "Invalid Replicas",
        source: "replicas",
        detail: "quay.replicas is -1",
    },
    BadInput {
        name: "negative_mirror_replicas",
        applies_to: For::Both,
        config_extra: "",
        extra: "  mirror {\n    replicas = -2\n  }\n",
        replace: &[],
        summary: "Invalid Replicas",
        source: "replicas",
        detail: "mirror.replicas is -2",
    },
    BadInput {
        name: "negative_clair_replicas",
        applies_to: For::Both,
        config_extra: "",
        extra: "",
        replace: &[(
            "clair {\n    database_uri",
            "clair {\n    replicas     = -3\n    database_uri",
        )],
        summary: "Invalid Replicas",
        source: "replicas",
        detail: "clair.replicas is -3",
    },
    BadInput {
        name: "absurd_replicas",
        applies_to: For::Both,
        config_extra: "",
        extra: "  mirror {\n    replicas = 1000\n  }\n",
        replace: &[],
        summary: "Too Many Replicas",
        source: "replicas",
        detail: "100",
    },
    BadInput {
        name: "fractional_replicas",
        applies_to: For::Both,
        config_extra: "",
        extra: "  quay {\n    replicas = 1.5\n  }\n",
        replace: &[],
        summary: "Whole Number Expected",
        source: "replicas",
        detail: "1.5",
    },
    BadInput {
        name: "certificate_for_another_host",
        applies_to: For::Both,
        config_extra: "",
        extra: "  tls {\n    certificate = file(\"other.crt\")\n    private_key = file(\"other.key\")\n  }\n",
        replace: &[],
        summary: "TLS Certificate Does Not Cover Server Hostname",
        source: "certificate",
        detail: "other.example.com",
    },
    BadInput {
        name: "certificate_not_pem",
        applies_to: For::Both,
        config_extra: "",
        extra: "  tls {\n    certificate = \"not a certificate\"\n    private_key = file(\"good.key\")\n  }\n",
        replace: &[],
        summary: "Invalid TLS Certificate",
        source: "certificate",
        detail: "PEM",
    },
    BadInput {
        name: "key_of_another_certificate",
        applies_to: For::Both,
        config_extra: "",
        extra: "  tls {\n    certificate = file(\"good.crt\")\n    private_key = file(\"wrong.key\")\n  }\n",
        replace: &[],
        summary: "Invalid TLS Private Key",
        source: "private_key",
        detail: "does not belong",
    },
    BadInput {
        name: "managed_clair_with_global_clair",
        applies_to: For::Both,
        config_extra: GLOBAL_CLAIR,
        extra: "",
        replace: &[(
            "clair {\n    database_uri",
            "clair {\n    enabled = true\n    database_uri",
        )],
        summary: "Clair Configured Twice",
        source: "enabled",
        detail: "clair { enabled = false }",
    },
    BadInput {
        name: "clair_without_database",
        applies_to: For::Both,
        config_extra: "",
        extra: "",
        replace: &[(
            "  clair {\n    database_uri = \"postgresql://clair:clair-password@db.example.com:5432/clair\"\n  }\n",
            "",
        )],
        summary: "Missing Clair Database",
        source: BLOCK,
        detail: "database_uri",
    },
    BadInput {
        name: "clair_enabled_without_database",
        applies_to: For::Both,
        config_extra: "",
        extra: "",
        replace: &[(
            "    database_uri = \"postgresql://clair:clair-password@db.example.com:5432/clair\"\n",
            "    enabled = true\n",
        )],
        summary: "Missing Clair Database",
        source: "clair {",
        detail: "database_uri",
    },
    BadInput {
        name: "clair_database_not_postgres",
        applies_to: For::Both,
        config_extra: "",
        extra: "",
        replace: &[(
            "\"postgresql://clair:clair-password",
            "\"mysql://clair:clair-password",
        )],
        summary: "Invalid Clair Database URI",
        source: "database_uri",
        detail: "mysql",
    },
    BadInput {
        name: "env_sets_storage_preference",
        applies_to: For::Both,
        config_extra: "",
        extra: "  env = {\n    QUAY_DISTRIBUTED_STORAGE_PREFERENCE = \"eu_west\"\n  }\n",
        replace: &[],
        summary: "Managed Environment Variable",
        source: "QUAY_DISTRIBUTED_STORAGE_PREFERENCE = ",
        detail: "location",
    },
    BadInput {
        name: "env_name_with_a_space",
        applies_to: For::Both,
        config_extra: "",
        extra: "  env = {\n    \"LOG LEVEL\" = \"debug\"\n  }\n",
        replace: &[],
        summary: "Invalid Environment Variable Name",
        source: "\"LOG LEVEL\"",
        detail: "LOG LEVEL",
    },
    BadInput {
        name: "namespace_not_a_dns_label",
        applies_to: For::Both,
        config_extra: "",
        extra: "",
        replace: &[("\"quay-enterprise\"", "\"Quay_Enterprise\"")],
        summary: "Invalid Namespace",
        source: "namespace",
        detail: "Quay_Enterprise",
    },
    BadInput {
        name: "name_not_a_dns_label",
        applies_to: For::Both,
        config_extra: "",
        extra: "  name = \"registry.one\"\n",
        replace: &[],
        summary: "Invalid Registry Name",
        source: "name = \"registry.one\"",
        detail: "registry.one",
    },
    BadInput {
        name: "unmanaged_route_without_tls",
        applies_to: For::Both,
        config_extra: "",
        extra: "  route {\n    managed = false\n  }\n",
        replace: &[],
        summary: "Unmanaged Route Needs TLS",
        source: "managed",
        detail: "tls block",
    },
    BadInput {
        name: "config_without_replication",
        applies_to: For::Both,
        config_extra: "",
        extra: "",
        replace: &[(
            "config_yaml = data.quay_georep_config.shared.config_yaml\n  location    = \"us_east\"",
            "config_yaml = replace(data.quay_georep_config.shared.config_yaml, \"FEATURE_STORAGE_REPLICATION: true\", \"FEATURE_STORAGE_REPLICATION: false\")\n  location    = \"us_east\"",
        )],
        summary: "Replication Not Enabled",
        source: "config_yaml",
        detail: "FEATURE_STORAGE_REPLICATION",
    },
    BadInput {
        name: "external_mode_without_name",
        applies_to: For::Manifests,
        config_extra: "",
        extra: "  secret_mode = \"external\"\n",
        replace: &[],
        summary: "Missing External Secret Name",
        source: "secret_mode",
        detail: "external_secret_name",
    },
    BadInput {
        name: "create_timeout_not_a_duration",
        applies_to: For::Resource,
        config_extra: "",
        extra: "  timeouts {\n    create = \"soon\"\n  }\n",
        replace: &[],
        summary: "Invalid Timeout",
        source: "create",
        detail: "\"soon\"",
    },
    BadInput {
        name: "delete_timeout_zero",
        applies_to: For::Resource,
        config_extra: "",
        extra: "  timeouts {\n    delete = \"0s\"\n  }\n",
        replace: &[],
        summary: "Invalid Timeout",
        source: "delete",
        detail: "zero",
    },
];

/// The rows that apply to `kind` (never [`For::Both`]).
pub fn bad_inputs_for(kind: For) -> impl Iterator<Item = &'static BadInput> {
    BAD_INPUTS
        .iter()
        .filter(move |bad| bad.applies_to == For::Both || bad.applies_to == kind)
}
