//! The go-plugin handshake: how Terraform and this process agree to talk.
//!
//! Terraform starts the provider with a few environment variables and reads exactly one line
//! from its stdout. This file holds the pure pieces of that exchange, each taking the
//! environment values as arguments so they can be tested without touching the process
//! environment:
//!
//! - [`is_launched_by_terraform`]: the magic cookie check,
//! - [`negotiate_protocol`]: picking protocol 5 from `PLUGIN_PROTOCOL_VERSIONS`,
//! - [`Ports`]: the `PLUGIN_MIN_PORT` / `PLUGIN_MAX_PORT` range, and [`bind`] to listen in it,
//! - [`HandshakeLine`]: the `1|5|tcp|127.0.0.1:<port>|grpc|<cert>` line, and [`announce`].
//!
//! It does not read the environment, generate certificates or serve gRPC: see
//! [`crate::plugin::serve()`] and [`crate::plugin::tls`].

use std::fmt;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::num::ParseIntError;

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use tokio::net::TcpListener;

/// Name of the environment variable carrying the magic cookie.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";

/// The value Terraform (and OpenTofu) put in [`MAGIC_COOKIE_KEY`]. It is not a secret: it only
/// tells a plugin that a plugin host, not a person, started it.
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// Name of the environment variable listing the app protocol versions the host speaks.
pub const PROTOCOL_VERSIONS_KEY: &str = "PLUGIN_PROTOCOL_VERSIONS";

/// Name of the environment variable holding the lowest port the host wants us to use.
pub const MIN_PORT_KEY: &str = "PLUGIN_MIN_PORT";

/// Name of the environment variable holding the highest port the host wants us to use.
pub const MAX_PORT_KEY: &str = "PLUGIN_MAX_PORT";

/// Name of the environment variable holding the host's client certificate (PEM) for AutoMTLS.
pub const CLIENT_CERT_KEY: &str = "PLUGIN_CLIENT_CERT";

/// The go-plugin core protocol version: the first field of the handshake line.
pub const CORE_PROTOCOL_VERSION: u32 = 1;

/// The Terraform plugin protocol major version this provider serves (tfplugin5).
pub const PROTOCOL_VERSION: u32 = 5;

/// What the binary prints, as its only output, when a person runs it by hand.
pub const RUN_BY_HAND_HELP: &str = "This is a Terraform provider plugin, meant to be started \
by Terraform rather than run by hand: to use this build, add a dev_overrides entry \
\"registry.terraform.io/quay-georep/quay\" = \"<directory of this binary>\" to the \
provider_installation block of your Terraform CLI config (TF_CLI_CONFIG_FILE) and run \
terraform plan, or run it with --debug and export the TF_REATTACH_PROVIDERS line it prints.";

/// What can go wrong during the handshake.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The host offered protocol versions, but not ours.
    #[error(
        "the plugin host offers protocol versions {offered:?} ({PROTOCOL_VERSIONS_KEY}) but \
         this provider speaks only protocol {PROTOCOL_VERSION}; use Terraform 0.12 or later, \
         or OpenTofu"
    )]
    ProtocolNotOffered {
        /// The raw value of `PLUGIN_PROTOCOL_VERSIONS`.
        offered: String,
    },
    /// An entry of `PLUGIN_PROTOCOL_VERSIONS` is not a number.
    #[error("protocol version {item:?} in {PROTOCOL_VERSIONS_KEY}={offered:?} is not a number")]
    InvalidProtocolVersion {
        /// The raw value of `PLUGIN_PROTOCOL_VERSIONS`.
        offered: String,
        /// The entry that failed to parse.
        item: String,
        /// Why it failed.
        #[source]
        source: ParseIntError,
    },
    /// A port bound is not a port number.
    #[error("{key}={value:?} is not a port number")]
    InvalidPort {
        /// The variable name.
        key: &'static str,
        /// Its value.
        value: String,
        /// Why it failed.
        #[source]
        source: ParseIntError,
    },
    /// Only one of the two port bounds is set.
    #[error("{set} is set but {unset} is not; set both or neither")]
    HalfPortRange {
        /// The variable that is set.
        set: &'static str,
        /// The variable that is missing.
        unset: &'static str,
    },
    /// The port range is empty.
    #[error("{MIN_PORT_KEY}={min} is greater than {MAX_PORT_KEY}={max}")]
    EmptyPortRange {
        /// The lower bound.
        min: u16,
        /// The upper bound.
        max: u16,
    },
    /// No port in the range could be bound on 127.0.0.1.
    #[error("no free port on 127.0.0.1 in {ports}")]
    Bind {
        /// The range that was tried.
        ports: Ports,
        /// The error from the last port tried.
        #[source]
        source: std::io::Error,
    },
    /// The handshake line could not be written to stdout.
    #[error("write the handshake line to stdout")]
    Announce(#[source] std::io::Error),
}

/// Whether the magic cookie shows that a plugin host started this process.
///
/// `cookie` is the value of [`MAGIC_COOKIE_KEY`], `None` when unset.
#[must_use]
pub fn is_launched_by_terraform(cookie: Option<&str>) -> bool {
    cookie == Some(MAGIC_COOKIE_VALUE)
}

/// Picks the app protocol version from the host's offer.
///
/// `offered` is the value of [`PROTOCOL_VERSIONS_KEY`]: a comma-separated list in any order
/// (Terraform sends `5,6` or `6,5`). When it is unset or empty the host predates version
/// negotiation and we assume [`PROTOCOL_VERSION`].
///
/// # Errors
///
/// [`Error::InvalidProtocolVersion`] when an entry is not a number, and
/// [`Error::ProtocolNotOffered`] when [`PROTOCOL_VERSION`] is not in the list.
pub fn negotiate_protocol(offered: Option<&str>) -> Result<u32, Error> {
    let Some(raw) = offered.filter(|raw| !raw.trim().is_empty()) else {
        return Ok(PROTOCOL_VERSION);
    };
    let mut found = false;
    for item in raw
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        let version: u32 = item
            .parse()
            .map_err(|source| Error::InvalidProtocolVersion {
                offered: raw.to_owned(),
                item: item.to_owned(),
                source,
            })?;
        found |= version == PROTOCOL_VERSION;
    }
    if found {
        Ok(PROTOCOL_VERSION)
    } else {
        Err(Error::ProtocolNotOffered {
            offered: raw.to_owned(),
        })
    }
}

/// Which local ports the listener may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ports {
    /// Any port the kernel picks (bind port 0).
    Any,
    /// A port within this range.
    Range(PortRange),
}

/// A non-empty, inclusive range of ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    min: u16,
    max: u16,
}

impl PortRange {
    /// A range from `min` to `max`, both included.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyPortRange`] when `min > max`.
    pub fn new(min: u16, max: u16) -> Result<Self, Error> {
        if min > max {
            return Err(Error::EmptyPortRange { min, max });
        }
        Ok(Self { min, max })
    }

    /// The lowest port of the range.
    #[must_use]
    pub fn min(self) -> u16 {
        self.min
    }

    /// The highest port of the range.
    #[must_use]
    pub fn max(self) -> u16 {
        self.max
    }
}

impl Ports {
    /// The ports allowed by `PLUGIN_MIN_PORT` and `PLUGIN_MAX_PORT` (`None` or empty: unset).
    ///
    /// Both unset means [`Ports::Any`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPort`] for a value that is not a port number, [`Error::HalfPortRange`]
    /// when only one bound is set and [`Error::EmptyPortRange`] when `min > max`.
    pub fn from_env_values(min: Option<&str>, max: Option<&str>) -> Result<Self, Error> {
        let min = parse_port(MIN_PORT_KEY, min)?;
        let max = parse_port(MAX_PORT_KEY, max)?;
        match (min, max) {
            (None, None) => Ok(Self::Any),
            (Some(min), Some(max)) => Ok(Self::Range(PortRange::new(min, max)?)),
            (Some(_), None) => Err(Error::HalfPortRange {
                set: MIN_PORT_KEY,
                unset: MAX_PORT_KEY,
            }),
            (None, Some(_)) => Err(Error::HalfPortRange {
                set: MAX_PORT_KEY,
                unset: MIN_PORT_KEY,
            }),
        }
    }
}

impl fmt::Display for Ports {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("any port"),
            Self::Range(range) => write!(f, "ports {}..={}", range.min, range.max),
        }
    }
}

fn parse_port(key: &'static str, value: Option<&str>) -> Result<Option<u16>, Error> {
    let Some(value) = value.map(str::trim).filter(|value| !value.is_empty()) else {
        return Ok(None);
    };
    value
        .parse()
        .map(Some)
        .map_err(|source| Error::InvalidPort {
            key,
            value: value.to_owned(),
            source,
        })
}

/// Binds a TCP listener on 127.0.0.1 at the first free port allowed by `ports`.
///
/// # Errors
///
/// [`Error::Bind`] when no allowed port can be bound; it carries the last failure.
pub async fn bind(ports: Ports) -> Result<TcpListener, Error> {
    let candidates = match ports {
        Ports::Any => 0..=0,
        Ports::Range(range) => range.min..=range.max,
    };
    let mut last_error = None;
    for port in candidates {
        match TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
            Ok(listener) => return Ok(listener),
            Err(error) => last_error = Some(error),
        }
    }
    Err(Error::Bind {
        ports,
        source: last_error.expect("a non-empty range was tried at least once"),
    })
}

/// The one line a go-plugin server prints on stdout once it is listening.
///
/// Its `Display` form is `1|5|tcp|<addr>|grpc`, followed by `|<cert>` when serving TLS, where
/// `<cert>` is the server certificate's DER in base64 without padding (Go's
/// `RawStdEncoding`; padding makes Terraform reject the line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeLine {
    /// The address the listener is bound to.
    pub addr: SocketAddr,
    /// The DER of the server certificate when serving TLS, `None` for plaintext.
    pub server_cert_der: Option<Vec<u8>>,
}

impl fmt::Display for HandshakeLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{CORE_PROTOCOL_VERSION}|{PROTOCOL_VERSION}|tcp|{}|grpc",
            self.addr
        )?;
        if let Some(der) = &self.server_cert_der {
            write!(f, "|{}", STANDARD_NO_PAD.encode(der))?;
        }
        Ok(())
    }
}

/// Writes `line` and a newline to `out` and flushes it.
///
/// Call it only once the listener is ready: Terraform connects as soon as it reads the line.
///
/// # Errors
///
/// [`Error::Announce`] when writing or flushing fails.
pub fn announce(line: &HandshakeLine, mut out: impl Write) -> Result<(), Error> {
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(Error::Announce)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_the_terraform_magic_cookie() {
        assert!(is_launched_by_terraform(Some(MAGIC_COOKIE_VALUE)));
        assert!(!is_launched_by_terraform(None));
        assert!(!is_launched_by_terraform(Some("")));
        assert!(!is_launched_by_terraform(Some("d602bf8f")));
    }

    #[test]
    fn negotiates_protocol_5_whatever_the_order() {
        assert_eq!(negotiate_protocol(Some("5,6")).unwrap(), 5);
        assert_eq!(negotiate_protocol(Some("6,5")).unwrap(), 5);
        assert_eq!(negotiate_protocol(Some(" 6 , 5 ")).unwrap(), 5);
        assert_eq!(negotiate_protocol(Some("5")).unwrap(), 5);
    }

    #[test]
    fn assumes_protocol_5_when_the_host_offers_no_list() {
        assert_eq!(negotiate_protocol(None).unwrap(), 5);
        assert_eq!(negotiate_protocol(Some("")).unwrap(), 5);
    }

    #[test]
    fn refuses_a_host_that_does_not_offer_protocol_5_and_names_its_offer() {
        let error = negotiate_protocol(Some("6,4")).unwrap_err();
        assert!(matches!(&error, Error::ProtocolNotOffered { offered } if offered == "6,4"));
        let message = error.to_string();
        assert!(message.contains("\"6,4\""), "{message}");
        assert!(message.contains("only protocol 5"), "{message}");
    }

    #[test]
    fn rejects_a_protocol_version_that_is_not_a_number() {
        let error = negotiate_protocol(Some("5,six")).unwrap_err();
        assert!(
            matches!(&error, Error::InvalidProtocolVersion { item, .. } if item == "six"),
            "{error:?}"
        );
    }

    #[test]
    fn uses_any_port_when_no_range_is_set() {
        assert_eq!(Ports::from_env_values(None, None).unwrap(), Ports::Any);
        assert_eq!(
            Ports::from_env_values(Some(""), Some("")).unwrap(),
            Ports::Any
        );
    }

    #[test]
    fn reads_the_port_range_terraform_sets() {
        let ports = Ports::from_env_values(Some("10000"), Some("25000")).unwrap();
        assert_eq!(ports, Ports::Range(PortRange::new(10000, 25000).unwrap()));
        assert_eq!(ports.to_string(), "ports 10000..=25000");
    }

    #[test]
    fn rejects_a_port_that_is_not_a_number() {
        let error = Ports::from_env_values(Some("10000"), Some("99999")).unwrap_err();
        assert!(
            matches!(&error, Error::InvalidPort { key, value, .. }
                if *key == MAX_PORT_KEY && value == "99999"),
            "{error:?}"
        );
    }

    #[test]
    fn rejects_half_a_port_range() {
        let error = Ports::from_env_values(Some("10000"), None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "PLUGIN_MIN_PORT is set but PLUGIN_MAX_PORT is not; set both or neither"
        );
    }

    #[test]
    fn rejects_an_empty_port_range() {
        let error = Ports::from_env_values(Some("20000"), Some("10000")).unwrap_err();
        assert!(matches!(
            error,
            Error::EmptyPortRange {
                min: 20000,
                max: 10000
            }
        ));
    }

    #[tokio::test]
    async fn binds_loopback_within_the_range() {
        // Find a port that is free right now, then ask for a range holding only it.
        let probe = bind(Ports::Any).await.unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        let range = PortRange::new(port, port).unwrap();
        let listener = bind(Ports::Range(range)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        assert_eq!(addr.ip(), Ipv4Addr::LOCALHOST);
        assert_eq!(addr.port(), port);
    }

    #[tokio::test]
    async fn reports_the_range_when_every_port_is_taken() {
        let taken = bind(Ports::Any).await.unwrap();
        let port = taken.local_addr().unwrap().port();
        let range = PortRange::new(port, port).unwrap();
        let error = bind(Ports::Range(range)).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("no free port on 127.0.0.1 in ports {port}..={port}")
        );
    }

    #[test]
    fn formats_a_plaintext_handshake_without_a_cert_field() {
        let line = HandshakeLine {
            addr: "127.0.0.1:41234".parse().unwrap(),
            server_cert_der: None,
        };
        assert_eq!(line.to_string(), "1|5|tcp|127.0.0.1:41234|grpc");
    }

    #[test]
    fn formats_the_cert_as_unpadded_base64() {
        // Five bytes encode to 7 base64 characters, which standard base64 pads with one '='.
        let line = HandshakeLine {
            addr: "127.0.0.1:10000".parse().unwrap(),
            server_cert_der: Some(vec![0x30, 0x82, 0x01, 0x0a, 0xff]),
        };
        assert_eq!(line.to_string(), "1|5|tcp|127.0.0.1:10000|grpc|MIIBCv8");
    }

    #[test]
    fn announces_exactly_one_line() {
        let line = HandshakeLine {
            addr: "127.0.0.1:10000".parse().unwrap(),
            server_cert_der: None,
        };
        let mut out = Vec::new();
        announce(&line, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "1|5|tcp|127.0.0.1:10000|grpc\n"
        );
    }
}
