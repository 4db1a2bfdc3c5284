terraform {
  required_version = ">= 1.0.3"
  required_providers {
    quay = { source = "quay-georep/quay", version = "~> 0.1.0" }
  }
}

provider "quay" {}

variable "db_password" {
  type      = string
  sensitive = true
}

variable "secret_key" {
  type      = string
  sensitive = true
}

variable "database_secret_key" {
  type      = string
  sensitive = true
}

variable "corp_root_ca" {
  description = "PEM certificate of the private CA that signed the database's and the buckets' certificates"
  type        = string
}

variable "bucket_keys" {
  description = "access and secret key of each site's bucket"
  type        = map(object({ access_key = string, secret_key = string }))
  sensitive   = true
}

locals {
  sites = {
    us_east  = "s3.us-east.example.com"
    eu_west  = "s3.eu-west.example.com"
    ap_south = "s3.ap-south.example.com"
  }
}

# The one config.yaml every site shares.
data "quay_georep_config" "shared" {
  server_hostname     = "quay.global.example.com" # the global load balancer, not a Route name
  secret_key          = var.secret_key
  database_secret_key = var.database_secret_key
  super_users         = ["quayadmin"]

  database {
    uri = "postgresql://quay:${var.db_password}@db.global.example.com:5432/quay"
    # Bundled as database.pem; DB_CONNECTION_ARGS gets sslmode verify-full and sslrootcert.
    root_certificate = var.corp_root_ca
  }

  # Every site trusts this CA (bundled as extra_ca_cert_corp-root.crt).
  extra_ca_certs = {
    corp-root = var.corp_root_ca
  }

  redis {
    host     = "redis.global.example.com"
    password = var.db_password
  }

  dynamic "storage" {
    for_each = local.sites
    labels   = [storage.key] # the location id
    content {
      driver     = "radosgw"
      hostname   = storage.value
      port       = 443
      bucket     = "quay-${replace(storage.key, "_", "-")}"
      access_key = var.bucket_keys[storage.key].access_key
      secret_key = var.bucket_keys[storage.key].secret_key
    }
  }

  mirroring {
    interval = 60
  }

  extra_config = {
    FEATURE_USER_INITIALIZE = true
  }
}

output "config_hash" {
  value = data.quay_georep_config.shared.config_hash
}
