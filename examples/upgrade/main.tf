# Three geo-replicated Quay sites, one per cluster, sharing one config.yaml, one database,
# one Redis and replicating blobs between their three buckets.

terraform {
  required_version = ">= 1.0.3"
  required_providers {
    quay = { source = "quay-georep/quay", version = "~> 0.1.0" }
  }
}

provider "quay" {
  cluster "us_east" { kubeconfig_path = var.kubeconfig_paths["us_east"] }
  cluster "eu_west" { kubeconfig_path = var.kubeconfig_paths["eu_west"] }
  cluster "ap_south" { kubeconfig_path = var.kubeconfig_paths["ap_south"] }
}

data "quay_georep_config" "shared" {
  server_hostname     = var.server_hostname
  secret_key          = var.secret_key
  database_secret_key = var.database_secret_key
  super_users         = ["quayadmin"]

  database {
    uri = var.database_uri
  }

  redis {
    host     = var.redis.host
    port     = var.redis.port
    password = var.redis.password
  }

  # Block labels must be known at validate time, so one block per location, not dynamic.
  storage "us_east" {
    driver     = "radosgw"
    hostname   = var.storage["us_east"].hostname
    port       = var.storage["us_east"].port
    is_secure  = var.storage_is_secure
    bucket     = var.storage["us_east"].bucket
    access_key = var.storage["us_east"].access_key
    secret_key = var.storage["us_east"].secret_key
    region     = var.storage["us_east"].region
  }

  storage "eu_west" {
    driver     = "radosgw"
    hostname   = var.storage["eu_west"].hostname
    port       = var.storage["eu_west"].port
    is_secure  = var.storage_is_secure
    bucket     = var.storage["eu_west"].bucket
    access_key = var.storage["eu_west"].access_key
    secret_key = var.storage["eu_west"].secret_key
    region     = var.storage["eu_west"].region
  }

  storage "ap_south" {
    driver     = "radosgw"
    hostname   = var.storage["ap_south"].hostname
    port       = var.storage["ap_south"].port
    is_secure  = var.storage_is_secure
    bucket     = var.storage["ap_south"].bucket
    access_key = var.storage["ap_south"].access_key
    secret_key = var.storage["ap_south"].secret_key
    region     = var.storage["ap_south"].region
  }
}

# One site per cluster, each preferring its own storage location (the cluster label is the
# location id); the same name and namespace everywhere. Terraform creates the three in
# parallel, but every site's operator runs a database migration Job on install and two
# migrations against the one shared database must never overlap, so the provider installs
# sites that share a database one at a time (the others wait until it has converged); no
# depends_on is needed.
resource "quay_georep_site" "us_east" {
  cluster     = "us_east"
  namespace   = "quay-enterprise"
  config_yaml = data.quay_georep_config.shared.config_yaml
  location    = "us_east"

  # OpenShift: the operator manages the Route (host SERVER_HOSTNAME). Plain Kubernetes: no
  # Route API, so the Route is unmanaged and your Ingress serves SERVER_HOSTNAME with the
  # certificate below (see README.md).
  route {
    managed = var.platform == "openshift"
  }

  dynamic "tls" {
    for_each = var.tls_certificate == null ? [] : [1]
    content {
      certificate = var.tls_certificate
      private_key = var.tls_private_key
    }
  }

  quay {
    replicas = 2
  }

  mirror {
    replicas = 1
  }

  clair {
    enabled      = var.clair_database_uri != null
    database_uri = var.clair_database_uri
  }
}

resource "quay_georep_site" "eu_west" {
  cluster     = "eu_west"
  namespace   = "quay-enterprise"
  config_yaml = data.quay_georep_config.shared.config_yaml
  location    = "eu_west"

  # OpenShift: the operator manages the Route (host SERVER_HOSTNAME). Plain Kubernetes: no
  # Route API, so the Route is unmanaged and your Ingress serves SERVER_HOSTNAME with the
  # certificate below (see README.md).
  route {
    managed = var.platform == "openshift"
  }

  dynamic "tls" {
    for_each = var.tls_certificate == null ? [] : [1]
    content {
      certificate = var.tls_certificate
      private_key = var.tls_private_key
    }
  }

  quay {
    replicas = 2
  }

  mirror {
    replicas = 1
  }

  clair {
    enabled      = var.clair_database_uri != null
    database_uri = var.clair_database_uri
  }
}

resource "quay_georep_site" "ap_south" {
  cluster     = "ap_south"
  namespace   = "quay-enterprise"
  config_yaml = data.quay_georep_config.shared.config_yaml
  location    = "ap_south"

  # OpenShift: the operator manages the Route (host SERVER_HOSTNAME). Plain Kubernetes: no
  # Route API, so the Route is unmanaged and your Ingress serves SERVER_HOSTNAME with the
  # certificate below (see README.md).
  route {
    managed = var.platform == "openshift"
  }

  dynamic "tls" {
    for_each = var.tls_certificate == null ? [] : [1]
    content {
      certificate = var.tls_certificate
      private_key = var.tls_private_key
    }
  }

  quay {
    replicas = 2
  }

  mirror {
    replicas = 1
  }

  clair {
    enabled      = var.clair_database_uri != null
    database_uri = var.clair_database_uri
  }
}
