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

# Upgrade three sites from 3.14 to 3.15: eu_west and ap_south go to 0, us_east's operator
# migrates the shared database, then the others follow and come back. A killed apply resumes
# where it stopped; destroying this resource only forgets it (there is no downgrade).
resource "quay_georep_upgrade" "all" {
  sites = [
    "us_east/quay-enterprise/registry",
    "eu_west/quay-enterprise/registry",
    "ap_south/quay-enterprise/registry",
  ]
  primary        = "us_east/quay-enterprise/registry"
  target_version = "3.15.7"
  lease_duration = "10m"

  operator {
    method    = "olm"
    namespace = "openshift-operators"
    name      = "quay-operator"
    channel   = "stable-3.15"
  }

  timeouts {
    create = "90m"
    update = "90m"
  }
}

output "upgrade_steps" {
  value = quay_georep_upgrade.all.steps
}
