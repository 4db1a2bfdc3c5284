//! The kind cluster configs of `kind-configs/`: a typed model of the part of kind's
//! `kind.x-k8s.io/v1alpha4` `Cluster` we use, and the invariants three clusters on one
//! Docker host need.
//!
//! The model refuses unknown fields, so a config that sets something the backend does not
//! know about fails here, not halfway through `kind create cluster`. It is not kind's whole
//! schema (kind's `pkg/apis/config/v1alpha4/types.go` has more fields): add a field here
//! before using it in a config.
//!
//! [`check_sites`] holds the rules: one control plane per cluster, a node image pinned by
//! version and `sha256` digest, the API server on loopback, an ingress-ready node publishing
//! ports 80 and 443, and no subnet, cluster name or host port used twice.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The API version every config must have.
pub const API_VERSION: &str = "kind.x-k8s.io/v1alpha4";
/// The node label ingress-nginx's kind manifest schedules its controller onto.
pub const INGRESS_READY_LABEL: &str = "ingress-ready";

/// A config file that could not be read or breaks a rule.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("read kind config {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a `Cluster` of the model (unknown field, wrong type, bad YAML).
    #[error("parse kind config {}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// The file parses but breaks a rule of [`check_sites`].
    #[error("kind config {}: {rule}", path.display())]
    Rule {
        /// The file.
        path: PathBuf,
        /// The rule, with the values that break it.
        rule: String,
    },
}

/// A kind `Cluster` (`kind.x-k8s.io/v1alpha4`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Cluster {
    /// Always `Cluster`.
    pub kind: String,
    /// Always [`API_VERSION`].
    pub api_version: String,
    /// The cluster name (`kind create cluster --name`); kind's context is `kind-<name>`.
    pub name: String,
    /// Networking.
    pub networking: Networking,
    /// The nodes.
    pub nodes: Vec<Node>,
}

/// `networking` of a [`Cluster`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Networking {
    /// Where the API server is published on the host.
    pub api_server_address: String,
    /// The API server's host port.
    pub api_server_port: u16,
    /// The pod CIDR.
    pub pod_subnet: String,
    /// The service CIDR.
    pub service_subnet: String,
}

/// One node of a [`Cluster`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Node {
    /// `control-plane` or `worker`.
    pub role: Role,
    /// The node image, `kindest/node:<version>@sha256:<digest>`.
    pub image: String,
    /// Node labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Ports of the node container published on the host.
    #[serde(default)]
    pub extra_port_mappings: Vec<PortMapping>,
}

/// A node's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Runs the control plane.
    ControlPlane,
    /// A worker.
    Worker,
}

/// One `extraPortMappings` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PortMapping {
    /// The port in the node container.
    pub container_port: u16,
    /// The port on the host.
    pub host_port: u16,
    /// The host address it is published on.
    pub listen_address: String,
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: String,
}

impl Cluster {
    /// Parses a config; `path` only names it in errors.
    ///
    /// # Errors
    /// [`Error::Parse`].
    pub fn parse(path: &Path, text: &str) -> Result<Self, Error> {
        serde_saphyr::from_str(text).map_err(|e| Error::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// Reads and parses a config file.
    ///
    /// # Errors
    /// [`Error::Read`] or [`Error::Parse`].
    pub fn read(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// kind's kubeconfig context for this cluster.
    #[must_use]
    pub fn kind_context(&self) -> String {
        format!("kind-{}", self.name)
    }

    /// The host port the ingress-ready node publishes `container_port` on (80 or 443).
    #[must_use]
    pub fn ingress_host_port(&self, container_port: u16) -> Option<u16> {
        self.nodes
            .iter()
            .filter(|n| n.is_ingress_ready())
            .flat_map(|n| &n.extra_port_mappings)
            .find(|m| m.container_port == container_port)
            .map(|m| m.host_port)
    }
}

impl Node {
    /// Whether the node carries `ingress-ready=true`.
    #[must_use]
    pub fn is_ingress_ready(&self) -> bool {
        self.labels.get(INGRESS_READY_LABEL).map(String::as_str) == Some("true")
    }
}

/// Whether `image` is pinned by version tag and digest: `<repo>:v<x.y.z>@sha256:<64 hex>`.
#[must_use]
pub fn is_pinned_image(image: &str) -> bool {
    let Some((reference, digest)) = image.split_once("@sha256:") else {
        return false;
    };
    let Some((_, tag)) = reference.rsplit_once(':') else {
        return false;
    };
    let version = tag.strip_prefix('v').unwrap_or("");
    let is_version = version.split('.').count() == 3
        && version
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    is_version && digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The config of each site: `<dir>/<site>.yaml`, read and checked together.
///
/// # Errors
/// The first [`Error`] of any file, or [`Error::Rule`] naming the file that breaks a rule
/// ([`check_sites`]).
pub fn read_sites(dir: &Path, sites: &[String]) -> Result<Vec<(PathBuf, Cluster)>, Error> {
    let configs = sites
        .iter()
        .map(|site| {
            let path = dir.join(format!("{site}.yaml"));
            Cluster::read(&path).map(|c| (path, c))
        })
        .collect::<Result<Vec<_>, _>>()?;
    check_sites(&configs)?;
    Ok(configs)
}

/// A subnet already claimed: its text, its address range, and the config claiming it.
type Claimed<'a> = (String, ((u32, u32), &'a Path));

/// Checks each config's own rules, then that no two share a name, subnet or host port.
///
/// # Errors
/// [`Error::Rule`] for the first broken rule.
pub fn check_sites(configs: &[(PathBuf, Cluster)]) -> Result<(), Error> {
    let mut seen: HashMap<String, &Path> = HashMap::new();
    let mut subnets: Vec<Claimed<'_>> = Vec::new();
    for (path, cluster) in configs {
        let rule = |rule: String| Error::Rule {
            path: path.clone(),
            rule,
        };
        check_one(cluster).map_err(rule)?;
        let net = &cluster.networking;
        for subnet in [&net.pod_subnet, &net.service_subnet] {
            let range = parse_cidr(subnet)
                .ok_or_else(|| rule(format!("subnet {subnet} is not an IPv4 CIDR")))?;
            if let Some((other, other_path)) = subnets
                .iter()
                .find(|(_, (r, _))| ranges_overlap(*r, range))
                .map(|(s, (_, p))| (s.clone(), *p))
            {
                return Err(rule(format!(
                    "subnet {subnet} overlaps {other} of {}",
                    other_path.display()
                )));
            }
            subnets.push((subnet.clone(), (range, path)));
        }
        let mut claims = vec![
            format!("cluster name {}", cluster.name),
            format!(
                "host port {}:{}",
                net.api_server_address, net.api_server_port
            ),
        ];
        for node in &cluster.nodes {
            for m in &node.extra_port_mappings {
                claims.push(format!("host port {}:{}", m.listen_address, m.host_port));
            }
        }
        for claim in claims {
            if let Some(other) = seen.get(&claim) {
                return Err(rule(format!(
                    "{claim} is already used by {}",
                    other.display()
                )));
            }
            seen.insert(claim, path);
        }
    }
    Ok(())
}

/// The first and last address of an IPv4 CIDR (`10.10.0.0/16`).
fn parse_cidr(cidr: &str) -> Option<(u32, u32)> {
    let (addr, len) = cidr.split_once('/')?;
    let addr: std::net::Ipv4Addr = addr.parse().ok()?;
    let len: u32 = len.parse().ok()?;
    if len > 32 {
        return None;
    }
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    let first = u32::from(addr) & mask;
    Some((first, first | !mask))
}

fn ranges_overlap(a: (u32, u32), b: (u32, u32)) -> bool {
    a.0 <= b.1 && b.0 <= a.1
}

fn check_one(cluster: &Cluster) -> Result<(), String> {
    if cluster.kind != "Cluster" || cluster.api_version != API_VERSION {
        return Err(format!(
            "kind {} apiVersion {} is not Cluster {API_VERSION}",
            cluster.kind, cluster.api_version
        ));
    }
    let control_planes = cluster
        .nodes
        .iter()
        .filter(|n| n.role == Role::ControlPlane)
        .count();
    if control_planes != 1 {
        return Err(format!(
            "has {control_planes} control-plane nodes, needs exactly one"
        ));
    }
    if let Some(node) = cluster.nodes.iter().find(|n| !is_pinned_image(&n.image)) {
        return Err(format!(
            "node image {} is not pinned as kindest/node:v<x.y.z>@sha256:<digest>",
            node.image
        ));
    }
    let net = &cluster.networking;
    if net.api_server_address != "127.0.0.1" {
        return Err(format!(
            "apiServerAddress {} is not loopback (127.0.0.1)",
            net.api_server_address
        ));
    }
    for port in [80, 443] {
        if cluster.ingress_host_port(port).is_none() {
            return Err(format!(
                "no node labelled {INGRESS_READY_LABEL}=true publishes container port {port}"
            ));
        }
    }
    if let Some(m) = cluster
        .nodes
        .iter()
        .flat_map(|n| &n.extra_port_mappings)
        .find(|m| m.listen_address != "127.0.0.1")
    {
        return Err(format!(
            "host port {} listens on {}, not loopback",
            m.host_port, m.listen_address
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
