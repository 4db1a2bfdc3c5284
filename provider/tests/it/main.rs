//! Integration tests of `terraform-provider-quay`, linked as one test binary so the heavy
//! dependencies (tonic, rustls) are linked once. One module per area.

mod plugin;
