locals {
  sites = {
    us_east  = quay_georep_site.us_east
    eu_west  = quay_georep_site.eu_west
    ap_south = quay_georep_site.ap_south
  }
}

output "endpoints" {
  description = "each site's registry endpoint (the global name on every site)"
  value       = { for k, s in local.sites : k => s.registry_endpoint }
}

output "versions" {
  description = "the Quay version running on each site"
  value       = { for k, s in local.sites : k => s.current_version }
}

output "bundle_secrets" {
  description = "each site's config bundle Secret (the same content-hashed name everywhere)"
  value       = { for k, s in local.sites : k => s.bundle_secret_name }
}

output "config_hash" {
  description = "sha256 of the shared config.yaml"
  value       = data.quay_georep_config.shared.config_hash
}

output "global_load_balancer" {
  description = "per site, for the global load balancer and DNS: the address to send server_hostname's traffic to, the health checks to probe there (with server_hostname as Host and TLS server name), and the per-site host a Route or DNS record of your own may use"
  value = {
    for k, s in local.sites : k => {
      target                 = s.load_balancer_target
      health_check_url       = s.health_check_url
      clair_health_check_url = s.clair_health_check_url
      site_hostname          = s.site_hostname
    }
  }
}
