# The GitOps variant of examples/three-sites: the provider renders each site's Namespace,
# config bundle Secret and QuayRegistry, and Argo CD or Flux applies them. Nothing here
# contacts a cluster: `terraform apply` only computes the documents.
terraform {
  required_version = ">= 1.0.3"
  required_providers {
    quay = { source = "quay-georep/quay", version = "~> 0.1.0" }
  }
}

# No cluster blocks: in GitOps mode the provider needs none.
provider "quay" {}

data "quay_georep_config" "shared" {
  server_hostname     = var.server_hostname
  secret_key          = var.secret_key
  database_secret_key = var.database_secret_key
  super_users         = ["quayadmin"]

  database {
    uri = var.database_uri
  }

  redis {
    host     = var.redis_host
    password = var.redis_password
  }

  # Block labels must be known at validate time, so one block per location, not dynamic.
  storage "us_east" {
    driver     = "radosgw"
    hostname   = var.sites["us_east"].s3_hostname
    port       = 443
    bucket     = var.sites["us_east"].bucket
    access_key = var.storage_credentials["us_east"].access_key
    secret_key = var.storage_credentials["us_east"].secret_key
  }

  storage "eu_west" {
    driver     = "radosgw"
    hostname   = var.sites["eu_west"].s3_hostname
    port       = 443
    bucket     = var.sites["eu_west"].bucket
    access_key = var.storage_credentials["eu_west"].access_key
    secret_key = var.storage_credentials["eu_west"].secret_key
  }

  storage "ap_south" {
    driver     = "radosgw"
    hostname   = var.sites["ap_south"].s3_hostname
    port       = 443
    bucket     = var.sites["ap_south"].bucket
    access_key = var.storage_credentials["ap_south"].access_key
    secret_key = var.storage_credentials["ap_south"].secret_key
  }
}

data "quay_georep_site_manifests" "site" {
  for_each = var.sites

  cluster     = each.key
  namespace   = "quay-enterprise"
  config_yaml = data.quay_georep_config.shared.config_yaml
  location    = each.key

  clair {
    enabled = false
  }

  # The bundle Secret carries every credential of the deployment: keep it out of Git and
  # provide it with SealedSecrets or External Secrets under this name.
  secret_mode          = var.inline_secret ? "inline" : "external"
  external_secret_name = var.inline_secret ? null : "quay-config-bundle"
}
