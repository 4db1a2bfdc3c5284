//! The `terraform-provider-quay` binary (placeholder).
fn main() {}
