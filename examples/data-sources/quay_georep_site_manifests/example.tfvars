# Placeholder values to try this example with `terraform plan -var-file=example.tfvars`;
# in a real configuration shared_config_yaml is data.quay_georep_config.shared.config_yaml.
clair_database_uri = "postgresql://clair:replace-me@db.global.example.com:5432/clair"
shared_config_yaml = <<-YAML
  BUILDLOGS_REDIS:
    host: redis.global.example.com
    password: replace-me
    port: 6379
  DATABASE_SECRET_KEY: replace-me-with-a-long-random-database-key
  DB_URI: postgresql://quay:replace-me@db.global.example.com:5432/quay
  DISTRIBUTED_STORAGE_CONFIG:
    eu_west:
    - RadosGWStorage
    - access_key: replace-me
      bucket_name: quay-eu-west
      hostname: s3.eu-west.example.com
      is_secure: true
      port: 443
      secret_key: replace-me-eu-west
      storage_path: /datastorage/registry
    us_east:
    - RadosGWStorage
    - access_key: replace-me
      bucket_name: quay-us-east
      hostname: s3.us-east.example.com
      is_secure: true
      port: 443
      secret_key: replace-me-us-east
      storage_path: /datastorage/registry
  DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS:
  - eu_west
  - us_east
  DISTRIBUTED_STORAGE_PREFERENCE:
  - eu_west
  - us_east
  FEATURE_STORAGE_REPLICATION: true
  PREFERRED_URL_SCHEME: https
  SECRET_KEY: replace-me-with-a-long-random-secret-key
  SERVER_HOSTNAME: quay.global.example.com
  SETUP_COMPLETE: true
  USER_EVENTS_REDIS:
    host: redis.global.example.com
    password: replace-me
    port: 6379
  YAML
