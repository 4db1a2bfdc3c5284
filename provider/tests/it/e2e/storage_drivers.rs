//! Quay's other storage drivers through the real Terraform CLI on the local backend: one site
//! on a simulated cluster with the operator, whose own location is the real S3 server and whose
//! shared config also names an Azure container, a Google Cloud Storage bucket, a CloudFront-
//! fronted S3 bucket, S3 through an assumed role and S3 with the pods' web identity. The site
//! becomes ready; `config.yaml` carries each driver as Quay reads it; the CloudFront signing key
//! is a bundle file; and the simulator says, in an event on the Quay pod, which locations it
//! accepted without reaching them.

use georep_harness::sim::Flavour;
use georep_harness::sim::operator::deployment_controller::UNCHECKED_REASON;
use georep_harness::terraform::TerraformBinary;
use k8s_openapi::api::core::v1::{Event, Secret};
use kube::Api;
use kube::api::ListParams;

use super::for_each_terraform;
use super::local_backend::{LocalRun, shared_config_tf};

const NAMESPACE: &str = "quay-enterprise";

/// The locations beside `us_east`, each with another driver, as storage blocks.
const OTHER_DRIVERS: &str = r#"
  storage "eu_azure" {
    driver             = "azure"
    bucket             = "quay-eu"
    azure_account_name = "quayeu"
    azure_account_key  = "c2VjcmV0LWF6dXJlLWtleQ=="
  }
  storage "eu_gcs" {
    driver     = "gcs"
    bucket     = "quay_eu_gcs"
    access_key = "GOOG1EXAMPLEHMAC"
    secret_key = "gcs-hmac-secret"
  }
  storage "us_cdn" {
    driver                         = "cloudfront_s3"
    bucket                         = "quay-us-cdn"
    region                         = "us-east-1"
    access_key                     = "AKIACDNEXAMPLE"
    secret_key                     = "cdn-secret"
    cloudfront_distribution_domain = "d111111abcdef8.cloudfront.net"
    cloudfront_key_id              = "K2JCJMDEHXQW5F"
    cloudfront_private_key         = file("cloudfront.pem")
  }
  storage "us_sts" {
    driver       = "sts_s3"
    bucket       = "quay-us-sts"
    region       = "us-west-2"
    sts_role_arn = "arn:aws:iam::123456789012:role/quay-storage"
  }
  storage "us_irsa" {
    driver = "s3"
    bucket = "quay-us-irsa"
    region = "us-west-2"
  }
"#;

fn main_tf() -> String {
    format!(
        r#"{}
resource "quay_georep_site" "us_east" {{
  cluster      = "us_east"
  namespace    = "{NAMESPACE}"
  config_yaml  = data.quay_georep_config.shared.config_yaml
  config_files = data.quay_georep_config.shared.config_files
  location     = "us_east"
  clair {{
    enabled = false
  }}
}}
"#,
        shared_config_tf(
            &["us_east"],
            &format!("\n  default_locations = [\"us_east\"]\n{OTHER_DRIVERS}")
        )
    )
}

#[test]
fn a_site_starts_with_every_driver_and_the_simulator_names_what_it_could_not_reach() {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)
        .unwrap()
        .serialize_pem();
    for_each_terraform(|tf: &TerraformBinary| {
        let local = LocalRun::start(&["us-east"], Flavour::Openshift);
        let (runtime, env) = (&local.runtime, &local.env);
        let dir = local.workdir(tf, "storage_drivers");
        dir.write_file("cloudfront.pem", &key).unwrap();
        dir.write_main_tf(&main_tf()).unwrap();

        let applied = dir.apply().unwrap();
        assert!(applied.succeeded(), "{:#?}", applied.events);

        let bundle_name = dir
            .show_json()
            .unwrap()
            .resource_values("quay_georep_site.us_east")
            .and_then(|v| v["bundle_secret_name"].as_str().map(str::to_owned))
            .expect("a bundle name in state");
        let (bundle, events) = runtime.block_on(async {
            let client = env.sites()[0].cluster.client().await.unwrap();
            let bundle = Api::<Secret>::namespaced(client.clone(), NAMESPACE)
                .get(&bundle_name)
                .await
                .unwrap();
            let events = Api::<Event>::namespaced(client, NAMESPACE)
                .list(&ListParams::default())
                .await
                .unwrap();
            (bundle, events.items)
        });
        let data = bundle.data.unwrap_or_default();
        let file = |k: &str| {
            String::from_utf8(data.get(k).unwrap_or_else(|| panic!("no {k}")).0.clone()).unwrap()
        };
        assert_eq!(file("cloudfront_us_cdn.pem"), key);
        let config: serde_json::Value = serde_saphyr::from_str(&file("config.yaml")).unwrap();
        let storage = &config["DISTRIBUTED_STORAGE_CONFIG"];
        for (location, driver) in [
            ("us_east", "RadosGWStorage"),
            ("eu_azure", "AzureStorage"),
            ("eu_gcs", "GoogleCloudStorage"),
            ("us_cdn", "CloudFrontedS3Storage"),
            ("us_sts", "STSS3Storage"),
            ("us_irsa", "S3Storage"),
        ] {
            assert_eq!(storage[location][0], driver, "{location}: {storage:#}");
        }
        assert_eq!(
            storage["us_cdn"][1]["cloudfront_privatekey_filename"],
            "cloudfront_us_cdn.pem"
        );
        assert!(storage["us_irsa"][1].get("s3_access_key").is_none());

        let unchecked: Vec<&str> = events
            .iter()
            .filter(|e| e.reason.as_deref() == Some(UNCHECKED_REASON))
            .filter_map(|e| e.message.as_deref())
            .collect();
        assert!(!unchecked.is_empty(), "no {UNCHECKED_REASON} event");
        for message in &unchecked {
            for location in ["eu_azure", "eu_gcs", "us_cdn", "us_sts", "us_irsa"] {
                assert!(
                    message.contains(&format!("storage location {location}:")),
                    "{location} in {message}"
                );
            }
            assert!(!message.contains("us_east"), "{message}");
            assert!(!message.contains("c2VjcmV0"), "{message}");
        }
        local.stop();
    });
}
