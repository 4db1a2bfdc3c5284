//! Fake-world tests of the OLM channel's real offer: its head, which may be a patch the
//! provider never heard of, and InstallPlans shared with other operators of the namespace.

use super::*;

const UNHEARD_OF: QuayVersion = QuayVersion::new(3, 14, 11);

/// A world whose `stable-3.14` head is 3.14.11, newer than the provider's catalogue (3.14.8).
fn moved_on(target_text: &str) -> World {
    let mut world = World::three_sites(Method::Olm);
    world.heads.insert("stable-3.14".into(), UNHEARD_OF);
    world.target = UNHEARD_OF;
    world.target_text = target_text.into();
    world
}

fn nothing_changed(world: &World) {
    assert_eq!(world.ledger, Vec::<String>::new());
    assert_eq!(world.progress, None, "no progress recorded");
    assert_eq!(world.lease, None, "no Lease taken");
    for (id, s) in &world.sites {
        let (replicas, hpa) = &world.initial[id];
        assert_eq!(s.hpa_managed, *hpa, "{id}");
        for (c, r) in replicas {
            assert_eq!(s.overrides[c], *r, "{id} {c:?}");
        }
        assert_eq!(s.channel, "stable-3.13", "{id}");
    }
}

#[test]
fn a_minor_target_follows_the_channel_head_to_a_patch_the_provider_never_heard_of() {
    let mut world = moved_on("3.14");
    let request = world.request();
    run_until_phase(&mut world, &request, Phase::UpgradePrimaryOperator);
    assert_eq!(world.recorded().unwrap().target(), UNHEARD_OF);
    run_to_done(&mut world, &request);
    world.assert_upgraded_with_originals_restored();
}

#[test]
fn an_exact_target_newer_than_the_catalogue_is_accepted_when_the_channel_offers_it() {
    let mut world = moved_on("3.14.11");
    let request = world.request();
    run_to_done(&mut world, &request);
    world.assert_upgraded_with_originals_restored();
}

#[test]
fn an_exact_target_the_channel_does_not_offer_is_refused_before_anything_changes() {
    let mut world = moved_on("3.14.8");
    let request = world.request();
    let err = run_to_error(&mut world, &request);
    assert!(matches!(err, UpgradeError::OfferMismatch { .. }), "{err:?}");
    let text = err.to_string();
    for needle in [
        "stable-3.14",
        "offers quay-operator.v3.14.11 (Quay 3.14.11), not Quay 3.14.8",
        "target_version = \"3.14.11\"",
        "nothing was changed",
    ] {
        assert!(text.contains(needle), "{needle:?} not in {text}");
    }
    nothing_changed(&world);
}

#[test]
fn a_channel_head_of_an_unknown_minor_is_refused_saying_a_newer_provider_knows_it() {
    let mut world = World::three_sites(Method::Olm);
    world.channel_input = Some("stable".into());
    world.target_channel = "stable".into();
    world
        .heads
        .insert("stable".into(), QuayVersion::new(3, 20, 1));
    world.target_text = "3.14".into();
    let request = world.request();
    let err = run_to_error(&mut world, &request);
    assert!(matches!(err, UpgradeError::OfferRefused { .. }), "{err:?}");
    let text = errors::chain(&err);
    assert!(text.contains("quay-operator.v3.20.1"), "{text}");
    assert!(text.contains("newer release of the provider"), "{text}");
    nothing_changed(&world);
}

#[test]
fn a_resumed_run_keeps_the_recorded_head_when_the_package_server_shows_a_newer_one() {
    let mut world = moved_on("3.14");
    let request = world.request();
    run_until_phase(&mut world, &request, Phase::UpgradePrimaryOperator);
    // The catalog moves on between two applies; the recorded target stays.
    world.manifest_head = Some(QuayVersion::new(3, 14, 12));
    let request = world.request();
    run_to_done(&mut world, &request);
    world.assert_upgraded_with_originals_restored();
}

#[test]
fn an_install_plan_shared_with_another_operator_is_refused_naming_it() {
    let mut world = World::three_sites(Method::Olm);
    world.co_installed = vec!["etcdoperator.v0.9.4".into()];
    let request = world.request();
    let err = run_to_error(&mut world, &request);
    assert!(
        matches!(err, UpgradeError::SharedInstallPlan { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("etcdoperator.v0.9.4"), "{text}");
    assert!(text.contains("quay-operator.v3.14.8"), "{text}");
    assert_eq!(world.ledger, Vec::<String>::new(), "nothing approved");
    let primary = &world.sites[&world.primary];
    assert!(primary.plans.iter().all(|p| !p.approved));
    assert_eq!(primary.operator, FROM);
}

#[test]
fn an_install_plan_shared_with_another_operator_is_refused_at_preflight_when_already_there() {
    let mut world = World::three_sites(Method::Olm);
    for s in world.sites.values_mut() {
        s.plans.push(InstallPlan {
            name: "install-abcde".into(),
            csvs: vec!["quay-operator.v3.14.8".into(), "etcdoperator.v0.9.4".into()],
            approved: false,
        });
    }
    let request = world.request();
    let err = run_to_error(&mut world, &request);
    assert!(
        matches!(err, UpgradeError::SharedInstallPlan { .. }),
        "{err:?}"
    );
    nothing_changed(&world);
}

#[test]
fn another_operators_pending_upgrade_in_the_namespace_is_refused_before_anything_changes() {
    let mut world = World::three_sites(Method::Olm);
    world.other_pending = vec!["etcdoperator.v0.9.4".into()];
    let request = world.request();
    let err = run_to_error(&mut world, &request);
    assert!(
        matches!(err, UpgradeError::OtherOperatorsPending { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("etcdoperator.v0.9.4"), "{err}");
    nothing_changed(&world);
}
