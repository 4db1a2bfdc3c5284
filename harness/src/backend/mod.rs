//! Where the sites run: the `local` backend ([`crate::local`], simulated clusters, the
//! default) or the `kind` backend ([`kind`], real clusters in Docker).

pub mod kind;

/// The backend `up` and `demo` bring up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// Simulated clusters and local service processes, no Docker (the default).
    #[default]
    Local,
    /// Three kind clusters with the real Quay Operator and services in Docker containers.
    Kind,
}
