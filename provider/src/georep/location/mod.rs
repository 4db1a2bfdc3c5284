//! Adding a storage location to a running geo-replicated Quay, as one resumable operation
//! (`resource "quay_georep_location"`). Pure: the I/O is in `orchestrate/location.rs`.
//!
//! Quay's order, from its code: every site's config must name the location before anything
//! writes there (a site whose config lacks a location cannot read blobs placed only there, and
//! its replication worker cannot copy to it); the replication worker copies a blob to the
//! default locations when it handles the blob's queue item, so blobs pushed before the
//! location existed reach it only when Quay's backfill tool (quay/quay
//! `util/backfillreplication.py`) queues them again.
//!
//! So the operation, given the sites and the hash of the shared config that adds the
//! location:
//! 1. waits until every listed site serves that config (bundle `config.yaml` hash), with the
//!    location in it, and has converged (the operator's status and every Deployment rolled
//!    out);
//! 2. runs the backfill tool once, as a Job in one site ([`job::backfill_job`]: the quay-app
//!    pod's image, config volume and environment), and waits for it.
//!
//! The new site itself depends on this resource, so it starts serving only once every other
//! site knows its location, with the old blobs queued for its bucket. The backfill comes
//! before the new site because it needs only the config: the workers of the running sites
//! copy into the new bucket, whether or not its site serves yet.
//!
//! Resuming: steps 1 and 2 are read from the clusters every round; the Job, named after the
//! location and the config hash ([`LocationRequest::job_name`]), is the record of step 2. A
//! killed apply run again finds the Job and waits for it instead of starting another; a Job
//! that had failed before this apply started is replaced (a new apply is a retry).

pub mod job;
mod request;
mod step;

#[cfg(test)]
mod tests;

pub use job::{BACKFILL_MODULE, JOB_CONFIG_HASH_ANNOTATION, JOB_LOCATION_LABEL};
pub use request::{LocationInput, LocationRequest, validate};
pub use step::{
    ConfigStorage, LocationError, Next, Observation, SiteFacts, SiteView, plan_steps, step,
};
