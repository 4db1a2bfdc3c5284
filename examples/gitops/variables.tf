variable "server_hostname" {
  description = "the global load balancer's FQDN (SERVER_HOSTNAME on every site)"
  type        = string
  default     = "quay.global.example.com"
}

# Not sensitive: Terraform refuses sensitive values in for_each, and the site keys, hosts and
# buckets are no secret. The credentials are in storage_credentials below.
variable "sites" {
  description = "one entry per site, keyed by its storage location id: us_east, eu_west and ap_south"
  type = map(object({
    s3_hostname = string
    bucket      = string
  }))
}

variable "storage_credentials" {
  description = "each site's bucket credentials, keyed like sites"
  type = map(object({
    access_key = string
    secret_key = string
  }))
  sensitive = true
}

variable "database_uri" {
  type      = string
  sensitive = true
}

variable "redis_host" {
  type = string
}

variable "redis_password" {
  type      = string
  sensitive = true
}

variable "secret_key" {
  type      = string
  sensitive = true
}

variable "database_secret_key" {
  type      = string
  sensitive = true
}

variable "inline_secret" {
  description = "render the bundle Secret too (only for repositories that encrypt it)"
  type        = bool
  default     = false
}
