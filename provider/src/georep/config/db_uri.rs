//! [`DbUri`]: a PostgreSQL connection URI for Quay's `DB_URI`.
//!
//! Accepted: `postgresql://` or `postgres://`, then an authority with a non-empty host
//! (`user:password@host:port`), then optionally `/database` and a query string. The value is
//! held as a [`Secret`] because it usually carries a password; errors never include it, only
//! the scheme that was seen. Parsing only: this module does not connect to anything.

use crate::georep::secret::Secret;

/// Why a database URI was refused. Variants never carry the URI itself: it may hold a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The URI is empty.
    #[error("the database URI is empty")]
    Empty,
    /// There is no `scheme://` at the start.
    #[error("the database URI does not start with a scheme such as postgresql://")]
    NoScheme,
    /// The scheme is not PostgreSQL's.
    #[error("the database URI uses scheme `{scheme}`, but Quay geo-replication needs PostgreSQL")]
    NotPostgres {
        /// The scheme found before `://` (not secret).
        scheme: String,
    },
    /// No host between `@` (or `://`) and the port, path or query.
    #[error("the database URI has no host")]
    NoHost,
    /// The port after the host is not a number in 1..=65535.
    #[error("the database URI has a port that is not a number from 1 to 65535")]
    BadPort,
    /// The password holds `/`, `?` or `#` as they are: the URI then ends its host part
    /// inside the password.
    #[error(
        "the database URI's password contains `/`, `?` or `#` unencoded; percent-encode them \
         as %2F, %3F and %23"
    )]
    UnencodedPassword,
    /// No `/database` after the host: PostgreSQL would pick the user's name.
    #[error("the database URI names no database; end it with /DATABASE, such as /quay")]
    NoDatabase,
}

/// A PostgreSQL URI with a host. `Debug` prints `<redacted>` for the whole URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbUri {
    uri: Secret,
    database: DatabaseId,
}

/// Which database a URI points at, without user or password: host, port (as written, empty
/// when absent) and database name (empty when absent). Two sites whose URIs give the same
/// `DatabaseId` share one schema, so their migrations must never overlap.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DatabaseId {
    host: String,
    port: String,
    name: String,
}

impl std::fmt::Display for DatabaseId {
    /// `host[:port]/name`: no credentials, so it may be logged.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.host)?;
        if !self.port.is_empty() {
            write!(f, ":{}", self.port)?;
        }
        write!(f, "/{}", self.name)
    }
}

impl DbUri {
    /// Parses a database URI.
    ///
    /// # Errors
    ///
    /// [`Error`] when the URI is empty, has no scheme, is not PostgreSQL, has no host, or has a
    /// port outside 1..=65535.
    ///
    /// # Examples
    ///
    /// ```
    /// use terraform_provider_quay::georep::config::db_uri::DbUri;
    /// use terraform_provider_quay::georep::secret::Secret;
    ///
    /// assert!(DbUri::parse(&Secret::new("postgresql://quay:pw@pg.example.com:5432/quay")).is_ok());
    /// assert!(DbUri::parse(&Secret::new("mysql://quay@db/quay")).is_err());
    /// ```
    pub fn parse(uri: &Secret) -> Result<Self, Error> {
        let text = uri.expose();
        if text.is_empty() {
            return Err(Error::Empty);
        }
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err(Error::NoScheme);
        };
        let is_scheme = !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !is_scheme {
            return Err(Error::NoScheme);
        }
        if !matches!(scheme, "postgresql" | "postgres") {
            return Err(Error::NotPostgres {
                scheme: scheme.to_owned(),
            });
        }
        if has_unencoded_password(rest) {
            return Err(Error::UnencodedPassword);
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
        let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
            // An IPv6 literal: `[addr]` or `[addr]:port`.
            let Some((host, after)) = bracketed.split_once(']') else {
                return Err(Error::NoHost);
            };
            match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None if after.is_empty() => (host, None),
                None => return Err(Error::BadPort),
            }
        } else {
            match host_port.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (host_port, None),
            }
        };
        if host.is_empty() {
            return Err(Error::NoHost);
        }
        if let Some(port) = port {
            let valid = port.bytes().all(|b| b.is_ascii_digit())
                && port.parse::<u16>().is_ok_and(|p| p != 0);
            if !valid {
                return Err(Error::BadPort);
            }
        }
        let name = rest[authority.len()..]
            .strip_prefix('/')
            .and_then(|path| path.split(['?', '#']).next())
            .unwrap_or_default();
        if name.is_empty() {
            return Err(Error::NoDatabase);
        }
        Ok(Self {
            uri: uri.clone(),
            database: DatabaseId {
                host: host.to_ascii_lowercase(),
                port: port.unwrap_or_default().to_owned(),
                name: name.to_owned(),
            },
        })
    }

    /// The URI as a [`Secret`].
    pub fn secret(&self) -> &Secret {
        &self.uri
    }

    /// The database it points at, without credentials.
    pub fn database(&self) -> &DatabaseId {
        &self.database
    }
}

/// Whether the user info before the last `@` of `rest` (what follows `scheme://`) is
/// `user:password` with `/`, `?` or `#` in the password. A port such as `host:5432/db?x=a@b`
/// (digits before the first of them) is not taken for a password.
fn has_unencoded_password(rest: &str) -> bool {
    let Some((userinfo, _)) = rest.rsplit_once('@') else {
        return false;
    };
    let Some((user, password)) = userinfo.split_once(':') else {
        return false;
    };
    let special = |c: char| matches!(c, '/' | '?' | '#');
    let Some(at) = password.find(special) else {
        return false;
    };
    !user.contains(special) && !password[..at].bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<DbUri, Error> {
        DbUri::parse(&Secret::new(s))
    }

    #[test]
    fn accepts_postgresql_and_postgres_schemes() {
        assert!(parse("postgresql://quay:pw@pg.example.com:5432/quay").is_ok());
        assert!(parse("postgres://pg.example.com/quay?sslmode=require").is_ok());
        assert!(parse("postgresql://u:p@[2001:db8::1]:5432/quay").is_ok());
        assert!(parse("postgresql://u:p@[2001:db8::1]/quay").is_ok());
    }

    #[test]
    fn rejects_mysql_and_names_only_the_scheme() {
        let err = parse("mysql://root:topsecret@db/quay").unwrap_err();
        assert_eq!(
            err,
            Error::NotPostgres {
                scheme: "mysql".into()
            }
        );
        assert!(!err.to_string().contains("topsecret"));
    }

    #[test]
    fn rejects_unparsable_uris_without_echoing_them() {
        assert_eq!(
            parse("host=pg user=quay password=topsecret").unwrap_err(),
            Error::NoScheme
        );
        assert_eq!(parse("").unwrap_err(), Error::Empty);
        assert_eq!(
            parse("postgresql://user:pw@/quay").unwrap_err(),
            Error::NoHost
        );
        assert_eq!(parse("postgresql:///quay").unwrap_err(), Error::NoHost);
        assert_eq!(
            parse("postgresql://pg:99999/quay").unwrap_err(),
            Error::BadPort
        );
    }

    #[test]
    fn debug_does_not_show_the_password() {
        let uri = parse("postgresql://quay:topsecret@pg/quay").unwrap();
        assert!(!format!("{uri:?}").contains("topsecret"));
    }

    #[test]
    fn the_database_id_names_host_port_and_database_without_credentials() {
        let uri =
            parse("postgresql://quay:topsecret@PG.example.com:5433/quay?sslmode=require").unwrap();
        assert_eq!(uri.database().to_string(), "pg.example.com:5433/quay");
    }

    #[test]
    fn a_uri_without_a_database_name_is_refused() {
        for bare in [
            "postgres://pg.example.com",
            "postgresql://quay:pw@pg:5432/",
            "postgresql://quay:pw@pg:5432?sslmode=require",
        ] {
            assert_eq!(parse(bare).unwrap_err(), Error::NoDatabase, "{bare}");
        }
    }

    #[test]
    fn a_password_with_unencoded_slash_question_mark_or_hash_is_refused() {
        for bad in [
            "postgresql://quay:s3cr3t/x@pg:5432/quay",
            "postgresql://quay:s3cr3t?x@pg:5432/quay",
            "postgresql://quay:s3cr3t#x@pg/quay",
        ] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err, Error::UnencodedPassword, "{bad}");
            assert!(!err.to_string().contains("s3cr3t"), "{err}");
        }
        assert!(parse("postgresql://quay:pa%2Fss@pg:5432/quay").is_ok());
        assert!(parse("postgresql://pg:5432/quay?options=a@b").is_ok());
    }

    #[test]
    fn users_and_passwords_do_not_change_which_database_it_is() {
        let a = parse("postgresql://quay:one@pg:5432/quay").unwrap();
        let b = parse("postgresql://other:two@pg:5432/quay").unwrap();
        let c = parse("postgresql://quay:one@pg:5432/clair").unwrap();
        assert_eq!(a.database(), b.database());
        assert_ne!(a.database(), c.database());
    }
}
