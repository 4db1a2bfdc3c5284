//! Tests of the upgrade's input validation: every rule, with the attribute path it reports.

use super::*;

fn olm() -> OperatorInput {
    OperatorInput {
        method: Some("olm".into()),
        namespace: Some("openshift-operators".into()),
        name: Some("quay-operator".into()),
        ..OperatorInput::default()
    }
}

fn input() -> UpgradeInput {
    UpgradeInput {
        sites: Some(vec![
            "us_east/quay/registry".into(),
            "eu_west/quay/registry".into(),
            "ap_south/quay/registry".into(),
        ]),
        primary: None,
        target_version: Some("3.14.8".into()),
        operator: Some(olm()),
        lease_duration: None,
    }
}

fn paths(issues: &[Issue]) -> Vec<String> {
    issues.iter().map(|i| i.path.to_string()).collect()
}

#[test]
fn defaults_primary_channel_and_lease() {
    let (request, warnings) = validate(&input()).unwrap();
    assert!(warnings.is_empty());
    assert_eq!(request.primary().to_string(), "us_east/quay/registry");
    assert_eq!(request.secondaries().count(), 2);
    assert_eq!(request.lease_duration(), DEFAULT_LEASE_DURATION);
    assert_eq!(
        request.holder(),
        "quay-georep-upgrade/us_east/quay/registry"
    );
    assert_eq!(
        request.operator(),
        &OperatorMethod::Olm {
            namespace: "openshift-operators".into(),
            subscription: "quay-operator".into(),
            channel: "stable-3.14".into(),
            catalog: None,
        }
    );
}

#[test]
fn olm_names_a_mirrored_catalog_with_both_source_arguments() {
    let mut i = input();
    i.operator = Some(OperatorInput {
        source: Some("cs-redhat-operator-index".into()),
        source_namespace: Some("olm-mirror".into()),
        ..olm()
    });
    let (request, _) = validate(&i).unwrap();
    assert!(matches!(
        request.operator(),
        OperatorMethod::Olm { catalog: Some(c), .. } if c.to_string() == "olm-mirror/cs-redhat-operator-index"
    ));
    i.operator = Some(OperatorInput {
        source: Some("cs-redhat-operator-index".into()),
        ..olm()
    });
    let issues = validate(&i).unwrap_err();
    assert!(
        issues
            .iter()
            .any(|x| x.summary == "Incomplete Catalog Source"
                && x.path.to_string() == "operator.source_namespace"),
        "{issues:?}"
    );
    i.operator = Some(OperatorInput {
        source: Some("Mirror_Catalog".into()),
        source_namespace: Some("olm-mirror".into()),
        ..olm()
    });
    let issues = validate(&i).unwrap_err();
    assert!(
        issues
            .iter()
            .any(|x| x.path.to_string() == "operator.source"),
        "{issues:?}"
    );
}

#[test]
fn the_deployment_method_refuses_a_catalog_source() {
    let mut i = input();
    i.operator = Some(OperatorInput {
        source: Some("cs".into()),
        source_namespace: Some("olm-mirror".into()),
        ..deployment()
    });
    let issues = validate(&i).unwrap_err();
    let summaries: Vec<&str> = issues.iter().map(|x| x.summary.as_str()).collect();
    assert_eq!(
        summaries
            .iter()
            .filter(|s| **s == "Catalog Source Not Used With Deployment")
            .count(),
        2,
        "{summaries:?}"
    );
}

#[test]
fn deployment_method_defaults_to_the_catalogue_image() {
    let mut i = input();
    i.operator = Some(OperatorInput {
        method: Some("deployment".into()),
        namespace: Some("quay-operator".into()),
        name: Some("quay-operator".into()),
        ..OperatorInput::default()
    });
    let (request, _) = validate(&i).unwrap();
    assert!(matches!(
        request.operator(),
        OperatorMethod::Deployment { image, .. }
            if image == "quay.io/projectquay/quay-operator:3.14.8"
    ));
}

#[test]
fn deployment_method_refuses_a_target_whose_component_images_are_unknown() {
    let mut i = input();
    i.target_version = Some("3.14.2".into());
    i.operator = Some(OperatorInput {
        method: Some("deployment".into()),
        namespace: Some("quay-operator".into()),
        name: Some("quay-operator".into()),
        ..OperatorInput::default()
    });
    let issues = validate(&i).unwrap_err();
    assert_eq!(paths(&issues), ["target_version"]);
    assert!(
        issues[0].detail.contains("RELATED_IMAGE_COMPONENT_QUAY")
            && issues[0].detail.contains("target_version = \"3.14.8\""),
        "{issues:?}"
    );
    // OLM takes the images from the CSV, so it has no such limit.
    i.operator = Some(olm());
    assert!(validate(&i).is_ok());
}

#[test]
fn rejects_empty_sites() {
    let mut i = input();
    i.sites = Some(vec![]);
    assert_eq!(paths(&validate(&i).unwrap_err()), ["sites"]);
}

#[test]
fn rejects_duplicate_and_malformed_sites_at_their_index() {
    let mut i = input();
    i.sites = Some(vec![
        "us_east/quay/registry".into(),
        "us_east/quay/registry".into(),
        "nonsense".into(),
    ]);
    assert_eq!(paths(&validate(&i).unwrap_err()), ["sites[1]", "sites[2]"]);
}

#[test]
fn rejects_primary_not_in_sites() {
    let mut i = input();
    i.primary = Some("other/quay/registry".into());
    let issues = validate(&i).unwrap_err();
    assert_eq!(paths(&issues), ["primary"]);
    assert!(issues[0].detail.contains("us_east/quay/registry"));
}

#[test]
fn rejects_unparsable_and_unknown_targets() {
    let mut i = input();
    i.target_version = Some("latest".into());
    assert_eq!(paths(&validate(&i).unwrap_err()), ["target_version"]);
    i.target_version = Some("3.19.0".into());
    let issues = validate(&i).unwrap_err();
    assert!(issues[0].detail.contains("no release yet"), "{issues:?}");
    i.target_version = None;
    assert_eq!(paths(&validate(&i).unwrap_err()), ["target_version"]);
}

#[test]
fn rejects_missing_operator_fields_per_method() {
    let mut i = input();
    i.operator = Some(OperatorInput {
        method: Some("olm".into()),
        image: Some("x".into()),
        ..OperatorInput::default()
    });
    assert_eq!(
        paths(&validate(&i).unwrap_err()),
        ["operator.namespace", "operator.name", "operator.image"]
    );
    i.operator = Some(OperatorInput {
        method: Some("deployment".into()),
        namespace: Some("ns".into()),
        name: Some("op".into()),
        channel: Some("stable-3.14".into()),
        image: None,
        ..OperatorInput::default()
    });
    assert_eq!(paths(&validate(&i).unwrap_err()), ["operator.channel"]);
    i.operator = Some(OperatorInput {
        method: Some("helm".into()),
        ..olm()
    });
    assert_eq!(paths(&validate(&i).unwrap_err()), ["operator.method"]);
    i.operator = None;
    assert_eq!(paths(&validate(&i).unwrap_err()), ["operator"]);
}

#[test]
fn warns_about_a_channel_that_does_not_match_the_target() {
    let mut i = input();
    i.operator = Some(OperatorInput {
        channel: Some("stable-3.13".into()),
        ..olm()
    });
    let (request, warnings) = validate(&i).unwrap();
    assert_eq!(paths(&warnings), ["operator.channel"]);
    assert!(
        matches!(request.operator(), OperatorMethod::Olm { channel, .. } if channel == "stable-3.13")
    );
}

#[test]
fn parses_lease_durations_and_rejects_short_or_malformed_ones() {
    assert_eq!(parse_duration("1h30m"), Some(Duration::from_mins(90)));
    assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
    for bad in ["", "10", "m", "10x", "1.5m", "-1m"] {
        assert_eq!(parse_duration(bad), None, "{bad:?}");
    }
    let mut i = input();
    i.lease_duration = Some("5s".into());
    assert_eq!(paths(&validate(&i).unwrap_err()), ["lease_duration"]);
    i.lease_duration = Some("ten minutes".into());
    assert_eq!(paths(&validate(&i).unwrap_err()), ["lease_duration"]);
}

#[test]
fn request_constructor_refuses_states_validation_reports() {
    let site: SiteId = "a/b/c".parse().unwrap();
    let other: SiteId = "x/y/z".parse().unwrap();
    let op = OperatorMethod::Deployment {
        namespace: "n".into(),
        name: "d".into(),
        image: "i".into(),
    };
    let v = TargetVersion::Exact(crate::georep::upgrade::QuayVersion::new(3, 14, 8));
    let d = DEFAULT_LEASE_DURATION;
    assert_eq!(
        UpgradeRequest::new(vec![], site.clone(), v, op.clone(), d),
        Err(RequestError::NoSites)
    );
    assert!(matches!(
        UpgradeRequest::new(
            vec![site.clone(), site.clone()],
            site.clone(),
            v,
            op.clone(),
            d
        ),
        Err(RequestError::Duplicate { .. })
    ));
    assert!(matches!(
        UpgradeRequest::new(vec![site], other, v, op, d),
        Err(RequestError::PrimaryNotInSites { .. })
    ));
}

fn deployment() -> OperatorInput {
    OperatorInput {
        method: Some("deployment".into()),
        namespace: Some("quay-operator".into()),
        name: Some("quay-operator".into()),
        ..OperatorInput::default()
    }
}

#[test]
fn olm_accepts_a_minor_or_a_patch_newer_than_the_catalogue_and_asks_the_channel() {
    let mut i = input();
    i.target_version = Some("3.18".into());
    let (request, warnings) = validate(&i).unwrap();
    assert!(warnings.is_empty());
    assert_eq!(request.target().to_string(), "3.18");
    assert!(
        matches!(request.operator(), OperatorMethod::Olm { channel, .. } if channel == "stable-3.18")
    );
    i.target_version = Some("3.17.6".into());
    let (request, _) = validate(&i).unwrap();
    assert_eq!(request.target().exact(), Some("3.17.6".parse().unwrap()));
    assert!(
        matches!(request.operator(), OperatorMethod::Olm { channel, .. } if channel == "stable-3.17")
    );
}

#[test]
fn refuses_an_unknown_minor_saying_a_newer_provider_release_knows_it() {
    let mut i = input();
    for target in ["3.20", "3.20.1"] {
        i.target_version = Some(target.into());
        let issues = validate(&i).unwrap_err();
        assert_eq!(paths(&issues), ["target_version"]);
        assert!(
            issues[0].detail.contains("newer release of the provider"),
            "{}",
            issues[0].detail
        );
    }
}

#[test]
fn the_deployment_method_keeps_refusing_releases_whose_images_it_does_not_know() {
    let mut i = input();
    i.operator = Some(deployment());
    for (target, needle) in [
        ("3.17.6", "no channel to learn its images"),
        ("3.17", "set a release such as 3.17.4"),
    ] {
        i.target_version = Some(target.into());
        let issues = validate(&i).unwrap_err();
        assert_eq!(paths(&issues), ["target_version"], "{target}");
        assert!(
            issues[0].detail.contains(needle),
            "{target}: {}",
            issues[0].detail
        );
    }
}

#[test]
fn a_lease_duration_over_a_day_is_refused_at_its_attribute() {
    for huge in ["25h", "99999999999999h"] {
        let issues = validate(&UpgradeInput {
            lease_duration: Some(huge.into()),
            ..input()
        })
        .unwrap_err();
        assert_eq!(paths(&issues), ["lease_duration"], "{huge}");
        assert_eq!(issues[0].summary, "Lease Too Long");
    }
}

#[test]
fn a_run_resumes_only_the_holder_recorded_by_its_own_origin() {
    let (request, _) = validate(&input()).unwrap();
    let ours = request.with_holder("terraform@h:/work[blue]#new");
    let seen = |holder: &str| Observation {
        lease: Some(crate::georep::upgrade::LeaseObservation {
            holder: Some(holder.to_owned()),
            ..Default::default()
        }),
        ..Observation::default()
    };
    assert_eq!(
        ours.holder_to_resume(&seen("terraform@h:/work[blue]#old"))
            .as_deref(),
        Some("terraform@h:/work[blue]#old")
    );
    for other in [
        "terraform@h:/work[green]#old",
        "terraform@h:/elsewhere[blue]#old",
        "terraform@other:/work[blue]#old",
        "terraform@h:/work[blue]#new",
        "terraform@h:/work[blue]",
    ] {
        assert_eq!(ours.holder_to_resume(&seen(other)), None, "{other}");
    }
    assert_eq!(holder_origin("a#b#c"), "a#b");
}
