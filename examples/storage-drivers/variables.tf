variable "kubeconfig_paths" {
  description = "kubeconfig file of each site's cluster, by storage location (on_prem, us_aws, eu_azure)"
  type        = map(string)
}

variable "secret_key" {
  type      = string
  sensitive = true
}

variable "database_secret_key" {
  type      = string
  sensitive = true
}

variable "database_uri" {
  type      = string
  sensitive = true
}

variable "redis_password" {
  type      = string
  sensitive = true
}

variable "keys" {
  description = "access and secret keys: the on_prem, us_aws and eu_gcs buckets' and the STS user's (us_aws_archive)"
  type        = map(object({ access_key = string, secret_key = string }))
  sensitive   = true
}

variable "cloudfront_private_key" {
  description = "the RSA private key (PEM) of the CloudFront key pair, for example file(\"cloudfront.pem\")"
  type        = string
  sensitive   = true
}

variable "azure_account_key" {
  description = "key1 or key2 of the Azure storage account"
  type        = string
  sensitive   = true
}
