# The GitOps variant of examples/three-sites: the provider renders each site's Namespace,
# config bundle Secret and QuayRegistry, and Argo CD or Flux applies them. Nothing here
# contacts a cluster: `terraform apply` only computes the documents.
terraform {
  required_providers {
    quay = { source = "quay-georep/quay" }
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

  dynamic "storage" {
    for_each = var.sites
    labels   = [storage.key]
    content {
      driver     = "radosgw"
      hostname   = storage.value.s3_hostname
      port       = 443
      bucket     = storage.value.bucket
      access_key = storage.value.access_key
      secret_key = storage.value.secret_key
    }
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
