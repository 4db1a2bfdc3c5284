//! Kubernetes quantities in their canonical form, as Go's `resource.Quantity` writes them
//! (`k8s.io/apimachinery/pkg/api/resource/quantity.go`, `CanonicalizeBytes`): the operator's
//! `r.Update` of a `QuayRegistry` serialises its Go struct, so every quantity of the spec it
//! writes back comes out canonical (`0.5` → `500m`, `1.5Gi` → `1536Mi`, `2048Mi` → `2Gi`).
//!
//! The rules: a quantity keeps its format (decimal SI for no suffix or `n`..`E`, decimal
//! exponent for `e<N>`, binary SI for `Ki`..`Ei`); decimal forms use the largest power of
//! 1000 that leaves a whole mantissa; binary SI the largest power of 1024, falling back to
//! decimal SI below 1024 or for a fraction. Precision below a nano unit rounds up, as Go's
//! does. Pure.

/// Decimal SI suffixes by power of 1000, from 10^-9.
const DECIMAL: [&str; 10] = ["n", "u", "m", "", "k", "M", "G", "T", "P", "E"];
/// Binary SI suffixes by power of 1024.
const BINARY: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
/// One unit in nano units.
const NANO: i128 = 1_000_000_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    DecimalSi,
    DecimalExponent,
    BinarySi,
}

/// `text` in canonical form, or `None` when it is not a quantity (left as it is).
#[must_use]
pub fn canonical(text: &str) -> Option<String> {
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(end);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
        return None;
    }
    let digits = format!("{whole}{fraction}");
    let mantissa: i128 = digits.parse().ok()?;
    let mut exponent = -i32::try_from(fraction.len()).ok()?;
    let mut binary = 0_u32;
    let format = match suffix {
        "" => Format::DecimalSi,
        s if DECIMAL.contains(&s) => {
            let power = DECIMAL.iter().position(|d| *d == s)?;
            exponent += i32::try_from(power).ok()? * 3 - 9;
            Format::DecimalSi
        }
        s if BINARY.contains(&s) => {
            binary = u32::try_from(BINARY.iter().position(|b| *b == s)?).ok()?;
            Format::BinarySi
        }
        s if s.starts_with(['e', 'E']) => {
            exponent += s[1..].parse::<i32>().ok()?;
            Format::DecimalExponent
        }
        _ => return None,
    };
    // The amount in nano units, rounded up below a nano unit.
    let shift = exponent + 9;
    let mut nanos = if shift >= 0 {
        mantissa.checked_mul(10_i128.checked_pow(u32::try_from(shift).ok()?)?)?
    } else {
        let divisor = 10_i128.checked_pow(u32::try_from(-shift).ok()?)?;
        (mantissa + divisor - 1) / divisor
    };
    nanos = nanos.checked_mul(1024_i128.checked_pow(binary)?)?;
    if nanos == 0 {
        return Some("0".to_owned());
    }
    let sign = if negative && nanos != 0 { "-" } else { "" };
    let units_whole = nanos % NANO == 0;
    if format == Format::BinarySi && nanos >= 1024 * NANO && units_whole {
        let bytes = nanos / NANO;
        let power = (0..BINARY.len())
            .rev()
            .find(|p| bytes % 1024_i128.pow(u32::try_from(*p).unwrap_or(0)) == 0)
            .unwrap_or(0);
        let shown = bytes / 1024_i128.pow(u32::try_from(power).unwrap_or(0));
        return Some(format!("{sign}{shown}{}", BINARY[power]));
    }
    // Decimal: the largest power of 1000 that leaves a whole mantissa.
    let power = (0..DECIMAL.len())
        .rev()
        .find(|p| nanos % 10_i128.pow(u32::try_from(*p * 3).unwrap_or(0)) == 0)
        .unwrap_or(0);
    let shown = nanos / 10_i128.pow(u32::try_from(power * 3).unwrap_or(0));
    let suffix = match format {
        Format::DecimalExponent if power == 3 => String::new(),
        Format::DecimalExponent => {
            format!("e{}", i32::try_from(power).unwrap_or(3) * 3 - 9)
        }
        Format::DecimalSi | Format::BinarySi => DECIMAL[power].to_owned(),
    };
    Some(format!("{sign}{shown}{suffix}"))
}

/// `overrides` with each quantity the operator's Go types hold (`resources.requests`,
/// `resources.limits`, `volumeSize`) in canonical form.
pub fn canonical_overrides(overrides: &mut serde_json::Value) {
    use serde_json::Value;
    let rewrite = |value: &mut Value| {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return,
        };
        if let Some(canonical) = canonical(&text) {
            *value = Value::String(canonical);
        }
    };
    // `get_mut`, not indexing: indexing a missing key would add it.
    for list in ["requests", "limits"] {
        if let Some(map) = overrides
            .get_mut("resources")
            .and_then(|r| r.get_mut(list))
            .and_then(Value::as_object_mut)
        {
            map.values_mut().for_each(rewrite);
        }
    }
    if let Some(size) = overrides.get_mut("volumeSize") {
        rewrite(size);
    }
}

/// `spec.components` with every override quantity in Go's canonical form
/// (the operator's `r.Update`), or `None` when they already are.
#[must_use]
pub fn canonical_components(spec: &serde_json::Value) -> Option<serde_json::Value> {
    use serde_json::Value;
    let mut list = spec.get("components")?.clone();
    for entry in list.as_array_mut()? {
        if entry.get("overrides").is_some_and(Value::is_object) {
            canonical_overrides(&mut entry["overrides"]);
        }
    }
    (Some(&list) != spec.get("components")).then_some(list)
}

#[cfg(test)]
mod tests {
    use super::{canonical, canonical_overrides};

    #[test]
    fn only_the_quantities_of_overrides_change() {
        let mut overrides = serde_json::json!({"replicas": 2, "labels": {"a": "1.5"},
            "resources": {"limits": {"memory": "1.5Gi"}}, "volumeSize": 50});
        canonical_overrides(&mut overrides);
        assert_eq!(
            overrides,
            serde_json::json!({"replicas": 2, "labels": {"a": "1.5"},
                "resources": {"limits": {"memory": "1536Mi"}}, "volumeSize": "50"})
        );
        let mut none = serde_json::json!({"replicas": 1});
        canonical_overrides(&mut none);
        assert_eq!(none, serde_json::json!({"replicas": 1}), "nothing added");
    }

    #[test]
    fn quantities_come_out_as_gos_resource_quantity_writes_them() {
        for (given, written) in [
            ("0.5", "500m"),
            ("1000m", "1"),
            ("1500", "1500"),
            ("2000", "2k"),
            ("1.5Gi", "1536Mi"),
            ("2048Mi", "2Gi"),
            ("0.5Gi", "512Mi"),
            ("100Ki", "100Ki"),
            ("512", "512"),
            ("1e3", "1e3"),
            ("1.5e3", "1500"),
            ("12e6", "12e6"),
            ("0", "0"),
            ("-1.5", "-1500m"),
            ("0.1n", "1n"),
        ] {
            assert_eq!(canonical(given).as_deref(), Some(written), "{given}");
        }
        for bad in ["", "Gi", "1.2.3", "2GB", "x"] {
            assert_eq!(canonical(bad), None, "{bad}");
        }
    }
}
