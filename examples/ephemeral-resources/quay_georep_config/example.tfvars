# Placeholder values to try this example with `terraform plan -var-file=example.tfvars`;
# replace every one for a real deployment.
db_password         = "replace-me"
secret_key          = "replace-me-with-a-long-random-secret-key"
database_secret_key = "replace-me-with-a-long-random-database-key"
bucket_keys = {
  us_east = { access_key = "replace-me", secret_key = "replace-me-us-east" }
  eu_west = { access_key = "replace-me", secret_key = "replace-me-eu-west" }
}
