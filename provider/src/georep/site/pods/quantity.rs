//! Kubernetes quantities (`k8s.io/apimachinery/pkg/api/resource`) and the rules for
//! `requests` and `limits` (`pkg/apis/core/validation/validation.go`).

use std::collections::BTreeMap;

use super::metadata::is_label_name;
use crate::georep::issue::Issue;
use crate::georep::path::FieldPath;
use crate::georep::site::name::ObjectName;

/// The standard resource names a container may request (besides `hugepages-<size>` and
/// extended resources with a domain).
const STANDARD_RESOURCES: [&str; 3] = ["cpu", "memory", "ephemeral-storage"];

/// A Kubernetes quantity as written, with its value for comparisons. Two quantities are
/// equal when written the same (what the CRD stores and drift compares).
#[derive(Debug, Clone)]
pub struct Quantity {
    pub(super) text: String,
    pub(super) value: f64,
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Quantity {}

impl Quantity {
    /// Parses a Kubernetes quantity (`500m`, `2Gi`, `1e3`, `0.5`).
    ///
    /// # Errors
    /// Why the text is not a quantity.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (sign, rest) = match text.as_bytes().first() {
            Some(b'-') => (-1.0, &text[1..]),
            Some(b'+') => (1.0, &text[1..]),
            _ => (1.0, text),
        };
        let digits_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, suffix) = rest.split_at(digits_end);
        let bad = || {
            format!(
                "`{text}` is not a Kubernetes quantity (a number with an optional suffix such \
                 as m, Ki, Mi, Gi, k, M, G, or an exponent, for example 500m or 2Gi)"
            )
        };
        // `number` holds only digits and dots: f64's parser refuses "", "." and "1.2.3".
        let base: f64 = number.parse().map_err(|_| bad())?;
        let multiplier = match suffix {
            "" => 1.0,
            "n" => 1e-9,
            "u" => 1e-6,
            "m" => 1e-3,
            "k" => 1e3,
            "M" => 1e6,
            "G" => 1e9,
            "T" => 1e12,
            "P" => 1e15,
            "E" => 1e18,
            "Ki" => 1024.0,
            "Mi" => 1024f64.powi(2),
            "Gi" => 1024f64.powi(3),
            "Ti" => 1024f64.powi(4),
            "Pi" => 1024f64.powi(5),
            "Ei" => 1024f64.powi(6),
            exponent if exponent.starts_with(['e', 'E']) => {
                let power: i32 = exponent[1..].parse().map_err(|_| bad())?;
                10f64.powi(power)
            }
            _ => return Err(bad()),
        };
        Ok(Self {
            text: text.to_owned(),
            value: sign * base * multiplier,
        })
    }

    /// The quantity in a JSON value: a string, or a number (which a YAML or JSON spec may
    /// hold for a plain count).
    pub fn from_json(value: &serde_json::Value) -> Option<Self> {
        match value {
            serde_json::Value::String(text) => Self::parse(text).ok(),
            serde_json::Value::Number(n) => Self::parse(&n.to_string()).ok(),
            _ => None,
        }
    }

    /// Whether both are the same amount however written (`0.5` and `500m`, `1536Mi` and
    /// `1.5Gi`): the operator writes a spec back with each quantity in Kubernetes' canonical
    /// form.
    pub fn same_amount(&self, other: &Self) -> bool {
        same(self.value, other.value)
    }
}

/// A `requests` or `limits` map: known resource names, non-negative quantities.
pub(super) fn quantities(
    issues: &mut Vec<Issue>,
    path: &FieldPath,
    input: Option<&BTreeMap<String, String>>,
) -> Option<BTreeMap<String, Quantity>> {
    let input = input?;
    let mut out = BTreeMap::new();
    for (name, text) in input {
        let at = path.clone().key(name.clone());
        if !is_resource_name(name) {
            issues.push(Issue::error(
                at.clone(),
                "Unknown Resource Name",
                format!(
                    "`{name}` is not a resource a container can request: use cpu, memory, \
                     ephemeral-storage, hugepages-<size>, or an extended resource with its \
                     domain (such as nvidia.com/gpu)"
                ),
            ));
            continue;
        }
        match Quantity::parse(text) {
            Ok(q) if q.value < 0.0 => issues.push(Issue::error(
                at,
                "Invalid Resource Quantity",
                format!("{name} is `{text}`, which is negative; Kubernetes refuses it"),
            )),
            Ok(q) => {
                out.insert(name.clone(), q);
            }
            Err(problem) => issues.push(Issue::error(
                at,
                "Invalid Resource Quantity",
                format!("{name} {problem}"),
            )),
        }
    }
    Some(out)
}

fn is_resource_name(name: &str) -> bool {
    if STANDARD_RESOURCES.contains(&name) {
        return true;
    }
    if let Some(size) = name.strip_prefix("hugepages-") {
        return Quantity::parse(size).is_ok();
    }
    // An extended resource: `<domain>/<name>`, not in the kubernetes.io domain.
    match name.split_once('/') {
        Some((domain, rest)) => {
            ObjectName::subdomain(domain).is_ok()
                && !domain.ends_with("kubernetes.io")
                && is_label_name(rest)
        }
        None => false,
    }
}

/// Kubernetes' rules for requests beside limits: a request not above its limit; extended
/// resources and hugepages, which cannot be overcommitted, with a limit equal to the request;
/// extended resources in whole units; hugepages only beside cpu or memory.
pub(super) fn compare(
    issues: &mut Vec<Issue>,
    block: &'static str,
    requests: &BTreeMap<String, Quantity>,
    limits: &BTreeMap<String, Quantity>,
) {
    let at = |attribute: &'static str, name: &str| {
        FieldPath::attr(block).field(attribute).key(name.to_owned())
    };
    for (name, request) in requests {
        let fixed = name.contains('/') || name.starts_with("hugepages-");
        let path = at("requests", name);
        match limits.get(name) {
            Some(limit) if fixed && !same(request.value, limit.value) => {
                issues.push(Issue::error(
                    path,
                    "Request Differs From Limit",
                    format!(
                        "{block}.requests[\"{name}\"] is {} and its limit {}; Kubernetes \
                         cannot overcommit {name}, so its request must equal its limit",
                        request.text, limit.text
                    ),
                ));
            }
            Some(limit) if request.value > limit.value => issues.push(Issue::error(
                path,
                "Request Above Limit",
                format!(
                    "{block}.requests[\"{name}\"] is {}, more than its limit {}; Kubernetes \
                     refuses the Deployment (\"must be less than or equal to {name} limit\")",
                    request.text, limit.text
                ),
            )),
            None if fixed => issues.push(Issue::error(
                path,
                "Request Differs From Limit",
                format!(
                    "{block}.requests[\"{name}\"] has no limit; Kubernetes cannot overcommit \
                     {name} and requires a limit equal to the request: set limits[\"{name}\"]"
                ),
            )),
            _ => {}
        }
    }
    for (attribute, quantities) in [("requests", requests), ("limits", limits)] {
        for (name, quantity) in quantities {
            if name.contains('/') && quantity.value.fract() != 0.0 {
                issues.push(Issue::error(
                    at(attribute, name),
                    "Fractional Extended Resource",
                    format!(
                        "{block}.{attribute}[\"{name}\"] is {}; Kubernetes counts an extended \
                         resource in whole units",
                        quantity.text
                    ),
                ));
            }
        }
    }
    let names = || requests.keys().chain(limits.keys());
    if let Some(hugepages) = names().find(|n| n.starts_with("hugepages-"))
        && !names().any(|n| n == "cpu" || n == "memory")
    {
        let attribute = if requests.contains_key(hugepages) {
            "requests"
        } else {
            "limits"
        };
        issues.push(Issue::error(
            at(attribute, hugepages),
            "Hugepages Without CPU Or Memory",
            format!(
                "{block} asks for {hugepages} without cpu or memory; Kubernetes requires a cpu \
                 or memory request or limit beside hugepages"
            ),
        ));
    }
}

/// Whether two quantities' values are equal, up to floating-point rounding.
fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= f64::EPSILON * a.abs().max(b.abs()).max(1.0)
}
