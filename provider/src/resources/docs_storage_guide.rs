//! `docs/guides/storage-drivers.md`: the storage drivers guide. Its table comes from the
//! driver table validation uses ([`DRIVERS`]) and its example is `examples/storage-drivers`,
//! which the examples test validates, so neither can drift from the code.

use std::fmt::Write as _;

use georep_harness::sim::operator::deployment_controller::UNCHECKED_REASON;

use crate::georep::config::storage_driver::{CLOUDFRONT_KEY_PREFIX, DRIVERS};

/// What to know about each driver beyond its attributes, by driver name.
const NOTES: &[(&str, &str)] = &[
    (
        "radosgw",
        "Any S3-compatible server: MinIO, Garage, Ceph RGW, OpenShift Data Foundation. \
         `is_secure = false` is a warning: the access key id, the request signatures and every blob would travel in clear text.",
    ),
    (
        "s3",
        "Amazon S3: `region` sends requests to `s3.<region>.amazonaws.com`; or an S3 endpoint of \
         your own over HTTPS: `hostname` (and `port`). Not both: Quay's `S3Storage` ignores the \
         host when a region is set, so the plan refuses the pair. Without `access_key` and \
         `secret_key` Quay uses the default AWS credential chain of its pods (a web identity \
         token such as EKS Pod Identity or IRSA gives them, or the node's instance role); the \
         provider does not set that up, and the pods of every site must get credentials for \
         this bucket that way.",
    ),
    (
        "sts_s3",
        "Quay assumes `sts_role_arn` through AWS STS and refreshes the credentials itself. With \
         `access_key` and `secret_key` (an IAM user allowed to assume the role) it works from any \
         cluster; without them the pods' web identity token assumes the role, so every site's \
         pods need one (a site outside AWS has none, and its pods fail the start-up check).",
    ),
    (
        "cloudfront_s3",
        "Amazon S3, with downloads from outside AWS redirected to CloudFront through signed URLs. \
         The private key of the CloudFront key pair (RSA, unencrypted PEM) is not written into \
         `config.yaml`: `config_files` carries it as `cloudfront_<location>.pem` and \
         `cloudfront_privatekey_filename` names that file, so every site must set \
         `config_files = data.quay_georep_config.<name>.config_files` (a site without it is \
         refused at plan: Quay would not start).",
    ),
    (
        "azure",
        "`bucket` is the container. Quay's `AzureStorage` authenticates with the account key \
         only (its client takes the key, and download URLs are signed with it); a SAS token \
         alone would not work, so the provider does not offer one. `endpoint_url` is for clouds \
         other than Azure's public one, or Azurite.",
    ),
    (
        "gcs",
        "Cloud Storage's XML API with an HMAC key pair (Settings, Interoperability); the endpoint \
         is `https://storage.googleapis.com`. Bucket names follow Google's rules (underscores \
         allowed, dots refused here: they need domain verification).",
    ),
];

/// The guide's text, with `example` (the storage-drivers example's `main.tf`).
pub(super) fn render(example: &str) -> String {
    let mut page = String::from(
        "---\npage_title: \"Storage drivers\"\nsubcategory: \"Guides\"\ndescription: |-\n  \
         Each object storage service a location can live on, what each storage block needs, and \
         what the local backend checks.\n---\n\n<!-- Generated from the provider's driver table \
         and examples/storage-drivers by `cargo test -p terraform-provider-quay docs` with \
         UPDATE_GOLDEN=1; do not edit. -->\n\n# Storage drivers\n\nEach `storage \"<location>\"` \
         block of `data \"quay_georep_config\"` is one location: one bucket, on the service its \
         `driver` names. Locations of one configuration may use different drivers: every site \
         reads and writes every location, so each block needs credentials that work from every \
         cluster. A plan refuses a block that lacks what its driver needs, or that sets an \
         attribute its driver would ignore, at that attribute.\n\n\
         | `driver` | Quay's driver | Requires (besides `bucket`) | Also takes (besides `storage_path`) |\n\
         | --- | --- | --- | --- |\n",
    );
    let list = |attributes: &[&str]| {
        if attributes.is_empty() {
            "-".to_owned()
        } else {
            attributes
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    for driver in DRIVERS {
        let _ = writeln!(
            page,
            "| `{}` | `{}` | {} | {} |",
            driver.name,
            driver.quay_name,
            list(driver.required),
            list(driver.optional)
        );
    }
    page.push('\n');
    for driver in DRIVERS {
        let note = NOTES
            .iter()
            .find(|(name, _)| *name == driver.name)
            .map_or("", |(_, note)| note);
        let _ = write!(
            page,
            "## `{}` (`{}`)\n\n{note}\n\n",
            driver.name, driver.quay_name
        );
    }
    let _ = write!(
        page,
        "## What the local backend checks\n\nThe simulated clusters run each Quay pod's start-up \
         checks as Quay's config-tool does: every driver's required fields, an unknown driver, \
         `LocalStorage` with replication, a base64 Azure account key and the CloudFront key file \
         (`{CLOUDFRONT_KEY_PREFIX}<location>.pem`) in the bundle. They reach S3-compatible servers \
         for real (`HeadBucket` with the location's keys). Amazon S3, STS, CloudFront, Azure and \
         Google Cloud Storage are out of their reach: the pod starts, and an event with reason \
         `{UNCHECKED_REASON}` on it names each location accepted without being reached, and \
         why.\n\n## Example\n\n`examples/storage-drivers`:\n\n```terraform\n{}\n```\n",
        example.trim_end()
    );
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_driver_has_a_row_and_a_note() {
        let page = render("");
        for driver in DRIVERS {
            assert!(
                page.contains(&format!("| `{}` |", driver.name)),
                "{}",
                driver.name
            );
            assert!(
                NOTES.iter().any(|(name, _)| *name == driver.name),
                "no note for {}",
                driver.name
            );
        }
    }
}
