terraform {
  required_version = ">= 1.0.3"
  required_providers {
    quay = { source = "quay-georep/quay", version = "~> 0.1.0" }
  }
}

provider "quay" {
  cluster "us_east" { kubeconfig_path = "~/.kube/us-east.yaml" }
  cluster "eu_west" { kubeconfig_path = "~/.kube/eu-west.yaml" }
  cluster "ap_south" { kubeconfig_path = "~/.kube/ap-south.yaml" }
}

variable "shared_config_yaml" {
  description = "data.quay_georep_config.shared.config_yaml"
  type        = string
  sensitive   = true
}

variable "shared_config_files" {
  description = "data.quay_georep_config.shared.config_files: CA certificates and database TLS files"
  type        = map(string)
  sensitive   = true
  default     = {}
}

variable "clair_database_uri" {
  type      = string
  sensitive = true
}

# One site per cluster, each preferring its own storage location; the same name and
# namespace everywhere.
resource "quay_georep_site" "site" {
  for_each = toset(["us_east", "eu_west", "ap_south"])

  cluster     = each.key
  namespace   = "quay-enterprise"
  config_yaml  = var.shared_config_yaml
  config_files = var.shared_config_files
  location     = each.key

  # Refuse terraform destroy until this is set false and applied.
  deletion_protection = true

  quay {
    replicas = 2
    # Pod settings the QuayRegistry CRD lets a component override (resources need operator
    # 3.11 or later); a field Kubernetes would drop or refuse is refused at plan.
    requests = { cpu = "2", memory = "8Gi" }
    limits   = { memory = "16Gi" }
    affinity = jsonencode({
      podAntiAffinity = {
        preferredDuringSchedulingIgnoredDuringExecution = [{
          weight          = 100
          podAffinityTerm = { topologyKey = "kubernetes.io/hostname" }
        }]
      }
    })
    labels = { team = "registry" }
  }

  mirror {
    replicas = 1
  }

  clair {
    database_uri = var.clair_database_uri
  }

  timeouts {
    create = "30m"
  }
}

output "endpoints" {
  value = { for k, s in quay_georep_site.site : k => s.registry_endpoint }
}

output "versions" {
  value = { for k, s in quay_georep_site.site : k => s.current_version }
}
