# Placeholder values to try this example with `terraform plan -var-file=example.tfvars`;
# replace every one (and keep the real ones out of Git: most are secrets).
sites = {
  us_east  = { s3_hostname = "s3.us-east.example.com", bucket = "quay-us-east" }
  eu_west  = { s3_hostname = "s3.eu-west.example.com", bucket = "quay-eu-west" }
  ap_south = { s3_hostname = "s3.ap-south.example.com", bucket = "quay-ap-south" }
}
storage_credentials = {
  us_east  = { access_key = "replace-me", secret_key = "replace-me-us-east" }
  eu_west  = { access_key = "replace-me", secret_key = "replace-me-eu-west" }
  ap_south = { access_key = "replace-me", secret_key = "replace-me-ap-south" }
}
database_uri        = "postgresql://quay:replace-me@db.global.example.com:5432/quay"
redis_host          = "redis.global.example.com"
redis_password      = "replace-me"
secret_key          = "replace-me-with-a-long-random-secret-key"
database_secret_key = "replace-me-with-a-long-random-database-key"
