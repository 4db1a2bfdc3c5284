//! [`Hostname`] and [`HostPort`]: host names as Quay and Kubernetes accept them.
//!
//! A [`Hostname`] is a DNS name made of RFC 1123 labels (letters, digits, hyphens; 1 to 63
//! characters; no hyphen at either end; 253 characters in all), or an IPv4 address. Names must
//! be lowercase because `SERVER_HOSTNAME` becomes a Route host, and Kubernetes only accepts
//! lowercase DNS names there. A trailing dot, IPv6 literals and internationalised names in
//! Unicode form are refused (write them in punycode). A [`HostPort`] adds an optional `:port`
//! in 1..=65535; a scheme, a path or user info is refused with an error that says so.
//!
//! Parsing only; this module does not resolve names.

use std::fmt;
use std::net::Ipv4Addr;

/// Why a host name or `host:port` was refused. Each variant carries the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The value is empty.
    #[error("the value is empty")]
    Empty,
    /// The value starts with a URL scheme such as `https://`.
    #[error("`{input}` includes the scheme `{scheme}://`")]
    Scheme {
        /// The value given.
        input: String,
        /// The scheme found before `://`.
        scheme: String,
    },
    /// The value contains a `/`, a `?` or a `#`.
    #[error("`{input}` includes a path")]
    Path {
        /// The value given.
        input: String,
    },
    /// The value contains `@`.
    #[error("`{input}` includes user information before `@`")]
    Userinfo {
        /// The value given.
        input: String,
    },
    /// The value looks like an IPv6 address.
    #[error("`{input}` looks like an IPv6 address, which is not supported")]
    Ipv6 {
        /// The value given.
        input: String,
    },
    /// The port after `:` is not a number in 1..=65535.
    #[error("`{input}` has port `{port}`, which is not a number from 1 to 65535")]
    Port {
        /// The value given.
        input: String,
        /// The text after the last `:`.
        port: String,
    },
    /// The host name contains uppercase letters.
    #[error("`{input}` contains uppercase letters")]
    Uppercase {
        /// The value given.
        input: String,
    },
    /// The host name ends with a dot.
    #[error("`{input}` ends with a dot")]
    TrailingDot {
        /// The value given.
        input: String,
    },
    /// The host name is longer than 253 characters.
    #[error("the host name is {len} characters long, more than 253")]
    TooLong {
        /// The length seen.
        len: usize,
    },
    /// One label (the text between dots) breaks RFC 1123.
    #[error("`{input}` has label `{label}`, which {problem}")]
    Label {
        /// The value given.
        input: String,
        /// The offending label.
        label: String,
        /// What is wrong with it.
        problem: LabelProblem,
    },
    /// The last label is all digits but the whole is not an IPv4 address.
    #[error("`{input}` is neither an IPv4 address nor a DNS name (its last label is numeric)")]
    NumericTopLabel {
        /// The value given.
        input: String,
    },
}

impl Error {
    /// The change that fixes this error, as an imperative phrase.
    pub fn fix(&self) -> &'static str {
        match self {
            Error::Empty => "set a host name such as quay.example.com",
            Error::Scheme { .. } => "remove the scheme and give the host name only",
            Error::Path { .. } => "remove everything from the first `/`, `?` or `#`",
            Error::Userinfo { .. } => "remove the user information and give the host name only",
            Error::Ipv6 { .. } => "use a DNS name or an IPv4 address",
            Error::Port { .. } => "use a port from 1 to 65535, or no port",
            Error::Uppercase { .. } => "write the host name in lowercase",
            Error::TrailingDot { .. } => "remove the trailing dot",
            Error::TooLong { .. } => "use a host name of at most 253 characters",
            Error::Label { .. } | Error::NumericTopLabel { .. } => {
                "use labels of 1 to 63 letters, digits or hyphens, not starting or ending with a hyphen"
            }
        }
    }
}

/// What is wrong with one label of a host name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelProblem {
    /// Two dots in a row, or a leading dot.
    Empty,
    /// More than 63 characters.
    TooLong,
    /// A character other than a letter, digit or hyphen.
    BadCharacter,
    /// Starts or ends with a hyphen.
    HyphenAtEdge,
}

impl fmt::Display for LabelProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LabelProblem::Empty => "is empty",
            LabelProblem::TooLong => "is longer than 63 characters",
            LabelProblem::BadCharacter => {
                "contains a character other than a letter, digit or hyphen"
            }
            LabelProblem::HyphenAtEdge => "starts or ends with a hyphen",
        })
    }
}

/// A valid lowercase DNS name or IPv4 address, without a port.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hostname(String);

impl Hostname {
    /// Parses a host name without a port.
    ///
    /// # Errors
    ///
    /// [`Error`] naming the first rule the input breaks; a `:port` is reported as
    /// [`Error::Port`] only by [`HostPort::parse`], here it is a [`LabelProblem::BadCharacter`].
    pub fn parse(input: &str) -> Result<Self, Error> {
        check_not_url(input)?;
        check_host(input, input)?;
        Ok(Self(input.to_owned()))
    }

    /// The host name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Hostname {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A [`Hostname`] with an optional port, as in `SERVER_HOSTNAME`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPort {
    host: Hostname,
    port: Option<u16>,
}

impl HostPort {
    /// Parses `host` or `host:port`.
    ///
    /// # Errors
    ///
    /// [`Error`] naming the first rule the input breaks: a scheme, a path, user info, an IPv6
    /// literal, a port outside 1..=65535, or a bad host name.
    ///
    /// # Examples
    ///
    /// ```
    /// use terraform_provider_quay::georep::config::hostname::HostPort;
    ///
    /// let hp = HostPort::parse("quay.example.com:8443").unwrap();
    /// assert_eq!(hp.port(), Some(8443));
    /// assert!(HostPort::parse("https://quay.example.com").is_err());
    /// ```
    pub fn parse(input: &str) -> Result<Self, Error> {
        check_not_url(input)?;
        let (host, port) = match input.split_once(':') {
            None => (input, None),
            Some((host, port)) => {
                if port.contains(':') || host.is_empty() {
                    return Err(Error::Ipv6 {
                        input: input.to_owned(),
                    });
                }
                let number = port
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0 && port.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| Error::Port {
                        input: input.to_owned(),
                        port: port.to_owned(),
                    })?;
                (host, Some(number))
            }
        };
        check_host(input, host)?;
        Ok(Self {
            host: Hostname(host.to_owned()),
            port,
        })
    }

    /// The host part.
    pub fn host(&self) -> &Hostname {
        &self.host
    }

    /// The port, when one was given.
    pub fn port(&self) -> Option<u16> {
        self.port
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}:{port}", self.host),
            None => write!(f, "{}", self.host),
        }
    }
}

/// Refuses the URL parts that people paste by accident: scheme, user info, path.
fn check_not_url(input: &str) -> Result<(), Error> {
    if input.is_empty() {
        return Err(Error::Empty);
    }
    if let Some((scheme, _)) = input.split_once("://") {
        return Err(Error::Scheme {
            input: input.to_owned(),
            scheme: scheme.to_owned(),
        });
    }
    if input.contains(['/', '?', '#']) {
        return Err(Error::Path {
            input: input.to_owned(),
        });
    }
    if input.contains('@') {
        return Err(Error::Userinfo {
            input: input.to_owned(),
        });
    }
    if input.starts_with('[') {
        return Err(Error::Ipv6 {
            input: input.to_owned(),
        });
    }
    Ok(())
}

/// Checks the host part (`host`) of `input` against RFC 1123 or IPv4.
fn check_host(input: &str, host: &str) -> Result<(), Error> {
    if host.is_empty() {
        return Err(Error::Empty);
    }
    if host.parse::<Ipv4Addr>().is_ok() {
        return Ok(());
    }
    if host.len() > 253 {
        return Err(Error::TooLong { len: host.len() });
    }
    if host.ends_with('.') {
        return Err(Error::TrailingDot {
            input: input.to_owned(),
        });
    }
    for label in host.split('.') {
        let problem = if label.is_empty() {
            Some(LabelProblem::Empty)
        } else if label.len() > 63 {
            Some(LabelProblem::TooLong)
        } else if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            Some(LabelProblem::BadCharacter)
        } else if label.starts_with('-') || label.ends_with('-') {
            Some(LabelProblem::HyphenAtEdge)
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(Error::Label {
                input: input.to_owned(),
                label: label.to_owned(),
                problem,
            });
        }
    }
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(Error::Uppercase {
            input: input.to_owned(),
        });
    }
    if host
        .rsplit('.')
        .next()
        .is_some_and(|top| top.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(Error::NumericTopLabel {
            input: input.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_fqdn_single_label_and_ipv4_with_or_without_port() {
        for ok in [
            "quay.global.example.com",
            "localhost",
            "127.0.0.1:30443",
            "a-b.c1.example:443",
        ] {
            assert!(HostPort::parse(ok).is_ok(), "{ok}");
        }
        let hp = HostPort::parse("127.0.0.1:30443").unwrap();
        assert_eq!(hp.host().as_str(), "127.0.0.1");
        assert_eq!(hp.to_string(), "127.0.0.1:30443");
    }

    #[test]
    fn rejects_scheme_and_names_it() {
        let err = HostPort::parse("https://quay.example.com").unwrap_err();
        assert!(matches!(&err, Error::Scheme { scheme, .. } if scheme == "https"));
        assert!(err.to_string().contains("https://"));
    }

    #[test]
    fn rejects_path_query_and_user_info() {
        assert!(matches!(
            HostPort::parse("quay.example.com/v2"),
            Err(Error::Path { .. })
        ));
        assert!(matches!(
            HostPort::parse("quay.example.com?x"),
            Err(Error::Path { .. })
        ));
        assert!(matches!(
            HostPort::parse("me@quay.example.com"),
            Err(Error::Userinfo { .. })
        ));
    }

    #[test]
    fn rejects_ports_outside_1_to_65535() {
        for bad in [
            "q.example.com:0",
            "q.example.com:65536",
            "q.example.com:http",
            "q.example.com:",
            "q.example.com:+1",
        ] {
            assert!(
                matches!(HostPort::parse(bad), Err(Error::Port { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn rejects_bad_labels_with_the_label_named() {
        let err = HostPort::parse("quay.-bad.example.com").unwrap_err();
        assert!(
            matches!(&err, Error::Label { label, problem: LabelProblem::HyphenAtEdge, .. } if label == "-bad")
        );
        assert!(matches!(
            Hostname::parse("a..b"),
            Err(Error::Label {
                problem: LabelProblem::Empty,
                ..
            })
        ));
        assert!(matches!(
            Hostname::parse("quay_east.example"),
            Err(Error::Label {
                problem: LabelProblem::BadCharacter,
                ..
            })
        ));
        let long = format!("{}.example.com", "a".repeat(64));
        assert!(matches!(
            Hostname::parse(&long),
            Err(Error::Label {
                problem: LabelProblem::TooLong,
                ..
            })
        ));
    }

    #[test]
    fn rejects_uppercase_trailing_dot_ipv6_and_numeric_top_label() {
        assert!(matches!(
            Hostname::parse("Quay.example.com"),
            Err(Error::Uppercase { .. })
        ));
        assert!(matches!(
            Hostname::parse("quay.example.com."),
            Err(Error::TrailingDot { .. })
        ));
        assert!(matches!(
            HostPort::parse("[::1]:443"),
            Err(Error::Ipv6 { .. })
        ));
        assert!(matches!(HostPort::parse("::1"), Err(Error::Ipv6 { .. })));
        assert!(matches!(
            Hostname::parse("10.0.0.300"),
            Err(Error::NumericTopLabel { .. })
        ));
        assert!(matches!(Hostname::parse(""), Err(Error::Empty)));
    }

    #[test]
    fn hostname_without_port_refuses_a_port() {
        assert!(Hostname::parse("minio.example.com:9000").is_err());
    }
}
