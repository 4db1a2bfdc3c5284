//! The go-plugin server Terraform launches (in progress): the generated protocol types.

pub(crate) mod proto;
