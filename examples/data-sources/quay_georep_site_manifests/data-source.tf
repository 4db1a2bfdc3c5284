terraform {
  required_version = ">= 1.0.3"
  required_providers {
    quay = { source = "quay-georep/quay", version = "~> 0.1.0" }
  }
}

provider "quay" {
  cluster "us_east" { kubeconfig_path = "~/.kube/us-east.yaml" }
  cluster "eu_west" { kubeconfig_path = "~/.kube/eu-west.yaml" }
}

variable "shared_config_yaml" {
  description = "data.quay_georep_config.shared.config_yaml"
  type        = string
  sensitive   = true
}

variable "clair_database_uri" {
  type      = string
  sensitive = true
}

# The manifests quay_georep_site would apply, for Argo CD or Flux to apply instead: one
# folder per site. With secret_mode = "external" the bundle Secret is left out and the
# QuayRegistry references a Secret you manage (SealedSecrets, External Secrets).
data "quay_georep_site_manifests" "site" {
  for_each = toset(["us_east", "eu_west"])

  cluster     = each.key
  namespace   = "quay-enterprise"
  config_yaml = var.shared_config_yaml
  location    = each.key

  quay {
    replicas = 3
  }

  clair {
    database_uri = var.clair_database_uri
  }

  secret_mode          = "external"
  external_secret_name = "quay-config-bundle"
}

output "manifests" {
  value     = { for site, m in data.quay_georep_site_manifests.site : site => m.yaml }
  sensitive = true
}
