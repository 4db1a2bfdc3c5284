# The documented geo-replication upgrade of the three sites of examples/three-sites (whose
# main.tf, variables.tf and outputs.tf this directory holds copies of): with target_version set, one
# quay_georep_upgrade scales the secondaries to 0, upgrades the primary's operator and lets
# it migrate the shared database alone, then upgrades the secondaries and restores their
# replicas. Without target_version it is exactly examples/three-sites.

variable "target_version" {
  description = "the Quay version every site should run, such as 3.18.0; null upgrades nothing"
  type        = string
  default     = null
}

variable "operator_method" {
  description = "how the Quay Operator is installed on every site: olm (a Subscription with manual approval) or deployment"
  type        = string
  default     = "olm"
}

variable "operator_namespace" {
  description = "namespace of the operator's Subscription (olm) or Deployment (deployment), the same on every site"
  type        = string
  default     = "openshift-operators"
}

variable "operator_name" {
  description = "name of the operator's Subscription (olm) or Deployment (deployment)"
  type        = string
  default     = "quay-operator"
}

variable "operator_source" {
  description = "olm only: the CatalogSource to upgrade from, such as the mirrored catalog of a disconnected cluster (cs-redhat-operator-index); null keeps each Subscription's own"
  type        = string
  default     = null
}

variable "operator_source_namespace" {
  description = "olm only: the namespace of operator_source, such as openshift-marketplace"
  type        = string
  default     = null
}

resource "quay_georep_upgrade" "all" {
  count = var.target_version == null ? 0 : 1

  # The first site is the primary: its operator alone migrates the shared database.
  sites = [
    quay_georep_site.us_east.id,
    quay_georep_site.eu_west.id,
    quay_georep_site.ap_south.id,
  ]
  target_version = var.target_version

  operator {
    method    = var.operator_method
    namespace = var.operator_namespace
    name      = var.operator_name

    # Disconnected clusters: the mirrored catalog whose channel preflight reads.
    source           = var.operator_source
    source_namespace = var.operator_source_namespace
  }

  timeouts {
    create = "30m"
    update = "30m"
  }
}

output "upgrade_steps" {
  description = "what the upgrade did, in order (empty when no upgrade is configured)"
  value       = length(quay_georep_upgrade.all) == 0 ? [] : quay_georep_upgrade.all[0].steps
}

output "upgraded_version" {
  description = "the version every site runs after the upgrade (null when no upgrade is configured)"
  value       = length(quay_georep_upgrade.all) == 0 ? null : quay_georep_upgrade.all[0].completed_version
}
