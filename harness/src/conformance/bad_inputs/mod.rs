//! The one catalogue of bad inputs: every way to get a site or the shared config wrong that
//! the provider must refuse at plan, with the diagnostic it must give (summary, the source
//! text it points at, text of its detail).
//!
//! The conformance suite runs each row as `BADINPUT-<name>` against a target's clusters (the
//! plan fails at the attribute and no cluster sees a write); the provider's own tests read
//! the same rows for what needs no cluster (the manifests data source rejects them too).
//! A row breaks one thing in a configuration built by [`header`] and [`site_body`]: lines
//! added to the shared config's body, lines added to the `us_east` site's body, and text
//! replacements applied once each.

use crate::terraform::Workdir;

/// The sites' storage locations, which are also the provider's cluster keys.
pub const LOCATIONS: [&str; 3] = ["us_east", "eu_west", "ap_south"];
/// The shared Clair database every site's body names.
pub const CLAIR_DB: &str = "postgresql://clair:clair-password@db.example.com:5432/clair";
/// The global hostname of the catalogue's shared config (what the TLS rows' certificates
/// cover or do not).
pub const SERVER_HOSTNAME: &str = "quay.global.example.com";
/// The namespace [`site_body`] puts a site in.
pub const NAMESPACE: &str = "quay-enterprise";

/// The provider with one cluster per location (`cluster(location)` gives the lines inside
/// each `cluster` block: `kubeconfig_path`, maybe `context`), and the shared config
/// (`config_extra` inserted in its body).
#[must_use]
pub fn header(config_extra: &str, cluster: &dyn Fn(&str) -> String) -> String {
    let clusters: String = LOCATIONS
        .iter()
        .map(|l| format!("  cluster \"{l}\" {{\n{}  }}\n", cluster(l)))
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
  server_hostname     = "{SERVER_HOSTNAME}"
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

/// A `cluster` block body reading `kubeconfig_path = path`, for [`header`].
#[must_use]
pub fn kubeconfig_path(path: &str) -> String {
    format!("    kubeconfig_path = \"{path}\"\n")
}

/// The arguments of the site at `location` in [`NAMESPACE`] (`extra` lines appended), the
/// same for the resource and the data source.
#[must_use]
pub fn site_body(location: &str, extra: &str) -> String {
    site_body_in(location, NAMESPACE, extra)
}

/// [`site_body`] in `namespace`.
#[must_use]
pub fn site_body_in(location: &str, namespace: &str, extra: &str) -> String {
    format!(
        r#"  cluster     = "{location}"
  namespace   = "{namespace}"
  config_yaml = data.quay_georep_config.shared.config_yaml
  location    = "{location}"
  clair {{
    database_uri = "{CLAIR_DB}"
  }}
{extra}"#
    )
}

/// `hcl` with each `(from, to)` applied once.
///
/// # Errors
/// The `from` that does not occur: the row does not fit the configuration (a bug of the
/// catalogue, not of the provider).
pub fn replace_once(mut hcl: String, replace: &[(&str, &str)]) -> Result<String, String> {
    for (from, to) in replace {
        if !hcl.contains(from) {
            return Err(format!(
                "catalogue bug: {from:?} is not in the configuration"
            ));
        }
        hcl = hcl.replacen(from, to, 1);
    }
    Ok(hcl)
}

/// Writes the certificates the TLS rows read with `file()`: `other.*` for another host,
/// `good.*` for [`SERVER_HOSTNAME`], `expired.*` and `future.*` for it outside their
/// validity, and `wrong.key` belonging to neither.
///
/// # Errors
/// A certificate could not be generated or written.
pub fn write_certificates(dir: &Workdir) -> Result<(), String> {
    for (name, host) in [("other", "other.example.com"), ("good", SERVER_HOSTNAME)] {
        let pair = rcgen::generate_simple_self_signed(vec![host.to_owned()])
            .map_err(|e| format!("generate a certificate for {host}: {e}"))?;
        dir.write_file(format!("{name}.crt"), &pair.cert.pem())
            .map_err(|e| e.to_string())?;
        dir.write_file(format!("{name}.key"), &pair.signing_key.serialize_pem())
            .map_err(|e| e.to_string())?;
    }
    // Certificates for the right host outside their validity: expired and not valid yet.
    for (name, not_before, not_after) in [
        ("expired", (2020, 1, 1), (2021, 1, 1)),
        ("future", (2090, 1, 1), (2091, 1, 1)),
    ] {
        let mut params = rcgen::CertificateParams::new(vec![SERVER_HOSTNAME.to_owned()])
            .map_err(|e| format!("certificate parameters for {name}: {e}"))?;
        params.not_before = rcgen::date_time_ymd(not_before.0, not_before.1, not_before.2);
        params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
        let key = rcgen::KeyPair::generate().map_err(|e| format!("generate a key: {e}"))?;
        let cert = params
            .self_signed(&key)
            .map_err(|e| format!("sign the {name} certificate: {e}"))?;
        dir.write_file(format!("{name}.crt"), &cert.pem())
            .map_err(|e| e.to_string())?;
        dir.write_file(format!("{name}.key"), &key.serialize_pem())
            .map_err(|e| e.to_string())?;
    }
    let wrong = rcgen::KeyPair::generate().map_err(|e| format!("generate a key: {e}"))?;
    dir.write_file("wrong.key", &wrong.serialize_pem())
        .map_err(|e| e.to_string())?;
    Ok(())
}

mod row;
mod table;
mod table_site;

pub use row::{BLOCK, BadInput, For};

/// Every bad input: the config rows, then the site rows.
pub fn bad_inputs() -> impl Iterator<Item = &'static BadInput> {
    table::CONFIG_ROWS.iter().chain(table_site::SITE_ROWS)
}

/// The site rows that apply to the site type `kind` ([`For::Resource`] or
/// [`For::Manifests`]): its own and [`For::Both`].
pub fn bad_inputs_for(kind: For) -> impl Iterator<Item = &'static BadInput> {
    bad_inputs().filter(move |bad| bad.applies_to == For::Both || bad.applies_to == kind)
}

/// The block a site is written as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SiteBlock {
    /// `resource "quay_georep_site"`.
    Resource,
    /// `data "quay_georep_site_manifests"`.
    Manifests,
}

impl SiteBlock {
    /// The block a row is run with in the suite: the resource, unless only the data source
    /// has the attribute.
    #[must_use]
    pub fn for_row(bad: &BadInput) -> Self {
        if bad.applies_to == For::Manifests {
            Self::Manifests
        } else {
            Self::Resource
        }
    }

    /// The Terraform type name.
    #[must_use]
    pub fn type_name(self) -> &'static str {
        match self {
            Self::Resource => "quay_georep_site",
            Self::Manifests => "quay_georep_site_manifests",
        }
    }

    fn keyword(self) -> &'static str {
        match self {
            Self::Resource => "resource",
            Self::Manifests => "data",
        }
    }
}

/// The configuration of `bad` with one `us_east` site written as `block` in `namespace`,
/// and the provider's clusters from `cluster` (as [`header`] takes it).
///
/// # Errors
/// As [`replace_once`].
pub fn configuration(
    bad: &BadInput,
    block: SiteBlock,
    namespace: &str,
    cluster: &dyn Fn(&str) -> String,
) -> Result<String, String> {
    let mut hcl = header(bad.config_extra, cluster);
    hcl.push_str(&format!(
        "\n{} \"{}\" \"us_east\" {{\n{}}}\n",
        block.keyword(),
        block.type_name(),
        site_body_in("us_east", namespace, bad.extra)
    ));
    replace_once(hcl, bad.replace)
}

/// Where the generated page of the catalogue lives, from the workspace root.
pub const DOCS_PAGE: &str = "docs/guides/bad-inputs.md";

/// The catalogue as the Markdown page [`DOCS_PAGE`]: generated, so it cannot drift from the
/// rows the tests and the conformance suite run.
#[must_use]
pub fn markdown() -> String {
    use std::fmt::Write as _;
    let mut page = String::from(
        "---\npage_title: \"Bad inputs refused at plan\"\nsubcategory: \"Guides\"\ndescription: |-\n  \
         Every configuration the provider refuses before writing to any cluster.\n---\n\n\
         <!-- Generated from harness/src/conformance/bad_inputs/table.rs and table_site.rs; do not edit. \
         Regenerate with: UPDATE_GOLDEN=1 cargo test -p georep-harness --lib bad_inputs -->\n\n\
         # Bad inputs refused at plan\n\n\
         Every row is a configuration wrong in one way. `terraform plan` refuses it with the \
         error named here, pointing at the attribute, before any cluster is written to. The \
         provider's tests run every row, and the conformance suite runs each as \
         `BADINPUT-<name>` (`georep-harness conformance --scenario 'BADINPUT-*'`).\n\n\
         Where a check runs: almost every row here is decided from one block's own values \
         (validation of the data source or resource at plan, with no cluster read). The two \
         that span sites (`location_used_by_two_sites`, `two_sites_in_one_namespace`) are \
         decided at each site's plan against the sites the same provider process planned \
         before it: Terraform plans every site of a configuration in one process, so the \
         second of two conflicting sites is refused, naming the first. Sites of another \
         configuration (another state) on the same clusters are not seen by these checks.\n\n\
         | Scenario | Block | Attribute | Error | The detail names |\n\
         | --- | --- | --- | --- | --- |\n",
    );
    for bad in bad_inputs() {
        let block = match bad.applies_to {
            For::Config => "`data \"quay_georep_config\"`",
            For::Both => "`resource \"quay_georep_site\"`, `data \"quay_georep_site_manifests\"`",
            For::Resource => "`resource \"quay_georep_site\"`",
            For::Manifests => "`data \"quay_georep_site_manifests\"`",
        };
        let cell = |text: &str| text.replace('|', "\\|").replace('\n', " ");
        let _ = writeln!(
            page,
            "| `BADINPUT-{}` | {block} | `{}` | {} | `{}` |",
            bad.name,
            cell(bad.source.replace(BLOCK, "block").trim()),
            cell(bad.summary),
            cell(bad.detail),
        );
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_docs_page_is_generated_from_the_catalogue() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(DOCS_PAGE);
        let page = markdown();
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &page).unwrap();
        }
        let written = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            written == page,
            "{DOCS_PAGE} is not the catalogue's page: regenerate it with UPDATE_GOLDEN=1 cargo \
             test -p georep-harness --lib bad_inputs"
        );
    }

    #[test]
    fn names_are_unique_and_fit_a_scenario_id() {
        let mut names: Vec<&str> = bad_inputs().map(|b| b.name).collect();
        assert!(names.iter().all(|n| {
            n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        }));
        names.sort_unstable();
        let count = names.len();
        names.dedup();
        assert_eq!(names.len(), count, "a name is used twice");
    }

    #[test]
    fn every_row_fits_the_configuration_it_breaks() {
        for bad in bad_inputs() {
            let hcl = configuration(bad, SiteBlock::for_row(bad), "cf-ns", &|l| {
                kubeconfig_path(l)
            })
            .unwrap();
            assert!(hcl.contains("\"us_east\" {"), "{}", bad.name);
        }
    }
}
