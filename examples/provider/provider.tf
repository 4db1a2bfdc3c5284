terraform {
  required_version = ">= 1.0.3"
  required_providers {
    quay = { source = "quay-georep/quay", version = "~> 0.1.0" }
  }
}

# One provider instance reaches every site's cluster; resources name a cluster by its label.
provider "quay" {
  cluster "us_east" {
    kubeconfig_path = "~/.kube/us-east.yaml"
    context         = "us-east-admin"
  }
  cluster "eu_west" {
    kubeconfig_path = "~/.kube/eu-west.yaml"
  }
  cluster "ap_south" {
    kubeconfig_content = var.ap_south_kubeconfig
  }
}

variable "ap_south_kubeconfig" {
  type      = string
  sensitive = true
}
