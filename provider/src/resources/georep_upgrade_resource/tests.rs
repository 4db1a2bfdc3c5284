//! Tests of `quay_georep_upgrade`'s mapping of attributes onto the request, its validation, and `completed_version`.

use super::*;
use crate::resources::model::assert_every_attribute_round_trips;

pub(super) fn set(state: &mut Value, name: &str, value: Value) {
    if let Value::Object(attrs) = state {
        attrs.insert(name.to_owned(), value);
    }
}

fn config(sites: Value, target: &str, operator: Value) -> Value {
    Value::object([
        ("sites", sites),
        ("primary", Value::Null),
        ("target_version", Value::string(target)),
        ("lease_duration", Value::Null),
        ("operator", operator),
        ("timeouts", Value::Null),
        ("id", Value::Null),
        ("completed_version", Value::Null),
        ("steps", Value::Null),
        ("status", Value::Null),
    ])
}

fn operator(method: &str) -> Value {
    Value::object([
        ("method", Value::string(method)),
        ("namespace", Value::string("openshift-operators")),
        ("name", Value::string("quay-operator")),
        ("channel", Value::Null),
        ("image", Value::Null),
    ])
}

fn sites(ids: &[&str]) -> Value {
    Value::List(ids.iter().map(|s| Value::string(*s)).collect())
}

fn paths(issues: &[Issue]) -> Vec<String> {
    issues
        .iter()
        .map(|i| super::super::convert::attribute_path(&i.path).to_string())
        .collect()
}

#[test]
fn schema_is_a_valid_definition() {
    crate::resources::model::assert_valid_definition(&schema());
}

#[test]
fn every_attribute_reads_into_the_model_and_back() {
    assert_every_attribute_round_trips::<UpgradeModel>(&schema());
}

#[test]
fn the_arguments_are_every_attribute_that_is_not_computed() {
    let schema = schema();
    let mut arguments: Vec<&str> = schema
        .block
        .attributes
        .iter()
        .filter(|a| !a.is_computed())
        .map(|a| a.name.as_str())
        .chain(
            schema
                .block
                .block_types
                .iter()
                .map(|b| b.type_name.as_str()),
        )
        .collect();
    arguments.sort_unstable();
    let mut listed = ARGUMENTS.to_vec();
    listed.sort_unstable();
    assert_eq!(arguments, listed);
}

#[test]
fn a_valid_configuration_maps_onto_a_request_with_the_first_site_as_primary() {
    let c = config(
        sites(&["us_east/quay/registry", "eu_west/quay/registry"]),
        "3.15.7",
        operator("olm"),
    );
    assert!(issues(&c).is_empty(), "{:?}", issues(&c));
    let r = request(&c).unwrap();
    assert_eq!(r.primary().to_string(), "us_east/quay/registry");
    assert_eq!(r.target().to_string(), "3.15.7");
}

#[test]
fn rejects_bad_sites_target_and_operator_with_their_paths() {
    let c = config(
        sites(&["us_east/quay/registry", "not-a-site"]),
        "9.9.9",
        operator("helm"),
    );
    let found = paths(&issues(&c));
    for expected in ["sites[1]", "target_version", "operator.method"] {
        assert!(
            found.iter().any(|p| p == expected),
            "{expected} not in {found:?}"
        );
    }
}

#[test]
fn rejects_a_timeout_that_is_not_a_duration() {
    let mut c = config(
        sites(&["us_east/quay/registry"]),
        "3.15.7",
        operator("deployment"),
    );
    set(
        &mut c,
        "timeouts",
        Value::object([("create", Value::string("soon")), ("update", Value::Null)]),
    );
    assert_eq!(paths(&issues(&c)), ["timeouts.create"]);
    assert!(request(&c).is_none());
}

#[test]
fn timeouts_default_to_an_hour_and_parse_durations() {
    let mut c = config(
        sites(&["us_east/quay/registry"]),
        "3.15.7",
        operator("deployment"),
    );
    assert_eq!(timeout(&c, Operation::Create), DEFAULT_TIMEOUT);
    set(
        &mut c,
        "timeouts",
        Value::object([("create", Value::Null), ("update", Value::string("1h30m"))]),
    );
    assert_eq!(timeout(&c, Operation::Update), Duration::from_secs(5400));
}

#[test]
fn issues_about_unknown_sites_wait_for_apply() {
    let c = config(Value::Unknown, "3.15.7", operator("olm"));
    assert!(
        issues(&c)
            .iter()
            .all(|i| !i.path.to_string().starts_with("sites")),
        "{:?}",
        issues(&c)
    );
    assert!(request_if_known(&c).is_none());
}

#[test]
fn completed_version_is_the_common_version_or_mixed() {
    use crate::georep::site::RegistryStatus;
    use crate::georep::upgrade::{Observation, SiteState};
    let site = |v: &str| {
        SiteObservation::Observed(Box::new(SiteState {
            registry: RegistryStatus {
                current_version: Some(v.to_owned()),
                ..RegistryStatus::default()
            },
            ..SiteState::default()
        }))
    };
    let mut observed = Observation::default();
    observed
        .sites
        .insert("a/q/r".parse().unwrap(), site("3.15.7"));
    observed
        .sites
        .insert("b/q/r".parse().unwrap(), site("3.15.7"));
    assert_eq!(common_version(&observed).as_deref(), Some("3.15.7"));
    observed
        .sites
        .insert("c/q/r".parse().unwrap(), site("3.14.8"));
    assert_eq!(common_version(&observed).as_deref(), Some(MIXED));
    observed.sites.insert(
        "d/q/r".parse().unwrap(),
        SiteObservation::Unreachable {
            error: "down".into(),
        },
    );
    assert_eq!(common_version(&observed), None);
}

#[test]
fn completed_version_reads_versions_as_the_target_is_written() {
    use crate::georep::site::RegistryStatus;
    use crate::georep::upgrade::{Observation, SiteState};
    let mut observed = Observation::default();
    for (site, version) in [("a/q/r", "v3.15.7"), ("b/q/r", "3.15.7")] {
        observed.sites.insert(
            site.parse().unwrap(),
            SiteObservation::Observed(Box::new(SiteState {
                registry: RegistryStatus {
                    current_version: Some(version.to_owned()),
                    ..RegistryStatus::default()
                },
                ..SiteState::default()
            })),
        );
    }
    assert_eq!(common_version(&observed).as_deref(), Some("3.15.7"));
}

#[test]
fn completed_version_is_in_progress_while_progress_is_recorded() {
    use crate::georep::site::RegistryStatus;
    use crate::georep::upgrade::{Observation, SiteState};
    let mut observed = Observation::default();
    observed.sites.insert(
        "a/q/r".parse().unwrap(),
        SiteObservation::Observed(Box::new(SiteState {
            registry: RegistryStatus {
                current_version: Some("3.15.7".to_owned()),
                ..RegistryStatus::default()
            },
            ..SiteState::default()
        })),
    );
    observed.progress = Some(std::collections::BTreeMap::new());
    assert_eq!(common_version(&observed).as_deref(), Some(IN_PROGRESS));
}

#[test]
fn the_lease_holder_names_host_directory_workspace_and_a_run_nonce() {
    use crate::georep::upgrade::holder_origin;
    let blue = holder_identity("h", "/work", "blue", "01");
    assert_eq!(blue, "terraform@h:/work[blue]#01");
    let green = holder_identity("h", "/work", "green", "01");
    assert_ne!(
        holder_origin(&blue),
        holder_origin(&green),
        "two workspaces of one directory are one origin"
    );
    assert_ne!(nonce(), nonce(), "two runs share a nonce");
}
