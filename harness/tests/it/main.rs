//! Integration tests of `georep-harness`, linked as one test binary (STYLE.md, Tests).

mod services;
mod terraform_cli;
