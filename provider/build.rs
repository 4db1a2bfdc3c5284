//! Build script of terraform-provider-quay (placeholder until the tfplugin5 protos are compiled here).
fn main() {}
