//! The `georep-harness` command line (placeholder until the CLI lands).

fn main() {}
