//! The `georep-harness` command line (placeholder; `up` and `bench sim` land here).
