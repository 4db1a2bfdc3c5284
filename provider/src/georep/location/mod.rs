//! Adding a storage location to a running geo-replicated Quay, or removing one, as one
//! resumable operation (`resource "quay_georep_location"`, `resource
//! "quay_georep_location_removal"`). Pure: the I/O is in `orchestrate/location.rs`.
//!
//! # Adding
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
//! 2. runs the backfill tool once, as a Job in one site ([`job::location_job`]: the quay-app
//!    pod's image, config volume and environment), and waits for it.
//!
//! The new site itself depends on this resource, so it starts serving only once every other
//! site knows its location, with the old blobs queued for its bucket. The backfill comes
//! before the new site because it needs only the config: the workers of the running sites
//! copy into the new bucket, whether or not its site serves yet.
//!
//! # Removing
//! Quay's removal tool (quay/quay `util/removelocation.py`) "must be ran AFTER the location is
//! removed from the config.yaml file, so that images are not still being added in the
//! background to the location": it deletes the location's upload rows, its placements and its
//! row from the shared database, and nothing more (the bucket stays). It checks nothing
//! about the blobs, so a blob whose only copy is there would be lost to every site. So the
//! operation, given the sites still running and the hash of the config without the location:
//! 1. waits until every listed site serves that config, without the location, converged and
//!    rolled out, and refuses while a site prefers the location (its own location);
//! 2. runs one Job in one site: a check, with Quay's own models, that every blob placed there
//!    has another placement (else it fails with the count, deleting nothing), then the tool.
//!
//! # Resuming
//! Steps 1 and 2 are read from the clusters every round; the Job, named after the location and
//! the config hash ([`LocationRequest::job_name`]), is the record of step 2. A killed apply run
//! again finds the Job and waits for it instead of starting another; a Job that had failed
//! before this apply started is replaced (a new apply is a retry). A removal Job run twice
//! finds the location gone and succeeds.

pub mod job;
mod request;
mod step;

#[cfg(test)]
mod tests;

pub use job::{BACKFILL_MODULE, JOB_CONFIG_HASH_ANNOTATION, JOB_LOCATION_LABEL, REMOVAL_MODULE};
pub use request::{Direction, LocationInput, LocationRequest, validate};
pub use step::{
    ConfigStorage, LocationError, Next, Observation, SiteFacts, SiteView, plan_steps, step,
};
