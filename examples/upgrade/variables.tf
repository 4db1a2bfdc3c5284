# Inputs of the three-sites example. `georep-harness up` (or `demo`) writes all of them but
# server_hostname and clair_database_uri into terraform.tfvars.json for the local backend.

variable "kubeconfig_paths" {
  description = "kubeconfig file of each site's cluster, by storage location (us_east, eu_west, ap_south)"
  type        = map(string)
}

variable "server_hostname" {
  description = "the global load balancer's name, SERVER_HOSTNAME on every site"
  type        = string
  default     = "quay.global.example.test"
}

variable "secret_key" {
  description = "SECRET_KEY, identical on every site (at least 32 characters)"
  type        = string
  sensitive   = true
}

variable "database_secret_key" {
  description = "DATABASE_SECRET_KEY, identical on every site (at least 32 characters)"
  type        = string
  sensitive   = true
}

variable "database_uri" {
  description = "the one PostgreSQL database every site shares (postgresql://...)"
  type        = string
  sensitive   = true
}

variable "redis" {
  description = "the one Redis every site shares"
  type = object({
    host     = string
    port     = number
    password = string
  })
  sensitive = true
}

variable "storage" {
  description = "each site's S3-compatible bucket, by storage location"
  type = map(object({
    hostname   = string
    port       = number
    bucket     = string
    access_key = string
    secret_key = string
    region     = string
  }))
  sensitive = true
}

variable "clair_database_uri" {
  description = "the shared Clair database; Clair is disabled on every site when null"
  type        = string
  default     = null
  sensitive   = true
}

variable "storage_is_secure" {
  description = "whether the buckets' endpoints speak HTTPS: false for the local backend's S3 servers, true for real buckets"
  type        = bool
  default     = false
}

variable "platform" {
  description = "openshift (the operator manages the Route) or kubernetes (no Route API: route unmanaged, your Ingress serves server_hostname with tls_certificate)"
  type        = string
  default     = "openshift"

  validation {
    condition     = contains(["openshift", "kubernetes"], var.platform)
    error_message = "The platform must be openshift or kubernetes."
  }
}

variable "tls_certificate" {
  description = "PEM certificate (chain) for server_hostname; required with platform = kubernetes, optional on OpenShift (the Route then passes TLS through to Quay)"
  type        = string
  default     = null
}

variable "tls_private_key" {
  description = "PEM private key of tls_certificate"
  type        = string
  default     = null
  sensitive   = true
}
