//! The storage drivers: what each renders in `DISTRIBUTED_STORAGE_CONFIG` (Quay's argument
//! names, `storage/cloud.py` and `storage/azurestorage.py`), what each requires and refuses,
//! and the CloudFront signing key travelling as a bundle file.

use serde_json::{Value, json};

use super::tests::{error_at, errors, issue_at, rendered, rendered_value, three_sites_json};
use super::*;
use crate::georep::issue::Severity;

/// The three-site config with `eu_west` replaced by `block`.
fn eu_west(block: Value) -> ConfigInput {
    let mut value = three_sites_json();
    value["storage"]["eu_west"] = block;
    serde_json::from_value(value).unwrap()
}

fn rsa_pem() -> String {
    rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)
        .unwrap()
        .serialize_pem()
}

fn cloudfront(private_key: &str) -> Value {
    json!({
        "driver": "cloudfront_s3", "bucket": "quay-eu-west", "region": "eu-west-1",
        "access_key": "AKIAEU", "secret_key": "SK-EU",
        "cloudfront_distribution_domain": "d111111abcdef8.cloudfront.net",
        "cloudfront_key_id": "K2JCJMDEHXQW5F", "cloudfront_private_key": private_key,
    })
}

#[test]
fn each_driver_renders_quays_argument_names() {
    let cases = [
        (
            json!({"driver": "azure", "bucket": "quay-eu-west", "azure_account_name": "quayeu",
                   "azure_account_key": "c2VjcmV0LWtleQ=="}),
            json!(["AzureStorage", {"azure_container": "quay-eu-west",
                "azure_account_name": "quayeu", "azure_account_key": "c2VjcmV0LWtleQ==",
                "storage_path": "/datastorage/registry"}]),
        ),
        (
            json!({"driver": "azure", "bucket": "quay-eu-west", "azure_account_name": "quayeu",
                   "azure_account_key": "c2VjcmV0LWtleQ==",
                   "endpoint_url": "https://quayeu.blob.core.usgovcloudapi.net"}),
            json!(["AzureStorage", {"azure_container": "quay-eu-west",
                "azure_account_name": "quayeu", "azure_account_key": "c2VjcmV0LWtleQ==",
                "endpoint_url": "https://quayeu.blob.core.usgovcloudapi.net",
                "storage_path": "/datastorage/registry"}]),
        ),
        (
            json!({"driver": "gcs", "bucket": "quay_eu-west", "access_key": "GOOGHMAC",
                   "secret_key": "HMACSECRET", "storage_path": "/quay"}),
            json!(["GoogleCloudStorage", {"bucket_name": "quay_eu-west",
                "access_key": "GOOGHMAC", "secret_key": "HMACSECRET", "storage_path": "/quay"}]),
        ),
        (
            json!({"driver": "sts_s3", "bucket": "quay-eu-west", "region": "eu-west-1",
                   "sts_role_arn": "arn:aws:iam::123456789012:role/quay-storage"}),
            json!(["STSS3Storage", {"s3_bucket": "quay-eu-west", "s3_region": "eu-west-1",
                "sts_role_arn": "arn:aws:iam::123456789012:role/quay-storage",
                "storage_path": "/datastorage/registry"}]),
        ),
        (
            json!({"driver": "sts_s3", "bucket": "quay-eu-west",
                   "sts_role_arn": "arn:aws-us-gov:iam::123456789012:role/path/quay",
                   "access_key": "AKIASTSUSER", "secret_key": "STSUSERSECRET"}),
            json!(["STSS3Storage", {"s3_bucket": "quay-eu-west",
                "sts_role_arn": "arn:aws-us-gov:iam::123456789012:role/path/quay",
                "sts_user_access_key": "AKIASTSUSER", "sts_user_secret_key": "STSUSERSECRET",
                "storage_path": "/datastorage/registry"}]),
        ),
        (
            json!({"driver": "s3", "bucket": "quay-eu-west", "region": "eu-west-1"}),
            json!(["S3Storage", {"s3_bucket": "quay-eu-west", "s3_region": "eu-west-1",
                "storage_path": "/datastorage/registry"}]),
        ),
        (
            json!({"driver": "s3", "bucket": "quay-eu-west", "hostname": "s3.corp.example.com",
                   "port": 8443, "access_key": "AK", "secret_key": "SK"}),
            json!(["S3Storage", {"s3_bucket": "quay-eu-west", "host": "s3.corp.example.com",
                "port": 8443, "s3_access_key": "AK", "s3_secret_key": "SK",
                "storage_path": "/datastorage/registry"}]),
        ),
    ];
    for (block, expected) in cases {
        let v = rendered_value(&eu_west(block.clone()));
        assert_eq!(
            v["DISTRIBUTED_STORAGE_CONFIG"]["eu_west"], expected,
            "{block}"
        );
    }
}

#[test]
fn a_cloudfront_location_names_its_key_file_and_brings_the_key_in_config_files() {
    let key = rsa_pem();
    let out = rendered(&eu_west(cloudfront(&key)));
    let v: Value = serde_saphyr::from_str(&out.config_yaml).unwrap();
    assert_eq!(
        v["DISTRIBUTED_STORAGE_CONFIG"]["eu_west"],
        json!(["CloudFrontedS3Storage", {"s3_bucket": "quay-eu-west", "s3_region": "eu-west-1",
            "s3_access_key": "AKIAEU", "s3_secret_key": "SK-EU",
            "cloudfront_distribution_domain": "d111111abcdef8.cloudfront.net",
            "cloudfront_key_id": "K2JCJMDEHXQW5F",
            "cloudfront_privatekey_filename": "cloudfront_eu_west.pem",
            "storage_path": "/datastorage/registry"}])
    );
    assert_eq!(
        out.config_files
            .get("cloudfront_eu_west.pem")
            .map(crate::georep::secret::Secret::expose),
        Some(key.as_str())
    );
    assert!(!out.config_yaml.contains("PRIVATE KEY"));
}

#[test]
fn a_cloudfront_key_that_quay_cannot_sign_with_is_refused_without_quoting_it() {
    let ecdsa = rcgen::KeyPair::generate().unwrap().serialize_pem();
    for (key, says) in [
        (ecdsa.as_str(), "not an RSA key"),
        (
            "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
            "is an EC key, not an RSA key",
        ),
        (
            "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n",
            "encrypted",
        ),
        ("not a key", "no PEM block"),
        (
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
            "encrypted",
        ),
        (
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "CERTIFICATE",
        ),
    ] {
        let issue = error_at(
            &eu_west(cloudfront(key)),
            r#"storage["eu_west"].cloudfront_private_key"#,
            "Invalid CloudFront Private Key",
        );
        assert!(issue.detail.contains(says), "{}", issue.detail);
        assert!(!issue.detail.contains("AAAA"), "{}", issue.detail);
    }
}

#[test]
fn each_driver_names_what_it_requires_at_the_attribute() {
    let cases = [
        (
            json!({"driver": "azure", "bucket": "quay-eu-west", "azure_account_key": "a2V5"}),
            "azure_account_name",
            "Missing Storage Azure Account Name",
        ),
        (
            json!({"driver": "azure", "bucket": "quay-eu-west", "azure_account_name": "quayeu"}),
            "azure_account_key",
            "Missing Storage Azure Account Key",
        ),
        (
            json!({"driver": "gcs", "bucket": "quay-eu-west", "access_key": "GOOG"}),
            "secret_key",
            "Missing Storage Secret Key",
        ),
        (
            json!({"driver": "sts_s3", "bucket": "quay-eu-west"}),
            "sts_role_arn",
            "Missing Storage Role ARN",
        ),
        (
            {
                let mut block = cloudfront(&rsa_pem());
                block["region"] = Value::Null;
                block
            },
            "region",
            "Missing Storage Region",
        ),
        (
            {
                let mut block = cloudfront(&rsa_pem());
                block["cloudfront_private_key"] = json!("");
                block
            },
            "cloudfront_private_key",
            "Missing Storage CloudFront Private Key",
        ),
    ];
    for (block, attribute, summary) in cases {
        let issue = error_at(
            &eu_west(block),
            &format!(r#"storage["eu_west"].{attribute}"#),
            summary,
        );
        assert!(issue.detail.contains("needs"), "{}", issue.detail);
    }
}

#[test]
fn an_attribute_the_driver_does_not_read_is_refused_naming_the_drivers_that_do() {
    let issue = error_at(
        &eu_west(
            json!({"driver": "gcs", "bucket": "quay-eu-west", "access_key": "G",
                         "secret_key": "S", "hostname": "storage.example.com"}),
        ),
        r#"storage["eu_west"].hostname"#,
        "Attribute Not Used By Storage Driver",
    );
    assert!(
        issue.detail.contains("GoogleCloudStorage")
            && issue.detail.contains("`radosgw` (required)")
            && issue.detail.contains("`s3`"),
        "{}",
        issue.detail
    );
    error_at(
        &eu_west(json!({"driver": "azure", "bucket": "quay-eu-west",
                         "azure_account_name": "quayeu", "azure_account_key": "a2V5",
                         "access_key": "AK"})),
        r#"storage["eu_west"].access_key"#,
        "Attribute Not Used By Storage Driver",
    );
}

#[test]
fn s3_keys_come_in_pairs_and_a_region_would_hide_a_custom_host() {
    let issue = error_at(
        &eu_west(json!({"driver": "s3", "bucket": "quay-eu-west", "access_key": "AK"})),
        r#"storage["eu_west"].secret_key"#,
        "Incomplete Storage Key Pair",
    );
    assert!(issue.detail.contains("web identity"), "{}", issue.detail);
    error_at(
        &eu_west(
            json!({"driver": "sts_s3", "bucket": "quay-eu-west", "secret_key": "SK",
                         "sts_role_arn": "arn:aws:iam::123456789012:role/quay"}),
        ),
        r#"storage["eu_west"].access_key"#,
        "Incomplete Storage Key Pair",
    );
    let issue = error_at(
        &eu_west(
            json!({"driver": "s3", "bucket": "quay-eu-west", "region": "eu-west-1",
                         "hostname": "s3.corp.example.com"}),
        ),
        r#"storage["eu_west"].region"#,
        "Region Overrides Storage Hostname",
    );
    assert!(
        issue.detail.contains("s3.eu-west-1.amazonaws.com"),
        "{}",
        issue.detail
    );
    error_at(
        &eu_west(json!({"driver": "s3", "bucket": "quay-eu-west", "port": 443})),
        r#"storage["eu_west"].port"#,
        "Port Without Storage Hostname",
    );
}

#[test]
fn driver_values_are_checked_as_their_services_check_them() {
    let azure = |name: &str, key: &str, url: Value| {
        eu_west(
            json!({"driver": "azure", "bucket": "quay-eu-west", "azure_account_name": name,
                       "azure_account_key": key, "endpoint_url": url}),
        )
    };
    error_at(
        &azure("Quay_EU", "a2V5", Value::Null),
        r#"storage["eu_west"].azure_account_name"#,
        "Invalid Azure Account Name",
    );
    let issue = error_at(
        &azure("quayeu", "not base64!", Value::Null),
        r#"storage["eu_west"].azure_account_key"#,
        "Invalid Azure Account Key",
    );
    assert!(!issue.detail.contains("not base64!"), "{}", issue.detail);
    error_at(
        &azure("quayeu", "a2V5", json!("quayeu.blob.core.windows.net")),
        r#"storage["eu_west"].endpoint_url"#,
        "Invalid Storage Endpoint URL",
    );
    for arn in [
        "quay-storage",
        "arn:aws:iam::1234:role/quay",
        "arn:aws:iam::123456789012:user/quay",
        "arn:aws:s3:::quay-eu-west",
    ] {
        error_at(
            &eu_west(json!({"driver": "sts_s3", "bucket": "quay-eu-west", "sts_role_arn": arn})),
            r#"storage["eu_west"].sts_role_arn"#,
            "Invalid Role ARN",
        );
    }
    let mut bad_domain = cloudfront(&rsa_pem());
    bad_domain["cloudfront_distribution_domain"] = json!("https://d1.cloudfront.net");
    error_at(
        &eu_west(bad_domain),
        r#"storage["eu_west"].cloudfront_distribution_domain"#,
        "Invalid CloudFront Domain",
    );
}

#[test]
fn bucket_names_follow_the_rules_of_the_drivers_service() {
    let gcs = |bucket: &str| {
        eu_west(json!({"driver": "gcs", "bucket": bucket, "access_key": "G", "secret_key": "S"}))
    };
    rendered(&gcs("quay_eu_west"));
    let issue = error_at(
        &gcs("google-quay"),
        r#"storage["eu_west"].bucket"#,
        "Invalid Bucket Name",
    );
    assert!(
        issue.detail.contains("Google Cloud Storage"),
        "{}",
        issue.detail
    );
    let issue = error_at(
        &eu_west(
            json!({"driver": "azure", "bucket": "quay--eu", "azure_account_name": "quayeu",
                         "azure_account_key": "a2V5"}),
        ),
        r#"storage["eu_west"].bucket"#,
        "Invalid Bucket Name",
    );
    assert!(issue.detail.contains("Azure container"), "{}", issue.detail);
}

#[test]
fn the_same_container_name_in_two_azure_accounts_is_two_buckets() {
    let azure = |account: &str| {
        json!({"driver": "azure", "bucket": "quay", "azure_account_name": account,
               "azure_account_key": "a2V5"})
    };
    let mut value = three_sites_json();
    value["storage"]["eu_west"] = azure("quayeu");
    value["storage"]["us_east"] = azure("quayus");
    rendered(&serde_json::from_value(value.clone()).unwrap());
    value["storage"]["us_east"] = azure("quayeu");
    let issues = errors(&serde_json::from_value(value).unwrap());
    issue_at(
        &issues,
        r#"storage["us_east"].bucket"#,
        Severity::Error,
        "Bucket Used By Two Locations",
    );
}

#[test]
fn a_plain_http_azure_endpoint_is_a_warning() {
    let mut value = three_sites_json();
    value["storage"]["eu_west"] = json!({"driver": "azure", "bucket": "quay-eu-west",
        "azure_account_name": "devstoreaccount1", "azure_account_key": "a2V5",
        "endpoint_url": "http://azurite.example.com:10000/devstoreaccount1"});
    let (_, warnings) = validate(&serde_json::from_value(value).unwrap()).unwrap();
    issue_at(
        &warnings,
        r#"storage["eu_west"].endpoint_url"#,
        Severity::Warning,
        "Plaintext Storage Endpoint",
    );
}

#[test]
fn an_endpoint_url_carrying_a_credential_is_refused_without_quoting_it() {
    for url in [
        "https://quayeu.blob.core.windows.net/?sv=2022-11-02&sig=SECRETSIGNATURE",
        "https://user:SECRETSIGNATURE@quayeu.blob.core.windows.net",
    ] {
        let issue = error_at(
            &eu_west(json!({"driver": "azure", "bucket": "quay-eu-west",
                             "azure_account_name": "quayeu", "azure_account_key": "a2V5",
                             "endpoint_url": url})),
            r#"storage["eu_west"].endpoint_url"#,
            "Invalid Storage Endpoint URL",
        );
        assert!(
            !issue.detail.contains("SECRETSIGNATURE"),
            "{}",
            issue.detail
        );
        assert!(
            issue.detail.contains("quayeu.blob.core.windows.net"),
            "{}",
            issue.detail
        );
    }
}
