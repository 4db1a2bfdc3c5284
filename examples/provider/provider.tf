terraform {
  required_version = ">= 1.0.3"
  required_providers {
    quay = { source = "quay-georep/quay", version = "~> 0.1.0" }
  }
}

# One provider instance reaches every site's cluster; resources name a cluster by its label.
# Each cluster block gives exactly one way to reach its cluster.
provider "quay" {
  # A kubeconfig file and one of its contexts.
  cluster "us_east" {
    kubeconfig_path = "~/.kube/us-east.yaml"
    context         = "us-east-admin"
  }
  # The API server's address with an exec credential plugin (EKS here; GKE and AKS alike).
  cluster "eu_west" {
    host                   = var.eu_west_endpoint
    cluster_ca_certificate = var.eu_west_ca_certificate
    exec {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", "quay-eu-west"]
    }
  }
  # The API server's address with a bearer token (an OpenShift or CI service account token).
  cluster "ap_south" {
    host                   = "https://api.ap-south.example.com:6443"
    cluster_ca_certificate = var.ap_south_ca_certificate
    token                  = var.ap_south_token
  }
  # Also: in_cluster = true for a provider running in a pod; and a block with none of these
  # (at most a context) uses the files KUBE_CONFIG_PATH, else KUBECONFIG, lists.
}

variable "eu_west_endpoint" {
  type = string
}

variable "eu_west_ca_certificate" {
  type = string
}

variable "ap_south_ca_certificate" {
  type = string
}

variable "ap_south_token" {
  type      = string
  sensitive = true
}
