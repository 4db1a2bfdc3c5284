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

# Sites installed elsewhere (another Terraform state, GitOps, by hand), read without
# managing them: for a global load balancer's pool, DNS records, or a check before an upgrade.
data "quay_georep_site" "site" {
  for_each = toset(["us_east", "eu_west"])

  cluster   = each.key
  namespace = "quay-enterprise"
}

output "global_load_balancer" {
  description = "per site: where to send SERVER_HOSTNAME's traffic, and what to probe there"
  value = {
    for k, s in data.quay_georep_site.site : k => {
      target           = s.load_balancer_target
      health_check_url = s.health_check_url
      site_hostname    = s.site_hostname
    }
  }
}

output "versions" {
  description = "per site: the Quay version migrated, and the operator's version"
  value = {
    for k, s in data.quay_georep_site.site : k => {
      current  = s.current_version
      operator = s.operator_version
    }
  }
}
