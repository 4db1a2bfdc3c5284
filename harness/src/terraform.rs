//! Drives the Terraform CLI (placeholder).
