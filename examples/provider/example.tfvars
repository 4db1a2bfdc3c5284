# A placeholder to try this example with `terraform plan -var-file=example.tfvars`: configuring
# the provider contacts no cluster, so the kubeconfig is only read once a resource needs it.
ap_south_kubeconfig = <<-YAML
  apiVersion: v1
  kind: Config
  clusters:
  - name: ap-south
    cluster:
      server: https://api.ap-south.example.com:6443
  users:
  - name: admin
    user:
      token: replace-me
  contexts:
  - name: ap-south-admin
    context:
      cluster: ap-south
      user: admin
  current-context: ap-south-admin
  YAML
