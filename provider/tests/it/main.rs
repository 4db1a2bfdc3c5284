//! Integration tests of `terraform-provider-quay`, linked as one test binary (STYLE.md, Tests).

mod e2e;
