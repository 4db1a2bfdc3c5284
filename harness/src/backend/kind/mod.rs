//! The `kind` backend: real Kubernetes clusters in Docker (being built).

pub mod config;
