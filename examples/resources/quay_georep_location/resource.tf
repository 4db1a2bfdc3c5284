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

# Add storage location eu_west to sites us_east and ap_south, which already run. Add
# storage "eu_west" to the shared data.quay_georep_config and pass its config_hash here: this
# waits until both sites serve that config, then runs Quay's backfill once as a Job so that
# the blobs pushed before reach eu_west. The new site's quay_georep_site then sets
# depends_on = [quay_georep_location.eu_west], so it serves only once every other site
# knows its location. Destroying this resource only forgets it.
resource "quay_georep_location" "eu_west" {
  location = "eu_west"
  sites = [
    "us_east/quay-enterprise/registry",
    "ap_south/quay-enterprise/registry",
  ]
  config_hash   = "sha256:5f1d0c3a9b7e2f4d6c8a0b1e3d5f7a9c2b4d6e8f0a1c3e5b7d9f1a3c5e7b9d0f"
  backfill_site = "us_east/quay-enterprise/registry"

  timeouts {
    create = "30m"
  }
}

output "location_steps" {
  value = quay_georep_location.eu_west.steps
}
