terraform {
  required_version = ">= 1.0.3"
  required_providers {
    quay = { source = "quay-georep/quay", version = "~> 0.1.0" }
  }
}

variable "current_version" {
  description = "the version the sites run, such as quay_georep_site.us_east.current_version"
  type        = string
  default     = "3.15.7"
}

# The releases this provider knows, and the upgrades from the sites' version: one minor per
# quay_georep_upgrade run.
data "quay_georep_versions" "known" {
  current_version = var.current_version
}

output "next_upgrade" {
  value = {
    version     = data.quay_georep_versions.known.next_version
    olm_channel = data.quay_georep_versions.known.next_olm_channel
  }
}

output "upgrade_path" {
  value = data.quay_georep_versions.known.upgrade_path
}
