# Sites whose buckets live in different clouds: every storage driver the provider renders, one
# location each. A site prefers its own location; every site reaches every location, so each
# block carries credentials that work from every cluster.
terraform {
  required_version = ">= 1.0.3"
  required_providers {
    quay = { source = "quay-georep/quay", version = "~> 0.1.0" }
  }
}

provider "quay" {
  cluster "on_prem" { kubeconfig_path = var.kubeconfig_paths["on_prem"] }
  cluster "us_aws" { kubeconfig_path = var.kubeconfig_paths["us_aws"] }
  cluster "eu_azure" { kubeconfig_path = var.kubeconfig_paths["eu_azure"] }
}

data "quay_georep_config" "shared" {
  server_hostname     = "quay.global.example.com"
  secret_key          = var.secret_key
  database_secret_key = var.database_secret_key

  database {
    uri = var.database_uri
  }

  redis {
    host     = "redis.global.example.com"
    password = var.redis_password
    tls      = true
  }

  # MinIO, Garage, Ceph RGW, ODF: any S3-compatible server.
  storage "on_prem" {
    driver     = "radosgw"
    hostname   = "s3.on-prem.example.com"
    bucket     = "quay-on-prem"
    access_key = var.keys["on_prem"].access_key
    secret_key = var.keys["on_prem"].secret_key
  }

  # Amazon S3 with downloads from outside AWS served by CloudFront. The signing key reaches
  # each site's bundle through config_files (below).
  storage "us_aws" {
    driver                         = "cloudfront_s3"
    bucket                         = "quay-us-aws"
    region                         = "us-east-1"
    access_key                     = var.keys["us_aws"].access_key
    secret_key                     = var.keys["us_aws"].secret_key
    cloudfront_distribution_domain = "d111111abcdef8.cloudfront.net"
    cloudfront_key_id              = "K2JCJMDEHXQW5F"
    cloudfront_private_key         = var.cloudfront_private_key
  }

  # Amazon S3 through an assumed IAM role, with the keys of a user allowed to assume it: the
  # sites outside AWS have no web identity of their own (without keys, only pods with one can
  # assume the role, and the others fail their start-up check).
  storage "us_aws_archive" {
    driver       = "sts_s3"
    bucket       = "quay-us-aws-archive"
    region       = "us-west-2"
    sts_role_arn = "arn:aws:iam::123456789012:role/quay-storage"
    access_key   = var.keys["us_aws_archive"].access_key
    secret_key   = var.keys["us_aws_archive"].secret_key
  }

  # Azure Blob Storage: bucket is the container.
  storage "eu_azure" {
    driver             = "azure"
    bucket             = "quay-eu-azure"
    azure_account_name = "quayeuazure"
    azure_account_key  = var.azure_account_key
  }

  # Google Cloud Storage with an HMAC key pair (Cloud Storage's interoperability keys).
  storage "eu_gcs" {
    driver     = "gcs"
    bucket     = "quay_eu_gcs"
    access_key = var.keys["eu_gcs"].access_key
    secret_key = var.keys["eu_gcs"].secret_key
  }

  # Blobs are written to these first; the replication worker copies them to the others.
  default_locations = ["on_prem", "us_aws", "eu_azure"]
}

resource "quay_georep_site" "site" {
  for_each = var.kubeconfig_paths

  cluster      = each.key
  namespace    = "quay-enterprise"
  location     = each.key
  config_yaml  = data.quay_georep_config.shared.config_yaml
  config_files = data.quay_georep_config.shared.config_files
}
