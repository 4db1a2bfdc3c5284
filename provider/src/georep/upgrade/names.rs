//! The names of the objects the upgrade keeps on the primary cluster, in its own module so
//! that the decisions, their errors and the plan text share them without depending on the
//! module root that re-exports them.

/// Name of the coordination.k8s.io Lease, in the primary site's namespace on its cluster.
pub const LEASE_NAME: &str = "quay-georep-upgrade";

/// Name of the progress ConfigMap, in the primary site's namespace on its cluster.
pub const PROGRESS_CONFIG_MAP: &str = "quay-georep-upgrade-progress";
