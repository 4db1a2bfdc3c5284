variable "server_hostname" {
  description = "the global load balancer's FQDN (SERVER_HOSTNAME on every site)"
  type        = string
  default     = "quay.global.example.com"
}

variable "sites" {
  description = "one entry per site, keyed by its storage location id"
  type = map(object({
    s3_hostname = string
    bucket      = string
    access_key  = string
    secret_key  = string
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
