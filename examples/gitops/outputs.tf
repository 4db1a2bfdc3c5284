# One multi-document YAML per site; write them into your GitOps repository, e.g.
#   terraform output -json manifests | jq -r 'to_entries[] | "\(.key)\t\(.value)"' ...
# or use the hashicorp/local provider's local_file per site.
output "manifests" {
  value     = { for site, m in data.quay_georep_site_manifests.site : site => m.yaml }
  sensitive = true
}

output "bundle_secret_names" {
  value = { for site, m in data.quay_georep_site_manifests.site : site => m.bundle_secret_name }
}
