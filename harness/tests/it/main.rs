//! Integration tests of the harness, one binary (each extra test file would relink kube).

#![allow(clippy::unwrap_used)]

mod kubectl;
mod sim;
