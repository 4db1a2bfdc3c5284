# Placeholders to try this example with `terraform plan -var-file=example.tfvars`: configuring
# the provider contacts no cluster, so nothing is read or dialled until a resource needs it.
# The certificate is a throw-away self-signed one; use your clusters' CA certificates.
eu_west_endpoint        = "https://ABCDEF0123456789.gr7.eu-west-1.eks.amazonaws.com"
eu_west_ca_certificate  = <<-PEM
  -----BEGIN CERTIFICATE-----
  MIIBjzCCATWgAwIBAgIUe8f4V7nBGWbv8XR5IcOaGws/G9wwCgYIKoZIzj0EAwIw
  HTEbMBkGA1UEAwwSZXhhbXBsZS1jbHVzdGVyLWNhMB4XDTI2MTIwNjE3MTYxNloX
  DTM2MTIwMzE3MTYxNlowHTEbMBkGA1UEAwwSZXhhbXBsZS1jbHVzdGVyLWNhMFkw
  EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEUWU0qJLGZgdQ12yL2H4G9NbCQCK8Qdi7
  4Y8JjzrTveLaibRwpi2rEDkvNjMo+QIo5yBwq8cuYodK2QfmE0mlb6NTMFEwHQYD
  VR0OBBYEFH5jQovxNWRMlbawBPQaRFaPCPRbMB8GA1UdIwQYMBaAFH5jQovxNWRM
  lbawBPQaRFaPCPRbMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIh
  ALcOkOcquZh07810q2QgobfIrLfjumFaKUoZgXD9x20rAiAir1BYO+jSNmQAKqaO
  MI2xKXm3y5Acp3pVC8CDKyNuag==
  -----END CERTIFICATE-----
  PEM
ap_south_ca_certificate = <<-PEM
  -----BEGIN CERTIFICATE-----
  MIIBjzCCATWgAwIBAgIUe8f4V7nBGWbv8XR5IcOaGws/G9wwCgYIKoZIzj0EAwIw
  HTEbMBkGA1UEAwwSZXhhbXBsZS1jbHVzdGVyLWNhMB4XDTI2MTIwNjE3MTYxNloX
  DTM2MTIwMzE3MTYxNlowHTEbMBkGA1UEAwwSZXhhbXBsZS1jbHVzdGVyLWNhMFkw
  EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEUWU0qJLGZgdQ12yL2H4G9NbCQCK8Qdi7
  4Y8JjzrTveLaibRwpi2rEDkvNjMo+QIo5yBwq8cuYodK2QfmE0mlb6NTMFEwHQYD
  VR0OBBYEFH5jQovxNWRMlbawBPQaRFaPCPRbMB8GA1UdIwQYMBaAFH5jQovxNWRM
  lbawBPQaRFaPCPRbMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIh
  ALcOkOcquZh07810q2QgobfIrLfjumFaKUoZgXD9x20rAiAir1BYO+jSNmQAKqaO
  MI2xKXm3y5Acp3pVC8CDKyNuag==
  -----END CERTIFICATE-----
  PEM
ap_south_token          = "replace-me"
