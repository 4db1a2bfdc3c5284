terraform {
  required_version = ">= 1.0.3"
  required_providers {
    quay = { source = "quay-georep/quay", version = "~> 0.1.0" }
  }
}

provider "quay" {
  cluster "us_east" { kubeconfig_path = "~/.kube/us-east.yaml" }
  cluster "ap_south" { kubeconfig_path = "~/.kube/ap-south.yaml" }
}

# Retire storage location eu_west once its site is gone. In an earlier apply, destroy the
# eu_west site. In this one, remove storage "eu_west" from the shared data.quay_georep_config
# (each remaining site lists "eu_west" in acknowledge_location_removals for this apply) and
# pass its config_hash here: this waits until both sites serve that config, then runs one Job
# that checks that every blob placed in eu_west has a copy in another location (otherwise it
# fails with the count and deletes nothing) and runs Quay's removal tool, which deletes the
# location's placements from the shared database. The eu_west bucket is left as it is.
# Destroying this resource only forgets it.
resource "quay_georep_location_removal" "eu_west" {
  location = "eu_west"
  sites = [
    "us_east/quay-enterprise/registry",
    "ap_south/quay-enterprise/registry",
  ]
  config_hash = "sha256:8c2e4a6b0d1f3e5a7c9b1d3f5e7a9c0b2d4f6a8e0c1b3d5f7a9e1c3b5d7f9a2c"
  run_site    = "us_east/quay-enterprise/registry"

  timeouts {
    create = "30m"
  }
}

output "removal_steps" {
  value = quay_georep_location_removal.eu_west.steps
}
