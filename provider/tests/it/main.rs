//! Integration tests of `terraform-provider-quay`, linked as one test binary so the heavy
//! dependencies (tonic, rustls) are linked once (STYLE.md, Tests). One module per area.

mod e2e;
mod plugin;
