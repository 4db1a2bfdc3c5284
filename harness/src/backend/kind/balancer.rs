//! The global load balancers of the kind backend: one HAProxy container for Quay and one for
//! Clair, each in front of every site, as a global load balancer fronts the regions of a
//! geo-replicated Quay. The local backend's [`crate::lb`] model is their simulated
//! counterpart, and the conformance suite reads both the same way.
//!
//! Each balancer health-checks every site (`/health/instance` for Quay, `/healthz` for Clair,
//! with the global name as `Host` and TLS server name, as a user's load balancer would reach
//! the site's ingress), routes only to sites whose check passes, sends the global name as
//! `Host` upstream, and names the site that answered in the [`crate::lb::SITE_HEADER`]
//! response header. With no healthy site it answers 503.
//!
//! On kind a site is reached at its node container on the kind network
//! (`<cluster>-control-plane`), where ingress-nginx listens: Quay over TLS on 443, Clair on 80.
//! Pure: the HAProxy configuration and the [`Container`] are data.

use std::fmt::Write as _;
use std::path::Path;

use super::container::{Container, Placement};
use super::process::Cmd;
use crate::lb::SITE_HEADER;

/// The Quay balancer's container.
pub const QUAY_LB: &str = "georep-lb-quay";
/// The Clair balancer's container.
pub const CLAIR_LB: &str = "georep-lb-clair";
/// The port HAProxy listens on inside its container. Above 1024: the official image runs
/// HAProxy as a user that may not bind lower ports.
pub const LISTEN_PORT: u16 = 8080;
/// Where the official image (and ours) reads its configuration.
pub const CONFIG_PATH: &str = "/usr/local/etc/haproxy/haproxy.cfg";
/// How often a site is checked; two failures take it out, two successes bring it back.
pub const CHECK_INTERVAL_MS: u32 = 250;

/// One site behind a balancer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    /// The site's name: HAProxy's server name, and the [`SITE_HEADER`] value.
    pub site: String,
    /// `host:port` on the balancer's network.
    pub address: String,
    /// Whether the site is reached over TLS (certificate not verified: the sites' own
    /// certificates are self-signed in the harness).
    pub tls: bool,
}

/// One global load balancer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalLb {
    /// The container's name.
    pub name: String,
    /// The global name, sent as `Host` and TLS server name.
    pub hostname: String,
    /// The health check's path.
    pub health_path: String,
    /// The loopback port the balancer is published on (with fixed ports).
    pub host_port: u16,
    /// The sites, in order.
    pub backends: Vec<Backend>,
}

/// `<cluster>-control-plane`: the node container kind names after a one-node cluster.
fn node(cluster: &str) -> String {
    format!("{cluster}-control-plane")
}

impl GlobalLb {
    /// Quay's balancer in front of `sites` (`(site, kind cluster name)`): each site's
    /// ingress over TLS, checked at `/health/instance`; published on loopback port 17080.
    #[must_use]
    pub fn quay(hostname: &str, sites: &[(String, String)]) -> Self {
        Self::in_front_of(QUAY_LB, hostname, "/health/instance", 17080, sites, true)
    }

    /// Clair's balancer in front of `sites`: each site's ingress over plain HTTP, checked at
    /// `/healthz`; published on loopback port 17081.
    #[must_use]
    pub fn clair(hostname: &str, sites: &[(String, String)]) -> Self {
        Self::in_front_of(CLAIR_LB, hostname, "/healthz", 17081, sites, false)
    }

    /// A balancer in front of every site's node container, on 443 with `tls`, else 80.
    fn in_front_of(
        name: &str,
        hostname: &str,
        health_path: &str,
        host_port: u16,
        sites: &[(String, String)],
        tls: bool,
    ) -> Self {
        let port = if tls { 443 } else { 80 };
        Self {
            name: name.to_owned(),
            hostname: hostname.to_owned(),
            health_path: health_path.to_owned(),
            host_port,
            backends: sites
                .iter()
                .map(|(site, cluster)| Backend {
                    site: site.clone(),
                    address: format!("{}:{port}", node(cluster)),
                    tls,
                })
                .collect(),
        }
    }

    /// The URL the host reaches the balancer at, with fixed ports.
    #[must_use]
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.host_port)
    }

    /// HAProxy's configuration (HAProxy 2.6 or newer).
    #[must_use]
    pub fn haproxy_cfg(&self) -> String {
        let host = &self.hostname;
        let mut cfg = format!(
            "# Written by georep-harness: the global load balancer for {host}.\n\
             # Routes only to sites whose health check ({path}) passes.\n\
             global\n    \
                 log stdout format raw local0 notice\n\
             \n\
             # Docker's DNS on user-defined networks: a site's container may come back with\n\
             # another address, and a stopped one's address may go to another container, so a\n\
             # name that no longer resolves takes its server out within a second.\n\
             resolvers docker\n    \
                 nameserver dns 127.0.0.11:53\n    \
                 hold valid 1s\n    \
                 hold nx 1s\n    \
                 hold obsolete 1s\n\
             \n\
             defaults\n    \
                 mode http\n    \
                 log global\n    \
                 timeout connect 2s\n    \
                 timeout client 60s\n    \
                 timeout server 60s\n    \
                 timeout check 2s\n    \
                 # A request sent to a site that has just gone, or whose ingress has no ready\n    \
                 # pod behind it yet, is tried again on another site.\n    \
                 option redispatch 1\n    \
                 retries 2\n    \
                 retry-on conn-failure empty-response response-timeout 502 503\n\
             \n\
             frontend global\n    \
                 bind :{LISTEN_PORT}\n    \
                 default_backend sites\n\
             \n\
             backend sites\n    \
                 balance roundrobin\n    \
                 option httpchk\n    \
                 http-check send meth GET uri {path} ver HTTP/1.1 hdr Host {host}\n    \
                 http-check expect status 200\n    \
                 http-request set-header Host {host}\n    \
                 http-response set-header {SITE_HEADER} %s\n    \
                 default-server check inter {CHECK_INTERVAL_MS} fall 2 rise 2 \
                 init-addr libc,none resolvers docker resolve-prefer ipv4\n",
            path = self.health_path,
        );
        for backend in &self.backends {
            let _ = write!(cfg, "    server {} {}", backend.site, backend.address);
            if backend.tls {
                let _ = write!(cfg, " ssl verify none sni str({host}) check-sni {host}");
            }
            cfg.push('\n');
        }
        cfg
    }

    /// The balancer's container: `image` (HAProxy's interface: the configuration at
    /// [`CONFIG_PATH`]) with `config` mounted there.
    #[must_use]
    pub fn container(&self, image: &str, config: &Path) -> Container {
        Container {
            name: self.name.clone(),
            image: image.to_owned(),
            site: None,
            env: Vec::new(),
            ports: vec![(self.host_port, LISTEN_PORT)],
            mounts: vec![(config.display().to_string(), CONFIG_PATH.to_owned())],
            args: Vec::new(),
            secrets: Vec::new(),
            placement: Placement::kind(),
        }
    }

    /// Makes a running HAProxy load its configuration again: `SIGUSR2` to its master process
    /// (master-worker mode, `-W`, as the official image and ours run it).
    #[must_use]
    pub fn reload_cmd(&self) -> Cmd {
        Cmd::new("docker", ["kill", "--signal", "USR2", &self.name])
    }

    /// Succeeds once HAProxy in the container accepts its configuration.
    #[must_use]
    pub fn ready_cmd(&self) -> Cmd {
        Cmd::new(
            "docker",
            ["exec", &self.name, "haproxy", "-c", "-q", "-f", CONFIG_PATH],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sites() -> Vec<(String, String)> {
        vec![
            ("us-east".to_owned(), "georep-us-east".to_owned()),
            ("eu-west".to_owned(), "georep-eu-west".to_owned()),
        ]
    }

    #[test]
    fn quay_checks_every_site_over_tls_with_the_global_name() {
        let cfg = GlobalLb::quay("quay.example.com", &sites()).haproxy_cfg();
        assert!(
            cfg.contains(
                "http-check send meth GET uri /health/instance ver HTTP/1.1 hdr Host quay.example.com\n"
            ),
            "{cfg}"
        );
        assert!(
            cfg.contains(
                "    server us-east georep-us-east-control-plane:443 ssl verify none \
                 sni str(quay.example.com) check-sni quay.example.com\n"
            ),
            "{cfg}"
        );
        assert!(
            cfg.contains("server eu-west georep-eu-west-control-plane:443 ssl"),
            "{cfg}"
        );
        assert!(cfg.contains("http-request set-header Host quay.example.com\n"));
        assert!(cfg.contains(&format!("http-response set-header {SITE_HEADER} %s\n")));
    }

    #[test]
    fn clair_checks_healthz_over_plain_http() {
        let cfg = GlobalLb::clair("clair.example.com", &sites()).haproxy_cfg();
        assert!(cfg.contains("uri /healthz ver HTTP/1.1 hdr Host clair.example.com\n"));
        assert!(
            cfg.contains("    server us-east georep-us-east-control-plane:80\n"),
            "{cfg}"
        );
        assert!(!cfg.contains("ssl"), "{cfg}");
    }

    #[test]
    fn the_two_balancers_do_not_share_a_port_or_a_name() {
        let (q, c) = (
            GlobalLb::quay("q", &sites()),
            GlobalLb::clair("c", &sites()),
        );
        assert_ne!(q.host_port, c.host_port);
        assert_ne!(q.name, c.name);
        let run = q
            .container("haproxy:2.8", Path::new("/s/lb-quay.cfg"))
            .run_cmd()
            .shell();
        assert!(
            run.contains("--publish 127.0.0.1:17080:8080 --volume /s/lb-quay.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro haproxy:2.8"),
            "{run}"
        );
    }
}
