//! The I/O around the pure upgrade state machine of [`crate::georep::upgrade`]: reading the
//! sites into an [`Observation`](crate::georep::upgrade::Observation), performing its
//! [`Action`](crate::georep::upgrade::Action)s, and the loop that drives both.
//!
//! This module knows Kubernetes (through [`crate::cluster`]) and the upgrade procedure's
//! objects, not Terraform: `resources/georep_upgrade_resource.rs` maps the resource's
//! attributes onto an [`UpgradeRequest`](crate::georep::upgrade::UpgradeRequest) and calls
//! [`run`]. It decides nothing about the upgrade itself: that is
//! [`step`](crate::georep::upgrade::step)'s job.
//!
//! # Brief overview
//!
//! - [`observe`]: one round of reads; an unreachable site is data, not an error.
//! - [`perform`]: one action; the Lease is a compare-and-swap on `resourceVersion`, and is
//!   read again before every change.
//! - [`run`]: observe → step → perform → pause, until done, an error, the deadline or
//!   Terraform's stop; returns the [`StepRecord`]s.
//! - [`clock`]: the wall clock and Kubernetes time text.
//! - [`location`]: the same for `quay_georep_location` (observe the sites and the backfill
//!   Job, step, create the Job).
//! - `wake`: watches of what the upgrade waits for, which end the loop's pause early.
//! - `lease`: the Lease's expiry measured on this process's clock, not its writer's.

pub mod clock;
mod lease;
pub mod location;
mod observe;
mod perform;
mod run;
mod wake;

pub use lease::LeaseClock;
pub use observe::{COMPONENT_LABEL, REGISTRY_LABEL, observe};
pub(crate) use observe::{available_evaluated, deployment_operator, status_request};
pub(crate) use perform::ask_for_status;
pub use perform::{Error, perform};
pub use run::{PAUSE, RunError, StepRecord, run};
pub use wake::Wakeups;
