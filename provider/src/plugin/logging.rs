//! Provider logs as go-hclog JSON lines on stderr, so Terraform shows them with their levels.
//!
//! Terraform reads a provider's stderr; a line that parses as hclog JSON is re-logged under
//! the provider's name at the line's own level (visible with `TF_LOG=debug`), anything else
//! is logged verbatim. The shape is:
//!
//! ```text
//! {"@level":"debug","@message":"...","@module":"provider.terraform-provider-quay","@timestamp":"2026-11-26T03:00:00.000000Z","key":"value"}
//! ```
//!
//! The formatter is written by hand on purpose: tracing-subscriber's JSON output uses other
//! keys (`level`, `fields.message`, `timestamp`) that go-plugin does not recognise, and the
//! format is small.
//!
//! The level comes from `TF_LOG_PROVIDER`, else `TF_LOG` (Terraform's own variables, which
//! the provider process inherits), else `info`; see [`filter_directives`]. This file does not
//! decide what gets logged; callers use `tracing` macros.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// The `@module` of every line: how Terraform's logs name this provider.
pub const MODULE: &str = "provider.terraform-provider-quay";

/// The tracing target prefix of this crate (library and binary alike).
const OUR_TARGET: &str = "terraform_provider_quay";

/// kube-rs's client logs a response body it cannot parse at `warn`, in full: an API server
/// or proxy answer that may quote a Secret or a token. Below `trace`, its lines are kept to
/// errors.
const KUBE_CLIENT_QUIET: &str = "kube_client::client=error";

/// What can go wrong while installing the logger.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A global subscriber was already installed.
    #[error("install the global log subscriber")]
    Install(#[source] tracing_subscriber::util::TryInitError),
}

/// Installs the hclog layer on stderr as the global subscriber, filtered by
/// `TF_LOG_PROVIDER` / `TF_LOG`.
///
/// # Errors
///
/// [`Error::Install`] when a global subscriber is already set.
pub fn init() -> Result<(), Error> {
    let directives = filter_directives(
        std::env::var("TF_LOG_PROVIDER").ok().as_deref(),
        std::env::var("TF_LOG").ok().as_deref(),
    );
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::registry()
        .with(filter)
        .with(HclogLayer::new(std::io::stderr))
        .try_init()
        .map_err(Error::Install)
}

/// The `EnvFilter` directives for the given `TF_LOG_PROVIDER` and `TF_LOG` values.
///
/// The first non-empty value wins. Terraform's level words (`TRACE`, `DEBUG`, `INFO`, `WARN`,
/// `ERROR`, `OFF`, in any case, and `JSON`, which means trace) set this crate's level, while
/// dependencies (gRPC, TLS) log at most at `info` unless the level is `trace`, and kube-rs's
/// client only its errors (its warnings quote unparseable response bodies in full). Any other
/// value is passed through as `EnvFilter` directives (e.g.
/// `terraform_provider_quay=trace,h2=debug`). Nothing set means `info`.
#[must_use]
pub fn filter_directives(tf_log_provider: Option<&str>, tf_log: Option<&str>) -> String {
    let Some(value) = [tf_log_provider, tf_log]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|value| !value.is_empty())
    else {
        return format!("info,{KUBE_CLIENT_QUIET}");
    };
    let ours = match value.to_ascii_lowercase().as_str() {
        "json" | "trace" => return "trace".to_owned(),
        "off" => return "off".to_owned(),
        level @ ("debug" | "info" | "warn" | "error") => level.to_owned(),
        _ => return value.to_owned(),
    };
    let others = if ours == "debug" { "info" } else { &ours };
    format!("{others},{OUR_TARGET}={ours},{KUBE_CLIENT_QUIET}")
}

/// A `tracing` layer writing each event as one go-hclog JSON line.
#[derive(Debug)]
pub struct HclogLayer<W> {
    make_writer: W,
}

impl<W> HclogLayer<W>
where
    W: for<'a> MakeWriter<'a> + 'static,
{
    /// A layer writing to the writers `make_writer` hands out (e.g. `std::io::stderr`).
    pub fn new(make_writer: W) -> Self {
        Self { make_writer }
    }
}

impl<S, W> Layer<S> for HclogLayer<W>
where
    S: Subscriber,
    W: for<'a> MakeWriter<'a> + 'static,
{
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = FieldCollector::default();
        event.record(&mut fields);
        let line = format_line(
            *event.metadata().level(),
            &fields.message,
            fields.fields,
            SystemTime::now(),
        );
        // One write per line, so concurrent events never interleave within a line. A failed
        // write to stderr has nowhere to be reported.
        let _ = self.make_writer.make_writer().write_all(line.as_bytes());
    }
}

/// Collects an event's `message` and its other fields as JSON values.
#[derive(Default)]
struct FieldCollector {
    message: String,
    fields: Map<String, Value>,
}

impl FieldCollector {
    fn insert(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = match value {
                Value::String(text) => text,
                other => other.to_string(),
            };
        } else {
            self.fields.insert(field.name().to_owned(), value);
        }
    }
}

impl Visit for FieldCollector {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.insert(field, Value::String(format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.insert(field, Value::String(value.to_owned()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.insert(field, Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.insert(field, Value::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.insert(field, Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.insert(field, Value::from(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        // Keep the whole cause chain: logs are where a user looks for it.
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(cause) = source {
            let _ = write!(text, ": {cause}");
            source = cause.source();
        }
        self.insert(field, Value::String(text));
    }
}

/// The hclog level name of a tracing level.
fn level_name(level: Level) -> &'static str {
    match level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// One hclog JSON line, newline included. The `@` keys come first and cannot be overridden by
/// event fields of the same name.
fn format_line(level: Level, message: &str, fields: Map<String, Value>, at: SystemTime) -> String {
    let mut object = Map::new();
    object.insert("@level".to_owned(), Value::from(level_name(level)));
    object.insert("@message".to_owned(), Value::from(message));
    object.insert("@module".to_owned(), Value::from(MODULE));
    object.insert("@timestamp".to_owned(), Value::from(format_timestamp(at)));
    for (key, value) in fields {
        object.entry(key).or_insert(value);
    }
    let mut line = Value::Object(object).to_string();
    line.push('\n');
    line
}

/// RFC 3339 UTC with microseconds, the layout go-hclog writes and go-plugin parses
/// (`2006-01-02T15:04:05.000000Z07:00`). Times before 1970 print as the epoch.
fn format_timestamp(at: SystemTime) -> String {
    let since_epoch = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since_epoch.as_secs();
    let days = i64::try_from(seconds / 86_400).expect("u64 seconds / 86400 fits in i64");
    let second_of_day = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
        since_epoch.subsec_micros()
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days` algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).expect("month is in 1..=12"),
        u32::try_from(day).expect("day is in 1..=31"),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;

    fn at(seconds: u64, micros: u32) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds) + Duration::from_micros(u64::from(micros))
    }

    #[test]
    fn formats_timestamps_like_go_hclog() {
        assert_eq!(format_timestamp(at(0, 0)), "1970-01-01T00:00:00.000000Z");
        // 2026-11-26T03:00:00Z
        assert_eq!(
            format_timestamp(at(1_795_662_000, 42)),
            "2026-11-26T03:00:00.000042Z"
        );
        // A leap day, and the last second of a year.
        assert_eq!(
            format_timestamp(at(951_782_400, 0)),
            "2000-02-29T00:00:00.000000Z"
        );
        assert_eq!(
            format_timestamp(at(1_704_067_199, 999_999)),
            "2023-12-31T23:59:59.999999Z"
        );
    }

    #[test]
    fn writes_one_hclog_json_line_with_level_message_module_and_fields() {
        let mut fields = Map::new();
        fields.insert("rpc".to_owned(), Value::from("GetSchema"));
        fields.insert("attempt".to_owned(), Value::from(2));
        let line = format_line(Level::WARN, "slow call", fields, at(1_795_662_000, 0));
        assert!(
            line.ends_with('\n') && !line.trim_end().contains('\n'),
            "{line}"
        );
        let parsed: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({
                "@level": "warn",
                "@message": "slow call",
                "@module": "provider.terraform-provider-quay",
                "@timestamp": "2026-11-26T03:00:00.000000Z",
                "rpc": "GetSchema",
                "attempt": 2,
            })
        );
    }

    #[test]
    fn event_fields_cannot_override_the_hclog_keys() {
        let mut fields = Map::new();
        fields.insert("@level".to_owned(), Value::from("error"));
        let line = format_line(Level::DEBUG, "m", fields, at(0, 0));
        let parsed: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["@level"], "debug");
    }

    #[test]
    fn names_every_level_as_hclog_does() {
        let names: Vec<_> = [
            Level::TRACE,
            Level::DEBUG,
            Level::INFO,
            Level::WARN,
            Level::ERROR,
        ]
        .into_iter()
        .map(level_name)
        .collect();
        assert_eq!(names, ["trace", "debug", "info", "warn", "error"]);
    }

    #[test]
    fn defaults_to_info_without_terraform_log_settings() {
        assert_eq!(
            filter_directives(None, None),
            "info,kube_client::client=error"
        );
        assert_eq!(
            filter_directives(Some(""), Some(" ")),
            "info,kube_client::client=error"
        );
    }

    #[test]
    fn prefers_tf_log_provider_over_tf_log() {
        assert_eq!(
            filter_directives(Some("ERROR"), Some("DEBUG")),
            "error,terraform_provider_quay=error,kube_client::client=error"
        );
        assert_eq!(
            filter_directives(None, Some("DEBUG")),
            "info,terraform_provider_quay=debug,kube_client::client=error"
        );
    }

    #[test]
    fn kube_clients_unparseable_bodies_stay_out_of_the_default_level() {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::registry()
            .with(EnvFilter::new(filter_directives(None, None)))
            .with(HclogLayer::new(buffer.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(target: "kube_client::client", "{{\"token\": \"s3cr3t-body\"}}, parse error");
            tracing::warn!(target: "terraform_provider_quay::cluster", "our own warning");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert!(!text.contains("s3cr3t-body"), "{text}");
        assert!(text.contains("our own warning"), "{text}");
    }

    #[test]
    fn maps_terraform_level_words() {
        assert_eq!(filter_directives(None, Some("JSON")), "trace");
        assert_eq!(filter_directives(None, Some("trace")), "trace");
        assert_eq!(filter_directives(None, Some("off")), "off");
        assert_eq!(
            filter_directives(Some("custom=debug"), None),
            "custom=debug"
        );
    }

    /// A writer that appends to a shared buffer.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    #[test]
    fn layer_turns_tracing_events_into_hclog_lines() {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::registry()
            .with(EnvFilter::new(filter_directives(None, Some("DEBUG"))))
            .with(HclogLayer::new(buffer.clone()));
        tracing::subscriber::with_default(subscriber, || {
            let error = std::io::Error::other("disk full");
            tracing::debug!(cluster = "us_east", ready = true, "waiting for the site");
            tracing::trace!("filtered out at debug");
            tracing::error!(error = &error as &dyn std::error::Error, "write failed");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0]["@level"], "debug");
        assert_eq!(lines[0]["@message"], "waiting for the site");
        assert_eq!(lines[0]["cluster"], "us_east");
        assert_eq!(lines[0]["ready"], true);
        assert_eq!(lines[1]["@level"], "error");
        assert_eq!(lines[1]["error"], "disk full");
    }
}
