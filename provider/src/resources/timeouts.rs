//! The `timeouts` block of long-running resources: how long create, update and delete may
//! wait, as durations such as `"90s"`, `"20m"` or `"1h30m"`.

use std::time::Duration;

use serde_json::{Value as Json, json};

use super::convert::diagnostic;
use crate::georep::issue::Issue;
use crate::georep::path::FieldPath;
use crate::georep::upgrade::parse_duration;
use crate::tfvalue::{Attribute, Block, Diagnostics, NestedBlock, Type, Value};

/// The operations a `timeouts` block may bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operation {
    Create,
    Update,
    Delete,
}

impl Operation {
    fn attribute(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }
}

/// The `timeouts` block for `operations`, each defaulting as `defaults` says (shown in the
/// descriptions).
pub(crate) fn block(defaults: &[(Operation, Duration)]) -> NestedBlock {
    let mut block = Block::new(&format!(
        "how long operations may wait before they give up; a plan's cluster reads give up \
         after {}, or the create (update) timeout when that is shorter, with a warning",
        show(PLAN_READS)
    ));
    for (operation, default) in defaults {
        block = block.attribute(
            Attribute::optional(operation.attribute(), Type::String).description(&format!(
                "longest {} wait, such as \"30m\" or \"1h30m\"; default {}",
                operation.attribute(),
                show(*default)
            )),
        );
    }
    NestedBlock::single("timeouts", block)
}

/// The `timeouts` block of a configuration, plan or state, as its resource's model holds it:
/// each operation's duration as written, unset when not given (or not known yet).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Timeouts {
    /// `create`.
    pub(crate) create: Option<String>,
    /// `update`.
    pub(crate) update: Option<String>,
    /// `delete`.
    pub(crate) delete: Option<String>,
}

impl Timeouts {
    /// The block of `value` (a resource's configuration, plan or state); `None` when absent.
    pub(crate) fn read(value: &Value) -> Option<Self> {
        let block = value.get("timeouts").filter(|b| !b.is_null())?;
        let text = |operation: Operation| {
            block
                .get(operation.attribute())
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        Some(Self {
            create: text(Operation::Create),
            update: text(Operation::Update),
            delete: text(Operation::Delete),
        })
    }

    /// The duration of `operation` as written, if set.
    fn text(&self, operation: Operation) -> Option<&str> {
        match operation {
            Operation::Create => self.create.as_deref(),
            Operation::Update => self.update.as_deref(),
            Operation::Delete => self.delete.as_deref(),
        }
    }

    /// The block in JSON form, with the attributes of `operations` (the ones its schema has).
    pub(crate) fn write(&self, operations: &[Operation]) -> Json {
        Json::Object(
            operations
                .iter()
                .map(|operation| {
                    (
                        operation.attribute().to_owned(),
                        json!(self.text(*operation)),
                    )
                })
                .collect(),
        )
    }

    /// The timeout for `operation`, or `default` when it is not set or not a duration.
    pub(crate) fn duration(
        timeouts: Option<&Self>,
        operation: Operation,
        default: Duration,
    ) -> Duration {
        timeouts
            .and_then(|t| t.text(operation))
            .and_then(|text| parse(text).ok())
            .unwrap_or(default)
    }
}

/// The timeout for `operation` from a configuration, or `default`.
pub(crate) fn get(config: &Value, operation: Operation, default: Duration) -> Duration {
    Timeouts::duration(Timeouts::read(config).as_ref(), operation, default)
}

/// The timeouts that are not durations, each at its attribute: the one validation of every
/// resource's `timeouts` block.
pub(crate) fn issues(config: &Value) -> Vec<Issue> {
    let Some(timeouts) = Timeouts::read(config) else {
        return Vec::new();
    };
    // In the order of the block's attributes, as Terraform lists them.
    [Operation::Create, Operation::Delete, Operation::Update]
        .into_iter()
        .filter_map(|operation| {
            let name = operation.attribute();
            let text = timeouts.text(operation)?;
            let why = parse(text).err()?;
            Some(Issue::error(
                FieldPath::attr("timeouts").field(name),
                "Invalid Timeout",
                format!("timeouts.{name} = {text:?} {why}; write a duration such as \"90s\", \"20m\" or \"1h30m\""),
            ))
        })
        .collect()
}

/// Reports timeouts that are not durations (see [`issues`]).
pub(crate) fn validate(config: &Value, diags: &mut Diagnostics) {
    for issue in issues(config) {
        diags.push(diagnostic(&issue));
    }
}

/// Parses `"1h30m"`, `"20m"`, `"90s"`: numbers each followed by `h`, `m` or `s` (the same
/// syntax as the upgrade's `lease_duration`, by the same parser).
///
/// # Errors
///
/// A sentence fragment saying what is wrong.
pub(crate) fn parse(text: &str) -> Result<Duration, &'static str> {
    match parse_duration(text.trim()) {
        Some(duration) if duration > MAX_TIMEOUT => Err("is longer than 168h (a week)"),
        Some(duration) if !duration.is_zero() => Ok(duration),
        Some(_) => Err("is zero or empty"),
        None => Err("is not hours, minutes and seconds"),
    }
}

/// The longest accepted timeout: a week. Validation refuses longer ones, so a deadline is
/// always a time the clock can represent.
pub(crate) const MAX_TIMEOUT: Duration = Duration::from_hours(168);

/// How long the cluster reads of one plan may take, in all (a new site's operator check, the
/// upgrade's preview), or the operation's own timeout when that is shorter: a plan has no
/// `timeouts` of its own, and a cluster that accepts connections and never answers must not
/// hold it. What a plan could not read in time it reports as a warning, as any unreadable
/// cluster.
pub(crate) const PLAN_READS: Duration = Duration::from_secs(20);

/// The deadline of a plan's cluster reads: [`PLAN_READS`] from now, or `operation`'s timeout
/// in `config` (else `default`) when that is shorter.
pub(crate) fn plan_deadline(
    config: &Value,
    operation: Operation,
    default: Duration,
) -> tokio::time::Instant {
    deadline(get(config, operation, default).min(PLAN_READS))
}

/// The instant `timeout` from now; at most [`MAX_TIMEOUT`] away, so that no timeout (even one
/// that skipped validation) overflows the clock.
pub(crate) fn deadline(timeout: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(timeout.min(MAX_TIMEOUT))
        .or_else(|| now.checked_add(Duration::from_hours(1)))
        .unwrap_or(now)
}

fn show(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tfvalue::AttributePath;

    #[test]
    fn durations_parse_in_hours_minutes_and_seconds() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("20m"), Ok(Duration::from_secs(1200)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
    }

    #[test]
    fn huge_timeouts_are_refused_and_never_overflow_the_clock() {
        for huge in ["169h", "99999999999999h", "18446744073709551615s"] {
            assert!(parse(huge).is_err(), "{huge:?} accepted");
        }
        assert_eq!(parse("168h"), Ok(MAX_TIMEOUT));
        let far = deadline(Duration::MAX);
        assert!(far > tokio::time::Instant::now());
    }

    #[test]
    fn malformed_durations_are_refused() {
        for bad in ["", "10", "m", "5d", "0s", "1.5h"] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn unset_timeouts_fall_back_to_the_default() {
        let config = Value::object([(
            "timeouts",
            Value::object([("create", Value::string("5m")), ("delete", Value::Null)]),
        )]);
        assert_eq!(
            get(&config, Operation::Create, Duration::from_secs(1)),
            Duration::from_secs(300)
        );
        assert_eq!(
            get(&config, Operation::Delete, Duration::from_secs(7)),
            Duration::from_secs(7)
        );
        assert_eq!(
            get(&Value::Null, Operation::Update, Duration::from_secs(7)),
            Duration::from_secs(7)
        );
    }

    #[test]
    fn a_plans_reads_end_at_the_shorter_of_their_budget_and_the_operations_timeout() {
        let short = Value::object([("timeouts", Value::object([("create", Value::string("3s"))]))]);
        let hour = Duration::from_hours(1);
        let until = |config: &Value| {
            plan_deadline(config, Operation::Create, hour) - tokio::time::Instant::now()
        };
        assert!(until(&short) <= Duration::from_secs(3));
        let unset = until(&Value::Null);
        assert!(unset <= PLAN_READS && unset > PLAN_READS - Duration::from_secs(5));
    }

    #[test]
    fn invalid_timeouts_are_reported_at_their_attribute() {
        let config = Value::object([(
            "timeouts",
            Value::object([("create", Value::string("soon"))]),
        )]);
        let mut diags = Diagnostics::default();
        validate(&config, &mut diags);
        assert_eq!(
            diags.iter().next().unwrap().attribute,
            Some(AttributePath::root().attr("timeouts").attr("create"))
        );
    }
}
