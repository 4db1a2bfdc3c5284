terraform {
  # Ephemeral resources need Terraform 1.10; write-only attributes such as config_yaml_wo, 1.11.
  required_version = ">= 1.11.0"
  required_providers {
    quay = { source = "quay-georep/quay", version = "~> 0.1.0" }
  }
}

provider "quay" {
  cluster "us_east" { kubeconfig_path = "~/.kube/us-east.yaml" }
  cluster "eu_west" { kubeconfig_path = "~/.kube/eu-west.yaml" }
}

variable "db_password" {
  type      = string
  sensitive = true
  ephemeral = true # not stored in a saved plan either; set it again for `apply PLANFILE`
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

variable "clair_db_password" {
  type      = string
  sensitive = true
  ephemeral = true
}

variable "tls_certificate" {
  description = "the PEM certificate (chain) for quay.global.example.com; not a secret"
  type        = string
}

variable "tls_private_key" {
  description = "the PEM private key of the certificate for quay.global.example.com"
  type        = string
  sensitive   = true
  ephemeral   = true
}

variable "bucket_keys" {
  description = "access and secret key of each site's bucket"
  type        = map(object({ access_key = string, secret_key = string }))
  sensitive   = true
  ephemeral   = true
}

locals {
  sites = {
    us_east = "s3.us-east.example.com"
    eu_west = "s3.eu-west.example.com"
  }
}

# The one config.yaml every site shares, rendered for this run only: unlike
# data "quay_georep_config", nothing of it is written to the state or a saved plan.
ephemeral "quay_georep_config" "shared" {
  server_hostname     = "quay.global.example.com"
  secret_key          = var.secret_key
  database_secret_key = var.database_secret_key

  database {
    uri = "postgresql://quay:${var.db_password}@db.global.example.com:5432/quay"
  }

  redis {
    host     = "redis.global.example.com"
    password = var.db_password
  }

  dynamic "storage" {
    for_each = local.sites
    labels   = [storage.key]
    content {
      driver     = "radosgw"
      hostname   = storage.value
      port       = 443
      bucket     = "quay-${replace(storage.key, "_", "-")}"
      access_key = var.bucket_keys[storage.key].access_key
      secret_key = var.bucket_keys[storage.key].secret_key
    }
  }
}

# Each site gets the config through the write-only config_yaml_wo, the Clair database through
# database_uri_wo and the TLS key through private_key_wo: they reach the cluster's config
# bundle Secret and never the state. config_hash and bundle_secret_name (stored) show when
# they change.
resource "quay_georep_site" "site" {
  for_each = local.sites

  cluster        = each.key
  namespace      = "quay-enterprise"
  config_yaml_wo = ephemeral.quay_georep_config.shared.config_yaml
  location       = each.key

  clair {
    database_uri_wo = "postgresql://clair:${var.clair_db_password}@db.global.example.com:5432/clair"
  }

  tls {
    certificate    = var.tls_certificate
    private_key_wo = var.tls_private_key
  }
}

output "config_hashes" {
  value = { for k, s in quay_georep_site.site : k => s.config_hash }
}
