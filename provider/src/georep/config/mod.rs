//! The shared geo-replication configuration behind `data "quay_georep_config"`.
//!
//! This commit holds the parsed value types ([`hostname::HostPort`], [`location::LocationId`],
//! [`db_uri::DbUri`]) and the table of managed keys ([`managed_keys`]). No I/O happens here.

pub mod db_uri;
pub mod hostname;
pub mod location;
mod managed;

pub use managed::{managed_by, managed_keys};
