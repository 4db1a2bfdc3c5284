# Placeholder values to try this example with `terraform plan -var-file=example.tfvars`;
# replace every one for a real deployment.
db_password         = "replace-me"
secret_key          = "replace-me-with-a-long-random-secret-key"
database_secret_key = "replace-me-with-a-long-random-database-key"
bucket_keys = {
  us_east  = { access_key = "replace-me", secret_key = "replace-me-us-east" }
  eu_west  = { access_key = "replace-me", secret_key = "replace-me-eu-west" }
  ap_south = { access_key = "replace-me", secret_key = "replace-me-ap-south" }
}
corp_root_ca        = <<-EOT
  -----BEGIN CERTIFICATE-----
  MIIBlDCCATmgAwIBAgIUF42dK8b4Cahcnwh9mazoRqmBum8wCgYIKoZIzj0EAwIw
  HzEdMBsGA1UEAwwURXhhbXBsZSBDb3JwIFJvb3QgQ0EwHhcNMjYxMjA2MTg0NDM5
  WhcNMzYxMjAzMTg0NDM5WjAfMR0wGwYDVQQDDBRFeGFtcGxlIENvcnAgUm9vdCBD
  QTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABLujj2298eWKXEWHIw9SUea8RWzS
  Wp+JOJnKQjwP//JqxpHT+QnPbWDbPMnw6oyTQ6nHAPIqz9xewH3C+AqzfJWjUzBR
  MB0GA1UdDgQWBBSnBYnVymlTsrCsbEFprvLlTUIU9zAfBgNVHSMEGDAWgBSnBYnV
  ymlTsrCsbEFprvLlTUIU9zAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kA
  MEYCIQCjspgwF9I+V7Wo8t3q50WObmYrcRAR20G46FdqxcxgfAIhAOUvY9+icC4o
  K0yiWP+sm3fm5Mh1nMA8Nm5kf4iRUhDn
  -----END CERTIFICATE-----
  EOT
