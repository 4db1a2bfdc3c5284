//! Where the sites run: the `local` backend ([`crate::local`], simulated clusters, the
//! default) or the `kind` backend ([`kind`], real clusters in Docker).

pub mod kind;

use std::path::PathBuf;

/// The backend `up` and `demo` bring up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// Simulated clusters and local service processes, no Docker (the default).
    #[default]
    Local,
    /// Three kind clusters with the real Quay Operator and services in Docker containers.
    Kind,
}

/// Where the sites run, and the kind backend's options (ignored by `local`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct BackendArgs {
    /// `local` (simulated clusters, no Docker) or `kind` (real clusters in Docker, with the
    /// real Quay Operator).
    #[arg(long, value_enum, default_value_t)]
    pub backend: Backend,
    /// kind: print every command, manifest and file the run would use, and run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// kind: reuse clusters and containers a previous `up` made (default: refuse them).
    #[arg(long)]
    pub reuse: bool,
    /// kind: the directory of `<site>.yaml` kind configs. Default: `<repo>/kind-configs`.
    #[arg(long)]
    pub kind_configs: Option<PathBuf>,
    /// kind: the Quay Operator's OLM bundle `manifests/` directory. Default:
    /// `<repo>/.cache/quay-operator/<version>/manifests` (scripts/fetch-operator-bundle.sh).
    #[arg(long, env = "GEOREP_OPERATOR_BUNDLE")]
    pub operator_bundle: Option<PathBuf>,
}
